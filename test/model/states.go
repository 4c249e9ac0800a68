package model

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
)

// envPlan is what the world around credrotate does after the scenario:
// the required checks, and when Argo CD or Flux rolls a merge out.
type envPlan struct {
	// checks is the state of the required checks when the scenario starts;
	// fixAt, when set, is the follow-up tick at which they pass (CI is
	// fixed or finishes).
	checks Checks
	fixAt  int
	// lag is how long after a merge the rollout happens; holdTicks holds
	// every rollout until that follow-up tick (Argo CD broken until a
	// person fixes it).
	lag       time.Duration
	holdTicks int
}

// State is a starting state of the model check.
type State struct {
	Name string
	// Cron says the scenario's runs are scheduled runs; otherwise they are
	// manual runs that name every key.
	Cron  bool
	build func(k int) (*World, error)
	env   envPlan
}

// quietCtl is the controller of the runs that build a state: no fault,
// no checks.
func quietCtl(name string) *runCtl { return &runCtl{name: name, faultN: -1, down: map[Server]bool{}} }

// prepare runs credrotate once, undisturbed, to bring a world into a state.
func prepare(w *World, cron bool) error {
	res := w.run(context.Background(), quietCtl("prepare"), cron)
	if res.Err != nil {
		return fmt.Errorf("preparing the state: %w", res.Err)
	}
	return nil
}

// due is an Equifax world whose keys are inside their renewal window.
func due(k int, strategy string) (*World, error) { return dueOn("equifax", k, strategy) }

// dueOn is due against provider type prov.
func dueOn(prov string, k int, strategy string) (*World, error) {
	return newWorldS(prov, strategy, k, 10*24*time.Hour, true)
}

// newWorldS is newWorldOn landing pull requests with strategy (native
// auto-merge or direct merge).
func newWorldS(prov, strategy string, n int, expiresIn time.Duration, managed bool) (*World, error) {
	w, err := newWorldOn(prov, n, expiresIn, managed)
	if err == nil {
		w.strategy = strategy
	}
	return w, err
}

// proposed is a due Equifax world after a run whose pull request waits on
// checks.
func proposed(k int, checks Checks, strategy string) (*World, error) {
	return proposedOn("equifax", k, checks, strategy)
}

// proposedOn is proposed against provider type prov.
func proposedOn(prov string, k int, checks Checks, strategy string) (*World, error) {
	w, err := dueOn(prov, k, strategy)
	if err != nil {
		return nil, err
	}
	w.hub.checks = checks
	if err := prepare(w, true); err != nil {
		return nil, err
	}
	if len(w.hub.openByKey()) == 0 {
		return nil, fmt.Errorf("preparing a proposed state: no pull request is open")
	}
	return w, nil
}

// mergedOn is a due world of provider type prov after a run that merged
// its pull request.
func mergedOn(prov string, k int, strategy string) (*World, error) {
	w, err := dueOn(prov, k, strategy)
	if err != nil {
		return nil, err
	}
	if err := prepare(w, true); err != nil {
		return nil, err
	}
	return w, nil
}

// duplicate opens a second pull request from a copy of every open
// rotation branch, carrying the same state marker: what two overlapping
// runs leave behind.
func duplicate(w *World) error {
	var open []*pull
	for _, p := range w.hub.pulls {
		if p.open {
			open = append(open, p)
		}
	}
	for _, p := range open {
		tip, ok := w.repo.branch(p.branch)
		if !ok {
			return fmt.Errorf("branch %s is gone", p.branch)
		}
		b := p.branch + "-copy"
		w.repo.setBranch(b, tip)
		w.hub.pulls = append(w.hub.pulls, &pull{num: w.hub.next, branch: b, base: p.base, head: tip, title: p.title, body: p.body, open: true, labels: p.labels, autoMerge: true, createdAt: w.now()})
		w.hub.next++
	}
	return nil
}

// States are the starting states the model check enumerates against
// Equifax: every state with pull requests landed by GitHub's auto-merge
// (native), then every state with credrotate merging them itself once
// checks pass (direct).
func States() []State {
	return append(statesFor("native"), statesFor("direct")...)
}

// statesFor lists the starting states against Equifax with one merge
// strategy.
func statesFor(strategy string) []State { return statesOn("equifax", strategy) }

