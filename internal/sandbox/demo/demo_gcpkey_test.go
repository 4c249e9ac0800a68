package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/sandboxcmd"
)

// TestDemoGCPKey runs the whole job against the Google Cloud IAM emulator:
// renew, prove, seal for three environments, pull request, merge, rollout,
// revoke, and the proof that every manifest holds a key file Google accepts.
func TestDemoGCPKey(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), []string{"demo", "--provider", "gcpkey", "--workdir", dir}, strings.NewReader(""), &out, &errb, sandboxcmd.Commands...)
	if code := cli.ExitCode(err, &errb); code != 0 {
		t.Fatalf("demo --provider gcpkey: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{"Google Cloud IAM", "PROOF PASSED: 12 manifests", "2 old secrets revoked", "gcpkey.sa_001"} {
		if !strings.Contains(o, want) {
			t.Errorf("the output has no %q:\n%s", want, o)
		}
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "demo.log"))
	for _, leak := range []string{"PRIVATE KEY", "private_key", "ya29."} {
		if strings.Contains(o, leak) || strings.Contains(errb.String(), leak) || bytes.Contains(logs, []byte(leak)) {
			t.Errorf("a key file or token (%q) reached the output or the logs", leak)
		}
	}
}

// TestGCPKeyServiceSeeds: the seeded keys are due when the demo says and
// the emulator accepts the deployed key files.
func TestGCPKeyServiceSeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Keys: 2, Provider: "gcpkey"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	if w.Service.Type() != "gcpkey" || w.Emulator != nil {
		t.Fatalf("service %s", w.Service.Type())
	}
	for _, k := range w.Keys {
		b, err := os.ReadFile(w.CurrentFile(k.Key))
		if err != nil {
			t.Fatal(err)
		}
		if !w.Service.Accepts(k.ClientID, string(b)) || w.Service.ValidSecrets(k.ClientID) != 1 {
			t.Errorf("%s: the deployed key file is not accepted", k.Key)
		}
	}
	if _, err := w.Prove(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(w.ConfigPath)
	if err != nil || !strings.Contains(string(cfg), "type: gcpkey") || !strings.Contains(string(cfg), "credentialsFile: "+filepath.Join(w.Dir, "keys", "gcp-management.json")) {
		t.Fatalf("config: %v\n%s", err, cfg)
	}
}
