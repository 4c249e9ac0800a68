package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Targets of issue 8.
const (
	targetSpeedup     = 20.0 // 100 keys at 50 ms: baseline / credrotate
	targetFloorRatio  = 1.25 // 1,000 keys at 50 ms: credrotate / floor
	targetGitHubCalls = 12   // per run, whatever N
	targetRSS         = 100 << 20
	targetNoopRatio   = 2.0 // no-op run / shallow clone
)

// Round trips in the floor: a clone is a ref advertisement and a pack, a
// push the same.
const (
	floorCloneTrips = 2
	floorPushTrips  = 2
)

// Workload is N provider keys x 3 environments at a latency.
type Workload struct {
	Keys    int
	Latency time.Duration
}

func (w Workload) String() string {
	unit := "keys"
	if w.Keys == 1 {
		unit = "key"
	}
	return fmt.Sprintf("%s %s x 3 environments, %s", thousands(w.Keys), unit, latencyName(w.Latency))
}

func latencyName(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return d.String()
}

// Run is one measured process: a credrotate run or a baseline run.
type Run struct {
	// Keys is the workload's N; Done how many keys the baseline finished
	// (it may be a sample of N).
	Keys, Done  int
	Concurrency int

	Wall     time.Duration
	CPU      time.Duration
	MaxRSS   int64
	ExitCode int
	Stdout   string
	// Clone is the baseline's clone time, from its output.
	Clone time.Duration

	Provider     map[string]int
	GitHubAPI    int
	GitHubRoutes map[string]int
	GitRequests  int
	GitPushes    int
	BytesPushed  int64
	PullRequests int

	// Extrapolated is set when the run covered Done < Keys keys; then the
	// fields above are scaled to Keys and Measured keeps what was seen.
	Extrapolated bool
	Measured     *Run

	// TimedOut is set when the run was stopped at its time budget: its
	// wall time and peak RSS are lower bounds.
	TimedOut bool

	Verified string
	Problem  string

	// Load is the machine's 1-minute load average around the run; nil in
	// results written before it was recorded.
	Load *Load `json:",omitempty"`
}

// Load is the 1-minute load average (/proc/loadavg) read just before and
// just after a measured process.
type Load struct {
	Before, After float64
}

func (l Load) String() string { return fmt.Sprintf("%.2f–%.2f", l.Before, l.After) }

// loadSpan is the lowest to the highest of the loads, for a figure drawn
// from several runs; "not recorded" when none is known.
func loadSpan(loads ...*Load) string {
	lo, hi, n := 0.0, 0.0, 0
	for _, l := range loads {
		if l == nil {
			continue
		}
		if n == 0 {
			lo, hi = min(l.Before, l.After), max(l.Before, l.After)
		}
		lo, hi = min(lo, l.Before, l.After), max(hi, l.Before, l.After)
		n++
	}
	if n == 0 {
		return "load not recorded"
	}
	return fmt.Sprintf("load %.2f–%.2f", lo, hi)
}

// medianRun is the run a workload's credrotate figures come from. It is the
// median of the runs by wall time (of an even number, the slower of the
// two middle runs), with the peak RSS of the largest run. A run that failed
// its proof or was stopped at its budget, when there is one (repeating
// stops there), is the figure instead, so that no target is judged on the
// runs that went well.
func medianRun(reps []Run) Run {
	if len(reps) == 0 {
		return Run{}
	}
	for _, r := range reps {
		if r.Problem != "" || r.TimedOut {
			return r
		}
	}
	s := append([]Run(nil), reps...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Wall < s[j].Wall })
	m := s[len(s)/2]
	for _, r := range reps {
		m.MaxRSS = max(m.MaxRSS, r.MaxRSS)
	}
	return m
}

