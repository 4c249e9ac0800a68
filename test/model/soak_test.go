package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// soakSeed is the soak test's seed: CREDROTATE_SOAK_SEED, "random" for a
// fresh one, else a fixed default so that `make test` is repeatable.
func soakSeed(t *testing.T) uint64 {
	s := os.Getenv("CREDROTATE_SOAK_SEED")
	switch s {
	case "":
		return 1
	case "random":
		return rand.Uint64()
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("CREDROTATE_SOAK_SEED=%q is not a number or \"random\"", s)
	}
	return n
}

// TestSoak is a simulated year of weekly scheduled runs over four keys,
// with random Equifax and GitHub faults, kills at random moments, checks
// that fail or hang for a while, rollouts that lag by days, manual runs and
// two simultaneous runs. It stops at the first broken invariant and names
// the week and the step. Replay a seed with CREDROTATE_SOAK_SEED=<seed>.
//
// By default it plays soakSeeds fixed seeds, so that `make test` is
// repeatable; CREDROTATE_SOAK_SEED=random plays one fresh seed.
func TestSoak(t *testing.T) {
	t.Parallel()
	seeds := []uint64{}
	if os.Getenv("CREDROTATE_SOAK_SEED") != "" {
		seeds = append(seeds, soakSeed(t))
	} else {
		for s := uint64(1); s <= soakSeeds; s++ {
			seeds = append(seeds, s)
		}
	}
	chart, err := chartProfile()
	if err != nil {
		t.Fatal(err)
	}
	const day = 24 * time.Hour
	weekly := profile{name: "a weekly schedule with the settings it needs", period: 7 * day, renewBefore: 28 * day, grace: 14 * day, revokeAfter: RevokeAfter}
	for _, pr := range []profile{chart, weekly} {
		t.Run(pr.name, func(t *testing.T) {
			t.Parallel()
			t.Logf("%s: runs every %s, renewBefore %s, gracePeriod %s, revokeAfter %s", pr.name, pr.period, pr.renewBefore, pr.grace, pr.revokeAfter)
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Logf("soak seed %d (replay: CREDROTATE_SOAK_SEED=%d go test -run TestSoak ./test/model/)", seed, seed)
					v, period, runs, hist, err := soak(seed, pr)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("soak seed %d: %d periods, %d runs", seed, period, runs)
					if v != nil {
						t.Errorf("soak seed %d with %s broke an invariant in period %d:\n    %s\n  the last runs:\n%s\n  replay: CREDROTATE_SOAK_SEED=%d go test -run 'TestSoak' ./test/model/", seed, pr.name, period, v, hist, seed)
					}
				})
			}
		})
	}
}

// soakSeeds is how many fixed seeds a default soak plays.
const soakSeeds = 8

