package localhub_test

import (
	"path/filepath"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// TestGitRequestsCountRoundTrips checks that every git smart HTTP request is
// counted once: a clone is a ref advertisement and an upload-pack, a push a
// receive-pack advertisement and a receive-pack, an ls-remote one
// advertisement, and refused requests count too.
func TestGitRequestsCountRoundTrips(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	gitURL := h.GitURL(h.ts.URL)
	work := filepath.Join(t.TempDir(), "work")

	steps := []struct {
		name string
		run  func(t *testing.T)
		want int
	}{
		{"shallow clone", func(t *testing.T) {
			gitRun(t, "", "-c", "protocol.version=0", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", "main", gitURL, work)
		}, 2},
		{"ls-remote", func(t *testing.T) {
			gitRun(t, "", "-c", "protocol.version=0", "ls-remote", gitURL)
		}, 1},
		{"push", func(t *testing.T) {
			gitRun(t, work, "commit", "--quiet", "--allow-empty", "-m", "empty")
			gitRun(t, work, "-c", "protocol.version=0", "push", "--quiet", authURL(t, gitURL, testToken), "HEAD:refs/heads/credrotate/count")
		}, 2},
		{"refused push", func(t *testing.T) {
			if out, err := gitTry(work, "-c", "protocol.version=0", "push", "--quiet", authURL(t, gitURL, "wrong"), "HEAD:refs/heads/credrotate/other"); err == nil {
				t.Fatalf("push with a wrong token succeeded: %s", out)
			}
		}, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := h.Calls()
			st.run(t)
			after := h.Calls()
			if got := after.GitRequests - before.GitRequests; got < st.want {
				t.Errorf("git requests = %d, want at least %d", got, st.want)
			}
			if after.APITotal != before.APITotal {
				t.Errorf("git requests counted as API calls: %d -> %d", before.APITotal, after.APITotal)
			}
		})
	}
}
