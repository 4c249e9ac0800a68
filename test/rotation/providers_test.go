package rotation

import (
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
)

// otherProviders are the provider types the demo world can run besides
// Equifax, which the rest of this package covers in depth.
func otherProviders(t *testing.T) []string {
	var out []string
	for _, p := range demo.Providers() {
		if p != "equifax" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("the demo world registers no provider type besides equifax")
	}
	return out
}

// TestFullRotationEveryProvider runs the production binary through a whole
// rotation against each provider's emulator: renew, prove, seal for three
// environments, pull request, merge, rollout observed, revoke; a further run
// changes nothing.
func TestFullRotationEveryProvider(t *testing.T) {
	t.Parallel()
	for _, typ := range otherProviders(t) {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{Provider: typ})
			res := w.mustRun("renew", "--cron-mode", "-o", "json")
			w.checkInvariants("after the renew")
			rep := parseReport(t, res.stdout)
			renewed := 0
			for _, r := range rep.Results {
				if r.Action == "renew" {
					renewed++
				}
			}
			if renewed != len(w.due()) {
				t.Fatalf("%d keys renewed, want the %d due:\n%s", renewed, len(w.due()), res.stdout)
			}
			for _, k := range w.due() {
				if n := w.Service.ValidSecrets(k.ClientID); n != 2 {
					t.Errorf("%s: %d valid secrets after the renew, want 2 (new, and the old one kept for the rollout)", k.Key, n)
				}
			}
			w.finishCycle()
			if got := w.Service.Revoked(); got != len(w.due()) {
				t.Errorf("%d secrets revoked, want %d (each due key's old one)", got, len(w.due()))
			}
			res = w.mustRun("renew", "--cron-mode", "-o", "json")
			for _, r := range parseReport(t, res.stdout).Results {
				if r.Action != "noop" {
					t.Errorf("a run after the cycle: %s did %s", r.ProviderKey, r.Action)
				}
			}
		})
	}
}

// TestCrashMatrixEveryProvider kills the production binary (SIGKILL) at
// every step of a rotation against each provider's emulator, then runs it
// again: the safety properties hold after the crash and after the re-run,
// at most one pull request is opened, and the cycle then finishes with one
// valid secret per key. A provider that cannot replay a create (all but
// Equifax, and http over the Equifax description; http-okta, okta.yaml
// against the Okta emulator, cannot) revokes the secret the killed run
// minted and mints again.
func TestCrashMatrixEveryProvider(t *testing.T) {
	t.Parallel()
	for _, typ := range otherProviders(t) {
		for _, step := range []string{"token", "renew", "verify", "seal", "push", "pr", "automerge"} {
			t.Run(typ+"/after "+step, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, demo.Options{Provider: typ})
				res := w.run([]string{"CREDROTATE_FAILPOINT=" + step}, "renew", "--cron-mode")
				if !res.killed {
					t.Fatalf("the run was not killed at %s (exit %d):\n%s", step, res.code, lastLines(res.stderr, 20))
				}
				w.checkInvariants("after the crash")
				res = w.mustRun("renew", "--cron-mode", "-o", "json")
				w.checkInvariants("after the re-run")
				rep := parseReport(t, res.stdout)
				if len(rep.PullRequests) > 1 {
					t.Fatalf("the re-run opened %d pull requests", len(rep.PullRequests))
				}
				for _, k := range w.due() {
					if n := w.Service.ValidSecrets(k.ClientID); n != 2 {
						t.Errorf("%s: %d valid secrets after the re-run, want 2 (new and old)", k.Key, n)
					}
				}
				prs := w.Hub.PullRequests()
				if len(prs) != 1 || !prs[0].Merged {
					t.Fatalf("want exactly one merged pull request, got %d", len(prs))
				}
				w.finishCycle()
			})
		}
	}
}

// TestMockSafeEveryProvider: with renewal switched off, a run against each
// provider creates and revokes nothing there, and says so.
func TestMockSafeEveryProvider(t *testing.T) {
	t.Parallel()
	for _, typ := range otherProviders(t) {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{Provider: typ})
			res := w.mustRun("renew", "--cron-mode", "--set", "rotation.enableClientSecretRenewal=false")
			for _, k := range w.Keys {
				if n := w.Service.ValidSecrets(k.ClientID); n != 1 {
					t.Errorf("%s: %d valid secrets after a mock-safe run, want the 1 seeded", k.Key, n)
				}
			}
			if n := w.Service.Revoked(); n != 0 {
				t.Errorf("a mock-safe run revoked %d secrets", n)
			}
			if !strings.Contains(res.stderr, "mock_safe") {
				t.Errorf("the mock-safe run's log does not say so:\n%s", lastLines(res.stderr, 10))
			}
		})
	}
}
