package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
)

// TestHostileEquifaxCanary runs the binary against an Equifax that quotes
// every credential it receives in its errors: a preflight whose describe
// keeps failing (the fault quotes the Bearer token), a token endpoint that
// keeps failing (quoting the Basic header and the client secret), and a run
// that renews and then cannot prove the new secret (the 401 quotes it; the
// unproven secret is revoked), then a run that renews afresh and succeeds.
// Each failing run ends in a clean exit 1 with an alert issue that keeps the
// server's words, and no credential the server quoted, nor any current
// secret, appears in stdout or stderr, the alert issues and pull requests,
// the GitOps repository's objects, the metrics file or any file the runs
// left in their temporary folder.
func TestHostileEquifaxCanary(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	var canaries []string
	for _, k := range w.Keys {
		b, err := os.ReadFile(w.CurrentFile(k.Key))
		if err != nil {
			t.Fatal(err)
		}
		canaries = append(canaries, strings.TrimSpace(string(b)))
	}
	tmp := t.TempDir()
	metrics := filepath.Join(t.TempDir(), "credrotate.prom")
	env := append([]string{"TMPDIR=" + tmp}, fastTimeouts...)
	args := []string{"renew", "--cron-mode", "-o", "json", "--metrics-file", metrics, "--log-level", "debug"}

	w.Emulator.SetHostile(emulator.Hostile{QuoteCredentials: true, RejectNewSecrets: true})

	// 1: describe fails in preflight, every attempt quoting the Bearer token.
	w.Emulator.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultServerError, Count: 100})
	res := w.run(env, args...)
	w.Emulator.ClearFaults()
	if res.code != 1 || !strings.Contains(res.stdout, `"outcome": "failed"`) {
		t.Fatalf("run 1: exit %d, want 1 with a failed report\n%s\n%s", res.code, res.stdout, lastLines(res.stderr, 10))
	}

	// 2: the token endpoint fails, quoting the Basic header and the secret.
	w.Emulator.Script(emulator.Fault{Op: emulator.OpToken, Kind: emulator.FaultUnavailable, Count: 100})
	res = w.run(env, args...)
	w.Emulator.ClearFaults()
	if res.code != 1 {
		t.Fatalf("run 2: exit %d, want 1\n%s", res.code, lastLines(res.stderr, 10))
	}

	// 3: renew works, proving the new secret does not: the 401 quotes it.
	res = w.run(env, args...)
	if res.code != 1 {
		t.Fatalf("run 3: exit %d, want 1\n%s\n%s", res.code, res.stdout, lastLines(res.stderr, 10))
	}
	if w.Emulator.Calls(emulator.OpRenew) == 0 {
		t.Fatal("run 3 renewed nothing: the new-secret case was not exercised")
	}
	quoted := w.Emulator.Quoted()
	canaries = append(canaries, quoted...)
	if len(quoted) < 4 {
		t.Fatalf("the emulator quoted only %d credentials", len(quoted))
	}

	// Run 3 revoked the secrets it could not prove, so none of them can be
	// replayed into a pull request; the secret in use stays the only valid one.
	for _, k := range w.Keys {
		if info, _ := w.Emulator.Client(k.ClientID); info.ValidCount() != 1 {
			t.Errorf("%s: after run 3, %d valid secrets, want 1 (the unproven one revoked)", k.Key, info.ValidCount())
		}
	}

	// 4: Equifax behaves again and, once its minimum interval between two
	// renews has passed, the run renews afresh (the secret quoted in run 3
	// is revoked), proves the new secret, seals it and opens the pull
	// request, whose command line keeps the key of a --set and not its
	// value.
	w.Emulator.SetHostile(emulator.Hostile{})
	w.Emulator.Advance(10 * time.Minute)
	res = w.run(env, append(args, "--set", "equifax.timeout=2500ms")...)
	if res.code != 0 {
		t.Fatalf("run 4: exit %d\n%s", res.code, lastLines(res.stderr, 10))
	}
	prs := w.Hub.PullRequests()
	if len(prs) == 0 {
		t.Fatal("run 4 opened no pull request")
	}
	if body := prs[len(prs)-1].Body; !strings.Contains(body, "--set equifax.timeout="+credential.Redacted) || strings.Contains(body, "2500ms") {
		t.Errorf("the pull request shows a --set value, or not its key:\n%s", body)
	}

	// The alert issues keep what the server said, masked.
	var alerts strings.Builder
	for _, is := range w.Hub.Issues() {
		alerts.WriteString(is.Title + "\n" + is.Body + "\n")
		for _, c := range is.Comments {
			alerts.WriteString(c.Body + "\n")
		}
	}
	if !strings.Contains(alerts.String(), "is not valid") && !strings.Contains(alerts.String(), "was rejected") {
		t.Fatalf("the alert issues lost the server's text:\n%s", alerts.String())
	}
	if !strings.Contains(alerts.String(), credential.Redacted) {
		t.Fatalf("the alert issues show no masking:\n%s", alerts.String())
	}

	hay := w.haystack(t, metrics, tmp)
	hay.WriteString(alerts.String())
	checkCanaries(t, hay.Bytes(), canaries)
}

