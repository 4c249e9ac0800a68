package rotate

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
	// ActionReplace: the open rotation pull request conflicts with the base
	// branch, and its secret's value is not recoverable (only ciphertext is
	// in the pull request). Close it, revoke its secret (never deployed),
	// renew again from the deployed secret with a fresh Idempotency-Key and
	// propose the new secret on the current base.
	ActionReplace Action = "replace"
	// ActionFinish: the new secret is merged and seen in use; revoke the
	// retired one.
	ActionFinish Action = "finish"
	// ActionBlocked: the state needs a person; Reason says what to do.
	ActionBlocked Action = "blocked"
	// ActionRetry: the key could not be observed (Equifax did not answer
	// its describe); the key fails with its own alert and the next run
	// observes it again. The other keys proceed.
	ActionRetry Action = "retry"
)

// State is where a key is in the rotation state machine. Classify computes
// it from an observation; docs/rotation.md draws it.
type State string

// The states of the rotation state machine.
const (
	// StateCurrent: the base branch deploys the only valid secret.
	StateCurrent State = "current"
	// StateMinted: Equifax holds a valid secret, newer than the one in use,
	// that no manifest or open pull request names.
	StateMinted State = "minted"
	// StateProposed: an open pull request carries a new, valid secret.
	StateProposed State = "proposed"
	// StateConflicting: an open pull request carries a new, valid secret
	// but conflicts with the base branch (a person changed the same files
	// on it), so it can never merge as it is.
	StateConflicting State = "conflicting"
	// StateMerged: the base branch deploys the new secret; the retired one
	// is still valid at Equifax.
	StateMerged State = "merged"
	// StateBroken: nothing credrotate can do on its own; a person must act.
	StateBroken State = "broken"
	// StateNew: no manifest names the key yet; its ACTIVE secret is the one
	// in use.
	StateNew State = "unmanaged"
	// StateUnobserved: Equifax could not be asked about the key in this run.
	StateUnobserved State = "unobserved"
)

// States lists every state, in the order docs/rotation.md describes them.
var States = []State{StateNew, StateCurrent, StateMinted, StateProposed, StateConflicting, StateMerged, StateBroken, StateUnobserved}

// Transition is one edge of the state machine: from a state, the action a
// run takes there leads to another state (or the same, when it waits).
type Transition struct {
	From   State
	Action Action
	To     State
	// Why says when this edge is taken.
	Why string
}

// Transitions is the state machine: every action the plan can choose in a
// state, and where it leads. The plan never chooses an action for a state
// that is not listed here (TestPlanFollowsTransitions), and docs/rotation.md
// draws exactly these edges (TestRotationDocDiagram).
var Transitions = []Transition{
	{StateNew, ActionNoop, StateNew, "outside the renewal window (scheduled run)"},
	{StateNew, ActionRenew, StateProposed, "due, or renewed by hand: minted, proven, proposed"},
	{StateNew, ActionRenew, StateMerged, "the pull request merged at once"},
	{StateNew, ActionRenew, StateMinted, "the run stopped after the mint"},
	{StateNew, ActionBlocked, StateNew, "Equifax reports no valid secret: a person renews it in the portal and adopts it"},
	{StateCurrent, ActionNoop, StateCurrent, "outside the renewal window, or Equifax does not allow a renewal yet"},
	{StateCurrent, ActionRenew, StateProposed, "due, or renewed by hand: minted, proven, proposed"},
	{StateCurrent, ActionRenew, StateMerged, "the pull request merged at once"},
	{StateCurrent, ActionRenew, StateMinted, "the run stopped after the mint"},
	{StateCurrent, ActionRenew, StateCurrent, "the new secret never proved itself and was revoked (the deployed one is on its grace)"},
	{StateMinted, ActionRecover, StateProposed, "the renew replayed: proven, proposed"},
	{StateMinted, ActionRecover, StateMerged, "the pull request merged at once"},
	{StateMinted, ActionRecover, StateMinted, "the run stopped again"},
	{StateProposed, ActionResume, StateProposed, "waiting for checks and the merge; an alert once it waits longer than revokeAfter"},
	{StateProposed, ActionResume, StateMerged, "merged"},
	{StateConflicting, ActionReplace, StateProposed, "closed, its unused secret revoked, a fresh secret minted and proposed on the current base"},
	{StateConflicting, ActionReplace, StateMerged, "the new pull request merged at once"},
	{StateConflicting, ActionReplace, StateMinted, "the run stopped after closing it, or after the fresh mint"},
	{StateConflicting, ActionReplace, StateCurrent, "the run stopped after the revoke, or Equifax refused the renew: the deployed secret is on its grace and the next run renews"},
	{StateConflicting, ActionReplace, StateConflicting, "the pull request could not be closed or its secret revoked: the next run tries again"},
	{StateMerged, ActionNoop, StateMerged, "waiting for the rollout"},
	{StateMerged, ActionFinish, StateCurrent, "the rollout is observed: the retired secret is revoked"},
	{StateMerged, ActionBlocked, StateMerged, "the rollout is not observed after revokeAfter: an alert, nothing revoked"},
	{StateBroken, ActionBlocked, StateBroken, "a person brings the key in line (adopt, the Equifax portal)"},
	{StateUnobserved, ActionRetry, StateUnobserved, "the key fails with its own alert; the next run observes it again"},
}

