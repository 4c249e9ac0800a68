package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/forge/github"
	"github.com/credrotate/credrotate/pkg/gitops"
)

const hubToken = "ghp_localhubtoken0123456789"

type hub struct {
	*localhub.Server
	ts *httptest.Server
}

func newHub(t *testing.T, opts localhub.Options) *hub {
	t.Helper()
	opts.RepoDir = filepath.Join(t.TempDir(), "gitops.git")
	opts.Init = true
	if opts.Token == "" {
		opts.Token = hubToken
	}
	s, err := localhub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	h := &hub{Server: s, ts: ts}
	h.commit(t, "main", "initial", map[string]string{"README.md": "gitops\n"})
	return h
}

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

func (h *hub) client(t *testing.T, mod func(*github.Options)) *github.Client {
	t.Helper()
	opts := github.Options{APIURL: h.ts.URL + "/", Owner: "acme", Repo: "gitops", Token: hubToken,
		RetryBackoff: 10 * time.Millisecond, Logf: t.Logf}
	if mod != nil {
		mod(&opts)
	}
	c, err := github.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *hub) pr(t *testing.T, n int) localhub.PR {
	t.Helper()
	for _, p := range h.PullRequests() {
		if p.Number == n {
			return p
		}
	}
	t.Fatalf("no pull request #%d", n)
	return localhub.PR{}
}

func spec(branch, title string) forge.PRSpec {
	return forge.PRSpec{Branch: branch, Base: "main", Title: title,
		Body:   forge.RenderBody(forge.RotationState{TraceID: "trace-" + branch, Keys: []forge.KeyState{{ProviderKey: "equifax.a", NewSecretID: "s1"}}}),
		Labels: []string{"credentials", "automated"}, Reviewers: []string{"alice"}, TeamReviewers: []string{"acme/ops"}}
}

