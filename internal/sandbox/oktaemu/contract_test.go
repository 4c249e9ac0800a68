package oktaemu_test

// The emulator and the Okta provider against Okta's own OpenAPI description:
// the cut of Okta's published management-minimal.yaml and
// oauth-minimal.yaml (github.com/okta/okta-management-openapi-spec) vendored
// as examples/providers/okta.openapi.yaml, or the file
// CREDROTATE_OKTA_OPENAPI names in its place (another cut, such as one
// internal/sandbox/oktaemu/cutspec made from a newer commit). Prism runs as
// a validation proxy in front of the emulator, the provider drives every
// operation through it, token endpoints included, and every request and
// answer, successes and errors, must keep the description (0 violations).
// Prism comes from test/contract's pinned npm tools; without them the tests
// skip loudly, or fail under CI.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/internal/testenv"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/okta"
)

var (
	prismBin = filepath.Join("..", "..", "..", "test", "contract", "node_modules", ".bin", "prism")
	// specPath is Okta's own OpenAPI description: the vendored cut, or the
	// file CREDROTATE_OKTA_OPENAPI names.
	specPath = cmp.Or(os.Getenv("CREDROTATE_OKTA_OPENAPI"), filepath.Join("..", "..", "..", "examples", "providers", "okta.openapi.yaml"))
)

const (
	contractToken = "00contract-api-token-0123456789"
	// serviceAppID is a service app registered with the emulator, with
	// the scopes the provider needs.
	serviceAppID = "0oacontractservice"
	// readOnlyAppID is one that may only read apps.
	readOnlyAppID = "0oacontractreader"
)

// prism is the validation proxy and the emulator behind it.
type prism struct {
	emu *oktaemu.Emulator
	url string
	// serviceApp and readOnly sign client assertions for serviceAppID
	// and readOnlyAppID.
	serviceApp, readOnly *okta.ServiceApp
}

var (
	// prismSpec is what Prism reads: specPath as prismCopy writes it.
	prismSpec string
	prismOnce sync.Once
	shared    *prism
	sharedErr error
	cleanup   []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanup) - 1; i >= 0; i-- {
		cleanup[i]()
	}
	os.Exit(code)
}

// needPrism skips (or fails, under CI) without Node.js, Prism or the
// description.
func needPrism(t *testing.T) {
	t.Helper()
	testenv.LookPath(t, "node", "install Node.js (apt-get install nodejs)")
	testenv.File(t, prismBin, "Prism, from the contract tests' pinned npm tools", "npm ci --prefix test/contract (make test does it)")
	testenv.File(t, specPath, "Okta's OpenAPI description (the vendored cut, or the file CREDROTATE_OKTA_OPENAPI names)", "unset CREDROTATE_OKTA_OPENAPI to use examples/providers/okta.openapi.yaml")
}

// startPrism starts the emulator and Prism once for the package.
func startPrism(t *testing.T) *prism {
	t.Helper()
	needPrism(t)
	prismOnce.Do(func() { shared, sharedErr = launch() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func launch() (*prism, error) {
	dir, err := os.MkdirTemp("", "oktaemu-contract-")
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = os.RemoveAll(dir) })
	if prismSpec, err = prismCopy(specPath, dir); err != nil {
		return nil, err
	}
	emu := oktaemu.New(oktaemu.Options{APIToken: contractToken})
	// Prism sends the emulator its own host; Okta sees the org's, the one
	// its clients name (in a client assertion's audience, say), and so
	// does the emulator: Prism's.
	var host atomic.Value
	host.Store("")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Host = host.Load().(string)
		emu.ServeHTTP(w, r)
	}))
	cleanup = append(cleanup, ts.Close)
	px, err := testenv.StartPrism(prismBin, prismSpec, ts.URL, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, px.Close)
	host.Store(strings.TrimPrefix(px.URL, "http://"))
	p := &prism{emu: emu, url: px.URL}
	for _, sa := range []struct {
		app    **okta.ServiceApp
		id     string
		scopes []string
	}{
		{&p.serviceApp, serviceAppID, []string{"okta.apps.read", "okta.apps.manage"}},
		{&p.readOnly, readOnlyAppID, []string{"okta.apps.read"}},
	} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		*sa.app = &okta.ServiceApp{ClientID: sa.id, Key: key, KeyID: "contract"}
		emu.RegisterServiceApp(sa.id, key.Public(), sa.scopes...)
	}
	return p, nil
}

