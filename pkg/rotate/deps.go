package rotate

import (
	"context"
	"io/fs"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/notify"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/seal"
)

// Provider is what a run needs from the service that issues a key's
// secrets: the provider contract (describe, create, verify, revoke, rules).
type Provider = provider.Provider

// Repo is the GitOps repository: the base branch as cloned, and the one
// write path.
type Repo interface {
	seal.ReadFS
	Stat(name string) (fs.FileInfo, error)
	// Publish builds a commit on the base branch with apply, and pushes it to
	// branch. apply may run more than once (when the base moves).
	Publish(ctx context.Context, req PublishRequest) (PublishResult, error)
	// BranchChanges returns the YAML files a rotation branch's commit adds
	// or changes, by path, as they are on the branch: where each key's
	// state of an open rotation is read from. A missing branch is an error
	// matching fs.ErrNotExist.
	BranchChanges(ctx context.Context, branch string) (map[string][]byte, error)
}

// PublishRequest is one commit to propose.
type PublishRequest struct {
	Branch  string
	Keys    []string
	Envs    []string
	TraceID string
	Apply   func(ctx context.Context, fsys seal.FS) error
	// Fresh says no pull request is open from Branch, so it is likely
	// absent on the remote and may be created in one push.
	Fresh bool
}

// PublishResult says what Publish did.
type PublishResult struct {
	Changed bool
	// Created is true when the push made Branch: no pull request can be
	// open from it yet.
	Created   bool
	CommitSHA string
	Attempts  int
}

// Forge is what a run needs from GitHub.
type Forge interface {
	ListOpenPRs(ctx context.Context, branchPrefix string) ([]forge.PR, error)
	EnsurePR(ctx context.Context, spec forge.PRSpec) (forge.PR, bool, error)
	// EnableAutoMerge reports whether the pull request is merged once
	// auto-merge is on (the forge merges at once when its checks passed).
	EnableAutoMerge(ctx context.Context, pr forge.PR, method string) (merged bool, err error)
	MergeIfGreen(ctx context.Context, pr forge.PR, method string) (bool, error)
	ClosePR(ctx context.Context, pr forge.PR, comment string) error
	GetPR(ctx context.Context, number int) (forge.PR, error)
	RaiseAlert(ctx context.Context, a forge.Alert) (forge.Issue, error)
	ResolveAlert(ctx context.Context, key, comment string) error
	// OpenAlertKeys lists the keys of the open alert issues in one call.
	OpenAlertKeys(ctx context.Context) (map[string]bool, error)
}

// BranchKeepingCloser is an optional Forge method: close a pull request
// without deleting its branch. Closing one of two pull requests from the
// same branch (two overlapping runs) must not close the other with the
// branch; a Forge without it leaves such a duplicate open until the other
// merges, when it is stale and closed.
type BranchKeepingCloser interface {
	ClosePRKeepBranch(ctx context.Context, pr forge.PR, comment string) error
}

// Notifier sends the run's notice (a webhook); optional.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// SecretReader reads the secret a workload uses now.
type SecretReader interface {
	Read(ctx context.Context) (credential.Secret, error)
	Describe() string
}
