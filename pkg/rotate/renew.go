package rotate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/provider"
)

// renewed is a freshly minted and proven secret, ready to seal.
type renewed struct {
	spec   KeySpec
	plan   KeyPlan
	result equifax.RenewResult
}

// renewPhase talks to Equifax: it revokes the retired secrets of finished
// rotations and mints (or recovers) and proves the new secrets, with
// bounded concurrency. It returns the proven secrets, by key.
func (a *applyRun) renewPhase(ctx context.Context) []renewed {
	r, obs := a.r, a.obs
	var fresh []renewed
	closed := a.closeConflicting(ctx)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for _, kp := range a.plan.Keys {
		log := r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "action": kp.Action, "state": kp.State})
		spec := obs.specs[kp.Key]
		creds := equifax.Credentials{ClientID: spec.ClientID, ClientSecret: obs.current[kp.Key]}
		switch kp.Action {
		case ActionFinish:
			g.Go(func() error {
				log.WithField("step", string(StepRevoke)).Info("revoking the retired secret " + kp.RevokeSecretID)
				if err := spec.Provider.Revoke(gctx, creds, kp.RevokeSecretID); err != nil {
					a.failed(kp, StepRevoke, err, "the retired secret "+kp.RevokeSecretID+" is still valid until its grace period ends; the workload already uses the new one, and the next run retries the revoke", time.Time{})
					return nil
				}
				r.step(StepRevoke)
				a.set(KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeFinished, Reason: kp.Reason, SecretID: kp.CurrentSecretID, RevokedID: kp.RevokeSecretID, ExpiresAt: kp.ExpiresAt})
				return nil
			})
		case ActionRenew, ActionRecover, ActionReplace:
			if kp.Action == ActionReplace && !closed[kp.ConflictPR.Number] {
				continue
			}
			g.Go(func() error {
				if kp.Action == ActionReplace {
					// The pull request is closed and did not merge: its
					// secret was never deployed. Revoke it (allowed while
					// the deployed one is RETIRING) before renewing again.
					log.WithField("step", string(StepRevokeConflict)).Info("revoking " + kp.RevokeSecretID + ", the unused secret of the conflicting " + prRef(*kp.ConflictPR))
					if err := spec.Provider.Revoke(gctx, creds, kp.RevokeSecretID); err != nil {
						a.failed(kp, StepRevokeConflict, err, fmt.Sprintf("%s is closed; its secret %s could not be revoked; the next run recovers or revokes it and renews again, before %s, when %s stops being valid", prRef(*kp.ConflictPR), kp.RevokeSecretID, until(kp.InUseValidUntil), orUnknown(kp.InUseSecretID)), kp.InUseValidUntil)
						return nil
					}
					r.step(StepRevokeConflict)
				}
				res, step, err := r.renew(gctx, spec, creds, kp, obs.client(kp.Key), log)
				if err != nil {
					next, deadline := r.renewNext(spec.Provider, kp, step, err)
					a.failed(kp, step, err, next, deadline)
					return nil
				}
				a.mu.Lock()
				fresh = append(fresh, renewed{spec: spec, plan: kp, result: res})
				a.mu.Unlock()
				return nil
			})
		}
	}
	_ = g.Wait()
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].spec.Key < fresh[j].spec.Key })
	return fresh
}

// errUnproven reports a minted secret that never obtained a token.
var errUnproven = errors.New("the new secret did not obtain a token")

// errOrphanInUse reports an orphan that cannot be recovered and may be the
// secret the workload uses.
var errOrphanInUse = errors.New("the orphan cannot be recovered by replay and may be the secret in use")

