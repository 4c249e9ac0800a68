package rotate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Proof before promotion: a new secret that does not obtain a token is
// never sealed or proposed. It is retried within the bound (a provider may
// refuse a new secret for a while), and when it never works it is revoked
// and the deployed secret stays in place. Deleting the verify step from
// renew.go fails TestProofNeverWorks.

func TestProofWorksAfterAWhile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	w.emu.SetWarmup(emulator.Warmup{Refusals: 3})
	var waits []time.Duration
	rep := w.run(true, func(r *Runner) {
		r.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	})
	if kr := rep.result(w.keys[0].key); kr.Outcome != OutcomeMerged {
		t.Fatalf("a secret that works after three refusals: %+v", kr)
	}
	if len(waits) != 3 {
		t.Fatalf("waited %v, want three backoffs", waits)
	}
	w.check("after a slow proof")
}

func TestProofNeverWorks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0]
	old := w.deployed(k.key)
	w.emu.SetWarmup(emulator.Warmup{Never: true})
	var waited time.Duration
	rep := w.run(true, func(r *Runner) {
		r.Settings.ProofTimeout = 10 * time.Second
		r.Sleep = func(_ context.Context, d time.Duration) error { waited += d; return nil }
	})
	kr := rep.result(k.key)
	if kr.Outcome != OutcomeFailed || kr.Step != string(StepVerify) || !rep.Failed() {
		t.Fatalf("a secret that never works: %+v", kr)
	}
	if waited == 0 || waited > 10*time.Second {
		t.Errorf("the proof waited %s in all, want within the 10s bound", waited)
	}
	if w.sealer.calls != 0 || w.forge.prCount() != 0 || w.repo.pushes != 0 {
		t.Fatalf("an unproven secret was sealed (%d), pushed (%d) or proposed (%d)", w.sealer.calls, w.repo.pushes, w.forge.prCount())
	}
	if d := w.deployed(k.key); d != old {
		t.Fatalf("the deployed secret changed: %s -> %s", old, d)
	}
	c, _ := w.emu.Client(k.clientID)
	if c.ValidCount() != 1 {
		t.Fatalf("the unproven secret was not revoked: %+v", c.Secrets)
	}
	if s, _ := c.Find(old); s.Status != equifax.StatusRetiring {
		t.Fatalf("the deployed secret is %s", s.Status)
	}
	a := w.forge.openAlert(k.key)
	if a == nil || !strings.Contains(a.body, "never obtained a token") || !strings.Contains(a.body, "grace period until") {
		t.Fatalf("alert: %+v", a)
	}
	w.check("after an unproven secret")

	// Once new secrets work again, the next run renews past the revoked one.
	w.emu.SetWarmup(emulator.Warmup{})
	w.emu.Advance(10 * time.Minute) // Equifax's least time between renews
	rep = w.run(true)
	if kr := rep.result(k.key); kr.Outcome != OutcomeMerged || rep.Failed() {
		t.Fatalf("the next run: %+v", kr)
	}
	w.check("after the next run")
}
