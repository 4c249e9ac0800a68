package gitops

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitEnv keeps the git CLI away from the user's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=/nonexistent",
		"GIT_AUTHOR_NAME=Someone", "GIT_AUTHOR_EMAIL=someone@example.com",
		"GIT_COMMITTER_NAME=Someone", "GIT_COMMITTER_EMAIL=someone@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// runGit runs the git CLI in dir and returns its trimmed stdout.
func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// remoteRepo is a bare repository plus a scratch clone the test uses to
// play "someone else" pushing to it.
type remoteRepo struct {
	t    testing.TB
	bare string
	work string
}

func (r *remoteRepo) URL() string { return "file://" + r.bare }

// newRemote makes a bare repo whose main branch holds files.
func newRemote(t testing.TB, files map[string]string) *remoteRepo {
	t.Helper()
	root := t.TempDir()
	r := &remoteRepo{t: t, bare: filepath.Join(root, "remote.git"), work: filepath.Join(root, "work")}
	runGit(t, root, "init", "-q", "--bare", "-b", "main", r.bare)
	runGit(t, root, "init", "-q", "-b", "main", r.work)
	runGit(t, r.work, "remote", "add", "origin", r.bare)
	r.commit("main", "initial", files)
	return r
}

// commit writes files on branch in the scratch clone and pushes it.
func (r *remoteRepo) commit(branch, msg string, files map[string]string) string {
	r.t.Helper()
	if out := runGit(r.t, r.work, "ls-remote", "origin", "refs/heads/"+branch); out != "" {
		runGit(r.t, r.work, "fetch", "-q", "origin", branch)
		runGit(r.t, r.work, "checkout", "-q", "-f", "-B", branch, "FETCH_HEAD")
	} else if runGit(r.t, r.work, "ls-remote", "origin") != "" {
		runGit(r.t, r.work, "fetch", "-q", "origin", "main")
		runGit(r.t, r.work, "checkout", "-q", "-f", "-B", branch, "FETCH_HEAD")
	}
	for name, data := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	runGit(r.t, r.work, "add", "-A")
	runGit(r.t, r.work, "commit", "-q", "--allow-empty", "-m", msg)
	runGit(r.t, r.work, "push", "-q", "-f", "origin", "HEAD:refs/heads/"+branch)
	return runGit(r.t, r.work, "rev-parse", "HEAD")
}

// rev resolves a revision in the bare repository.
func (r *remoteRepo) rev(rev string) string {
	r.t.Helper()
	return runGit(r.t, r.bare, "rev-parse", rev)
}

// show prints a file at a revision of the bare repository.
func (r *remoteRepo) show(rev, name string) string {
	r.t.Helper()
	return runGit(r.t, r.bare, "show", rev+":"+name)
}

// hasBranch reports whether the bare repository has branch.
func (r *remoteRepo) hasBranch(branch string) bool {
	r.t.Helper()
	return runGit(r.t, r.bare, "branch", "--list", branch) != ""
}
