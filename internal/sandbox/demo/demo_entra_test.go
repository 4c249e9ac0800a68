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

// TestDemoEntra runs the whole job against the Entra ID emulator, as
// `credrotate-sandbox demo --provider entra` does: renew (each new password
// refused while it propagates, then proven), seal for three environments,
// pull request, merge, rollout observed, revoke; and the proof that every
// manifest decrypts to a password Entra ID accepts.
func TestDemoEntra(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), []string{"demo", "--provider", "entra", "--workdir", dir, "--keys", "3"}, strings.NewReader(""), &out, &errb, sandboxcmd.Commands...)
	if code := cli.ExitCode(err, &errb); code != 0 {
		t.Fatalf("demo --provider entra: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Entra ID", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "entra.app_001  finished"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
	logs, err := os.ReadFile(filepath.Join(dir, "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"self-managed", "does not obtain a token yet", "AADSTS7000215"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("the logs lack %q (the propagation delay, proof refused then accepted)", want)
		}
	}
	// No secret in the output or the logs: neither the seeded values nor
	// the ones the runs minted (now in current/).
	entries, err := os.ReadDir(filepath.Join(dir, "current"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		v, err := os.ReadFile(filepath.Join(dir, "current", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(string(v))
		if s != "" && (strings.Contains(out.String(), s) || strings.Contains(string(logs), s)) {
			t.Errorf("the secret of %s appears in the output or logs", e.Name())
		}
	}
}
