// Package rotate is credrotate's orchestrator. One run flows like this:
//
//	Preflight  clone the GitOps repo, check every certificate, overlay
//	           folder, forge permission and current secret; read the
//	           manifests, the open pull requests and Equifax's metadata
//	           (nothing is changed; any failure ends the run here)
//	MakePlan   pure: per key noop, renew, recover, resume, finish or blocked
//	Apply      finish   revoke retired secrets whose successor is in use
//	           renew    mint (Idempotency-Key from client + current secret id),
//	                    prove the new secret with a token, seal it for every
//	                    environment, commit and push one branch, open or
//	                    update one pull request, enable auto-merge
//	           resume   keep open rotation pull requests moving
//	Report     summary, alert issues opened or closed, webhook, metrics
//
// The state lives where it survives a crash: at Equifax (which secrets are
// valid) and in git (manifest annotations on the base branch, the rotation
// branch and its pull request's hidden state marker). A run that dies at any
// point is picked up by the next: a minted secret that nothing names is
// recovered by replaying the renew with the same Idempotency-Key.
//
// The package declares the small interfaces it needs (Provider, Repo,
// Forge, Notifier); cmd wires the implementations in.
package rotate
