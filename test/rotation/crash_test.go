package rotation

import (
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// TestCrashMatrix kills the process (SIGKILL, a real child process) at every
// step boundary of a rotation, then runs again. Every time the invariants
// hold after the crash and after the re-run, the re-run proposes and lands
// the rotation without minting twice, and the cycle finishes cleanly: no
// secret stays unrecoverable for longer than one run.
//
// prod is on SOPS (an age-encrypted Secret, with the repository's
// .sops.yaml), staging and uat on Sealed Secrets: the deployed secret every
// invariant checks is decrypted from a SOPS file with prod's age identity.
func TestCrashMatrix(t *testing.T) {
	t.Parallel()
	// The steps, in order. The commit is made and pushed inside one
	// publish step: "seal" is after the files are written and before the
	// commit, "push" after the push.
	for _, step := range []string{"token", "renew", "verify", "seal", "push", "pr", "automerge"} {
		t.Run("after "+step, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{SOPS: []string{"prod"}})
			res := w.run([]string{"CREDROTATE_FAILPOINT=" + step}, "renew", "--cron-mode")
			if !res.killed {
				t.Fatalf("the run was not killed at %s (exit %d):\n%s", step, res.code, lastLines(res.stderr, 20))
			}
			w.checkInvariants("after the crash")
			minted := w.Emulator.Calls(emulator.OpRenew)

			res = w.mustRun("renew", "--cron-mode", "-o", "json")
			w.checkInvariants("after the re-run")
			rep := parseReport(t, res.stdout)
			if len(rep.PullRequests) > 1 {
				t.Fatalf("the re-run opened %d pull requests", len(rep.PullRequests))
			}
			for _, k := range w.due() {
				info, _ := w.Emulator.Client(k.ClientID)
				if n := info.ValidCount(); n != 2 {
					t.Errorf("%s: %d valid secrets after the re-run, want 2 (new and retiring)", k.Key, n)
				}
			}
			// What the re-run must have done for the due keys: renew when
			// nothing was minted, recover the minted secret by replay, or
			// resume the proposed pull request. Never a second mint.
			want := map[string]string{"token": "renew", "renew": "recover", "verify": "recover", "seal": "recover", "push": "recover", "pr": "resume", "automerge": "resume"}[step]
			// Keys renew concurrently: a crash after the first key's renew
			// or verify may come before another key minted anything.
			concurrent := step == "renew" || step == "verify"
			got := map[string]int{}
			for _, r := range rep.Results {
				for _, k := range w.due() {
					if r.ProviderKey != string(k.Key) {
						continue
					}
					got[r.Action]++
					if r.Action != want && !(concurrent && r.Action == "renew") {
						t.Errorf("%s: the re-run did %s, want %s", k.Key, r.Action, want)
					}
				}
			}
			if got[want] == 0 {
				t.Errorf("no key got %s from the re-run: %v", want, got)
			}
			if want != "renew" {
				if got := w.Emulator.Calls(emulator.OpRenew); want == "resume" && got != minted {
					t.Errorf("renew calls %d -> %d on a resume", minted, got)
				}
			}
			prs := w.Hub.PullRequests()
			if len(prs) != 1 || !prs[0].Merged {
				t.Fatalf("want exactly one merged pull request, got %+v", prs)
			}
			w.finishCycle()
		})
	}
}
