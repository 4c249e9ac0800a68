package model

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// The harness's own checks must be able to fail: each of these plants the
// fault an invariant is about and expects the checker to see it.

func TestCheckerSeesAnOutage(t *testing.T) {
	t.Parallel()
	w, err := newWorld(1, 10*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	c := &checker{w: w, seen: map[Invariant]bool{}}
	c.step("before")
	if len(c.out) != 0 {
		t.Fatalf("a fresh world breaks invariants: %v", c.out)
	}
	w.advance(11*24*time.Hour, c.step) // the seeded secret expires on day 10
	if !c.seen[NoOutage] {
		t.Fatalf("an expired secret in use was not reported: %v", c.out)
	}
}

func TestCheckerSeesALeak(t *testing.T) {
	t.Parallel()
	w, err := newWorld(1, 10*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	c := &checker{w: w, seen: map[Invariant]bool{}}
	c.final()
	if c.seen[NoLeak] {
		t.Fatalf("a fresh world leaks: %v", c.out)
	}
	w.logs.WriteString(`{"msg":"oops ` + w.use[w.keys[0].key].value + `"}`)
	c.final()
	if !c.seen[NoLeak] {
		t.Fatal("a plaintext in the logs was not reported")
	}
}

func TestCheckerSeesTwoOpenPullRequests(t *testing.T) {
	t.Parallel()
	w, err := proposed(1, ChecksPending, "native")
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	c := &checker{w: w, seen: map[Invariant]bool{}}
	c.step("proposed")
	if c.seen[OnePRAtMost] {
		t.Fatalf("one proposal reported as two: %v", c.out)
	}
	if err := duplicate(w); err != nil {
		t.Fatal(err)
	}
	c.step("duplicated")
	if !c.seen[OnePRAtMost] {
		t.Fatal("two open pull requests for a key were not reported")
	}
}

// TestUndisturbedRotationConverges is the rotation's happy path through
// the harness: a due key is renewed, merged, rolled out and finished, with
// no violation.
func TestUndisturbedRotationConverges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k        int
		strategy string
	}{{1, "native"}, {3, "native"}, {1, "direct"}, {2, "direct"}} {
		k := tc.k
		w, err := due(k, tc.strategy)
		if err != nil {
			t.Fatal(err)
		}
		c := &checker{w: w, seen: map[Invariant]bool{}}
		st := State{Name: "due", Cron: true}
		w.run(context.Background(), &runCtl{name: "run", faultN: -1, down: map[Server]bool{}, check: c.step}, true)
		w.rollout()
		followUp(context.Background(), w, c, st)
		c.final()
		if len(c.out) > 0 {
			t.Errorf("%d keys, %s merge: %v", k, tc.strategy, c.out)
		}
		if left := c.converged(); len(left) > 0 {
			t.Errorf("%d keys, %s merge: not converged: %v", k, tc.strategy, left)
		}
		w.close()
	}
}

// TestKillStopsTheRun checks the kill: after the chosen event no call is
// made.
func TestKillStopsTheRun(t *testing.T) {
	t.Parallel()
	w, err := due(1, "native")
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	probe := w.clone()
	all := probe.run(context.Background(), quietCtl("probe"), true).Events
	probe.close()
	at := -1
	for _, ev := range all {
		if ev.Server == Equifax && ev.Name == "renew" {
			at = ev.N
		}
	}
	if at < 0 {
		t.Fatal("the probe run did not renew")
	}
	ctl := &runCtl{name: "run", faultN: at, mode: ModeKill, down: map[Server]bool{}}
	res := w.run(context.Background(), ctl, true)
	if !res.Killed || len(res.Events) != at+1 {
		t.Fatalf("killed=%v after %d events, want killed after %d: %v", res.Killed, len(res.Events), at+1, res.Events)
	}
	if n := len(w.hub.pulls); n != 0 {
		t.Errorf("a killed run opened %d pull requests", n)
	}
	if info := w.clientInfo(w.keys[0]); info.ValidCount() != 2 {
		t.Errorf("the renew before the kill did not reach Equifax: %d valid secrets", info.ValidCount())
	}
}

// TestResealConflicts checks the hub's merge: a person's re-encryption of
// a manifest on main conflicts with the rotation's rewrite of it.
func TestResealConflicts(t *testing.T) {
	t.Parallel()
	w, err := proposed(1, ChecksPending, "native")
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var p *pull
	for _, q := range w.hub.pulls {
		if q.open {
			p = q
		}
	}
	if !w.hub.mergeable(p) {
		t.Fatal("the fresh proposal does not merge")
	}
	if err := reseal(w, w.keys[0], "prod"); err != nil {
		t.Fatal(err)
	}
	if w.hub.mergeable(p) {
		t.Fatal("a proposal merges over a re-sealed manifest")
	}
	if _, err := w.repo.commitOn("main", map[string][]byte{"README.md": []byte("edited\n")}, "edit", w.now()); err != nil {
		t.Fatal(err)
	}
	if err := w.hub.merge(p); err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("merge over a conflict: %v", err)
	}
}

// TestUndisturbedRotationEveryProvider is the happy path against every
// provider's emulator: renewed, merged, rolled out and finished, with no
// violation.
func TestUndisturbedRotationEveryProvider(t *testing.T) {
	t.Parallel()
	for _, prov := range Providers {
		t.Run(prov, func(t *testing.T) {
			t.Parallel()
			for _, k := range []int{1, 2} {
				w, err := dueOn(prov, k, "native")
				if err != nil {
					t.Fatal(err)
				}
				seeded := map[credential.ProviderKey]string{}
				for key, u := range w.use {
					seeded[key] = u.secretID
				}
				c := &checker{w: w, seen: map[Invariant]bool{}}
				w.run(context.Background(), &runCtl{name: "run", faultN: -1, down: map[Server]bool{}, check: c.step}, true)
				w.rollout()
				followUp(context.Background(), w, c, State{Name: "due", Cron: true})
				for key, u := range w.use {
					if u.secretID == seeded[key] {
						t.Errorf("%d keys: %s was not rotated\n%s", k, key, w.history(8))
					}
				}
				c.final()
				if len(c.out) > 0 {
					t.Errorf("%d keys: %v\n%s", k, c.out, w.history(8))
				}
				if left := c.converged(); len(left) > 0 {
					t.Errorf("%d keys: not converged: %v\n%s", k, left, w.history(8))
				}
				if w.runs < 2 {
					t.Errorf("%d keys: %d runs", k, w.runs)
				}
				w.close()
			}
		})
	}
}
