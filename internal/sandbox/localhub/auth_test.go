package localhub_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

func TestTokenAuth(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	cases := []struct {
		name, token, path string
		want              int
		wantMsg           string
	}{
		{"no token", "", "/repos/acme/gitops", http.StatusUnauthorized, "Requires authentication"},
		{"bad token", "wrong", "/repos/acme/gitops", http.StatusUnauthorized, "Bad credentials"},
		{"token", testToken, "/repos/acme/gitops", http.StatusOK, ""},
		{"enterprise prefix", testToken, "/api/v3/repos/acme/gitops", http.StatusOK, ""},
		{"user", testToken, "/user", http.StatusOK, ""},
		{"unknown repository", testToken, "/repos/acme/nope/pulls", http.StatusNotFound, "Not Found"},
		{"unknown route", testToken, "/repos/acme/gitops/releases", http.StatusNotFound, "Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			status, hdr := h.apiCall(t, http.MethodGet, tc.path, tc.token, nil, &body)
			if status != tc.want {
				t.Fatalf("status %d, want %d (%v)", status, tc.want, body)
			}
			if tc.wantMsg != "" && body["message"] != tc.wantMsg {
				t.Errorf("message = %v", body["message"])
			}
			if hdr.Get("X-RateLimit-Limit") != "5000" || hdr.Get("X-RateLimit-Remaining") == "" || hdr.Get("X-RateLimit-Reset") == "" || hdr.Get("X-RateLimit-Resource") != "core" {
				t.Errorf("rate-limit headers: %v", hdr)
			}
		})
	}
	var repo map[string]any
	h.apiCall(t, http.MethodGet, "/api/v3/repos/acme/gitops", testToken, nil, &repo)
	if repo["url"] != h.ts.URL+"/api/v3/repos/acme/gitops" || repo["html_url"] != h.ts.URL+"/acme/gitops" ||
		repo["clone_url"] != h.ts.URL+"/acme/gitops.git" || repo["default_branch"] != "main" || repo["allow_auto_merge"] != true {
		t.Errorf("repository = %v", repo)
	}
	if perms, _ := repo["permissions"].(map[string]any); perms["push"] != true || perms["admin"] != false || perms["pull"] != true {
		t.Errorf("permissions = %v", repo["permissions"])
	}
}

// appJWT signs an App JWT the way GitHub's documentation says to.
func appJWT(t *testing.T, key *rsa.PrivateKey, iss any, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(), "iss": iss,
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAppAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(t, localhub.Options{Token: testToken, AppID: 4242, AppPublicKey: &key.PublicKey, InstallationID: 77})
	ctx := context.Background()

	t.Run("bad JWTs", func(t *testing.T) {
		cases := []struct {
			name string
			jwt  string
		}{
			{"wrong key", appJWT(t, other, 4242, 5*time.Minute)},
			{"wrong issuer", appJWT(t, key, 999, 5*time.Minute)},
			{"too long-lived", appJWT(t, key, 4242, time.Hour)},
			{"expired", appJWT(t, key, 4242, -5*time.Minute)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, _ := h.apiCall(t, http.MethodPost, "/app/installations/77/access_tokens", tc.jwt, nil, nil)
				if status != http.StatusUnauthorized {
					t.Errorf("status %d", status)
				}
			})
		}
	})

	jwtTok := appJWT(t, key, "4242", 9*time.Minute)
	app := h.client(jwtTok)
	a, _, err := app.Apps.Get(ctx, "")
	if err != nil || a.GetID() != 4242 || a.GetSlug() != "credrotate" {
		t.Fatalf("GET /app: %v %+v", err, a)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, "acme", "gitops")
	if err != nil || inst.GetID() != 77 {
		t.Fatalf("repository installation: %v", err)
	}
	if _, _, err := app.PullRequests.List(ctx, "acme", "gitops", nil); err == nil {
		t.Error("a JWT reached a repository endpoint")
	}
	if _, _, err := app.Apps.CreateInstallationToken(ctx, 78, nil); err == nil {
		t.Error("token for another installation")
	}
	it, resp, err := app.Apps.CreateInstallationToken(ctx, 77, nil)
	if err != nil || resp.StatusCode != http.StatusCreated || !strings.HasPrefix(it.GetToken(), "ghs_") || time.Until(it.GetExpiresAt().Time) < 50*time.Minute {
		t.Fatalf("installation token: %v %+v", err, it)
	}

	// The installation token works on the API, for GraphQL and for git.
	inst2 := h.client(it.GetToken())
	repos, _, err := inst2.Apps.ListRepos(ctx, nil)
	if err != nil || repos.GetTotalCount() != 1 || repos.Repositories[0].GetFullName() != "acme/gitops" {
		t.Fatalf("installation repositories: %v %+v", err, repos)
	}
	if _, _, err := h.client(testToken).Apps.ListRepos(ctx, nil); err == nil {
		t.Error("a personal token listed installation repositories")
	}
	pr := h.openPR(t, "credrotate/app")
	if _, _, err := inst2.Issues.AddLabelsToIssue(ctx, "acme", "gitops", pr.GetNumber(), []string{"automated"}); err != nil {
		t.Fatal(err)
	}
	is, _, err := inst2.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr("alert")})
	if err != nil || is.GetUser().GetLogin() != "credrotate[bot]" || is.GetUser().GetType() != "Bot" ||
		is.GetUser().GetHTMLURL() != h.ts.URL+"/apps/credrotate" || !strings.HasSuffix(is.GetUser().GetURL(), "/users/credrotate%5Bbot%5D") {
		t.Fatalf("issue as the App: %v %+v", err, is.GetUser())
	}
	resp2 := h.graphql(t, "/graphql", it.GetToken(), `{ viewer { login } }`, nil, nil)
	if len(resp2.Errors) > 0 {
		t.Fatalf("graphql: %+v", resp2.Errors)
	}
	work := filepath.Join(t.TempDir(), "w")
	gitRun(t, "", "clone", "--quiet", h.GitURL(h.ts.URL), work)
	gitRun(t, work, "commit", "--quiet", "--allow-empty", "-m", "by the App")
	gitRun(t, work, "push", "--quiet", authURL(t, h.GitURL(h.ts.URL), it.GetToken()), "HEAD:refs/heads/by-app")
	if h.BranchSHA(ctx, "by-app") == "" {
		t.Error("push with the installation token did not land")
	}
}