// renew mints a new secret (or replays the renew that minted an orphan),
// and proves it with a token. It returns the step that failed.
func (r *Runner) renew(ctx context.Context, spec KeySpec, creds equifax.Credentials, kp KeyPlan, client equifax.ClientInfo, log *logrus.Entry) (equifax.RenewResult, Step, error) {
	req := equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID), GracePeriod: r.Settings.GracePeriod, Force: kp.Emergency}
	log.WithFields(logrus.Fields{"step": string(StepRenew), "emergency": kp.Emergency}).Info("renewing the client secret")
	if kp.Action == ActionReplace {
		// The renew from the deployed secret minted the revoked secret of
		// the conflicting pull request: renew past it with a key of its own.
		req.IdempotencyKey = equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID+"/after/"+kp.RevokeSecretID)
	}
	var res equifax.RenewResult
	var err error
	if kp.Action == ActionRecover && !spec.Provider.Rules().Replays {
		// A service that never replays a create would mint another secret:
		// the orphan's value is lost, so it is revoked and renewed anew
		// below, without asking.
		err = &provider.Error{Provider: spec.Provider.Name(), Op: "create", Kind: provider.ErrNotReplayable, Description: "the service does not replay a create"}
	} else {
		res, err = r.create(ctx, spec, creds, req, client, log)
		res, err = r.renewPastDead(ctx, spec, creds, kp, client, req, res, err, log)
	}
	if kp.Action == ActionRecover && err == nil && res.Secret.SecretID != kp.NewSecretID {
		err = fmt.Errorf("replaying the renew gave %s, not the orphan %s", res.Secret.SecretID, kp.NewSecretID)
	}
	if kp.Action == ActionRecover && err != nil && (errors.Is(err, equifax.ErrTooManySecrets) || errors.Is(err, equifax.ErrIdempotencyConflict) || errors.Is(err, provider.ErrNotReplayable)) {
		if kp.KeepOrphan {
			return res, StepRenew, fmt.Errorf("%w: %s (%v)", errOrphanInUse, kp.NewSecretID, err)
		}
		// The service no longer remembers the create (or never replays
		// one): the orphan's value is lost.
		// Revoke it (allowed while the older secret is valid) and renew anew.
		log.WithField("step", string(StepRenew)).Warn("the orphan " + kp.NewSecretID + " cannot be recovered; revoking it and renewing again")
		if rerr := spec.Provider.Revoke(ctx, creds, kp.NewSecretID); rerr != nil {
			return res, StepRevokeOrphan, rerr
		}
		r.step(StepRevokeOrphan)
		req.IdempotencyKey = equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID+"/after/"+kp.NewSecretID)
		res, err = r.create(ctx, spec, creds, req, client, log)
	}
	res, err = r.renewPastDead(ctx, spec, creds, kp, client, req, res, err, log)
	if err != nil {
		return res, StepRenew, err
	}
	r.step(StepRenew)
	log.WithFields(logrus.Fields{"step": string(StepRenew), "secret_id": res.Secret.SecretID, "fingerprint": res.ClientSecret.Fingerprint(), "expires_at": res.Secret.ExpiresAt}).Info("new secret minted")

	if err := r.prove(ctx, spec, res, log); err != nil {
		// Never seal or propose a secret that does not work. The deployed
		// secret stays in place; the unproven one is revoked, so the next
		// run renews afresh instead of replaying it.
		if rerr := spec.Provider.Revoke(ctx, creds, res.Secret.SecretID); rerr != nil {
			return res, StepVerify, fmt.Errorf("%w: %s (%v); revoking it failed too: %v", errUnproven, res.Secret.SecretID, err, rerr)
		}
		r.step(StepRevokeUnproven)
		log.WithFields(logrus.Fields{"step": string(StepRevokeUnproven), "secret_id": res.Secret.SecretID}).Warn("the new secret never obtained a token; it was revoked")
		return res, StepVerify, fmt.Errorf("%w within %s: %s was revoked: %v", errUnproven, r.proofTimeout(spec.Provider), res.Secret.SecretID, err)
	}
	r.step(StepVerify)
	log.WithField("step", string(StepVerify)).Info("the new secret obtains a token")
	return res, "", nil
}