// Extrapolate scales a run over r.Done keys to n keys: the clone once, the
// rest linearly.
func (r *Run) Extrapolate(n int) {
	if r.Done <= 0 || r.Done >= n {
		return
	}
	m := *r
	r.Measured = &m
	f := float64(n) / float64(r.Done)
	scale := func(v int) int { return int(float64(v)*f + 0.5) }
	r.Wall = r.Clone + time.Duration(float64(r.Wall-r.Clone)*f)
	r.CPU = time.Duration(float64(r.CPU) * f)
	p := map[string]int{}
	for k, v := range r.Provider {
		p[k] = scale(v)
	}
	r.Provider = p
	r.GitHubAPI = scale(r.GitHubAPI)
	r.GitRequests = floorCloneTrips + scale(r.GitRequests-floorCloneTrips)
	r.GitPushes = scale(r.GitPushes)
	r.BytesPushed = int64(float64(r.BytesPushed) * f)
	r.PullRequests = scale(r.PullRequests)
	r.Extrapolated = true
}

// ProviderCalls is the total of r.Provider.
func (r Run) ProviderCalls() int {
	n := 0
	for _, v := range r.Provider {
		n += v
	}
	return n
}

// ProviderDetail lists the provider calls by operation.
func (r Run) ProviderDetail() string {
	var parts []string
	for _, op := range []string{"token", "describe", "renew", "revoke"} {
		if v := r.Provider[op]; v > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", v, op))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", r.ProviderCalls(), strings.Join(parts, ", "))
}

// Summary is one log line.
func (r Run) Summary() string {
	s := fmt.Sprintf("wall %s, rss %s, provider %d, github %d, git requests %d, pushes %d, bytes %d",
		r.Wall.Round(time.Millisecond), mib(r.MaxRSS), r.ProviderCalls(), r.GitHubAPI, r.GitRequests, r.GitPushes, r.BytesPushed)
	if r.Extrapolated {
		s += fmt.Sprintf(" (extrapolated from %d keys in %s)", r.Done, r.Measured.Wall.Round(time.Millisecond))
	}
	if r.Problem != "" {
		s += "; PROBLEM: " + r.Problem
	} else {
		s += "; verified"
	}
	return s
}

// Floor is the least wall time the network allows a run over n keys at
// latency d with concurrency c that makes github GitHub API calls:
//
//	preflight (token, describe): 2 x ceil(n/c) rounds
//	renew and verify (renew, token with the new secret): 2 x ceil(n/c) rounds
//	git: a clone (2 round trips) and a push (2)
//	GitHub: the run's API calls, at most the 12 the target allows
//
// each round trip costing d. Local work (sealing, git objects, process
// start) counts as free, so at d = 0 the floor is 0.
func Floor(n, c int, d time.Duration, github int) time.Duration {
	if c < 1 {
		c = 1
	}
	rounds := (n + c - 1) / c
	trips := 4*rounds + floorCloneTrips + floorPushTrips + min(github, targetGitHubCalls)
	return time.Duration(trips) * d
}

// NoopFloor is Floor for a run that renews nothing: the preflight rounds,
// the clone and the GitHub calls.
func NoopFloor(n, c int, d time.Duration, github int) time.Duration {
	if c < 1 {
		c = 1
	}
	rounds := (n + c - 1) / c
	return time.Duration(2*rounds+floorCloneTrips+min(github, targetGitHubCalls)) * d
}

// WorkloadResult is one workload's credrotate runs and baseline run.
type WorkloadResult struct {
	Workload Workload
	// Credrotate is the median of Reps (medianRun); Reps are every run, in
	// the order they ran, absent from results written before runs were
	// repeated.
	Credrotate Run
	Reps       []Run `json:",omitempty"`
	Baseline   *Run
}

// runs are the workload's credrotate runs: Reps, or the one run of older
// results.
func (w WorkloadResult) runs() []Run {
	if len(w.Reps) > 0 {
		return w.Reps
	}
	return []Run{w.Credrotate}
}

// credrotateLoad is the load around every credrotate run of the workload.
func (w WorkloadResult) credrotateLoad() string {
	var loads []*Load
	for _, r := range w.runs() {
		loads = append(loads, r.Load)
	}
	return loadSpan(loads...)
}

// maxGitHubAPI is the most GitHub API calls any whole credrotate run of the
// workload made.
func (w WorkloadResult) maxGitHubAPI() int {
	n := w.Credrotate.GitHubAPI
	for _, r := range w.runs() {
		if !r.TimedOut {
			n = max(n, r.GitHubAPI)
		}
	}
	return n
}

