package forge

import "strings"

// Dashboard is the one issue per repository a run keeps up to date with
// every credential's state, as Renovate keeps its Dependency Dashboard.
type Dashboard struct {
	Title string
	// Body is the generated part; what a person writes outside it is kept.
	Body string
	// Labels mark the issue; the first is how it is found again.
	Labels []string
}

// The hidden markers of a dashboard issue: one that tells it apart, and two
// around the part each run rewrites.
const (
	DashboardMarker = "<!-- credrotate:dashboard -->"
	dashboardStart  = "<!-- credrotate:dashboard:start -->"
	dashboardEnd    = "<!-- credrotate:dashboard:end -->"
)

// DashboardBody puts generated between the markers of existing, keeping
// every word a person wrote before or after them. An existing body without
// the markers (or with them broken) keeps its text and gains the generated
// part at its end.
func DashboardBody(existing, generated string) string {
	block := dashboardStart + "\n" + strings.TrimSpace(generated) + "\n" + dashboardEnd
	if existing == "" {
		return DashboardMarker + "\n" +
			"This issue is kept up to date by credrotate on every run. Edit anything outside the generated part; the generated part is rewritten.\n\n" +
			block + "\n"
	}
	i := strings.Index(existing, dashboardStart)
	j := strings.LastIndex(existing, dashboardEnd)
	if i < 0 || j < i {
		out := existing
		if !strings.Contains(out, DashboardMarker) {
			out = DashboardMarker + "\n" + out
		}
		return strings.TrimRight(out, "\n") + "\n\n" + block + "\n"
	}
	return existing[:i] + block + existing[j+len(dashboardEnd):]
}
