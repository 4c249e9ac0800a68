package rotate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/notify"
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
}

// Settings are the run's configuration, as plain values.
type Settings struct {
	BaseBranch      string
	BranchPrefix    string
	PerKey          bool
	Labels          []string
	Reviewers       []string
	TeamReviewers   []string
	AutoMerge       bool
	MergeMethod     string
	MergeStrategy   string // native | direct
	AlertLabels     []string
	ManagementScope string
	RenewBefore     time.Duration
	GracePeriod     time.Duration
	RevokeAfter     time.Duration
	Concurrency     int
	// MockSafe says the provider mutates nothing at Equifax; it is
	// reported in the summary and the pull request.
	MockSafe bool
	// Command is the command line of the run, for the pull request body.
	Command string
}

// MaxKeysPerPR bounds the keys of one pull request, so that its body and
// state marker stay within GitHub's limits; a run that renews more keys
// opens one pull request per MaxKeysPerPR keys.
const MaxKeysPerPR = 100

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
	// name: token, renew, verify, seal, push, pr, automerge. Tests use it
	// to stop the process at every boundary.
	AfterStep func(step string)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) step(name string) {
	if r.AfterStep != nil {
		r.AfterStep(name)
	}
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

// Preflight checks everything that can fail before the point of no return
// and reads the state the plan is made from. It changes nothing anywhere.
func (r *Runner) Preflight(ctx context.Context) (*Observation, error) {
	obs := &Observation{
		current: map[credential.ProviderKey]credential.Secret{},
		specs:   map[credential.ProviderKey]KeySpec{},
		openPRs: map[int]forge.PR{},
	}
	fail := func(step string, err error, next string) (*Observation, error) {
		return nil, &StepError{Step: "preflight " + step, Err: err, Next: next}
	}

	// Certificates of every environment.
	certOpts := r.CertOptions
	if certOpts.Now == nil {
		certOpts.Now = r.now
	}
	for _, e := range r.Envs {
		o := certOpts
		o.Fingerprint = e.CertFingerprint
		cert, warnings, err := seal.LoadCertificate(ctx, e.Name, e.Cert, o)
		if err != nil {
			return fail("certificates", err, "fix the certificate of environment "+e.Name+" (fetch the current one with `kubeseal --fetch-cert`)")
		}
		obs.Warnings = append(obs.Warnings, warnings...)
		obs.Envs = append(obs.Envs, seal.Environment{Name: e.Name, Path: e.Path, Cert: cert, Scope: e.Scope, Namespace: e.Namespace})
	}

	// Overlay folders exist on the base branch.
	var dirs []string
	for _, e := range r.Envs {
		fi, err := r.Repo.Stat(e.Path)
		if err != nil || !fi.IsDir() {
			return fail("overlays", fmt.Errorf("overlay folder %s of environment %s does not exist on branch %s", e.Path, e.Name, r.Settings.BaseBranch),
				"create it in the GitOps repository (with a kustomization.yaml that the overlay includes) or fix the environment's path")
		}
		dirs = append(dirs, e.Path)
	}

	// What the base branch deploys.
	manifests, err := seal.ReadManifests(ctx, r.Repo, dirs...)
	if err != nil {
		return fail("manifests", err, "fix or remove the file named above on the base branch")
	}

	// Open rotation pull requests and their state markers.
	prs, err := r.Forge.ListOpenPRs(ctx, r.Settings.BranchPrefix)
	if err != nil {
		return fail("pull requests", err, "check the GitHub token's access to the repository")
	}
	open := map[credential.ProviderKey]*OpenRotation{}
	for _, pr := range prs {
		st, ok, err := forge.ParseState(pr.Body)
		if err != nil || !ok {
			obs.Warnings = append(obs.Warnings, fmt.Sprintf("pull request #%d on %s has no readable credrotate state marker; it is left alone", pr.Number, pr.Branch))
			continue
		}
		obs.openPRs[pr.Number] = pr
		for _, ks := range st.Keys {
			k := credential.ProviderKey(ks.ProviderKey)
			if prev, dup := open[k]; dup && prev.Number > pr.Number {
				continue
			}
			open[k] = &OpenRotation{Number: pr.Number, URL: pr.URL, Branch: pr.Branch, NewSecretID: ks.NewSecretID, OldSecretID: ks.OldSecretID, Fingerprint: ks.Fingerprint, ExpiresAt: ks.ExpiresAt}
		}
	}

	// Current secrets, then Equifax's metadata (a token each), concurrently.
	byPath := make(map[string]seal.Manifest, len(manifests))
	for _, m := range manifests {
		byPath[m.Path] = m
	}
	obs.Keys = make([]KeyObservation, len(r.Keys))
	obs.index = make(map[credential.ProviderKey]int, len(r.Keys))
	for i, k := range r.Keys {
		sec, err := k.Current.Read(ctx)
		if err != nil {
			return fail("current secret", fmt.Errorf("%s: %w", k.Key, err), "make the current secret of "+string(k.Key)+" readable at "+k.Current.Describe())
		}
		obs.current[k.Key] = sec
		obs.specs[k.Key] = k
		ko := KeyObservation{Key: k.Key, ClientID: k.ClientID, Environments: len(r.Envs), Open: open[k.Key], CurrentFingerprint: sec.Fingerprint()}
		for _, e := range obs.Envs {
			if m, ok := byPath[e.ManifestPath(k.Key)]; ok && m.Metadata.ProviderKey == k.Key {
				ko.Deployed = append(ko.Deployed, Deployed{Env: e.Name, Path: m.Path, SecretID: m.Metadata.SecretID, Fingerprint: m.Metadata.Fingerprint, ExpiresAt: m.Metadata.ExpiresAt, RotatedAt: m.Metadata.RotatedAt})
			}
		}
		obs.Keys[i] = ko
		obs.index[k.Key] = i
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for i := range obs.Keys {
		g.Go(func() error {
			ko := &obs.Keys[i]
			if r.SkipQuiet && r.quiet(*ko) {
				ko.Quiet = true
				return nil
			}
			spec := obs.specs[ko.Key]
			info, err := spec.Provider.Describe(gctx, equifax.Credentials{ClientID: spec.ClientID, ClientSecret: obs.current[ko.Key]})
			if err != nil {
				next := "check the Equifax client and its current secret"
				if errors.Is(err, equifax.ErrUnauthorized) {
					next = "the current secret of " + string(ko.Key) + " is not accepted by Equifax: check " + spec.Current.Describe() + " holds the deployed secret"
				} else if equifax.Retryable(err) {
					next = "Equifax is unavailable; the next run retries"
				}
				return &StepError{Key: ko.Key, Step: "preflight describe", Err: err, Next: next}
			}
			ko.Client = info
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.step("token")
	return obs, nil
}

// quietMargin keeps a quiet key a day away from anything that could fall due.
const quietMargin = 24 * time.Hour

// quiet reports whether the manifests alone show that nothing can be due for
// a key (see SkipQuiet).
func (r *Runner) quiet(ko KeyObservation) bool {
	if ko.Open != nil || len(ko.Deployed) != ko.Environments || ko.Environments == 0 {
		return false
	}
	if _, ok := deployedSecretID(ko.Deployed); !ok {
		return false
	}
	now := r.now()
	for _, d := range ko.Deployed {
		switch {
		case d.Fingerprint == "" || d.Fingerprint != ko.CurrentFingerprint,
			d.ExpiresAt.IsZero() || !now.Before(d.ExpiresAt.Add(-r.Settings.RenewBefore-quietMargin)),
			d.RotatedAt.IsZero() || now.Sub(d.RotatedAt) < r.Settings.GracePeriod+quietMargin:
			return false
		}
	}
	return true
}

// client returns the Equifax metadata observed for key.
func (o *Observation) client(key credential.ProviderKey) equifax.ClientInfo {
	if i, ok := o.index[key]; ok {
		return o.Keys[i].Client
	}
	return equifax.ClientInfo{}
}

func (r *Runner) concurrency() int {
	if r.Settings.Concurrency < 1 {
		return 1
	}
	return r.Settings.Concurrency
}

// Plan decides what to do from an observation.
func (r *Runner) Plan(obs *Observation, cronMode bool) Plan {
	return MakePlan(obs.Keys, PlanOptions{CronMode: cronMode, RenewBefore: r.Settings.RenewBefore, RevokeAfter: r.Settings.RevokeAfter, Now: r.now()})
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
		if k.Outcome == OutcomeFailed || k.Outcome == OutcomeBlocked {
			return true
		}
	}
	return false
}

// renewed is a freshly minted and proven secret, ready to seal.
type renewed struct {
	spec   KeySpec
	plan   KeyPlan
	result equifax.RenewResult
}

// Apply carries out plan. Keys fail one by one: a failure of one never
// stops another, and a secret that was minted is always proposed or left
// recoverable by replay. The report lists every key; Apply returns an error
// only when the report could not be made.
func (r *Runner) Apply(ctx context.Context, obs *Observation, plan Plan) *Report {
	rep := &Report{TraceID: r.TraceID, MockSafe: r.Settings.MockSafe, Plan: plan}
	obs.resumes = map[int]bool{}
	for _, kp := range plan.Keys {
		if kp.Action == ActionResume {
			obs.resumes[kp.PR.Number] = true
		}
	}
	results := map[credential.ProviderKey]*KeyResult{}
	var mu sync.Mutex
	set := func(kr KeyResult) {
		mu.Lock()
		defer mu.Unlock()
		results[kr.Key] = &kr
	}
	failed := func(kp KeyPlan, step string, err error, next string) {
		r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "step": step}).WithError(err).Error("rotation step failed")
		set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeFailed, Reason: kp.Reason, Step: step, Error: err.Error(), Next: next})
	}

	// Finish and renew talk to Equifax, with bounded concurrency.
	var fresh []renewed
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for _, kp := range plan.Keys {
		log := r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "action": kp.Action, "state": kp.State})
		spec := obs.specs[kp.Key]
		creds := equifax.Credentials{ClientID: spec.ClientID, ClientSecret: obs.current[kp.Key]}
		switch kp.Action {
		case ActionNoop:
			log.WithField("step", "plan").Info("nothing to do: " + kp.Reason)
			set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeNoop, Reason: kp.Reason, SecretID: kp.CurrentSecretID, ExpiresAt: kp.ExpiresAt})
		case ActionBlocked:
			log.WithField("step", "plan").Warn("needs a person: " + kp.Reason)
			set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeBlocked, Reason: kp.Reason, Step: "plan", Error: kp.Reason, Next: kp.Reason})
		case ActionResume:
			// Handled with the pull requests below.
		case ActionFinish:
			g.Go(func() error {
				log.WithField("step", "revoke").Info("revoking the retired secret " + kp.RevokeSecretID)
				if err := spec.Provider.Revoke(gctx, creds, kp.RevokeSecretID); err != nil {
					failed(kp, "revoke", err, "the retired secret "+kp.RevokeSecretID+" is still valid until its grace period ends; the next run retries")
					return nil
				}
				set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeFinished, Reason: kp.Reason, SecretID: kp.CurrentSecretID, RevokedID: kp.RevokeSecretID, ExpiresAt: kp.ExpiresAt})
				return nil
			})
		case ActionRenew, ActionRecover:
			g.Go(func() error {
				res, step, err := r.renew(gctx, spec, creds, kp, obs.client(kp.Key), log)
				if err != nil {
					failed(kp, step, err, renewNext(step, err))
					return nil
				}
				mu.Lock()
				fresh = append(fresh, renewed{spec: spec, plan: kp, result: res})
				mu.Unlock()
				return nil
			})
		}
	}
	_ = g.Wait()
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].spec.Key < fresh[j].spec.Key })

	// Seal, commit, push and propose the renewed keys: one pull request for
	// the run, or one per key.
	size := MaxKeysPerPR
	if r.Settings.PerKey {
		size = 1
	}
	var groups [][]renewed
	for len(fresh) > 0 {
		n := min(size, len(fresh))
		groups, fresh = append(groups, fresh[:n]), fresh[n:]
	}
	// Every group is pushed and proposed before any is merged, so that no
	// merge moves the base under the next group's push.
	proposed := make([]forge.PR, len(groups))
	errs := make([]error, len(groups))
	for i, grp := range groups {
		proposed[i], errs[i] = r.propose(ctx, obs, grp)
	}
	for i := range groups {
		if errs[i] != nil {
			continue
		}
		r.step("automerge")
		if err := r.landPR(ctx, &proposed[i]); err != nil {
			r.Log.WithError(err).WithField("pr", proposed[i].URL).Warn("auto-merge could not be enabled; the pull request waits for a person")
		}
	}
	for i, grp := range groups {
		pr, err := proposed[i], errs[i]
		for _, f := range grp {
			kr := KeyResult{Key: f.spec.Key, Action: f.plan.Action, Reason: f.plan.Reason, SecretID: f.result.Secret.SecretID, Fingerprint: f.result.ClientSecret.Fingerprint(), ExpiresAt: f.result.Secret.ExpiresAt}
			if err != nil {
				var se *StepError
				kr.Outcome, kr.Error, kr.Step = OutcomeFailed, err.Error(), "propose"
				kr.Next = "the new secret " + f.result.Secret.SecretID + " was minted; re-run credrotate within 24 hours and it is recovered by replaying the renew"
				if errors.As(err, &se) {
					kr.Step = se.Step
				}
			} else {
				kr.Outcome, kr.PRURL = OutcomeProposed, pr.URL
				if pr.Merged {
					kr.Outcome = OutcomeMerged
				}
			}
			set(kr)
		}
		if err == nil {
			rep.PullRequests = append(rep.PullRequests, pr.URL)
		}
	}

	// Keep open rotation pull requests moving.
	resumed := map[int]bool{}
	for _, kp := range plan.Keys {
		if kp.Action != ActionResume {
			continue
		}
		pr := obs.openPRs[kp.PR.Number]
		if !resumed[pr.Number] {
			resumed[pr.Number] = true
			if err := r.landPR(ctx, &pr); err != nil {
				failed(kp, "automerge", err, "merge "+pr.URL+" by hand once its checks pass")
				continue
			}
		}
		out := OutcomeResumed
		if pr.Merged {
			out = OutcomeMerged
		}
		set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: out, Reason: kp.Reason, SecretID: kp.NewSecretID, PRURL: pr.URL})
	}

	for _, kp := range plan.Keys {
		if kr, ok := results[kp.Key]; ok {
			rep.Results = append(rep.Results, *kr)
		}
	}
	r.alerts(ctx, rep)
	r.notify(ctx, rep)
	return rep
}