// repsName says how many runs a credrotate figure is drawn from.
func (w WorkloadResult) repsName() string {
	if n := len(w.runs()); n > 1 {
		return fmt.Sprintf("median of %d", n)
	}
	return "one run"
}

// wallsList lists the wall time and load of each credrotate run.
func (w WorkloadResult) wallsList() string {
	var walls []time.Duration
	var loads []*Load
	for _, r := range w.runs() {
		walls = append(walls, r.Wall)
		loads = append(loads, r.Load)
	}
	return wallsOf(walls, loads)
}

// wallsOf lists the runs' wall times in seconds, each with its load.
func wallsOf(walls []time.Duration, loads []*Load) string {
	var parts []string
	for i, w := range walls {
		s := fmt.Sprintf("%.2f", w.Seconds())
		if i < len(loads) && loads[i] != nil {
			s += " (" + loads[i].String() + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// Floor is the workload's floor for credrotate's run. A run stopped before
// its end made fewer GitHub calls than a whole run: its floor counts the
// whole budget of them.
func (w WorkloadResult) Floor() time.Duration {
	github := w.Credrotate.GitHubAPI
	if w.Credrotate.TimedOut {
		github = targetGitHubCalls
	}
	return Floor(w.Workload.Keys, w.Credrotate.Concurrency, w.Workload.Latency, github)
}

// Noop is a no-op cron run against a shallow clone of its repository.
type Noop struct {
	Keys    int
	Latency time.Duration
	Clone   time.Duration
	Clones  []time.Duration
	Run     Run
	Walls   []time.Duration
	// CloneLoads and RunLoads are the load around each clone and each run,
	// in the order of Clones and Walls (the order they ran).
	CloneLoads []*Load `json:",omitempty"`
	RunLoads   []*Load `json:",omitempty"`
}

// Ratio is the no-op run's wall time over the clone's.
func (n Noop) Ratio() float64 { return ratio(n.Run.Wall, n.Clone) }

// Machine is where the benchmark ran.
type Machine struct {
	CPUs      int
	CPUModel  string
	Memory    string
	Kernel    string
	GoVersion string
	Git       string
	LoadStart string
	LoadEnd   string
	// RSSFloor is the peak RSS the measuring wrapper reports for `true`.
	RSSFloor     int64
	RSSFloorLoad *Load `json:",omitempty"`
}

// Report is the whole benchmark.
type Report struct {
	Machine Machine
	// Reps is how many times each credrotate workload was to be measured
	// (-reps); 0 in results written before runs were repeated.
	Reps      int `json:",omitempty"`
	Commit    string
	Binary    string
	Started   time.Time
	Finished  time.Time
	Workloads []WorkloadResult
	Noops     []Noop
}

// AllVerified reports whether every run did the whole job.
func (r *Report) AllVerified() bool {
	for _, w := range r.Workloads {
		if w.Credrotate.Problem != "" || (w.Baseline != nil && w.Baseline.Problem != "") {
			return false
		}
	}
	for _, n := range r.Noops {
		if n.Run.Problem != "" {
			return false
		}
	}
	return true
}

func (r *Report) find(keys int, d time.Duration) *WorkloadResult {
	for i := range r.Workloads {
		if r.Workloads[i].Workload.Keys == keys && r.Workloads[i].Workload.Latency == d {
			return &r.Workloads[i]
		}
	}
	return nil
}

// TargetResult is one target's verdict.
type TargetResult struct {
	Target, Measured, Verdict string
}

const (
	verdictMet     = "met"
	verdictMissed  = "**missed**"
	verdictUnknown = "not measured"
)

func verdict(ok bool) string {
	if ok {
		return verdictMet
	}
	return verdictMissed
}

// Targets judges the measurements against issue 8's targets.
func (r *Report) Targets() []TargetResult {
	const d50 = 50 * time.Millisecond
	var out []TargetResult

	t := TargetResult{Target: fmt.Sprintf("100 keys x 3 envs at 50ms: at least %.0fx faster than the baseline", targetSpeedup), Verdict: verdictUnknown, Measured: "—"}
	if w := r.find(100, d50); w != nil && w.Baseline != nil && w.Credrotate.Problem == "" && w.Baseline.Problem == "" {
		x := ratio(w.Baseline.Wall, w.Credrotate.Wall)
		t.Measured = fmt.Sprintf("%.1fx (baseline %s, one run, %s; credrotate %s, %s, %s)", x, secs(w.Baseline.Wall), loadSpan(w.Baseline.Load), secs(w.Credrotate.Wall), w.repsName(), w.credrotateLoad())
		t.Verdict = verdict(x >= targetSpeedup)
	}
	out = append(out, t)

	t = TargetResult{Target: "1 key x 3 envs at 50ms: no slower than the baseline", Verdict: verdictUnknown, Measured: "—"}
	if w := r.find(1, d50); w != nil && w.Baseline != nil && w.Credrotate.Problem == "" && w.Baseline.Problem == "" {
		t.Measured = fmt.Sprintf("%.2fx the baseline's time (credrotate %s, %s, %s; baseline %s, one run, %s)", ratio(w.Credrotate.Wall, w.Baseline.Wall), secs(w.Credrotate.Wall), w.repsName(), w.credrotateLoad(), secs(w.Baseline.Wall), loadSpan(w.Baseline.Load))
		t.Verdict = verdict(w.Credrotate.Wall <= w.Baseline.Wall)
	}
	out = append(out, t)

	t = TargetResult{Target: fmt.Sprintf("1,000 keys x 3 envs at 50ms: within %.2fx of the floor", targetFloorRatio), Verdict: verdictUnknown, Measured: "—"}
	if w := r.find(1000, d50); w != nil && w.Credrotate.Problem == "" {
		x := ratio(w.Credrotate.Wall, w.Floor())
		t.Measured = fmt.Sprintf("%.2fx (credrotate %s, %s, %s; floor %s)", x, secs(w.Credrotate.Wall), w.repsName(), w.credrotateLoad(), secs(w.Floor()))
		t.Verdict = verdict(x <= targetFloorRatio)
	} else if w != nil && w.Credrotate.TimedOut {
		t.Measured = fmt.Sprintf("more than %.0fx: not finished after %s, %s (floor %s)", ratio(w.Credrotate.Wall, w.Floor()), secs(w.Credrotate.Wall), loadSpan(w.Credrotate.Load), secs(w.Floor()))
		t.Verdict = verdictMissed
	}
	out = append(out, t)

	t = TargetResult{Target: fmt.Sprintf("GitHub API calls per run: at most %d, not growing with N", targetGitHubCalls), Verdict: verdictUnknown, Measured: "—"}
	if len(r.Workloads) > 0 {
		// Only whole runs count: a stopped run has not made its last calls.
		byN := map[int]int{}
		ok := true
		var unfinished []string
		for _, w := range r.Workloads {
			if w.Credrotate.TimedOut {
				unfinished = append(unfinished, fmt.Sprintf("N=%d at %s", w.Workload.Keys, latencyName(w.Workload.Latency)))
				continue
			}
			byN[w.Workload.Keys] = max(byN[w.Workload.Keys], w.maxGitHubAPI())
			if w.maxGitHubAPI() > targetGitHubCalls {
				ok = false
			}
		}
		var ns []int
		for n := range byN {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		var parts []string
		for _, n := range ns {
			parts = append(parts, fmt.Sprintf("%d at N=%d", byN[n], n))
		}
		if len(ns) > 1 && byN[ns[len(ns)-1]] > byN[ns[0]] {
			ok = false
		}
		t.Measured = strings.Join(parts, ", ")
		t.Verdict = verdict(ok)
		if len(unfinished) > 0 {
			note := "not known for the stopped runs (" + strings.Join(unfinished, ", ") + ")"
			switch {
			case len(byN) == 0:
				t.Measured, t.Verdict = note, verdictUnknown
			case ok:
				t.Measured, t.Verdict = t.Measured+"; "+note, "met where measured"
			default:
				t.Measured += "; " + note
			}
		}
	}
	out = append(out, t)

	t = TargetResult{Target: "peak RSS at 1,000 keys under 100 MiB", Verdict: verdictUnknown, Measured: "—"}
	// A stopped run's peak is a lower bound: it counts only when it is
	// already over the target.
	var rss, partial int64
	var rssLoad []*Load
	for _, w := range r.Workloads {
		switch c := w.Credrotate; {
		case w.Workload.Keys != 1000:
		case c.Problem == "":
			rss = max(rss, c.MaxRSS)
			for _, r := range w.runs() {
				rssLoad = append(rssLoad, r.Load)
			}
		case c.TimedOut:
			partial = max(partial, c.MaxRSS)
		}
	}
	switch {
	case partial >= targetRSS && partial > rss:
		t.Measured = "at least " + mib(partial) + " (a run stopped at its time budget)"
		t.Verdict = verdictMissed
	case rss > 0:
		t.Measured = mib(rss) + " (the largest of the runs, " + loadSpan(rssLoad...) + ")"
		t.Verdict = verdict(rss < targetRSS)
	}
	out = append(out, t)

	for _, n := range r.Noops {
		t = TargetResult{Target: fmt.Sprintf("no-op cron run on a %s-key repository at %s: under %.0fx a shallow clone", thousands(n.Keys), latencyName(n.Latency), targetNoopRatio), Verdict: verdictUnknown, Measured: "—"}
		if n.Run.Problem == "" && n.Keys >= 1000 {
			t.Measured = fmt.Sprintf("%.1fx (no-op run %s, %s; clone %s, %s; medians of %d)", n.Ratio(), secs(n.Run.Wall), loadSpan(n.RunLoads...), secs(n.Clone), loadSpan(n.CloneLoads...), max(1, len(n.Walls)))
			t.Verdict = verdict(n.Ratio() < targetNoopRatio)
		} else if n.Run.Problem != "" {
			t.Measured = "run failed: " + n.Run.Problem
		} else {
			t.Measured = fmt.Sprintf("%.1fx on %d keys; the target is for 1,000 keys", n.Ratio(), n.Keys)
		}
		out = append(out, t)
	}
	return out
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (test/bench) — do not edit by hand. credrotate renews every provider key of a\n")
	p("[demo world](../internal/sandbox/demo) on loopback (the Equifax emulator, a bare GitOps repository with SealedSecrets for\n")
	p("prod, staging and uat, and localhub serving GitHub's API and git smart HTTP over it), with every key inside\n")
	p("its renewal window and a latency D added to every Equifax, GitHub API and git HTTP call. The binary runs as a\n")
	p("child process (`bin/credrotate renew --cron-mode`); its peak RSS is the child's `ru_maxrss`. The baseline\n")
	p("is [test/bench/baseline.sh](../test/bench/baseline.sh): what a team scripts by hand, one key at a time —\n")
	p("curl a token and the renew, `kubeseal --cert <env>.crt --scope strict` per environment, commit, push a\n")
	p("branch, open a pull request with curl — run by the same harness, on the same machine, against a fresh world\n")
	p("of the same shape.\n\n")
	p("Every run is proved, so a fast broken run cannot look good: credrotate's run must exit 0, call renew once\n")
	p("per key, open pull requests (one, by design) that get merged, and leave main with every manifest decrypting with its own\n")
	p("environment's key (and no other) to the new secret, which Equifax accepts (`demo.World.Rollout` and `Prove`).\n")
	p("The baseline's run must open one pull request per key whose branch holds, for every environment, a manifest\n")
	p("that decrypts to the new secret.\n\n")

	p("## Machine\n\n")
	m := r.Machine
	p("| | |\n|---|---|\n")
	p("| date | %s to %s (UTC) |\n", r.Started.Format("2006-01-02 15:04"), r.Finished.Format("15:04"))
	p("| CPUs (nproc) | %d |\n| CPU model | %s |\n| memory | %s |\n| kernel | %s |\n| Go | %s |\n| git | %s |\n", m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.GoVersion, m.Git)
	p("| credrotate | %s |\n", r.Commit)
	p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.LoadStart, m.LoadEnd)
	p("| RSS measurement floor | %s (what the measuring wrapper reports for `true`; see test/bench/measure; %s) |\n\n", mib(m.RSSFloor), loadSpan(m.RSSFloorLoad))
	if r.Reps > 1 {
		p("The machine is shared with other work and noisy, so each credrotate workload is run %d times, each run in a\n", r.Reps)
		p("fresh world of the same shape, and every run proved. Its figures are the median run's (by wall time; of an\n")
		p("even number, the slower of the two middle runs), except peak RSS, which is the largest of the runs; a run\n")
		p("that fails its proof or is stopped at its budget ends the repetition and is the figure. The baseline is one run\n")
		p("(it takes minutes from 100 keys on). The no-op run and the clone are medians of several runs.\n")
	} else {
		p("The machine is shared with other work and noisy: the figures are one run each (the no-op figures the\n")
		p("median of several).\n")
	}
	p("Beside each figure is the 1-minute load average read just before and just after its run (before–after; over\n")
	p("several runs, the lowest to the highest). Differences of a few tens of percent between runs are normal. At D = 0\n")
	p("everything is CPU on this machine, including the servers, which run in the harness's process.\n\n")

	p("## Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range r.Targets() {
		p("| %s | %s | %s |\n", t.Target, t.Measured, t.Verdict)
	}
	p("\n")

	p("## Summary\n\n")
	p("| workload | credrotate | credrotate runs (s, load) | baseline | baseline / credrotate | floor | credrotate / floor | GitHub API calls | peak RSS |\n")
	p("|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, w := range r.Workloads {
		bl, x := "—", "—"
		if w.Baseline != nil {
			bl = secs(w.Baseline.Wall)
			if w.Baseline.Extrapolated {
				bl += "*"
			}
			bl += " (" + loadSpan(w.Baseline.Load) + ")"
			x = fmt.Sprintf("%.1fx", ratio(w.Baseline.Wall, w.Credrotate.Wall))
		}
		cw, fr := secs(w.Credrotate.Wall), floorRatio(w.Credrotate.Wall, w.Floor())
		switch {
		case w.Credrotate.TimedOut:
			cw = "> " + cw + " (stopped)"
			if w.Floor() > 0 {
				fr = "> " + fr
			}
			if w.Baseline != nil {
				x = "< " + x
			}
		case w.Credrotate.Problem != "":
			cw += " (FAILED)"
		}
		cw += " (" + w.repsName() + ", " + w.credrotateLoad() + ")"
		gh, rss := fmt.Sprint(w.Credrotate.GitHubAPI), mib(w.Credrotate.MaxRSS)
		if w.Credrotate.TimedOut {
			gh, rss = gh+" (so far)", "≥ "+rss
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w.Workload, cw, w.wallsList(), bl, x, secs(w.Floor()), fr, gh, rss)
	}
	p("\n\\* extrapolated from a measured subset of the keys; see the workload's table.\n\n")

	p("## Workloads\n\n")
	p("The floor is the least time the network allows at latency D and the configured concurrency c\n")
	p("(`rotation.concurrency`, %d in these runs): every round trip costs D and local work is free:\n\n", r.concurrency())
	p("    floor = ( 2·⌈N/c⌉    preflight: a token and a describe per key, c keys at a time\n")
	p("            + 2·⌈N/c⌉    renew and verify: the renew, then a token with the new secret\n")
	p("            + %d + %d        git: a shallow clone and a push, each a ref advertisement and a pack\n", floorCloneTrips, floorPushTrips)
	p("            + min(G, %d)   GitHub: the run's API calls, at most the %d the target allows ) · D\n\n", targetGitHubCalls, targetGitHubCalls)
	p("so GitHub calls beyond the budget, extra git round trips and anything done one key at a time count against\n")
	p("credrotate. At D = 0 the floor is 0 and the ratio is not given.\n\n")
	for _, w := range r.Workloads {
		r.workloadTable(&b, w)
	}

	p("## No-op cron run\n\n")
	p("A repository where no key is due (every secret has 120 days left): `credrotate renew --cron-mode` against\n")
	p("`git clone --depth 1 --single-branch` of the same repository over the same localhub, each run %d times;\n", max(1, len(r.firstNoopWalls())))
	p("medians. The no-op floor is 2·⌈N/c⌉ + %d + min(G, %d) round trips (the preflight, the clone, GitHub).\n\n", floorCloneTrips, targetGitHubCalls)
	p("| repository | latency | shallow clone | no-op run | no-op / clone | no-op floor | provider calls | GitHub API calls | git requests | peak RSS | clones (s, load) | runs (s, load) |\n")
	p("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|\n")
	for _, n := range r.Noops {
		status := ""
		if n.Run.Problem != "" {
			status = " (FAILED: " + n.Run.Problem + ")"
		}
		p("| %s keys x 3 envs | %s | %s (%s) | %s%s (%s) | %.1fx | %s | %s | %d | %d | %s | %s | %s |\n", thousands(n.Keys), latencyName(n.Latency), secs(n.Clone), loadSpan(n.CloneLoads...), secs(n.Run.Wall), status, loadSpan(n.RunLoads...), n.Ratio(),
			secs(NoopFloor(n.Keys, n.Run.Concurrency, n.Latency, n.Run.GitHubAPI)), n.Run.ProviderDetail(), n.Run.GitHubAPI, n.Run.GitRequests, mib(n.Run.MaxRSS), wallsOf(n.Clones, n.CloneLoads), wallsOf(n.Walls, n.RunLoads))
	}
	p("\n")

	p("## GitHub API calls of credrotate's runs, by route\n\n")
	r.routesTable(&b)

	p("## Reproduce\n\n")
	p("```sh\nmake bench\n# which is:\nmake build   # bin/credrotate\n")
	p("go run ./test/bench -bin bin/credrotate -keys 1,10,100,1000 -latency 0,50ms -reps 3 -run-budget 5m -out docs/benchmarks.md\n```\n\n")
	p("It takes 30 to 60 minutes on a 2-core machine, most of it the baseline and the 1,000-key worlds. It exits non-zero, after writing\n")
	p("the report, when a run failed its proof or was stopped at `-run-budget`.\n")
	p("\nFlags: `-baseline=false` skips the baseline; `-baseline-max-keys` (100) and `-baseline-sample` (100) set\n")
	p("when the baseline renews a sample of the keys and is extrapolated (clone time once, the rest linearly);\n")
	p("`-baseline-budget` stops a baseline run and extrapolates from the keys it finished; `-run-budget` stops a\n")
	p("credrotate run (its time and RSS are then lower bounds); `-json FILE` keeps the raw results and\n")
	p("`-render FILE` rewrites the report from them without measuring; `-reps` (3) runs each credrotate workload\n")
	p("that many times, each in a fresh world; `-noop-keys` and\n")
	p("`-noop-reps` shape the no-op comparison; `-workdir DIR -keep` keeps every world, the runs' logs\n")
	p("(`renew.log`, `baseline.log`) and the repositories. kubeseal is built from the module pinned in go.mod.\n")
	return b.String()
}

func (r *Report) firstNoopWalls() []time.Duration {
	if len(r.Noops) == 0 {
		return nil
	}
	return r.Noops[0].Walls
}

func (r *Report) concurrency() int {
	for _, w := range r.Workloads {
		if w.Credrotate.Concurrency > 0 {
			return w.Credrotate.Concurrency
		}
	}
	return 8
}

func (r *Report) workloadTable(b *strings.Builder, w WorkloadResult) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	c := w.Credrotate
	p("### %s\n\n", w.Workload)
	bl := w.Baseline
	col := func(f func(Run) string) string {
		if bl == nil {
			return "not run"
		}
		return f(*bl)
	}
	p("| | credrotate | baseline |\n|---|---:|---:|\n")
	blWall := col(func(r Run) string {
		if r.Extrapolated {
			return fmt.Sprintf("%s (extrapolated: %d of %d keys measured in %s)", secs(r.Wall), r.Done, r.Keys, secs(r.Measured.Wall))
		}
		return secs(r.Wall)
	})
	cw := secs(c.Wall)
	if c.TimedOut {
		cw = "more than " + cw + " (stopped at the budget)"
	}
	cw += " (" + w.repsName() + ", " + w.credrotateLoad() + ")"
	blWall = col(func(r Run) string { return blWall + " (one run, " + loadSpan(r.Load) + ")" })
	p("| wall time | %s | %s |\n", cw, blWall)
	for i, r := range w.runs() {
		bi := ""
		if i == 0 {
			bi = col(func(r Run) string {
				return fmt.Sprintf("%s, %d GitHub calls, %s, %s", secs(r.Wall), r.GitHubAPI, mib(r.MaxRSS), loadSpan(r.Load))
			})
		}
		p("| run %d | %s, %d GitHub calls, %s, %s | %s |\n", i+1, secs(r.Wall), r.GitHubAPI, mib(r.MaxRSS), loadSpan(r.Load), bi)
	}
	if bl != nil {
		p("| baseline / credrotate | | %.1fx |\n", ratio(bl.Wall, c.Wall))
	}
	p("| floor | %s | |\n", secs(w.Floor()))
	p("| credrotate / floor | %s | |\n", floorRatio(c.Wall, w.Floor()))
	p("| CPU (user + system) | %s | %s |\n", secs(c.CPU), col(func(r Run) string { return secs(r.CPU) }))
	p("| provider calls | %s | %s |\n", c.ProviderDetail(), col(func(r Run) string { return r.ProviderDetail() }))
	p("| GitHub API calls | %d | %s |\n", c.GitHubAPI, col(func(r Run) string { return fmt.Sprint(r.GitHubAPI) }))
	p("| git HTTP requests | %d | %s |\n", c.GitRequests, col(func(r Run) string { return fmt.Sprint(r.GitRequests) }))
	p("| git pushes | %d | %s |\n", c.GitPushes, col(func(r Run) string { return fmt.Sprint(r.GitPushes) }))
	p("| bytes pushed | %s | %s |\n", kib(c.BytesPushed), col(func(r Run) string { return kib(r.BytesPushed) }))
	p("| pull requests | %d | %s |\n", c.PullRequests, col(func(r Run) string { return fmt.Sprint(r.PullRequests) }))
	p("| peak RSS | %s (the largest run) | %s |\n", mib(c.MaxRSS), col(func(r Run) string { return mib(r.MaxRSS) + " (largest process)" }))
	p("| proof | %s | %s |\n\n", proof(c), col(proof))
}

func proof(r Run) string {
	if r.Problem != "" {
		return "**FAILED: " + r.Problem + "**"
	}
	if r.Extrapolated {
		return fmt.Sprintf("ok for the %d keys run", r.Done)
	}
	return "ok"
}

func (r *Report) routesTable(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	routes := map[string]bool{}
	for _, w := range r.Workloads {
		for k := range w.Credrotate.GitHubRoutes {
			routes[k] = true
		}
	}
	var names []string
	for k := range routes {
		names = append(names, k)
	}
	sort.Strings(names)
	p("| route |")
	for _, w := range r.Workloads {
		p(" N=%d, %s |", w.Workload.Keys, latencyName(w.Workload.Latency))
	}
	p("\n|---|")
	for range r.Workloads {
		p("---:|")
	}
	p("\n")
	for _, name := range names {
		p("| `%s` |", name)
		for _, w := range r.Workloads {
			p(" %d |", w.Credrotate.GitHubRoutes[name])
		}
		p("\n")
	}
	p("| **total** |")
	for _, w := range r.Workloads {
		p(" **%d** |", w.Credrotate.GitHubAPI)
	}
	p("\n\n")
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func floorRatio(wall, floor time.Duration) string {
	if floor <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", ratio(wall, floor))
}

func secs(d time.Duration) string {
	switch {
	case d >= 100*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(n int64) string {
	if n <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func kib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}

func thousands(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%d,000", n/1000)
	}
	return fmt.Sprint(n)
}

// describeMachine reads what the report says about the machine.
func describeMachine(ctx context.Context) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:")), "%d", &kb); err == nil {
					m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "git", "--version").Output(); err == nil {
		m.Git = strings.TrimSpace(string(out))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], ", ")
}

// gitDescribe names the commit the binary was built from, as far as the
// working tree tells.
func gitDescribe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
