package rotate

import (
	"fmt"
	"testing"
)

// TestCrashAtEveryStep kills a run at every crash point, for a key with
// manifests and for one no manifest names yet, then lets later runs (and the
// rollout) do their work: the invariants hold after every run, and the key
// converges to one valid secret, deployed and in use.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, unmanaged := range []bool{false, true} {
		for _, step := range CrashPoints {
			t.Run(fmt.Sprintf("unmanaged=%v/%s", unmanaged, step), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, seedKey{expiresIn: 10 * day, unmanaged: unmanaged})
				k := w.keys[0]
				w.run(false, w.killAt(step))
				w.check("after the kill at " + string(step))
				for i := 0; i < 3; i++ {
					rep := w.run(true)
					w.check(fmt.Sprintf("run %d after the kill", i+1))
					w.rollout()
					if rep.result(k.key).Outcome == OutcomeFinished {
						break
					}
				}
				rep := w.run(true)
				c, _ := w.emu.Client(k.clientID)
				if rep.Failed() || rep.Plan.Keys[0].State != StateCurrent || c.ValidCount() != 1 {
					t.Fatalf("did not converge: %s/%s %q, %d valid secrets", rep.Plan.Keys[0].State, rep.Plan.Keys[0].Action, rep.Plan.Keys[0].Reason, c.ValidCount())
				}
				active, _ := c.Active()
				if w.deployed(k.key) != active.SecretID {
					t.Fatalf("the base deploys %s, Equifax's only valid secret is %s", w.deployed(k.key), active.SecretID)
				}
			})
		}
	}
}
