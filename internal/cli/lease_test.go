package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
)

const goodConfig = "../../pkg/config/testdata/good.yaml"

// TestRenewBusyExits3: a run that finds this machine's lock taken changes
// nothing and says so with exit 3, never a silent exit 0.
func TestRenewBusyExits3(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cfg, err := config.Load(config.LoadOptions{Path: goodConfig})
	if err != nil {
		t.Fatal(err)
	}
	held := flock.New(lockPath(cfg))
	if ok, err := held.TryLock(); err != nil || !ok {
		t.Fatalf("taking the lock for the test: %v %v", ok, err)
	}
	defer func() { _ = held.Unlock() }()

	out, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", goodConfig, "--log-format", "json")
	if code != exitBusy {
		t.Fatalf("exit %d, want %d\n%s", code, exitBusy, stderr)
	}
	if !strings.Contains(stderr, "in progress on this machine") || !strings.Contains(stderr, "changed nothing") || !strings.Contains(stderr, held.Path()) {
		t.Fatalf("stderr does not explain the busy run:\n%s", stderr)
	}
	if strings.Contains(out, "nothing done") {
		t.Fatalf("stdout: %s", out)
	}

	out, _, code = runCmd(t, "", "renew", "--cron-mode", "--config", goodConfig, "-o", "json", "--log-format", "json")
	var busy struct{ Outcome, TraceID, Error string }
	if code != exitBusy || json.Unmarshal([]byte(out), &busy) != nil || busy.Outcome != "busy" || busy.TraceID == "" {
		t.Fatalf("-o json: exit %d, %s", code, out)
	}

	// A dry run takes no lock, so it is not busy.
	if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--dry-run", "--config", goodConfig, "--log-format", "json"); code == exitBusy {
		t.Fatalf("a dry run was refused as busy:\n%s", stderr)
	}
}

func TestRenewTimeoutFlag(t *testing.T) {
	for _, v := range []string{"0s", "-5m"} {
		_, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--timeout", v, "--config", goodConfig)
		if code != exitUsage || !strings.Contains(stderr, "--timeout") {
			t.Errorf("--timeout %s: exit %d\n%s", v, code, stderr)
		}
	}
	_, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--timeout", "soon", "--config", goodConfig)
	if code != exitUsage {
		t.Errorf("--timeout soon: exit %d\n%s", code, stderr)
	}
}

func TestDescribeLease(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	h := gitops.Holder{Host: "pod-1", PID: 7, StartedBy: "cron", TraceID: "trace-1", TakenAt: now.Add(-10 * time.Minute), Deadline: now.Add(20 * time.Minute), ExpiresAt: now.Add(25 * time.Minute)}
	at := func(d time.Duration) time.Time { return now.Add(d) }
	cases := []struct {
		name  string
		st    gitops.LeaseState
		err   error
		now   time.Time
		state string
		says  []string
	}{
		{"free", gitops.LeaseState{}, nil, now, "free", []string{"free"}},
		{"held", gitops.LeaseState{Held: true, Holder: h}, nil, now, "held", []string{"cron run on pod-1", "pid 7", "trace-1", "since 2026-12-02T04:50:00Z", "until 2026-12-02T05:25:00Z"}},
		{"overdue", gitops.LeaseState{Held: true, Holder: h}, nil, at(21 * time.Minute), "overdue", []string{"past its deadline", "git push origin :refs/credrotate/lease"}},
		{"expired", gitops.LeaseState{Held: true, Holder: h}, nil, at(26 * time.Minute), "expired", []string{"did not finish", "next run takes it over"}},
		{"corrupt", gitops.LeaseState{Held: true}, fmt.Errorf("x: %w", gitops.ErrLeaseCorrupt), now, "corrupt", []string{"does not hold a credrotate lease"}},
		{"unknown", gitops.LeaseState{}, errors.New("network down"), now, "unknown", []string{"network down"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls := describeLease(tc.st, tc.err, tc.now)
			if ls.State != tc.state {
				t.Fatalf("state %q, want %q (%s)", ls.State, tc.state, ls.Summary)
			}
			for _, s := range tc.says {
				if !strings.Contains(ls.Summary, s) {
					t.Errorf("summary %q does not say %q", ls.Summary, s)
				}
			}
			if wantHolder := tc.err == nil && tc.st.Held; (ls.Holder != nil) != wantHolder {
				t.Errorf("holder %+v", ls.Holder)
			}
		})
	}
}

