package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax/emulator"
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
func TestSoak(t *testing.T) {
	seed := soakSeed(t)
	t.Logf("soak seed %d (replay: CREDROTATE_SOAK_SEED=%d go test -run TestSoak ./test/model/)", seed, seed)
	fmt.Printf("soak seed %d\n", seed)
	v, weeks, runs, err := soak(seed, 52)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %d weeks, %d runs", weeks, runs)
	if v != nil {
		t.Errorf("soak seed %d broke an invariant in week %d:\n    %s\n  replay: CREDROTATE_SOAK_SEED=%d go test -run TestSoak ./test/model/", seed, weeks, v, seed)
	}
}

// soak plays the year; it returns the first violation and the week of it.
func soak(seed uint64, weeks int) (*Violation, int, int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// The keys' expiries are spread so that they come due in different weeks.
	const day = 24 * time.Hour
	w, err := newWorldExpiring([]time.Duration{20 * day, 45 * day, 100 * day, 150 * day}, true)
	if err != nil {
		return nil, 0, 0, err
	}
	defer w.close()
	ctx := context.Background()
	week := 0
	c := &checker{w: w, seen: map[Invariant]bool{}}
	c.sc = Scenario{State: State{Name: fmt.Sprintf("soak seed %d", seed), Cron: true}, Keys: len(w.keys)}
	var where string
	stop := func() bool { return len(c.out) > 0 }
	step := func(s string) { c.step(fmt.Sprintf("week %d, %s", week, s)) }
	stuck := map[string]int{}
	for week = 1; week <= weeks && !stop(); week++ {
		// The week passes; Argo CD rolls out with this week's lag, checks
		// come and go.
		w.lag = time.Duration(rng.IntN(4)) * 24 * time.Hour
		switch rng.IntN(10) {
		case 0:
			w.hub.checks = ChecksPending
		case 1:
			w.hub.checks = ChecksFailure
		default:
			w.hub.checks = ChecksSuccess
		}
		fixDay := 1 + rng.IntN(3)
		for day := 1; day <= 7 && !stop(); day++ {
			if day == fixDay {
				w.hub.checks = ChecksSuccess
			}
			w.advance(24*time.Hour, step)
			// Now and then a person renews by hand during the week.
			if rng.IntN(20) == 0 {
				where = fmt.Sprintf("manual run on day %d", day)
				w.run(ctx, soakCtl(c, rng, week, where, 0), false)
				w.rollout()
			}
		}
		if stop() {
			break
		}
		// Faults for the scheduled run.
		if rng.IntN(4) == 0 {
			ops := []emulator.Op{emulator.OpToken, emulator.OpDescribe, emulator.OpRenew, emulator.OpRevoke}
			kinds := []emulator.FaultKind{emulator.FaultServerError, emulator.FaultUnavailable, emulator.FaultGatewayTimeout, emulator.FaultMalformed, emulator.FaultDropResponse}
			w.emu.Script(emulator.Fault{Op: ops[rng.IntN(len(ops))], Kind: kinds[rng.IntN(len(kinds))], Count: 1 + rng.IntN(5)})
		}
		if rng.IntN(5) == 0 {
			w.hub.failNext = 1 + rng.IntN(2)
		}
		if rng.IntN(8) == 0 {
			// Two runs at once: a CronJob pod and a GitHub Actions run.
			i, j := rng.IntN(30), rng.IntN(30)
			where = fmt.Sprintf("two simultaneous scheduled runs (run 1 paused before event #%d, run 2 to event #%d)", i, j)
			c.sc.Interleave = &Interleave{I: i, J: j}
			interleave(ctx, w, c, true, i, j)
			c.sc.Interleave = nil
		} else {
			where = "the scheduled run"
			kill := 0
			if rng.IntN(6) == 0 {
				kill = 1 + rng.IntN(30)
			}
			w.run(ctx, soakCtl(c, rng, week, where, kill), true)
		}
		w.emu.ClearFaults()
		w.hub.failNext = 0
		w.rollout()
		step("after " + where + " and the rollout")
		// A key that has not converged for four weeks running is stuck.
		left := c.converged()
		for _, k := range w.keys {
			if _, ok := left[string(k.key)]; ok {
				stuck[string(k.key)]++
			} else {
				delete(stuck, string(k.key))
			}
			if stuck[string(k.key)] >= 4 {
				c.add(Converges, fmt.Sprintf("week %d, %s", week, where), string(k.key)+": "+left[string(k.key)]+" for four weeks")
			}
		}
	}
	if !stop() {
		c.final()
	}
	if len(c.out) > 0 {
		v := c.out[0]
		return &v, week, w.runs, nil
	}
	return nil, weeks, w.runs, nil
}

// soakCtl is the controller of one soak run: with kill > 0, the process is
// killed after its event kill-1.
func soakCtl(c *checker, rng *rand.Rand, week int, name string, kill int) *runCtl {
	ctl := &runCtl{name: fmt.Sprintf("week %d, %s", week, name), faultN: -1, down: map[Server]bool{}, check: c.step}
	if kill > 0 {
		ctl.faultN, ctl.mode = kill-1, ModeKill
		ctl.name += fmt.Sprintf(" (killed after event #%d)", kill-1)
	}
	_ = rng
	return ctl
}
