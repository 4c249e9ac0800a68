package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/inventory"
	"github.com/credrotate/credrotate/pkg/notify"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// sendExpiryNotices raises a notice (an alert issue, and the webhook) once
// per threshold of notify.expiryNoticeDays for every credential that has
// crossed one, supersedes the earlier threshold's notice, and resolves the
// notices no longer needed. A managed key whose rotation failed has its own
// alert issue and gets no notice besides: the notice is for the rotation
// that stalls silently (a pull request nobody merges). A failure is logged,
// never the run's.
func sendExpiryNotices(ctx context.Context, w *wiring, runner *rotate.Runner, obs *rotate.Observation, rep *rotate.Report, um []inventory.Row, open map[string]bool, log *logrus.Entry) {
	days := w.cfg.Notify.ExpiryNoticeDays
	if len(days) == 0 {
		return
	}
	log = log.WithField("step", "notices")
	if open == nil {
		log.Warn("the open alerts could not be listed; no expiry notices this run")
		return
	}
	types := map[string]string{}
	for _, p := range w.cfg.Providers {
		types[string(p.Key)] = p.TypeOrDefault() + "/" + p.ClientID
	}
	earliest := map[string]rotate.StatusRow{}
	for _, r := range runner.Status(obs) {
		if r.SecretID == "" || r.ExpiresAt.IsZero() {
			continue
		}
		if e, ok := earliest[string(r.Key)]; !ok || r.ExpiresAt.Before(e.ExpiresAt) {
			earliest[string(r.Key)] = r
		}
	}
	// A key whose rotation this run merged is watched by its new secret;
	// one only proposed still depends on the secret in use.
	if rep != nil {
		for _, kr := range rep.Results {
			if kr.Outcome != rotate.OutcomeMerged && kr.Outcome != rotate.OutcomeFinished {
				continue
			}
			if e, ok := earliest[string(kr.Key)]; ok && kr.SecretID != "" && kr.SecretID != e.SecretID && !kr.ExpiresAt.IsZero() {
				e.SecretID, e.ExpiresAt = kr.SecretID, kr.ExpiresAt
				earliest[string(kr.Key)] = e
			}
		}
	}
	var creds []inventory.Credential
	for k, r := range earliest {
		if open["credrotate:"+k] {
			// The key's own alert issue already says what is wrong.
			continue
		}
		creds = append(creds, inventory.Credential{ID: types[k] + "/" + r.SecretID, Label: k, ExpiresAt: r.ExpiresAt, Managed: true})
	}
	for _, r := range um {
		if r.ExpiresAt == nil {
			continue
		}
		label := r.Type + " " + r.ClientID
		if r.Name != "" && r.Name != r.ClientID {
			label += " (" + r.Name + ")"
		}
		creds = append(creds, inventory.Credential{ID: r.Type + "/" + r.ClientID + "/" + r.SecretID, Label: label, ExpiresAt: *r.ExpiresAt})
	}
	raise, resolve := inventory.Notices(time.Now(), creds, days, w.cfg.Rotation.RenewBefore, open)
	for _, n := range raise {
		title := fmt.Sprintf("credrotate: %s expires in %d days (%s)", n.Credential.Label, n.DaysLeft, n.Credential.ExpiresAt.UTC().Format(time.DateOnly))
		body := fmt.Sprintf("The credential %s (`%s`) expires at %s: %d days from now, inside the %d-day notice threshold.\n\n", n.Credential.Label, n.Credential.ID, n.Credential.ExpiresAt.UTC().Format(time.RFC3339), n.DaysLeft, n.Days)
		if n.Credential.Managed {
			body += "credrotate manages it, and its rotation should have happened by now: see the key's alert issue or `credrotate status` for why it has not, or rotate it by hand with `credrotate renew --provider-key " + n.Credential.Label + "`."
		} else {
			body += "credrotate does not manage it. Renew it at its provider, or bring it under credrotate: add it to `providers` in credrotate.yaml, then `credrotate adopt`. `credrotate inventory` lists every such credential."
		}
		body += "\n\nThis notice is raised once per threshold; the next one replaces it. Trace `" + w.traceID + "`."
		is, err := runner.Forge.RaiseAlert(ctx, forge.Alert{Key: n.Key, Title: title, Body: body, Labels: w.cfg.GitHub.AlertLabels})
		if err != nil {
			log.WithError(err).Warnf("could not raise the expiry notice for %s", n.Credential.Label)
			continue
		}
		log.WithFields(map[string]any{"credential": n.Credential.ID, "days_left": n.DaysLeft, "issue": is.URL}).Warn(title)
		for _, k := range n.Supersedes {
			if err := runner.Forge.ResolveAlert(ctx, k, fmt.Sprintf("Superseded by the %d-day notice, #%d.", n.Days, is.Number)); err != nil {
				log.WithError(err).Warn("could not close a superseded expiry notice")
			}
		}
		if runner.Notifier != nil {
			ev := notify.Event{Status: "expiring", TraceID: w.traceID, AlertURL: is.URL, Summary: []string{title}}
			if err := runner.Notifier.Notify(ctx, ev); err != nil {
				log.WithError(err).Warn("could not send the expiry notice to the webhook")
			}
		}
	}
	for _, k := range resolve {
		if err := runner.Forge.ResolveAlert(ctx, k, "The credential is no longer inside a notice threshold (rotated, renewed or removed). Trace `"+w.traceID+"`."); err != nil {
			log.WithError(err).Warn("could not resolve an expiry notice")
		}
	}
}
