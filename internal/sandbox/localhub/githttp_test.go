package localhub_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// authURL puts user:password into a clone URL, as x-access-token users do.
func authURL(t *testing.T, raw, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		u.User = url.UserPassword("x-access-token", password)
	}
	return u.String()
}

func TestGitSmartHTTPCloneAndPush(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	gitURL := h.GitURL(h.ts.URL)
	work := filepath.Join(t.TempDir(), "work")

	// Fetching is anonymous, as for a public repository.
	gitRun(t, "", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", "main", gitURL, work)
	if _, err := os.Stat(filepath.Join(work, "README.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "new.yaml"), []byte("sealed: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, work, "checkout", "--quiet", "-b", "credrotate/run-1")
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "--quiet", "-m", "Add a sealed secret")
	local := strings.TrimSpace(gitRun(t, work, "rev-parse", "HEAD"))

	cases := []struct {
		name, password string
		ok             bool
	}{
		{"no credential", "", false},
		{"wrong token", "not-the-token", false},
		{"token", testToken, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := gitTry(work, "push", "--quiet", authURL(t, gitURL, tc.password), "HEAD:refs/heads/credrotate/run-1")
			if (err == nil) != tc.ok {
				t.Fatalf("push err = %v, want ok=%v\n%s", err, tc.ok, out)
			}
		})
	}
	if got := h.revParse(t, "credrotate/run-1"); got != local {
		t.Fatalf("pushed branch = %s, want %s", got, local)
	}
	// The pushed branch is at once a valid pull-request head.
	pr, _, err := h.client(testToken).PullRequests.Create(context.Background(), "acme", "gitops", &github.NewPullRequest{
		Title: ptr("Pushed"), Head: ptr("credrotate/run-1"), Base: ptr("main"),
	})
	if err != nil || pr.GetHead().GetSHA() != local {
		t.Fatalf("pull request on the pushed branch: %v", err)
	}

	// A force-push moves the pull request's head.
	gitRun(t, work, "commit", "--quiet", "--amend", "-m", "Add a sealed secret (amended)")
	amended := strings.TrimSpace(gitRun(t, work, "rev-parse", "HEAD"))
	gitRun(t, work, "push", "--quiet", "--force", authURL(t, gitURL, testToken), "HEAD:refs/heads/credrotate/run-1")
	got, _, err := h.client(testToken).PullRequests.Get(context.Background(), "acme", "gitops", pr.GetNumber())
	if err != nil || got.GetHead().GetSHA() != amended {
		t.Fatalf("head after force-push = %s, want %s (%v)", got.GetHead().GetSHA(), amended, err)
	}

	// Fetch sees what the server did.
	h.commit(t, "main", "moved on", map[string]string{"other.txt": "x\n"})
	gitRun(t, work, "fetch", "--quiet", "origin", "main")
	if fetched := strings.TrimSpace(gitRun(t, work, "rev-parse", "FETCH_HEAD")); fetched != h.revParse(t, "main") {
		t.Errorf("fetched %s", fetched)
	}

	c := h.Calls()
	if c.GitPushes != 2 || c.BytesPushed <= 0 || c.GitFetches < 2 {
		t.Errorf("calls = %+v", c)
	}
	// Other repositories do not exist.
	if out, err := gitTry("", "ls-remote", strings.Replace(gitURL, "gitops", "other", 1)); err == nil {
		t.Errorf("ls-remote of another repository succeeded: %s", out)
	}
}

func TestGitPushNeedsContentsWrite(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken, Permissions: localhub.Permissions{Contents: localhub.AccessRead}})
	work := filepath.Join(t.TempDir(), "work")
	gitURL := authURL(t, h.GitURL(h.ts.URL), testToken)
	gitRun(t, "", "clone", "--quiet", gitURL, work)
	gitRun(t, work, "commit", "--quiet", "--allow-empty", "-m", "empty")
	out, err := gitTry(work, "push", "origin", "HEAD:refs/heads/x")
	if err == nil || !strings.Contains(out, "403") {
		t.Fatalf("push without contents: write: err=%v\n%s", err, out)
	}
	if h.BranchSHA(context.Background(), "x") != "" {
		t.Error("the branch was created")
	}
}

func TestGitPushLargePack(t *testing.T) {
	// Past git's http.postBuffer (1 MiB) the pack goes chunked, which CGI
	// cannot take as it is.
	h := newHub(t, localhub.Options{Token: testToken})
	work := filepath.Join(t.TempDir(), "w")
	gitRun(t, "", "clone", "--quiet", h.GitURL(h.ts.URL), work)
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "--quiet", "-m", "big")
	gitRun(t, work, "push", "--quiet", authURL(t, h.GitURL(h.ts.URL), testToken), "HEAD:refs/heads/big")
	if got, want := h.BranchSHA(context.Background(), "big"), strings.TrimSpace(gitRun(t, work, "rev-parse", "HEAD")); got != want {
		t.Fatalf("big = %q, want %q", got, want)
	}
	if c := h.Calls(); c.GitPushes != 1 || c.BytesPushed < 3<<20 {
		t.Errorf("calls = %+v", c)
	}
}
