package rotation

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/testenv"
)

// TestDemoAsAUserRunsIt runs `credrotate-sandbox demo --workdir` as a person would
// and checks its proof and what it leaves behind; then `--serve` keeps the
// world up while `renew --provider-key` is driven by hand against it.
func TestDemoAsAUserRunsIt(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	out, err := exec.Command(sandbox, "demo", "--workdir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"PROOF PASSED: 12 manifests", "2 old secrets revoked", "/pull/1", "finish", "== credrotate status ==", "== Pull request #1: credrotate: rotate"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	for _, not := range []string{"credrotate:state", "level=", "trace_id="} {
		if strings.Contains(string(out), not) {
			t.Errorf("the demo's output carries %q (the hidden marker or a log line)", not)
		}
	}
	for _, f := range []string{"gitops.git/HEAD", "keys/prod.key", "keys/staging.crt", "keys/uat.crt", "credrotate.yaml", "current/equifax.client_001", "demo.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the workdir lacks %s", f)
		}
	}

	// --serve, then every command its hints suggest, in order.
	dir2 := filepath.Join(t.TempDir(), "serve")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, sandbox, "demo", "--workdir", dir2, "--serve")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	serving := false
	var hints []string
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Serving until interrupted") {
			serving = true
		}
		if serving && strings.HasPrefix(line, "  $ ") {
			hints = append(hints, strings.TrimPrefix(line, "  $ "))
		}
		if serving && strings.Contains(line, "localhub:") {
			break
		}
	}
	if !serving {
		t.Fatal("the demo did not start serving")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if len(hints) < 5 {
		t.Fatalf("the --serve hints suggest %d commands: %q", len(hints), hints)
	}
	if strings.Contains(strings.Join(hints, "\n"), "curl") {
		testenv.LookPath(t, "curl", "apt-get install curl")
	}

	// What each suggested command must show, so that it did something.
	did := map[string]string{
		"status":           "equifax.client_003",
		"--provider-key":   `merged`,
		"demo rollout":     "1 current secret(s) now hold the new value",
		"__emulator/clock": `"now"`,
		"--cron-mode":      "finished",
	}
	var exports []string
	for _, h := range hints {
		if !strings.HasPrefix(h, sandbox) && !strings.HasPrefix(h, "export ") && !strings.HasPrefix(h, "curl ") {
			t.Errorf("hint %q does not run the binary that ran (%s)", h, sandbox)
		}
		if strings.HasPrefix(h, "export ") {
			exports = append(exports, h)
			continue
		}
		cmd := exec.CommandContext(ctx, "bash", "-c", strings.Join(append(exports, h), "\n"))
		res, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the hint %q failed: %v\n%s", h, err, res)
		}
		for mark, want := range did {
			if strings.Contains(h, mark) && !strings.Contains(string(res), want) {
				t.Errorf("the hint %q did nothing visible (no %q):\n%s", h, want, res)
			}
		}
	}
	if err := srv.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("the demo did not stop cleanly on SIGINT: %v", err)
	}
}
