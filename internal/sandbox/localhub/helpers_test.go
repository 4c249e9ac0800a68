package localhub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

const testToken = "test-token-0123456789"

// hub is a Server behind an httptest server, with a seeded main branch.
type hub struct {
	*localhub.Server
	ts  *httptest.Server
	dir string
}

func newHub(t *testing.T, opts localhub.Options) *hub {
	t.Helper()
	if opts.RepoDir == "" {
		opts.RepoDir = filepath.Join(t.TempDir(), "gitops.git")
		opts.Init = true
	}
	opts.Logf = t.Logf
	s, err := localhub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{Server: s, ts: newTestServer(t, s), dir: opts.RepoDir}
	h.commit(t, "main", "initial commit", map[string]string{"README.md": "gitops\n", "overlays/prod/kustomization.yaml": "resources: []\n"})
	return h
}

// newTestServer serves s on loopback until the test ends.
func newTestServer(tb testing.TB, s *localhub.Server) *httptest.Server {
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return ts
}

// commit commits files on branch (created from main when missing).
func (h *hub) commit(t *testing.T, branch, msg string, files map[string]string) string {
	t.Helper()
	m := map[string][]byte{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	sha, err := h.CommitFiles(context.Background(), branch, "main", msg, m)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// revParse reads a ref straight from the bare repository.
func (h *hub) revParse(t *testing.T, rev string) string {
	t.Helper()
	return strings.TrimSpace(gitRun(t, "", "--git-dir", h.dir, "rev-parse", rev))
}

func (h *hub) client(token string) *github.Client {
	c := github.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, _ := url.Parse(h.ts.URL + "/")
	c.BaseURL = u
	return c
}

// gitEnv isolates the git CLI from the machine's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com")
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitTry(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gitTry(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apiCall sends one REST call with an optional JSON body and decodes the
// reply into out (when not nil).
func (h *hub) apiCall(t *testing.T, method, path, token string, body any, out any) (int, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func ptr[T any](v T) *T { return &v }

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
