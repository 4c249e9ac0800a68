package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/notify"
)

// guardExpiry is the expiry guard, independent of the state machine: a key
// whose secret in use stops being valid within CriticalBefore, and that this
// run did not replace (merged), is critical on every run until it is.
func (r *Runner) guardExpiry(rep *Report) {
	now, within := r.now(), r.criticalBefore()
	for i := range rep.Results {
		kr := &rep.Results[i]
		var kp KeyPlan
		for _, p := range rep.Plan.Keys {
			if p.Key == kr.Key {
				kp = p
				break
			}
		}
		end := kp.InUseValidUntil
		if end.IsZero() || end.Sub(now) > within || kr.Outcome == OutcomeMerged || kr.Outcome == OutcomeFinished {
			continue
		}
		left := "has stopped being valid"
		if end.After(now) {
			left = fmt.Sprintf("stops being valid in %s", end.Sub(now).Round(time.Minute))
		}
		todo := fmt.Sprintf("Rotate it now: merge the open rotation pull request, or `credrotate renew --provider-key %s`", kr.Key)
		if kp.State == StateMerged {
			todo = fmt.Sprintf("Its successor %s is merged but the rollout is not observed: check that Argo CD or Flux applied it and the workload restarted", kp.CurrentSecretID)
		}
		kr.Critical = fmt.Sprintf("CRITICAL: the secret %s that %s uses %s (at %s), within equifax.criticalBefore (%s), and this run did not replace it (%s). %s", orUnknown(kp.InUseSecretID), kr.Key, left, until(end), within, kr.Outcome, todo)
		if kr.Deadline.IsZero() {
			kr.Deadline = end
		}
		r.Log.WithField("provider_key", kr.Key).WithField("step", string(StepExpiry)).Error(kr.Critical)
	}
}

// alerts opens or updates an alert issue per failed or critical key and
// closes those of keys that are fine again.
func (r *Runner) alerts(ctx context.Context, rep *Report) {
	open, err := r.Forge.OpenAlertKeys(ctx)
	if err != nil {
		r.Log.WithError(err).Warn("could not list the open alert issues")
	}
	// The run got past preflight: a run-wide alert is resolved.
	if open[runAlertKey] {
		if err := r.Forge.ResolveAlert(ctx, runAlertKey, "Resolved by run "+r.TraceID+", which got past preflight."); err != nil {
			r.Log.WithError(err).Warn("could not close the run alert issue")
		}
	}
	for i := range rep.Results {
		kr := &rep.Results[i]
		key := alertKey(kr.Key)
		switch {
		case kr.Outcome == OutcomeFailed || kr.Outcome == OutcomeBlocked || kr.Critical != "":
			title := "credrotate: rotation of " + string(kr.Key) + " needs attention"
			if kr.Critical != "" {
				title = "credrotate: CRITICAL: the secret of " + string(kr.Key) + " stops being valid at " + until(kr.Deadline)
			}
			iss, err := r.Forge.RaiseAlert(ctx, forge.Alert{Key: key, Title: title, Body: alertBody(r.TraceID, *kr), Labels: r.Settings.AlertLabels})
			if err != nil {
				r.Log.WithError(err).WithField("provider_key", kr.Key).Error("could not raise the alert issue")
				continue
			}
			kr.AlertURL = iss.URL
		default:
			if !open[key] {
				continue
			}
			if err := r.Forge.ResolveAlert(ctx, key, "Resolved by run "+r.TraceID+": "+string(kr.Outcome)+"."); err != nil {
				r.Log.WithError(err).WithField("provider_key", kr.Key).Warn("could not close the alert issue")
			}
		}
	}
}

// RaiseRunAlert opens or updates the run-wide alert issue for a failure
// before any key was planned (preflight).
func (r *Runner) RaiseRunAlert(ctx context.Context, err error) (string, error) {
	var se *StepError
	step, next := string(StepPreflight), "fix the problem above; nothing was renewed"
	if errors.As(err, &se) {
		step = se.Step
		if se.Next != "" {
			next = se.Next
		}
	}
	body := fmt.Sprintf("A credrotate run failed before renewing anything.\n\n| | |\n|---|---|\n| trace id | `%s` |\n| step | %s |\n| error | %s |\n| next action | %s |\n", r.TraceID, step, oneLine(err.Error()), next)
	iss, aerr := r.Forge.RaiseAlert(ctx, forge.Alert{Key: runAlertKey, Title: "credrotate: run failed in " + step, Body: body, Labels: r.Settings.AlertLabels})
	return iss.URL, aerr
}

// runAlertKey is the alert of failures before any key was planned.
const runAlertKey = "credrotate:run"

func alertBody(traceID string, kr KeyResult) string {
	var b strings.Builder
	if kr.Critical != "" {
		fmt.Fprintf(&b, "**%s**\n\n", oneLine(kr.Critical))
	}
	fmt.Fprintf(&b, "credrotate could not finish the rotation of `%s`.\n\n| | |\n|---|---|\n| trace id | `%s` |\n", kr.Key, traceID)
	if kr.Step != "" || kr.Error != "" {
		fmt.Fprintf(&b, "| step | %s |\n| error | %s |\n", kr.Step, oneLine(kr.Error))
	} else {
		fmt.Fprintf(&b, "| outcome | %s |\n| reason | %s |\n", kr.Outcome, oneLine(kr.Reason))
	}
	if !kr.Deadline.IsZero() {
		fmt.Fprintf(&b, "| deadline | %s: the secret in use stops being valid |\n", until(kr.Deadline))
	}
	next := kr.Next
	if next == "" && kr.Critical != "" {
		next = "rotate the key before the deadline"
	}
	fmt.Fprintf(&b, "| next action | %s |\n", oneLine(next))
	return b.String()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func (r *Runner) notify(ctx context.Context, rep *Report) {
	if r.Notifier == nil {
		return
	}
	status := "noop"
	e := notify.Event{TraceID: r.TraceID}
	for _, kr := range rep.Results {
		if kr.Outcome != OutcomeNoop && status == "noop" {
			status = "success"
		}
		if kr.Outcome == OutcomeFailed || kr.Outcome == OutcomeBlocked || kr.Critical != "" {
			status = "failure"
			if e.AlertURL == "" {
				e.AlertURL = kr.AlertURL
			}
		}
		line := fmt.Sprintf("%s: %s", kr.Key, kr.Outcome)
		if kr.SecretID != "" {
			line += " " + kr.SecretID
		}
		if kr.Critical != "" {
			line += " (CRITICAL: expires " + until(kr.Deadline) + ")"
		}
		e.Summary = append(e.Summary, line)
	}
	e.Status = status
	if len(rep.PullRequests) > 0 {
		e.PRURL = rep.PullRequests[0]
	}
	if err := r.Notifier.Notify(ctx, e); err != nil {
		r.Log.WithError(err).Warn("could not send the webhook notice")
	}
}