// soak plays the year; it returns the first violation, the week of it and
// what the last runs did.
func soak(seed uint64, pr profile) (*Violation, int, int, string, error) {
	periods := int(365 * 24 * time.Hour / pr.period)
	days := max(1, int(pr.period/(24*time.Hour)))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// The keys' expiries are spread so that they come due in different weeks.
	const day = 24 * time.Hour
	w, err := newWorldExpiring([]time.Duration{35 * day, 60 * day, 100 * day, 150 * day}, true)
	if err != nil {
		return nil, 0, 0, "", err
	}
	defer w.close()
	w.renewBefore, w.grace, w.revokeAfter = pr.renewBefore, pr.grace, pr.revokeAfter
	ctx := context.Background()
	week := 0
	c := &checker{w: w, seen: map[Invariant]bool{}}
	c.sc = Scenario{State: State{Name: fmt.Sprintf("soak seed %d", seed), Cron: true}, Keys: len(w.keys)}
	var where string
	stop := func() bool { return len(c.out) > 0 }
	step := func(s string) { c.step(fmt.Sprintf("period %d, %s", week, s)) }
	stuck := map[string]int{}
	disturbed := false
	for week = 1; week <= periods && !stop(); week++ {
		// A quarter into the year a fifth key is configured: a client that
		// no manifest names yet, due within three weeks.
		if week == periods/4 {
			if err := w.addUnmanaged(20 * day); err != nil {
				return nil, 0, 0, "", err
			}
		}
		// The week passes; Argo CD rolls out with this week's lag, checks
		// come and go.
		w.lag = time.Duration(rng.IntN(3)) * 24 * time.Hour
		switch rng.IntN(10) {
		case 0:
			w.hub.checks = ChecksPending
		case 1:
			w.hub.checks = ChecksFailure
		default:
			w.hub.checks = ChecksSuccess
		}
		fixDay := 1 + rng.IntN(3)
		for day := 1; day <= days && !stop(); day++ {
			if day == fixDay {
				w.hub.checks = ChecksSuccess
			}
			w.advance(24*time.Hour, step)
			// Now and then a person renews by hand during the week.
			if rng.IntN(20) == 0 {
				where = fmt.Sprintf("manual run on day %d", day)
				w.run(ctx, soakCtl(c, week, where), false)
				w.rollout()
			}
		}
		if stop() {
			break
		}
		// Faults for the scheduled run, never two weeks running: the world
		// gives every disturbed rotation one calm week to be repaired in,
		// which the grace period of two schedule periods allows for. Weeks
		// in which a rotation is due or in flight are disturbed half the
		// time, quiet weeks one time in eight.
		odds := 8
		if busy(w, c) {
			odds = 2
		}
		kind := -1
		if !disturbed && rng.IntN(odds) == 0 {
			kind = rng.IntN(6)
		}
		disturbed = kind >= 0
		where = "the scheduled run"
		ctl := soakCtl(c, week, where)
		switch kind {
		case 0: // Equifax's bad day, which the client's retries may or may not absorb
			ops := []emulator.Op{emulator.OpToken, emulator.OpDescribe, emulator.OpRenew, emulator.OpRevoke}
			kinds := []emulator.FaultKind{emulator.FaultServerError, emulator.FaultUnavailable, emulator.FaultGatewayTimeout, emulator.FaultMalformed, emulator.FaultDropResponse}
			f := emulator.Fault{Op: ops[rng.IntN(len(ops))], Kind: kinds[rng.IntN(len(kinds))], Count: 1 + rng.IntN(6)}
			w.emu.Script(f)
			ctl.name += fmt.Sprintf(" (Equifax answers %d %s call(s) with %s)", f.Count, f.Op, f.Kind)
		case 1: // GitHub's bad day
			w.hub.failNext = 1 + rng.IntN(2)
			ctl.name += fmt.Sprintf(" (the next %d GitHub call(s) fail)", w.hub.failNext)
		case 2: // killed at a random moment
			ctl.faultN, ctl.mode = rng.IntN(30), ModeKill
		case 3: // a call fails, and Equifax stays away for the rest of the run
			ctl.faultN, ctl.mode = rng.IntN(30), ModeFail
		case 4: // a call is made but its answer is lost
			ctl.faultN, ctl.mode = rng.IntN(30), ModeLost
		}
		if ctl.mode != ModeNone {
			ctl.name += fmt.Sprintf(" (%s its event #%d)", ctl.mode, ctl.faultN)
		}
		if kind == 5 {
			// Two runs at once: a CronJob pod and a GitHub Actions run.
			i, j := rng.IntN(30), rng.IntN(30)
			where = fmt.Sprintf("two simultaneous scheduled runs (run 1 paused before event #%d, run 2 to event #%d)", i, j)
			c.sc.Interleave = &Interleave{I: i, J: j}
			interleave(ctx, w, c, true, i, j)
			c.sc.Interleave = nil
		} else {
			w.run(ctx, ctl, true)
		}
		w.emu.ClearFaults()
		w.hub.failNext = 0
		w.rollout()
		step("after " + where + " and the rollout")
		// A key that has not converged for four periods running is stuck.
		left := c.converged()
		for _, k := range w.keys {
			if _, ok := left[string(k.key)]; ok {
				stuck[string(k.key)]++
			} else {
				delete(stuck, string(k.key))
			}
			if stuck[string(k.key)] >= 4 {
				c.add(Converges, fmt.Sprintf("period %d, %s", week, where), string(k.key)+": "+left[string(k.key)]+" for four schedule periods")
			}
		}
	}
	if !stop() {
		c.final()
	}
	if len(c.out) > 0 {
		v := c.out[0]
		return &v, week, w.runs, w.history(6), nil
	}
	return nil, periods, w.runs, "", nil
}

// soakCtl is the controller of one soak run.
func soakCtl(c *checker, week int, name string) *runCtl {
	return &runCtl{name: fmt.Sprintf("period %d, %s", week, name), faultN: -1, down: map[Server]bool{}, check: c.step}
}

// busy reports whether a key is inside its renewal window or has a
// rotation in flight.
func busy(w *World, c *checker) bool {
	if len(c.converged()) > 0 {
		return true
	}
	for _, k := range w.keys {
		md, _, ok := w.mainManifest("prod", k.key)
		if !ok || !w.now().Add(w.renewBefore+7*24*time.Hour).Before(md.ExpiresAt) {
			return true
		}
	}
	return false
}
