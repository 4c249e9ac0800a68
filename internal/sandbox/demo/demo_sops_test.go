package demo_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/seal"
)

// TestWorldWithOneSOPSEnvironment runs the whole job in a world whose
// staging environment is on SOPS and prod and uat on SealedSecrets: renew,
// prove, write both formats, pull request, merge, rollout observed, revoke;
// then every manifest on main decrypts with its own environment's key only.
func TestWorldWithOneSOPSEnvironment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sopsEnvs, err := demo.ParseEncryption("staging=sops")
	if err != nil || len(sopsEnvs) != 1 || sopsEnvs[0] != "staging" {
		t.Fatalf("ParseEncryption = %v, %v", sopsEnvs, err)
	}
	w, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Keys: 2, ExpiresIn: 5 * 24 * time.Hour, SOPS: sopsEnvs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	t.Cleanup(func() { _ = os.Remove(cli.LockPath(w.GitURL, "main")) })
	// The demo's published localhub token, the same in every test.
	if err := os.Setenv(demo.TokenEnv, demo.Token); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		full := append([]string{"--config", w.ConfigPath, "--log-level", "warn"}, args...)
		if err := cli.Run(ctx, full, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("credrotate %v: %v\n%s\n%s", args, err, out.String(), errb.String())
		}
		return out.String()
	}
	seeded := map[string]string{}
	for _, k := range w.Keys {
		seeded[string(k.Key)] = k.SecretID
	}

	run("renew", "--cron-mode")
	prs := w.Hub.PullRequests()
	if len(prs) != 1 || !prs[0].Merged {
		t.Fatalf("pull requests = %+v, want one merged", prs)
	}
	for _, k := range w.Keys {
		for _, env := range demo.Environments {
			b, err := w.MainFile(ctx, "overlays/"+env+"/credentials/"+string(k.Key)+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			ms, err := seal.ParseManifests(env, b)
			if err != nil || len(ms) != 1 {
				t.Fatalf("%s %s: %v %v", env, k.Key, ms, err)
			}
			want := seal.EncryptionSealedSecrets
			if env == "staging" {
				want = seal.EncryptionSOPS
			}
			if ms[0].Encryption != want {
				t.Errorf("%s %s is %s, want %s", env, k.Key, ms[0].Encryption, want)
			}
			if ms[0].Metadata.SecretID == seeded[string(k.Key)] {
				t.Errorf("%s %s still names the seeded secret", env, k.Key)
			}
		}
	}
	if _, err := w.Prove(ctx); err != nil {
		t.Fatal(err)
	}
	changed, err := w.Rollout(ctx)
	if err != nil || len(changed) != len(w.Keys) {
		t.Fatalf("rollout = %v, %v", changed, err)
	}
	if out := run("status"); !strings.Contains(out, string(w.Keys[0].Key)) {
		t.Errorf("status does not list %s:\n%s", w.Keys[0].Key, out)
	}
	w.Service.Advance(25 * time.Hour)
	run("renew", "--cron-mode")
	run("renew", "--cron-mode")
	if got := w.Service.Revoked(); got != len(w.Keys) {
		t.Errorf("revoked = %d, want %d", got, len(w.Keys))
	}
	proofs, err := w.Prove(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != len(w.Keys)*len(demo.Environments) {
		t.Errorf("proofs = %d", len(proofs))
	}
	// The rollout from the folder alone reads prod (SealedSecrets) here;
	// a world with prod on SOPS is checked below.
	if _, err := demo.RolloutDir(ctx, w.Dir); err != nil {
		t.Fatal(err)
	}
}

// TestWorldAllSOPSRolloutDir: with every environment on SOPS the seeded
// world proves itself and the rollout from the folder decrypts prod with
// its age key.
func TestWorldAllSOPSRolloutDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	envs, err := demo.ParseEncryption("sops")
	if err != nil || len(envs) != 3 {
		t.Fatalf("ParseEncryption = %v, %v", envs, err)
	}
	if _, err := demo.ParseEncryption("prod=vault"); err == nil {
		t.Errorf("an unknown encryption was accepted")
	}
	w, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Keys: 1, SOPS: envs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	if _, err := w.Prove(ctx); err != nil {
		t.Fatal(err)
	}
	if changed, err := demo.RolloutDir(ctx, w.Dir); err != nil || len(changed) != 0 {
		t.Fatalf("RolloutDir = %v, %v", changed, err)
	}
}