// create asks the provider for a new secret. A service that does not replay
// creates may still carry out one whose answer never came (a timeout, a lost
// connection, a 5xx), after the run gave up on it: its secret, whose value
// nobody holds, would land beside the one the next run creates (a third
// valid secret, or one over the service's limit). So after such a failure
// the run waits out the provider's settle time while it still holds the
// lease, looks again, and revokes whatever secret appeared meanwhile; the
// next run then renews afresh. before is the client as the preflight
// described it.
func (r *Runner) create(ctx context.Context, spec KeySpec, creds equifax.Credentials, req equifax.RenewRequest, before equifax.ClientInfo, log *logrus.Entry) (equifax.RenewResult, error) {
	res, err := spec.Provider.Create(ctx, creds, req)
	if err == nil || spec.Provider.Rules().Replays || !createInDoubt(err) {
		return res, err
	}
	failedAt := r.now()
	settle := r.createSettle(spec.Provider)
	if answered(err) {
		// The service answered, so it carried the create out: the secret
		// is there to find now.
		settle = 0
	}
	e := &unansweredCreate{err: err, settle: settle}
	log = log.WithField("step", string(StepRenew))
	log.WithError(err).Warnf("the create was not answered; looking for a secret it may have minted in %s", settle)
	if settle > 0 {
		if serr := r.sleep(ctx, failedAt.Add(settle).Sub(r.now())); serr != nil {
			e.lookErr = serr
			return res, e
		}
	}
	after, derr := spec.Provider.Describe(ctx, creds)
	if derr != nil {
		e.lookErr = derr
		return res, e
	}
	for _, s := range after.Secrets {
		if _, known := before.Find(s.SecretID); known || s.Foreign || !s.Status.Valid() {
			continue
		}
		if rerr := spec.Provider.Revoke(ctx, creds, s.SecretID); rerr != nil {
			e.lookErr = fmt.Errorf("revoking %s: %w", s.SecretID, rerr)
			return res, e
		}
		r.step(StepRevokeOrphan)
		log.WithField("secret_id", s.SecretID).Warn("the unanswered create minted " + s.SecretID + ", whose value is lost; it was revoked")
		e.revoked = append(e.revoked, s.SecretID)
	}
	return res, e
}

// createInDoubt reports whether a failed create may have been carried out:
// no answer, a 5xx other than 503 (which the services use to refuse work),
// or an answer that could not be read.
func createInDoubt(err error) bool {
	if refusedUnperformed(err) {
		return false
	}
	if errors.Is(err, equifax.ErrMalformedResponse) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pe *provider.Error
	var e *equifax.Error
	switch {
	case errors.As(err, &pe):
		return errors.Is(err, provider.ErrTransient) && (pe.HTTPStatus == 0 || pe.HTTPStatus >= 500)
	case errors.As(err, &e):
		return errors.Is(err, equifax.ErrTransient) && (e.HTTPStatus == 0 || e.HTTPStatus >= 500)
	}
	return errors.Is(err, equifax.ErrTransient)
}

// answered reports whether a failed create came with a success answer that
// could not be read: the service carried it out.
func answered(err error) bool {
	var pe *provider.Error
	var e *equifax.Error
	switch {
	case errors.As(err, &pe):
		return errors.Is(err, provider.ErrMalformedResponse) && pe.HTTPStatus >= 200 && pe.HTTPStatus < 300
	case errors.As(err, &e):
		return errors.Is(err, equifax.ErrMalformedResponse) && e.HTTPStatus >= 200 && e.HTTPStatus < 300
	}
	return false
}

// unansweredCreate is a create that may have been carried out, after the
// run looked for what it minted.
type unansweredCreate struct {
	err     error
	settle  time.Duration
	revoked []string // the secrets it minted, revoked
	lookErr error    // why the run could not look (or revoke), if it could not
}

func (e *unansweredCreate) Error() string {
	msg := e.err.Error()
	switch {
	case e.lookErr != nil:
		return msg + "; looking for a secret it may have minted failed: " + e.lookErr.Error()
	case len(e.revoked) > 0:
		return msg + "; it minted " + strings.Join(e.revoked, ", ") + ", whose value is lost: revoked"
	}
	return msg + fmt.Sprintf("; nothing it could have minted appeared within %s", e.settle)
}

func (e *unansweredCreate) Unwrap() error { return e.err }

// createSettle is how long an unanswered create of p may still land.
func (r *Runner) createSettle(p Provider) time.Duration {
	switch {
	case r.Settings.CreateSettle > 0:
		return r.Settings.CreateSettle
	case p.Rules().CreateSettle > 0:
		return p.Rules().CreateSettle
	}
	return provider.DefaultCreateSettle
}

// renewPastDead: a replay can hand back a secret minted from the same
// current secret by an earlier rotation that has since been revoked or has
// expired (its pull request was superseded or conflicted, or it never proved
// itself). Renew past it with a key of its own.
func (r *Runner) renewPastDead(ctx context.Context, spec KeySpec, creds equifax.Credentials, kp KeyPlan, client equifax.ClientInfo, req equifax.RenewRequest, res equifax.RenewResult, err error, log *logrus.Entry) (equifax.RenewResult, error) {
	for i := 0; err == nil && i < 3; i++ {
		dead, known := client.Find(res.Secret.SecretID)
		if kp.Action == ActionReplace && res.Secret.SecretID == kp.RevokeSecretID {
			dead, known = equifax.SecretInfo{SecretID: kp.RevokeSecretID, Status: equifax.StatusRevoked}, true
		}
		if !known || dead.Status.Valid() {
			break
		}
		log.WithField("step", string(StepRenew)).Warn("the renew replayed " + dead.SecretID + ", which is " + string(dead.Status) + "; renewing past it")
		req.IdempotencyKey = equifax.IdempotencyKey(spec.ClientID, kp.CurrentSecretID+"/after/"+dead.SecretID)
		res, err = spec.Provider.Create(ctx, creds, req)
	}
	return res, err
}

