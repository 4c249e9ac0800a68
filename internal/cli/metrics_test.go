package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
)

// TestMetricsKeepTheLastSuccess: a failed run's metrics file still says
// when the last successful run ended, so that "no successful run for two
// periods" can be alerted on.
func TestMetricsKeepTheLastSuccess(t *testing.T) {
	w := startDemo(t, demo.Options{Keys: 1})
	path := filepath.Join(t.TempDir(), "credrotate.prom")
	if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--metrics-file", path); code != 0 {
		t.Fatalf("renew: exit %d\n%s", code, stderr)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	okLine := metricLine(string(first), "credrotate_last_success_timestamp_seconds ")
	if okLine == "" {
		t.Fatalf("no last-success gauge after a successful run:\n%s", first)
	}
	t.Setenv(demo.TokenEnv, "ghp_rejected")
	if _, _, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--metrics-file", path); code == 0 {
		t.Fatal("a run with a rejected GitHub token succeeded")
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := metricLine(string(second), "credrotate_last_success_timestamp_seconds "); got != okLine {
		t.Errorf("after a failed run the last success is %q, want it kept: %q", got, okLine)
	}
	if !strings.Contains(string(second), `credrotate_last_run_success{trace_id=`) || !strings.Contains(string(second), "} 0") {
		t.Errorf("the failed run is not recorded:\n%s", second)
	}
}

func metricLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
