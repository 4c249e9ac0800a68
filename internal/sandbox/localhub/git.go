package localhub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// errConflict reports a merge or rebase that git could not finish on its own.
var errConflict = errors.New("merge conflict")

// signature is a git author or committer.
type signature struct {
	name, email string
	when        time.Time
}

// gitRepo drives a bare repository through the git command line, using only
// plumbing (merge-tree, commit-tree, update-ref) except for rebases, which
// replay commits in a throw-away worktree.
type gitRepo struct {
	dir string
}

// gitError carries git's own message for a failed command.
type gitError struct {
	args   []string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: exit %d: %s", strings.Join(e.args, " "), e.code, strings.TrimSpace(e.stderr))
}

// baseEnv is the environment every git command runs with: the caller's,
// minus anything that would point git at another repository.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
			"GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*")
}

// run runs git against the bare repository (or in dir when dir is set) and
// returns its standard output.
func (g *gitRepo) run(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	full := args
	if dir == "" {
		full = append([]string{"--git-dir", g.dir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", full...)
	if dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = append(baseEnv(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), &gitError{args: args, code: ee.ExitCode(), stderr: errb.String()}
		}
		return out.String(), fmt.Errorf("running git %s: %w", args[0], err)
	}
	return out.String(), nil
}

func exitCodeOf(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// initBare creates a bare repository whose HEAD names branch.
func initBare(ctx context.Context, dir, branch string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("creating parent of %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, "git", "init", "--bare", "--quiet", "--initial-branch="+branch, dir)
	cmd.Env = baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git init --bare %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// isBare reports whether dir holds a bare git repository.
func isBare(ctx context.Context, dir string) bool {
	g := &gitRepo{dir: dir}
	out, err := g.run(ctx, "", nil, nil, "rev-parse", "--is-bare-repository")
	return err == nil && strings.TrimSpace(out) == "true"
}

// branches returns every branch with the commit it points at.
func (g *gitRepo) branches(ctx context.Context) (map[string]string, error) {
	out, err := g.run(ctx, "", nil, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		m[strings.TrimPrefix(ref, "refs/heads/")] = sha
	}
	return m, nil
}

// resolve returns the commit that rev (a branch, tag or SHA) names.
func (g *gitRepo) resolve(ctx context.Context, rev string) (string, bool) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", false
	}
	out, err := g.run(ctx, "", nil, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(out), true
}

// headBranch returns the branch HEAD points at.
func (g *gitRepo) headBranch(ctx context.Context) string {
	out, err := g.run(ctx, "", nil, nil, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// countBetween returns how many commits head has that base does not.
func (g *gitRepo) countBetween(ctx context.Context, base, head string) (int, error) {
	out, err := g.run(ctx, "", nil, nil, "rev-list", "--count", base+".."+head)
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscanf(strings.TrimSpace(out), "%d", &n)
	return n, err
}

// commitsBetween returns the non-merge commits of base..head, oldest first.
func (g *gitRepo) commitsBetween(ctx context.Context, base, head string) ([]string, error) {
	out, err := g.run(ctx, "", nil, nil, "rev-list", "--reverse", "--no-merges", base+".."+head)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// subjects returns the log messages of base..head, oldest first, as a
// squash commit lists them.
func (g *gitRepo) subjects(ctx context.Context, base, head string) ([]string, error) {
	out, err := g.run(ctx, "", nil, nil, "log", "--reverse", "--format=%s", base+".."+head)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), "\n"), nil
}

// mergeTree merges the trees of a and b without touching any ref and returns
// the resulting tree, or errConflict.
func (g *gitRepo) mergeTree(ctx context.Context, a, b string) (string, error) {
	out, err := g.run(ctx, "", nil, nil, "merge-tree", "--write-tree", "--no-messages", a, b)
	if err != nil {
		if exitCodeOf(err) == 1 {
			return "", errConflict
		}
		return "", err
	}
	tree, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(tree), nil
}

func sigEnv(author, committer signature) []string {
	return []string{
		"GIT_AUTHOR_NAME=" + author.name, "GIT_AUTHOR_EMAIL=" + author.email,
		"GIT_AUTHOR_DATE=" + author.when.Format(time.RFC3339),
		"GIT_COMMITTER_NAME=" + committer.name, "GIT_COMMITTER_EMAIL=" + committer.email,
		"GIT_COMMITTER_DATE=" + committer.when.Format(time.RFC3339),
	}
}

// commitTree writes a commit of tree with the given parents.
func (g *gitRepo) commitTree(ctx context.Context, tree string, parents []string, msg string, author, committer signature) (string, error) {
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	out, err := g.run(ctx, "", sigEnv(author, committer), strings.NewReader(msg), args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// updateRef moves ref to sha if it still points at old ("" for a new ref).
func (g *gitRepo) updateRef(ctx context.Context, ref, sha, old string) error {
	if old == "" {
		old = strings.Repeat("0", len(sha))
	}
	_, err := g.run(ctx, "", nil, nil, "update-ref", "-m", "localhub", ref, sha, old)
	return err
}

// deleteRef removes ref if it still points at old.
func (g *gitRepo) deleteRef(ctx context.Context, ref, old string) error {
	_, err := g.run(ctx, "", nil, nil, "update-ref", "-d", ref, old)
	return err
}

// rebase replays the commits of base..head onto onto and returns the new
// tip, or errConflict. The replay runs in a temporary worktree of the bare
// repository, so its commits land in the repository's object store.
func (g *gitRepo) rebase(ctx context.Context, onto, base, head string, committer signature) (string, error) {
	commits, err := g.commitsBetween(ctx, base, head)
	if err != nil {
		return "", err
	}
	if len(commits) == 0 {
		return onto, nil
	}
	tmp, err := os.MkdirTemp("", "localhub-rebase-")
	if err != nil {
		return "", fmt.Errorf("creating rebase worktree: %w", err)
	}
	wt := filepath.Join(tmp, "wt")
	defer func() {
		// A fresh context: the cleanup must run even when ctx is done.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = g.run(cctx, "", nil, nil, "worktree", "remove", "--force", wt)
		_ = os.RemoveAll(tmp)
		_, _ = g.run(cctx, "", nil, nil, "worktree", "prune")
	}()
	if _, err := g.run(ctx, "", nil, nil, "worktree", "add", "--quiet", "--detach", wt, onto); err != nil {
		return "", err
	}
	env := []string{
		"GIT_COMMITTER_NAME=" + committer.name, "GIT_COMMITTER_EMAIL=" + committer.email,
		"GIT_COMMITTER_DATE=" + committer.when.Format(time.RFC3339),
	}
	args := append([]string{"-c", "core.hooksPath=/dev/null", "cherry-pick", "--allow-empty", "--keep-redundant-commits"}, commits...)
	if _, err := g.run(ctx, wt, env, nil, args...); err != nil {
		_, _ = g.run(ctx, wt, env, nil, "cherry-pick", "--abort")
		var ge *gitError
		if errors.As(err, &ge) && ge.code == 1 {
			return "", errConflict
		}
		return "", err
	}
	out, err := g.run(ctx, wt, nil, nil, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// commitFiles writes files (path -> content; nil content deletes) on top of
// parent ("" for a root commit) and returns the new commit, without moving
// any ref. It uses a temporary index, never a worktree.
func (g *gitRepo) commitFiles(ctx context.Context, parent string, files map[string][]byte, msg string, author, committer signature) (string, error) {
	idx, err := os.CreateTemp("", "localhub-index-")
	if err != nil {
		return "", fmt.Errorf("creating temporary index: %w", err)
	}
	idxPath := idx.Name()
	_ = idx.Close()
	_ = os.Remove(idxPath)
	defer os.Remove(idxPath)
	env := []string{"GIT_INDEX_FILE=" + idxPath}
	if parent != "" {
		if _, err := g.run(ctx, "", env, nil, "read-tree", parent); err != nil {
			return "", err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		content := files[p]
		if content == nil {
			if _, err := g.run(ctx, "", env, nil, "update-index", "--force-remove", "--", p); err != nil {
				return "", err
			}
			continue
		}
		out, err := g.run(ctx, "", nil, bytes.NewReader(content), "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		if _, err := g.run(ctx, "", env, nil, "update-index", "--add", "--cacheinfo", "100644,"+strings.TrimSpace(out)+","+p); err != nil {
			return "", err
		}
	}
	out, err := g.run(ctx, "", env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	var parents []string
	if parent != "" {
		parents = []string{parent}
	}
	return g.commitTree(ctx, strings.TrimSpace(out), parents, msg, author, committer)
}
