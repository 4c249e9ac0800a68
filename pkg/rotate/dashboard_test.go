package rotate

import (
	"github.com/credrotate/credrotate/pkg/credential"
	"strings"
	"testing"
	"time"
)

// TestDashboardMarkdownGroupsEnvironments: a key's environments that agree
// share one row listing them; one that differs (another secret in staging)
// has its own row, so nothing is hidden by the grouping.
func TestDashboardMarkdownGroupsEnvironments(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	row := func(key, env, id string) StatusRow {
		return StatusRow{Key: credential.ProviderKey("equifax." + key), Env: env, SecretID: id, Fingerprint: "sha256:0123456789abcdef", ExpiresAt: exp, DaysLeft: 10, State: StateCurrent, Next: ActionNoop}
	}
	rows := []StatusRow{
		row("a", "prod", "sec-1"), row("a", "staging", "sec-1"), row("a", "uat", "sec-1"),
		row("b", "prod", "sec-2"), row("b", "staging", "sec-3"), row("b", "uat", "sec-2"),
	}
	md := DashboardMarkdown(rows, nil, nil, nil, DashboardRun{TraceID: "t", At: exp.Add(-10 * 24 * time.Hour)})
	for _, want := range []string{
		"| `equifax.a` | prod, staging, uat | `sec-1`<br>`sha256:0123456789abcdef` | 2026-12-12 (10 days) |",
		"| `equifax.b` | prod, uat | `sec-2`",
		"| `equifax.b` | staging | `sec-3`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the dashboard lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "| `equifax."); n != 3 {
		t.Errorf("%d rows, want 3:\n%s", n, md)
	}
}