func TestLocalhubEnsurePRNoDuplicates(t *testing.T) {
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	if err := c.CheckAccess(ctx); err != nil {
		t.Fatalf("CheckAccess: %v", err)
	}
	h.commit(t, "credrotate/run-1", "rotate", map[string]string{"k.yaml": "v1\n"})

	if pr, err := c.FindOpenPR(ctx, "credrotate/run-1"); err != nil || pr != nil {
		t.Fatalf("FindOpenPR before create = %+v, %v", pr, err)
	}
	s := spec("credrotate/run-1", "credrotate: rotate equifax.a")
	pr, created, err := c.EnsurePR(ctx, s)
	if err != nil || !created {
		t.Fatalf("EnsurePR = %+v, %v, %v", pr, created, err)
	}
	if pr.Number == 0 || pr.NodeID == "" || pr.HeadSHA != h.BranchSHA(ctx, "credrotate/run-1") || pr.Base != "main" || !pr.Open() {
		t.Fatalf("pr = %+v", pr)
	}
	if !slices.Contains(pr.Labels, "credentials") || !slices.Contains(pr.Labels, "automated") {
		t.Errorf("labels = %v", pr.Labels)
	}
	if !slices.Contains(pr.Reviewers, "alice") || !slices.Contains(pr.TeamReviewers, "ops") {
		t.Errorf("reviewers = %v teams = %v", pr.Reviewers, pr.TeamReviewers)
	}
	st, found, err := forge.ParseState(pr.Body)
	if err != nil || !found || st.TraceID != "trace-credrotate/run-1" {
		t.Errorf("state read back = %+v, %v, %v", st, found, err)
	}

	// Same spec again: the same pull request, nothing added twice.
	again, created, err := c.EnsurePR(ctx, s)
	if err != nil || created || again.Number != pr.Number {
		t.Fatalf("second EnsurePR = #%d created=%v err=%v", again.Number, created, err)
	}
	// A new title and body update it in place.
	s.Title, s.Body = "credrotate: rotate equifax.a (re-run)", "updated body"
	upd, created, err := c.EnsurePR(ctx, s)
	if err != nil || created || upd.Number != pr.Number || upd.Title != s.Title || upd.Body != "updated body" {
		t.Fatalf("update = %+v created=%v err=%v", upd, created, err)
	}
	got := h.pr(t, pr.Number)
	if len(h.PullRequests()) != 1 {
		t.Fatalf("%d pull requests, want 1", len(h.PullRequests()))
	}
	slices.Sort(got.Labels)
	if strings.Join(got.Labels, ",") != "automated,credentials" {
		t.Errorf("labels on the server = %v", got.Labels)
	}
	if strings.Join(got.Reviewers, ",") != "alice" || strings.Join(got.TeamReviewers, ",") != "ops" {
		t.Errorf("reviewers on the server = %v / %v", got.Reviewers, got.TeamReviewers)
	}

	found2, err := c.FindOpenPR(ctx, "credrotate/run-1")
	if err != nil || found2 == nil || found2.Number != pr.Number {
		t.Fatalf("FindOpenPR = %+v, %v", found2, err)
	}
	h.commit(t, "credrotate/run-2", "rotate", map[string]string{"k2.yaml": "v\n"})
	h.commit(t, "feature/x", "feature", map[string]string{"f": "f\n"})
	if _, _, err := c.EnsurePR(ctx, spec("credrotate/run-2", "second")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.EnsurePR(ctx, forge.PRSpec{Branch: "feature/x", Base: "main", Title: "not ours"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListOpenPRs(ctx, "credrotate/")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListOpenPRs = %d PRs, %v; want 2", len(list), err)
	}
	for _, p := range list {
		if !strings.HasPrefix(p.Branch, "credrotate/") {
			t.Errorf("listed %s", p.Branch)
		}
	}
}

func TestLocalhubNativeAutoMerge(t *testing.T) {
	for _, method := range []string{"squash", "merge", "rebase"} {
		t.Run(method, func(t *testing.T) {
			h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
			c := h.client(t, nil)
			ctx := context.Background()
			h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
			pr, _, err := c.EnsurePR(ctx, spec("credrotate/k", "rotate"))
			if err != nil {
				t.Fatal(err)
			}
			if merged, err := c.EnableAutoMerge(ctx, pr, method); err != nil || merged {
				t.Fatalf("EnableAutoMerge with checks pending: merged=%v, %v", merged, err)
			}
			if got := h.pr(t, pr.Number); got.Merged || got.AutoMerge != method {
				t.Fatalf("after enabling: merged=%v autoMerge=%q", got.Merged, got.AutoMerge)
			}
			if cur, _ := c.GetPR(ctx, pr.Number); !cur.AutoMerge {
				t.Error("GetPR does not report auto-merge")
			}
			h.SetChecks(localhub.ChecksSuccess)
			got, err := c.GetPR(ctx, pr.Number)
			if err != nil || !got.Merged || got.MergeCommitSHA == "" || got.MergedAt.IsZero() {
				t.Fatalf("after checks passed: %+v, %v", got, err)
			}
			if main := h.BranchSHA(ctx, "main"); main != got.MergeCommitSHA {
				t.Errorf("base branch at %s, merge commit %s", main, got.MergeCommitSHA)
			}
		})
	}
	// With the checks green GitHub refuses auto-merge ("clean status"): the
	// pull request merges directly, pinned to its head, and the answer
	// says so without another read of it.
	t.Run("checks green", func(t *testing.T) {
		h := newHub(t, localhub.Options{Checks: localhub.ChecksSuccess})
		c := h.client(t, nil)
		ctx := context.Background()
		h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
		pr, _, err := c.EnsurePR(ctx, spec("credrotate/k", "rotate"))
		if err != nil {
			t.Fatal(err)
		}
		merged, err := c.EnableAutoMerge(ctx, pr, "squash")
		if err != nil || !merged {
			t.Fatalf("EnableAutoMerge with checks green: merged=%v, %v", merged, err)
		}
		if got := h.pr(t, pr.Number); !got.Merged {
			t.Fatal("reported merged, but localhub has not merged it")
		}
	})
	t.Run("bad method", func(t *testing.T) {
		h := newHub(t, localhub.Options{})
		if _, err := h.client(t, nil).EnableAutoMerge(context.Background(), forge.PR{Number: 1}, "octopus"); err == nil {
			t.Fatal("want error")
		}
	})
}

func TestLocalhubDirectMerge(t *testing.T) {
	h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
	c := h.client(t, nil)
	ctx := context.Background()
	h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
	pr, _, err := c.EnsurePR(ctx, spec("credrotate/k", "rotate"))
	if err != nil {
		t.Fatal(err)
	}
	if merged, err := c.MergeIfGreen(ctx, pr, "squash"); merged || err != nil {
		t.Fatalf("pending: merged=%v err=%v, want false, nil", merged, err)
	}
	h.SetChecks(localhub.ChecksFailure)
	if merged, err := c.MergeIfGreen(ctx, pr, "squash"); merged || !errors.Is(err, forge.ErrChecksFailed) {
		t.Fatalf("failing: merged=%v err=%v, want ErrChecksFailed", merged, err)
	}
	h.SetChecks(localhub.ChecksSuccess)

	// The head moves after the caller looked: no merge of what it did not see.
	h.commit(t, "credrotate/k", "someone else", map[string]string{"k.yaml": "v2\n"})
	if merged, err := c.MergeIfGreen(ctx, pr, "squash"); merged || !errors.Is(err, forge.ErrHeadMoved) {
		t.Fatalf("moved head: merged=%v err=%v, want ErrHeadMoved", merged, err)
	}
	pr, _ = c.GetPR(ctx, pr.Number)
	merged, err := c.MergeIfGreen(ctx, pr, "squash")
	if err != nil || !merged {
		t.Fatalf("green: merged=%v err=%v", merged, err)
	}
	got, _ := c.GetPR(ctx, pr.Number)
	if !got.Merged || h.BranchSHA(ctx, "main") != got.MergeCommitSHA {
		t.Fatalf("after merge: %+v, main at %s", got, h.BranchSHA(ctx, "main"))
	}
	if merged, err := c.MergeIfGreen(ctx, pr, "squash"); !merged || err != nil {
		t.Fatalf("merging a merged PR: %v %v", merged, err)
	}
}

func TestLocalhubCloseSuperseded(t *testing.T) {
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	h.commit(t, "credrotate/old", "old", map[string]string{"k.yaml": "v1\n"})
	h.commit(t, "credrotate/new", "new", map[string]string{"k.yaml": "v2\n"})
	old, _, err := c.EnsurePR(ctx, spec("credrotate/old", "old"))
	if err != nil {
		t.Fatal(err)
	}
	nw, _, err := c.EnsurePR(ctx, spec("credrotate/new", "new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ClosePR(ctx, old, "Superseded by "+nw.URL); err != nil {
		t.Fatalf("ClosePR: %v", err)
	}
	got := h.pr(t, old.Number)
	if got.State != "closed" || got.Merged {
		t.Fatalf("old PR state %s merged=%v", got.State, got.Merged)
	}
	if len(got.Comments) != 1 || !strings.Contains(got.Comments[0].Body, nw.URL) {
		t.Fatalf("comments = %+v, want a link to %s", got.Comments, nw.URL)
	}
	if sha := h.BranchSHA(ctx, "credrotate/old"); sha != "" {
		t.Fatalf("branch still at %s", sha)
	}
	if p, _ := c.FindOpenPR(ctx, "credrotate/old"); p != nil {
		t.Fatal("closed PR still found open")
	}
	// closing again (branch already gone) is not an error
	if err := c.ClosePR(ctx, old, ""); err != nil {
		t.Fatalf("second ClosePR: %v", err)
	}
}

func TestLocalhubAlerts(t *testing.T) {
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	a := forge.Alert{Key: "equifax.a", Title: "credrotate: rotating equifax.a failed", Body: "run trace-1 failed: renew refused", Labels: []string{"credrotate-alert", "credentials"}}
	first, err := c.RaiseAlert(ctx, a)
	if err != nil || first.Number == 0 || first.State != "open" || first.URL == "" {
		t.Fatalf("RaiseAlert = %+v, %v", first, err)
	}
	a.Body = "run trace-2 failed again"
	second, err := c.RaiseAlert(ctx, a)
	if err != nil || second.Number != first.Number {
		t.Fatalf("repeat = %+v, %v; want #%d", second, err, first.Number)
	}
	other, err := c.RaiseAlert(ctx, forge.Alert{Key: "equifax.b", Title: "b failed", Body: "x"})
	if err != nil || other.Number == first.Number {
		t.Fatalf("other key = %+v, %v", other, err)
	}
	issues := h.Issues()
	if len(issues) != 2 {
		t.Fatalf("%d issues, want 2", len(issues))
	}
	is := issues[0]
	if is.Number != first.Number {
		is = issues[1]
	}
	if len(is.Comments) != 1 || is.Comments[0].Body != "run trace-2 failed again" || !slices.Contains(is.Labels, "credrotate-alert") {
		t.Fatalf("alert issue = %+v", is)
	}
	if err := c.ResolveAlert(ctx, "equifax.a", "rotation succeeded in trace-3"); err != nil {
		t.Fatal(err)
	}
	for _, is := range h.Issues() {
		want := "open"
		if is.Number == first.Number {
			want = "closed"
		}
		if is.State != want {
			t.Errorf("issue #%d is %s, want %s", is.Number, is.State, want)
		}
	}
	if err := c.ResolveAlert(ctx, "equifax.a", "again"); err != nil {
		t.Fatalf("resolving with none open: %v", err)
	}
	// the next failure opens a fresh issue
	third, err := c.RaiseAlert(ctx, a)
	if err != nil || third.Number == first.Number {
		t.Fatalf("after resolve = %+v, %v", third, err)
	}
}

func TestLocalhubAuth(t *testing.T) {
	ctx := context.Background()
	t.Run("bad token", func(t *testing.T) {
		h := newHub(t, localhub.Options{})
		c := h.client(t, func(o *github.Options) { o.Token = "ghp_wrong" })
		err := c.CheckAccess(ctx)
		if !errors.Is(err, forge.ErrUnauthorized) || errors.Is(err, forge.ErrPermission) {
			t.Fatalf("err = %v, want ErrUnauthorized and not ErrPermission", err)
		}
		if strings.Contains(err.Error(), "missing permission") || strings.Contains(err.Error(), "lacks") {
			t.Fatalf("a rejected token is reported as a missing permission: %v", err)
		}
		if strings.Contains(err.Error(), "ghp_wrong") {
			t.Fatalf("error leaks the token: %v", err)
		}
	})
	t.Run("read-only contents", func(t *testing.T) {
		h := newHub(t, localhub.Options{Permissions: localhub.Permissions{Contents: localhub.AccessRead}})
		err := h.client(t, nil).CheckAccess(ctx)
		var pe *github.PermissionError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "push") {
			t.Fatalf("err = %v, want a PermissionError naming push", err)
		}
	})
	t.Run("no pull request write", func(t *testing.T) {
		h := newHub(t, localhub.Options{Permissions: localhub.Permissions{PullRequests: localhub.AccessRead}})
		c := h.client(t, nil)
		h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v\n"})
		_, _, err := c.EnsurePR(ctx, spec("credrotate/k", "t"))
		var pe *github.PermissionError
		if !errors.As(err, &pe) || !errors.Is(err, forge.ErrPermission) {
			t.Fatalf("err = %v, want a PermissionError", err)
		}
		t.Logf("message: %v", err)
	})
	t.Run("app", func(t *testing.T) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
		c := h.client(t, func(o *github.Options) {
			o.Token = ""
			o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pemKey}
		})
		if err := c.CheckAccess(ctx); err != nil {
			t.Fatalf("CheckAccess as App: %v", err)
		}
		h.commit(t, "credrotate/app", "rotate", map[string]string{"k.yaml": "v\n"})
		pr, created, err := c.EnsurePR(ctx, spec("credrotate/app", "as app"))
		if err != nil || !created {
			t.Fatalf("EnsurePR as App: %v", err)
		}
		if user := h.pr(t, pr.Number).User; !strings.HasSuffix(user, "[bot]") {
			t.Errorf("PR opened by %q, want the App's bot", user)
		}
		tok, err := c.GitToken(ctx)
		if err != nil || !strings.HasPrefix(tok, "ghs_") {
			t.Fatalf("GitToken = %q, %v", tok, err)
		}
		tok2, _ := c.GitToken(ctx)
		if tok2 != tok {
			t.Error("installation token not cached")
		}
		if n := h.Calls().API["POST /app/installations/{id}/access_tokens"]; n != 1 {
			t.Errorf("minted %d installation tokens, want 1", n)
		}
		// the installation token also pushes over git HTTP
		w, err := gitops.Clone(ctx, gitops.Options{URL: h.GitURL(h.ts.URL), Token: tok})
		if err != nil {
			t.Fatalf("clone with installation token: %v", err)
		}
		res, err := w.Publish(ctx, gitops.PublishRequest{Branch: "credrotate/app2", Message: "m",
			Apply: func(_ context.Context, f gitops.FS) error { return f.WriteFile("x.yaml", []byte("x"), 0o644) }})
		if err != nil || !res.Pushed {
			t.Fatalf("push with installation token: %+v, %v", res, err)
		}
	})
	t.Run("app with wrong key", func(t *testing.T) {
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
		c := h.client(t, func(o *github.Options) {
			o.Token = ""
			o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})}
		})
		if err := c.CheckAccess(ctx); err == nil {
			t.Fatal("want error for a JWT signed with the wrong key")
		}
	})
}

func TestLocalhubRateLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("secondary limit retried", func(t *testing.T) {
		h := newHub(t, localhub.Options{})
		c := h.client(t, nil)
		h.FailNext(1, localhub.Fault{Status: 403, RetryAfter: time.Second})
		if _, err := c.ListOpenPRs(ctx, "credrotate/"); err != nil {
			t.Fatalf("after a Retry-After: %v", err)
		}
		h.FailNext(2, localhub.Fault{Status: 502})
		if _, err := c.ListOpenPRs(ctx, "credrotate/"); err != nil {
			t.Fatalf("after 502s: %v", err)
		}
	})
	t.Run("primary limit exhausted", func(t *testing.T) {
		h := newHub(t, localhub.Options{})
		c := h.client(t, nil)
		h.ExhaustRateLimit("core")
		_, err := c.ListOpenPRs(ctx, "credrotate/")
		var rl *github.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, forge.ErrRateLimited) || rl.Reset.IsZero() {
			t.Fatalf("err = %v, want a RateLimitError with its reset time", err)
		}
	})
}

func TestLocalhubEnterprisePrefix(t *testing.T) {
	h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
	c := h.client(t, func(o *github.Options) { o.APIURL = h.ts.URL + "/api/v3/" })
	if got, want := c.GraphQLURL(), h.ts.URL+"/api/graphql"; got != want {
		t.Fatalf("GraphQL URL = %s, want %s", got, want)
	}
	ctx := context.Background()
	h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v\n"})
	pr, _, err := c.EnsurePR(ctx, spec("credrotate/k", "t"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableAutoMerge(ctx, pr, "squash"); err != nil {
		t.Fatal(err)
	}
	if h.pr(t, pr.Number).AutoMerge != "squash" {
		t.Fatal("auto-merge not enabled through the GHE GraphQL endpoint")
	}
}

// TestLocalhubRotationFlow is one run end to end over localhub: clone over
// git HTTP, publish the change, open the PR with its state, auto-merge it,
// and read the state back as the next run would.
func TestLocalhubRotationFlow(t *testing.T) {
	h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
	c := h.client(t, nil)
	ctx := context.Background()
	tok, err := c.GitToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gitops.Clone(ctx, gitops.Options{URL: h.GitURL(h.ts.URL), Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	state := forge.RotationState{TraceID: "trace-flow", Command: "credrotate renew --cron-mode", Keys: []forge.KeyState{{
		ProviderKey: "equifax.a", NewSecretID: "s2", OldSecretID: "s1", Fingerprint: "sha256:0123456789abcdef",
		ExpiresAt:    time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Environments: []forge.EnvFile{{Env: "prod", Path: "overlays/prod/credentials/equifax.a.yaml"}},
	}}}
	res, err := w.Publish(ctx, gitops.PublishRequest{Branch: "credrotate/run", Message: gitops.CommitMessage([]string{"equifax.a"}, []string{"prod"}, "trace-flow"),
		Apply: func(_ context.Context, f gitops.FS) error {
			return f.WriteFile("overlays/prod/credentials/equifax.a.yaml", []byte("kind: SealedSecret\n"), 0o644)
		}})
	if err != nil || !res.Pushed {
		t.Fatalf("Publish: %+v, %v", res, err)
	}
	pr, created, err := c.EnsurePR(ctx, forge.PRSpec{Branch: "credrotate/run", Base: "main", Title: "credrotate: rotate equifax.a", Body: forge.RenderBody(state)})
	if err != nil || !created || pr.HeadSHA != res.CommitSHA {
		t.Fatalf("EnsurePR: %+v created=%v err=%v", pr, created, err)
	}
	open, err := c.ListOpenPRs(ctx, "credrotate/")
	if err != nil || len(open) != 1 {
		t.Fatalf("ListOpenPRs: %v %v", open, err)
	}
	got, found, err := forge.ParseState(open[0].Body)
	if err != nil || !found || got.TraceID != "trace-flow" {
		t.Fatalf("state read back: %+v %v %v", got, found, err)
	}
	if _, err := c.EnableAutoMerge(ctx, pr, "squash"); err != nil {
		t.Fatal(err)
	}
	h.SetChecks(localhub.ChecksSuccess)
	merged, err := c.GetPR(ctx, pr.Number)
	if err != nil || !merged.Merged {
		t.Fatalf("not merged: %+v %v", merged, err)
	}
	// the next run clones the moved base and finds the sealed file there
	w2, err := gitops.Clone(ctx, gitops.Options{URL: h.GitURL(h.ts.URL), Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if w2.BaseSHA() != merged.MergeCommitSHA {
		t.Fatalf("base %s, merge commit %s", w2.BaseSHA(), merged.MergeCommitSHA)
	}
	if data, err := w2.ReadFile("overlays/prod/credentials/equifax.a.yaml"); err != nil || string(data) != "kind: SealedSecret\n" {
		t.Fatalf("merged file: %q %v", data, err)
	}
}

// TestLocalhubCloseKeepBranch: closing a duplicate pull request keeps the
// branch another pull request may merge from.
func TestLocalhubCloseKeepBranch(t *testing.T) {
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	h.commit(t, "credrotate/dup", "dup", map[string]string{"k.yaml": "v1\n"})
	pr, _, err := c.EnsurePR(ctx, spec("credrotate/dup", "dup"))
	if err != nil {
		t.Fatal(err)
	}
	before := h.BranchSHA(ctx, "credrotate/dup")
	if err := c.ClosePRKeepBranch(ctx, pr, "Duplicate"); err != nil {
		t.Fatalf("ClosePRKeepBranch: %v", err)
	}
	if got := h.pr(t, pr.Number); got.State != "closed" || got.Merged || len(got.Comments) != 1 {
		t.Fatalf("PR after close: state %s merged=%v comments %d", got.State, got.Merged, len(got.Comments))
	}
	if sha := h.BranchSHA(ctx, "credrotate/dup"); sha == "" || sha != before {
		t.Fatalf("branch at %q after the close, want %s", sha, before)
	}
}

// TestLocalhubEnsurePRNewBranch: for a branch the run's own push just made,
// the pull request is opened without looking for one first and not read
// back; if one is open after all, GitHub's "already exists" leads to it.
func TestLocalhubEnsurePRNewBranch(t *testing.T) {
	h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
	c := h.client(t, nil)
	ctx := context.Background()
	h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
	s := spec("credrotate/k", "rotate")
	s.NewBranch = true
	before := h.Calls().API
	pr, created, err := c.EnsurePR(ctx, s)
	if err != nil || !created || pr.Number == 0 || pr.HeadSHA == "" || len(pr.Labels) != len(s.Labels) {
		t.Fatalf("EnsurePR = %+v, created=%v, %v", pr, created, err)
	}
	after := h.Calls().API
	for route, n := range after {
		if strings.HasPrefix(route, "GET ") && n != before[route] {
			t.Errorf("%s called %d times while opening the pull request, want no read", route, n-before[route])
		}
	}

	again, created, err := c.EnsurePR(ctx, s)
	if err != nil || created || again.Number != pr.Number {
		t.Fatalf("EnsurePR on a branch with an open pull request = %+v, created=%v, %v; want #%d", again, created, err, pr.Number)
	}
}

// TestLocalhubOpenAlertKeysListedOnce: a client lists the open alert issues
// once; later answers come from that listing, kept true by the client's own
// raises and resolves, and are the caller's to change.
func TestLocalhubOpenAlertKeysListedOnce(t *testing.T) {
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	if _, err := h.client(t, nil).RaiseAlert(ctx, forge.Alert{Key: "equifax.a", Title: "a failed", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	listings := func() int { return h.Calls().API["GET /repos/{owner}/{repo}/issues"] }
	first := listings()
	keys, err := c.OpenAlertKeys(ctx)
	if err != nil || !keys["equifax.a"] || len(keys) != 1 {
		t.Fatalf("OpenAlertKeys = %v, %v", keys, err)
	}
	if listings() == first {
		t.Fatal("the first OpenAlertKeys did not list the issues")
	}
	keys["changed by the caller"] = true
	before := listings()
	if _, err := c.RaiseAlert(ctx, forge.Alert{Key: "equifax.b", Title: "b failed", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ResolveAlert(ctx, "equifax.a", "fixed"); err != nil {
		t.Fatal(err)
	}
	raisesAndResolves := listings() - before
	keys, err = c.OpenAlertKeys(ctx)
	if err != nil || keys["equifax.a"] || !keys["equifax.b"] || len(keys) != 1 {
		t.Fatalf("after a raise and a resolve: %v, %v; want only equifax.b", keys, err)
	}
	if n := listings() - before - raisesAndResolves; n != 0 {
		t.Errorf("the second OpenAlertKeys listed the issues %d more times, want 0", n)
	}
}
