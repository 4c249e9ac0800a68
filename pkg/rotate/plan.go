package rotate

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Deployed is what the base branch's manifest of one environment says.
type Deployed struct {
	Env         string
	Path        string
	SecretID    string
	Fingerprint string
	ExpiresAt   time.Time
	RotatedAt   time.Time
}

// OpenRotation is a rotation proposed in an open pull request, as read back
// from its hidden state marker.
type OpenRotation struct {
	Number      int
	URL         string
	Branch      string
	NewSecretID string
	OldSecretID string
	Fingerprint string
	ExpiresAt   time.Time
	// Emergency says the rotation was asked for with --emergency.
	Emergency bool
	// Conflicting says GitHub reports the pull request conflicting with
	// the base branch: it cannot merge as it is.
	Conflicting bool
}

// KeyObservation is everything a run observed about one provider key before
// deciding: the manifests on the base branch, the open pull request, Equifax's
// metadata and the fingerprint of the secret currently deployed.
type KeyObservation struct {
	Key      credential.ProviderKey
	ClientID string
	// Deployed holds one entry per environment that has a manifest.
	Deployed []Deployed
	// Environments is how many environments the key should be in.
	Environments int
	// Open is the open pull request that names this key, if any (the one
	// with the highest number when several do; Others holds the rest).
	Open *OpenRotation
	// Others are the other open pull requests that name this key. At most
	// one pull request per key is kept open: the plan closes the others.
	Others []OpenRotation
	// Service names the key's provider for people ("Equifax", "Entra ID");
	// empty reads "the provider".
	Service string
	// Client is Equifax's metadata of the client's secrets.
	Client equifax.ClientInfo
	// CurrentFingerprint is the fingerprint of the secret the workload uses
	// now (the currentSecret source).
	CurrentFingerprint string
	// HintMatches are the ids of the valid secrets whose hint (the first
	// characters Equifax shows of a secret) the workload's secret begins
	// with: which of two valid secrets the workload holds, when no manifest
	// says. Empty when the hints cannot tell.
	HintMatches []string
	// SetAside are the foreign secrets of the client (provider.SecretInfo's
	// Foreign) that no manifest, pull request or hint refers to: someone
	// else's, left out of Client so that the rotation never counts or
	// revokes them.
	SetAside []equifax.SecretInfo
	// Quiet says the provider was not asked: the manifests show nothing can be
	// due (Runner.SkipQuiet), so Client is empty.
	Quiet bool
	// DescribeErr is why Equifax could not be asked about this key; the key
	// fails alone and the others proceed.
	DescribeErr error
	// DescribeNext is what a person should know about DescribeErr.
	DescribeNext string
}

// PlanOptions are the run's choices.
type PlanOptions struct {
	// CronMode renews only keys inside their renewal window; otherwise the
	// selected keys are renewed now (the manual fallback).
	CronMode bool
	// RenewBefore is the renewal window before expiry.
	RenewBefore time.Duration
	// RevokeAfter is how long after a rotation's merge the retired secret
	// may be revoked without seeing the rollout, provided the workload no
	// longer uses it. It is also the bound on a rotation that makes no
	// progress: proposed for longer raises the key's alert.
	RevokeAfter time.Duration
	// Emergency renews now whatever the window or Equifax's eligibility
	// (the contract's force): a leaked secret.
	Emergency bool
	// Now is the planning clock.
	Now time.Time
}

// service names the key's provider for people.
func (o KeyObservation) service() string {
	if o.Service == "" {
		return "the provider"
	}
	return o.Service
}

// ClosePR is an open pull request the plan closes, and why.
type ClosePR struct {
	PR  OpenRotation `json:"pr"`
	Why string       `json:"why"`
}

