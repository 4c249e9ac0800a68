package rotate

import (
	"bytes"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/inventory"
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

// TestDashboardMarkdownRendersAsGFM: rendered as GitHub Flavored Markdown
// (goldmark), the dashboard's sections are headings and every row of its
// tables keeps each value whole in its own cell, hostile names escaped, so
// no value breaks the table or opens HTML.
func TestDashboardMarkdownRendersAsGFM(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	rows := []StatusRow{
		{Key: "equifax.a|b", Env: "prod", SecretID: "sec-`1`", Fingerprint: "sha256:0123456789abcdef", ExpiresAt: exp, DaysLeft: 10, State: StateCurrent, Next: ActionNoop},
		{Key: "equifax.c", Env: "<script>", SecretID: "sec-2", ExpiresAt: exp, DaysLeft: 3, State: StateProposed, Next: ActionResume, PR: "https://github.com/acme/gitops/pull/7"},
	}
	unmanaged := []inventory.Row{{Type: "entra", ClientID: "app|1", SecretID: "k1"}}
	md := DashboardMarkdown(rows, nil, unmanaged, []string{"equifax.c"}, DashboardRun{TraceID: "t", At: exp})
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	html := out.String()
	for _, h := range []string{"<h2>Managed credentials</h2>", "<h2>Not managed by credrotate</h2>", "<h2>Open alerts</h2>"} {
		if !strings.Contains(html, h) {
			t.Errorf("no heading %s:\n%s", h, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("a value opened HTML:\n%s", html)
	}
	// GFM drops the cells beyond the header's, so a value that split its
	// cell would lose text: each one is whole, in its own cell.
	for _, cell := range []string{"<td><code>equifax.a|b</code></td>", "<td>app|1</td>", "<td>&lt;script&gt;</td>"} {
		if !strings.Contains(html, cell) {
			t.Errorf("no cell %s:\n%s", cell, html)
		}
	}
}
