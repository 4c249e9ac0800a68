// Command bench measures credrotate against the way a team would script the
// same job, and writes docs/benchmarks.md.
//
// For every workload (N provider keys x 3 environments, latency D added to
// every Equifax and GitHub call) it starts a demo world on loopback with
// every key inside its renewal window, runs the built binary
// (`credrotate renew --cron-mode`) as a child process, and records its wall
// time, peak RSS, the calls it made to Equifax and GitHub, and the git round
// trips, pushes and bytes it sent. Each run is then proved: one pull request
// opened and merged, every key renewed, every manifest on main decrypting
// with its own environment's key to the new secret. This is done -reps
// times, each in a fresh world, and the median run reported. The baseline
// (test/bench/baseline.sh: curl, kubeseal, git, one key at a time) runs
// once in a fresh world of the same shape and is proved the same way. Last,
// a no-op cron run on a repository of the largest N is timed against a
// shallow `git clone` of it. The 1-minute load average is read before and
// after every measured process and reported beside its figure.
//
//	go build -o bin/credrotate ./cmd/credrotate
//	go run ./test/bench -keys 1,10,100,1000 -latency 0,50ms -out docs/benchmarks.md
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	keys       []int
	latencies  []time.Duration
	out        string
	bin        string
	kubeseal   string
	workdir    string
	keep       bool
	baseline   bool
	baseMax    int
	baseSample int
	baseBudget time.Duration
	runBudget  time.Duration
	noopKeys   int
	noopReps   int
	reps       int
	script     string
	jsonOut    string
	render     string
	commit     string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	for _, p := range []*string{&o.bin, &o.script, &o.out} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if o.render != "" {
		raw, err := os.ReadFile(o.render)
		if err != nil {
			return err
		}
		var rep Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			return fmt.Errorf("reading %s: %w", o.render, err)
		}
		return writeReport(o.out, rep.Markdown())
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("the credrotate binary: %w (build it: go build -o bin/credrotate ./cmd/credrotate)", err)
	}
	if o.workdir == "" {
		if o.workdir, err = os.MkdirTemp("", "credrotate-bench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(o.workdir)
		}
	}
	b := &bench{opts: o, log: stdout}
	rep, err := b.all(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if o.jsonOut != "" {
		raw, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, raw, 0o644); err != nil {
			return err
		}
	}
	if err := writeReport(o.out, rep.Markdown()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	if !rep.AllVerified() {
		return errors.New("some runs did not do the whole job; see the report")
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keys := fs.String("keys", "1,10,100,1000", "numbers of provider keys, comma-separated")
	lat := fs.String("latency", "0,50ms", "latencies added to every Equifax and GitHub call, comma-separated")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "write the report here")
	fs.StringVar(&o.bin, "bin", "bin/credrotate", "the credrotate binary to measure")
	fs.StringVar(&o.kubeseal, "kubeseal", "", "the kubeseal binary for the baseline (default: built from the pinned module into the work folder)")
	fs.StringVar(&o.script, "baseline-script", "test/bench/baseline.sh", "the baseline script")
	fs.StringVar(&o.workdir, "workdir", "", "keep the worlds here (default: a temporary folder, removed afterwards)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work folder")
	fs.BoolVar(&o.baseline, "baseline", true, "run the baseline")
	fs.IntVar(&o.baseMax, "baseline-max-keys", 100, "run the baseline over every key up to this N; above it, over -baseline-sample keys, extrapolated")
	fs.IntVar(&o.baseSample, "baseline-sample", 100, "keys the baseline renews when N is above -baseline-max-keys")
	fs.DurationVar(&o.baseBudget, "baseline-budget", 20*time.Minute, "stop a baseline run after this long and extrapolate from the keys it finished")
	fs.DurationVar(&o.runBudget, "run-budget", 10*time.Minute, "stop a credrotate run after this long and record it as not finished")
	fs.IntVar(&o.noopKeys, "noop-keys", 0, "keys of the no-op run's repository (default: the largest -keys)")
	fs.IntVar(&o.reps, "reps", 3, "runs of credrotate per workload, each in a fresh world (the median is reported)")
	fs.IntVar(&o.noopReps, "noop-reps", 3, "repetitions of the no-op run and of the clone (the median is reported)")
	fs.StringVar(&o.commit, "commit", "", "the commit the binary was built from, for the report (default: git describe --always --dirty)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the raw results here, as JSON")
	fs.StringVar(&o.render, "render", "", "measure nothing: render the report from raw results written by -json")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.keys, err = parseInts(*keys); err != nil {
		return o, fmt.Errorf("-keys: %w", err)
	}
	if o.latencies, err = parseDurations(*lat); err != nil {
		return o, fmt.Errorf("-latency: %w", err)
	}
	if o.noopKeys == 0 {
		for _, n := range o.keys {
			o.noopKeys = max(o.noopKeys, n)
		}
	}
	if o.baseSample < 1 || o.baseMax < 1 || o.noopReps < 1 || o.reps < 1 {
		return o, errors.New("-baseline-sample, -baseline-max-keys, -noop-reps and -reps must be at least 1")
	}
	return o, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a duration", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// KeptMarker starts the part of the report that is measured elsewhere (by
// go test -bench) and that writing the report keeps.
const KeptMarker = "<!-- Not generated by make bench: kept when the report is written again. -->"

// writeReport writes md to path, keeping what the file held from
// KeptMarker on.
func writeReport(path, md string) error {
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), KeptMarker); i >= 0 {
			md = strings.TrimRight(md, "\n") + "\n\n" + string(old[i:])
		}
	}
	return os.WriteFile(path, []byte(md), 0o644)
}
