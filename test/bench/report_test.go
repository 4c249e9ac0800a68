package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFloor(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name      string
		n, c      int
		d         time.Duration
		github    int
		want      time.Duration
		wantNoop  time.Duration
		wantTrips int
	}{
		{"no latency", 1000, 8, 0, 9, 0, 0, 0},
		// 1 round each phase: 4 + 4 git + 9 GitHub = 17 trips.
		{"one key", 1, 8, 50 * ms, 9, 17 * 50 * ms, (2 + 2 + 9) * 50 * ms, 17},
		// ceil(1000/8) = 125 rounds: 500 + 4 + 12 (capped) = 516 trips.
		{"GitHub calls beyond the budget are not in the floor", 1000, 8, 50 * ms, 1010, 516 * 50 * ms, (250 + 2 + 12) * 50 * ms, 516},
		{"a partial round counts", 9, 8, 10 * ms, 5, (8 + 4 + 5) * 10 * ms, (4 + 2 + 5) * 10 * ms, 17},
		{"concurrency below one is one", 3, 0, ms, 0, (12 + 4) * ms, (6 + 2) * ms, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Floor(tc.n, tc.c, tc.d, tc.github); got != tc.want {
				t.Errorf("Floor = %s, want %s", got, tc.want)
			}
			if got := NoopFloor(tc.n, tc.c, tc.d, tc.github); got != tc.wantNoop {
				t.Errorf("NoopFloor = %s, want %s", got, tc.wantNoop)
			}
		})
	}
}

func TestExtrapolate(t *testing.T) {
	r := Run{
		Keys: 1000, Done: 100, Wall: 101 * time.Second, Clone: time.Second, CPU: 10 * time.Second,
		Provider: map[string]int{"token": 100, "renew": 100}, GitHubAPI: 100, GitRequests: 2 + 400,
		GitPushes: 100, BytesPushed: 1000, PullRequests: 100,
	}
	r.Extrapolate(1000)
	if !r.Extrapolated || r.Measured == nil || r.Measured.Wall != 101*time.Second {
		t.Fatalf("not marked as extrapolated, or the measurement is lost: %+v", r)
	}
	if r.Wall != 1001*time.Second {
		t.Errorf("wall = %s, want the clone once and 10x the rest: 1001s", r.Wall)
	}
	if r.Provider["renew"] != 1000 || r.GitHubAPI != 1000 || r.GitPushes != 1000 || r.PullRequests != 1000 || r.BytesPushed != 10000 || r.GitRequests != 4002 {
		t.Errorf("counts not scaled: %+v", r)
	}

	full := Run{Keys: 10, Done: 10, Wall: time.Second}
	full.Extrapolate(10)
	if full.Extrapolated || full.Wall != time.Second {
		t.Errorf("a complete run was extrapolated: %+v", full)
	}
}

