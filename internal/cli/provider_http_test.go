package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// TestDryRunValidatesAgainstOpenAPI: renew --dry-run checks the http
// provider's requests and answers against the description's OpenAPI
// document, and names the step, the operation and the fix of a mismatch;
// a normal run does not check unless openapiValidation says always, and
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
	out, stderr, _ := runCmd(t, "", dry...)
	for _, want := range []string{"http.client_001  unobserved  retry", "steps.describe", "describeSecrets", "/clientId", "maximum string length is 3", "fix:"} {
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
