package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/config"
)

// bench runs the workloads.
type bench struct {
	opts options
	log  io.Writer
	seq  int
}

// all runs every workload, then the no-op runs, and returns the report.
func (b *bench) all(ctx context.Context) (*Report, error) {
	rep := &Report{Machine: describeMachine(ctx), Started: time.Now().UTC(), Binary: b.opts.bin}
	measureBin = filepath.Join(b.opts.workdir, "measure")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", measureBin, "github.com/credrotate/credrotate/test/bench/measure").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the measuring wrapper: %w\n%s", err, out)
	}
	rep.Machine.RSSFloor, rep.Machine.RSSFloorLoad = rssFloor(ctx, b.opts.workdir)
	rep.Reps = b.opts.reps
	rep.Commit = b.opts.commit
	if rep.Commit == "" {
		rep.Commit = gitDescribe(ctx)
	}
	if b.opts.baseline && b.opts.kubeseal == "" {
		ks := filepath.Join(b.opts.workdir, "kubeseal")
		b.logf("building kubeseal from the pinned module")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", ks, "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building kubeseal: %w\n%s", err, out)
		}
		b.opts.kubeseal = ks
	}
	for _, d := range b.opts.latencies {
		for _, n := range b.opts.keys {
			wl := Workload{Keys: n, Latency: d}
			res := WorkloadResult{Workload: wl}
			reps, err := b.credrotateReps(ctx, wl)
			if err != nil {
				return nil, err
			}
			res.Reps = reps
			res.Credrotate = medianRun(reps)
			if len(reps) > 1 {
				b.logf("  median: %s", res.Credrotate.Summary())
			}
			if b.opts.baseline {
				b.logf("baseline: %s", wl)
				bl, err := b.baseline(ctx, wl)
				if err != nil {
					return nil, err
				}
				res.Baseline = &bl
				b.logf("  %s", bl.Summary())
			}
			rep.Workloads = append(rep.Workloads, res)
		}
	}
	for _, d := range b.opts.latencies {
		b.logf("no-op: %d keys, %s", b.opts.noopKeys, latencyName(d))
		nr, err := b.noop(ctx, b.opts.noopKeys, d)
		if err != nil {
			return nil, err
		}
		b.logf("  clone %s, no-op run %s", nr.Clone.Round(time.Millisecond), nr.Run.Wall.Round(time.Millisecond))
		rep.Noops = append(rep.Noops, nr)
	}
	rep.Machine.LoadEnd = loadAvg()
	rep.Finished = time.Now().UTC()
	return rep, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// world starts a fresh demo world in its own folder.
func (b *bench) world(ctx context.Context, kind string, n int, d time.Duration, expiresIn time.Duration) (*demo.World, error) {
	b.seq++
	dir := filepath.Join(b.opts.workdir, fmt.Sprintf("%02d-%s-%dkeys-%s", b.seq, kind, n, latencyName(d)))
	opts := demo.Options{Dir: dir, Keys: n, Latency: d}
	if expiresIn > 0 {
		opts.ExpiresIn = expiresIn
	} else {
		opts.AllDue = true
	}
	w, err := demo.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("starting a %d-key world: %w", n, err)
	}
	return w, nil
}

// counters is what the world's servers counted.
type counters struct {
	provider map[emulator.Op]int
	hub      localhub.Counts
	prs      int
}

func snapshot(w *demo.World) counters {
	return counters{provider: w.Emulator.CallCounts(), hub: w.Hub.Calls(), prs: len(w.Hub.PullRequests())}
}

// since fills r's counts with what happened between before and now.
func (r *Run) since(w *demo.World, before counters) {
	now := snapshot(w)
	r.Provider = map[string]int{}
	for op, n := range now.provider {
		if d := n - before.provider[op]; d > 0 {
			r.Provider[string(op)] = d
		}
	}
	r.GitHubAPI = now.hub.APITotal - before.hub.APITotal
	r.GitHubRoutes = map[string]int{}
	for route, n := range now.hub.API {
		if d := n - before.hub.API[route]; d > 0 {
			r.GitHubRoutes[route] = d
		}
	}
	r.GitRequests = now.hub.GitRequests - before.hub.GitRequests
	r.GitPushes = now.hub.GitPushes - before.hub.GitPushes
	r.BytesPushed = now.hub.BytesPushed - before.hub.BytesPushed
	r.PullRequests = now.prs - before.prs
}

