// Package localhub is a local server that speaks the part of GitHub's REST
// API, GraphQL API and git smart HTTP protocol that credrotate uses, over a
// real bare git repository. Pull requests join real branches, merges (merge,
// squash, rebase) really move the base branch, auto-merge waits for
// simulated required checks, and issues, comments, labels and reviewers are
// kept in memory. Tests and the demo run against it; `credrotate-sandbox localhub`
// serves it on its own.
//
// One Server serves one repository ({owner}/{repo}, default acme/gitops).
// Every REST route is served both at / and under /api/v3/ (as GitHub
// Enterprise); URLs in responses keep the prefix the request used.
//
//	GET    /                                       API root
//	GET    /user                                   the token's user (not for App tokens)
//	GET    /rate_limit                             budgets; does not spend one
//	GET    /app                                    App JWT only
//	GET    /app/installations/{id}                 App JWT only
//	POST   /app/installations/{id}/access_tokens   App JWT -> installation token (ghs_..., 1 h)
//	GET    /repos/{o}/{r}/installation             App JWT only
//	GET    /installation/repositories              installation token only
//	GET    /repos/{o}/{r}                          permissions{admin,push,pull}, default_branch, allow_*
//	GET    /repos/{o}/{r}/branches/{branch}
//	GET    /repos/{o}/{r}/pulls                    state, head=owner:branch, base, sort, direction, per_page, page
//	POST   /repos/{o}/{r}/pulls                    422 on a duplicate, head==base, no commits, missing branch
//	GET    /repos/{o}/{r}/pulls/{n}                mergeable, mergeable_state (clean|blocked|dirty|draft), size
//	PATCH  /repos/{o}/{r}/pulls/{n}                title, body, state, base
//	GET    /repos/{o}/{r}/pulls/{n}/merge          204 merged, 404 not
//	PUT    /repos/{o}/{r}/pulls/{n}/merge          merge|squash|rebase; 409 sha mismatch; 405 conflict or checks not passed
//	GET    /repos/{o}/{r}/pulls/{n}/requested_reviewers
//	POST   /repos/{o}/{r}/pulls/{n}/requested_reviewers   reviewers, team_reviewers; 422 for the author
//	DELETE /repos/{o}/{r}/pulls/{n}/requested_reviewers
//	GET    /repos/{o}/{r}/pulls/{n}/reviews        always empty
//	GET    /repos/{o}/{r}/issues                   state, labels (all of), creator, since, sort, direction; pull requests included
//	POST   /repos/{o}/{r}/issues
//	GET    /repos/{o}/{r}/issues/{n}
//	PATCH  /repos/{o}/{r}/issues/{n}               title, body, state, state_reason, labels
//	GET    /repos/{o}/{r}/issues/{n}/comments
//	POST   /repos/{o}/{r}/issues/{n}/comments
//	GET    /repos/{o}/{r}/issues/{n}/labels
//	POST   /repos/{o}/{r}/issues/{n}/labels        add; ["a"] or {"labels":["a"]}
//	PUT    /repos/{o}/{r}/issues/{n}/labels        replace
//	DELETE /repos/{o}/{r}/issues/{n}/labels[/{name}]
//	GET    /repos/{o}/{r}/labels[/{name}], POST /repos/{o}/{r}/labels (labels are also made on first use)
//	GET    /repos/{o}/{r}/commits/{ref}/status     combined status; the required check is "localhub/ci"
//	POST   /repos/{o}/{r}/statuses/{sha}           a "localhub/ci" status decides that commit's required check
//	GET    /repos/{o}/{r}/commits/{ref}/statuses
//	GET    /repos/{o}/{r}/commits/{ref}/check-runs
//	GET    /repos/{o}/{r}/git/ref/{ref}            heads/x or heads%2Fx
//	GET    /repos/{o}/{r}/git/refs/{ref}           exact, else a list of refs under it
//	POST   /repos/{o}/{r}/git/refs
//	PATCH  /repos/{o}/{r}/git/refs/{ref}           fast-forward unless force
//	DELETE /repos/{o}/{r}/git/refs/{ref}           deleting a pull request's head closes it, as on GitHub
//
//	POST   /graphql, /api/graphql                  enablePullRequestAutoMerge, disablePullRequestAutoMerge,
//	                                               mergePullRequest; repository{pullRequest}, node, viewer, rateLimit
//
//	GET    /{o}/{r}.git/info/refs, POST .../git-upload-pack, .../git-receive-pack   git smart HTTP
//	GET    /{o}/{r}, /{o}/{r}/pull/{n}, /{o}/{r}/issues/{n}                         plain web pages
//
// GraphQL documents are validated against schema.graphql, a subset of
// GitHub's public schema with GitHub's own names and types; unknown fields,
// arguments, types and bad variables fail validation with GitHub-style
// errors, and resolvers fail with a type (NOT_FOUND, UNPROCESSABLE,
// FORBIDDEN).
//
// Auth: with Options.Token set, API calls need "Authorization: token T" or
// "Bearer T" (401 "Requires authentication" / "Bad credentials" otherwise),
// and git pushes need T as the Basic-auth password of any user; fetches are
// anonymous. Installation tokens minted through App auth work everywhere the
// token does. A write the Permissions do not allow answers 403 "Resource not
// accessible by ..." naming the permission, with GitHub's
// X-Accepted-GitHub-Permissions header; a push answers 403.
//
// Every API response carries GitHub's x-ratelimit-* headers; a spent budget
// answers 403 with x-ratelimit-remaining: 0 (go-github's RateLimitError), and
// FailNext injects secondary rate limits (Retry-After) or server errors.
//
// Hostile (SetHostile) plays a hostile or broken GitHub on every API call:
// an endless rel="next", a huge body (streamed or declared), a 307 to
// another host or to plain http (API or git), a slow drip. OpenForeignPR
// opens pull requests that are not credrotate's: from a deleted fork
// (head.repo null), from a live fork, or by another account.
//
// Checks: the required check "localhub/ci" of a commit is the latest status
// posted for it with that context, else Options.Checks (SetChecks). It gates
// PUT /merge (405 while pending or failing) and auto-merge; other contexts
// show in the combined status only.
//
// Auto-merge: as on GitHub, enabling it on a pull request that could merge
// at once (mergeable_state clean: no conflict, the required check passed) is
// refused with "Pull request Pull request is in clean status"; the client
// merges it directly. Otherwise enabling it records the request and answers
// at once; the merge runs when SetChecks(ChecksSuccess) is called, a passing
// status is posted, or a push or commit reaches the head (as GitHub's runs
// asynchronously). A conflicting pull request waits until a push resolves
// it; an expectedHeadOid that no longer matches the head keeps it waiting.
//
// Smart HTTP is git's own git http-backend behind net/http/cgi. Merges use
// git plumbing (merge-tree --write-tree, commit-tree, update-ref with the old
// value), rebases a throw-away worktree; a single mutex serialises every
// write, so pushes, merges and auto-merges never interleave.
//
// State other than git (pull requests, issues, labels, tokens) lives in
// memory and is lost when the Server goes away.
package localhub