// KeyPlan is the decision for one provider key.
type KeyPlan struct {
	Key      credential.ProviderKey `json:"providerKey"`
	ClientID string                 `json:"clientId"`
	State    State                  `json:"state"`
	Action   Action                 `json:"action"`
	Reason   string                 `json:"reason"`
	// CurrentSecretID is the secret the base branch deploys (or, for a key
	// with no manifest yet, the one the workload holds): what a renew
	// replaces and what its Idempotency-Key is derived from.
	CurrentSecretID string `json:"currentSecretId,omitempty"`
	// ExpiresAt is the current secret's expiry.
	ExpiresAt time.Time `json:"expiresAt,omitempty"`
	// NewSecretID is the rotation's new secret (resume, finish, recover).
	NewSecretID string `json:"newSecretId,omitempty"`
	// RevokeSecretID is the secret a finish revokes.
	RevokeSecretID string `json:"revokeSecretId,omitempty"`
	// SupersedePR is an open pull request whose secret is no longer valid;
	// it is closed when the key is renewed.
	SupersedePR *OpenRotation `json:"supersedePr,omitempty"`
	// PR is the open pull request a resume keeps moving.
	PR *OpenRotation `json:"pr,omitempty"`
	// ConflictPR is the open pull request a replace closes: it conflicts
	// with the base branch; its secret (RevokeSecretID, never deployed) is
	// revoked and the key renewed again from CurrentSecretID.
	ConflictPR *OpenRotation `json:"conflictPr,omitempty"`
	// Close are stale or duplicate pull requests of the key, closed with a
	// comment (unless another key of the run still rides on them).
	Close []ClosePR `json:"close,omitempty"`
	// Stalled says the rotation made no progress for longer than
	// RevokeAfter (the new secret's createdAt is its clock): the key's
	// alert is raised with the cause and the deadline.
	Stalled bool `json:"stalled,omitempty"`
	// InUseSecretID is the secret the workload uses now, as far as the
	// observation tells, and InUseValidUntil when Equifax stops accepting
	// it (its expiry, or the end of its grace period): the deadline of a
	// rotation in flight, and what the expiry guard watches.
	InUseSecretID   string    `json:"inUseSecretId,omitempty"`
	InUseValidUntil time.Time `json:"inUseValidUntil,omitzero"`
	// Emergency renews with the contract's force and labels the pull
	// request.
	Emergency bool `json:"emergency,omitempty"`
	// KeepOrphan says a minted orphan may be the workload's secret: if the
	// replay cannot recover it, it is not revoked and the key needs a
	// person.
	KeepOrphan bool `json:"keepOrphan,omitempty"`
}

// Plan is what a run will do, key by key, in the order of the keys given.
type Plan struct {
	Now  time.Time `json:"now"`
	Keys []KeyPlan `json:"keys"`
}

// Count returns how many keys have action a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, k := range p.Keys {
		if k.Action == a {
			n++
		}
	}
	return n
}

// Changes reports whether applying the plan would change anything.
func (p Plan) Changes() bool {
	for _, k := range p.Keys {
		if len(k.Close) > 0 {
			return true
		}
		if k.Action != ActionNoop && k.Action != ActionBlocked && k.Action != ActionRetry {
			return true
		}
	}
	return false
}

// MakePlan decides, for every observed key, what this run does. It is pure:
// the same observations and options always give the same plan, so a dry run
// shows exactly what a real run would do.
func MakePlan(obs []KeyObservation, opts PlanOptions) Plan {
	p := Plan{Now: opts.Now}
	for _, o := range obs {
		p.Keys = append(p.Keys, Decide(Classify(o, opts), opts))
	}
	return p
}

// Classification is what Classify recognised in one key's observation: the
// state and the facts the decision of that state needs.
type Classification struct {
	Obs   KeyObservation
	State State
	// Deployed is the secret the base branch deploys ("" for a key with no
	// manifest yet), Current the one a renew replaces (the Idempotency-Key
	// is derived from its id), New the rotation's new secret, Retired the
	// secret a finish revokes.
	Deployed string
	Current  equifax.SecretInfo
	New      equifax.SecretInfo
	Retired  equifax.SecretInfo
	// PR is the open pull request kept for the key; Dead one whose secret
	// is no longer valid; Close the stale and duplicate ones.
	PR    *OpenRotation
	Dead  *OpenRotation
	Close []ClosePR
	// Problem says what a person must do (StateBroken, and a minted orphan
	// that cannot be told from the secret in use).
	Problem string
	// InUse is the secret the workload uses, when it is known.
	InUse equifax.SecretInfo
}

