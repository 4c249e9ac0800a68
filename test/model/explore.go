package model

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options choose how much of the space to explore.
type Options struct {
	// Keys are the key counts; default 1, 2 and 3.
	Keys []int
	// States are the starting states; default all of States().
	States []State
	// InterleaveStride explores every n-th pause point of each run (1:
	// all of them).
	InterleaveStride int
	// InterleaveKeys are the key counts interleavings are explored for;
	// default 1, 2 and 3.
	InterleaveKeys []int
	// Workers default to GOMAXPROCS.
	Workers int
}

// Result is what an exploration found.
type Result struct {
	// Scenarios counts every scenario of the space; Explored those run,
	// the others being the same schedule as one that was (run 2 of an
	// interleaving had ended before the later pause point).
	Scenarios  int
	Explored   int
	Runs       int
	Elapsed    time.Duration
	Violations []Violation
	// Failed counts the scenarios with at least one violation.
	Failed int
}

// base is one starting world, with the events of an undisturbed run from it.
type base struct {
	state  State
	keys   int
	world  *World
	events []Event
}

// Scenarios builds every starting world and lists the scenarios to explore
// from each.
func scenarios(opts Options) ([]*base, []Scenario, map[*Scenario]*base, error) {
	var bases []*base
	var out []Scenario
	owner := map[*Scenario]*base{}
	type pair struct {
		sc Scenario
		b  *base
	}
	var pairs []pair
	for _, st := range opts.States {
		for _, k := range opts.Keys {
			w, err := st.build(k)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("state %q with %d keys: %w", st.Name, k, err)
			}
			probe := w.clone()
			res := probe.run(context.Background(), quietCtl("probe"), st.Cron)
			probe.close()
			b := &base{state: st, keys: k, world: w, events: res.Events}
			bases = append(bases, b)
			for _, ev := range res.Events {
				modes := []Mode{ModeKill, ModeFail, ModeLost}
				if ev.Server == Step {
					modes = []Mode{ModeKill}
				}
				for _, m := range modes {
					pairs = append(pairs, pair{Scenario{State: st, Keys: k, Fault: &Fault{N: ev.N, Mode: m, Event: ev}}, b})
				}
			}
			if !containsInt(opts.InterleaveKeys, k) {
				continue
			}
			points := interleavePoints(res.Events, opts.InterleaveStride)
			for _, i := range points {
				for _, j := range points {
					pairs = append(pairs, pair{Scenario{State: st, Keys: k, Interleave: &Interleave{I: i, J: j}}, b})
				}
				// run 2 to its end while run 1 waits
				pairs = append(pairs, pair{Scenario{State: st, Keys: k, Interleave: &Interleave{I: i, J: 1 << 30}}, b})
			}
		}
	}
	out = make([]Scenario, len(pairs))
	for i, p := range pairs {
		out[i] = p.sc
		owner[&out[i]] = p.b
	}
	return bases, out, owner, nil
}

// interleavePoints are the events a run can be paused before: every call
// that reads or writes shared state. Token requests and step boundaries are
// left out: only the run's own work lies between one of them and the call
// that follows, so pausing before either is the same schedule.
func interleavePoints(evs []Event, stride int) []int {
	var out []int
	for _, ev := range evs {
		if ev.Server == Step || ev.Server.provider() && ev.Name == "token" {
			continue
		}
		out = append(out, ev.N)
	}
	if stride > 1 {
		var s []int
		for i, n := range out {
			if i%stride == 0 {
				s = append(s, n)
			}
		}
		out = s
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Explore runs every scenario of opts on a pool of workers.
func Explore(opts Options) (Result, error) {
	if len(opts.Keys) == 0 {
		opts.Keys = []int{1, 2, 3}
	}
	if opts.States == nil {
		opts.States = States()
	}
	if opts.InterleaveKeys == nil {
		opts.InterleaveKeys = []int{1, 2, 3}
	}
	if opts.InterleaveStride < 1 {
		opts.InterleaveStride = 1
	}
	if opts.Workers < 1 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	t0 := time.Now()
	bases, scs, owner, err := scenarios(opts)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		for _, b := range bases {
			b.world.close()
		}
	}()
	var mu sync.Mutex
	res := Result{Scenarios: len(scs)}
	groups := groupScenarios(scs, owner)
	jobs := make(chan []int)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				for _, i := range g {
					sc := &scs[i]
					o := explore(owner[sc].world, *sc)
					mu.Lock()
					res.Explored++
					res.Runs += o.Runs
					res.Violations = append(res.Violations, o.Violations...)
					if len(o.Violations) > 0 {
						res.Failed++
					}
					mu.Unlock()
					if o.Ended {
						// Run 2 ended before this pause point: the
						// group's later pause points are this schedule.
						break
					}
				}
			}
		}()
	}
	for _, g := range groups {
		jobs <- g
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = time.Since(t0)
	return res, nil
}

