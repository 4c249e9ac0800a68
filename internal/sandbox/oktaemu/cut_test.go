package oktaemu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// usedPaths are the operations credrotate's Okta provider calls.
var usedPaths = []string{
	"/api/v1/apps",
	"/api/v1/apps/{appId}/credentials/secrets",
	"/api/v1/apps/{appId}/credentials/secrets/{secretId}",
	"/api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/deactivate",
}

// cutDescription writes Okta's published description cut to usedPaths and
// every component they reference, transitively, into dir, and returns its
// path. (Prism cannot load the whole description: some of its examples
// point at nothing.) Nothing of what is kept is changed.
func cutDescription(src, dir string) (string, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("parsing %s: %w", src, err)
	}
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	refPrefix := "#/components/"
	if _, swagger := doc["swagger"]; swagger {
		// Swagger 2.0 (the @okta/openapi package): definitions instead of
		// components.
		refPrefix = "#/"
		components = map[string]any{"definitions": doc["definitions"]}
	}
	keptPaths := map[string]any{}
	for _, p := range usedPaths {
		op, ok := paths[p]
		if !ok {
			return "", fmt.Errorf("%s has no path %s", src, p)
		}
		keptPaths[p] = op
	}
	kept := map[string]map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, refPrefix) {
				parts := strings.Split(strings.TrimPrefix(ref, refPrefix), "/")
				if len(parts) == 2 {
					kind, name := parts[0], parts[1]
					if kept[kind] == nil {
						kept[kind] = map[string]any{}
					}
					if _, done := kept[kind][name]; !done {
						if section, ok := components[kind].(map[string]any); ok {
							if c, ok := section[name]; ok {
								kept[kind][name] = c
								walk(c)
							}
						}
					}
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(keptPaths)
	comps := map[string]any{}
	for kind, m := range kept {
		comps[kind] = m
	}
	if ss, ok := components["securitySchemes"]; ok {
		comps["securitySchemes"] = ss
	}
	out := map[string]any{"openapi": doc["openapi"], "info": doc["info"], "paths": keptPaths, "components": comps}
	if _, swagger := doc["swagger"]; swagger {
		out = map[string]any{"swagger": doc["swagger"], "info": doc["info"], "paths": keptPaths, "definitions": kept["definitions"]}
		for _, k := range []string{"host", "basePath", "schemes", "consumes", "produces", "securityDefinitions"} {
			if v, ok := doc[k]; ok {
				out[k] = v
			}
		}
	}
	for _, k := range []string{"servers", "security"} {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "okta-secrets.yaml")
	return path, os.WriteFile(path, b, 0o600)
}