// child runs a command through the measuring wrapper (see envMeasure),
// timing it and reading its rusage. A non-zero exit is recorded in the run,
// not returned.
func child(ctx context.Context, r *Run, dir string, env []string, logName string, name string, args ...string) error {
	logf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return err
	}
	defer logf.Close()
	self := measureBin
	outFile := filepath.Join(dir, logName+".measured.json")
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, self, append([]string{name}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, envMeasure+"="+outFile)
	cmd.Stdout = io.MultiWriter(&stdout, logf)
	cmd.Stderr = logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	_ = os.Remove(outFile)
	before, okBefore := load1()
	err = cmd.Run()
	if after, okAfter := load1(); okBefore && okAfter {
		r.Load = &Load{Before: before, After: after}
	}
	r.Stdout = stdout.String()
	raw, rerr := os.ReadFile(outFile)
	if rerr != nil {
		if err != nil {
			return fmt.Errorf("running %s: %w", name, err)
		}
		return fmt.Errorf("running %s: the measuring wrapper wrote nothing: %w", name, rerr)
	}
	var m measured
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("running %s: %w", name, err)
	}
	r.Wall, r.CPU, r.MaxRSS, r.ExitCode = m.Wall, m.CPU, m.MaxRSS, m.ExitCode
	return nil
}

// envMeasure names the file the measuring wrapper (test/bench/measure)
// writes to; measureBin is the wrapper, built by bench.all.
const envMeasure = "CREDROTATE_BENCH_MEASURE"

var measureBin string

// measured is what the wrapper writes.
type measured struct {
	Wall     time.Duration `json:"wall"`
	CPU      time.Duration `json:"cpu"`
	MaxRSS   int64         `json:"maxRSS"`
	ExitCode int           `json:"exitCode"`
}

// rssFloor is the peak RSS the wrapper reports for a command that uses
// almost nothing: figures at or below it say only "no more than this".
func rssFloor(ctx context.Context, dir string) (int64, *Load) {
	var r Run
	if err := child(ctx, &r, dir, nil, "rss-floor.log", "true"); err != nil {
		return 0, nil
	}
	return r.MaxRSS, r.Load
}

// load1 reads the 1-minute load average.
func load1() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// credrotateReps measures the workload opts.reps times, each run in a fresh
// world of the same shape (a run renews every key, so a world serves one
// run). Repeating stops at a run that failed its proof or was stopped at the
// budget: that run is then the workload's figure (see medianRun).
func (b *bench) credrotateReps(ctx context.Context, wl Workload) ([]Run, error) {
	var reps []Run
	for i := 1; i <= b.opts.reps; i++ {
		b.logf("credrotate: %s, run %d of %d", wl, i, b.opts.reps)
		r, err := b.credrotate(ctx, wl)
		if err != nil {
			return nil, err
		}
		b.logf("  %s", r.Summary())
		reps = append(reps, r)
		if r.Problem != "" || r.TimedOut {
			break
		}
	}
	return reps, nil
}

// credrotate renews every key of a fresh world with the binary and proves
// the result.
func (b *bench) credrotate(ctx context.Context, wl Workload) (Run, error) {
	w, err := b.world(ctx, "credrotate", wl.Keys, wl.Latency, 0)
	if err != nil {
		return Run{}, err
	}
	defer w.Close()
	r := Run{Keys: wl.Keys, Concurrency: concurrencyOf(w.ConfigPath)}
	before := snapshot(w)
	rctx, cancel := context.WithTimeout(ctx, b.opts.runBudget)
	defer cancel()
	if err := child(rctx, &r, w.Dir, []string{demo.TokenEnv + "=" + demo.Token}, "renew.log", b.opts.bin, "renew", "--cron-mode", "--config", w.ConfigPath); err != nil {
		return r, err
	}
	r.since(w, before)
	if rctx.Err() != nil && ctx.Err() == nil {
		r.TimedOut = true
		r.Problem = fmt.Sprintf("did not finish within the %s budget; stopped (log: %s)", b.opts.runBudget, filepath.Join(w.Dir, "renew.log"))
		return r, nil
	}
	r.Verified, r.Problem = b.proveCredrotate(ctx, w, r)
	return r, nil
}

func (b *bench) proveCredrotate(ctx context.Context, w *demo.World, r Run) (string, string) {
	n := len(w.Keys)
	if r.ExitCode != 0 {
		return "", fmt.Sprintf("exit code %d (log: %s)", r.ExitCode, filepath.Join(w.Dir, "renew.log"))
	}
	if got := r.Provider[string(emulator.OpRenew)]; got != n {
		return "", fmt.Sprintf("%d renew calls for %d keys", got, n)
	}
	// One pull request per run is the design; more is measured (pull
	// requests, GitHub calls), not refused. Each must have been merged.
	prs := w.Hub.PullRequests()
	if r.PullRequests < 1 || r.PullRequests > len(prs) {
		return "", fmt.Sprintf("%d pull requests opened", r.PullRequests)
	}
	opened := prs[len(prs)-r.PullRequests:]
	for _, pr := range opened {
		if !pr.Merged {
			return "", fmt.Sprintf("pull request #%d was not merged", pr.Number)
		}
	}
	changed, err := w.Rollout(ctx)
	if err != nil {
		return "", "rollout: " + err.Error()
	}
	if len(changed) != n {
		return "", fmt.Sprintf("the rollout changed %d of %d deployed secrets", len(changed), n)
	}
	proofs, err := w.Prove(ctx)
	if err != nil {
		return "", "proof: " + err.Error()
	}
	if len(proofs) != n*len(demo.Environments) {
		return "", fmt.Sprintf("%d manifests proved, want %d", len(proofs), n*len(demo.Environments))
	}
	return fmt.Sprintf("%d pull request(s) merged; %d keys renewed; all %d manifests on main decrypt with their own environment's key (only) to the new secret, which Equifax accepts", len(opened), n, len(proofs)), ""
}

