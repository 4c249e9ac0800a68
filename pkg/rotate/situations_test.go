package rotate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// The situations of issue 12, each one a state that used to end with a key
// stuck for good or in an outage.

// Situation 1: the first rotation of a key no manifest names yet, killed
// after the mint. Equifax then has the new ACTIVE secret and the workload's
// one RETIRING; the next run must recognise the minted secret, recover it
// by replay and propose it, never take it for the deployed one.
func TestUnmanagedKeyKilledAfterMint(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day, unmanaged: true})
	k := w.keys[0]
	c0, _ := w.emu.Client(k.clientID)
	seeded, _ := c0.Active()
	if rep := w.run(false, w.killAt(StepRenew)); rep != nil {
		t.Fatal("the run was not killed")
	}
	c1, _ := w.emu.Client(k.clientID)
	minted, _ := c1.Active()
	if minted.SecretID == seeded.SecretID || c1.ValidCount() != 2 {
		t.Fatalf("nothing minted: %+v", c1.Secrets)
	}
	w.check("after the kill")

	rep := w.run(true)
	kp := rep.Plan.Keys[0]
	if kp.State != StateMinted || kp.Action != ActionRecover || kp.CurrentSecretID != seeded.SecretID || kp.NewSecretID != minted.SecretID {
		t.Fatalf("plan: %s/%s current %s new %s (%s); want minted/recover from %s to %s", kp.State, kp.Action, kp.CurrentSecretID, kp.NewSecretID, kp.Reason, seeded.SecretID, minted.SecretID)
	}
	if kr := rep.result(k.key); kr.Outcome != OutcomeMerged || kr.SecretID != minted.SecretID {
		t.Fatalf("result: %+v", kr)
	}
	if got := w.emu.Calls(emulator.OpRenew); got != 2 {
		t.Errorf("%d renew calls; the recovery must replay, not mint again", got)
	}
	if d := w.deployed(k.key); d != minted.SecretID {
		t.Fatalf("the base deploys %q, want the recovered %s", d, minted.SecretID)
	}
	w.check("after the recovery")
	w.rollout()
	if kr := w.run(true).result(k.key); kr.Outcome != OutcomeFinished || kr.RevokedID != seeded.SecretID {
		t.Fatalf("finish: %+v", kr)
	}
	w.check("after the finish")
}

// A key with no manifest and two valid secrets, when the hints show the
// workload holds the ACTIVE one: the replay fails (Equifax forgot it), and
// the orphan is not revoked.
func TestPlanUnmanagedTwoSecretsWorkloadOnActive(t *testing.T) {
	t.Parallel()
	now := t0
	retiring := equifax.SecretInfo{SecretID: "s-old", Status: equifax.StatusRetiring, Hint: "aaa", CreatedAt: now.Add(-100 * day), ExpiresAt: now.Add(10 * day)}
	active := equifax.SecretInfo{SecretID: "s-new", Status: equifax.StatusActive, Hint: "bbb", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(180 * day)}
	opts := PlanOptions{CronMode: true, RenewBefore: 14 * day, RevokeAfter: day, Now: now}
	for _, tc := range []struct {
		name    string
		matches []string
		keep    bool
	}{
		{"workload on the retiring one", []string{"s-old"}, false},
		{"workload on the active one", []string{"s-new"}, true},
		{"no hints", nil, true},
	} {
		kp := MakePlan([]KeyObservation{{Key: "k", ClientID: "c", Client: client(retiring, active), HintMatches: tc.matches}}, opts).Keys[0]
		if kp.State != StateMinted || kp.Action != ActionRecover || kp.CurrentSecretID != "s-old" || kp.KeepOrphan != tc.keep {
			t.Errorf("%s: %+v", tc.name, kp)
		}
	}
}

// Situation 4: a 502 on enabling auto-merge is retried within the run.
func TestAutoMergeFailsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	w.forge.failAutoMerge = 1
	rep := w.run(true)
	if kr := rep.result(w.keys[0].key); kr.Outcome != OutcomeMerged || rep.Failed() {
		t.Fatalf("one 502 on auto-merge: %+v", kr)
	}
	w.check("after the retried auto-merge")
}

