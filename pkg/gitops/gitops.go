// Package gitops is credrotate's view of the GitOps repository: a shallow,
// single-branch go-git clone of the base branch (in memory or in a folder),
// a small filesystem that the sealing step writes through, and Publish, the
// one write path, which commits the change, optionally signs it, and pushes
// it to the rotation branch with a lease, rebuilding it on a moved base a
// bounded number of times.
//
// A Workspace is not safe for concurrent use; a run owns one.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Defaults applied by Clone to zero Options fields.
const (
	DefaultBaseBranch   = "main"
	DefaultCloneTimeout = 2 * time.Minute
	DefaultPushTimeout  = time.Minute
	DefaultMaxAttempts  = 3
	DefaultAuthorName   = "credrotate"
	DefaultAuthorEmail  = "credrotate@localhost"
)

const remoteName = "origin"

// Signature is the author (and committer) of credrotate's commits.
type Signature struct {
	Name  string
	Email string
}

// Options configure a Workspace. They mirror the git.* configuration keys.
type Options struct {
	// URL of the repository: https://, ssh:// (or scp-like git@host:path), or
	// file:// for a local bare repository.
	URL string
	// BaseBranch is the branch that is cloned and that rotations are based
	// on (default "main").
	BaseBranch string
	// Token authenticates HTTPS fetches and pushes as Basic
	// x-access-token:<token>, which GitHub accepts for personal access,
	// installation and Actions tokens. It never appears in an error.
	Token string
	// SSHKeyFile is a private key for ssh:// URLs (user "git" unless the URL
	// names one). Host keys are verified strictly against KnownHostsFile or,
	// when that is empty, go-git's defaults: the files listed in the
	// SSH_KNOWN_HOSTS environment variable, else ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts. There is no trust-on-first-use: an unknown host
	// fails the clone with an error that names known_hosts.
	SSHKeyFile string
	// KnownHostsFile overrides the known_hosts lookup for SSH.
	KnownHostsFile string
	// Author names the author and committer of every commit.
	Author Signature
	// SigningKeyFile is an optional armored OpenPGP private key (not
	// passphrase-protected); when set every commit is signed with it.
	SigningKeyFile string
	// Dir is where the clone lives; "" keeps it in memory. A non-empty Dir
	// must be empty or absent.
	Dir string
	// CloneTimeout bounds every read from the remote (clone, fetch,
	// ls-remote); PushTimeout bounds every push.
	CloneTimeout, PushTimeout time.Duration
	// MaxAttempts bounds Publish's rebuild-and-push loop (default 3).
	MaxAttempts int
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.BaseBranch == "" {
		o.BaseBranch = DefaultBaseBranch
	}
	if o.CloneTimeout <= 0 {
		o.CloneTimeout = DefaultCloneTimeout
	}
	if o.PushTimeout <= 0 {
		o.PushTimeout = DefaultPushTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Author.Name == "" {
		o.Author.Name = DefaultAuthorName
	}
	if o.Author.Email == "" {
		o.Author.Email = DefaultAuthorEmail
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Workspace is a shallow clone of the base branch plus the means to publish
// a change on top of it.
type Workspace struct {
	opts   Options
	repo   *git.Repository
	wt     *git.Worktree
	fs     billy.Filesystem
	auth   transport.AuthMethod
	signer git.Signer
	base   plumbing.Hash
	// scrub removes credentials from error text.
	scrub func(string) string
	// beforePush, when set (tests only), runs between the remote check and
	// the push of each attempt.
	beforePush func(attempt int)
}

// Clone makes a shallow (depth 1), single-branch clone of opts.BaseBranch.
// Every network step runs under opts.CloneTimeout.
func Clone(ctx context.Context, opts Options) (*Workspace, error) {
	opts.setDefaults()
	if opts.URL == "" {
		return nil, errors.New("git url is empty: set git.url")
	}
	w := &Workspace{opts: opts}
	w.scrub = newScrubber(opts.URL, opts.Token)
	auth, err := authMethod(opts)
	if err != nil {
		return nil, err
	}
	w.auth = auth
	if opts.SigningKeyFile != "" {
		s, err := loadSigner(opts.SigningKeyFile)
		if err != nil {
			return nil, err
		}
		w.signer = s
	}

	var st storage.Storer
	if opts.Dir == "" {
		st, w.fs = memory.NewStorage(), memfs.New()
	} else {
		if err := ensureEmptyDir(opts.Dir); err != nil {
			return nil, err
		}
		w.fs = osfs.New(opts.Dir)
		st = filesystem.NewStorage(osfs.New(filepath.Join(opts.Dir, ".git")), cache.NewObjectLRUDefault())
	}

	cctx, cancel := context.WithTimeout(ctx, opts.CloneTimeout)
	defer cancel()
	repo, err := git.CloneContext(cctx, st, w.fs, &git.CloneOptions{
		URL:           opts.URL,
		Auth:          w.auth,
		RemoteName:    remoteName,
		ReferenceName: plumbing.NewBranchReferenceName(opts.BaseBranch),
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
	})
	if err != nil {
		return nil, w.wrap(ctx, cctx, fmt.Sprintf("cloning %s branch %s", RedactURL(opts.URL), opts.BaseBranch), err)
	}
	w.repo = repo
	// A rotation pushes fresh ciphertext, which no delta can shrink:
	// searching for deltas (git's pack.window, 10 by default) only costs
	// time on every push.
	cfg, err := repo.Config()
	if err != nil {
		return nil, fmt.Errorf("reading the clone's config: %w", err)
	}
	cfg.Pack.Window = 0
	if err := repo.SetConfig(cfg); err != nil {
		return nil, fmt.Errorf("writing the clone's config: %w", err)
	}
	if w.wt, err = repo.Worktree(); err != nil {
		return nil, fmt.Errorf("opening worktree: %w", err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("reading cloned head: %w", err)
	}
	w.base = head.Hash()
	return w, nil
}

// BaseSHA is the commit of the base branch the workspace currently holds.
func (w *Workspace) BaseSHA() string { return w.base.String() }

// BaseBranch is the configured base branch.
func (w *Workspace) BaseBranch() string { return w.opts.BaseBranch }

// lsRemote lists the remote's branch heads.
func (w *Workspace) lsRemote(ctx context.Context) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	rem, err := w.repo.Remote(remoteName)
	if err != nil {
		return nil, fmt.Errorf("reading remote: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, w.opts.CloneTimeout)
	defer cancel()
	refs, err := rem.ListContext(cctx, &git.ListOptions{Auth: w.auth})
	if err != nil {
		return nil, w.wrap(ctx, cctx, "listing remote branches", err)
	}
	out := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference && r.Name().IsBranch() {
			out[r.Name()] = r.Hash()
		}
	}
	return out, nil
}

// fetchBranch fetches branch at depth 1 into refs/remotes/origin/<branch>
// and returns its tip.
func (w *Workspace) fetchBranch(ctx context.Context, branch string) (plumbing.Hash, error) {
	return w.fetchBranchDepth(ctx, branch, 1)
}

// fetchBranchDepth fetches branch with depth commits of its history.
func (w *Workspace) fetchBranchDepth(ctx context.Context, branch string, depth int) (plumbing.Hash, error) {
	tracking := plumbing.NewRemoteReferenceName(remoteName, branch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(branch), tracking))
	cctx, cancel := context.WithTimeout(ctx, w.opts.CloneTimeout)
	defer cancel()
	err := w.repo.FetchContext(cctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Depth:      depth,
		Auth:       w.auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if isNoMatchingRef(err) {
			return plumbing.ZeroHash, fmt.Errorf("fetching branch %s: %w", branch, ErrBranchNotFound)
		}
		return plumbing.ZeroHash, w.wrap(ctx, cctx, "fetching branch "+branch, err)
	}
	ref, err := w.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading fetched branch %s: %w", branch, err)
	}
	return ref.Hash(), nil
}

// ReadBranchFile reads a file as it is on branch at the remote (fetched at
// depth 1). A missing branch yields ErrBranchNotFound, a missing file an
// error matching fs.ErrNotExist.
func (w *Workspace) ReadBranchFile(ctx context.Context, branch, name string) ([]byte, error) {
	h, err := w.fetchBranch(ctx, branch)
	if err != nil {
		return nil, err
	}
	c, err := w.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s of branch %s: %w", h, branch, err)
	}
	f, err := c.File(cleanName(name))
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) || strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("reading %s on branch %s: %w", name, branch, os.ErrNotExist)
		}
		return nil, fmt.Errorf("reading %s on branch %s: %w", name, branch, err)
	}
	s, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("reading %s on branch %s: %w", name, branch, err)
	}
	return []byte(s), nil
}

