package rotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/forge"
)

// landPhase closes the stale and duplicate pull requests of the plan and
// keeps the open rotation pull requests moving.
func (a *applyRun) landPhase(ctx context.Context) {
	r, obs := a.r, a.obs
	keep, keepBranch := map[int]bool{}, map[string]bool{}
	for _, kp := range a.plan.Keys {
		if kp.PR != nil {
			keep[kp.PR.Number] = true
			keepBranch[obs.openPRs[kp.PR.Number].Branch] = true
		}
	}
	closer, keepsBranch := r.Forge.(BranchKeepingCloser)
	closed := map[int]bool{}
	for _, kp := range a.plan.Keys {
		for _, c := range kp.Close {
			n := c.PR.Number
			if closed[n] || keep[n] || obs.resumes[n] {
				continue
			}
			pr, ok := obs.openPRs[n]
			if !ok {
				continue
			}
			log := r.Log.WithFields(logrus.Fields{"provider_key": kp.Key, "step": string(StepClose), "pr": pr.URL})
			comment := "Closed by credrotate (trace " + r.TraceID + "): " + c.Why + "."
			closeIt := r.Forge.ClosePR
			if keepBranch[pr.Branch] {
				if !keepsBranch {
					// Closing it would delete the branch the kept pull
					// request merges from.
					log.Warn("a duplicate pull request shares its branch with the one kept; it is closed once that one merges")
					continue
				}
				closeIt = closer.ClosePRKeepBranch
			}
			closed[n] = true
			if err := closeIt(ctx, pr, comment); err != nil {
				log.WithError(err).Warn("could not close the pull request; the next run tries again")
				continue
			}
			r.step(StepClose)
			log.Info("closed: " + c.Why)
		}
	}

	resumed := map[int]error{}
	for _, kp := range a.plan.Keys {
		if kp.Action != ActionResume {
			continue
		}
		pr := obs.openPRs[kp.PR.Number]
		err, done := resumed[pr.Number]
		if !done {
			err = r.land(ctx, &pr)
			resumed[pr.Number] = err
			obs.openPRs[pr.Number] = pr
		}
		pr = obs.openPRs[pr.Number]
		if err != nil {
			a.failed(kp, StepAutomerge, err, fmt.Sprintf("%s could not be set to auto-merge (or merged) in %d tries; the next run tries again. Merge it by hand once its checks pass, before %s, when %s stops being valid", pr.URL, landAttempts, until(kp.InUseValidUntil), orUnknown(kp.InUseSecretID)), kp.InUseValidUntil)
			continue
		}
		kr := KeyResult{Key: kp.Key, Action: kp.Action, Outcome: OutcomeResumed, Reason: kp.Reason, SecretID: kp.NewSecretID, PRURL: pr.URL}
		switch {
		case pr.Merged:
			kr.Outcome = OutcomeMerged
		case kp.Stalled:
			// No progress for longer than the bound: the alert names the
			// cause and the deadline.
			kr.Outcome, kr.Step, kr.Error, kr.Next, kr.Deadline = OutcomeBlocked, string(StepStalled), kp.Reason, kp.Reason+"; "+stallCause(pr, r.Settings), kp.InUseValidUntil
		}
		a.set(kr)
	}
}

// stallCause says why an open rotation pull request does not merge, as far
// as credrotate can tell.
func stallCause(pr forge.PR, s Settings) string {
	switch {
	case !s.AutoMerge:
		return "auto-merge is off (github.autoMerge.enabled): a person merges it"
	case s.MockSafe:
		return "it is a mock-safe pull request and must not be merged; close it"
	case s.MergeStrategy == "direct":
		return "credrotate merges it once its checks pass: they have not passed, or it conflicts with the base branch"
	case pr.AutoMerge:
		return "auto-merge is enabled, so its required checks have not passed, a review is required, or it conflicts with the base branch"
	}
	return "auto-merge is not enabled on it (is auto-merge allowed in the repository settings?)"
}

// land lets a pull request land, retrying a failure with bounded backoff
// within the run (a 502 on enabling auto-merge must not leave the rotation
// waiting for a week).
func (r *Runner) land(ctx context.Context, pr *forge.PR) error {
	wait := time.Second
	var err error
	for attempt := 1; attempt <= landAttempts; attempt++ {
		if err = r.landPR(ctx, pr); err == nil {
			r.step(StepLanded)
			return nil
		}
		if errors.Is(err, forge.ErrPermission) || errors.Is(err, forge.ErrNotFound) || errors.Is(err, forge.ErrChecksFailed) || ctx.Err() != nil || attempt == landAttempts {
			break
		}
		r.Log.WithFields(logrus.Fields{"step": string(StepAutomerge), "pr": pr.URL, "attempt": attempt, "retry_in": wait.String()}).WithError(err).Warn("could not let the pull request land; retrying")
		if serr := r.sleep(ctx, wait); serr != nil {
			break
		}
		wait *= 2
	}
	return err
}

// landPR enables auto-merge (native) or merges once checks pass (direct).
func (r *Runner) landPR(ctx context.Context, pr *forge.PR) error {
	if !r.Settings.AutoMerge || pr.Merged {
		return nil
	}
	if r.Settings.MockSafe {
		r.Log.WithFields(logrus.Fields{"step": string(StepAutomerge), "pr": pr.URL, "mock_safe": true}).Warn("mock-safe run: auto-merge is not enabled; close the pull request when done")
		return nil
	}
	log := r.Log.WithFields(logrus.Fields{"step": string(StepAutomerge), "pr": pr.URL})
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
	merged, err := r.Forge.EnableAutoMerge(ctx, *pr, r.Settings.MergeMethod)
	if err != nil {
		return err
	}
	pr.AutoMerge = true
	// GitHub merges at once when the checks have already passed.
	if merged {
		pr.Merged, pr.State = true, "closed"
		log.Info("auto-merge enabled; merged")
		return nil
	}
	log.Info("auto-merge enabled; GitHub merges once the required checks pass")
	return nil
}