// Situation 4: auto-merge that keeps failing fails the key with an alert
// naming the deadline; the next run's resume lands it.
func TestAutoMergeKeepsFailing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0].key
	w.forge.failAutoMerge = 100
	rep := w.run(true)
	kr := rep.result(k)
	if kr.Outcome != OutcomeFailed || kr.Step != string(StepAutomerge) || !rep.Failed() || kr.Deadline.IsZero() {
		t.Fatalf("auto-merge down: %+v", kr)
	}
	if w.forge.autoMergeCalls != landAttempts {
		t.Errorf("%d auto-merge attempts, want %d", w.forge.autoMergeCalls, landAttempts)
	}
	a := w.forge.openAlert(k)
	if a == nil || !strings.Contains(a.body, kr.Deadline.UTC().Format(time.RFC3339)) || !strings.Contains(a.body, "deadline") {
		t.Fatalf("the alert does not name the deadline %s: %+v", kr.Deadline, a)
	}
	w.check("after the failed auto-merge")
	w.forge.failAutoMerge = 0
	rep = w.run(true)
	if kr := rep.result(k); kr.Action != ActionResume || kr.Outcome != OutcomeMerged {
		t.Fatalf("the resume: %+v", kr)
	}
	if w.forge.openAlert(k) != nil {
		t.Error("the alert stayed open after the rotation merged")
	}
}

// Situation 4: one key's describe failure in preflight does not stop the
// others.
func TestDescribeFailureIsPerKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day}, seedKey{expiresIn: 5 * day})
	w.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultServerError})
	rep := w.run(true, func(r *Runner) { r.Settings.Concurrency = 1 })
	a, b := rep.result(w.keys[0].key), rep.result(w.keys[1].key)
	if a.Outcome != OutcomeFailed || a.Step != string(StepDescribe) || rep.Plan.Keys[0].State != StateUnobserved {
		t.Fatalf("the key Equifax did not describe: %+v", a)
	}
	if b.Outcome != OutcomeMerged {
		t.Fatalf("the other key did not proceed: %+v", b)
	}
	if w.forge.openAlert(w.keys[0].key) == nil {
		t.Error("no alert for the key that failed")
	}
	w.check("after one key's describe failed")
	if rep := w.run(true); rep.result(w.keys[0].key).Outcome != OutcomeMerged {
		t.Fatalf("the next run did not rotate the key: %+v", rep.result(w.keys[0].key))
	}
}

// Situation 5: the renew's answer is lost. The alert tells the truth, and
// the next scheduled run describes the key (it is not quiet: its alert is
// open) and recovers the minted secret by replay.
func TestRenewAnswerLost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 90 * day})
	k := w.keys[0]
	w.emu.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultDropResponse})
	rep := w.run(false)
	kr := rep.result(k.key)
	if kr.Outcome != OutcomeFailed || kr.Step != string(StepRenew) {
		t.Fatalf("lost renew: %+v", kr)
	}
	a := w.forge.openAlert(k.key)
	if a == nil || !strings.Contains(a.body, "may have been minted") || !strings.Contains(a.body, "grace period until") || strings.Contains(a.body, "untouched") {
		t.Fatalf("the alert does not tell the truth: %+v", a)
	}
	if c, _ := w.emu.Client(k.clientID); c.ValidCount() != 2 {
		t.Fatalf("the fault did not mint: %+v", c.Secrets)
	}
	rep = w.run(true, func(r *Runner) { r.SkipQuiet = true })
	if kp := rep.Plan.Keys[0]; kp.State != StateMinted || kp.Action != ActionRecover {
		t.Fatalf("the scheduled run after the lost answer: %s/%s %s", kp.State, kp.Action, kp.Reason)
	}
	if kr := rep.result(k.key); kr.Outcome != OutcomeMerged {
		t.Fatalf("recovery: %+v", kr)
	}
	if w.forge.openAlert(k.key) != nil {
		t.Error("the alert stayed open after the recovery")
	}
	w.check("after the recovery")
}

