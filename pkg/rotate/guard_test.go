package rotate

import (
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// The expiry guard: a key whose secret in use stops being valid within
// criticalBefore and is not replaced in this run is critical on every run,
// whatever its state.
func TestExpiryGuard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 2 * day}, seedKey{expiresIn: 10 * day})
	k, ok := w.keys[0].key, w.keys[1].key
	w.forge.checks = "pending"
	for run := 1; run <= 2; run++ {
		rep := w.run(true)
		kr := rep.result(k)
		if kr.Critical == "" || !rep.Failed() || !strings.Contains(kr.Critical, "criticalBefore") {
			t.Fatalf("run %d: a secret expiring in 2 days, its rotation not merged: %+v", run, kr)
		}
		a := w.forge.openAlert(k)
		if a == nil || !strings.Contains(a.title, "CRITICAL") {
			t.Fatalf("run %d: no critical alert: %+v", run, a)
		}
		if kr := rep.result(ok); kr.Critical != "" {
			t.Fatalf("run %d: the key 10 days from expiry is critical: %+v", run, kr)
		}
	}
	// Merged in this run (the resume lands it): about to be replaced.
	w.forge.checks = "success"
	rep := w.run(true)
	if kr := rep.result(k); kr.Outcome != OutcomeMerged || kr.Critical != "" {
		t.Fatalf("merged in this run: %+v", kr)
	}
	// Merged, but the rollout is not seen and the old secret ends soon.
	rep = w.run(true)
	if kr := rep.result(k); kr.Critical == "" || !strings.Contains(kr.Critical, "rollout") {
		t.Fatalf("merged without a rollout: %+v", kr)
	}
	w.rollout()
	if rep := w.run(true); rep.Failed() || rep.result(k).Outcome != OutcomeFinished {
		t.Fatalf("after the rollout: %+v", rep.Results)
	}
	if w.forge.openAlert(k) != nil {
		t.Fatal("the critical alert stayed open")
	}

	// Equifax down and the secret about to expire: critical too.
	w2 := newWorld(t, seedKey{expiresIn: day})
	w2.emu.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultUnavailable, Count: 10})
	rep = w2.run(true)
	if kr := rep.result(w2.keys[0].key); kr.Outcome != OutcomeFailed || kr.Critical == "" {
		t.Fatalf("renew down a day before expiry: %+v", kr)
	}
}

// An emergency rotation renews a key far from its window at once, labels
// the pull request and says so in its title and body.
func TestEmergencyRotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 150 * day})
	w.forge.checks = "pending"
	rep := w.run(false, func(r *Runner) {
		r.Settings.Emergency = true
		r.Settings.Labels = []string{"credentials"}
	})
	kp := rep.Plan.Keys[0]
	if kp.Action != ActionRenew || !kp.Emergency || !strings.Contains(kp.Reason, "emergency") {
		t.Fatalf("plan: %+v", kp)
	}
	if kr := rep.result(w.keys[0].key); kr.Outcome != OutcomeProposed {
		t.Fatalf("result: %+v", kr)
	}
	p := w.forge.get(1)
	if strings.Join(p.Labels, ",") != "credentials,"+EmergencyLabel || !strings.HasPrefix(p.Title, "[emergency]") || !strings.Contains(p.Body, "Emergency rotation") {
		t.Fatalf("pull request: labels %v, title %q", p.Labels, p.Title)
	}
	// The next run knows the proposal is an emergency.
	if kp := w.run(true).Plan.Keys[0]; kp.Action != ActionResume || !kp.Emergency {
		t.Fatalf("resume: %+v", kp)
	}
	w.forge.setChecks("success")
	w.rollout()
	if kr := w.run(true).result(w.keys[0].key); kr.Outcome != OutcomeFinished {
		t.Fatalf("the old secret is revoked once the rollout is observed: %+v", kr)
	}
}
