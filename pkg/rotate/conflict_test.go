package rotate

import (
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// conflicted is a world whose rotation pull request #1 conflicts with the
// base branch (a person re-sealed the manifest on it): its secret is the
// ACTIVE one, the deployed one is RETIRING.
func conflicted(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0].key
	w.forge.checks = "pending"
	if rep := w.run(true); rep.result(k).Outcome != OutcomeProposed {
		t.Fatalf("first run: %+v", rep.result(k))
	}
	p := w.forge.get(1)
	keys := w.prKeys(p.PR)
	no := false
	p.Mergeable, p.MergeableState = &no, "dirty"
	w.emu.Advance(time.Hour)
	return w, keys[0].NewSecretID
}

// A rotation pull request that conflicts with the base branch can never
// merge: the run closes it, revokes its secret (never deployed) and proposes
// a fresh one on the current base, without touching the deployed secret.
func TestConflictingPullRequestIsReplaced(t *testing.T) {
	t.Parallel()
	w, stuck := conflicted(t)
	k := w.keys[0]
	deployed := w.deployed(k.key)
	rep := w.run(true)
	kp := rep.Plan.Keys[0]
	if kp.State != StateConflicting || kp.Action != ActionReplace || kp.ConflictPR == nil || kp.ConflictPR.Number != 1 || kp.RevokeSecretID != stuck || kp.CurrentSecretID != deployed {
		t.Fatalf("plan: %+v", kp)
	}
	if kr := rep.result(k.key); kr.Outcome != OutcomeProposed || kr.SecretID == stuck || kr.SecretID == "" {
		t.Fatalf("replace: %+v", kr)
	}
	p := w.forge.get(1)
	if p.Open() || p.Merged || len(p.comments) == 0 || !strings.Contains(p.comments[0], "conflicts with the base branch") {
		t.Fatalf("the conflicting pull request was not closed with a comment: %+v %q", p.PR, p.comments)
	}
	c, _ := w.emu.Client(k.clientID)
	if s, _ := c.Find(stuck); s.Status != equifax.StatusRevoked {
		t.Fatalf("the conflicting pull request's secret is %s, want REVOKED", s.Status)
	}
	if s, _ := c.Find(deployed); s.Status != equifax.StatusRetiring {
		t.Fatalf("the deployed secret is %s, want RETIRING", s.Status)
	}
	if open := w.forge.open(); len(open) != 1 || open[0].Number == 1 {
		t.Fatalf("open pull requests after the replace: %+v", open)
	}
	w.check("after the replace")

	w.forge.setChecks("success")
	w.rollout()
	if kr := w.run(true).result(k.key); kr.Outcome != OutcomeFinished {
		t.Fatalf("finish: %+v", kr)
	}
	if c, _ := w.emu.Client(k.clientID); c.ValidCount() != 1 {
		t.Fatalf("after the finish: %+v", c.Secrets)
	}
	w.check("after the finish")
}

// Killed at any point of the replace, the next runs still converge, and the
// workload's secret works throughout.
func TestConflictingPullRequestKilled(t *testing.T) {
	t.Parallel()
	for _, step := range []Step{StepCloseConflict, StepRevokeConflict, StepRenew, StepVerify, StepPush, StepPR} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			w, _ := conflicted(t)
			k := w.keys[0]
			if rep := w.run(true, w.killAt(step)); rep != nil {
				t.Fatalf("the run was not killed at %s", step)
			}
			w.check("after the kill")
			w.forge.setChecks("success")
			w.emu.Advance(time.Hour)
			for i := 0; i < 3 && w.forge.get(len(w.forge.prs)).Merged == false; i++ {
				w.run(true)
				w.check("after a run")
				w.emu.Advance(time.Hour)
			}
			w.rollout()
			w.run(true)
			w.check("after the rollout")
			c, _ := w.emu.Client(k.clientID)
			if c.ValidCount() != 1 || len(w.forge.open()) != 0 {
				t.Fatalf("not converged after a kill at %s: %+v, open %+v", step, c.Secrets, w.forge.open())
			}
		})
	}
}