// Classify recognises the state of one key from its observation: the
// provider's secrets, the manifests on the base branch, the open pull
// requests, the workload's secret and the clock. It is the one place a
// state is told apart; Decide is the one place per state that chooses the
// action.
func Classify(o KeyObservation, opts PlanOptions) Classification {
	c := Classification{Obs: o}
	deployedID, consistent := deployedSecretID(o.Deployed)
	c.Deployed = deployedID
	if o.DescribeErr != nil {
		c.State = StateUnobserved
		return c
	}
	if !consistent {
		c.State = StateBroken
		c.Problem = "environments deploy different secret ids: " + describeDeployed(o.Deployed) + "; bring them in line with `credrotate adopt` or by merging the pending pull request"
		return c
	}
	if o.Quiet {
		c.State = StateCurrent
		c.Current = equifax.SecretInfo{SecretID: deployedID, Status: equifax.StatusActive, ExpiresAt: o.Deployed[0].ExpiresAt}
		c.InUse = c.Current
		return c
	}
	cl := o.Client
	c.PR, c.Dead, c.Close = sortOpen(o, deployedID)

	active, hasActive := cl.Active()
	if deployedID == "" {
		// A key no manifest names yet.
		switch {
		case cl.ValidCount() == 0:
			c.State = StateNew
			c.Problem = o.service() + " reports no ACTIVE secret for client " + o.ClientID + "; create one at " + o.service() + ", then `credrotate adopt`"
			return c
		case c.PR != nil:
			c.State = StateProposed
			c.New, _ = cl.Find(c.PR.NewSecretID)
			if s, ok := cl.Find(c.PR.OldSecretID); ok {
				c.Current = s
			} else if s, ok := otherValid(cl, c.New.SecretID); ok {
				c.Current = s
			}
			c.InUse = c.Current
			conflicting(&c)
			return c
		case cl.ValidCount() == 2 && hasActive:
			// Two valid secrets and no manifest: the RETIRING one is the
			// workload's (the renew replaced it, so the Idempotency-Key was
			// derived from it) and the ACTIVE one was minted by a run that
			// stopped before proposing it.
			retiring, _ := otherValid(cl, active.SecretID)
			c.State, c.Current, c.New, c.InUse = StateMinted, retiring, active, retiring
			if slices.Contains(o.HintMatches, active.SecretID) || !slices.Contains(o.HintMatches, retiring.SecretID) {
				// Which one the workload holds cannot be told: the orphan
				// is recovered by replay, never revoked.
				c.Problem = fmt.Sprintf("client %s has two valid secrets, %s and %s, and no manifest says which one the workload uses", o.ClientID, retiring.SecretID, active.SecretID)
			}
			return c
		}
		// One valid secret: the workload's.
		only := active
		if !hasActive {
			only, _ = otherValid(cl, "")
		}
		c.State, c.Current, c.InUse = StateNew, only, only
		return c
	}

	cur, known := cl.Find(deployedID)
	c.Current = cur
	if !known {
		c.Current = equifax.SecretInfo{SecretID: deployedID}
	}
	c.InUse = c.Current

	// Proposed: an open pull request carries a new, valid secret.
	if c.PR != nil {
		c.State = StateProposed
		c.New, _ = cl.Find(c.PR.NewSecretID)
		conflicting(&c)
		return c
	}

	if !known || !cur.Status.Valid() {
		status := "unknown"
		if known {
			status = string(cur.Status)
		}
		if hasActive && active.SecretID != deployedID {
			// The deployed secret is dead but another one is alive: that is
			// a minted secret whose value only a replay can give back.
			c.State, c.New = StateMinted, active
			return c
		}
		c.State = StateBroken
		c.Problem = fmt.Sprintf("the deployed secret %s is %s at %s; get a valid secret from %s and bring it under credrotate with `credrotate adopt --provider-key %s`", deployedID, status, o.service(), o.service(), o.Key)
		return c
	}

	// Another valid secret next to the deployed one.
	if other, ok := otherValid(cl, deployedID); ok {
		switch {
		case cur.Status == equifax.StatusActive:
			// The deployed secret is the newest; the other one is the
			// retired secret of the rotation that brought it.
			c.State, c.New, c.Retired = StateMerged, cur, other
			if fp := deployedFingerprint(o.Deployed); fp == "" || fp != o.CurrentFingerprint {
				c.InUse = other
			}
			return c
		case other.Status == equifax.StatusActive:
			// A newer ACTIVE secret that nothing names: minted by a run
			// that stopped before proposing it.
			c.State, c.New = StateMinted, other
			return c
		default:
			c.State = StateBroken
			c.Problem = fmt.Sprintf("%s reports %s %s next to the deployed %s %s; revoke the one that is not in use at %s", o.service(), other.SecretID, other.Status, deployedID, cur.Status, o.service())
			return c
		}
	}
	c.State = StateCurrent
	return c
}

