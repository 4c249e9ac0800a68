package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/inventory"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
	"github.com/credrotate/credrotate/pkg/rotate"
)

type renewFlags struct {
	cronMode    bool
	keys        []string
	all         bool
	dryRun      bool
	output      string
	metricsFile string
	emergency   bool
	timeout     time.Duration
}

func newRenewCmd(a *app) *cobra.Command {
	var f renewFlags
	cmd := &cobra.Command{
		Use:   "renew",
		Short: "Renew secrets inside their renewal window and propose them in a pull request",
		Long: `renew runs one rotation: preflight (clone, certificates, overlays, GitHub
access, current secrets, Equifax metadata), a plan per provider key, then the
plan: finish rotations whose rollout is seen (revoke the retired secret),
renew what is due (mint, prove with a token, seal for every environment,
commit, push, open or update one pull request, enable auto-merge), and keep
open rotation pull requests moving. A key whose rotation is in flight is
resumed or finished, never renewed twice.

--cron-mode renews only keys inside equifax.renewBefore and is a successful
no-op otherwise. Without it the keys named with --provider-key, or with --all
every configured key, are renewed now (the manual fallback); a renew that
names none of the three renews nothing and exits 2. --dry-run prints the plan
and changes nothing anywhere.

--emergency, with exactly one --provider-key, is for a leaked secret: the key
is renewed now whatever its window, with Equifax's force, the pull request is
labelled emergency, and the old secret is revoked as soon as the rollout is
observed. See docs/rotation.md.`,
		Example: `  # the scheduled run
  credrotate renew --cron-mode --config /etc/credrotate/credrotate.yaml
  # renew one key now, by hand
  credrotate renew --provider-key equifax.unique_client_id
  # renew every key now, by hand
  credrotate renew --all
  # a leaked secret: rotate it now, revoke the old one once the rollout is seen
  credrotate renew --provider-key equifax.unique_client_id --emergency
  # what would a run do?
  credrotate renew --cron-mode --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTimeoutFlag(cmd, f.timeout); err != nil {
				return err
			}
			return a.renew(cmd.Context(), f, commandLine(fromCommand(a.args, cmd.Name())))
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.cronMode, "cron-mode", false, "renew only keys inside their renewal window")
	fl.StringArrayVar(&f.keys, "provider-key", nil, "only this provider key (repeatable)")
	fl.BoolVar(&f.all, "all", false, "renew every configured key now (without --cron-mode: the manual fallback for all keys)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fl.StringVar(&f.metricsFile, "metrics-file", "", "write Prometheus metrics to this file (textfile collector)")
	fl.BoolVar(&f.emergency, "emergency", false, "with one --provider-key: renew now whatever the window, with Equifax's force, and label the pull request emergency (a leaked secret)")
	fl.DurationVar(&f.timeout, "timeout", DefaultRunTimeout, "the run's deadline: every step runs under it, and the run lease expires a little after it")
	return cmd
}

func (a *app) renew(ctx context.Context, f renewFlags, command string) error {
	if f.output != "table" && f.output != "json" {
		return usageErrorf("-o %q is not a format: use table or json", f.output)
	}
	if err := checkEmergency(f); err != nil {
		return err
	}
	if err := f.checkKeyChoice(); err != nil {
		return err
	}
	if f.timeout <= 0 {
		f.timeout = DefaultRunTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if err := selectKeys(cfg, f.keys); err != nil {
		return err
	}
	traceID := newTraceID()
	log, err := a.newLogger(traceID)
	if err != nil {
		return err
	}
	mode := "manual"
	if f.cronMode {
		mode = "cron"
	}
	log.WithFields(map[string]any{"mode": mode, "dry_run": f.dryRun, "keys": len(cfg.Providers), "mock_safe": !cfg.Rotation.EnableClientSecretRenewal}).Info("credrotate run starting")
	if !cfg.Rotation.EnableClientSecretRenewal {
		log.Warn("mock-safe mode (equifax.enableClientSecretRenewal=false): nothing is changed at Equifax")
	}
	for _, msg := range cfg.Warnings() {
		log.Warn(msg)
	}

	// Never two runs against one repository at once: this machine's lock
	// first (the fast path), then, once connected, the lease on the remote.
	// A dry run takes neither.
	var lock *runLock
	if !f.dryRun {
		if lock, err = a.lockMachine(f, cfg, traceID, log); err != nil {
			return err
		}
		defer lock.release(ctx)
	}

	w := &wiring{cfg: cfg, log: log, traceID: traceID, command: command, failpoint: os.Getenv("CREDROTATE_FAILPOINT"), emergency: f.emergency, dryRun: f.dryRun, red: a.red}
	if lock != nil {
		// The lease is taken before the clone, so the run plans from the
		// base branch as it is under the lease.
		w.beforeClone = a.leaseBeforeClone(lock, f, w)
	}
	runner, err := w.newRunner(ctx)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return a.preflightFailed(f, traceID, err, "", log)
	}
	// A run that took over the lease of one that did not finish describes
	// every key: the run that stopped may have minted a secret for a key
	// its manifests call quiet (a manual run killed after its create), and
	// only the provider shows it.
	runner.SkipQuiet = f.cronMode && lock.note() == nil
	obs, err := runner.Preflight(ctx)
	if err != nil {
		alert := ""
		if !f.dryRun {
			if url, aerr := runner.RaiseRunAlert(ctx, err); aerr == nil {
				alert = url
			} else {
				log.WithError(aerr).Error("could not raise the alert issue")
			}
		}
		return a.preflightFailed(f, traceID, err, alert, log)
	}
	for _, wmsg := range obs.Warnings {
		log.Warn(wmsg)
	}
	plan := runner.Plan(obs, f.cronMode)
	for _, k := range plan.Keys {
		log.WithFields(map[string]any{"provider_key": k.Key, "step": "plan", "state": k.State, "action": k.Action}).Info(k.Reason)
	}
	if f.dryRun {
		if err := printPlan(a.stdout, f.output, traceID, plan); err != nil {
			return err
		}
		return openAPIMismatches(obs)
	}
	if f.output == "table" {
		_ = printPlan(a.stdout, "table", traceID, plan)
	}
	rep := runner.Apply(ctx, obs, plan)
	logDeadline(ctx, f, log)
	for _, kr := range rep.Results {
		log.WithFields(map[string]any{"provider_key": kr.Key, "step": "summary", "action": kr.Action, "outcome": kr.Outcome, "secret_id": kr.SecretID, "pr": kr.PRURL}).Info("key done")
	}
	var um []inventory.Row
	if f.metricsFile != "" || w.cfg.GitHub.Dashboard.Enabled {
		um = unmanaged(ctx, w, log)
	}
	a.writeMetrics(f.metricsFile, traceID, rep, !rep.Failed(), log, um...)
	open := openAlerts(ctx, w, runner, log)
	sendExpiryNotices(ctx, w, runner, obs, rep, um, open, log)
	updateDashboard(ctx, w, runner, obs, rep, um, open, log)
	if err := printRunReport(a.stdout, f.output, rep, lock); err != nil {
		return err
	}
	if rep.Failed() {
		return &exitError{code: exitFailure, err: fmt.Errorf("rotation failed for some keys (trace %s); see the alert issues above", traceID)}
	}
	return nil
}

// preflightFailed reports a run that stopped before renewing anything: in
// the logs, the metrics file, the JSON report (-o json) and the error.
func (a *app) preflightFailed(f renewFlags, traceID string, err error, alert string, log *logrus.Entry) error {
	log.WithError(err).Error("preflight failed; nothing was renewed")
	a.writeMetrics(f.metricsFile, traceID, nil, false, log)
	var se *rotate.StepError
	step, next := "preflight", ""
	if errors.As(err, &se) {
		step, next = se.Step, se.Next
	}
	if f.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]string{"traceId": traceID, "outcome": "failed", "failedStep": step, "error": err.Error(), "nextAction": next, "alert": alert})
	}
	msg := fmt.Sprintf("preflight failed, nothing was renewed (trace %s): %v%s", traceID, err, nextAction(err))
	if alert != "" {
		msg += "\nalert: " + alert
	}
	return preflightExit(err, msg)
}

// selectKeys narrows cfg.Providers to the named keys.
func selectKeys(cfg *config.Config, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	var out []config.Provider
	for _, k := range keys {
		p, ok := cfg.Provider(credential.ProviderKey(k))
		if !ok {
			var known []string
			for _, p := range cfg.Providers {
				known = append(known, string(p.Key))
			}
			return usageErrorf("--provider-key %q is not configured: use one of %s", k, strings.Join(known, ", "))
		}
		out = append(out, p)
	}
	cfg.Providers = out
	return nil
}

// lockPath is the machine-wide lock file of one GitOps repository.
func lockPath(cfg *config.Config) string {
	sum := sha256.Sum256([]byte(cfg.Git.URL + "\x00" + cfg.Git.BaseBranch))
	return filepath.Join(os.TempDir(), "credrotate-"+hex.EncodeToString(sum[:8])+".lock")
}

func nextAction(err error) string {
	var se *rotate.StepError
	if errors.As(err, &se) && se.Next != "" {
		return "\nnext: " + se.Next
	}
	return ""
}

func printPlan(w io.Writer, format, traceID string, plan rotate.Plan) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			TraceID string      `json:"traceId"`
			Plan    rotate.Plan `json:"plan"`
		}{traceID, plan})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PLAN (trace %s)\nPROVIDER KEY\tSTATE\tACTION\tREASON\n", traceID)
	for _, k := range plan.Keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Key, k.State, k.Action, k.Reason)
	}
	return tw.Flush()
}

func printReport(w io.Writer, format string, rep *rotate.Report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nRESULT (trace %s)\nPROVIDER KEY\tOUTCOME\tSECRET ID\tEXPIRES\tPULL REQUEST / NEXT\n", rep.TraceID)
	for _, k := range rep.Results {
		exp := ""
		if !k.ExpiresAt.IsZero() {
			exp = k.ExpiresAt.UTC().Format(time.DateOnly)
		}
		extra := k.PRURL
		if k.Error != "" {
			extra = k.Step + ": " + k.Error
			if k.AlertURL != "" {
				extra += " (alert " + k.AlertURL + ")"
			}
		}
		if k.Critical != "" {
			extra = k.Critical + "; " + extra
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Key, k.Outcome, k.SecretID, exp, extra)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, u := range rep.PullRequests {
		fmt.Fprintf(w, "pull request: %s\n", u)
	}
	return nil
}

// killSelf ends the process at once, as a crash would.
func killSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }

// openAPIMismatches fails a dry run (exit 1) whose describes met a request
// or an answer that does not keep the http provider's OpenAPI document: the
// dry run is where a description is checked, so a mismatch must not pass
// as a plan. Its plan is printed first; each mismatch was logged with the
// step, the operation and the fix.
func openAPIMismatches(obs *rotate.Observation) error {
	var keys []string
	for _, ko := range obs.Keys {
		var oe *httpprov.OpenAPIError
		if errors.As(ko.DescribeErr, &oe) {
			keys = append(keys, string(ko.Key))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return &exitError{code: exitFailure, err: fmt.Errorf("the dry run found requests or answers that do not keep the OpenAPI document of %s (see each one's step, operation and fix above); fix the description or its document, then run it again", strings.Join(keys, ", "))}
}
