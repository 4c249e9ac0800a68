package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// usedPaths are the REST paths of GitHub's description that credrotate's
// client calls. Prism is given the description cut down to them (and the
// components they reach), which it loads in seconds instead of minutes. A
// call to any other path is refused by Prism as "no path matched" and fails
// the test: add the path here when the client starts using it.
var usedPaths = []string{
	"/repos/{owner}/{repo}",
	"/repos/{owner}/{repo}/pulls",
	"/repos/{owner}/{repo}/pulls/{pull_number}",
	"/repos/{owner}/{repo}/pulls/{pull_number}/merge",
	"/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
	"/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"/repos/{owner}/{repo}/issues",
	"/repos/{owner}/{repo}/issues/{issue_number}",
	"/repos/{owner}/{repo}/issues/{issue_number}/comments",
	"/repos/{owner}/{repo}/issues/{issue_number}/labels",
	"/repos/{owner}/{repo}/commits/{ref}/status",
	"/repos/{owner}/{repo}/commits/{ref}/check-runs",
	"/repos/{owner}/{repo}/git/refs/{ref}",
	"/repos/{owner}/{repo}/installation",
	"/app/installations/{installation_id}",
	"/app/installations/{installation_id}/access_tokens",
	"/user",
	"/app",
}

// trimSpec writes GitHub's description cut down to usedPaths and the
// components they reach, unchanged otherwise, and returns its path.
func trimSpec(full, dir string) (string, error) {
	data, err := os.ReadFile(full)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("decoding %s: %w", full, err)
	}
	paths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	for _, p := range usedPaths {
		v, ok := paths[p]
		if !ok {
			return "", fmt.Errorf("GitHub's description has no path %s", p)
		}
		kept[p] = v
	}
	doc["paths"] = kept
	delete(doc, "x-webhooks")
	delete(doc, "webhooks")

	comps, _ := doc["components"].(map[string]any)
	reached := map[string]bool{} // "schemas/name"
	var queue []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if key, ok := strings.CutPrefix(ref, "#/components/"); ok && !reached[key] {
					reached[key] = true
					queue = append(queue, key)
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
	walk(kept)
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		section, name, _ := strings.Cut(key, "/")
		if sec, ok := comps[section].(map[string]any); ok {
			walk(sec[name])
		}
	}
	newComps := map[string]any{}
	for section, v := range comps {
		sec, ok := v.(map[string]any)
		if !ok {
			continue
		}
		out := map[string]any{}
		names := make([]string, 0, len(sec))
		for name := range sec {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if reached[section+"/"+name] || section == "securitySchemes" {
				out[name] = sec[name]
			}
		}
		if len(out) > 0 {
			newComps[section] = out
		}
	}
	doc["components"] = newComps
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "github-openapi-used.json")
	return p, os.WriteFile(p, out, 0o644)
}
