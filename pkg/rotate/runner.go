package rotate

import (
	"context"
	"github.com/credrotate/credrotate/pkg/provider"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/seal"
)

// KeySpec is one provider key as configured.
type KeySpec struct {
	Key      credential.ProviderKey
	ClientID string
	Provider Provider
	Current  SecretReader
	Secret   seal.SecretRef
}

// EnvSpec is one environment as configured; Preflight loads its certificate.
type EnvSpec struct {
	Name            string
	Path            string
	Cert            seal.CertSource
	CertFingerprint string
	Scope           seal.Scope
	Namespace       string
	// Encryption is the environment's format; "" is SealedSecrets. For
	// seal.EncryptionSOPS, Encoder writes the manifests and Cert is unused.
	Encryption seal.Encryption
	Encoder    seal.Encoder
}

// Settings are the run's configuration, as plain values.
type Settings struct {
	BaseBranch    string
	BranchPrefix  string
	PerKey        bool
	Labels        []string
	Reviewers     []string
	TeamReviewers []string
	AutoMerge     bool
	MergeMethod   string
	MergeStrategy string // native | direct
	AlertLabels   []string
	RenewBefore   time.Duration
	GracePeriod   time.Duration
	RevokeAfter   time.Duration
	Concurrency   int
	// MockSafe says the provider mutates nothing at Equifax; it is
	// reported in the summary and the pull request.
	MockSafe bool
	// Command is the command line of the run, for the pull request body.
	Command string
	// RunURL links the CI run (a GitHub Actions run) for the pull request
	// body; empty when the run is not one.
	RunURL string
	// CriticalBefore is the expiry guard: a key whose secret in use stops
	// being valid within it, and is not replaced in this run, raises a
	// critical alert on every run. Zero is DefaultCriticalBefore.
	CriticalBefore time.Duration
	// ProofTimeout bounds how long a new secret may take to obtain its
	// first token (some providers refuse a new secret for seconds); the
	// proof is retried with backoff within it. Zero is DefaultProofTimeout.
	ProofTimeout time.Duration
	// CreateSettle overrides every provider's Rules.CreateSettle (how long
	// an unanswered create may still land); zero keeps each provider's.
	CreateSettle time.Duration
	// Emergency renews the selected keys now whatever the window, with the
	// contract's force, labels the pull request EmergencyLabel and says so
	// in its body (a leaked secret).
	Emergency bool
}

// Defaults of the Settings whose zero value means "the default".
const (
	DefaultCriticalBefore = 72 * time.Hour
	DefaultProofTimeout   = 30 * time.Second
	// EmergencyLabel is added to the configured labels of an emergency
	// rotation's pull request.
	EmergencyLabel = "emergency"
	// landAttempts bounds the tries to enable auto-merge (or merge) within
	// one run; the next run's resume tries again.
	landAttempts = 3
)

// Runner runs rotations. Build one per run.
type Runner struct {
	Log      *logrus.Entry
	TraceID  string
	Keys     []KeySpec
	Envs     []EnvSpec
	Settings Settings
	Repo     Repo
	Forge    Forge
	Notifier Notifier
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// CertOptions tune certificate loading (HTTP client, clock).
	CertOptions seal.LoadOptions
	// SkipQuiet, for scheduled runs, leaves out of the Equifax calls the
	// keys whose manifests show that nothing can be due: far from their
	// renewal window, no open pull request, the last rotation older than the
	// grace period, and the workload using the deployed secret.
	SkipQuiet bool
	// AfterStep, when set, is called at each step boundary with the step's
	// name (CrashPoints: token, renew, verify, seal, push, pr, automerge,
	// ...). Tests use it to stop the process at every boundary.
	AfterStep func(step string)
	// OnStep is AfterStep with the typed step.
	OnStep func(step Step)
	// Sealer seals the new secrets into the checkout; nil is the seal
	// package (SealedSecrets).
	Sealer Sealer
	// Sleep waits between retries; nil waits on a timer (tests pass one
	// that returns at once).
	Sleep func(ctx context.Context, d time.Duration) error
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) step(s Step) {
	if r.OnStep != nil {
		r.OnStep(s)
	}
	if r.AfterStep != nil {
		r.AfterStep(string(s))
	}
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Runner) criticalBefore() time.Duration {
	if r.Settings.CriticalBefore > 0 {
		return r.Settings.CriticalBefore
	}
	return DefaultCriticalBefore
}

