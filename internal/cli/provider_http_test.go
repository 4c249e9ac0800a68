package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
)

// TestDryRunValidatesAgainstOpenAPI: renew --dry-run checks the http
// provider's requests and answers against the description's OpenAPI
// document, and names the step, the operation and the fix of a mismatch;
// such a dry run exits 1, after its plan; a normal run does not check
// unless openapiValidation says always, and
// openapiValidation: never turns the dry run's checks off.
func TestDryRunValidatesAgainstOpenAPI(t *testing.T) {
	w := startDemo(t, demo.Options{Provider: "http"})
	dry := []string{"renew", "--cron-mode", "--dry-run", "--config", w.ConfigPath, "--log-level", "error"}
	if out, stderr, code := runCmd(t, "", dry...); code != exitOK || !strings.Contains(out, "http.client_001  current  renew") {
		t.Fatalf("a dry run over the shipped description: exit %d\n%s\n%s", code, out, stderr)
	}

	// The document now allows client ids of at most three characters:
	// the description still reads the answer, the document refuses it.
	doc := filepath.Join(w.Dir, "providers", "equifax-rest.openapi.yaml")
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "required: [clientId, secrets]\n                additionalProperties: false\n                properties:\n                  clientId: {type: string}",
		"required: [clientId, secrets]\n                additionalProperties: false\n                properties:\n                  clientId: {type: string, maxLength: 3}", 1)
	if broken == string(b) {
		t.Fatal("the document's describe answer is not where the test expects it")
	}
	if err := os.WriteFile(doc, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, "", dry...)
	if code != exitFailure {
		t.Errorf("a dry run that met an answer the document refuses exited %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"http.client_001  unobserved  retry", "steps.describe", "describeSecrets", "/clientId", "maximum string length is 3", "fix:", "do not keep the OpenAPI document of http.client_001"} {
		if !strings.Contains(out+stderr, want) {
			t.Errorf("the failed dry run does not say %q:\n%s\n%s", want, out, stderr)
		}
	}

	setMode := func(mode string) {
		t.Helper()
		cfg, err := os.ReadFile(w.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		s := string(cfg)
		if i := strings.Index(s, "      openapiValidation: "); i >= 0 {
			s = s[:i] + s[i+strings.Index(s[i:], "\n")+1:]
		}
		s = strings.Replace(s, "    - name: equifax-rest\n", "    - name: equifax-rest\n      openapiValidation: "+mode+"\n", 1)
		if err := os.WriteFile(w.ConfigPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setMode("never")
	if out, stderr, code := runCmd(t, "", dry...); code != exitOK || strings.Contains(out, "unobserved") {
		t.Fatalf("openapiValidation: never, a dry run still validated: exit %d\n%s\n%s", code, out, stderr)
	}
	setMode("always")
	run := []string{"renew", "--cron-mode", "--config", w.ConfigPath, "--log-level", "error"}
	if _, _, code := runCmd(t, "", run...); code == exitOK {
		t.Fatal("openapiValidation: always, a run passed answers that do not keep the document")
	}
	if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
		t.Fatalf("%d renews reached the emulator", n)
	}
	setMode("dryRun")
	if out, stderr, code := runCmd(t, "", run...); code != exitOK || w.Emulator.Calls(emulator.OpRenew) == 0 {
		t.Fatalf("a normal run checked the document (exit %d, %d renews):\n%s\n%s", code, w.Emulator.Calls(emulator.OpRenew), out, stderr)
	}
}

// TestProviderTestOkta runs `provider test` for an http key described by
// examples/providers/okta.yaml against the Okta emulator: the API token is
// read from the file the configuration names, describe runs (validated
// against okta.openapi.yaml), and nothing is created or deleted.
func TestProviderTestOkta(t *testing.T) {
	t.Parallel()
	const apiToken = "00okta-cli-token-0123456789abcdef"
	emu := oktaemu.New(oktaemu.Options{APIToken: apiToken})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	const secret = "okta-current-secret-0123456789"
	seeded, err := emu.SeedApp("0oacli", secret, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	desc, err := filepath.Abs(filepath.Join("..", "..", "examples", "providers", "okta.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"current": secret, "api-token": apiToken} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good, err := os.ReadFile(filepath.Join("..", "..", "pkg", "config", "testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(good), "providers:\n", `http:
  descriptions:
    - name: okta
      file: `+desc+`
      settings:
        - {name: orgURL, value: `+srv.URL+`}
      secrets:
        - {name: apiToken, source: {file: api-token}}
providers:
  - key: okta.app_cli
    type: http
    description: okta
    clientID: 0oacli
    currentSecret: {file: current}
    secret: {name: app-cli, namespace: credit, dataKey: client_secret}
`, 1)
	path := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, "", "provider", "test", "--config", path, "--provider-key", "okta.app_cli")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	for _, want := range []string{"step describe: ok", "id " + seeded.ID + ", status ACTIVE", "secrets: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, secret) || strings.Contains(out+stderr, apiToken) {
		t.Fatal("a secret was printed")
	}
	if c := emu.Calls(); c["list"] != 1 || c["create"]+c["deactivate"]+c["delete"] != 0 {
		t.Fatalf("calls %v", c)
	}
}
