package model

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Invariant names a property the rotation must keep.
type Invariant string

// The invariants.
const (
	NoOutage        Invariant = "outage: the workload's secret is not accepted by the provider"
	NoRevokeInUse   Invariant = "a secret the workload uses was revoked"
	TwoValidAtMost  Invariant = "more than two valid secrets for a key"
	OnePRAtMost     Invariant = "more than one open pull request for a key"
	Converges       Invariant = "no convergence within two further runs to one deployed, valid secret"
	AlertsWhenStuck Invariant = "a key that does not converge has no open alert"
	NoLeak          Invariant = "a plaintext secret leaked"
)

// Invariants lists them in report order.
var Invariants = []Invariant{NoOutage, NoRevokeInUse, TwoValidAtMost, OnePRAtMost, Converges, AlertsWhenStuck, NoLeak}

// Violation is one broken invariant in one scenario.
type Violation struct {
	Invariant Invariant
	Scenario  string
	// Group is the state and the kind of disturbance, without event
	// numbers: what the report counts by.
	Group string
	// Where is the run and step (or the clock) at which it was seen.
	Where  string
	Detail string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s\n      scenario: %s\n      where:    %s\n      detail:   %s", v.Invariant, v.Scenario, v.Where, v.Detail)
}

// Fault is a scenario's disturbance of its run: a fault at event N.
type Fault struct {
	N    int
	Mode Mode
	// Event names the event, for the report.
	Event Event
}

// Interleave is two runs overlapping: run 1 pauses before its event I, run
// 2 runs up to (before) its event J, run 1 runs to its end, then run 2.
type Interleave struct{ I, J int }

// Scenario is one exploration: a starting state, the number of keys, and
// either a fault in one run or two interleaved runs.
type Scenario struct {
	State      State
	Keys       int
	Fault      *Fault
	Interleave *Interleave
}

func (s Scenario) String() string {
	b := fmt.Sprintf("state %q, %d key(s)", s.State.Name, s.Keys)
	switch {
	case s.Fault != nil:
		b += fmt.Sprintf(", %s %s", s.Fault.Mode, s.Fault.Event)
	case s.Interleave != nil:
		b += fmt.Sprintf(", two runs: run 1 paused before its event #%d while run 2 runs to its event #%d, then run 1, then run 2", s.Interleave.I, s.Interleave.J)
	}
	if s.State.Cron {
		b += " (scheduled runs)"
	} else {
		b += " (manual runs)"
	}
	return b
}

// group is the state, the key count class and the kind of disturbance.
func (s Scenario) group() string {
	g := fmt.Sprintf("%q", s.State.Name)
	switch {
	case s.Fault != nil:
		g += fmt.Sprintf(" | %s a call or step | %s %s", s.Fault.Mode, s.Fault.Event.Server, s.Fault.Event.Name)
	case s.Interleave != nil:
		g += " | two interleaved runs"
	}
	return g
}

// checker checks one scenario's world.
type checker struct {
	w    *World
	sc   Scenario
	seen map[Invariant]bool
	out  []Violation
	// startPRs is how many pull requests each key had open at the start:
	// a state that begins with duplicates (a person's doing, or an older
	// release's) breaks the one-pull-request invariant only if a run opens
	// another.
	startPRs map[string]int
}

func (c *checker) add(inv Invariant, where, detail string) {
	if c.seen[inv] {
		return
	}
	c.seen[inv] = true
	c.out = append(c.out, Violation{Invariant: inv, Scenario: c.sc.String(), Group: c.sc.group(), Where: where, Detail: detail})
}

