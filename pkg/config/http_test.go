package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeHTTPConfig writes testdata/good.yaml with one http key whose
// description is desc, and returns the config's path.
func writeHTTPConfig(t *testing.T, desc string) string {
	t.Helper()
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "equifax-rest.yaml"), []byte(desc), 0o600); err != nil {
		t.Fatal(err)
	}
	oas, err := os.ReadFile(filepath.Join("..", "..", "examples", "providers", "equifax-rest.openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "equifax-rest.openapi.yaml"), oas, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(good), "providers:\n", `http:
  descriptions:
    - name: equifax-rest
      file: equifax-rest.yaml
      settings:
        - {name: baseURL, value: https://api.sandbox.equifax.com}
providers:
  - key: http.client_a
    type: http
    description: equifax-rest
    clientID: client-a
    currentSecret: {env: CLIENT_A_SECRET}
    secret: {name: client-a, namespace: credit, dataKey: client_secret}
`, 1)
	p := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func exampleDescription(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "providers", "equifax-rest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPProviderLoads(t *testing.T) {
	t.Parallel()
	cfg, err := Load(LoadOptions{Path: writeHTTPConfig(t, exampleDescription(t)), Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cfg.HTTP.Description(cfg.Providers[0].Description)
	if !ok || !filepath.IsAbs(d.File) || d.SettingsMap()["baseURL"] != "https://api.sandbox.equifax.com" {
		t.Fatalf("http = %+v, providers[0] = %+v", cfg.HTTP, cfg.Providers[0])
	}
}

func TestHTTPDescriptionProblemsAreConfigProblems(t *testing.T) {
	t.Parallel()
	desc := strings.Replace(exampleDescription(t), "/secrets\"\n    headers:", "/secrets?s={{.client.secret}}\"\n    headers:", 1)
	_, err := Load(LoadOptions{Path: writeHTTPConfig(t, desc), Environ: []string{}})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"steps.describe.url", "puts a secret into the URL", "header"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q missing from:\n%s", want, msg)
		}
	}
}

func TestHTTPOpenAPIValidationModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode           string
		dryRun, normal bool
		bad            bool
	}{
		{"", true, false, false},
		{"dryRun", true, false, false},
		{"always", true, true, false},
		{"never", false, false, false},
		{"sometimes", false, false, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			path := writeHTTPConfig(t, exampleDescription(t))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfgText := strings.Replace(string(b), "      file: equifax-rest.yaml\n", "      file: equifax-rest.yaml\n      openapiValidation: \""+tc.mode+"\"\n", 1)
			if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(LoadOptions{Path: path, Environ: []string{}})
			if tc.bad {
				if err == nil || !strings.Contains(err.Error(), "openapiValidation") || !strings.Contains(err.Error(), "dryRun (the default), always or never") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, _ := cfg.HTTP.Description("equifax-rest")
			if d.ValidatesOpenAPI(true) != tc.dryRun || d.ValidatesOpenAPI(false) != tc.normal {
				t.Errorf("mode %q: dry run %v, normal run %v", tc.mode, d.ValidatesOpenAPI(true), d.ValidatesOpenAPI(false))
			}
		})
	}
}