func TestParseBaseline(t *testing.T) {
	cases := []struct {
		name  string
		out   string
		clone time.Duration
		done  int
		last  time.Duration
	}{
		{"complete", "clone_ms=120\nkey_done=1 ms=900\nkey_done=2 ms=1700\ndone=2\n", 120 * time.Millisecond, 2, 1700 * time.Millisecond},
		{"stopped after the clone", "clone_ms=80\n", 80 * time.Millisecond, 0, 0},
		{"noise is ignored", "warning: x=y\nclone_ms=abc\nkey_done=3 ms=30\n", 0, 3, 30 * time.Millisecond},
		{"nothing", "", 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clone, done, last := parseBaseline(tc.out)
			if clone != tc.clone || done != tc.done || last != tc.last {
				t.Errorf("parseBaseline = %s, %d, %s; want %s, %d, %s", clone, done, last, tc.clone, tc.done, tc.last)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	ms := time.Millisecond
	good := func(n int, d, wall time.Duration, github int, rss int64) WorkloadResult {
		return WorkloadResult{
			Workload:   Workload{Keys: n, Latency: d},
			Credrotate: Run{Keys: n, Concurrency: 8, Wall: wall, GitHubAPI: github, MaxRSS: rss, Verified: "ok"},
		}
	}
	baseline := func(wall time.Duration) *Run { return &Run{Wall: wall, Verified: "ok"} }

	met := &Report{Workloads: []WorkloadResult{
		good(1, 50*ms, time.Second, 9, 40<<20),
		good(100, 50*ms, 3*time.Second, 9, 50<<20),
		good(1000, 50*ms, 30*time.Second, 9, 90<<20), // floor: 513 trips = 25.65s
	}, Noops: []Noop{{Keys: 1000, Latency: 0, Clone: time.Second, Run: Run{Wall: 1500 * ms, Verified: "ok"}}}}
	met.Workloads[0].Baseline = baseline(1200 * ms)
	met.Workloads[1].Baseline = baseline(61 * time.Second)

	missed := &Report{Workloads: []WorkloadResult{
		good(1, 50*ms, time.Second, 11, 40<<20),
		good(100, 50*ms, 3*time.Second, 110, 50<<20),
		good(1000, 50*ms, 40*time.Second, 1010, 120<<20),
	}, Noops: []Noop{{Keys: 1000, Latency: 0, Clone: time.Second, Run: Run{Wall: 3 * time.Second, Verified: "ok"}}}}
	missed.Workloads[0].Baseline = baseline(900 * ms) // one key: slower than the script
	missed.Workloads[1].Baseline = baseline(59 * time.Second)

	failed := &Report{Workloads: []WorkloadResult{good(100, 50*ms, time.Second, 9, 1)}}
	failed.Workloads[0].Credrotate.Problem = "exit code 1"
	failed.Workloads[0].Baseline = baseline(100 * time.Second)

	// A run stopped at its budget misses the floor and, when its peak is
	// already over, the RSS target; under it, RSS is not known.
	stopped := &Report{Workloads: []WorkloadResult{good(1000, 50*ms, 10*time.Minute, 9, 110<<20)}}
	stopped.Workloads[0].Credrotate.TimedOut = true
	stopped.Workloads[0].Credrotate.Problem = "did not finish"
	stoppedLow := &Report{Workloads: []WorkloadResult{good(1000, 50*ms, 10*time.Minute, 9, 60<<20)}}
	stoppedLow.Workloads[0].Credrotate.TimedOut = true
	stoppedLow.Workloads[0].Credrotate.Problem = "did not finish"

	cases := []struct {
		name string
		rep  *Report
		want []string
	}{
		{"stopped run", stopped, []string{verdictUnknown, verdictUnknown, verdictMissed, verdictUnknown, verdictMissed}},
		{"stopped run under the RSS target", stoppedLow, []string{verdictUnknown, verdictUnknown, verdictMissed, verdictUnknown, verdictUnknown}},
		{"met", met, []string{verdictMet, verdictMet, verdictMet, verdictMet, verdictMet, verdictMet}},
		{"missed", missed, []string{verdictMissed, verdictMissed, verdictMissed, verdictMissed, verdictMissed, verdictMissed}},
		// A run that failed its proof measures nothing, however fast.
		{"failed run", failed, []string{verdictUnknown, verdictUnknown, verdictUnknown, verdictMet, verdictUnknown}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rep.Targets()
			if len(got) != len(tc.want) {
				t.Fatalf("%d targets, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, tr := range got {
				if tr.Verdict != tc.want[i] {
					t.Errorf("%s: %s (%s), want %s", tr.Target, tr.Verdict, tr.Measured, tc.want[i])
				}
			}
			md := tc.rep.Markdown()
			for _, s := range []string{"## Machine", "## Targets", "## Summary", "## Reproduce", "make bench"} {
				if !strings.Contains(md, s) {
					t.Errorf("the report lacks %q", s)
				}
			}
		})
	}
	if failed.AllVerified() || !met.AllVerified() {
		t.Error("AllVerified does not follow the runs' problems")
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"lists", []string{"-keys", "1, 5", "-latency", "0,10ms"}, true},
		{"bad key count", []string{"-keys", "0"}, false},
		{"bad latency", []string{"-latency", "fast"}, false},
		{"negative latency", []string{"-latency", "-1s"}, false},
		{"bad sample", []string{"-baseline-sample", "0"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && o.noopKeys == 0 {
				t.Error("the no-op run's key count is not set")
			}
		})
	}
}

// TestWriteReportKeepsTheHandKeptPart: writing the report again keeps what
// follows KeptMarker and replaces everything before it.
func TestWriteReportKeepsTheHandKeptPart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	kept := KeptMarker + "\n\n## Inventory\n\nmeasured by go test\n"
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nold figures\n\n"+kept), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, "# Benchmarks\n\nnew figures\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "# Benchmarks\n\nnew figures\n\n"+kept {
		t.Fatalf("wrote:\n%s", got)
	}
	fresh := filepath.Join(t.TempDir(), "new.md")
	if err := writeReport(fresh, "# B\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(fresh); string(got) != "# B\n" {
		t.Fatalf("a new file holds %q", got)
	}
}

