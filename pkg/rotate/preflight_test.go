package rotate

import (
	"context"
	"slices"
	"testing"
)

// TestPreflightObservesEveryOpenPullRequest: every open pull request that
// names a key is observed (the newest as Open, the rest as Others), the
// workload's secret is matched to Equifax's hints, and a scheduled run
// describes a key with an open alert even when its manifests look quiet.
func TestPreflightObservesEveryOpenPullRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day}, seedKey{expiresIn: 120 * day})
	w.forge.checks = "pending"
	w.run(true)
	w.forge.duplicate(1)
	w.forge.duplicate(1)
	r := w.runner(func(r *Runner) { r.SkipQuiet = true })
	obs, err := r.Preflight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	due, far := obs.Keys[0], obs.Keys[1]
	if due.Open == nil || due.Open.Number != 3 || len(due.Others) != 2 || due.Others[0].Number != 2 || due.Others[1].Number != 1 {
		t.Fatalf("open pull requests: %+v %+v", due.Open, due.Others)
	}
	if !slices.Contains(due.HintMatches, w.deployed(w.keys[0].key)) {
		t.Errorf("hint matches %v, want the deployed secret", due.HintMatches)
	}
	if !far.Quiet {
		t.Fatalf("the far key was described: %+v", far)
	}
	if _, err := w.forge.RaiseAlert(context.Background(), alertFor(far.Key)); err != nil {
		t.Fatal(err)
	}
	obs, err = r.Preflight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if obs.Keys[1].Quiet || len(obs.Keys[1].Client.Secrets) == 0 {
		t.Fatalf("a key with an open alert was quiet: %+v", obs.Keys[1])
	}
}