// conflicting turns a proposed key into StateConflicting when its pull
// request conflicts with the base branch and replacing it is safe: its
// secret is the newest (ACTIVE) one, the secret the workload uses is
// another one and still valid (so revoking the pull request's secret is
// allowed and takes nothing the workload holds), and no manifest on the base
// branch names it (Classify's stale check came first).
func conflicting(c *Classification) {
	pr, o := c.PR, c.Obs
	if !pr.Conflicting || c.New.Status != equifax.StatusActive || !c.Current.Status.Valid() || c.Current.SecretID == c.New.SecretID {
		return
	}
	if pr.Fingerprint != "" && pr.Fingerprint == o.CurrentFingerprint {
		return
	}
	for _, d := range o.Deployed {
		if d.SecretID == pr.NewSecretID {
			return
		}
	}
	c.State = StateConflicting
}

// sortOpen sorts the key's open pull requests: the one to keep (its secret
// valid and not yet deployed; the ACTIVE one first, then the oldest), one
// whose secret is gone, and those to close: stale (the base branch already
// deploys its secret) or duplicates of the kept one.
func sortOpen(o KeyObservation, deployedID string) (keep, dead *OpenRotation, closeList []ClosePR) {
	var all []OpenRotation
	if o.Open != nil {
		all = append(all, *o.Open)
	}
	all = append(all, o.Others...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Number < all[j].Number })
	var live []OpenRotation
	for _, pr := range all {
		s, ok := o.Client.Find(pr.NewSecretID)
		switch {
		case deployedID != "" && pr.NewSecretID == deployedID:
			closeList = append(closeList, ClosePR{PR: pr, Why: fmt.Sprintf("the base branch already deploys %s, the secret this pull request carries for %s: it is stale", pr.NewSecretID, o.Key)})
		case !ok || !s.Status.Valid():
			if dead == nil {
				p := pr
				dead = &p
			} else {
				closeList = append(closeList, ClosePR{PR: pr, Why: fmt.Sprintf("the secret %s this pull request carries for %s is no longer valid at %s", pr.NewSecretID, o.Key, o.service())})
			}
		default:
			live = append(live, pr)
		}
	}
	if len(live) == 0 {
		return nil, dead, closeList
	}
	best := 0
	for i, pr := range live {
		if s, _ := o.Client.Find(pr.NewSecretID); s.Status == equifax.StatusActive {
			best = i
			break
		}
	}
	k := live[best]
	for i, pr := range live {
		if i != best {
			closeList = append(closeList, ClosePR{PR: pr, Why: fmt.Sprintf("%s is rotated in %s: at most one pull request per key stays open", o.Key, prRef(k))})
		}
	}
	if dead != nil {
		closeList = append(closeList, ClosePR{PR: *dead, Why: fmt.Sprintf("the secret %s this pull request carries for %s is no longer valid at %s", dead.NewSecretID, o.Key, o.service())})
		dead = nil
	}
	return &k, nil, closeList
}