// statesOn lists the starting states against provider type prov with one
// merge strategy.
func statesOn(prov, strategy string) []State {
	states := []State{
		{Name: "unmanaged (no manifest yet)", Cron: true, build: func(k int) (*World, error) { return newWorldS(prov, strategy, k, 10*24*time.Hour, false) }},
		{Name: "unmanaged, manual run (renew --provider-key)", Cron: false, build: func(k int) (*World, error) { return newWorldS(prov, strategy, k, 10*24*time.Hour, false) }},
		{Name: "current, scheduled run", Cron: true, build: func(k int) (*World, error) { return newWorldS(prov, strategy, k, 60*24*time.Hour, true) }},
		{Name: "current, manual run", Cron: false, build: func(k int) (*World, error) { return newWorldS(prov, strategy, k, 60*24*time.Hour, true) }},
		{Name: "due", Cron: true, build: func(k int) (*World, error) { return dueOn(prov, k, strategy) }},
		{Name: "proposed, checks pending", Cron: true, env: envPlan{checks: ChecksPending, fixAt: 1},
			build: func(k int) (*World, error) { return proposedOn(prov, k, ChecksPending, strategy) }},
		{Name: "proposed, checks failing", Cron: true, env: envPlan{checks: ChecksFailure, fixAt: 2},
			build: func(k int) (*World, error) { return proposedOn(prov, k, ChecksFailure, strategy) }},
		{Name: "proposed, pull request closed by a person", Cron: true, build: func(k int) (*World, error) {
			w, err := proposedOn(prov, k, ChecksPending, strategy)
			if err != nil {
				return nil, err
			}
			for _, p := range w.hub.pulls {
				if p.open {
					p.open, p.closedBy = false, "a person"
				}
			}
			w.hub.checks = ChecksSuccess
			return w, nil
		}},
		{Name: "merged, rollout prompt", Cron: true, build: func(k int) (*World, error) {
			w, err := mergedOn(prov, k, strategy)
			if err == nil {
				w.rollout()
			}
			return w, err
		}},
		{Name: "merged, rollout two days late", Cron: true, env: envPlan{lag: 48 * time.Hour}, build: func(k int) (*World, error) {
			w, err := mergedOn(prov, k, strategy)
			if err == nil {
				w.lag = 48 * time.Hour
				w.rollout()
			}
			return w, err
		}},
		{Name: "merged, rollout never (until a person fixes Argo CD on day 4)", Cron: true, env: envPlan{holdTicks: 4}, build: func(k int) (*World, error) {
			w, err := mergedOn(prov, k, strategy)
			if err == nil {
				w.heldUntil = w.now().Add(100 * 24 * time.Hour)
				w.rollout()
			}
			return w, err
		}},
		{Name: "duplicate pull requests", Cron: true, env: envPlan{checks: ChecksPending, fixAt: 1}, build: func(k int) (*World, error) {
			w, err := proposedOn(prov, k, ChecksPending, strategy)
			if err != nil {
				return nil, err
			}
			return w, duplicate(w)
		}},
		{Name: "stale pull request (its secret is deployed)", Cron: true, build: func(k int) (*World, error) {
			w, err := proposedOn(prov, k, ChecksPending, strategy)
			if err != nil {
				return nil, err
			}
			if err := duplicate(w); err != nil {
				return nil, err
			}
			for _, p := range w.hub.pulls {
				if p.open && strings.HasSuffix(p.branch, "-copy") {
					if err := w.hub.merge(p); err != nil {
						return nil, err
					}
				}
			}
			for _, p := range w.hub.pulls {
				p.autoMerge = false
			}
			w.hub.checks = ChecksSuccess
			w.rollout()
			return w, nil
		}},
		{Name: "proposed, base branch moved by a person", Cron: true, env: envPlan{checks: ChecksPending, fixAt: 1}, build: func(k int) (*World, error) {
			w, err := proposedOn(prov, k, ChecksPending, strategy)
			if err != nil {
				return nil, err
			}
			_, err = w.repo.commitOn("main", map[string][]byte{"README.md": []byte("# gitops\n\nEdited by a person.\n")}, "Edit the README", w.now())
			return w, err
		}},
		{Name: "proposed, manifest re-sealed by a person on main", Cron: true, env: envPlan{checks: ChecksPending, fixAt: 1}, build: func(k int) (*World, error) {
			w, err := proposedOn(prov, k, ChecksPending, strategy)
			if err != nil {
				return nil, err
			}
			return w, reseal(w, w.keys[0], "prod")
		}},
		{Name: "minted a day ago, never proposed (orphan)", Cron: true, build: func(k int) (*World, error) {
			w, err := dueOn(prov, k, strategy)
			if err != nil {
				return nil, err
			}
			ctl := quietCtl("prepare")
			ctl.faultN, ctl.mode = -2, ModeKill
			ctl.gate = func(ev Event) {
				if ev.Server == Step && ev.Name == "renew" {
					ctl.faultN = ev.N
				}
			}
			w.run(context.Background(), ctl, true)
			w.advance(25*time.Hour, nil)
			return w, nil
		}},
	}
	for i := range states {
		if strategy != "native" {
			states[i].Name += " [" + strategy + " merge]"
		}
		if prov != "equifax" {
			states[i].Name += " [" + prov + "]"
		}
	}
	return states
}

// reseal plays a person who re-encrypts a key's manifest on main (kubeseal
// --re-encrypt after a certificate rotation, say): the same secret and
// annotations, new ciphertext. It conflicts with any rotation of that key,
// in git as here.
func reseal(w *World, k keyCfg, env string) error {
	md, data, ok := w.mainManifest(env, k.key)
	if !ok {
		return fmt.Errorf("no %s manifest of %s", env, k.key)
	}
	value, ok := w.plain[md.SecretID]
	if !ok {
		return fmt.Errorf("the plaintext of %s is unknown", md.SecretID)
	}
	envs, err := w.sealEnvs()
	if err != nil {
		return err
	}
	var target []seal.Environment
	for _, e := range envs {
		if e.Name == env {
			target = append(target, e)
		}
	}
	mem := &seal.MemFS{}
	name := target[0].ManifestPath(k.key)
	kust := target[0].Path + "/kustomization.yaml"
	tip, _ := w.repo.branch("main")
	if b, ok := w.repo.read(tip, kust); ok {
		_ = mem.WriteFile(kust, b, 0o644)
	}
	_ = mem.WriteFile(name, data, 0o644)
	if _, err := seal.Write(context.Background(), mem, target, []seal.Item{{Ref: k.ref, Value: credential.NewSecret(value), Metadata: md}}); err != nil {
		return err
	}
	changed := map[string][]byte{}
	for _, f := range mem.Files() {
		b, _ := mem.ReadFile(f)
		if old, ok := w.repo.read(tip, f); !ok || string(old) != string(b) {
			changed[f] = b
		}
	}
	_, err = w.repo.commitOn("main", changed, "Re-encrypt the "+env+" credentials", w.now())
	return err
}