func TestMissingPermissions(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken, Permissions: localhub.Permissions{
		Contents: localhub.AccessRead, Issues: localhub.AccessNone,
	}})
	ctx := context.Background()
	gh := h.client(testToken)
	pr := h.openPR(t, "feature") // pull_requests: write is still granted

	repo, _, err := gh.Repositories.Get(ctx, "acme", "gitops")
	if err != nil || repo.GetPermissions()["push"] {
		t.Fatalf("repository permissions = %v (%v)", repo.GetPermissions(), err)
	}
	forbidden := func(name string, err error, perm string) {
		t.Helper()
		var ge *github.ErrorResponse
		if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusForbidden {
			t.Errorf("%s: err = %v, want 403", name, err)
			return
		}
		if !strings.Contains(ge.Message, "Resource not accessible") || !strings.Contains(ge.Message, perm) ||
			ge.Response.Header.Get("X-Accepted-GitHub-Permissions") != perm+"=write" {
			t.Errorf("%s: message %q header %q", name, ge.Message, ge.Response.Header.Get("X-Accepted-GitHub-Permissions"))
		}
	}
	_, _, err = gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", nil)
	forbidden("merge", err, "contents")
	_, err = gh.Git.DeleteRef(ctx, "acme", "gitops", "heads/feature")
	forbidden("delete ref", err, "contents")
	_, _, err = gh.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr("x")})
	forbidden("create issue", err, "issues")
	// Labels on a pull request need pull_requests: write only.
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "gitops", pr.GetNumber(), []string{"automated"}); err != nil {
		t.Errorf("labels on a pull request: %v", err)
	}
	if h.BranchSHA(ctx, "feature") == "" || h.PullRequests()[0].Merged {
		t.Error("a forbidden write happened")
	}

	ro := newHub(t, localhub.Options{Permissions: localhub.Permissions{PullRequests: localhub.AccessRead}})
	ro.commit(t, "feature", "x", map[string]string{"x": "x"})
	_, _, err = ro.client("").PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr("feature"), Base: ptr("main")})
	forbidden("create pull request", err, "pull_requests")
	resp := ro.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": "PR_x", "method": "MERGE"}, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Type != "FORBIDDEN" {
		t.Errorf("graphql without pull_requests: write: %+v", resp.Errors)
	}
}

func TestRateLimitsAndFaults(t *testing.T) {
	h := newHub(t, localhub.Options{RateLimit: 3})
	ctx := context.Background()
	gh := h.client("")
	for i := 0; i < 3; i++ {
		if _, _, err := gh.Repositories.Get(ctx, "acme", "gitops"); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := gh.Repositories.Get(ctx, "acme", "gitops")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 || rle.Rate.Reset.Before(time.Now()) {
		t.Fatalf("err = %v, want a RateLimitError", err)
	}
	limits, _, err := gh.RateLimit.Get(ctx)
	if err != nil || limits.GetCore().Remaining != 0 || limits.GetCore().Limit != 3 {
		t.Fatalf("rate_limit: %v %+v", err, limits)
	}
	h.ResetRateLimit()
	gh = h.client("") // go-github remembers the exhausted limit per client

	h.FailNext(1, localhub.Fault{Status: http.StatusForbidden, RetryAfter: 2 * time.Second})
	_, _, err = gh.Repositories.Get(ctx, "acme", "gitops")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 2*time.Second {
		t.Fatalf("err = %v, want an AbuseRateLimitError with Retry-After", err)
	}
	gh = h.client("") // and the secondary limit
	h.FailNext(1, localhub.Fault{Status: http.StatusBadGateway})
	if _, resp, err := gh.Repositories.Get(ctx, "acme", "gitops"); err == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("injected 502: %v", err)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "gitops"); err != nil {
		t.Fatalf("after the faults: %v", err)
	}

	// GraphQL has its own budget.
	h.ResetRateLimit()
	gh = h.client("")
	h.ExhaustRateLimit("graphql")
	var body map[string]any
	status, hdr := h.apiCall(t, http.MethodPost, "/graphql", "", map[string]any{"query": "{ viewer { login } }"}, &body)
	if status != http.StatusForbidden || hdr.Get("X-RateLimit-Resource") != "graphql" || hdr.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("graphql over budget: %d %v %v", status, hdr, body)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "gitops"); err != nil {
		t.Errorf("REST with the GraphQL budget spent: %v", err)
	}
}

func TestParseAppKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privDER := x509.MarshalPKCS1PrivateKey(key)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"private": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: privDER}),
		"public":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	} {
		pub, err := localhub.ParseAppKey(data)
		if err != nil || !pub.Equal(&key.PublicKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := localhub.ParseAppKey([]byte("not a key")); err == nil {
		t.Error("garbage parsed")
	}
}
