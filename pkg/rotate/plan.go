package rotate

import (
	"fmt"
	"sort"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Action is what a run does for one provider key.
type Action string

// The actions a plan can hold.
const (
	// ActionNoop: nothing to do now; Reason says why.
	ActionNoop Action = "noop"
	// ActionRenew: mint a new secret, prove it, seal it, propose it.
	ActionRenew Action = "renew"
	// ActionRecover: Equifax holds a secret no manifest or pull request
	// names (a run stopped after minting it). Replay the renew with the same
	// Idempotency-Key to get its value back; if Equifax no longer remembers
	// it, revoke that orphan and renew again.
	ActionRecover Action = "recover"
	// ActionResume: a rotation is proposed in an open pull request; keep it
	// moving (auto-merge), never renew again.
	ActionResume Action = "resume"
	// ActionFinish: the new secret is merged and seen in use; revoke the
	// retired one.
	ActionFinish Action = "finish"
	// ActionBlocked: the state needs a person; Reason says what to do.
	ActionBlocked Action = "blocked"
)

// State is where a key is in the rotation state machine.
type State string

// The states of the design's state machine.
const (
	StateCurrent  State = "current"
	StateMinted   State = "minted"
	StateProposed State = "proposed"
	StateMerged   State = "merged"
	StateBroken   State = "broken"
	StateNew      State = "unmanaged"
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
	// Open is the open pull request that names this key, if any.
	Open *OpenRotation
	// Client is Equifax's metadata of the client's secrets.
	Client equifax.ClientInfo
	// CurrentFingerprint is the fingerprint of the secret the workload uses
	// now (the currentSecret source).
	CurrentFingerprint string
	// Quiet says Equifax was not asked: the manifests show nothing can be
	// due (Runner.SkipQuiet), so Client is empty.
	Quiet bool
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
	// longer uses it.
	RevokeAfter time.Duration
	// Now is the planning clock.
	Now time.Time
}

// KeyPlan is the decision for one provider key.
type KeyPlan struct {
	Key      credential.ProviderKey `json:"providerKey"`
	ClientID string                 `json:"clientId"`
	State    State                  `json:"state"`
	Action   Action                 `json:"action"`
	Reason   string                 `json:"reason"`
	// CurrentSecretID is the secret the base branch deploys (or Equifax's
	// ACTIVE one for a key with no manifest yet): what a renew replaces and
	// what its Idempotency-Key is derived from.
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
		if k.Action != ActionNoop && k.Action != ActionBlocked {
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
		p.Keys = append(p.Keys, planKey(o, opts))
	}
	return p
}

func planKey(o KeyObservation, opts PlanOptions) KeyPlan {
	kp := KeyPlan{Key: o.Key, ClientID: o.ClientID}
	deployedID, consistent := deployedSecretID(o.Deployed)
	if !consistent {
		kp.State, kp.Action = StateBroken, ActionBlocked
		kp.Reason = "environments deploy different secret ids: " + describeDeployed(o.Deployed) + "; bring them in line with `credrotate adopt` or by merging the pending pull request"
		return kp
	}
	if o.Quiet {
		kp.State, kp.Action, kp.CurrentSecretID = StateCurrent, ActionNoop, deployedID
		kp.ExpiresAt = o.Deployed[0].ExpiresAt
		kp.Reason = fmt.Sprintf("expires %s; renewal window opens %s (manifests only: nothing can be due, Equifax not asked)", kp.ExpiresAt.UTC().Format(time.RFC3339), kp.ExpiresAt.Add(-opts.RenewBefore).UTC().Format(time.RFC3339))
		return kp
	}
	active, hasActive := o.Client.Active()

	// A key no manifest names yet: its ACTIVE secret is the current one.
	if deployedID == "" {
		kp.State = StateNew
		if !hasActive {
			kp.Action = ActionBlocked
			kp.Reason = "Equifax reports no ACTIVE secret for client " + o.ClientID + "; renew it in the Equifax portal, then `credrotate adopt`"
			return kp
		}
		deployedID = active.SecretID
	}
	cur, known := o.Client.Find(deployedID)
	kp.CurrentSecretID = deployedID
	kp.ExpiresAt = cur.ExpiresAt

	// Proposed: an open pull request carries a new secret.
	if o.Open != nil {
		pr := *o.Open
		if s, ok := o.Client.Find(pr.NewSecretID); ok && s.Status.Valid() {
			kp.State, kp.Action, kp.PR, kp.NewSecretID = StateProposed, ActionResume, &pr, pr.NewSecretID
			kp.Reason = fmt.Sprintf("rotation to %s is proposed in %s; waiting for it to merge", pr.NewSecretID, prRef(pr))
			return kp
		}
		// Its secret is gone: the pull request is stale and is closed when
		// the key is renewed below.
		kp.SupersedePR = &pr
	}

	if !known || !cur.Status.Valid() {
		status := "unknown"
		if known {
			status = string(cur.Status)
		}
		if hasActive && active.SecretID != deployedID {
			// The deployed secret is dead but another one is alive: that is
			// a minted secret whose value only a replay can give back.
			kp.State, kp.Action, kp.NewSecretID = StateMinted, ActionRecover, active.SecretID
			kp.Reason = fmt.Sprintf("the deployed secret %s is %s at Equifax and %s is named by no manifest or pull request; replaying the renew to recover it", deployedID, status, active.SecretID)
			return kp
		}
		kp.State, kp.Action = StateBroken, ActionBlocked
		kp.Reason = fmt.Sprintf("the deployed secret %s is %s at Equifax; get a valid secret from the Equifax portal and bring it under credrotate with `credrotate adopt --provider-key %s`", deployedID, status, o.Key)
		return kp
	}

	// Another valid secret next to the deployed one.
	if other, ok := otherValid(o.Client, deployedID); ok {
		switch {
		case cur.Status == equifax.StatusActive:
			// The deployed secret is the newest; the other one is the
			// retired secret of the rotation that brought it.
			return planFinish(kp, o, other, opts)
		case other.Status == equifax.StatusActive:
			// A newer ACTIVE secret that nothing names: minted by a run
			// that stopped before proposing it.
			kp.State, kp.Action, kp.NewSecretID = StateMinted, ActionRecover, other.SecretID
			kp.Reason = fmt.Sprintf("%s was minted by an earlier run but no manifest or pull request names it; replaying the renew to recover it", other.SecretID)
			return kp
		default:
			kp.State, kp.Action = StateBroken, ActionBlocked
			kp.Reason = fmt.Sprintf("Equifax reports %s %s next to the deployed %s %s; revoke the one that is not in use in the Equifax portal", other.SecretID, other.Status, deployedID, cur.Status)
			return kp
		}
	}

	// Current: one valid secret, the deployed one.
	if kp.State == "" {
		kp.State = StateCurrent
	}
	if cur.Status != equifax.StatusActive {
		kp.Action = ActionRenew
		kp.Reason = fmt.Sprintf("the deployed secret is %s until %s; renewing", cur.Status, cur.ExpiresAt.UTC().Format(time.RFC3339))
		return kp
	}
	due := cur.ExpiresAt.Add(-opts.RenewBefore)
	if el := o.Client.RenewalEligibleAt; !el.IsZero() && opts.Now.Before(el) && (!opts.CronMode || !opts.Now.Before(due)) {
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("expires %s; Equifax allows the next renewal from %s", cur.ExpiresAt.UTC().Format(time.RFC3339), el.UTC().Format(time.RFC3339))
		return kp
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
	return kp
}

func planFinish(kp KeyPlan, o KeyObservation, retired equifax.SecretInfo, opts PlanOptions) KeyPlan {
	kp.State, kp.RevokeSecretID = StateMerged, retired.SecretID
	fp := deployedFingerprint(o.Deployed)
	observed := fp != "" && fp == o.CurrentFingerprint
	var rotatedAt time.Time
	for _, d := range o.Deployed {
		if d.RotatedAt.After(rotatedAt) {
			rotatedAt = d.RotatedAt
		}
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
		kp.Reason = fmt.Sprintf("the rollout of %s is not observed %s after the rotation (the deployed secret has fingerprint %s, not %s): check that Argo CD or Flux applied the merged manifests and that the sealed-secrets controller decrypted them (a SealedSecret sealed with the wrong certificate is rejected); the retired %s is not revoked and stays valid until %s", kp.CurrentSecretID, opts.RevokeAfter, orUnknown(o.CurrentFingerprint), fp, retired.SecretID, graceEnd(retired))
	default:
		kp.Action = ActionNoop
		kp.Reason = fmt.Sprintf("waiting for the rollout of %s: the deployed secret still has fingerprint %s; the retired %s stays valid until %s", kp.CurrentSecretID, orUnknown(o.CurrentFingerprint), retired.SecretID, graceEnd(retired))
	}
	return kp
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