func TestMedianRun(t *testing.T) {
	s := time.Second
	run := func(wall time.Duration, rss int64, github int) Run {
		return Run{Wall: wall, MaxRSS: rss, GitHubAPI: github, Verified: "ok", Load: &Load{Before: 1, After: 2}}
	}
	cases := []struct {
		name     string
		reps     []Run
		wantWall time.Duration
		wantGH   int
		wantRSS  int64
	}{
		{"one", []Run{run(4*s, 10, 9)}, 4 * s, 9, 10},
		{"odd: the middle run, with the largest RSS", []Run{run(6*s, 30, 11), run(4*s, 10, 9), run(5*s, 20, 10)}, 5 * s, 10, 30},
		{"even: the slower of the two middle runs", []Run{run(4*s, 10, 9), run(7*s, 5, 12), run(5*s, 20, 10), run(6*s, 40, 11)}, 6 * s, 11, 40},
		{"two", []Run{run(5*s, 1, 1), run(4*s, 2, 2)}, 5 * s, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := medianRun(tc.reps)
			if got.Wall != tc.wantWall || got.GitHubAPI != tc.wantGH || got.MaxRSS != tc.wantRSS {
				t.Errorf("medianRun = wall %s, github %d, rss %d; want %s, %d, %d", got.Wall, got.GitHubAPI, got.MaxRSS, tc.wantWall, tc.wantGH, tc.wantRSS)
			}
		})
	}
	failed := []Run{run(4*s, 10, 9), {Wall: 3 * s, Problem: "exit code 1"}}
	if got := medianRun(failed); got.Problem == "" {
		t.Errorf("a failed run is hidden by the median: %+v", got)
	}
	if got := medianRun(nil); got.Wall != 0 {
		t.Errorf("medianRun(nil) = %+v", got)
	}
}

