package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/gitops"
)

// TestLeaseAcrossMachines runs two binaries against one repository, each
// with a temp folder of its own, as a CronJob pod and a GitHub Actions job
// would: the machine's lock cannot see the other run, the lease on the
// remote does. While the first run holds the lease (stalled at Equifax), the
// second one exits with the busy code and names the holder; the first then
// finishes, rotates, and releases the lease.
func TestLeaseAcrossMachines(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	ctx := context.Background()
	leases, err := gitops.NewLeases(gitops.LeaseOptions{URL: w.GitURL, Token: demo.Token, Hostname: "the-test"})
	if err != nil {
		t.Fatal(err)
	}

	// Hold the first run in preflight, after it took the lease.
	w.Emulator.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultStall, Count: 100, Stall: 10 * time.Minute})
	first, firstOut, firstErr := start(t, w, t.TempDir(), "renew", "--cron-mode", "-o", "json")
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	var st gitops.LeaseState
	for !st.Held {
		select {
		case err := <-done:
			t.Fatalf("the first run ended before it was seen holding the lease: %v\n%s", err, lastLines(firstErr.String(), 20))
		case <-time.After(50 * time.Millisecond):
		}
		if st, err = leases.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st.Holder.PID != first.Process.Pid || st.Holder.StartedBy != "cron" {
		t.Fatalf("the lease names %+v, want the first run (pid %d, cron)", st.Holder, first.Process.Pid)
	}

	renews := w.Emulator.Calls(emulator.OpRenew)
	second := w.run([]string{"TMPDIR=" + t.TempDir(), "GITHUB_ACTIONS="}, "renew", "--cron-mode", "-o", "json")
	if second.code != 3 {
		t.Fatalf("the second run exited %d, want 3 (another run holds the lease)\nstdout:\n%s\nstderr:\n%s", second.code, second.stdout, lastLines(second.stderr, 20))
	}
	var busy struct {
		Outcome string        `json:"outcome"`
		Error   string        `json:"error"`
		Holder  gitops.Holder `json:"leaseHolder"`
	}
	if err := json.Unmarshal([]byte(second.stdout), &busy); err != nil {
		t.Fatalf("the busy run's answer is not JSON: %v\n%s", err, second.stdout)
	}
	if busy.Outcome != "busy" || busy.Holder.TraceID != st.Holder.TraceID || busy.Holder.PID != first.Process.Pid {
		t.Fatalf("the busy run reports %+v, want the first run's lease %+v", busy, st.Holder)
	}
	for _, want := range []string{"another credrotate run holds the lease", st.Holder.TraceID, st.Holder.Host, st.Holder.TakenAt.UTC().Format(time.RFC3339)} {
		if !strings.Contains(second.stderr, want) {
			t.Errorf("the busy run's message does not say %q:\n%s", want, lastLines(second.stderr, 5))
		}
	}
	if w.Emulator.Calls(emulator.OpRenew) != renews || len(w.Hub.PullRequests()) != 0 {
		t.Fatal("the busy run changed something")
	}

	// Let the first run go on: it rotates the due keys and frees the lease.
	w.Emulator.ClearFaults()
	w.Emulator.Close()
	var ee *exec.ExitError
	if err := <-done; err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if code := first.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the first run exited %d\n%s", code, lastLines(firstErr.String(), 20))
	}
	rep := parseReport(t, firstOut.String())
	proposed := 0
	for _, r := range rep.Results {
		if r.Outcome == "proposed" || r.Outcome == "merged" {
			proposed++
		}
	}
	if proposed != len(w.due()) || len(w.Hub.PullRequests()) != 1 {
		t.Fatalf("the first run rotated %d keys in %d pull requests, want %d in 1", proposed, len(w.Hub.PullRequests()), len(w.due()))
	}
	if st, err := leases.Read(ctx); err != nil || st.Held {
		t.Fatalf("the lease after the first run: %+v, %v", st, err)
	}
	if c := w.Hub.Calls(); c.OtherRefPushes != 2 {
		t.Errorf("%d lease pushes, want 2 (take and release by the first run only)", c.OtherRefPushes)
	}
	w.checkInvariants("after two overlapping runs")
}

// leaseReport is what a run's JSON report says about the lease.
type leaseReport struct {
	Lease *struct {
		TookOverFrom gitops.Holder `json:"tookOverFrom"`
		Reason       string        `json:"reason"`
	} `json:"lease"`
}

// statusLease is what `status -o json` says about the lease.
type statusLease struct {
	Lease struct {
		State   string         `json:"state"`
		Holder  *gitops.Holder `json:"holder"`
		Summary string         `json:"summary"`
	} `json:"lease"`
	Keys []struct {
		ProviderKey string `json:"providerKey"`
		State       string `json:"state"`
		Note        string `json:"note"`
	} `json:"keys"`
}

// plantLease takes the lease of w's repository as a run on another host
// that started ago before now and was given timeout.
func plantLease(t *testing.T, w *world, trace string, ago, timeout time.Duration) *gitops.Lease {
	t.Helper()
	l, err := gitops.NewLeases(gitops.LeaseOptions{URL: w.GitURL, Token: demo.Token, Hostname: "the-test",
		Now: func() time.Time { return time.Now().Add(-ago) }})
	if err != nil {
		t.Fatal(err)
	}
	le, err := l.Acquire(context.Background(), gitops.Holder{Host: "pod-elsewhere", PID: 7, StartedBy: "cron", TraceID: trace}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return le
}

func readStatus(t *testing.T, w *world) statusLease {
	t.Helper()
	res := w.mustRun("status", "-o", "json")
	var st statusLease
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, res.stdout)
	}
	return st
}

