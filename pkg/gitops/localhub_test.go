package gitops_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/gitops"
)

const token = "ghp_gitopstesttoken0123456789"

func newLocalhub(t *testing.T) (*localhub.Server, string) {
	t.Helper()
	s, err := localhub.New(localhub.Options{RepoDir: filepath.Join(t.TempDir(), "gitops.git"), Init: true, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	if _, err := s.CommitFiles(context.Background(), "main", "", "initial", map[string][]byte{
		"README.md": []byte("gitops\n"), "overlays/prod/credentials/kustomization.yaml": []byte("resources: []\n"),
	}); err != nil {
		t.Fatal(err)
	}
	return s, s.GitURL(ts.URL)
}

// TestLocalhubPublishRacedByBase pushes over git smart HTTP while someone
// else merges into the base branch: Publish rebuilds on the new base.
func TestLocalhubPublishRacedByBase(t *testing.T) {
	hub, url := newLocalhub(t)
	ctx := context.Background()
	w, err := gitops.Clone(ctx, gitops.Options{URL: url, Token: token, Author: gitops.Signature{Name: "credrotate", Email: "bot@example.com"}})
	if err != nil {
		t.Fatalf("Clone over HTTP: %v", err)
	}
	if w.BaseSHA() != hub.BranchSHA(ctx, "main") {
		t.Fatalf("BaseSHA %s, main %s", w.BaseSHA(), hub.BranchSHA(ctx, "main"))
	}
	calls := 0
	res, err := w.Publish(ctx, gitops.PublishRequest{
		Branch:  "credrotate/run-1",
		Message: gitops.CommitMessage([]string{"equifax.a"}, []string{"prod"}, "trace-1"),
		Apply: func(ctx context.Context, f gitops.FS) error {
			calls++
			if calls == 1 {
				if _, err := hub.CommitFiles(ctx, "main", "", "a merge that lands meanwhile", map[string][]byte{"other.yaml": []byte("o\n")}); err != nil {
					return err
				}
			}
			return f.WriteFile("overlays/prod/credentials/equifax.a.yaml", []byte("sealed\n"), 0o644)
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	main := hub.BranchSHA(ctx, "main")
	if res.Attempts != 2 || calls != 2 || res.BaseSHA != main {
		t.Fatalf("result %+v (apply calls %d), want 2 attempts on base %s", res, calls, main)
	}
	if got := hub.BranchSHA(ctx, "credrotate/run-1"); got != res.CommitSHA {
		t.Fatalf("branch at %s, want %s", got, res.CommitSHA)
	}
	if n := hub.Calls().GitPushes; n != 1 {
		t.Errorf("%d pushes, want 1", n)
	}
	data, err := w.ReadBranchFile(ctx, "credrotate/run-1", "other.yaml")
	if err != nil || string(data) != "o\n" {
		t.Fatalf("rebuilt branch lacks the concurrent change: %q, %v", data, err)
	}

	// A re-run of the same change does not push again.
	w2, err := gitops.Clone(ctx, gitops.Options{URL: url, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := w2.Publish(ctx, gitops.PublishRequest{Branch: "credrotate/run-1", Message: "m",
		Apply: func(_ context.Context, f gitops.FS) error {
			return f.WriteFile("overlays/prod/credentials/equifax.a.yaml", []byte("sealed\n"), 0o644)
		}})
	if err != nil || res2.Pushed || res2.CommitSHA != res.CommitSHA {
		t.Fatalf("re-run = %+v, %v", res2, err)
	}
}

func TestLocalhubCloneAuth(t *testing.T) {
	_, url := newLocalhub(t)
	ctx := context.Background()
	_, err := gitops.Clone(ctx, gitops.Options{URL: url, Token: "ghp_wrongtoken"})
	if err == nil {
		t.Fatal("clone with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), "ghp_wrongtoken") {
		t.Fatalf("error leaks the token: %v", err)
	}
	var te *gitops.TimeoutError
	if errors.As(err, &te) {
		t.Fatalf("auth failure reported as a timeout: %v", err)
	}
}

// A git server that redirects to another host gets neither the token nor
// any request there, on clone and on push; the error names the refusal.
func TestLocalhubRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(evil.Close)
	hub, url := newLocalhub(t)
	ctx := context.Background()

	w, err := gitops.Clone(ctx, gitops.Options{URL: url, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	hub.SetHostile(localhub.Hostile{GitRedirectTo: evil.URL})
	_, err = gitops.Clone(ctx, gitops.Options{URL: url, Token: token})
	if !errors.Is(err, gitops.ErrRedirectRefused) || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("clone: err = %v, want ErrRedirectRefused", err)
	}
	_, err = w.Publish(ctx, gitops.PublishRequest{Branch: "credrotate/x", Message: "m",
		Apply: func(_ context.Context, f gitops.FS) error { return f.WriteFile("x.yaml", []byte("x"), 0o644) }})
	if !errors.Is(err, gitops.ErrRedirectRefused) {
		t.Fatalf("push: err = %v, want ErrRedirectRefused", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("error carries the token: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) > 0 {
		t.Fatalf("the other host received %v", seen)
	}
	if hub.HostileServed() == 0 {
		t.Fatal("no redirect was served: the test proves nothing")
	}
}

// TestLocalhubPublishFreshCreatesInOneExchange: a branch hinted absent is
// created in one push exchange (the ref advertisement and the
// receive-pack) over git smart HTTP, with no listing of the remote first.
func TestLocalhubPublishFreshCreatesInOneExchange(t *testing.T) {
	hub, url := newLocalhub(t)
	ctx := context.Background()
	w, err := gitops.Clone(ctx, gitops.Options{URL: url, Token: token, Author: gitops.Signature{Name: "credrotate", Email: "bot@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	before := hub.Calls().GitRequests
	res, err := w.Publish(ctx, gitops.PublishRequest{Branch: "credrotate/equifax.a", Message: "rotate", Fresh: true,
		Apply: func(_ context.Context, f gitops.FS) error {
			return f.WriteFile("overlays/prod/credentials/equifax.a.yaml", []byte("sealed\n"), 0o644)
		}})
	if err != nil || !res.Created || !res.Pushed {
		t.Fatalf("Publish = %+v, %v", res, err)
	}
	if n := hub.Calls().GitRequests - before; n != 2 {
		t.Errorf("creating the branch made %d git HTTP requests, want 2", n)
	}
	if got := hub.BranchSHA(ctx, "credrotate/equifax.a"); got != res.CommitSHA {
		t.Fatalf("branch at %s, want %s", got, res.CommitSHA)
	}
}