// closeConflicting closes, one by one and before anything is revoked, the
// pull requests the plan replaces because they conflict with the base
// branch, and confirms each did not merge. It returns the ones closed.
func (a *applyRun) closeConflicting(ctx context.Context) map[int]bool {
	closed, tried := map[int]bool{}, map[int]bool{}
	for _, kp := range a.plan.Keys {
		if kp.Action != ActionReplace {
			continue
		}
		n := kp.ConflictPR.Number
		if !tried[n] {
			tried[n] = true
			closed[n] = a.closeConflict(ctx, kp)
		}
		if !closed[n] {
			a.failed(kp, StepCloseConflict, fmt.Errorf("%s conflicts with the base branch and could not be closed safely", prRef(*kp.ConflictPR)), fmt.Sprintf("nothing was revoked; the next run tries again. Close %s by hand (its secret %s is not deployed) before %s, when %s stops being valid", prRef(*kp.ConflictPR), kp.RevokeSecretID, until(kp.InUseValidUntil), orUnknown(kp.InUseSecretID)), kp.InUseValidUntil)
		}
	}
	return closed
}

func (a *applyRun) closeConflict(ctx context.Context, kp KeyPlan) bool {
	r, obs := a.r, a.obs
	n := kp.ConflictPR.Number
	log := r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "step": string(StepCloseConflict), "pr": kp.ConflictPR.URL})
	pr, ok := obs.openPRs[n]
	if !ok || obs.resumes[n] {
		log.Warn("the conflicting pull request carries another key that is resumed; it is left open")
		return false
	}
	comment := fmt.Sprintf("Closed by credrotate (trace %s): this pull request conflicts with the base branch %s (a person changed the files it rotates there), so it cannot merge. Its new secrets were never deployed; they are revoked and the rotation is proposed again on the current base.", r.TraceID, r.Settings.BaseBranch)
	if err := r.Forge.ClosePR(ctx, pr, comment); err != nil {
		log.WithError(err).Warn("could not close the conflicting pull request")
		return false
	}
	// Never revoke a secret that may have merged in the meantime.
	now, err := r.Forge.GetPR(ctx, n)
	if err != nil || now.Merged || now.Open() {
		log.WithError(err).Warn("could not confirm that the conflicting pull request is closed unmerged; nothing is revoked")
		return false
	}
	r.step(StepCloseConflict)
	log.Info("closed the conflicting pull request")
	return true
}

// prove obtains a token with the new secret: the proof before promotion. A
// provider may refuse a new secret for a while (Entra ID does for seconds
// after addPassword), so a refusal is retried with backoff within
// ProofTimeout (counted in planned waits, so a test's clock need not move).
func (r *Runner) prove(ctx context.Context, spec KeySpec, res equifax.RenewResult, log *logrus.Entry) error {
	client := equifax.Credentials{ClientID: spec.ClientID}
	wait, waited := 500*time.Millisecond, time.Duration(0)
	for {
		err := spec.Provider.Verify(ctx, client, res.ClientSecret)
		if err == nil {
			return nil
		}
		if waited+wait > r.proofTimeout(spec.Provider) || ctx.Err() != nil {
			return err
		}
		log.WithFields(logrus.Fields{"step": string(StepVerify), "secret_id": res.Secret.SecretID, "retry_in": wait.String()}).WithError(err).Warn("the new secret does not obtain a token yet; retrying")
		if serr := r.sleep(ctx, wait); serr != nil {
			return err
		}
		waited += wait
		wait = min(2*wait, 5*time.Second)
	}
}