// recorder notes every call and every violation Prism reports.
type recorder struct {
	mu         sync.Mutex
	calls      []string
	violations []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, resp.StatusCode))
	if v := resp.Header.Get("sl-violations"); v != "" {
		r.violations = append(r.violations, fmt.Sprintf("%s %s: sl-violations: %s", req.Method, req.URL.Path, v))
	}
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || bytes.Contains(data, []byte("stoplight.io/prism/errors")) {
			r.violations = append(r.violations, fmt.Sprintf("%s %s: Prism refused (%d): %s", req.Method, req.URL.Path, resp.StatusCode, data))
		}
	}
	return resp, nil
}

// sent reports whether a call ("METHOD /path -> status") went through.
func (r *recorder) sent(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

func (r *recorder) check(t *testing.T, minCalls int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Error(v)
	}
	if len(r.calls) < minCalls {
		t.Errorf("%d calls went through Prism, want at least %d: %v", len(r.calls), minCalls, r.calls)
	}
	t.Logf("%d calls through Prism, %d violations: %v", len(r.calls), len(r.violations), r.calls)
}

// TestProviderKeepsOktasContract drives every operation of the provider
// through Prism, once with an API token and once as a service app (its
// management token from the org authorization server, private_key_jwt):
// describe, create, verify (a custom authorization server's token
// endpoint, client_secret_basic), revoke (deactivate, then delete), an
// interrupted revoke's resumption, the two-secret limit, an unknown app,
// and the list of every app.
func TestProviderKeepsOktasContract(t *testing.T) {
	t.Parallel()
	p := startPrism(t)
	for _, tc := range []struct {
		name  string
		appID string
		opts  func(*okta.Options)
	}{
		{"api token", "0oacontract1", func(o *okta.Options) { o.APIToken = credential.NewSecret(contractToken) }},
		{"service app", "0oacontract4", func(o *okta.Options) { o.ServiceApp = p.serviceApp }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rec := &recorder{}
			opts := okta.Options{OrgURL: p.url, TokenURL: p.url + "/oauth2/default/v1/token", Scope: "credrotate.proof",
				HTTPClient: &http.Client{Transport: rec}, Timeout: 20 * time.Second}
			tc.opts(&opts)
			c, err := okta.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			value := "contract-seeded-secret-0123456789"
			first, err := p.emu.SeedApp(tc.appID, value, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			cl := provider.Client{ClientID: tc.appID, ClientSecret: credential.NewSecret(value)}

			if _, err := c.Describe(ctx, cl); err != nil {
				t.Fatal(err)
			}
			created, err := c.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(cl.ClientID, first.ID)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Verify(ctx, cl, created.ClientSecret); err != nil {
				t.Fatal(err)
			}
			if err := c.Verify(ctx, cl, credential.NewSecret("not-the-secret-0123456789")); err == nil {
				t.Fatal("a wrong secret was proven")
			}
			if _, err := c.Create(ctx, cl, provider.CreateRequest{}); err == nil {
				t.Fatal("a third secret was created")
			}
			if err := c.Revoke(ctx, cl, first.ID); err != nil {
				t.Fatal(err)
			}
			if err := c.Revoke(ctx, cl, created.Secret.SecretID); err == nil {
				t.Fatal("the last secret was revoked")
			}
			// An interrupted revoke: the INACTIVE secret is deleted to make room.
			if _, err := p.emu.AddSecret(cl.ClientID, "", "ACTIVE"); err != nil {
				t.Fatal(err)
			}
			if err := p.emu.Deactivate(cl.ClientID, created.Secret.SecretID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Create(ctx, provider.Client{ClientID: cl.ClientID, ClientSecret: created.ClientSecret}, provider.CreateRequest{}); err == nil {
				t.Fatal("created next to an INACTIVE secret that is the deployed one")
			}
			if err := c.Revoke(ctx, cl, created.Secret.SecretID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Describe(ctx, provider.Client{ClientID: "0oanosuchapp"}); err == nil {
				t.Fatal("an unknown app was described")
			}
			// The inventory's list: the apps list (OpenID Connect apps and a
			// SAML one) and the secrets of each OpenID Connect app.
			if err := p.emu.SeedSAMLApp(tc.appID+"saml", "SAML portal"); err != nil {
				t.Fatal(err)
			}
			listed, err := c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) == 0 {
				t.Fatal("the list found no app")
			}
			rec.check(t, 14)
			if tc.appID == "0oacontract4" && !rec.sent("POST /oauth2/v1/token -> 200") {
				t.Error("no management token was asked for through Prism")
			}
		})
	}
}

// TestEmulatorErrorsKeepOktasContract sends what the provider never sends
// (it checks first) straight through Prism, so that the emulator's refusals
// are held to the description too: a third secret, deleting an ACTIVE
// secret, deactivating the only one, an unknown secret, a bad API token, a
// token without okta.apps.manage, a client_secret of one's own, the rate
// limit, and both token endpoints' refusals. It runs alone (not in
// parallel): the rate limit it provokes is the emulator's, for every caller.
func TestEmulatorErrorsKeepOktasContract(t *testing.T) {
	p := startPrism(t)
	if _, err := p.emu.SeedApp("0oacontract2", "contract-app-secret-0123456789", time.Time{}); err != nil {
		t.Fatal(err)
	}
	only := p.emu.Secrets("0oacontract2")[0]
	rec := &recorder{}
	hc := &http.Client{Transport: rec, Timeout: 20 * time.Second}
	base := p.url + "/api/v1/apps/0oacontract2/credentials/secrets"
	send := func(method, url, contentType, body string, header http.Header, want int) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, url, rd)
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
		}
	}
	api := func(token string) http.Header { return http.Header{"Authorization": {"SSWS " + token}} }
	const jsonType, formType = "application/json", "application/x-www-form-urlencoded"
	ok := api(contractToken)
	send(http.MethodPost, base+"/"+only.ID+"/lifecycle/deactivate", "", "", ok, 400)
	send(http.MethodDelete, base+"/"+only.ID, "", "", ok, 400)
	send(http.MethodDelete, base+"/ocsnosuchsecret", "", "", ok, 404)
	send(http.MethodPost, base+"/ocsnosuchsecret/lifecycle/deactivate", "", "", ok, 404)
	send(http.MethodPost, base, jsonType, `{"client_secret":"short","status":"ACTIVE"}`, ok, 400)
	send(http.MethodPost, base, jsonType, `{"client_secret":"my-own-client-secret-0123456789","status":"ACTIVE"}`, ok, 201)
	send(http.MethodPost, base, jsonType, `{}`, ok, 400)
	send(http.MethodGet, base, "", "", api("00wrong-token"), 401)
	send(http.MethodGet, p.url+"/api/v1/apps/0oanosuchapp/credentials/secrets", "", "", ok, 404)
	p.emu.FailNext("list", http.StatusTooManyRequests, 1)
	send(http.MethodGet, base, "", "", ok, 429)
	send(http.MethodGet, base, "", "", ok, 200)

	// The org authorization server's token endpoint, for service apps.
	orgToken := p.url + "/oauth2/v1/token"
	assertion := func(app *okta.ServiceApp) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{Issuer: app.ClientID, Subject: app.ClientID,
			Audience: jwt.ClaimStrings{orgToken}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: rand.Text()})
		s, err := tok.SignedString(app.Key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	grant := func(app *okta.ServiceApp, scope string) string {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion(app)}}.Encode()
	}
	send(http.MethodPost, orgToken, formType, grant(p.readOnly, "okta.apps.manage"), nil, 400)
	send(http.MethodPost, orgToken, formType, "grant_type=client_credentials&scope=okta.apps.read&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=not.a.jwt", nil, 401)
	send(http.MethodPost, orgToken, formType, "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fexample.com%2F", nil, 400)
	// A token that may only read apps: listing works, deleting is 403.
	resp, err := hc.Post(orgToken, formType, strings.NewReader(grant(p.readOnly, "okta.apps.read")))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || got.AccessToken == "" {
		t.Fatalf("a read-only token: %d, %v", resp.StatusCode, err)
	}
	bearer := http.Header{"Authorization": {"Bearer " + got.AccessToken}}
	send(http.MethodGet, base, "", "", bearer, 200)
	send(http.MethodDelete, base+"/"+only.ID, "", "", bearer, 403)
	send(http.MethodPost, base, jsonType, `{}`, bearer, 403)

	// The custom authorization server's token endpoint.
	tokenURL := p.url + "/oauth2/default/v1/token"
	basic := func(id, secret string) http.Header {
		r, _ := http.NewRequest(http.MethodPost, tokenURL, nil)
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return r.Header
	}
	send(http.MethodPost, tokenURL, formType, "grant_type=client_credentials&scope=credrotate.proof", basic("0oacontract2", "contract-app-secret-0123456789"), 200)
	send(http.MethodPost, tokenURL, formType, "grant_type=client_credentials&scope=credrotate.proof", basic("0oacontract2", "not-the-app-secret-0123456789"), 401)
	send(http.MethodPost, tokenURL, formType, "grant_type=password&username=a&password=b", basic("0oacontract2", "contract-app-secret-0123456789"), 400)
	rec.check(t, 20)
}

