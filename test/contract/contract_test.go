// Package contract checks that what credrotate's GitHub client does against
// localhub also holds against GitHub: every REST call goes through Stoplight
// Prism in validation-proxy mode with GitHub's own OpenAPI description, and
// every GraphQL document is validated against GitHub's public schema. Any
// request or response that breaks the description fails the test.
//
// The tools are npm packages pinned in package.json:
//
//	npm ci --prefix test/contract
//
// Without them the tests skip, loudly.
package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/internal/testenv"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/forge/github"
)

var (
	prismBin          = filepath.Join("node_modules", ".bin", "prism")
	openAPIPath       = filepath.Join("node_modules", "@octokit", "openapi", "generated", "api.github.com.json")
	graphqlSchemaPath = filepath.Join("node_modules", "@octokit", "graphql-schema", "schema.graphql")
)

const (
	token          = "ghp_contracttoken0123456789"
	appID          = 4242
	installationID = 77
)

// appKeyPEM is the private key of the App that the shared localhub knows.
var appKeyPEM []byte

func requireTools(t *testing.T) {
	t.Helper()
	for _, p := range []string{prismBin, openAPIPath, graphqlSchemaPath} {
		testenv.File(t, p, "the contract tests' pinned npm tools", "npm ci --prefix test/contract (make test does it)")
	}
}

// violation is one contract problem the recorder saw.
type violation struct {
	Method, Path string
	Status       int
	Detail       string
}

// recorder sits between the client and Prism. It sends GraphQL straight to
// localhub (the OpenAPI description has no GraphQL) after validating the
// document against GitHub's schema, and records every sl-violations header
// and every validation error Prism answers with.
type recorder struct {
	base       http.RoundTripper
	graphqlURL *url.URL

	mu         sync.Mutex
	violations []violation
	calls      []string
	documents  int
}

func (r *recorder) add(v violation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, v)
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/graphql") {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		var gql struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if err := json.Unmarshal(body, &gql); err != nil {
			r.add(violation{req.Method, req.URL.Path, 0, "GraphQL body is not JSON: " + err.Error()})
		} else if err := validateGraphQL(gql.Query, gql.Variables); err != nil {
			r.add(violation{req.Method, req.URL.Path, 0, "GraphQL document breaks GitHub's schema: " + err.Error()})
		}
		r.mu.Lock()
		r.documents++
		r.mu.Unlock()
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = r.graphqlURL.Scheme, r.graphqlURL.Host, ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		return r.base.RoundTrip(out)
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	if v := resp.Header.Get("sl-violations"); v != "" {
		r.add(violation{req.Method, req.URL.Path, resp.StatusCode, "sl-violations: " + v})
	}
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || bytes.Contains(data, []byte("stoplight.io/prism/errors")) {
			r.add(violation{req.Method, req.URL.Path, resp.StatusCode, "Prism refused: " + string(data)})
		}
	}
	return resp, nil
}

func (r *recorder) take() []violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.violations
	r.violations = nil
	return v
}

// prism is one validation proxy in front of one localhub.
type prism struct {
	hub    *localhub.Server
	hubURL string
	url    string
}

var (
	prismOnce sync.Once
	shared    *prism
	sharedErr error
)