// Situations 2 and 6: two overlapping runs left a second pull request from
// the same branch. Once one merged, the other is stale (the base already
// deploys its secret) and is closed; the key is not resumed forever.
func TestDuplicatePullRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0].key
	w.forge.checks = "pending"
	if rep := w.run(true); rep.result(k).Outcome != OutcomeProposed {
		t.Fatalf("first run: %+v", rep.result(k))
	}
	w.forge.duplicate(1)
	// While both are open and share the branch, one is kept.
	rep := w.run(true)
	if kp := rep.Plan.Keys[0]; kp.State != StateProposed || kp.PR.Number != 1 || len(kp.Close) != 1 || kp.Close[0].PR.Number != 2 {
		t.Fatalf("two open pull requests: %+v", kp)
	}
	if p := w.forge.get(1); !p.Open() {
		t.Fatal("closing the duplicate closed the kept pull request with its branch")
	}
	if w.forge.get(2).Open() {
		t.Fatal("the duplicate is still open")
	}
	w.check("after closing the duplicate")

	// The other shape: the first merged, the duplicate stayed open.
	w2 := newWorld(t, seedKey{expiresIn: 10 * day})
	w2.forge.checks = "pending"
	w2.run(true)
	w2.forge.duplicate(1)
	w2.forge.setChecks("success")
	if !w2.forge.get(1).Merged || !w2.forge.get(2).Open() {
		t.Fatal("setup: want #1 merged and #2 open")
	}
	rep = w2.run(true)
	kp := rep.Plan.Keys[0]
	if kp.State != StateMerged || kp.Action == ActionResume || len(kp.Close) != 1 {
		t.Fatalf("a stale pull request: %s/%s close %v (%s)", kp.State, kp.Action, kp.Close, kp.Reason)
	}
	p := w2.forge.get(2)
	if p.Open() || len(p.comments) == 0 || !strings.Contains(p.comments[0], "stale") {
		t.Fatalf("the stale pull request was not closed with a comment: %+v", p)
	}
	w2.check("after closing the stale pull request")
	w2.rollout()
	if kr := w2.run(true).result(k); kr.Outcome != OutcomeFinished {
		t.Fatalf("finish: %+v", kr)
	}
}

// A rotation that makes no progress (proposed for longer than revokeAfter)
// raises its alert with the cause and the deadline, on every run.
func TestStalledRotationAlerts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0].key
	w.forge.checks = "pending"
	if rep := w.run(true); rep.Failed() {
		t.Fatalf("first run: %+v", rep.Results)
	}
	if rep := w.run(true); rep.result(k).Outcome != OutcomeResumed || rep.Failed() {
		t.Fatalf("a fresh proposal is not stalled: %+v", rep.result(k))
	}
	w.emu.Advance(2 * day)
	rep := w.run(true)
	kr := rep.result(k)
	if kr.Outcome != OutcomeBlocked || kr.Step != string(StepStalled) || !rep.Failed() || kr.Deadline.IsZero() {
		t.Fatalf("stalled: %+v", kr)
	}
	if a := w.forge.openAlert(k); a == nil || !strings.Contains(a.body, "without merging") || !strings.Contains(a.body, "auto-merge is enabled, so its required checks have not passed") || !strings.Contains(a.body, kr.Deadline.UTC().Format(time.RFC3339)) {
		t.Fatalf("alert: %+v", a)
	}
	w.forge.setChecks("success")
	w.rollout()
	if rep := w.run(true); rep.Failed() || rep.result(k).Outcome != OutcomeFinished {
		t.Fatalf("after the merge and the rollout: %+v", rep.Results)
	}
}

// Situations 2 and 6, as they happen: two runs on two machines overlap. B
// observes and plans, A renews, merges and deletes its branch, then B acts
// on what it saw: its renew replays A's secret and it pushes the same branch
// from its old clone, which conflicts with A's merge, and opens a second
// pull request that never merges. The next run closes it as stale instead of
// resuming it forever, and the rotation finishes.
func TestOverlappingRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	k := w.keys[0].key
	rB := w.runner(func(r *Runner) { r.Repo = w.repo.clone(); r.TraceID = "run-b" })
	obsB, err := rB.Preflight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	planB := rB.Plan(obsB, true)

	if kr := w.run(true).result(k); kr.Outcome != OutcomeMerged {
		t.Fatalf("run A: %+v", kr)
	}
	deployed := w.deployed(k)
	repB := rB.Apply(context.Background(), obsB, planB)
	if kr := repB.result(k); kr.SecretID != deployed || kr.Outcome != OutcomeProposed {
		t.Fatalf("run B should replay A's secret and leave a second, unmergeable pull request: %+v", kr)
	}
	if n := len(w.forge.open()); n != 1 {
		t.Fatalf("setup: %d open pull requests, want B's one", n)
	}

	rep := w.run(true)
	kp := rep.Plan.Keys[0]
	if kp.Action == ActionResume || kp.State != StateMerged || len(kp.Close) != 1 {
		t.Fatalf("the run after the overlap: %s/%s close %v (%s)", kp.State, kp.Action, kp.Close, kp.Reason)
	}
	if n := len(w.forge.open()); n != 0 {
		t.Fatalf("%d pull requests still open", n)
	}
	w.check("after the overlap")
	w.rollout()
	if kr := w.run(true).result(k); kr.Outcome != OutcomeFinished {
		t.Fatalf("finish: %+v", kr)
	}
	w.check("after the finish")
}