// groupScenarios orders the scenarios into jobs: each fault scenario alone,
// and the interleavings of one starting world and one pause point of run 1
// together, by run 2's pause point ascending (the "to its end" variant
// last), so a job can stop at the first schedule in which run 2 ended early.
func groupScenarios(scs []Scenario, owner map[*Scenario]*base) [][]int {
	type gk struct {
		b *base
		i int
	}
	var out [][]int
	at := map[gk]int{}
	for n := range scs {
		sc := &scs[n]
		if sc.Interleave == nil {
			out = append(out, []int{n})
			continue
		}
		k := gk{owner[sc], sc.Interleave.I}
		g, ok := at[k]
		if !ok {
			g = len(out)
			at[k] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], n)
	}
	for _, g := range out {
		sort.SliceStable(g, func(a, b int) bool {
			ia, ib := scs[g[a]].Interleave, scs[g[b]].Interleave
			return ia != nil && ib != nil && ia.J < ib.J
		})
	}
	return out
}

// Summary groups violations by invariant, then by state and fault, with a
// count and a few examples each.
func (r Result) Summary(examples int) string {
	var b strings.Builder
	byInv := map[Invariant][]Violation{}
	for _, v := range r.Violations {
		byInv[v.Invariant] = append(byInv[v.Invariant], v)
	}
	fmt.Fprintf(&b, "%d scenarios (%d run, %d the same schedule as one run), %d runs, %d scenarios with violations, in %s\n", r.Scenarios, r.Explored, r.Scenarios-r.Explored, r.Runs, r.Failed, r.Elapsed.Round(time.Millisecond))
	for _, inv := range Invariants {
		vs := byInv[inv]
		if len(vs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n== %s: %d scenarios\n", inv, len(vs))
		// Group by state and kind of disturbance; list the events.
		type group struct {
			vs     []Violation
			events map[string]bool
		}
		groups := map[string]*group{}
		for _, v := range vs {
			parts := strings.Split(v.Group, " | ")
			key, ev := strings.Join(parts[:min(2, len(parts))], ", "), ""
			if len(parts) > 2 {
				ev = parts[2]
			}
			g := groups[key]
			if g == nil {
				g = &group{events: map[string]bool{}}
				groups[key] = g
			}
			g.vs = append(g.vs, v)
			if ev != "" {
				g.events[ev] = true
			}
		}
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		sort.Slice(names, func(i, j int) bool {
			if len(groups[names[i]].vs) != len(groups[names[j]].vs) {
				return len(groups[names[i]].vs) > len(groups[names[j]].vs)
			}
			return names[i] < names[j]
		})
		for _, name := range names {
			g := groups[name]
			fmt.Fprintf(&b, "  -- %d x %s\n", len(g.vs), name)
			if len(g.events) > 0 {
				fmt.Fprintf(&b, "     at: %s\n", strings.Join(sortedKeys(g.events), "; "))
			}
			for _, v := range g.vs[:min(examples, len(g.vs))] {
				fmt.Fprintf(&b, "     e.g. %s\n", v.String())
			}
		}
	}
	return b.String()
}
