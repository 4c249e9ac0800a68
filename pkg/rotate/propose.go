package rotate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/seal"
)

// Sealer writes sealed manifests of the new secrets into a checkout: one
// per item and environment, the kustomization updated. The seal package's
// SealedSecrets are the default (SealedSecrets).
type Sealer interface {
	Seal(ctx context.Context, fsys seal.FS, envs []seal.Environment, items []seal.Item) error
}

// SealedSecrets is the default Sealer: Bitnami SealedSecrets through the
// seal package.
type SealedSecrets struct{}

// Seal implements Sealer.
func (SealedSecrets) Seal(ctx context.Context, fsys seal.FS, envs []seal.Environment, items []seal.Item) error {
	_, err := seal.Write(ctx, fsys, envs, items)
	return err
}

var _ Sealer = SealedSecrets{}

func (r *Runner) sealer() Sealer {
	if r.Sealer != nil {
		return r.Sealer
	}
	return SealedSecrets{}
}

// proposePhase seals, commits, pushes and proposes the renewed keys: one
// pull request for the run, however many keys it renews (each key's state is
// in its manifests on the branch, so the body's marker does not grow), or
// one per key. Every group is pushed and proposed before any is merged, so
// that no merge moves the base under the next group's push.
func (a *applyRun) proposePhase(ctx context.Context, fresh []renewed) {
	r := a.r
	groups := [][]renewed{fresh}
	if r.Settings.PerKey {
		groups = groups[:0]
		for _, f := range fresh {
			groups = append(groups, []renewed{f})
		}
	}
	if len(fresh) == 0 {
		groups = nil
	}
	proposed := make([]forge.PR, len(groups))
	errs := make([]error, len(groups))
	for i, grp := range groups {
		proposed[i], errs[i] = r.propose(ctx, a.obs, grp, r.Settings.PerKey)
	}
	landErrs := make([]error, len(groups))
	for i := range groups {
		if errs[i] == nil {
			r.step(StepAutomerge)
			landErrs[i] = r.land(ctx, &proposed[i])
		}
	}
	for i, grp := range groups {
		pr, err := proposed[i], errs[i]
		for _, f := range grp {
			kr := KeyResult{Key: f.spec.Key, Action: f.plan.Action, Reason: f.plan.Reason, SecretID: f.result.Secret.SecretID, Fingerprint: f.result.ClientSecret.Fingerprint(), ExpiresAt: f.result.Secret.ExpiresAt}
			deadline := r.retiringUntil(f)
			switch {
			case err != nil:
				var se *StepError
				kr.Outcome, kr.Error, kr.Step, kr.Deadline = OutcomeFailed, err.Error(), "propose", deadline
				kr.Next = fmt.Sprintf("the new secret %s was minted, so the deployed secret %s is on its grace period until %s; the next run recovers the new secret by replaying the renew (within 24 hours) and proposes it — make sure it runs well before then", f.result.Secret.SecretID, orUnknown(f.plan.CurrentSecretID), until(deadline))
				if errors.As(err, &se) {
					kr.Step = se.Step
				}
			case landErrs[i] != nil:
				kr.Outcome, kr.PRURL, kr.Error, kr.Step, kr.Deadline = OutcomeFailed, pr.URL, landErrs[i].Error(), string(StepAutomerge), deadline
				kr.Next = fmt.Sprintf("%s could not be set to auto-merge (or merged) in %d tries; the next run tries again. Merge it by hand once its checks pass, before %s, when the deployed secret %s stops being valid", pr.URL, landAttempts, until(deadline), orUnknown(f.plan.CurrentSecretID))
			default:
				kr.Outcome, kr.PRURL = OutcomeProposed, pr.URL
				if pr.Merged {
					kr.Outcome = OutcomeMerged
				}
			}
			a.set(kr)
		}
		if err == nil {
			a.prs = append(a.prs, pr.URL)
		}
	}
}

// retiringUntil is when the secret a renew replaced stops being valid: the
// deadline of the rotation from the mint on.
func (r *Runner) retiringUntil(f renewed) time.Time {
	if p := f.result.PreviousSecret; p != nil {
		if t := validUntil(*p); !t.IsZero() {
			return t
		}
	}
	t := r.now().Add(r.Settings.GracePeriod)
	if iu := f.plan.InUseValidUntil; !iu.IsZero() && iu.Before(t) {
		t = iu
	}
	return t
}