// Decide chooses the action for a classified key: one case per state.
func Decide(c Classification, opts PlanOptions) KeyPlan {
	o := c.Obs
	kp := KeyPlan{Key: o.Key, ClientID: o.ClientID, State: c.State, CurrentSecretID: c.Current.SecretID, ExpiresAt: c.Current.ExpiresAt, Close: c.Close}
	if c.InUse.SecretID != "" {
		kp.InUseSecretID, kp.InUseValidUntil = c.InUse.SecretID, validUntil(c.InUse)
	}
	switch c.State {
	case StateUnobserved:
		kp.Action = ActionRetry
		kp.CurrentSecretID = c.Deployed
		kp.Reason = o.service() + " could not be asked about this key: " + o.DescribeErr.Error()
		if d, ok := manifestExpiry(o.Deployed); ok {
			kp.ExpiresAt, kp.InUseSecretID, kp.InUseValidUntil = d, c.Deployed, d
		}
	case StateBroken:
		kp.Action, kp.Reason = ActionBlocked, c.Problem
	case StateNew, StateCurrent:
		if c.Problem != "" {
			kp.Action, kp.Reason = ActionBlocked, c.Problem
			break
		}
		decideCurrent(&kp, c, opts)
	case StateMinted:
		kp.Action, kp.NewSecretID = ActionRecover, c.New.SecretID
		switch {
		case c.Problem != "":
			kp.KeepOrphan = true
			kp.Reason = fmt.Sprintf("%s; replaying the renew from %s to recover %s (never revoked, as the workload may use it)", c.Problem, c.Current.SecretID, c.New.SecretID)
		case c.Deployed != "" && !c.Current.Status.Valid():
			kp.Reason = fmt.Sprintf("the deployed secret %s is %s at %s and %s is named by no manifest or pull request; recovering it (a replay of the renew where the provider can, else revoke and renew)", c.Current.SecretID, orUnknown(string(c.Current.Status)), o.service(), c.New.SecretID)
		default:
			if fp := deployedFingerprint(o.Deployed); fp != "" && fp != o.CurrentFingerprint {
				// The workload does not hold the deployed secret: it may
				// hold the orphan, which is then never revoked.
				kp.KeepOrphan = true
			}
			kp.Reason = fmt.Sprintf("%s was minted by an earlier run but no manifest or pull request names it; replaying the renew to recover it (%s stays valid until %s)", c.New.SecretID, c.Current.SecretID, until(validUntil(c.Current)))
		}
	case StateProposed:
		pr := *c.PR
		kp.Action, kp.PR, kp.NewSecretID = ActionResume, &pr, pr.NewSecretID
		kp.Emergency = pr.Emergency
		kp.Reason = fmt.Sprintf("rotation to %s is proposed in %s; waiting for it to merge", pr.NewSecretID, prRef(pr))
		bound := opts.RevokeAfter
		if bound <= 0 {
			bound = defaultStallAfter
		}
		if created := c.New.CreatedAt; !created.IsZero() && opts.Now.Sub(created) >= bound {
			kp.Stalled = true
			kp.Reason = fmt.Sprintf("rotation to %s has waited in %s since %s (more than %s) without merging; merge it (check its required checks and conflicts) before %s, when %s stops being valid", pr.NewSecretID, prRef(pr), created.UTC().Format(time.RFC3339), bound, until(kp.InUseValidUntil), orUnknown(kp.InUseSecretID))
		}
	case StateConflicting:
		pr := *c.PR
		kp.Action, kp.ConflictPR, kp.RevokeSecretID = ActionReplace, &pr, pr.NewSecretID
		kp.Emergency = pr.Emergency
		kp.Reason = fmt.Sprintf("%s conflicts with the base branch and cannot merge; closing it, revoking its secret %s (never deployed) and renewing again from %s (valid until %s) on the current base", prRef(pr), pr.NewSecretID, c.Current.SecretID, until(validUntil(c.Current)))
	case StateMerged:
		decideMerged(&kp, c, opts)
	}
	if c.Dead != nil {
		if kp.Action == ActionRenew || kp.Action == ActionRecover || kp.Action == ActionReplace {
			kp.SupersedePR = c.Dead
		} else {
			kp.Close = append(kp.Close, ClosePR{PR: *c.Dead, Why: fmt.Sprintf("the secret %s this pull request carries for %s is no longer valid at %s", c.Dead.NewSecretID, o.Key, o.service())})
		}
	}
	return kp
}

// defaultStallAfter bounds a rotation in flight when revokeAfter is unset.
const defaultStallAfter = 24 * time.Hour

func decideCurrent(kp *KeyPlan, c Classification, opts PlanOptions) {
	o, cur := c.Obs, c.Current
	if o.Quiet {
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("expires %s; renewal window opens %s (manifests only: nothing can be due, the provider not asked)", kp.ExpiresAt.UTC().Format(time.RFC3339), kp.ExpiresAt.Add(-opts.RenewBefore).UTC().Format(time.RFC3339))
		return
	}
	if opts.Emergency {
		kp.Action, kp.Emergency = ActionRenew, true
		kp.Reason = fmt.Sprintf("emergency rotation requested by hand (expires %s): renewing now, whatever the window", cur.ExpiresAt.UTC().Format(time.RFC3339))
		return
	}
	if cur.Status != equifax.StatusActive {
		kp.Action = ActionRenew
		kp.Reason = fmt.Sprintf("the deployed secret is %s until %s; renewing", cur.Status, until(validUntil(cur)))
		return
	}
	due := cur.ExpiresAt.Add(-opts.RenewBefore)
	if el := o.Client.RenewalEligibleAt; !el.IsZero() && opts.Now.Before(el) && (!opts.CronMode || !opts.Now.Before(due)) {
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("expires %s; Equifax allows the next renewal from %s", cur.ExpiresAt.UTC().Format(time.RFC3339), el.UTC().Format(time.RFC3339))
		return
	}
	switch {
	case !opts.Now.Before(due):
		kp.Action = ActionRenew
		kp.Reason = fmt.Sprintf("expires %s, inside the %s renewal window", cur.ExpiresAt.UTC().Format(time.RFC3339), opts.RenewBefore)
	case !opts.CronMode:
		kp.Action = ActionRenew
		kp.Reason = fmt.Sprintf("renewal requested by hand (expires %s)", cur.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("expires %s; renewal window opens %s", cur.ExpiresAt.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339))
	}
}

