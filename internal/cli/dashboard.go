package cli

import (
	"context"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/inventory"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// updateDashboard rewrites the dashboard issue after a run, when
// github.dashboard is enabled: a failure is logged, never the run's.
func updateDashboard(ctx context.Context, w *wiring, runner *rotate.Runner, obs *rotate.Observation, rep *rotate.Report, um []inventory.Row, open map[string]bool, log *logrus.Entry) {
	d := w.cfg.GitHub.Dashboard
	if !d.Enabled {
		return
	}
	log = log.WithField("step", "dashboard")
	up, ok := runner.Forge.(rotate.DashboardUpdater)
	if !ok {
		log.Warn("the forge cannot keep a dashboard issue")
		return
	}
	var alerts []string
	for k := range open {
		alerts = append(alerts, k)
	}
	body := rotate.DashboardMarkdown(runner.Status(obs), rep, um, alerts, rotate.DashboardRun{TraceID: w.traceID, At: time.Now(), URL: actionsRunURL()})
	is, wrote, err := up.UpdateDashboard(ctx, forge.Dashboard{Title: d.Title, Body: body, Labels: d.Labels})
	switch {
	case err != nil:
		log.WithError(err).Warn("could not update the dashboard issue")
	case wrote:
		log.WithField("issue", is.URL).Info("dashboard issue updated")
	}
}

// openAlerts lists the open alert issues' keys once for the notices and the
// dashboard, when either is on; nil when they could not be listed.
func openAlerts(ctx context.Context, w *wiring, runner *rotate.Runner, log *logrus.Entry) map[string]bool {
	if !w.cfg.GitHub.Dashboard.Enabled && len(w.cfg.Notify.ExpiryNoticeDays) == 0 {
		return nil
	}
	open, err := runner.Forge.OpenAlertKeys(ctx)
	if err != nil {
		log.WithError(err).Warn("could not list the open alert issues for the notices and the dashboard")
		return nil
	}
	return open
}

// unmanaged lists the credentials of the providers that can list their
// scope, without the configured keys'.
func unmanaged(ctx context.Context, w *wiring, log *logrus.Entry) []inventory.Row {
	if len(w.listers) == 0 {
		return nil
	}
	var managed []inventory.Managed
	for _, p := range w.cfg.Providers {
		managed = append(managed, inventory.Managed{Key: p.Key, Type: p.TypeOrDefault(), ClientID: p.ClientID})
	}
	var scopes []inventory.Scope
	for typ, l := range w.listers {
		clients, err := l.List(ctx)
		if err != nil {
			log.WithError(err).Warnf("could not list %s's credentials for the dashboard", typ)
			continue
		}
		scopes = append(scopes, inventory.Scope{Type: typ, Clients: clients})
	}
	var out []inventory.Row
	for _, r := range inventory.Build(time.Now(), managed, scopes).Rows {
		if !r.Managed {
			out = append(out, r)
		}
	}
	return out
}

// actionsRunURL links the GitHub Actions run this process is part of, if
// any.
func actionsRunURL() string {
	srv, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if srv == "" || repo == "" || id == "" {
		return ""
	}
	return srv + "/" + repo + "/actions/runs/" + id
}
