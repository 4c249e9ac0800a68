package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// PublishRequest is one change to propose: Apply writes the files (through
// the FS it is given) on top of the base branch; Publish commits them with
// Message and pushes the commit to Branch.
type PublishRequest struct {
	Branch  string
	Message string
	// Apply writes the change. It may be called more than once (once per
	// attempt, each time on a fresh base), so it must derive what it writes
	// from what it reads, not from a previous call.
	Apply func(ctx context.Context, fs FS) error
	// Fresh says Branch is not expected on the remote (no pull request is
	// open from it): the first attempt creates it in one push, refused
	// unless the base branch is still at the commit the change was built on
	// and Branch does not exist, instead of listing the remote first. A
	// refused push goes on as an attempt without the hint would.
	Fresh bool
}

// PublishResult says what Publish did.
type PublishResult struct {
	// Changed is false when Apply left the tree as it was on the base
	// branch: nothing was committed or pushed.
	Changed bool
	// Pushed is false when the branch already held exactly this change on
	// this base (a re-run), so no push was needed.
	Pushed bool
	// Created is true when this push made Branch: it was not on the
	// remote, so no pull request can be open from it yet.
	Created bool
	// CommitSHA is the commit the branch now points to.
	CommitSHA string
	// BaseSHA is the base branch commit the change was built on.
	BaseSHA string
	// Attempts counts the rounds of apply, commit and push.
	Attempts int
	// BytesPushed is not measured by go-git's push and stays 0; ObjectsPushed
	// approximates the size of the push.
	BytesPushed int64
	// ObjectsPushed is the number of new objects in the commit (blobs, trees
	// and the commit itself) that the remote did not have.
	ObjectsPushed int
}

// Publish builds the change on the base tip and pushes it to req.Branch.
//
// Each attempt: check out the base tip on the local rotation branch, call
// Apply, commit the files it touched (nothing changed: Changed=false, no
// push, no error), look at the remote, and push with a lease on the
// branch's remote commit (force-with-lease: the branch is credrotate's and a
// re-run rewrites it). When the base moved since the clone, or the push is
// rejected because the branch moved, fetch the new base and try again, at
// most MaxAttempts times; then ErrPublishConflict.
func (w *Workspace) Publish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	if req.Branch == "" || req.Branch == w.opts.BaseBranch {
		return PublishResult{}, fmt.Errorf("publishing: rotation branch %q must be set and differ from the base branch", req.Branch)
	}
	if req.Apply == nil {
		return PublishResult{}, errors.New("publishing: no apply function")
	}
	if strings.TrimSpace(req.Message) == "" {
		return PublishResult{}, errors.New("publishing: empty commit message")
	}
	branchRef := plumbing.NewBranchReferenceName(req.Branch)
	baseRef := plumbing.NewBranchReferenceName(w.opts.BaseBranch)

	var lastErr error
	var touched []string
	refresh := false
	for attempt := 1; attempt <= w.opts.MaxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return PublishResult{Attempts: attempt - 1}, err
		}
		if refresh {
			h, err := w.fetchBranch(ctx, w.opts.BaseBranch)
			if err != nil {
				return PublishResult{Attempts: attempt - 1}, fmt.Errorf("refreshing base branch: %w", err)
			}
			w.base = h
		}
		if err := w.checkoutBase(branchRef, touched); err != nil {
			return PublishResult{Attempts: attempt}, err
		}

		rec := &recordingFS{Workspace: w, touched: map[string]bool{}}
		if err := req.Apply(ctx, rec); err != nil {
			return PublishResult{Attempts: attempt, BaseSHA: w.base.String()}, fmt.Errorf("applying change: %w", err)
		}
		touched = rec.list()

		res := PublishResult{Attempts: attempt, BaseSHA: w.base.String()}
		commit, err := w.commit(req.Message, touched)
		if errors.Is(err, git.ErrEmptyCommit) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Changed = true
		res.CommitSHA = commit.String()

		if attempt == 1 && req.Fresh {
			if n, err := w.create(ctx, branchRef, baseRef, commit); err == nil {
				res.Pushed, res.Created, res.ObjectsPushed = true, true, n
				return res, nil
			} else if err := ctx.Err(); err != nil {
				return res, err
			}
			// The branch is there, the base moved, or the push failed: the
			// listing below finds out which.
		}

		remote, err := w.lsRemote(ctx)
		if err != nil {
			return res, err
		}
		if tip, ok := remote[baseRef]; !ok {
			return res, fmt.Errorf("base branch %s: %w", w.opts.BaseBranch, ErrBranchNotFound)
		} else if tip != w.base {
			lastErr = fmt.Errorf("base branch %s moved from %s to %s", w.opts.BaseBranch, short(w.base), short(tip))
			refresh = true
			continue
		}
		lease, exists := remote[branchRef]
		if exists {
			same, err := w.sameChange(ctx, req.Branch, lease, commit)
			if err != nil {
				return res, err
			}
			if same {
				res.CommitSHA = lease.String()
				return res, nil
			}
		}
		if w.beforePush != nil {
			w.beforePush(attempt)
		}
		n, err := w.push(ctx, branchRef, commit, lease, exists)
		if err != nil {
			if !retryablePush(err) {
				return res, err
			}
			lastErr = err
			refresh = true
			continue
		}
		res.Pushed, res.Created = true, !exists
		res.ObjectsPushed = n
		return res, nil
	}
	return PublishResult{Attempts: w.opts.MaxAttempts, BaseSHA: w.base.String()},
		fmt.Errorf("publishing to %s after %d attempts: %w (last: %v)", req.Branch, w.opts.MaxAttempts, ErrPublishConflict, lastErr)
}

