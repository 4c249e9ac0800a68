package rotate

import (
	"testing"
)

// TestLifecycle walks one key through the state machine against the
// emulator and the fakes: renew and merge, wait for the rollout, finish.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day}, seedKey{expiresIn: 90 * day})
	k, far := w.keys[0].key, w.keys[1].key
	old := w.deployed(k)
	rep := w.run(true)
	if kr := rep.result(k); kr.Outcome != OutcomeMerged || rep.Failed() {
		t.Fatalf("renew: %+v", rep.Results)
	}
	if kr := rep.result(far); kr.Outcome != OutcomeNoop {
		t.Fatalf("the far key: %+v", kr)
	}
	w.check("after the renew")
	if w.deployed(k) == old {
		t.Fatal("the base still deploys the old secret")
	}
	if rep := w.run(true); rep.result(k).Outcome != OutcomeNoop || rep.Plan.Keys[0].State != StateMerged {
		t.Fatalf("before the rollout: %+v", rep.Plan.Keys[0])
	}
	w.rollout()
	rep = w.run(true)
	if kr := rep.result(k); kr.Outcome != OutcomeFinished || kr.RevokedID != old {
		t.Fatalf("finish: %+v", kr)
	}
	w.check("after the finish")
	if c, _ := w.emu.Client(w.keys[0].clientID); c.ValidCount() != 1 {
		t.Fatalf("%d valid secrets after the finish", c.ValidCount())
	}
	if rep := w.run(true); rep.Failed() || rep.Plan.Changes() {
		t.Fatalf("the last run changed something: %+v", rep.Plan)
	}
}