// refusedUnperformed reports an answer that says the renew was not carried
// out: a rate limit or 503 Service Unavailable, from Equifax or from any
// other provider. Any other failure without a definite answer (a 500, a
// 504, a timeout, a lost connection) may come after the mint.
func refusedUnperformed(err error) bool {
	if errors.Is(err, equifax.ErrRateLimited) {
		return true
	}
	var e *equifax.Error
	var pe *provider.Error
	return errors.As(err, &e) && e.HTTPStatus == http.StatusServiceUnavailable ||
		errors.As(err, &pe) && pe.HTTPStatus == http.StatusServiceUnavailable
}

// renewNext says what a person should know about a failed renew, and until
// when the secret in use is valid. Once a renew may have minted, the old
// secret is on its grace period: that is the deadline.
func (r *Runner) renewNext(p Provider, kp KeyPlan, step Step, err error) (string, time.Time) {
	svc := serviceName(p)
	grace := r.now().Add(r.Settings.GracePeriod)
	if !kp.InUseValidUntil.IsZero() && kp.InUseValidUntil.Before(grace) || r.Settings.GracePeriod <= 0 || !p.Rules().RetiresOnCreate {
		grace = kp.InUseValidUntil
	}
	inUse := orUnknown(kp.InUseSecretID)
	var unanswered *unansweredCreate
	onGrace, recovers := "is on its grace period until", "replays the renew"
	if !p.Rules().RetiresOnCreate {
		onGrace = "stays valid until"
	}
	if !p.Rules().Replays {
		recovers = "revokes the unproven secret and renews again"
	}
	switch {
	case errors.Is(err, errOrphanInUse):
		return fmt.Sprintf("%s no longer replays the create that minted %s and no manifest says the workload does not use it, so it is not revoked: find out which secret the workload holds, then `credrotate adopt --provider-key %s` it (or revoke %s at %s if it is unused)", svc, kp.NewSecretID, kp.Key, kp.NewSecretID, svc), kp.InUseValidUntil
	case errors.Is(err, errUnproven):
		why := " (renewing retired it)"
		if !p.Rules().RetiresOnCreate {
			why = ""
		}
		return fmt.Sprintf("the new secret never obtained a token and was revoked; nothing was sealed or proposed. The deployed secret %s %s %s%s; the next run renews again; if new secrets keep failing, contact %s", inUse, onGrace, until(grace), why, svc), grace
	case step == StepVerify:
		return fmt.Sprintf("the new secret was minted but not proven; the deployed secret %s %s %s; the next run %s and checks it again", inUse, onGrace, until(grace), recovers), grace
	case step == StepRevokeOrphan:
		return fmt.Sprintf("the orphan %s could not be revoked; the deployed secret %s stays valid until %s; the next run tries again", kp.NewSecretID, inUse, until(kp.InUseValidUntil)), kp.InUseValidUntil
	case refusedUnperformed(err):
		return fmt.Sprintf("%s was unavailable and refused the renew, so nothing was minted; the current secret %s is untouched (valid until %s) and the next run retries", svc, inUse, until(kp.InUseValidUntil)), kp.InUseValidUntil
	case errors.Is(err, equifax.ErrNotEligible):
		return svc + " does not allow a renewal yet; the next run after the eligibility time renews", kp.InUseValidUntil
	case errors.As(err, &unanswered) && unanswered.lookErr == nil:
		return fmt.Sprintf("%s did not answer the renew; the run looked again after %s and nothing it may have minted is left valid, so nothing was sealed or proposed; the deployed secret %s stays valid until %s and the next run renews again", svc, unanswered.settle, inUse, until(kp.InUseValidUntil)), kp.InUseValidUntil
	case equifax.Retryable(err), errors.Is(err, equifax.ErrMalformedResponse):
		if !p.Rules().Replays {
			return fmt.Sprintf("%s did not answer the renew, so a new secret may have been minted: if so, the next run finds it, revokes it (its value is lost) and renews again; the deployed secret %s stays valid until %s", svc, inUse, until(grace)), grace
		}
		return fmt.Sprintf("%s did not answer the renew, so a new secret may have been minted: if so, the deployed secret %s is on its grace period until %s; the next run recovers the new secret by replaying the renew (same Idempotency-Key, within 24 hours) — make sure it runs well before then", svc, inUse, until(grace)), grace
	case errors.Is(err, equifax.ErrUnauthorized), errors.Is(err, equifax.ErrForbidden):
		return "check the client's current secret and that it may manage its own secrets; nothing was minted", kp.InUseValidUntil
	}
	return "see the error; if " + svc + " minted a secret, the deployed one stays valid until " + until(grace) + " and the next run recovers or revokes it", grace
}