// checkoutBase points the local rotation branch at the base tip and checks it
// out, discarding what an earlier attempt wrote.
func (w *Workspace) checkoutBase(branch plumbing.ReferenceName, touched []string) error {
	if err := w.repo.Storer.SetReference(plumbing.NewHashReference(branch, w.base)); err != nil {
		return fmt.Errorf("creating local branch: %w", err)
	}
	if err := w.wt.Checkout(&git.CheckoutOptions{Branch: branch, Force: true}); err != nil {
		return fmt.Errorf("checking out base %s: %w", short(w.base), err)
	}
	if len(touched) == 0 {
		return nil
	}
	c, err := w.repo.CommitObject(w.base)
	if err != nil {
		return fmt.Errorf("reading base commit: %w", err)
	}
	for _, p := range touched {
		if _, err := c.File(p); err == nil {
			continue
		}
		if err := w.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cleaning %s: %w", p, err)
		}
	}
	return nil
}

// commit stages exactly the touched paths and commits them on the base.
func (w *Workspace) commit(msg string, touched []string) (plumbing.Hash, error) {
	if len(touched) == 0 {
		return plumbing.ZeroHash, git.ErrEmptyCommit
	}
	for _, p := range touched {
		fi, err := w.fs.Lstat(p)
		switch {
		case err == nil && !fi.IsDir():
			// SkipStatus: a status of the whole worktree per file would make
			// a commit of N files cost O(N²).
			if err := w.wt.AddWithOptions(&git.AddOptions{Path: p, SkipStatus: true}); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("staging %s: %w", p, err)
			}
		case err == nil:
			// a folder: its files are staged one by one
		case errors.Is(err, fs.ErrNotExist):
			if _, err := w.wt.Remove(p); err != nil && !errors.Is(err, index.ErrEntryNotFound) && !errors.Is(err, fs.ErrNotExist) {
				return plumbing.ZeroHash, fmt.Errorf("staging removal of %s: %w", p, err)
			}
		default:
			return plumbing.ZeroHash, fmt.Errorf("staging %s: %w", p, err)
		}
	}
	now := w.opts.Now()
	sig := &object.Signature{Name: w.opts.Author.Name, Email: w.opts.Author.Email, When: now}
	h, err := w.wt.Commit(msg, &git.CommitOptions{
		Author:    sig,
		Committer: sig,
		Parents:   []plumbing.Hash{w.base},
		Signer:    w.signer,
	})
	if err != nil {
		if errors.Is(err, git.ErrEmptyCommit) {
			return plumbing.ZeroHash, err
		}
		return plumbing.ZeroHash, fmt.Errorf("committing: %w", err)
	}
	return h, nil
}

// sameChange reports whether the remote branch tip already is this change:
// same tree, built on the same base.
func (w *Workspace) sameChange(ctx context.Context, branch string, remote, local plumbing.Hash) (bool, error) {
	rc, err := w.repo.CommitObject(remote)
	if err != nil {
		if _, err := w.fetchBranch(ctx, branch); err != nil {
			if errors.Is(err, ErrBranchNotFound) {
				return false, nil
			}
			return false, err
		}
		if rc, err = w.repo.CommitObject(remote); err != nil {
			// the branch moved between ls-remote and fetch; the leased
			// push decides.
			return false, nil
		}
	}
	lc, err := w.repo.CommitObject(local)
	if err != nil {
		return false, fmt.Errorf("reading new commit: %w", err)
	}
	return rc.TreeHash == lc.TreeHash && len(rc.ParentHashes) == 1 && rc.ParentHashes[0] == w.base, nil
}