// step checks the invariants that hold at every moment.
func (c *checker) step(where string) {
	w := c.w
	for _, k := range w.keys {
		u := w.use[k.key]
		info := w.clientInfo(k)
		s, known := info.Find(u.secretID)
		// A deactivated (Okta) or disabled (Google Cloud) secret is as good
		// as revoked to the workload.
		revoked := known && (s.Status == equifax.StatusRevoked || s.Status == provider.StatusInactive)
		when := "(" + strings.ToLower(string(s.Status)) + ")"
		if s.RevokedAt != nil {
			when = "at " + s.RevokedAt.Format("Jan 2 15:04")
		}
		switch {
		case revoked && !u.dead:
			c.add(NoRevokeInUse, where, fmt.Sprintf("%s: the workload uses %s, which was revoked %s", k.key, u.secretID, when))
		case revoked:
			c.add(NoOutage, where, fmt.Sprintf("%s: the workload was given %s (rolled out from main at %s), which had been revoked %s: main deploys a dead secret", k.key, u.secretID, u.since.Format("Jan 2 15:04"), when))
		case !w.svc.accepts(k.clientID, u.value):
			st := "unknown"
			if known {
				st = string(s.Status)
			}
			c.add(NoOutage, where, fmt.Sprintf("%s: the workload uses %s, which is %s", k.key, u.secretID, st))
		}
		if n := info.ValidCount(); n > 2 {
			c.add(TwoValidAtMost, where, fmt.Sprintf("%s: %d valid secrets", k.key, n))
		}
	}
	if c.startPRs == nil {
		c.startPRs = map[string]int{}
		for key, prs := range w.hub.openByKey() {
			c.startPRs[key] = len(prs)
		}
	}
	for key, prs := range w.hub.openByKey() {
		if len(prs) > max(1, c.startPRs[key]) {
			c.add(OnePRAtMost, where, fmt.Sprintf("%s: open pull requests %v", key, prs))
		}
	}
}

// converged reports, per key, what keeps it from the end state: one
// deployed secret in every environment, valid, the only valid one, used by
// the workload, and no open pull request.
func (c *checker) converged() map[string]string {
	w := c.w
	out := map[string]string{}
	open := w.hub.openByKey()
	for _, k := range w.keys {
		ids := map[string]bool{}
		id := ""
		for _, env := range Envs {
			md, _, ok := w.mainManifest(env, k.key)
			if !ok {
				ids["(none in "+env+")"] = true
				continue
			}
			ids[md.SecretID], id = true, md.SecretID
		}
		info := w.clientInfo(k)
		s, known := info.Find(id)
		switch {
		case len(ids) != 1:
			out[string(k.key)] = fmt.Sprintf("the environments deploy %v", sortedKeys(ids))
		case !known || !s.Status.Valid():
			out[string(k.key)] = "main deploys " + id + ", which is not valid"
		case info.ValidCount() != 1:
			out[string(k.key)] = fmt.Sprintf("%d valid secrets (the retired one is not revoked)", info.ValidCount())
		case w.use[k.key].secretID != id:
			out[string(k.key)] = "the workload uses " + w.use[k.key].secretID + ", main deploys " + id
		case len(open[string(k.key)]) > 0:
			out[string(k.key)] = fmt.Sprintf("pull requests %v are still open", open[string(k.key)])
		}
	}
	return out
}

// final checks, once the scenario is over, that every environment's
// manifest decrypts to the workload's secret and that nothing leaked.
func (c *checker) final() {
	w := c.w
	// The workload got its secret by decrypting prod's manifest (rollout);
	// the other environments must carry the same secret: their
	// fingerprints say so without another RSA decryption each.
	for _, k := range w.keys {
		want := credential.NewSecret(w.use[k.key].value).Fingerprint()
		for _, env := range Envs {
			md, _, ok := w.mainManifest(env, k.key)
			if ok && md.SecretID == w.use[k.key].secretID && md.Fingerprint != want {
				c.add(Converges, "end", fmt.Sprintf("%s: the %s manifest names %s but carries fingerprint %s, not the deployed secret's %s", k.key, env, md.SecretID, md.Fingerprint, want))
			}
		}
	}
	texts := w.texts()
	for id, p := range w.plain {
		for _, t := range texts {
			if strings.Contains(t, p) {
				snippet := t
				if i := strings.Index(t, p); i >= 0 {
					snippet = t[max(0, i-80):i] + "<SECRET>"
				}
				c.add(NoLeak, "end", fmt.Sprintf("the plaintext of %s appears in: ...%s", id, snippet))
				break
			}
		}
	}
}

// Outcome is what exploring one scenario found.
type Outcome struct {
	Scenario   Scenario
	Violations []Violation
	Runs       int
	// Ended says run 2 of an interleaving ended before its pause point:
	// every later pause point of run 2 gives the same schedule.
	Ended bool
}

// maxTicks bounds the follow-up: daily scheduled runs for nine days, past
// the grace period of a secret minted at the start.
const maxTicks = 9