// proofTimeout is ProofTimeout (or its default), and never less than the
// propagation delay the provider's rules name.
func (r *Runner) proofTimeout(p Provider) time.Duration {
	d := DefaultProofTimeout
	if r.Settings.ProofTimeout > 0 {
		d = r.Settings.ProofTimeout
	}
	if p != nil {
		d = max(d, p.Rules().Propagation)
	}
	return d
}

// serviceName names a provider's service for people.
func serviceName(p Provider) string {
	if p == nil {
		return "the provider"
	}
	return provider.Title(p.Name())
}

// Observation is what Preflight read: the inputs of the plan, and what
// Apply needs to act on it.
type Observation struct {
	Keys    []KeyObservation
	Envs    []seal.Environment
	current map[credential.ProviderKey]credential.Secret
	specs   map[credential.ProviderKey]KeySpec
	openPRs map[int]forge.PR
	// index finds a key's place in Keys.
	index map[credential.ProviderKey]int
	// resumes marks open pull requests that a key of the plan resumes.
	resumes map[int]bool
	// Warnings are worth a person's attention but do not stop the run.
	Warnings []string
}

// StepError is a failure with the step it happened in and what a person
// should do next.
type StepError struct {
	Key  credential.ProviderKey
	Step string
	Err  error
	Next string
}

func (e *StepError) Error() string {
	s := e.Step + ": " + e.Err.Error()
	if e.Key != "" {
		s = string(e.Key) + ": " + s
	}
	return s
}

func (e *StepError) Unwrap() error { return e.Err }

// Plan decides what to do from an observation.
func (r *Runner) Plan(obs *Observation, cronMode bool) Plan {
	return MakePlan(obs.Keys, PlanOptions{CronMode: cronMode, RenewBefore: r.Settings.RenewBefore, RevokeAfter: r.Settings.RevokeAfter, Emergency: r.Settings.Emergency, Now: r.now()})
}

// Outcome is what happened to one key.
type Outcome string

// Outcomes of a key in a run.
const (
	OutcomeNoop     Outcome = "noop"
	OutcomeProposed Outcome = "proposed"
	OutcomeMerged   Outcome = "merged"
	OutcomeResumed  Outcome = "resumed"
	OutcomeFinished Outcome = "finished"
	OutcomeBlocked  Outcome = "blocked"
	OutcomeFailed   Outcome = "failed"
)

// KeyResult is one key's line of the run summary.
type KeyResult struct {
	Key         credential.ProviderKey `json:"providerKey"`
	Action      Action                 `json:"action"`
	Outcome     Outcome                `json:"outcome"`
	Reason      string                 `json:"reason"`
	SecretID    string                 `json:"secretId,omitempty"`
	Fingerprint string                 `json:"fingerprint,omitempty"`
	ExpiresAt   time.Time              `json:"expiresAt,omitzero"`
	RevokedID   string                 `json:"revokedSecretId,omitempty"`
	PRURL       string                 `json:"pullRequest,omitempty"`
	Step        string                 `json:"failedStep,omitempty"`
	Error       string                 `json:"error,omitempty"`
	Next        string                 `json:"nextAction,omitempty"`
	AlertURL    string                 `json:"alert,omitempty"`
	// Critical is the expiry guard's message: the secret in use stops
	// being valid within Settings.CriticalBefore and is not replaced in
	// this run.
	Critical string `json:"critical,omitempty"`
	// Deadline is when the secret in use stops being valid, for a key
	// whose rotation is in flight or failed.
	Deadline time.Time `json:"deadline,omitzero"`
}

