package oktaemu_test

// The emulator and the Okta provider against Okta's own OpenAPI description
// (the one the @okta/openapi npm package carries, pinned in test/contract's
// lockfile; or the file CREDROTATE_OKTA_OPENAPI names, such as
// dist/current/management-minimal.yaml of okta/okta-management-openapi-spec):
// Prism runs as a validation proxy in front of the emulator, the provider
// drives every operation through it, and every request and answer must
// keep the description (0 violations). Prism comes from test/contract's
// pinned npm tools; without them the tests skip loudly, or fail under CI.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/internal/testenv"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/okta"
)

var (
	prismBin = filepath.Join("..", "..", "..", "test", "contract", "node_modules", ".bin", "prism")
	// specPath is Okta's own OpenAPI description: the one the @okta/openapi
	// npm package carries (pinned in test/contract's lockfile), or the file
	// CREDROTATE_OKTA_OPENAPI names (e.g. the newer management-minimal.yaml of
	// github.com/okta/okta-management-openapi-spec).
	specPath = cmp.Or(os.Getenv("CREDROTATE_OKTA_OPENAPI"), filepath.Join("..", "..", "..", "test", "contract", "node_modules", "@okta", "openapi", "dist", "spec.yaml"))
)

const contractToken = "00contract-api-token-0123456789"

// prism is the validation proxy and the emulator behind it.
type prism struct {
	emu    *oktaemu.Emulator
	emuURL string
	url    string
}

var (
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

// startPrism starts the emulator and Prism once for the package.
func startPrism(t *testing.T) *prism {
	t.Helper()
	testenv.LookPath(t, "node", "install Node.js (apt-get install nodejs)")
	testenv.File(t, prismBin, "Prism, from the contract tests' pinned npm tools", "npm ci --prefix test/contract (make test does it)")
	testenv.File(t, specPath, "Okta's OpenAPI description (@okta/openapi, from the contract tests' pinned npm packages)", "npm ci --prefix test/contract (make test does it)")
	prismOnce.Do(func() { shared, sharedErr = launch() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func launch() (*prism, error) {
	emu := oktaemu.New(oktaemu.Options{APIToken: contractToken})
	ts := httptest.NewServer(emu)
	cleanup = append(cleanup, ts.Close)
	dir, err := os.MkdirTemp("", "oktaemu-contract-")
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = os.RemoveAll(dir) })
	cut, err := cutDescription(specPath, dir)
	if err != nil {
		return nil, err
	}
	if errorsDescribed, err = describesErrors(cut); err != nil {
		return nil, err
	}
	px, err := testenv.StartPrism(prismBin, cut, ts.URL, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, px.Close)
	return &prism{emu: emu, emuURL: ts.URL, url: px.URL}, nil
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
	if v := resp.Header.Get("sl-violations"); v != "" && !(resp.StatusCode >= 400 && !errorsDescribed && onlyUndescribedStatus(v)) {
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
// through Prism: describe, create, verify (straight to the emulator: the
// token endpoints are not in the management description), revoke
// (deactivate, then delete), an interrupted revoke's resumption, the
// two-secret limit, an unknown app, and the list of every app.
func TestProviderKeepsOktasContract(t *testing.T) {
	t.Parallel()
	p := startPrism(t)
	ctx := context.Background()
	rec := &recorder{}
	c, err := okta.New(okta.Options{OrgURL: p.url, TokenURL: p.emuURL + "/oauth2/default/v1/token", APIToken: credential.NewSecret(contractToken),
		HTTPClient: &http.Client{Transport: rec}, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	value := "contract-seeded-secret-0123456789"
	first, err := p.emu.SeedApp("0oacontract1", value, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cl := provider.Client{ClientID: "0oacontract1", ClientSecret: credential.NewSecret(value)}

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
	second, err := p.emu.AddSecret(cl.ClientID, "", "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.emu.Deactivate(cl.ClientID, created.Secret.SecretID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, provider.Client{ClientID: cl.ClientID, ClientSecret: created.ClientSecret}, provider.CreateRequest{}); err == nil {
		t.Fatal("created next to an INACTIVE secret that is the deployed one")
	}
	_ = second
	if err := c.Revoke(ctx, cl, created.Secret.SecretID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Describe(ctx, provider.Client{ClientID: "0oanosuchapp"}); err == nil {
		t.Fatal("an unknown app was described")
	}
	// The inventory's list: the apps list (an OpenID Connect app and a
	// SAML one) and the secrets of each OpenID Connect app.
	if err := p.emu.SeedSAMLApp("0oacontractsaml", "SAML portal"); err != nil {
		t.Fatal(err)
	}
	listed, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Fatal("the list found no app")
	}
	rec.check(t, 12)
}

// TestEmulatorErrorsKeepOktasContract sends what the provider never sends
// (it checks first) straight through Prism, so that the emulator's refusals
// are held to the description too: a third secret, deleting an ACTIVE
// secret, deactivating the only one, a bad API token, a client_secret of
// one's own.
func TestEmulatorErrorsKeepOktasContract(t *testing.T) {
	t.Parallel()
	p := startPrism(t)
	if !errorsDescribed {
		t.Skip("the description in use (" + specPath + ") describes no error answers, as @okta/openapi's Swagger 2.0 one does not: set CREDROTATE_OKTA_OPENAPI to Okta's management-minimal.yaml to hold the emulator's errors to it")
	}
	if _, err := p.emu.SeedApp("0oacontract2", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	only := p.emu.Secrets("0oacontract2")[0]
	rec := &recorder{}
	hc := &http.Client{Transport: rec, Timeout: 20 * time.Second}
	base := p.url + "/api/v1/apps/0oacontract2/credentials/secrets"
	send := func(method, url, body, token string, want int) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, url, rd)
		req.Header.Set("Authorization", "SSWS "+token)
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
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
	send(http.MethodPost, base+"/"+only.ID+"/lifecycle/deactivate", "", contractToken, 400)
	send(http.MethodDelete, base+"/"+only.ID, "", contractToken, 400)
	send(http.MethodPost, base, `{"client_secret":"short","status":"ACTIVE"}`, contractToken, 400)
	send(http.MethodPost, base, `{"client_secret":"my-own-client-secret-0123456789","status":"ACTIVE"}`, contractToken, 201)
	send(http.MethodPost, base, `{}`, contractToken, 400)
	send(http.MethodGet, base, "", "00wrong-token", 401)
	send(http.MethodGet, base, "", contractToken, 200)
	rec.check(t, 7)
}

// TestPrismCatchesViolations: a request that breaks the description is
// refused by Prism and recorded, so that 0 violations above means
// something.
func TestPrismCatchesViolations(t *testing.T) {
	t.Parallel()
	p := startPrism(t)
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
}

// errorsDescribed says the description in use describes error answers
// (4xx) of the operations used. @okta/openapi's Swagger 2.0 description
// describes only successes: against it an error answer's status cannot
// match, and that alone is not a violation.
var errorsDescribed bool

// describesErrors reports whether the cut description at path has a 4xx
// response for any operation.
func describesErrors(path string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return false, err
	}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			for code := range op.Responses {
				if strings.HasPrefix(code, "4") {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// onlyUndescribedStatus reports whether every violation in Prism's
// sl-violations header v says only that the answer's status is not in the
// description.
func onlyUndescribedStatus(v string) bool {
	var vs []struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(v), &vs); err != nil || len(vs) == 0 {
		return false
	}
	for _, x := range vs {
		if !strings.HasPrefix(x.Message, "Unable to match the returned status code") {
			return false
		}
	}
	return true
}
