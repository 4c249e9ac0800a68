package cli

import (
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/forge"
)

// TestDashboardIssue: with github.dashboard enabled, every run keeps one
// issue up to date with every managed key x environment, found again on the
// next run; without it, no issue.
func TestDashboardIssue(t *testing.T) {
	w := startDemo(t, demo.Options{Keys: 2})
	if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath); code != 0 {
		t.Fatalf("renew without the dashboard: exit %d\n%s", code, stderr)
	}
	if n := len(w.Hub.Issues()); n != 0 {
		t.Fatalf("%d issues without the dashboard enabled", n)
	}
	for run := 1; run <= 2; run++ {
		if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--set", "github.dashboard.enabled=true"); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", run, code, stderr)
		}
		issues := w.Hub.Issues()
		if len(issues) != 1 {
			t.Fatalf("run %d: %d issues, want the one dashboard", run, len(issues))
		}
		body := issues[0].Body
		if !strings.Contains(body, forge.DashboardMarker) || issues[0].Title != "credrotate: credential dashboard" {
			t.Fatalf("run %d: not a dashboard: %q\n%s", run, issues[0].Title, body)
		}
		// One row per key whose environments agree, listing them.
		for _, k := range w.Keys {
			if want := "| `" + string(k.Key) + "` | prod, staging, uat | `sec-"; strings.Count(body, want) != 1 {
				t.Errorf("run %d: not one row %q for %s:\n%s", run, want, k.Key, body)
			}
		}
		if !strings.Contains(body, "## Open alerts\n\nNone.") {
			t.Errorf("run %d: alerts section:\n%s", run, body)
		}
	}
}