// explore runs one scenario on a clone of its starting world.
func explore(base *World, sc Scenario) Outcome {
	w := base.clone()
	defer w.close()
	c := &checker{w: w, sc: sc, seen: map[Invariant]bool{}}
	runs0 := w.runs
	ctx := context.Background()
	ended := false
	c.step("start")
	switch {
	case sc.Fault != nil:
		ctl := &runCtl{name: "run 1", faultN: sc.Fault.N, mode: sc.Fault.Mode, down: map[Server]bool{}, check: c.step}
		w.run(ctx, ctl, sc.State.Cron)
	case sc.Interleave != nil:
		ended = !interleave(ctx, w, c, sc.State.Cron, sc.Interleave.I, sc.Interleave.J)
	}
	c.step("after the scenario's runs")
	w.rollout()
	followUp(ctx, w, c, sc.State)
	c.final()
	return Outcome{Scenario: sc, Violations: c.out, Runs: w.runs - runs0, Ended: ended}
}

// followUp plays the days after the scenario: the world's own moves (checks,
// Argo CD), then a scheduled run, once a day, until the world has converged
// and a further run changes nothing, or maxTicks days have passed.
func followUp(ctx context.Context, w *World, c *checker, st State) {
	deadline := max(st.env.fixAt, st.env.holdTicks) + 2
	stable := 0
	for tick := 1; tick <= maxTicks; tick++ {
		if st.env.fixAt == tick {
			w.hub.checks = ChecksSuccess
		}
		if st.env.holdTicks == tick {
			w.heldUntil = time.Time{}
		}
		w.advance(24*time.Hour, c.step)
		ctl := &runCtl{name: fmt.Sprintf("follow-up run %d (day %d)", tick, tick), faultN: -1, down: map[Server]bool{}, check: c.step}
		w.run(ctx, ctl, true)
		w.rollout()
		c.step(ctl.name + ", after the rollout")
		left := c.converged()
		if len(left) == 0 {
			stable++
			if tick >= deadline && stable >= 1 {
				return
			}
			continue
		}
		stable = 0
		if tick == deadline {
			keys := sortedKeys(left)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+": "+left[k])
			}
			c.add(Converges, ctl.name, strings.Join(parts, "; "))
			open := map[string]bool{}
			for _, is := range w.hub.issues {
				if is.open {
					open[is.key] = true
				}
			}
			var silent []string
			for _, k := range keys {
				if !open["credrotate:"+k] && !open["credrotate:run"] {
					silent = append(silent, k)
				}
			}
			if len(silent) > 0 {
				sort.Strings(silent)
				c.add(AlertsWhenStuck, ctl.name, "no open alert issue for "+strings.Join(silent, ", ")+" ("+left[silent[0]]+")")
			}
		}
	}
}

// interleave runs two overlapping runs: run 1 pauses before its event i,
// run 2 runs up to its event j, run 1 finishes, then run 2. It reports
// whether run 2 reached its event j (false: it ended before, as a run that
// finds the lease taken does).
func interleave(ctx context.Context, w *World, c *checker, cron bool, i, j int) bool {
	type runner struct {
		ctl    *runCtl
		paused chan struct{}
		resume chan struct{}
		done   chan struct{}
	}
	start := func(name string, at int) *runner {
		r := &runner{paused: make(chan struct{}), resume: make(chan struct{}), done: make(chan struct{})}
		r.ctl = &runCtl{name: name, faultN: -1, down: map[Server]bool{}, check: c.step}
		r.ctl.gate = func(ev Event) {
			if ev.N == at {
				r.paused <- struct{}{}
				<-r.resume
			}
		}
		go func() {
			defer close(r.done)
			w.run(ctx, r.ctl, cron)
		}()
		return r
	}
	wait := func(r *runner) bool { // true: paused, false: finished
		select {
		case <-r.paused:
			return true
		case <-r.done:
			return false
		}
	}
	r1 := start("run 1", i)
	p1 := wait(r1)
	r2 := start("run 2", j)
	p2 := wait(r2)
	if p1 {
		r1.resume <- struct{}{}
		<-r1.done
	}
	if p2 {
		r2.resume <- struct{}{}
		<-r2.done
	}
	return p2
}
