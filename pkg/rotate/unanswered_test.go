package rotate

import (
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
)

// TestUnansweredCreateIsWaitedFor: IAM carries out a keys.create after the
// client gave up on it (a stall longer than the call's timeout), and IAM
// cannot replay a create. The run that gave up waits out the settle time,
// finds the key that landed late (its private half is lost) and revokes it,
// so that the next run's key never lands beside a late one: at no time are
// there more than two valid keys, and the cycle ends with one.
func TestUnansweredCreateIsWaitedFor(t *testing.T) {
	t.Parallel()
	const stall, timeout, settle = 1500 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second
	g := newGCPWorld(t, timeout)
	valid := func(when string) int {
		t.Helper()
		n := 0
		for _, k := range g.emu.Keys(g.email) {
			if !k.Disabled && !k.Deleted {
				n++
			}
		}
		if n > 2 {
			t.Fatalf("%s: %d valid keys, at most 2 may be", when, n)
		}
		return n
	}
	wait := func(r *Runner) {
		g.tune(r)
		r.Settings.CreateSettle = settle
		r.Sleep = nil // the settle time is waited on a timer
	}

	g.emu.Inject(gcpemu.Fault{Op: "create", Delay: stall})
	start := time.Now()
	rep := g.w.run(true, wait)
	time.Sleep(time.Until(start.Add(stall + 200*time.Millisecond))) // the late key has landed
	res := rep.result(g.k.key)
	if res.Outcome != OutcomeFailed {
		t.Fatalf("the stalled run: %s (%s), want failed", res.Outcome, res.Reason)
	}
	var late string
	for _, k := range g.emu.Keys(g.email) {
		if k.ID == g.deployedID {
			continue
		}
		late = k.ID
		if !k.Deleted && !k.Disabled {
			t.Fatalf("the key %s that landed after the client gave up is still valid after the run", k.ID)
		}
	}
	if late == "" {
		t.Fatal("the stalled create never landed: the emulator did not carry it out")
	}
	if n := valid("after the stalled run"); n != 1 {
		t.Fatalf("%d valid keys after the stalled run, want the deployed one", n)
	}

	rep = g.w.run(true, g.tune)
	if r := rep.result(g.k.key); r.Outcome != OutcomeMerged && r.Outcome != OutcomeProposed {
		t.Fatalf("the next run: %s (%s)", r.Outcome, r.Reason)
	}
	valid("after the next run")
	g.w.rollout()
	g.w.run(true, g.tune)
	if n := valid("at the end of the cycle"); n != 1 {
		t.Fatalf("%d valid keys at the end of the cycle, want 1", n)
	}
}