// baseline runs baseline.sh over a fresh world: over every key up to
// baseMax keys, else over the first baseSample keys, and extrapolates.
func (b *bench) baseline(ctx context.Context, wl Workload) (Run, error) {
	w, err := b.world(ctx, "baseline", wl.Keys, wl.Latency, 0)
	if err != nil {
		return Run{}, err
	}
	defer w.Close()
	keys := w.Keys
	if wl.Keys > b.opts.baseMax {
		keys = keys[:min(b.opts.baseSample, len(keys))]
	}
	var list strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&list, "%s %s %s %s\n", k.Key, k.ClientID, w.CurrentFile(k.Key), secretName(string(k.Key)))
	}
	keysFile := filepath.Join(w.Dir, "baseline-keys.txt")
	if err := os.WriteFile(keysFile, []byte(list.String()), 0o600); err != nil {
		return Run{}, err
	}
	scratch := filepath.Join(w.Dir, "baseline-work")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return Run{}, err
	}
	env := []string{
		"EMULATOR_URL=" + w.EmulatorURL, "HUB_URL=" + w.HubURL, "GIT_URL=" + w.GitURL, "GITHUB_TOKEN=" + demo.Token,
		"KEYS_FILE=" + keysFile, "CERT_DIR=" + filepath.Join(w.Dir, "keys"), "KUBESEAL=" + b.opts.kubeseal, "WORK=" + scratch,
		"ENVS=" + strings.Join(demo.Environments, " "),
		"GIT_TERMINAL_PROMPT=0",
	}
	r := Run{Keys: wl.Keys}
	before := snapshot(w)
	bctx, cancel := context.WithTimeout(ctx, b.opts.baseBudget)
	defer cancel()
	if err := child(bctx, &r, w.Dir, env, "baseline.log", "bash", b.opts.script); err != nil {
		return r, err
	}
	r.since(w, before)
	clone, done, last := parseBaseline(r.Stdout)
	r.Clone = clone
	r.Done = done
	switch {
	case done == 0:
		r.Problem = fmt.Sprintf("the baseline renewed no key (exit %d, log %s)", r.ExitCode, filepath.Join(w.Dir, "baseline.log"))
		return r, nil
	case done < len(keys):
		// Stopped by the budget: time what it finished.
		r.Wall = last
	case r.ExitCode != 0:
		r.Problem = fmt.Sprintf("exit code %d (log %s)", r.ExitCode, filepath.Join(w.Dir, "baseline.log"))
		return r, nil
	}
	// Prove what was measured, then scale it.
	r.Verified, r.Problem = b.proveBaseline(ctx, w, keys[:done], r)
	r.Extrapolate(wl.Keys)
	return r, nil
}

// parseBaseline reads the script's progress lines.
func parseBaseline(out string) (clone time.Duration, done int, last time.Duration) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "clone_ms":
				clone = time.Duration(n) * time.Millisecond
			case "key_done":
				done = int(n)
			case "ms":
				last = time.Duration(n) * time.Millisecond
			}
		}
	}
	return clone, done, last
}

// proveBaseline checks each renewed key's branch: a pull request each, and
// every environment's file decrypts with that environment's key to a new
// secret Equifax accepts.
func (b *bench) proveBaseline(ctx context.Context, w *demo.World, keys []demo.Key, r Run) (string, string) {
	if got := r.Provider[string(emulator.OpRenew)]; got != len(keys) {
		return "", fmt.Sprintf("%d renew calls for %d keys", got, len(keys))
	}
	if r.PullRequests != len(keys) {
		return "", fmt.Sprintf("%d pull requests for %d keys", r.PullRequests, len(keys))
	}
	for _, k := range keys {
		old, err := os.ReadFile(w.CurrentFile(k.Key))
		if err != nil {
			return "", err.Error()
		}
		for _, env := range demo.Environments {
			name := "overlays/" + env + "/credentials/" + string(k.Key) + ".yaml"
			value, err := unsealAt(ctx, w.Hub.RepoDir(), "rotate/"+string(k.Key), name, w.Private[env])
			if err != nil {
				return "", err.Error()
			}
			if value == strings.TrimSpace(string(old)) {
				return "", fmt.Sprintf("%s still holds the old secret", name)
			}
			if !w.Emulator.Accepts(k.ClientID, value) {
				return "", fmt.Sprintf("%s on rotate/%s holds a secret Equifax does not accept", name, k.Key)
			}
		}
	}
	return fmt.Sprintf("%d pull requests; each key's branch holds, for every environment, a manifest that decrypts with that environment's key to the new secret, which Equifax accepts", len(keys)), ""
}