// branchFor names the rotation branch of a group: the key for per-key pull
// requests, else a digest of the keys and their new secret ids, so that a
// re-run of the same rotation lands on the same branch.
func (r *Runner) branchFor(grp []renewed, perKey bool) string {
	if perKey {
		return r.Settings.BranchPrefix + string(grp[0].spec.Key)
	}
	h := sha256.New()
	for _, f := range grp {
		fmt.Fprintf(h, "%s=%s\n", f.spec.Key, f.result.Secret.SecretID)
	}
	return r.Settings.BranchPrefix + "rotate-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// propose seals the group, commits and pushes it, and opens or updates its
// pull request.
func (r *Runner) propose(ctx context.Context, obs *Observation, grp []renewed, perKey bool) (forge.PR, error) {
	now := r.now()
	branch := r.branchFor(grp, perKey)
	items := make([]seal.Item, 0, len(grp))
	state := forge.RotationState{Version: forge.StateVersion, TraceID: r.TraceID, Command: r.Settings.Command, MockSafe: r.Settings.MockSafe,
		RotatedAt: now, RenewBefore: r.Settings.RenewBefore, RunURL: r.Settings.RunURL}
	var keys, envs []string
	for _, e := range obs.Envs {
		envs = append(envs, e.Name)
	}
	emergency := false
	for _, f := range grp {
		keys = append(keys, string(f.spec.Key))
		md := credential.Metadata{ProviderKey: f.spec.Key, SecretID: f.result.Secret.SecretID, ExpiresAt: f.result.Secret.ExpiresAt, RotatedAt: now, TraceID: r.TraceID,
			PreviousSecretID: f.plan.CurrentSecretID, Emergency: f.plan.Emergency}
		items = append(items, seal.Item{Ref: f.spec.Secret, Value: f.result.ClientSecret, Metadata: md})
		ks := forge.KeyState{ProviderKey: string(f.spec.Key), ClientID: f.spec.ClientID, NewSecretID: f.result.Secret.SecretID, OldSecretID: f.plan.CurrentSecretID, Fingerprint: f.result.ClientSecret.Fingerprint(), ExpiresAt: f.result.Secret.ExpiresAt, Emergency: f.plan.Emergency,
			OldExpiresAt: f.plan.ExpiresAt, RetiringUntil: r.retiringUntil(f)}
		emergency = emergency || f.plan.Emergency
		for _, e := range obs.Envs {
			ks.Environments = append(ks.Environments, forge.EnvFile{Env: e.Name, Path: e.ManifestPath(f.spec.Key)})
		}
		state.Keys = append(state.Keys, ks)
	}
	log := r.Log.WithFields(logrus.Fields{"branch": branch, "keys": len(keys)})

	log.WithField("step", string(StepSeal)).Info("sealing for " + strings.Join(envs, ", "))
	sealed := false
	fresh := true
	for _, pr := range obs.openPRs {
		fresh = fresh && pr.Branch != branch
	}
	res, err := r.Repo.Publish(ctx, PublishRequest{
		Branch: branch, Keys: keys, Envs: envs, TraceID: r.TraceID, Fresh: fresh,
		Apply: func(ctx context.Context, fsys seal.FS) error {
			if err := r.sealer().Seal(ctx, fsys, obs.Envs, items); err != nil {
				return err
			}
			if !sealed {
				sealed = true
				r.step(StepSeal)
			}
			return nil
		},
	})
	if err != nil {
		return forge.PR{}, &StepError{Step: string(StepPush), Err: err}
	}
	r.step(StepPush)
	log.WithFields(logrus.Fields{"step": string(StepPush), "commit": res.CommitSHA, "attempts": res.Attempts}).Info("pushed the rotation branch")

	labels := r.Settings.Labels
	if emergency {
		labels = append(append([]string(nil), labels...), EmergencyLabel)
	}
	pr, created, err := r.Forge.EnsurePR(ctx, forge.PRSpec{
		Branch: branch, Base: r.Settings.BaseBranch, Title: forge.RenderTitle(state), Body: forge.RenderBody(state),
		Labels: labels, Reviewers: r.Settings.Reviewers, TeamReviewers: r.Settings.TeamReviewers,
		NewBranch: res.Created,
	})
	if err != nil {
		return forge.PR{}, &StepError{Step: "pull request", Err: err}
	}
	r.step(StepPR)
	log.WithFields(logrus.Fields{"step": string(StepPR), "pr": pr.URL, "created": created}).Info("rotation proposed")

	// Close pull requests this rotation supersedes, unless another key
	// still rides on them.
	for _, f := range grp {
		if old := f.plan.SupersedePR; old != nil && old.Number != pr.Number && !obs.resumes[old.Number] {
			if op, ok := obs.openPRs[old.Number]; ok {
				if err := r.Forge.ClosePR(ctx, op, "Superseded by "+pr.URL+": the secret this pull request carries is no longer valid at Equifax."); err != nil {
					log.WithError(err).Warn("could not close the superseded pull request")
				} else {
					r.step(StepClose)
				}
			}
		}
	}
	return pr, nil
}
