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

	"github.com/credrotate/credrotate/pkg/demo"
)

// TestDemoAsAUserRunsIt runs `credrotate demo --workdir` as a person would
// and checks its proof and what it leaves behind; then `--serve` keeps the
// world up while `renew --provider-key` is driven by hand against it.
func TestDemoAsAUserRunsIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, err := exec.Command(binary, "demo", "--workdir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"PROOF PASSED: 12 manifests", "2 old secrets revoked", "/pull/1", "credrotate:state", "finish", "== credrotate status =="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	for _, f := range []string{"gitops.git/HEAD", "keys/prod.key", "keys/staging.crt", "keys/uat.crt", "credrotate.yaml", "current/equifax.client_001"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the workdir lacks %s", f)
		}
	}

	// --serve, then a renewal by hand.
	dir2 := filepath.Join(t.TempDir(), "serve")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, binary, "demo", "--workdir", dir2, "--serve")
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
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Serving until interrupted") {
			serving = true
			break
		}
	}
	if !serving {
		t.Fatal("the demo did not start serving")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	cmd := exec.Command(binary, "renew", "--config", filepath.Join(dir2, "credrotate.yaml"), "--provider-key", "equifax.client_003", "-o", "json")
	cmd.Env = append(os.Environ(), demo.TokenEnv+"="+demo.Token)
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("renew by hand against the served demo: %v\n%s", err, res)
	}
	if !strings.Contains(string(res), `"outcome": "merged"`) && !strings.Contains(string(res), `"outcome": "proposed"`) {
		t.Fatalf("the manual renewal did not propose:\n%s", res)
	}
	if err := srv.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("the demo did not stop cleanly on SIGINT: %v", err)
	}
}