// unsealAt decrypts the SealedSecret file name on rev of the bare repository
// with priv and returns its client_secret.
func unsealAt(ctx context.Context, repoDir, rev, name string, priv *rsa.PrivateKey) (string, error) {
	data, err := exec.CommandContext(ctx, "git", "--git-dir", repoDir, "show", rev+":"+name).Output()
	if err != nil {
		return "", fmt.Errorf("reading %s on %s: %w", name, rev, err)
	}
	var ss ssv1alpha1.SealedSecret
	if err := yaml.Unmarshal(data, &ss); err != nil {
		return "", fmt.Errorf("%s on %s: %w", name, rev, err)
	}
	fp, err := sscrypto.PublicKeyFingerprint(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	sec, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: priv})
	if err != nil {
		return "", fmt.Errorf("%s on %s does not decrypt: %w", name, rev, err)
	}
	v, ok := sec.Data["client_secret"]
	if !ok {
		return "", fmt.Errorf("%s on %s has no client_secret", name, rev)
	}
	return string(v), nil
}

// noop times a cron run on a repository where no key is due against a
// shallow clone of it, each noopReps times; medians are reported.
func (b *bench) noop(ctx context.Context, n int, d time.Duration) (Noop, error) {
	w, err := b.world(ctx, "noop", n, d, 120*24*time.Hour)
	if err != nil {
		return Noop{}, err
	}
	defer w.Close()
	nr := Noop{Keys: n, Latency: d}
	var clones []time.Duration
	var runs []Run
	for i := 0; i < b.opts.noopReps; i++ {
		dst := filepath.Join(w.Dir, fmt.Sprintf("clone-%d", i))
		var c Run
		if err := child(ctx, &c, w.Dir, []string{"GIT_TERMINAL_PROMPT=0"}, "clone.log", "git", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", "main", w.GitURL, dst); err != nil {
			return nr, err
		}
		if c.ExitCode != 0 {
			return nr, fmt.Errorf("git clone of the %d-key repository failed (exit %d)", n, c.ExitCode)
		}
		clones = append(clones, c.Wall)
		nr.CloneLoads = append(nr.CloneLoads, c.Load)
		_ = os.RemoveAll(dst)

		r := Run{Keys: n, Concurrency: concurrencyOf(w.ConfigPath)}
		before := snapshot(w)
		if err := child(ctx, &r, w.Dir, []string{demo.TokenEnv + "=" + demo.Token}, fmt.Sprintf("noop-%d.log", i), b.opts.bin, "renew", "--cron-mode", "--config", w.ConfigPath); err != nil {
			return nr, err
		}
		r.since(w, before)
		switch {
		case r.ExitCode != 0:
			r.Problem = fmt.Sprintf("exit code %d", r.ExitCode)
		case r.Provider[string(emulator.OpRenew)] != 0 || r.GitPushes != 0 || r.PullRequests != 0:
			r.Problem = fmt.Sprintf("not a no-op: %d renews, %d pushes, %d pull requests", r.Provider[string(emulator.OpRenew)], r.GitPushes, r.PullRequests)
		default:
			r.Verified = "exit 0; no renew, no push, no pull request"
		}
		runs = append(runs, r)
		nr.Walls = append(nr.Walls, r.Wall)
		nr.RunLoads = append(nr.RunLoads, r.Load)
	}
	nr.Clone = median(clones)
	nr.Clones = clones
	sort.Slice(runs, func(i, j int) bool { return runs[i].Wall < runs[j].Wall })
	nr.Run = runs[len(runs)/2]
	for _, r := range runs {
		if r.Problem != "" {
			nr.Run.Problem = r.Problem
			nr.Run.Verified = ""
		}
	}
	return nr, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// secretName is the Kubernetes Secret a demo key's SealedSecret produces.
func secretName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// concurrencyOf is the rotation.concurrency a run of the configuration
// file works with, as credrotate's own loader reads it (the file, its older
// equifax.concurrency spelling, or the default); 1 when the file does not
// load. Only the setting matters here: a file the loader decodes but finds
// incomplete still says its concurrency.
func concurrencyOf(path string) int {
	cfg, _ := config.Load(config.LoadOptions{Path: path, Environ: []string{}})
	if cfg == nil || cfg.Rotation.Concurrency < 1 {
		return 1
	}
	return cfg.Rotation.Concurrency
}
