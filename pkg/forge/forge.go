// Package forge is credrotate's pull-request contract: the values that
// describe a pull request, an alert issue and the rotation state carried in a
// pull request's body. Implementations live in subpackages (github, and the
// local server localhub that tests and the demo run against).
package forge

import (
	"errors"
	"time"
)

// PR is a pull request as credrotate sees it.
type PR struct {
	Number int
	// URL is the web page of the pull request (html_url).
	URL string
	// NodeID is the GraphQL id, needed to enable auto-merge.
	NodeID string
	// Branch is the head branch and Base the base branch.
	Branch, Base string
	// HeadSHA is the head commit the pull request was last seen at.
	HeadSHA string
	Title   string
	Body    string
	// State is "open" or "closed".
	State          string
	Merged         bool
	MergeCommitSHA string
	MergedAt       time.Time
	// Labels and Reviewers are what the forge reported last (requested
	// reviewers only; teams by slug).
	Labels, Reviewers, TeamReviewers []string
	// AutoMerge is true when auto-merge is enabled on the pull request.
	AutoMerge bool
	// Mergeable is GitHub's mergeable flag: nil while GitHub has not
	// computed it (and in lists, which do not carry it).
	Mergeable *bool
	// MergeableState is GitHub's mergeable_state (clean, blocked, dirty,
	// unstable, unknown, ...); "" when not reported.
	MergeableState string
	// Foreign, when set, says why the pull request is not credrotate's
	// although its branch carries the prefix (a fork, a deleted fork,
	// another author). Such a pull request is listed with no Body, so no
	// state is read from it, and must be left alone.
	Foreign string
}

// Open reports whether the pull request is open.
func (p PR) Open() bool { return p.State == "open" }

// Conflicting reports whether the forge says the pull request conflicts
// with its base branch (mergeable_state "dirty"), so it cannot merge until
// its branch is rebuilt.
func (p PR) Conflicting() bool {
	return p.Open() && (p.MergeableState == "dirty" || (p.MergeableState == "" && p.Mergeable != nil && !*p.Mergeable))
}

// PRSpec is the pull request credrotate wants for a branch.
type PRSpec struct {
	Branch, Base, Title, Body string
	Labels, Reviewers         []string
	TeamReviewers             []string
	// NewBranch says the run's own push just created Branch: no pull
	// request can be open from it yet, so none is looked for before one is
	// opened.
	NewBranch bool
}

// Alert is the issue raised when a rotation fails. Key identifies what
// failed (a provider key, or "run" for the run as a whole): there is at most
// one open alert issue per key.
type Alert struct {
	Key, Title, Body string
	Labels           []string
}

// Issue is an alert issue.
type Issue struct {
	Number int
	URL    string
	State  string
}

// Errors that forge implementations return, matched with errors.Is.
var (
	// ErrNotFound: the pull request, issue or repository does not exist
	// (or the credentials cannot see it).
	ErrNotFound = errors.New("not found")
	// ErrHeadMoved: the pull request's head is not the commit the caller
	// expected; nothing was merged.
	ErrHeadMoved = errors.New("pull request head moved")
	// ErrChecksFailed: a required check or status failed; nothing was
	// merged.
	ErrChecksFailed = errors.New("checks failed")
	// ErrNotMergeable: the forge refuses to merge (conflicts, branch
	// protection, a closed pull request).
	ErrNotMergeable = errors.New("pull request is not mergeable")
	// ErrPermission: the credentials lack a permission; see PermissionError.
	ErrPermission = errors.New("missing permission")
	// ErrUnauthorized: the forge rejected the credentials themselves (HTTP
	// 401): a missing, wrong, expired or revoked token or App key. It is
	// not a missing permission.
	ErrUnauthorized = errors.New("credentials rejected")
	// ErrRateLimited: the forge's rate limit stopped the call after the
	// allowed retries; see RateLimitError.
	ErrRateLimited = errors.New("rate limited")
)
