package rotate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/inventory"
)

// DashboardUpdater is an optional Forge method: keep the repository's one
// dashboard issue up to date (see forge.Dashboard).
type DashboardUpdater interface {
	UpdateDashboard(ctx context.Context, d forge.Dashboard) (forge.Issue, bool, error)
}

// DashboardRun is the run a dashboard was written by.
type DashboardRun struct {
	TraceID string
	At      time.Time
	// URL links the run (a GitHub Actions run), when there is one.
	URL string
}

// DashboardMarkdown is the generated part of the dashboard issue: every
// managed key x environment as the run found it and what the run did, the
// credentials credrotate does not manage yet, and the open alerts. It holds
// names, ids and dates, never a secret.
func DashboardMarkdown(rows []StatusRow, rep *Report, unmanaged []inventory.Row, alerts []string, run DashboardRun) string {
	var b strings.Builder
	did := map[string]KeyResult{}
	if rep != nil {
		for _, r := range rep.Results {
			did[string(r.Key)] = r
		}
	}
	last := "run `" + run.TraceID + "`"
	if run.URL != "" {
		last = "[run `" + run.TraceID + "`](" + run.URL + ")"
	}
	fmt.Fprintf(&b, "## Managed credentials\n\nAs found by %s at %s (the state is the one the run started from; **last run** is what it did).\n\n", last, run.At.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| Provider key | Environments | Secret | Expires | State → next | Last run | Pull request |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	sorted := append([]StatusRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].DaysLeft != sorted[j].DaysLeft {
			return sorted[i].DaysLeft < sorted[j].DaysLeft
		}
		if sorted[i].Key != sorted[j].Key {
			return sorted[i].Key < sorted[j].Key
		}
		return sorted[i].Env < sorted[j].Env
	})
	// The environments of a key that agree on everything shown share one
	// row (the usual case: one secret sealed for every environment); an
	// environment that differs has its own.
	type group struct {
		row  StatusRow
		envs []string
	}
	var groups []*group
	same := map[string]*group{}
	for _, r := range sorted {
		id := strings.Join([]string{string(r.Key), r.SecretID, r.Fingerprint, r.ExpiresAt.String(), string(r.State), string(r.Next), r.PR}, "\x00")
		if g, ok := same[id]; ok {
			g.envs = append(g.envs, r.Env)
			continue
		}
		g := &group{row: r, envs: []string{r.Env}}
		same[id] = g
		groups = append(groups, g)
	}
	for _, g := range groups {
		r := g.row
		expires := "—"
		if !r.ExpiresAt.IsZero() {
			expires = fmt.Sprintf("%s (%d days)", r.ExpiresAt.UTC().Format(time.DateOnly), r.DaysLeft)
		}
		secret := "`" + md(orDash(r.SecretID)) + "`"
		if r.Fingerprint != "" {
			secret += "<br>`" + md(r.Fingerprint) + "`"
		}
		lastRun := "—"
		if kr, ok := did[string(r.Key)]; ok {
			lastRun = string(kr.Action) + " · " + string(kr.Outcome)
		}
		pr := "—"
		if r.PR != "" {
			pr = r.PR
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s → %s | %s | %s |\n", md(string(r.Key)), md(strings.Join(g.envs, ", ")), secret, expires, r.State, r.Next, lastRun, md(pr))
	}
	b.WriteString("\n## Not managed by credrotate\n\n")
	if len(unmanaged) == 0 {
		b.WriteString("None found (or the providers in use cannot list their scope; `credrotate inventory` says which).\n")
	} else {
		b.WriteString("| Type | Client | Secret | Expires | Days left |\n| --- | --- | --- | --- | ---: |\n")
		for _, r := range unmanaged {
			client := r.ClientID
			if r.Name != "" && r.Name != r.ClientID {
				client += " (" + r.Name + ")"
			}
			expires, days := "—", "—"
			if r.ExpiresAt != nil {
				expires = r.ExpiresAt.Format(time.DateOnly)
			}
			if r.DaysLeft != nil {
				days = fmt.Sprint(*r.DaysLeft)
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", r.Type, md(client), md(r.SecretID), expires, days)
		}
		b.WriteString("\nBring one under credrotate: add it to `providers` in credrotate.yaml, then `credrotate adopt --provider-key KEY`.\n")
	}
	b.WriteString("\n## Open alerts\n\n")
	if len(alerts) == 0 {
		b.WriteString("None.\n")
	} else {
		sort.Strings(alerts)
		for _, a := range alerts {
			fmt.Fprintf(&b, "- `%s`\n", md(a))
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// md keeps a value from breaking a Markdown table or code span.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'", "<", "&lt;", ">", "&gt;").Replace(s)
}