// Report is the run's result.
type Report struct {
	TraceID      string      `json:"traceId"`
	MockSafe     bool        `json:"mockSafe,omitempty"`
	Plan         Plan        `json:"plan"`
	Results      []KeyResult `json:"results"`
	PullRequests []string    `json:"pullRequests,omitempty"`
}

// Failed reports whether any key failed or needs a person.
func (rep *Report) Failed() bool {
	for _, k := range rep.Results {
		if k.Outcome == OutcomeFailed || k.Outcome == OutcomeBlocked || k.Critical != "" {
			return true
		}
	}
	return false
}

// applyRun is one Apply: the plan, the observation and the results as the
// phases fill them in.
type applyRun struct {
	r    *Runner
	obs  *Observation
	plan Plan

	mu      sync.Mutex
	results map[credential.ProviderKey]*KeyResult
	prs     []string
}

func (a *applyRun) set(kr KeyResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.results[kr.Key] = &kr
}

// failed records a key's failure at step; the deadline, when known, is when
// the secret in use stops being valid.
func (a *applyRun) failed(kp KeyPlan, step Step, err error, next string, deadline time.Time) {
	a.r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "step": string(step)}).WithError(err).Error("rotation step failed")
	a.set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeFailed, Reason: kp.Reason, Step: string(step), Error: err.Error(), Next: next, Deadline: deadline})
}

// Apply carries out plan, phase by phase:
//
//	renew    finish (revoke retired secrets) and renew or recover, per key,
//	         with bounded concurrency (renew.go)
//	propose  seal, commit, push and open one pull request per group, then
//	         land each (propose.go, land.go)
//	land     close stale and duplicate pull requests, keep the open ones
//	         moving (land.go)
//	report   the expiry guard, alert issues, the webhook (report.go)
//
// Keys fail one by one: a failure of one never stops another, and a secret
// that was minted is always proposed or left recoverable by replay. The
// report lists every key.
func (r *Runner) Apply(ctx context.Context, obs *Observation, plan Plan) *Report {
	rep := &Report{TraceID: r.TraceID, MockSafe: r.Settings.MockSafe, Plan: plan}
	a := &applyRun{r: r, obs: obs, plan: plan, results: map[credential.ProviderKey]*KeyResult{}}
	obs.resumes = map[int]bool{}
	for _, kp := range plan.Keys {
		if kp.Action == ActionResume {
			obs.resumes[kp.PR.Number] = true
		}
	}
	for _, kp := range plan.Keys {
		log := r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "action": kp.Action, "state": kp.State, "step": "plan"})
		switch kp.Action {
		case ActionNoop:
			log.Info("nothing to do: " + kp.Reason)
			a.set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeNoop, Reason: kp.Reason, SecretID: kp.CurrentSecretID, ExpiresAt: kp.ExpiresAt})
		case ActionBlocked:
			log.Warn("needs a person: " + kp.Reason)
			a.set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeBlocked, Reason: kp.Reason, Step: "plan", Error: kp.Reason, Next: kp.Reason, Deadline: kp.InUseValidUntil})
		case ActionRetry:
			ko := obs.Keys[obs.index[kp.Key]]
			a.set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeFailed, Reason: kp.Reason, Step: string(StepDescribe), Error: ko.DescribeErr.Error(), Next: ko.DescribeNext, SecretID: kp.CurrentSecretID, ExpiresAt: kp.ExpiresAt})
		}
	}
	fresh := a.renewPhase(ctx)
	a.proposePhase(ctx, fresh)
	a.landPhase(ctx)

	for _, kp := range plan.Keys {
		if kr, ok := a.results[kp.Key]; ok {
			rep.Results = append(rep.Results, *kr)
		}
	}
	rep.PullRequests = a.prs
	r.guardExpiry(rep)
	r.alerts(ctx, rep)
	r.notify(ctx, rep)
	return rep
}