func decideMerged(kp *KeyPlan, c Classification, opts PlanOptions) {
	o, retired := c.Obs, c.Retired
	kp.RevokeSecretID = retired.SecretID
	fp := deployedFingerprint(o.Deployed)
	observed := fp != "" && fp == o.CurrentFingerprint
	var rotatedAt time.Time
	for _, d := range o.Deployed {
		if d.RotatedAt.After(rotatedAt) {
			rotatedAt = d.RotatedAt
		}
	}
	// Manifests without a rotation time: the new secret's mint is the
	// rotation's clock.
	if rotatedAt.IsZero() {
		rotatedAt = c.New.CreatedAt
	}
	waited := !rotatedAt.IsZero() && opts.Now.Sub(rotatedAt) >= opts.RevokeAfter
	switch {
	case observed:
		kp.Action = ActionFinish
		kp.Reason = fmt.Sprintf("the rollout of %s is observed (the deployed secret has its fingerprint); revoking the retired %s", kp.CurrentSecretID, retired.SecretID)
	case waited:
		// Never revoke a secret the workload may still use: a rollout that
		// does not show up needs a person.
		kp.Action = ActionBlocked
		kp.Reason = fmt.Sprintf("the rollout of %s is not observed %s after the rotation (the deployed secret has fingerprint %s, not %s): check that Argo CD or Flux applied the merged manifests and that the sealed-secrets controller decrypted them (a SealedSecret sealed with the wrong certificate is rejected); the retired %s is not revoked and stays valid until %s, when the workload's secret stops working if the rollout has not happened", kp.CurrentSecretID, opts.RevokeAfter, orUnknown(o.CurrentFingerprint), fp, retired.SecretID, graceEnd(retired))
	default:
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("waiting for the rollout of %s: the deployed secret still has fingerprint %s; the retired %s stays valid until %s", kp.CurrentSecretID, orUnknown(o.CurrentFingerprint), retired.SecretID, graceEnd(retired))
	}
}

// validUntil is when Equifax stops accepting s: its expiry, or the end of
// its grace period when that comes first. A secret that is no longer valid
// is already past it.
func validUntil(s equifax.SecretInfo) time.Time {
	end := s.ExpiresAt
	if s.GraceEndsAt != nil && (end.IsZero() || s.GraceEndsAt.Before(end)) {
		end = *s.GraceEndsAt
	}
	if s.Status != "" && !s.Status.Valid() {
		if s.RevokedAt != nil {
			return *s.RevokedAt
		}
		if end.IsZero() {
			end = time.Unix(0, 0).UTC()
		}
	}
	return end
}

func manifestExpiry(ds []Deployed) (time.Time, bool) {
	var t time.Time
	for _, d := range ds {
		if !d.ExpiresAt.IsZero() && (t.IsZero() || d.ExpiresAt.Before(t)) {
			t = d.ExpiresAt
		}
	}
	return t, !t.IsZero()
}

func until(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}

func graceEnd(s equifax.SecretInfo) string {
	if s.GraceEndsAt != nil {
		return s.GraceEndsAt.UTC().Format(time.RFC3339)
	}
	return s.ExpiresAt.UTC().Format(time.RFC3339)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// otherValid returns a valid secret other than id.
func otherValid(c equifax.ClientInfo, id string) (equifax.SecretInfo, bool) {
	for _, s := range c.Secrets {
		if s.SecretID != id && s.Status.Valid() {
			return s, true
		}
	}
	return equifax.SecretInfo{}, false
}

// deployedSecretID returns the secret id the environments deploy, and false
// when they disagree.
func deployedSecretID(ds []Deployed) (string, bool) {
	id := ""
	for _, d := range ds {
		if id == "" {
			id = d.SecretID
		} else if d.SecretID != id {
			return "", false
		}
	}
	return id, true
}

func deployedFingerprint(ds []Deployed) string {
	for _, d := range ds {
		if d.Fingerprint != "" {
			return d.Fingerprint
		}
	}
	return ""
}

func describeDeployed(ds []Deployed) string {
	s := make([]string, 0, len(ds))
	for _, d := range ds {
		s = append(s, d.Env+"="+d.SecretID)
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}

func prRef(pr OpenRotation) string {
	if pr.URL != "" {
		return pr.URL
	}
	return fmt.Sprintf("pull request #%d", pr.Number)
}