// TestLeaseOverdueAndExpired: a lease held past its holder's deadline stops
// the run with exit 1 and an alert, and status shows it overdue; once it
// has expired the next run takes it over, says the previous run did not
// finish, and rotates.
func TestLeaseOverdueAndExpired(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})

	stuck := plantLease(t, w, "trace-stuck", 32*time.Minute, 30*time.Minute)
	st := readStatus(t, w)
	if st.Lease.State != "overdue" || st.Lease.Holder == nil || st.Lease.Holder.TraceID != "trace-stuck" || !strings.Contains(st.Lease.Summary, "pod-elsewhere") {
		t.Fatalf("status of an overdue lease: %+v", st.Lease)
	}
	if len(st.Keys) == 0 || st.Keys[0].Note == "" || st.Keys[0].State == "" {
		t.Fatalf("status rows lack a state and its reason: %+v", st.Keys)
	}
	res := w.run(nil, "renew", "--cron-mode", "-o", "json")
	if res.code != 1 || !strings.Contains(res.stderr, "past its run deadline") || !strings.Contains(res.stderr, "trace-stuck") {
		t.Fatalf("a run against an overdue lease: exit %d\n%s", res.code, lastLines(res.stderr, 10))
	}
	alerted := false
	for _, is := range w.Hub.Issues() {
		if is.State == "open" && strings.Contains(is.Body, "trace-stuck") && strings.Contains(is.Body, "git push origin :refs/credrotate/lease") {
			alerted = true
		}
	}
	if !alerted {
		t.Fatalf("no alert issue names the stuck run: %+v", w.Hub.Issues())
	}
	if w.Emulator.Calls(emulator.OpRenew) != 0 || len(w.Hub.PullRequests()) != 0 {
		t.Fatal("the run changed something behind an overdue lease")
	}
	if err := stuck.Release(context.Background()); err != nil {
		t.Fatal(err)
	}

	plantLease(t, w, "trace-expired", 40*time.Minute, 30*time.Minute)
	if st := readStatus(t, w); st.Lease.State != "expired" {
		t.Fatalf("status of an expired lease: %+v", st.Lease)
	}
	res = w.mustRun("renew", "--cron-mode", "-o", "json")
	var lr leaseReport
	if err := json.Unmarshal([]byte(res.stdout), &lr); err != nil || lr.Lease == nil || lr.Lease.TookOverFrom.TraceID != "trace-expired" || !strings.Contains(lr.Lease.Reason, "expired") {
		t.Fatalf("the report does not say whose lease was taken over: %+v\n%s", lr.Lease, res.stdout)
	}
	if !strings.Contains(res.stderr, "took over the run lease") || !strings.Contains(res.stderr, "trace-expired") {
		t.Fatalf("no warning names the previous holder:\n%s", lastLines(res.stderr, 10))
	}
	if len(w.Hub.PullRequests()) != 1 {
		t.Fatalf("%d pull requests after the takeover, want 1", len(w.Hub.PullRequests()))
	}
	if st := readStatus(t, w); st.Lease.State != "free" {
		t.Fatalf("status after the run: %+v", st.Lease)
	}
	w.checkInvariants("after an expired lease was taken over")
}

// TestLeaseReleasedAtTheDeadlineAndTakenOverAfterAKill: a run stopped by its
// deadline still releases the lease; a run killed outright leaves it, and the
// next run on the same host takes it over at once (its process is gone).
func TestLeaseReleasedAtTheDeadlineAndTakenOverAfterAKill(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	ctx := context.Background()
	leases, err := gitops.NewLeases(gitops.LeaseOptions{URL: w.GitURL, Token: demo.Token, Hostname: "the-test"})
	if err != nil {
		t.Fatal(err)
	}

	w.Emulator.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultStall, Count: 100, Stall: 10 * time.Minute})
	res := w.run(nil, "renew", "--cron-mode", "--timeout", "4s")
	if res.code != 1 {
		t.Fatalf("a run past its deadline exited %d\n%s", res.code, lastLines(res.stderr, 10))
	}
	if st, err := leases.Read(ctx); err != nil || st.Held {
		t.Fatalf("the lease after a run stopped by its deadline: %+v, %v", st, err)
	}
	w.Emulator.ClearFaults()
	w.Emulator.Close()

	killed := w.run([]string{"CREDROTATE_FAILPOINT=renew"}, "renew", "--cron-mode")
	if !killed.killed {
		t.Fatalf("the failpoint did not kill the run: exit %d\n%s", killed.code, lastLines(killed.stderr, 10))
	}
	st, err := leases.Read(ctx)
	if err != nil || !st.Held {
		t.Fatalf("the killed run's lease: %+v, %v", st, err)
	}
	res = w.mustRun("renew", "--cron-mode", "-o", "json")
	var lr leaseReport
	if err := json.Unmarshal([]byte(res.stdout), &lr); err != nil || lr.Lease == nil || lr.Lease.TookOverFrom.TraceID != st.Holder.TraceID || !strings.Contains(lr.Lease.Reason, "no longer runs") {
		t.Fatalf("the report after a killed run: %+v\n%s", lr.Lease, res.stdout)
	}
	if st, err := leases.Read(ctx); err != nil || st.Held {
		t.Fatalf("the lease after the recovering run: %+v, %v", st, err)
	}
	w.checkInvariants("after a killed run's lease was taken over")
}

// start starts credrotate with its own TMPDIR and returns it running.
func start(t *testing.T, w *world, tmp string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append(args, "--config", w.ConfigPath, "--log-format", "json")...)
	// Not seen as a GitHub Actions run even when the tests run in one.
	cmd.Env = append(os.Environ(), demo.TokenEnv+"="+demo.Token, "TMPDIR="+tmp, "GITHUB_ACTIONS=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &out, &errb
}