// TestHostileEquifaxServer: an Equifax that redirects every call to
// another host, answers with 256 MiB bodies, or drips its answers a byte at
// a time. Over REST and SOAP, each run ends in exit 1, and the failed keys'
// rows in the report and their alert issues name what happened; the other host never receives a
// request, nothing is renewed, and the process's peak memory stays far
// below the size of the answer.
func TestHostileEquifaxServer(t *testing.T) {
	t.Parallel()
	const huge = 256 << 20
	for _, transport := range []string{"rest", "soap"} {
		for _, tc := range []struct {
			name    string
			hostile emulator.Hostile
			want    []string
		}{
			{"redirect", emulator.Hostile{RedirectStatus: http.StatusTemporaryRedirect}, []string{"redirect refused", "another origin"}},
			{"huge", emulator.Hostile{HugeBody: huge, Ops: []emulator.Op{emulator.OpDescribe}}, []string{"exceeds the size limit"}},
			{"drip", emulator.Hostile{Drip: 200 * time.Millisecond, Ops: []emulator.Op{emulator.OpDescribe}}, []string{"no answer in time"}},
		} {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, demo.Options{Transport: transport})
				var mu sync.Mutex
				var got []string
				thief := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
					mu.Lock()
					got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(b))
					mu.Unlock()
				}))
				t.Cleanup(thief.Close)
				h := tc.hostile
				if tc.name == "redirect" {
					h.RedirectTo = thief.URL
				}
				w.Emulator.SetHostile(h)
				res, maxRSS := w.runMeasured(fastTimeouts, "renew", "--cron-mode")
				if res.code != 1 {
					t.Fatalf("exit %d, want 1\n%s", res.code, lastLines(res.stderr, 10))
				}
				// Equifax failing to describe a key fails that key, not the
				// whole preflight: the run's last line says keys failed, and
				// each failed key's row in the report and its alert issue
				// say what happened.
				var alerts strings.Builder
				for _, is := range w.Hub.Issues() {
					alerts.WriteString(is.Title + "\n" + is.Body + "\n")
				}
				for _, want := range tc.want {
					if !strings.Contains(res.stdout, want) {
						t.Errorf("the run's report does not say %q:\n%s", want, res.stdout)
					}
					if !strings.Contains(alerts.String(), want) {
						t.Errorf("the alert issues do not say %q:\n%s", want, alerts.String())
					}
				}
				if !w.hasAlert() {
					t.Error("no alert issue")
				}
				if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
					t.Errorf("%d renews", n)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(got) != 0 {
					t.Fatalf("the other host received %d requests: %q", len(got), got)
				}
				// The whole process, Go runtime and binary included, against a
				// 256 MiB answer: a run rests at well under 100 MiB, so holding
				// the answer would show.
				if maxRSS > 128<<20 {
					t.Errorf("peak resident memory %d MiB", maxRSS>>20)
				}
				t.Logf("peak resident memory %.1f MiB", float64(maxRSS)/(1<<20))
			})
		}
	}
}

// runMeasured is run, also returning the child's peak resident memory.
//
// The peak is the child's own VmHWM, read from /proc while it runs. The
// rusage of a finished child is no measure here: Go starts children with
// CLONE_VM, and the kernel carries the parent's high-water mark into the
// child's at exec, so ru_maxrss would report this test process.
func (w *world) runMeasured(env []string, args ...string) (result, int64) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, "--config", w.ConfigPath, "--log-format", "json")...)
	cmd.Env = append(append(os.Environ(), demo.TokenEnv+"="+demo.Token), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		w.t.Fatalf("running credrotate: %v", err)
	}
	peak := make(chan int64)
	done := make(chan struct{})
	go func() {
		var hwm int64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, ok := vmHWM(cmd.Process.Pid); ok && v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	rss := <-peak
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		w.t.Fatalf("running credrotate: %v", err)
	}
	w.logs.WriteString(res.stdout + res.stderr)
	if rss == 0 {
		w.t.Fatal("no VmHWM read for the child from /proc")
	}
	return res, rss
}

// vmHWM is the peak resident memory of process pid in bytes, from
// /proc/pid/status; false once the process has gone.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// haystack gathers everything a secret must never reach: every run's
// output, pull requests and issues, every object of the GitOps repository,
// the metrics file, the files the runs left in tmp, and the files of the
// world's folder except the current secrets (the mounted Secret) and the
// sealing private keys.
func (w *world) haystack(t *testing.T, metrics, tmp string) *bytes.Buffer {
	t.Helper()
	var hay bytes.Buffer
	hay.Write(w.logs.Bytes())
	for _, pr := range w.Hub.PullRequests() {
		hay.WriteString(pr.Title + pr.Body)
		for _, c := range pr.Comments {
			hay.WriteString(c.Body)
		}
	}
	if m, err := os.ReadFile(metrics); err == nil {
		hay.Write(m)
	} else {
		t.Fatalf("no metrics file: %v", err)
	}
	objects, err := exec.Command("git", "--git-dir", w.Hub.RepoDir(), "cat-file", "--batch-all-objects", "--batch").Output()
	if err != nil {
		t.Fatal(err)
	}
	hay.Write(objects)
	for _, root := range []string{tmp, w.Dir} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(w.Dir, path)
			if d.IsDir() {
				if root == w.Dir && (rel == "current" || rel == "keys" || rel == "gitops.git") {
					return filepath.SkipDir
				}
				return nil
			}
			hay.WriteString(path)
			if b, err := os.ReadFile(path); err == nil {
				hay.Write(b)
			}
			return nil
		})
	}
	return &hay
}

// checkCanaries fails if any canary, or a form the redactor is meant to
// catch, appears in hay.
func checkCanaries(t *testing.T, hay []byte, canaries []string) {
	t.Helper()
	if len(hay) < 10000 {
		t.Fatalf("the test looked at too little: %d bytes", len(hay))
	}
	for _, c := range canaries {
		if len(c) < 16 {
			t.Fatalf("implausible canary of %d bytes", len(c))
		}
		if i := bytes.Index(hay, []byte(c)); i >= 0 {
			lo, hi := max(0, i-120), min(len(hay), i+len(c)+40)
			ctx := strings.ReplaceAll(string(hay[lo:hi]), c, "<CANARY>")
			t.Errorf("a credential leaked (length %d), here: %q", len(c), ctx)
		}
	}
}
