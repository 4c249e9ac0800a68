package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// DefaultRunTimeout is a run's deadline unless --timeout says otherwise:
// far above a normal run (seconds to minutes), short enough that a stuck run
// frees its lease long before the next scheduled one.
const DefaultRunTimeout = 30 * time.Minute

// leaseReleaseTimeout bounds the release of the lease on the way out, which
// runs even when the run's own context is done.
const leaseReleaseTimeout = 30 * time.Second

// runLock is what a run holds so that no other run against the same
// repository overlaps it: the machine's flock (the fast path, taken first),
// then the lease on the remote.
type runLock struct {
	flock *flock.Flock
	lease *gitops.Lease
	log   *logrus.Entry
}

// lockMachine takes the flock of cfg's repository on this machine. Taken,
// the run goes on to the lease; busy, the run stops with exit 3.
func (a *app) lockMachine(f renewFlags, cfg *config.Config, traceID string, log *logrus.Entry) (*runLock, error) {
	lock := flock.New(lockPath(cfg))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("taking the run lock %s: %w", lock.Path(), err)
	}
	if !ok {
		holder := readLockHolder(lock.Path())
		by := ""
		if holder != nil {
			by = ", held by " + holder.String()
		}
		err := fmt.Errorf("another credrotate run against %s is in progress on this machine (lock %s%s); this run changed nothing", gitops.RedactURL(cfg.Git.URL), lock.Path(), by)
		log.WithField("lock", lock.Path()).Warn(err.Error())
		return nil, a.busy(f, traceID, err, holder)
	}
	// Name this run in the lock file, so that a run that finds it taken
	// can say who holds it and since when.
	me := (&wiring{traceID: traceID}).holder(f)
	me.TakenAt = time.Now().UTC()
	if b, err := json.Marshal(me); err == nil {
		_ = os.WriteFile(lock.Path(), b, 0o600)
	}
	return &runLock{flock: lock, log: log}, nil
}

// readLockHolder reads the run named in a taken lock file; nil when it
// names none (an older credrotate, or a file being written).
func readLockHolder(path string) *gitops.Holder {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || len(b) > 4096 {
		return nil
	}
	var h gitops.Holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// leaseBeforeClone is the wiring's beforeClone of a run that writes: it
// takes the run lease (see takeLease) before the repository is cloned.
func (a *app) leaseBeforeClone(lock *runLock, f renewFlags, w *wiring) func(context.Context, func() error, func(context.Context, error) (string, error)) error {
	return func(ctx context.Context, access func() error, raise func(context.Context, error) (string, error)) error {
		return a.takeLease(ctx, lock, f, w, access, raise)
	}
}

// takeLease takes the lease on the remote for the rest of the run, whose
// deadline ctx carries. Another live holder stops the run with exit 3; a
// holder past its deadline, or a lease ref that is not a lease, is a
// failure: an alert is raised (through raise) and the run exits 1. A stale
// lease is taken over with a warning that names the run that did not
// finish. access is the GitHub access check that runs meanwhile: its
// failure is the run's, returned as it is, and a lease taken is given back
// by lock.release.
func (a *app) takeLease(ctx context.Context, lock *runLock, f renewFlags, w *wiring, access func() error, raise func(context.Context, error) (string, error)) error {
	leases, err := w.leases()
	if err != nil {
		if aerr := access(); aerr != nil {
			return aerr
		}
		return a.preflightFailed(f, w.traceID, &rotate.StepError{Step: "preflight lease", Err: err, Next: "check git.url"}, "", w.log)
	}
	timeout := f.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl).Round(time.Second)
	}
	le, err := leases.Acquire(ctx, w.holder(f), timeout)
	if le != nil {
		lock.lease = le
	}
	if aerr := access(); aerr != nil {
		return aerr
	}
	var he *gitops.HeldError
	switch {
	case err == nil:
	case errors.As(err, &he) && !he.Overdue:
		w.log.WithFields(logrus.Fields{"lease_holder": he.Holder.Host, "lease_trace_id": he.Holder.TraceID, "lease_since": he.Holder.TakenAt}).Warn(err.Error())
		return a.busy(f, w.traceID, fmt.Errorf("%w; this run changed nothing", err), &he.Holder)
	default:
		next := "check git.url and the push token (git.tokenEnv); the token needs contents: write"
		if errors.As(err, &he) || errors.Is(err, gitops.ErrLeaseCorrupt) {
			next = "check whether the run named above still runs; if none does, clear the lease with `git push origin :" + gitops.LeaseRef + "`"
		}
		serr := &rotate.StepError{Step: "preflight lease", Err: err, Next: next}
		alert := ""
		if url, aerr := raise(ctx, serr); aerr == nil {
			alert = url
		} else {
			w.log.WithError(aerr).Error("could not raise the alert issue")
		}
		return a.preflightFailed(f, w.traceID, serr, alert, w.log)
	}
	fields := logrus.Fields{"lease": gitops.LeaseRef, "lease_expires_at": le.Holder.ExpiresAt}
	if p := le.Previous; p != nil {
		w.log.WithFields(fields).WithFields(logrus.Fields{"previous_holder": p.Host, "previous_pid": p.PID, "previous_trace_id": p.TraceID}).
			Warnf("took over the run lease from %s: %s; that run did not finish, and this one picks up where it stopped (every key is described, quiet or not)", p, le.TakeoverReason)
	} else {
		w.log.WithFields(fields).Info("took the run lease")
	}
	return nil
}