// startPrism starts localhub and Prism once for the package; loading
// GitHub's description takes Prism a while.
func startPrism(t *testing.T) *prism {
	t.Helper()
	requireTools(t)
	prismOnce.Do(func() { shared, sharedErr = launch() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

var cleanup []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanup {
		f()
	}
	os.Exit(code)
}

func launch() (*prism, error) {
	dir, err := os.MkdirTemp("", "credrotate-contract-")
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	appKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	hub, err := localhub.New(localhub.Options{RepoDir: filepath.Join(dir, "gitops.git"), Init: true, Token: token, Checks: localhub.ChecksPending,
		AppID: appID, AppPublicKey: &key.PublicKey, InstallationID: installationID})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(hub)
	cleanup = append(cleanup, ts.Close)
	if _, err := hub.CommitFiles(context.Background(), "main", "", "initial", map[string][]byte{"README.md": []byte("gitops\n")}); err != nil {
		return nil, err
	}

	spec, err := trimSpec(openAPIPath, dir)
	if err != nil {
		return nil, err
	}
	px, err := testenv.StartPrism(prismBin, spec, ts.URL, 4*time.Minute)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, px.Close)
	return &prism{hub: hub, hubURL: ts.URL, url: px.URL}, nil
}

func (p *prism) client(t *testing.T) (*github.Client, *recorder) {
	return p.clientWith(t, func(o *github.Options) { o.Token = token })
}

func (p *prism) clientWith(t *testing.T, auth func(*github.Options)) (*github.Client, *recorder) {
	t.Helper()
	gqlURL, _ := url.Parse(p.hubURL)
	rec := &recorder{base: http.DefaultTransport, graphqlURL: gqlURL}
	opts := github.Options{
		APIURL: p.url + "/", Owner: "acme", Repo: "gitops",
		HTTPClient: &http.Client{Transport: rec, Timeout: time.Minute}, MaxRetries: -1, Logf: t.Logf,
	}
	auth(&opts)
	c, err := github.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func (p *prism) branch(t *testing.T, name string) {
	t.Helper()
	if _, err := p.hub.CommitFiles(context.Background(), name, "main", "rotate "+name, map[string][]byte{name + ".yaml": []byte("sealed\n")}); err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, rec *recorder, what string) {
	t.Helper()
	for _, v := range rec.take() {
		t.Errorf("%s: contract violation on %s %s (%d): %s", what, v.Method, v.Path, v.Status, v.Detail)
	}
}

// TestClientKeepsGitHubsContract runs every call credrotate makes through the
// validation proxy.
func TestClientKeepsGitHubsContract(t *testing.T) {
	p := startPrism(t)
	c, rec := p.client(t)
	ctx := context.Background()

	if err := c.CheckAccess(ctx); err != nil {
		t.Fatalf("CheckAccess: %v", err)
	}
	check(t, rec, "CheckAccess")

	p.branch(t, "credrotate/contract-1")
	spec := forge.PRSpec{Branch: "credrotate/contract-1", Base: "main", Title: "credrotate: rotate equifax.a",
		Body:   forge.RenderBody(forge.RotationState{TraceID: "t1", Keys: []forge.KeyState{{ProviderKey: "equifax.a", NewSecretID: "s1"}}}),
		Labels: []string{"credentials", "automated"}, Reviewers: []string{"alice"}, TeamReviewers: []string{"ops"}}
	pr, created, err := c.EnsurePR(ctx, spec)
	if err != nil || !created {
		check(t, rec, "EnsurePR create")
		t.Fatalf("EnsurePR: %v", err)
	}
	check(t, rec, "EnsurePR create")
	spec.Title = "credrotate: rotate equifax.a (again)"
	if _, created, err := c.EnsurePR(ctx, spec); err != nil || created {
		t.Fatalf("EnsurePR update: created=%v %v", created, err)
	}
	check(t, rec, "EnsurePR update")
	if _, err := c.ListOpenPRs(ctx, "credrotate/"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindOpenPR(ctx, "credrotate/contract-1"); err != nil {
		t.Fatal(err)
	}
	check(t, rec, "list and find")

	if _, err := c.EnableAutoMerge(ctx, pr, "squash"); err != nil {
		t.Fatalf("EnableAutoMerge: %v", err)
	}
	check(t, rec, "EnableAutoMerge")
	if rec.documents == 0 {
		t.Error("no GraphQL document went through the schema check")
	}

	if merged, err := c.MergeIfGreen(ctx, pr, "squash"); err != nil || merged {
		t.Fatalf("MergeIfGreen while pending: %v %v", merged, err)
	}
	check(t, rec, "MergeIfGreen pending")

	p.branch(t, "credrotate/contract-2")
	spec2 := spec
	spec2.Branch = "credrotate/contract-2"
	pr2, _, err := c.EnsurePR(ctx, spec2)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ClosePR(ctx, pr, "Superseded by "+pr2.URL); err != nil {
		t.Fatalf("ClosePR: %v", err)
	}
	check(t, rec, "ClosePR")

	p.hub.SetChecks(localhub.ChecksSuccess)
	defer p.hub.SetChecks(localhub.ChecksPending)
	if merged, err := c.MergeIfGreen(ctx, pr2, "merge"); err != nil || !merged {
		t.Fatalf("MergeIfGreen: %v %v", merged, err)
	}
	if got, err := c.GetPR(ctx, pr2.Number); err != nil || !got.Merged {
		t.Fatalf("GetPR after merge: %+v %v", got, err)
	}
	check(t, rec, "MergeIfGreen and GetPR")

	a := forge.Alert{Key: "equifax.a", Title: "credrotate: equifax.a failed", Body: "trace t1", Labels: []string{"credrotate-alert"}}
	if _, err := c.RaiseAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RaiseAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.ResolveAlert(ctx, "equifax.a", "fixed in t2"); err != nil {
		t.Fatal(err)
	}
	check(t, rec, "alerts")
	t.Logf("%d REST calls validated, %d GraphQL documents", len(rec.calls), rec.documents)
}

// TestAppAuthKeepsGitHubsContract authenticates as a GitHub App through the
// proxy: the installation lookup, the token exchange and a pull request.
func TestAppAuthKeepsGitHubsContract(t *testing.T) {
	p := startPrism(t)
	c, rec := p.clientWith(t, func(o *github.Options) {
		o.App = &github.AppAuth{ID: appID, InstallationID: installationID, PrivateKeyPEM: appKeyPEM}
	})
	ctx := context.Background()
	if err := c.CheckAccess(ctx); err != nil {
		t.Fatalf("CheckAccess as App: %v", err)
	}
	p.branch(t, "credrotate/contract-app")
	if _, _, err := c.EnsurePR(ctx, forge.PRSpec{Branch: "credrotate/contract-app", Base: "main", Title: "as app", Labels: []string{"automated"}}); err != nil {
		t.Fatalf("EnsurePR as App: %v", err)
	}
	check(t, rec, "App auth")
	var exchanged bool
	for _, call := range rec.calls {
		exchanged = exchanged || strings.HasSuffix(call, "/access_tokens")
	}
	if !exchanged {
		t.Fatal("the installation token exchange did not go through the proxy")
	}
}

// TestEveryGraphQLDocumentValidates checks the documents the client can
// send, exercised or not.
func TestEveryGraphQLDocumentValidates(t *testing.T) {
	requireTools(t)
	for name, doc := range github.GraphQLDocuments() {
		vars := map[string]any{"pullRequestId": "PR_x", "mergeMethod": "SQUASH", "expectedHeadOid": "0123456789abcdef0123456789abcdef01234567"}
		if err := validateGraphQL(doc, vars); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMalformedRequestsAreCaught shows the checks bite: a request that
// breaks GitHub's description is refused by Prism and recorded, and a
// GraphQL document with a field GitHub does not have fails the schema check.
func TestMalformedRequestsAreCaught(t *testing.T) {
	p := startPrism(t)
	_, rec := p.client(t)
	hc := &http.Client{Transport: rec, Timeout: time.Minute}

	// "head" is required and "title" must be a string.
	req, _ := http.NewRequest(http.MethodPost, p.url+"/repos/acme/gitops/pulls", strings.NewReader(`{"title": 42, "base": "main"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v := rec.take()
	if len(v) == 0 {
		t.Fatalf("a malformed create-pull-request call passed the contract check (status %d)", resp.StatusCode)
	}
	t.Logf("caught: %+v", v[0])

	// A path GitHub does not have.
	req, _ = http.NewRequest(http.MethodGet, p.url+"/repos/acme/gitops/no-such-endpoint", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := rec.take(); len(v) == 0 {
		t.Fatalf("a call to an undocumented path passed the contract check (status %d)", resp.StatusCode)
	}

	if err := validateGraphQL(`mutation { enablePullRequestAutoMerge(input: {pullRequestId: "x", mergeMethod: OCTOPUS}) { pullRequest { nonsense } } }`, nil); err == nil {
		t.Fatal("a GraphQL document with an unknown enum value and field validated")
	}
	if err := validateGraphQL(github.EnableAutoMergeMutation, map[string]any{"pullRequestId": "x", "mergeMethod": "OCTOPUS"}); err == nil {
		t.Fatal("a bad merge method variable validated")
	}
}