// repeatedReport is a report with three credrotate runs per workload and a
// load around every run.
func repeatedReport() *Report {
	ms := time.Millisecond
	rep := func(wall time.Duration, before, after float64) Run {
		return Run{Keys: 10, Concurrency: 8, Wall: wall, GitHubAPI: 11, MaxRSS: 40 << 20, Verified: "ok", Load: &Load{Before: before, After: after}}
	}
	reps := []Run{rep(4100*ms, 1.11, 1.22), rep(4600*ms, 1.33, 1.44), rep(4300*ms, 1.55, 1.66)}
	w := WorkloadResult{Workload: Workload{Keys: 10, Latency: 50 * ms}, Reps: reps, Credrotate: medianRun(reps),
		Baseline: &Run{Keys: 10, Done: 10, Wall: 6 * time.Second, Verified: "ok", Load: &Load{Before: 1.77, After: 1.88}}}
	return &Report{
		Reps: 3, Commit: "abc", Started: time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC), Finished: time.Date(2026, 12, 2, 19, 5, 0, 0, time.UTC),
		Machine:   Machine{CPUs: 2, RSSFloor: 2 << 20, RSSFloorLoad: &Load{Before: 0.5, After: 0.5}},
		Workloads: []WorkloadResult{w},
		Noops: []Noop{{Keys: 10, Latency: 50 * ms, Clone: time.Second, Clones: []time.Duration{time.Second}, CloneLoads: []*Load{{Before: 2.11, After: 2.22}},
			Run: Run{Wall: 2 * time.Second, Verified: "ok"}, Walls: []time.Duration{2 * time.Second}, RunLoads: []*Load{{Before: 2.33, After: 2.44}}}},
	}
}

func TestMarkdownShowsRepsAndLoads(t *testing.T) {
	md := repeatedReport().Markdown()
	for _, s := range []string{
		"4.30 s (median of 3, load 1.11–1.66)",                 // the median and the load over its runs
		"4.10 (1.11–1.22), 4.60 (1.33–1.44), 4.30 (1.55–1.66)", // every run, in order, with its load
		"| run 2 | 4.60 s, 11 GitHub calls, 40.0 MiB, load 1.33–1.44 |",
		"6.00 s (one run, load 1.77–1.88)", // the baseline
		"1.00 s (load 2.11–2.22)",          // the clone
		"2.00 s (load 2.33–2.44)",          // the no-op run
		"load 0.50–0.50",                   // the RSS floor
		"run 3 times, each run in a",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q", s)
		}
	}
	if strings.Contains(md, "one run each") {
		t.Error("the report says its figures are one run each")
	}
}

// TestJSONRoundTrip: -json then -render gives the report measured, reps and
// loads included.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := repeatedReport()
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.md")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-render", in, "-out", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.Markdown() {
		t.Errorf("rendered from JSON:\n%s\nwant:\n%s", got, want.Markdown())
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Reps != 3 || len(back.Workloads[0].Reps) != 3 || back.Workloads[0].Reps[1].Load == nil || *back.Workloads[0].Reps[1].Load != (Load{Before: 1.33, After: 1.44}) || len(back.Noops[0].RunLoads) != 1 {
		t.Errorf("the round trip lost reps or loads: %+v", back)
	}
}

// TestOldJSONRenders: results written before runs were repeated and loads
// recorded render as one run each, their loads "not recorded".
func TestOldJSONRenders(t *testing.T) {
	t.Parallel()
	const old = `{"Machine":{"CPUs":2,"LoadStart":"1.0, 1.0, 1.0","LoadEnd":"1.2, 1.0, 1.0","RSSFloor":2000000},
"Commit":"b7f3cba","Started":"2026-11-26T00:22:00Z","Finished":"2026-11-26T00:28:00Z",
"Workloads":[{"Workload":{"Keys":1,"Latency":50000000},"Credrotate":{"Keys":1,"Concurrency":8,"Wall":1280000000,"GitHubAPI":11,"MaxRSS":47000000,"Verified":"ok"},
"Baseline":{"Keys":1,"Done":1,"Wall":890000000,"Verified":"ok"}}],
"Noops":[{"Keys":1,"Latency":50000000,"Clone":1000000000,"Clones":[1000000000],"Run":{"Wall":2000000000,"Verified":"ok"},"Walls":[2000000000]}]}`
	var rep Report
	if err := json.Unmarshal([]byte(old), &rep); err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	for _, s := range []string{"one run each", "1.28 s (one run, load not recorded)", "0.89 s (one run, load not recorded)", "| run 1 | 1.28 s, 11 GitHub calls"} {
		if !strings.Contains(md, s) {
			t.Errorf("the report of old results lacks %q", s)
		}
	}
}