// release gives back the lease, then the flock. It runs on every exit path,
// with a context of its own: the run's may be done (its deadline passed, or
// a signal stopped it).
func (l *runLock) release(ctx context.Context) {
	if l == nil {
		return
	}
	if l.lease != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		err := l.lease.Release(rctx)
		cancel()
		switch {
		case errors.Is(err, gitops.ErrLeaseLost):
			l.log.WithError(err).Error("the run lease was taken from this run before it finished: another run may have overlapped it")
		case err != nil:
			l.log.WithError(err).Errorf("could not release the run lease; the next run takes it over after %s, or clear it with `git push origin :%s`",
				l.lease.Holder.ExpiresAt.UTC().Format(time.RFC3339), gitops.LeaseRef)
		default:
			l.log.Debug("released the run lease")
		}
		l.lease = nil
	}
	if l.flock != nil {
		_ = l.flock.Unlock()
		l.flock = nil
	}
}

// busy reports a run that did not start because another holds the
// repository: exit 3, and a JSON answer with -o json.
func (a *app) busy(f renewFlags, traceID string, err error, holder *gitops.Holder) error {
	if f.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			TraceID string         `json:"traceId"`
			Outcome string         `json:"outcome"`
			Error   string         `json:"error"`
			Holder  *gitops.Holder `json:"leaseHolder,omitempty"`
		}{traceID, "busy", err.Error(), holder})
	}
	return &exitError{code: exitBusy, err: err}
}

// leases builds the lease client of the run's repository, with the
// credentials the workspace pushes with.
func (w *wiring) leases() (*gitops.Leases, error) {
	return gitops.NewLeases(gitops.LeaseOptions{
		URL: w.cfg.Git.URL, Token: w.gitToken, SSHKeyFile: w.cfg.Git.SSHKeyFile,
		Author: gitops.Signature{Name: w.cfg.Git.Author.Name, Email: w.cfg.Git.Author.Email},
	})
}

// holder is this run, as the lease names it.
func (w *wiring) holder(f renewFlags) gitops.Holder {
	host, _ := os.Hostname()
	h := gitops.Holder{Host: host, PID: os.Getpid(), StartedBy: "manual", TraceID: w.traceID, Version: version}
	switch {
	case os.Getenv("GITHUB_ACTIONS") == "true":
		h.StartedBy = "actions"
		if srv, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"); srv != "" && repo != "" && id != "" {
			h.Run = strings.TrimSuffix(srv, "/") + "/" + repo + "/actions/runs/" + id
		}
	case f.cronMode:
		h.StartedBy = "cron"
	}
	return h
}

// leaseNote is what a run's report says about the lease.
type leaseNote struct {
	// TookOverFrom is the run whose stale lease this run took over: it did
	// not finish.
	TookOverFrom *gitops.Holder `json:"tookOverFrom,omitempty"`
	Reason       string         `json:"reason,omitempty"`
}

func (l *runLock) note() *leaseNote {
	if l == nil || l.lease == nil || l.lease.Previous == nil {
		return nil
	}
	return &leaseNote{TookOverFrom: l.lease.Previous, Reason: l.lease.TakeoverReason}
}

// printRunReport prints the run's report with what it says about the lease.
func printRunReport(w io.Writer, format string, rep *rotate.Report, lock *runLock) error {
	note := lock.note()
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*rotate.Report
			Lease *leaseNote `json:"lease,omitempty"`
		}{rep, note})
	}
	if err := printReport(w, format, rep); err != nil {
		return err
	}
	if note != nil {
		_, err := fmt.Fprintf(w, "lease: taken over from %s (%s): the previous run did not finish\n", note.TookOverFrom, note.Reason)
		return err
	}
	return nil
}

// checkTimeoutFlag refuses a --timeout that is given but not positive (a
// zero renewFlags.timeout, as the demo builds it, is the default).
func checkTimeoutFlag(cmd *cobra.Command, timeout time.Duration) error {
	if cmd.Flags().Changed("timeout") && timeout <= 0 {
		return usageErrorf("--timeout %s must be positive, e.g. --timeout 30m", timeout)
	}
	return nil
}

// observeLocked is observe for a command that writes (adopt): it holds this
// machine's lock and the lease on the remote from before the preflight
// until release is called, so it never overlaps a run.
func (a *app) observeLocked(ctx context.Context, command, output string, cfg *config.Config, adjust func(*rotate.Runner)) (runner *rotate.Runner, obs *rotate.Observation, release func(), err error) {
	traceID := newTraceID()
	log, err := a.newLogger(traceID)
	if err != nil {
		return nil, nil, nil, err
	}
	f := renewFlags{output: output, timeout: DefaultRunTimeout}
	lock, err := a.lockMachine(f, cfg, traceID, log)
	if err != nil {
		return nil, nil, nil, err
	}
	release = func() { lock.release(ctx) }
	w := &wiring{cfg: cfg, log: log, traceID: traceID, command: commandLine(os.Args[1:]), red: a.red}
	w.beforeClone = a.leaseBeforeClone(lock, f, w)
	if runner, err = w.newRunner(ctx); err != nil {
		release()
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, fmt.Errorf("%s: %w%s", command, err, nextAction(err))
	}
	if adjust != nil {
		adjust(runner)
	}
	if obs, err = runner.Preflight(ctx); err != nil {
		release()
		return nil, nil, nil, fmt.Errorf("%s: %w%s", command, err, nextAction(err))
	}
	return runner, obs, release, nil
}

// logDeadline says so when the run stopped at its deadline: the steps it
// did not reach failed with the deadline as their cause, and the alerts may
// not have been raised (they run under the same deadline).
func logDeadline(ctx context.Context, f renewFlags, log *logrus.Entry) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		log.WithField("timeout", f.timeout.String()).Error("the run reached its deadline (--timeout) before it finished: the steps it did not reach failed, and their alerts may be missing; the next run resumes from the state in Equifax and git")
	}
}
