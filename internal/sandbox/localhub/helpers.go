package localhub

import (
	"context"
	"fmt"
	"time"
)

// packLimit is the number of files from which CommitFiles packs what it
// wrote: git's receive.unpackLimit.
const packLimit = 100

// CommitFiles commits files (path -> content; nil deletes a file) on
// branch as author and moves the branch, as if someone had pushed. A branch
// that does not exist yet starts from from ("" means the default branch, or
// a root commit in an empty repository). It returns the new commit. Tests use
// it to seed a repository and to race a push with another commit. A commit
// of packLimit files or more is packed, as git packs a push that large.
func (s *Server) CommitFiles(ctx context.Context, branch, from, message string, files map[string][]byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := "refs/heads/" + branch
	parent, exists := s.git.resolve(ctx, ref)
	if !exists {
		if from == "" {
			from = s.git.headBranch(ctx)
			if from == "" {
				from = s.opts.DefaultBranch
			}
		}
		parent, _ = s.git.resolve(ctx, from)
	}
	now := time.Now().UTC()
	sig := signature{name: s.opts.User, email: s.opts.User + "@users.noreply.localhub", when: now}
	sha, err := s.git.commitFiles(ctx, parent, files, message, sig, sig)
	if err != nil {
		return "", fmt.Errorf("committing to %s: %w", branch, err)
	}
	old := ""
	if exists {
		old = parent
	}
	if err := s.git.updateRef(ctx, ref, sha, old); err != nil {
		return "", fmt.Errorf("moving %s: %w", branch, err)
	}
	if len(files) >= packLimit {
		// Kept as a pack, as git keeps a push of that many objects
		// (receive.unpackLimit) and GitHub serves every repository:
		// thousands of loose objects would make each clone compress them
		// all again.
		if _, err := s.git.run(ctx, "", nil, nil, "repack", "-d", "-q"); err != nil {
			return "", fmt.Errorf("packing %s: %w", branch, err)
		}
	}
	s.pushedAt = now
	s.runAutoMergeLocked(ctx)
	s.refreshLocked(ctx)
	s.saveLocked()
	return sha, nil
}

// BranchSHA returns the commit branch points at, or "" when it does not
// exist.
func (s *Server) BranchSHA(ctx context.Context, branch string) string {
	sha, _ := s.git.resolve(ctx, "refs/heads/"+branch)
	return sha
}