// push sends commit to branch. With exists, the push is leased on the
// remote's current commit lease (force-with-lease); without, it only creates
// the branch.
func (w *Workspace) push(ctx context.Context, branch plumbing.ReferenceName, commit, lease plumbing.Hash, exists bool) (int, error) {
	spec := config.RefSpec(fmt.Sprintf("%s:%s", branch, branch))
	opts := &git.PushOptions{
		RemoteName: remoteName,
		Auth:       w.auth,
	}
	if exists {
		// go-git checks the lease against the remote-tracking ref.
		tracking := plumbing.NewRemoteReferenceName(remoteName, branch.Short())
		if err := w.repo.Storer.SetReference(plumbing.NewHashReference(tracking, lease)); err != nil {
			return 0, fmt.Errorf("recording lease: %w", err)
		}
		spec = config.RefSpec("+" + string(spec))
		opts.ForceWithLease = &git.ForceWithLease{RefName: branch, Hash: lease}
	}
	opts.RefSpecs = []config.RefSpec{spec}
	n := w.countNewObjects(commit)

	pctx, cancel := context.WithTimeout(ctx, w.opts.PushTimeout)
	defer cancel()
	err := w.repo.PushContext(pctx, opts)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return 0, w.wrap(ctx, pctx, "pushing "+branch.Short(), err)
	}
	return n, nil
}

// create pushes commit to branch only if branch does not exist on the
// remote and base is still at the commit the change was built on: both are
// checked against the push's own reading of the remote, so creating a
// branch costs one exchange. Unlike push, "already up to date" is an error
// here: the branch exists, and the caller goes on to compare it.
func (w *Workspace) create(ctx context.Context, branch, base plumbing.ReferenceName, commit plumbing.Hash) (int, error) {
	n := w.countNewObjects(commit)
	pctx, cancel := context.WithTimeout(ctx, w.opts.PushTimeout)
	defer cancel()
	err := w.repo.PushContext(pctx, &git.PushOptions{
		RemoteName: remoteName,
		Auth:       w.auth,
		// Without "+", an existing branch is refused: go-git finds that
		// the push is not a fast-forward of what is there.
		RefSpecs:          []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", branch, branch))},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(w.base.String() + ":" + string(base))},
	})
	if err != nil {
		return 0, w.wrap(ctx, pctx, "creating "+branch.Short(), err)
	}
	return n, nil
}

// countNewObjects counts the objects commit adds over its first parent.
func (w *Workspace) countNewObjects(commit plumbing.Hash) int {
	c, err := w.repo.CommitObject(commit)
	if err != nil {
		return 0
	}
	p, err := c.Parent(0)
	if err != nil {
		return 0
	}
	pt, err1 := p.Tree()
	ct, err2 := c.Tree()
	if err1 != nil || err2 != nil {
		return 0
	}
	changes, err := object.DiffTree(pt, ct)
	if err != nil {
		return 0
	}
	dirs := map[string]bool{}
	n := 1 + 1 // the commit and the root tree
	for _, ch := range changes {
		if ch.To.Name == "" {
			continue
		}
		n++
		for d := parentDir(ch.To.Name); d != ""; d = parentDir(d) {
			dirs[d] = true
		}
	}
	return n + len(dirs)
}

func parentDir(p string) string {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// retryablePush reports whether a push error may go away on a fresh base
// and lease: anything but cancellation, timeouts and auth or repository
// errors. A rejected lease ("non-fast-forward", "stale info"), a branch
// created meanwhile, or a ref lock held by another push all qualify; the
// loop is bounded by MaxAttempts either way.
func retryablePush(err error) bool {
	var te *TimeoutError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &te),
		errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrRepositoryNotFound), errors.Is(err, transport.ErrInvalidAuthMethod):
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"authentication", "authorization", "permission", "forbidden", "not found: repository"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// recordingFS is the FS handed to Apply: the workspace, noting every path
// written or removed so that exactly those are staged.
type recordingFS struct {
	*Workspace
	touched map[string]bool
}

func (r *recordingFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if err := r.Workspace.WriteFile(name, data, perm); err != nil {
		return err
	}
	r.touched[cleanName(name)] = true
	return nil
}

func (r *recordingFS) Remove(name string) error {
	if err := r.Workspace.Remove(name); err != nil {
		return err
	}
	r.touched[cleanName(name)] = true
	return nil
}

func (r *recordingFS) list() []string {
	out := make([]string, 0, len(r.touched))
	for p := range r.touched {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