// renew mints a new secret (or replays the renew that minted an orphan),
// and proves it with a token. It returns the step that failed.
func (r *Runner) renew(ctx context.Context, spec KeySpec, creds equifax.Credentials, kp KeyPlan, client equifax.ClientInfo, log *logrus.Entry) (equifax.RenewResult, string, error) {
	req := equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID), GracePeriod: r.Settings.GracePeriod}
	log.WithField("step", "renew").Info("renewing the client secret")
	res, err := spec.Provider.Renew(ctx, creds, req)
	if kp.Action == ActionRecover && err == nil && res.Secret.SecretID != kp.NewSecretID {
		err = fmt.Errorf("replaying the renew gave %s, not the orphan %s", res.Secret.SecretID, kp.NewSecretID)
	}
	if kp.Action == ActionRecover && err != nil && (errors.Is(err, equifax.ErrTooManySecrets) || errors.Is(err, equifax.ErrIdempotencyConflict)) {
		// Equifax no longer remembers the renew: the orphan's value is lost.
		// Revoke it (allowed while the older secret is valid) and renew anew.
		log.WithField("step", "renew").Warn("the orphan " + kp.NewSecretID + " cannot be recovered; revoking it and renewing again")
		if rerr := spec.Provider.Revoke(ctx, creds, kp.NewSecretID); rerr != nil {
			return res, "revoke orphan", rerr
		}
		req.IdempotencyKey = equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID+"/after/"+kp.NewSecretID)
		res, err = spec.Provider.Renew(ctx, creds, req)
	}
	// A replay can hand back a secret minted from the same current secret by
	// an earlier rotation that has since been revoked or has expired (its
	// pull request was superseded). Renew past it with a key of its own.
	for i := 0; err == nil && i < 3; i++ {
		dead, known := client.Find(res.Secret.SecretID)
		if !known || dead.Status.Valid() {
			break
		}
		log.WithField("step", "renew").Warn("the renew replayed " + dead.SecretID + ", which is " + string(dead.Status) + "; renewing past it")
		req.IdempotencyKey = equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID+"/after/"+dead.SecretID)
		res, err = spec.Provider.Renew(ctx, creds, req)
	}
	if err != nil {
		return res, "renew", err
	}
	r.step("renew")
	log.WithFields(logrus.Fields{"step": "renew", "secret_id": res.Secret.SecretID, "fingerprint": res.ClientSecret.Fingerprint(), "expires_at": res.Secret.ExpiresAt}).Info("new secret minted")

	if _, err := spec.Provider.Token(ctx, equifax.Credentials{ClientID: spec.ClientID, ClientSecret: res.ClientSecret}, r.Settings.ManagementScope); err != nil {
		return res, "verify", fmt.Errorf("the new secret %s does not obtain a token: %w", res.Secret.SecretID, err)
	}
	r.step("verify")
	log.WithField("step", "verify").Info("the new secret obtains a token")
	return res, "", nil
}

