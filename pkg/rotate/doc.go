// Package rotate is credrotate's orchestrator. One run flows like this:
//
//	Preflight  clone the GitOps repo, check every certificate, overlay
//	           folder, forge permission and current secret; read the
//	           manifests, the open pull requests, the open alerts and
//	           Equifax's metadata (nothing is changed; a failure that
//	           concerns the run ends it here, a key Equifax does not
//	           describe fails alone)                         preflight.go
//	Plan       pure: Classify recognises each key's State, Decide chooses
//	           its Action (noop, renew, recover, resume, finish, blocked,
//	           retry); Transitions is the state machine      plan.go state.go
//	Apply      renew    finish (revoke retired secrets whose successor is
//	                    in use); mint (Idempotency-Key from client + current
//	                    secret id) or recover by replay, prove the new
//	                    secret with a token within a bound    renew.go
//	           propose  seal (Sealer) for every environment, commit and
//	                    push one branch, open or update one pull request
//	                                                          propose.go
//	           land     enable auto-merge with bounded retries, close stale
//	                    and duplicate pull requests, resume open ones
//	                                                          land.go
//	           report   the expiry guard, alert issues opened or closed,
//	                    the webhook                           report.go
//
// The state lives where it survives a crash: at Equifax (which secrets are
// valid) and in git (manifest annotations on the base branch, the rotation
// branch and its pull request's hidden state marker). A run that dies at any
// point (CrashPoints) is picked up by the next: a minted secret that nothing
// names is recovered by replaying the renew with the same Idempotency-Key.
// From the mint on, the old secret's grace period is the rotation's
// deadline: every run pushes the rotation forward and every alert names it.
// docs/rotation.md draws the state machine.
//
// The package declares the small interfaces it needs (Provider, Repo,
// Forge, Notifier, SecretReader, Sealer); cmd wires the implementations in.
package rotate
