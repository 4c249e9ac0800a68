package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/sandboxcmd"
)

// providerDemos is what the demo of each provider other than Equifax (whose
// demo has its golden output) must show: in its output, and in its logs.
var providerDemos = []struct {
	provider string
	args     []string
	output   []string
	logs     []string
	// secretFiles are files of the work folder, besides current/, whose
	// contents must never reach the output or the logs.
	secretFiles []string
	// leaks are strings that must never reach them either.
	leaks []string
}{
	{
		// Entra ID: each new password is refused while it propagates, then
		// proven.
		provider: "entra", args: []string{"--keys", "3"},
		output: []string{"Entra ID", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "entra.app_001  finished"},
		logs:   []string{"self-managed", "does not obtain a token yet", "AADSTS7000215"},
	},
	{
		// Okta: a second secret next to the deployed one, never a third;
		// revoked by deactivating, then deleting.
		provider: "okta", args: []string{"--keys", "3"},
		output:      []string{"Okta", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "okta.app_001  finished", "okta.app_003  noop"},
		secretFiles: []string{"okta-api-token"},
	},
	{
		// Google Cloud: every manifest holds a key file Google accepts.
		provider: "gcpkey",
		output:   []string{"Google Cloud IAM", "PROOF PASSED: 12 manifests", "2 old secrets revoked", "gcpkey.sa_001"},
		leaks:    []string{"PRIVATE KEY", "private_key", "ya29."},
	},
	{
		// http: the Equifax emulator through examples/providers/equifax-rest.yaml.
		provider: "http", args: []string{"--keys", "3"},
		output: []string{"declarative http provider", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "http.client_001  finished", "http.client_003  noop"},
	},
	{
		// http-okta: the Okta emulator through examples/providers/okta.yaml,
		// every request and answer held to Okta's own description.
		provider: "http-okta", args: []string{"--keys", "3"},
		output:      []string{"Okta (declarative http provider, okta)", "PROOF PASSED: 9 manifests", "2 old secrets revoked", "http.app_001  finished", "http.app_003  noop"},
		secretFiles: []string{"okta-api-token"},
	},
}

// TestDemoEveryProvider runs the whole job against each provider's
// emulator, as `credrotate-sandbox demo --provider P` does: renew, prove,
// seal for three environments, pull request, merge, rollout observed,
// revoke; and the proof that every manifest decrypts to a secret the
// provider accepts. No secret (the seeded ones, the minted ones now in
// current/, the management credentials) appears in the output or the logs.
func TestDemoEveryProvider(t *testing.T) {
	t.Parallel()
	var covered []string
	for _, tc := range providerDemos {
		covered = append(covered, tc.provider)
		t.Run(tc.provider, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "demo")
			var out, errb bytes.Buffer
			args := append([]string{"demo", "--provider", tc.provider, "--workdir", dir}, tc.args...)
			err := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb, sandboxcmd.Commands...)
			if code := cli.ExitCode(err, &errb); code != 0 {
				t.Fatalf("demo --provider %s: exit %d\n%s\n%s", tc.provider, code, out.String(), errb.String())
			}
			for _, want := range tc.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
				}
			}
			logs, err := os.ReadFile(filepath.Join(dir, "demo.log"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.logs {
				if !strings.Contains(string(logs), want) {
					t.Errorf("the logs lack %q", want)
				}
			}
			secrets := map[string]string{}
			for _, f := range tc.secretFiles {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				secrets[f] = strings.TrimSpace(string(b))
			}
			entries, err := os.ReadDir(filepath.Join(dir, "current"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(dir, "current", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				secrets["current/"+e.Name()] = strings.TrimSpace(string(b))
			}
			for _, l := range tc.leaks {
				secrets[l] = l
			}
			for name, s := range secrets {
				if s != "" && (strings.Contains(out.String(), s) || strings.Contains(errb.String(), s) || strings.Contains(string(logs), s)) {
					t.Errorf("the secret of %s appears in the output or the logs", name)
				}
			}
		})
	}
	for _, p := range demo.Providers() {
		if p != "equifax" && !slices.Contains(covered, p) {
			t.Errorf("the demo of provider %s is not run here: add it to providerDemos", p)
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