// TestPrismCatchesViolations: a request that breaks the description is
// refused by Prism and recorded, and an answer that breaks it is flagged,
// so that 0 violations above means something.
func TestPrismCatchesViolations(t *testing.T) {
	t.Parallel()
	p := startPrism(t)
	t.Run("request", func(t *testing.T) {
		if _, err := p.emu.SeedApp("0oacontract3", "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		hc := &http.Client{Transport: rec, Timeout: 20 * time.Second}
		req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/apps/0oacontract3/credentials/secrets", strings.NewReader(`{"client_secret":12345}`))
		req.Header.Set("Authorization", "SSWS "+contractToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.violations) == 0 {
			t.Fatalf("Prism let a client_secret that is not a string through (%d)", resp.StatusCode)
		}
		if n := len(p.emu.Secrets("0oacontract3")); n != 1 {
			t.Errorf("the refused request reached the emulator: %d secrets", n)
		}
	})
	t.Run("answers", func(t *testing.T) {
		// An Okta that answers out of its description, one operation at a
		// time: each answer must be flagged, so that no operation goes
		// unchecked (Prism checks nothing of an operation whose schemas
		// its validator cannot read, and says nothing).
		form := "application/x-www-form-urlencoded"
		cases := []struct {
			method, path, reqType, reqBody string
			status                         int
			body                           string
		}{
			{http.MethodGet, "/api/v1/apps", "", "", 200, `{"id":"0oa1"}`},
			{http.MethodGet, "/api/v1/apps", "", "", 200, `[{"id":17,"label":"x","signOnMode":"OPENID_CONNECT"}]`},
			{http.MethodGet, "/api/v1/apps/0oaliar/credentials/secrets", "", "", 200, `[{"id":"ocs1","status":"REVOKED","created":"2026-01-02T03:04:05.000Z"}]`},
			{http.MethodGet, "/api/v1/apps/0oaliar/credentials/secrets", "", "", 404, `{"errorCode":404,"errorSummary":"Not found"}`},
			{http.MethodPost, "/api/v1/apps/0oaliar/credentials/secrets", "application/json", "{}", 201, `{"id":17,"status":"ACTIVE"}`},
			{http.MethodPost, "/api/v1/apps/0oaliar/credentials/secrets", "application/json", "{}", 400, `{"errorCauses":"too many"}`},
			{http.MethodDelete, "/api/v1/apps/0oaliar/credentials/secrets/ocs1", "", "", 200, `{"id":"ocs1","status":"INACTIVE"}`},
			{http.MethodPost, "/api/v1/apps/0oaliar/credentials/secrets/ocs2/lifecycle/deactivate", "", "", 200, `{"id":"ocs2","status":"GONE"}`},
			{http.MethodPost, "/oauth2/v1/token", form, "grant_type=client_credentials&scope=okta.apps.read&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", 200, `{"access_token":17,"token_type":"Bearer"}`},
			{http.MethodPost, "/oauth2/default/v1/token", form, "grant_type=client_credentials", 200, `{"access_token":"x","expires_in":"an hour"}`},
			{http.MethodPost, "/oauth2/default/v1/token", form, "grant_type=client_credentials", 401, `{"error":["invalid_client"]}`},
			{http.MethodPost, "/oauth2/default/v1/token", form, "grant_type=client_credentials", 418, `{"error":"teapot"}`},
		}
		var mu sync.Mutex
		next := 0
		liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			c := cases[next]
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			_, _ = io.WriteString(w, c.body)
		}))
		defer liar.Close()
		px, err := testenv.StartPrism(prismBin, prismSpec, liar.URL, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer px.Close()
		for i, c := range cases {
			mu.Lock()
			next = i
			mu.Unlock()
			var body io.Reader
			if c.reqBody != "" {
				body = strings.NewReader(c.reqBody)
			}
			req, _ := http.NewRequest(c.method, px.URL+c.path, body)
			req.Header.Set("Accept", "application/json")
			if c.reqType != "" {
				req.Header.Set("Content-Type", c.reqType)
			}
			switch {
			case strings.HasPrefix(c.path, "/api/"):
				req.Header.Set("Authorization", "SSWS "+contractToken)
			case !strings.Contains(c.reqBody, "client_assertion"):
				req.SetBasicAuth("0oaliar", "liar-secret-0123456789")
			}
			rec := &recorder{}
			resp, err := (&http.Client{Transport: rec, Timeout: 20 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(rec.violations) == 0 {
				t.Errorf("%s %s: Prism let %d %s through", c.method, c.path, c.status, c.body)
			} else {
				t.Logf("%s %s: %d %s: %s", c.method, c.path, c.status, c.body, rec.violations[0])
			}
		}
	})
}
