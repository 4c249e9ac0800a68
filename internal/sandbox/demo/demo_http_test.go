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

// TestDemoHTTP runs the whole job with the declarative http provider over
// examples/providers/equifax-rest.yaml against the Equifax emulator, as
// `credrotate-sandbox demo --provider http` does: renew, prove with a
// token, seal for three environments, pull request, merge, rollout
// observed, revoke; and the proof that every manifest decrypts to a secret
// the emulator accepts. The description the run used is the one this
// repository ships, byte for byte, and no secret reaches the output or the
// logs.
func TestDemoHTTP(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), []string{"demo", "--provider", "http", "--workdir", dir, "--keys", "3"}, strings.NewReader(""), &out, &errb, sandboxcmd.Commands...)
	if code := cli.ExitCode(err, &errb); code != 0 {
		t.Fatalf("demo --provider http: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"declarative http provider", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "http.client_001  finished", "http.client_003  noop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
	for _, name := range []string{"equifax-rest.yaml", "equifax-rest.openapi.yaml"} {
		used, err := os.ReadFile(filepath.Join(dir, "providers", name))
		if err != nil {
			t.Fatal(err)
		}
		shipped, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "providers", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(used, shipped) {
			t.Errorf("the demo ran another %s than examples/providers ships", name)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "credrotate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "type: http") || !strings.Contains(string(cfg), "description: equifax-rest") {
		t.Errorf("the demo's keys are not http keys over equifax-rest:\n%s", cfg)
	}
	logs, err := os.ReadFile(filepath.Join(dir, "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "current"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no current secrets to look for")
	}
	for _, e := range entries {
		v, err := os.ReadFile(filepath.Join(dir, "current", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(v)); s != "" && (strings.Contains(out.String(), s) || strings.Contains(string(logs), s)) {
			t.Errorf("the secret of %s appears in the output or logs", e.Name())
		}
	}
}