// Step is a point in a run: where a failure happened, and the boundaries the
// crash tests stop the process at (Runner.AfterStep).
type Step string

// The steps of a run, in order.
const (
	// StepPreflight prefixes the failures of preflight ("preflight
	// certificates", "preflight manifests", ...).
	StepPreflight Step = "preflight"
	// StepToken is after preflight got a token and described every key.
	StepToken Step = "token"
	// StepDescribe is a failed describe of one key in preflight.
	StepDescribe Step = "preflight describe"
	// StepRevoke is after a finish revoked a retired secret.
	StepRevoke Step = "revoke"
	// StepRenew is after a new secret was minted (or replayed).
	StepRenew Step = "renew"
	// StepVerify is after the new secret obtained a token.
	StepVerify Step = "verify"
	// StepRevokeUnproven is after a minted secret that never obtained a
	// token was revoked.
	StepRevokeUnproven Step = "revoke unproven"
	// StepCloseConflict is after a pull request that conflicts with the
	// base branch was closed, before its secret is revoked.
	StepCloseConflict Step = "close conflict"
	// StepRevokeConflict is after the secret of a conflicting pull request
	// was revoked, before the key is renewed again.
	StepRevokeConflict Step = "revoke conflict"
	// StepRevokeOrphan is after an orphan that could not be recovered was
	// revoked.
	StepRevokeOrphan Step = "revoke orphan"
	// StepSeal is after the files are written, before the commit.
	StepSeal Step = "seal"
	// StepPush is after the rotation branch was pushed.
	StepPush Step = "push"
	// StepPR is after the pull request was opened or updated.
	StepPR Step = "pr"
	// StepAutomerge is after a run's pull requests were proposed, before
	// auto-merge is enabled on them.
	StepAutomerge Step = "automerge"
	// StepLanded is after auto-merge was enabled (GitHub may have merged at
	// once) or, with the direct strategy, the merge was tried.
	StepLanded Step = "landed"
	// StepClose is after a stale or duplicate pull request was closed.
	StepClose Step = "close"
	// StepStalled is a rotation that made no progress for too long.
	StepStalled Step = "stalled"
	// StepExpiry is the expiry guard.
	StepExpiry Step = "expiry"
)

// CrashPoints are the step boundaries at which Runner.AfterStep is called,
// in the order a rotation passes them.
var CrashPoints = []Step{StepToken, StepRevoke, StepCloseConflict, StepRevokeConflict, StepRenew, StepRevokeOrphan, StepRevokeUnproven, StepVerify, StepSeal, StepPush, StepPR, StepClose, StepAutomerge, StepLanded}