// TestRunReportNamesTakenOverRun: a run that took over a stale lease says,
// in its report, that the previous run did not finish.
func TestRunReportNamesTakenOverRun(t *testing.T) {
	t.Parallel()
	prev := gitops.Holder{Host: "pod-0", PID: 1, StartedBy: "cron", TraceID: "trace-dead", TakenAt: time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)}
	lock := &runLock{lease: &gitops.Lease{Previous: &prev, TakeoverReason: "it expired at 2026-12-02T04:35:00Z"}}
	rep := &rotate.Report{TraceID: "trace-now", Results: []rotate.KeyResult{{Key: "equifax.a", Outcome: rotate.OutcomeNoop}}}

	var js bytes.Buffer
	if err := printRunReport(&js, "json", rep, lock); err != nil {
		t.Fatal(err)
	}
	var got struct {
		TraceID string `json:"traceId"`
		Results []struct {
			ProviderKey string `json:"providerKey"`
		} `json:"results"`
		Lease struct {
			TookOverFrom gitops.Holder `json:"tookOverFrom"`
			Reason       string        `json:"reason"`
		} `json:"lease"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.TraceID != "trace-now" || len(got.Results) != 1 || got.Lease.TookOverFrom.TraceID != "trace-dead" || !strings.Contains(got.Lease.Reason, "expired") {
		t.Fatalf("report %s", js.String())
	}

	var tbl bytes.Buffer
	if err := printRunReport(&tbl, "table", rep, lock); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "the previous run did not finish") || !strings.Contains(tbl.String(), "trace-dead") {
		t.Fatalf("table:\n%s", tbl.String())
	}

	// No takeover, no lease line.
	var plain bytes.Buffer
	if err := printRunReport(&plain, "json", rep, &runLock{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), `"lease"`) {
		t.Fatalf("a report without a takeover mentions the lease:\n%s", plain.String())
	}
}

func TestLeaseHolderSaysHowTheRunStarted(t *testing.T) {
	w := &wiring{traceID: "t"}
	t.Setenv("GITHUB_ACTIONS", "")
	if h := w.holder(renewFlags{cronMode: true}); h.StartedBy != "cron" || h.TraceID != "t" || h.PID == 0 || h.Host == "" {
		t.Errorf("cron: %+v", h)
	}
	if h := w.holder(renewFlags{}); h.StartedBy != "manual" {
		t.Errorf("manual: %+v", h)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_REPOSITORY", "acme/gitops")
	t.Setenv("GITHUB_RUN_ID", "42")
	if h := w.holder(renewFlags{cronMode: true}); h.StartedBy != "actions" || h.Run != "https://github.com/acme/gitops/actions/runs/42" {
		t.Errorf("actions: %+v", h)
	}
}

func TestLogDeadline(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	log := logrus.NewEntry(l)
	logDeadline(context.Background(), renewFlags{timeout: time.Minute}, log)
	if buf.Len() != 0 {
		t.Fatalf("a run within its deadline logged %q", buf.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	logDeadline(ctx, renewFlags{timeout: time.Minute}, log)
	if !strings.Contains(buf.String(), "reached its deadline") || !strings.Contains(buf.String(), "timeout=1m0s") {
		t.Fatalf("log %q", buf.String())
	}
}

// TestMachineLockNamesItsHolder: a run that finds this machine's lock taken
// by another credrotate run names that run (pid, trace id, since when).
func TestMachineLockNamesItsHolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cfg, err := config.Load(config.LoadOptions{Path: goodConfig})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.NewEntry(logrus.New())
	log.Logger.SetOutput(&bytes.Buffer{})
	first := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	held, err := first.lockMachine(renewFlags{cronMode: true}, cfg, "trace-holder", log)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release(context.Background())

	var out bytes.Buffer
	second := newApp(strings.NewReader(""), &out, &bytes.Buffer{})
	_, err = second.lockMachine(renewFlags{output: "json"}, cfg, "trace-second", log)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitBusy {
		t.Fatalf("second lock: %v, want exit %d", err, exitBusy)
	}
	for _, want := range []string{"held by a cron run", fmt.Sprintf("pid %d", os.Getpid()), "trace trace-holder", "since "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the busy message does not say %q: %v", want, err)
		}
	}
	var busy struct {
		Holder *gitops.Holder `json:"leaseHolder"`
	}
	if json.Unmarshal(out.Bytes(), &busy) != nil || busy.Holder == nil || busy.Holder.TraceID != "trace-holder" || busy.Holder.TakenAt.IsZero() {
		t.Fatalf("-o json does not name the holder: %s", out.String())
	}
}