func renewNext(step string, err error) string {
	switch {
	case step == "verify":
		return "the new secret was minted but not accepted; the next run replays the renew and checks it again; if it keeps failing, contact Equifax"
	case errors.Is(err, equifax.ErrNotEligible):
		return "Equifax does not allow a renewal yet; the next run after the eligibility time renews"
	case equifax.Retryable(err):
		return "Equifax was unavailable; the current secret is untouched and the next run retries"
	case errors.Is(err, equifax.ErrUnauthorized), errors.Is(err, equifax.ErrForbidden):
		return "check the client's current secret and that it may manage its own secrets"
	}
	return "see the error; the current secret is untouched"
}

// branchFor names the rotation branch of a group: the key for per-key pull
// requests, else a digest of the keys and their new secret ids, so that a
// re-run of the same rotation lands on the same branch.
func (r *Runner) branchFor(grp []renewed) string {
	if r.Settings.PerKey {
		return r.Settings.BranchPrefix + string(grp[0].spec.Key)
	}
	h := sha256.New()
	for _, f := range grp {
		fmt.Fprintf(h, "%s=%s\n", f.spec.Key, f.result.Secret.SecretID)
	}
	return r.Settings.BranchPrefix + "rotate-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// propose seals the group, commits and pushes it, and opens or updates its
// pull request, then lets it land.
func (r *Runner) propose(ctx context.Context, obs *Observation, grp []renewed) (forge.PR, error) {
	now := r.now()
	branch := r.branchFor(grp)
	items := make([]seal.Item, 0, len(grp))
	state := forge.RotationState{Version: 1, TraceID: r.TraceID, Command: r.Settings.Command}
	var keys, envs []string
	for _, e := range obs.Envs {
		envs = append(envs, e.Name)
	}
	for _, f := range grp {
		keys = append(keys, string(f.spec.Key))
		md := credential.Metadata{ProviderKey: f.spec.Key, SecretID: f.result.Secret.SecretID, ExpiresAt: f.result.Secret.ExpiresAt, RotatedAt: now, TraceID: r.TraceID}
		items = append(items, seal.Item{Ref: f.spec.Secret, Value: f.result.ClientSecret, Metadata: md})
		ks := forge.KeyState{ProviderKey: string(f.spec.Key), ClientID: f.spec.ClientID, NewSecretID: f.result.Secret.SecretID, OldSecretID: f.plan.CurrentSecretID, Fingerprint: f.result.ClientSecret.Fingerprint(), ExpiresAt: f.result.Secret.ExpiresAt}
		for _, e := range obs.Envs {
			ks.Environments = append(ks.Environments, forge.EnvFile{Env: e.Name, Path: e.ManifestPath(f.spec.Key)})
		}
		state.Keys = append(state.Keys, ks)
	}
	log := r.Log.WithFields(logrus.Fields{"branch": branch, "keys": len(keys)})

	log.WithField("step", "seal").Info("sealing for " + strings.Join(envs, ", "))
	sealed := false
	res, err := r.Repo.Publish(ctx, PublishRequest{
		Branch: branch, Keys: keys, Envs: envs, TraceID: r.TraceID,
		Apply: func(ctx context.Context, fsys seal.FS) error {
			if _, err := seal.Write(ctx, fsys, obs.Envs, items); err != nil {
				return err
			}
			if !sealed {
				sealed = true
				r.step("seal")
			}
			return nil
		},
	})
	if err != nil {
		return forge.PR{}, &StepError{Step: "push", Err: err}
	}
	r.step("push")
	log.WithFields(logrus.Fields{"step": "push", "commit": res.CommitSHA, "attempts": res.Attempts}).Info("pushed the rotation branch")

	title := "credrotate: rotate " + strings.Join(keys, ", ")
	if len(title) > 120 {
		title = fmt.Sprintf("credrotate: rotate %d credentials", len(keys))
	}
	if r.Settings.MockSafe {
		// The secrets are mock-safe inventions: merging them would deploy
		// secrets Equifax does not know.
		title = "[mock-safe, do not merge] " + title
	}
	pr, created, err := r.Forge.EnsurePR(ctx, forge.PRSpec{
		Branch: branch, Base: r.Settings.BaseBranch, Title: title, Body: forge.RenderBody(state),
		Labels: r.Settings.Labels, Reviewers: r.Settings.Reviewers, TeamReviewers: r.Settings.TeamReviewers,
	})
	if err != nil {
		return forge.PR{}, &StepError{Step: "pull request", Err: err}
	}
	r.step("pr")
	log.WithFields(logrus.Fields{"step": "pr", "pr": pr.URL, "created": created}).Info("rotation proposed")

	// Close pull requests this rotation supersedes, unless another key
	// still rides on them.
	for _, f := range grp {
		if old := f.plan.SupersedePR; old != nil && old.Number != pr.Number && !obs.resumes[old.Number] {
			if op, ok := obs.openPRs[old.Number]; ok {
				if err := r.Forge.ClosePR(ctx, op, "Superseded by "+pr.URL+": the secret this pull request carries is no longer valid at Equifax."); err != nil {
					log.WithError(err).Warn("could not close the superseded pull request")
				}
			}
		}
	}
	return pr, nil
}

// landPR enables auto-merge (native) or merges once checks pass (direct).
func (r *Runner) landPR(ctx context.Context, pr *forge.PR) error {
	if !r.Settings.AutoMerge || pr.Merged {
		return nil
	}
	if r.Settings.MockSafe {
		r.Log.WithFields(logrus.Fields{"step": "automerge", "pr": pr.URL, "mock_safe": true}).Warn("mock-safe run: auto-merge is not enabled; close the pull request when done")
		return nil
	}
	log := r.Log.WithFields(logrus.Fields{"step": "automerge", "pr": pr.URL})
	if r.Settings.MergeStrategy == "direct" {
		merged, err := r.Forge.MergeIfGreen(ctx, *pr, r.Settings.MergeMethod)
		if err != nil {
			return err
		}
		pr.Merged = merged
		if merged {
			log.Info("merged")
		} else {
			log.Info("checks are not green yet; the next run merges")
		}
		return nil
	}
	if err := r.Forge.EnableAutoMerge(ctx, *pr, r.Settings.MergeMethod); err != nil {
		return err
	}
	// GitHub merges at once when the checks have already passed.
	if now, err := r.Forge.GetPR(ctx, pr.Number); err == nil && now.Merged {
		*pr = now
		log.Info("auto-merge enabled; merged")
		return nil
	}
	log.Info("auto-merge enabled; GitHub merges once the required checks pass")
	return nil
}

// alerts opens or updates an alert issue per failed key and closes those of
// keys that are fine again.
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
		key := "credrotate:" + string(kr.Key)
		switch kr.Outcome {
		case OutcomeFailed, OutcomeBlocked:
			iss, err := r.Forge.RaiseAlert(ctx, forge.Alert{Key: key, Title: "credrotate: rotation of " + string(kr.Key) + " needs attention", Body: alertBody(r.TraceID, *kr), Labels: r.Settings.AlertLabels})
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
	step, next := "preflight", "fix the problem above; nothing was renewed"
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
	return fmt.Sprintf("credrotate could not finish the rotation of `%s`.\n\n| | |\n|---|---|\n| trace id | `%s` |\n| step | %s |\n| error | %s |\n| next action | %s |\n", kr.Key, traceID, kr.Step, oneLine(kr.Error), oneLine(kr.Next))
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
		if kr.Outcome == OutcomeFailed || kr.Outcome == OutcomeBlocked {
			status = "failure"
			if e.AlertURL == "" {
				e.AlertURL = kr.AlertURL
			}
		}
		line := fmt.Sprintf("%s: %s", kr.Key, kr.Outcome)
		if kr.SecretID != "" {
			line += " " + kr.SecretID
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
