package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

// TypeHTTP is the declarative HTTP provider: a service's API described in
// a file (package httpprov, docs/providers.md).
const TypeHTTP = "http"

// HTTP configures providers of type http: the description files keys refer
// to by name, each with the settings and secrets its templates use.
type HTTP struct {
	Descriptions []HTTPDescription `json:"descriptions"`
}

// HTTPDescription names one description file.
type HTTPDescription struct {
	// Name is what providers[].description refers to.
	Name string `json:"name"`
	// File is the description's path, relative to the configuration file.
	File string `json:"file"`
	// Settings override the description's settings (.settings.NAME), e.g.
	// the sandbox's baseURL.
	Settings []HTTPSetting `json:"settings,omitempty"`
	// Secrets are read from their sources for .secrets.NAME (a management
	// API token, say); a key's own current secret is .client.secret.
	Secrets []HTTPSecret `json:"secrets,omitempty"`
	// OpenAPIValidation says when every request and answer is checked
	// against the description's openapi: document: dryRun (the default:
	// renew --dry-run and provider test), always (every run; a request or
	// answer that does not match then fails the run's call), or never.
	OpenAPIValidation string `json:"openapiValidation,omitempty"`
}

// The values of HTTPDescription.OpenAPIValidation.
const (
	OpenAPIValidationDryRun = "dryRun"
	OpenAPIValidationAlways = "always"
	OpenAPIValidationNever  = "never"
)

// ValidatesOpenAPI reports whether a run (a dry run when dryRun) checks
// requests and answers against the description's OpenAPI document.
func (d HTTPDescription) ValidatesOpenAPI(dryRun bool) bool {
	switch d.OpenAPIValidation {
	case OpenAPIValidationAlways:
		return true
	case OpenAPIValidationNever:
		return false
	}
	return dryRun
}

// HTTPSetting is one setting's value.
type HTTPSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HTTPSecret is one named secret and where it is read.
type HTTPSecret struct {
	Name   string       `json:"name"`
	Source SecretSource `json:"source"`
}

// Description returns the description named name.
func (h HTTP) Description(name string) (HTTPDescription, bool) {
	for _, d := range h.Descriptions {
		if d.Name == name {
			return d, true
		}
	}
	return HTTPDescription{}, false
}

// SettingsMap returns the settings as a map.
func (d HTTPDescription) SettingsMap() map[string]string {
	m := make(map[string]string, len(d.Settings))
	for _, s := range d.Settings {
		m[s.Name] = s.Value
	}
	return m
}

// SecretNames lists the names of the description's secrets.
func (d HTTPDescription) SecretNames() []string {
	out := make([]string, 0, len(d.Secrets))
	for _, s := range d.Secrets {
		out = append(out, s.Name)
	}
	return out
}

// resolveHTTPPaths makes description and secret files relative to dir.
func (c *Config) resolveHTTPPaths(dir string) {
	for i := range c.HTTP.Descriptions {
		d := &c.HTTP.Descriptions[i]
		if d.File != "" && !filepath.IsAbs(d.File) {
			d.File = filepath.Join(dir, d.File)
		}
		for j := range d.Secrets {
			if f := &d.Secrets[j].Source.File; *f != "" && !filepath.IsAbs(*f) {
				*f = filepath.Join(dir, *f)
			}
		}
	}
}

// validateHTTP checks the http section and every http key's description:
// the file is read and validated (httpprov.Validate), and each of its
// problems is reported with the step, the field and the fix.
func (c *Config) validateHTTP(ps *problems) {
	seen := map[string]bool{}
	for i, d := range c.HTTP.Descriptions {
		k := fmt.Sprintf("http.descriptions[%d]", i)
		if d.Name == "" {
			ps.add(k+".name", "", "is required", "name the description, e.g. equifax-rest, and refer to it from providers[].description")
		} else if seen[d.Name] {
			ps.add(k+".name", d.Name, "is used twice", "give each description its own name")
		}
		seen[d.Name] = true
		for j, s := range d.Secrets {
			if s.Name == "" {
				ps.add(fmt.Sprintf("%s.secrets[%d].name", k, j), "", "is required", "name the secret; templates use it as .secrets.NAME")
			}
			ps.checkSource(fmt.Sprintf("%s.secrets[%d].source", k, j), s.Source)
		}
		switch d.OpenAPIValidation {
		case "", OpenAPIValidationDryRun, OpenAPIValidationAlways, OpenAPIValidationNever:
		default:
			ps.add(k+".openapiValidation", d.OpenAPIValidation, "is not a validation mode", "use dryRun (the default), always or never")
		}
		if d.File == "" {
			ps.add(k+".file", "", "is required", "give the path of the description file, e.g. examples/providers/equifax-rest.yaml")
			continue
		}
		desc, err := httpprov.Load(d.File)
		if err != nil {
			ps.add(k+".file", d.File, strings.ReplaceAll(err.Error(), "\n", " "), "fix the file's YAML; see docs/providers.md for its fields")
			continue
		}
		if err := httpprov.Validate(desc, d.SettingsMap(), d.SecretNames()); err != nil {
			if ve, ok := err.(*httpprov.ValidationError); ok {
				for _, p := range ve.Problems {
					field := p.Field
					if p.Step != "" {
						field = "steps." + p.Step + "." + p.Field
					}
					ps.add(k+" ("+d.File+") "+strings.TrimSuffix(field, "."), "", p.Message, p.Fix)
				}
			} else {
				ps.add(k+".file", d.File, err.Error(), "see docs/providers.md")
			}
		}
	}
	for i, p := range c.Providers {
		k := fmt.Sprintf("providers[%d].description", i)
		switch {
		case p.TypeOrDefault() != TypeHTTP && p.Description != "":
			ps.add(k, p.Description, "is only for http providers", "remove it, or set type: http")
		case p.TypeOrDefault() == TypeHTTP && p.Description == "":
			ps.add(k, "", "is required for http providers", "name one of http.descriptions, e.g. description: equifax-rest")
		case p.TypeOrDefault() == TypeHTTP && !seen[p.Description]:
			ps.add(k, p.Description, "names no description in http.descriptions", "add it to http.descriptions with its file, or fix the name")
		}
	}
}