// ErrBranchNotFound reports that a branch does not exist at the remote. It
// matches fs.ErrNotExist too.
var ErrBranchNotFound error = branchNotFound{}

type branchNotFound struct{}

func (branchNotFound) Error() string        { return "branch not found" }
func (branchNotFound) Is(target error) bool { return target == fs.ErrNotExist }

// ErrPublishConflict reports that Publish gave up after MaxAttempts because
// the branch or the base kept moving.
var ErrPublishConflict = errors.New("push kept being rejected: the branch or base branch kept moving")

func isNoMatchingRef(err error) bool {
	var nm git.NoMatchingRefSpecError
	return errors.As(err, &nm) || strings.Contains(err.Error(), "couldn't find remote ref")
}

func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking clone directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("clone directory %s is not empty", dir)
	}
	return nil
}

// wrap adds context to a network error, names a timeout as such, and keeps
// credentials out of the text. The original error stays reachable through
// errors.Is/As only when it carries no credential.
func (w *Workspace) wrap(parent, op context.Context, what string, err error) error {
	if op.Err() != nil && parent.Err() == nil {
		return fmt.Errorf("%s: %w", what, &TimeoutError{Op: what})
	}
	msg := err.Error()
	if s := w.scrub(msg); s != msg {
		return fmt.Errorf("%s: %s", what, s)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// TimeoutError reports that a network step exceeded its configured timeout.
type TimeoutError struct{ Op string }

func (e *TimeoutError) Error() string { return e.Op + " timed out" }

// Timeout marks the error as transient.
func (e *TimeoutError) Timeout() bool { return true }

// newScrubber returns a function that removes the token and any URL
// userinfo from text.
func newScrubber(rawURL, token string) func(string) string {
	var secrets []string
	if token != "" {
		secrets = append(secrets, token)
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p)
		}
		if n := u.User.Username(); n != "" && u.Scheme != "ssh" {
			secrets = append(secrets, n)
		}
	}
	return func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, "***")
		}
		return s
	}
}

// RedactURL returns rawURL without its userinfo, for logs and errors.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	u.User = nil
	return u.String()
}
