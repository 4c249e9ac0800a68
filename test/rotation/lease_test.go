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

	"github.com/credrotate/credrotate/pkg/demo"
	"github.com/credrotate/credrotate/pkg/equifax/emulator"
	"github.com/credrotate/credrotate/pkg/gitops"
)

// TestLeaseAcrossMachines runs two binaries against one repository, each
// with a temp folder of its own, as a CronJob pod and a GitHub Actions job
// would: the machine's lock cannot see the other run, the lease on the
// remote does. While the first run holds the lease (stalled at Equifax), the
// second one exits with the busy code and names the holder; the first then
// finishes, rotates, and releases the lease.
func TestLeaseAcrossMachines(t *testing.T) {
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
