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
			if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
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
	if s, ok := doc["servers"]; ok {
		out["servers"] = s
	}
	if s, ok := doc["security"]; ok {
		out["security"] = s
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "okta-secrets.yaml")
	return path, os.WriteFile(path, b, 0o600)
}
