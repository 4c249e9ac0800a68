package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/sandboxcmd"
)

// TestDemoOkta runs the whole job against the Okta emulator, as
// `credrotate-sandbox demo --provider okta` does: renew (a second secret
// next to the deployed one, never a third), prove, seal for three
// environments, pull request, merge, rollout observed, revoke (deactivate,
// then delete); and the proof that every manifest decrypts to a secret Okta
// accepts. Neither the secrets nor the management API token appear in the
// output or the logs.
func TestDemoOkta(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), []string{"demo", "--provider", "okta", "--workdir", dir, "--keys", "3"}, strings.NewReader(""), &out, &errb, sandboxcmd.Commands...)
	if code := cli.ExitCode(err, &errb); code != 0 {
		t.Fatalf("demo --provider okta: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Okta", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "okta.app_001  finished", "okta.app_003  noop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
	logs, err := os.ReadFile(filepath.Join(dir, "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{}
	if tok, err := os.ReadFile(filepath.Join(dir, "okta-api-token")); err == nil {
		secrets = append(secrets, strings.TrimSpace(string(tok)))
	} else {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "current"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		v, err := os.ReadFile(filepath.Join(dir, "current", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(v)))
	}
	for i, s := range secrets {
		if s != "" && (strings.Contains(out.String(), s) || strings.Contains(string(logs), s)) {
			t.Errorf("secret %d (0 is the API token) appears in the output or logs", i)
		}
	}
}
