package rotate

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/forge"
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

// TestPreflightSequentialOrder: with concurrency 1 the preflight observes
// the same as with more, one call at a time.
func TestPreflightSequentialOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day}, seedKey{expiresIn: 120 * day})
	w.forge.checks = "pending"
	w.run(true)
	w.forge.duplicate(1)
	for _, c := range []int{1, 4} {
		r := w.runner(func(r *Runner) { r.SkipQuiet, r.Settings.Concurrency = true, c })
		obs, err := r.Preflight(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		due, far := obs.Keys[0], obs.Keys[1]
		if due.Open == nil || len(due.Others) != 1 || len(due.Client.Secrets) == 0 || !far.Quiet {
			t.Fatalf("concurrency %d: due %+v, far quiet=%v", c, due, far.Quiet)
		}
	}
}

// TestPreflightDescribesWhileListing: with concurrency above 1, a key its
// manifests show is due is described while the pull requests are still
// being listed, not after.
func TestPreflightDescribesWhileListing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, seedKey{expiresIn: 10 * day})
	described := make(chan struct{}, 1)
	r := w.runner(func(r *Runner) {
		r.SkipQuiet = true
		r.Forge = listAfter{Forge: w.forge, wait: described}
		r.Keys[0].Provider = signalDescribe{Provider: r.Keys[0].Provider, done: described}
	})
	obs, err := r.Preflight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Keys[0].Client.Secrets) == 0 {
		t.Fatalf("the due key was not described: %+v", obs.Keys[0])
	}
}

// listAfter lists the pull requests only once wait is signalled (or fails
// after a while: the describe did not run meanwhile).
type listAfter struct {
	Forge
	wait chan struct{}
}

func (f listAfter) ListOpenPRs(ctx context.Context, prefix string) ([]forge.PR, error) {
	select {
	case <-f.wait:
	case <-time.After(10 * time.Second):
		return nil, errors.New("no key was described while the pull requests were listed")
	}
	return f.Forge.ListOpenPRs(ctx, prefix)
}

// signalDescribe signals done after each describe.
type signalDescribe struct {
	Provider
	done chan struct{}
}

func (p signalDescribe) Describe(ctx context.Context, c equifax.Credentials) (equifax.ClientInfo, error) {
	info, err := p.Provider.Describe(ctx, c)
	select {
	case p.done <- struct{}{}:
	default:
	}
	return info, err
}
