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
