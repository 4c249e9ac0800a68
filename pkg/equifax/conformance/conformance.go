// Package conformance is the one test suite every equifax.Provider
// transport passes against the emulator: each row of the contract's error
// table, the overlap rules, idempotent renew, the retry rules and the
// scripted faults (429 with Retry-After, 500/503/504, a stall past the
// client's timeout, a malformed body, a dropped renew answer). The REST and
// SOAP packages run it from their tests:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T, cfg conformance.Config) equifax.Provider {
//			p, err := rest.New(rest.Options{BaseURL: cfg.BaseURL, ...})
//			...
//		})
//	}
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Config is what a transport needs to build a provider against the
// suite's emulator. Every field must be honoured.
type Config struct {
	// BaseURL is the emulator's root (REST base URL; the token URL is
	// BaseURL + /v2/oauth/token).
	BaseURL string
	// SOAPURL is the emulator's SOAP endpoint.
	SOAPURL string
	// ManagementScope is the scope to ask for before management calls.
	ManagementScope string
	// HTTPClient is the client to send requests with; the suite wraps its
	// transport to break requests on purpose.
	HTTPClient *http.Client
	// Timeout bounds each attempt.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt
	// (negative: none), as in the transports' Options.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the wait between attempts; the
	// suite keeps them short.
	InitialBackoff, MaxBackoff time.Duration
}

// NewProvider builds the provider under test from cfg.
type NewProvider func(t *testing.T, cfg Config) equifax.Provider

// Run runs the suite as subtests of t.
func Run(t *testing.T, newProvider NewProvider) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newEnv(t, newProvider, c.cfg, c.emu))
		})
	}
}

// MockSafe checks a mock-safe provider built over the provider newProvider
// returns: reads reach the emulator, no renew or revoke ever does, and the
// answers still look like Equifax's.
func MockSafe(t *testing.T, newProvider NewProvider, wrap func(t *testing.T, real equifax.Provider) equifax.Provider) {
	e := newEnv(t, newProvider, nil, nil)
	ctx := context.Background()
	creds, seeded := e.seed("mock-safe-client", 10*24*time.Hour)
	p := wrap(t, e.p)

	if _, err := p.Token(ctx, creds, ""); err != nil {
		t.Fatalf("token: %v", err)
	}
	info, err := p.Describe(ctx, creds)
	if err != nil || info.ValidCount() != 1 {
		t.Fatalf("describe: %+v, %v", info, err)
	}
	res, err := p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey(creds.ClientID, seeded.SecretID)})
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if res.ClientSecret.IsZero() || res.Secret.SecretID == "" || res.Secret.Status != equifax.StatusActive || res.Secret.ExpiresAt.IsZero() {
		t.Fatalf("renew answer is not plausible: %+v", res)
	}
	if res.PreviousSecret == nil || res.PreviousSecret.SecretID != seeded.SecretID || res.PreviousSecret.Status != equifax.StatusRetiring {
		t.Fatalf("renew answer's previous secret: %+v", res.PreviousSecret)
	}
	if e.emu.Accepts(creds.ClientID, res.ClientSecret.Reveal()) {
		t.Fatal("the mock secret works at Equifax")
	}
	// A token for the mock secret is itself a mock: it proves nothing at
	// Equifax and must not fail the run.
	if _, err := p.Token(ctx, equifax.Credentials{ClientID: creds.ClientID, ClientSecret: res.ClientSecret}, ""); err != nil {
		t.Fatalf("token for the mock secret: %v", err)
	}
	if err := p.Revoke(ctx, creds, seeded.SecretID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if n, m := e.emu.Calls(emulator.OpRenew), e.emu.Calls(emulator.OpRevoke); n != 0 || m != 0 {
		t.Fatalf("mutating calls reached the server: renew %d, revoke %d", n, m)
	}
	if e.emu.Calls(emulator.OpDescribe) == 0 || e.emu.Calls(emulator.OpToken) == 0 {
		t.Fatal("reads did not reach the server")
	}
	after, _ := e.emu.Client(creds.ClientID)
	if after.ValidCount() != 1 || len(after.Secrets) != 1 || after.Secrets[0].Status != equifax.StatusActive {
		t.Fatalf("the server's state changed: %+v", after)
	}
}

// env is one emulator, its server and the provider under test.
type env struct {
	t   *testing.T
	emu *emulator.Emulator
	srv *httptest.Server
	cfg Config
	p   equifax.Provider
	rt  *breaker
}

func newEnv(t *testing.T, newProvider NewProvider, mod func(*Config), emuMod func(*emulator.Options)) *env {
	t.Helper()
	eo := emulator.Options{Logf: t.Logf}
	if emuMod != nil {
		emuMod(&eo)
	}
	emu := emulator.New(eo)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close) // runs first: releases stalled requests
	rt := &breaker{base: http.DefaultTransport}
	cfg := Config{
		BaseURL:         srv.URL,
		SOAPURL:         srv.URL + emulator.SOAPPath,
		ManagementScope: emulator.DefaultManagementScope,
		HTTPClient:      &http.Client{Transport: rt},
		Timeout:         5 * time.Second,
		MaxRetries:      3,
		InitialBackoff:  5 * time.Millisecond,
		MaxBackoff:      20 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	return &env{t: t, emu: emu, srv: srv, cfg: cfg, p: newProvider(t, cfg), rt: rt}
}

// seed creates a client whose one secret expires in expiresIn.
func (e *env) seed(clientID string, expiresIn time.Duration) (equifax.Credentials, equifax.SecretInfo) {
	e.t.Helper()
	secret := "canary-" + clientID + "-Zx81"
	info, err := e.emu.SeedClient(clientID, secret, e.emu.Now().Add(expiresIn))
	if err != nil {
		e.t.Fatal(err)
	}
	return equifax.Credentials{ClientID: clientID, ClientSecret: credential.NewSecret(secret)}, info
}

// breaker is an http.RoundTripper that breaks requests on purpose, to
// reach the rows of the error table a well-behaved client never causes: it
// can drop the Bearer token of management calls (401.02) and rewrite the
// grant type a token request asks for (invalid_request,
// unsupported_grant_type).
type breaker struct {
	base        http.RoundTripper
	mu          sync.Mutex
	stripBearer bool
	grantType   *string
}

func (b *breaker) set(f func(b *breaker)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

func (b *breaker) RoundTrip(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	strip, grant := b.stripBearer, b.grantType
	b.mu.Unlock()
	if strip && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		r = r.Clone(r.Context())
		r.Header.Del("Authorization")
	}
	if grant != nil && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = bytes.ReplaceAll(body, []byte("grant_type=client_credentials"), []byte("grant_type="+*grant))
		body = bytes.ReplaceAll(body, []byte(">client_credentials<"), []byte(">"+*grant+"<"))
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = nil
	}
	return b.base.RoundTrip(r)
}

// wantErr checks that err is an *equifax.Error of kind with code (when
// code is not empty), and that it names no secret.
func wantErr(t *testing.T, err error, kind error, code string, secrets ...equifax.Credentials) *equifax.Error {
	t.Helper()
	var e *equifax.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *equifax.Error of kind %v", err, err, kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	if code != "" && e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	noLeak(t, err.Error(), secrets...)
	noLeak(t, fmt.Sprintf("%+v %#v", err, err), secrets...)
	return e
}

func noLeak(t *testing.T, text string, secrets ...equifax.Credentials) {
	t.Helper()
	for _, c := range secrets {
		if v := c.ClientSecret.Reveal(); v != "" && strings.Contains(text, v) {
			t.Fatalf("a secret leaked into %q", text)
		}
	}
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -2*time.Second && d < 2*time.Second
}

type testCase struct {
	name string
	cfg  func(*Config)
	emu  func(*emulator.Options)
	run  func(t *testing.T, e *env)
}

var ctx = context.Background()

var cases = []testCase{
	{name: "token", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		tok, err := e.p.Token(ctx, creds, "")
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken.IsZero() || tok.TokenType != "Bearer" || !strings.Contains(tok.Scope, emulator.DefaultManagementScope) {
			t.Fatalf("token = %+v", tok)
		}
		if d := time.Until(tok.ExpiresAt); d < 25*time.Minute || d > 31*time.Minute {
			t.Fatalf("token expires in %v, want about 30m", d)
		}
		if !near(tok.IssuedAt, e.emu.Now()) {
			t.Fatalf("issued at %v, server time %v", tok.IssuedAt, e.emu.Now())
		}
	}},
	{name: "token/invalid_client", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		bad := equifax.Credentials{ClientID: creds.ClientID, ClientSecret: credential.NewSecret("wrong-secret-Qq1")}
		_, err := e.p.Token(ctx, bad, "")
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client", bad, creds)
		_, err = e.p.Describe(ctx, bad)
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client", bad, creds)
		unknown := equifax.Credentials{ClientID: "nobody", ClientSecret: credential.NewSecret("x")}
		_, err = e.p.Token(ctx, unknown, "")
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client")
		if n := e.emu.Calls(emulator.OpToken); n != 3 {
			t.Fatalf("token called %d times, want 3 (no retry of a 4xx)", n)
		}
		if n := e.emu.Calls(emulator.OpDescribe); n != 0 {
			t.Fatalf("describe reached the server %d times without a token", n)
		}
	}},
	{name: "token/invalid_scope", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		_, err := e.p.Token(ctx, creds, "https://api.equifax.com/business/no-such-product/v1")
		wantErr(t, err, equifax.ErrBadRequest, "invalid_scope", creds)
		if n := e.emu.Calls(emulator.OpToken); n != 1 {
			t.Fatalf("token called %d times, want 1", n)
		}
	}},
	{name: "token/unsupported_grant_type", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		grant := "password"
		e.rt.set(func(b *breaker) { b.grantType = &grant })
		_, err := e.p.Token(ctx, creds, "")
		wantErr(t, err, equifax.ErrBadRequest, "unsupported_grant_type", creds)
		if n := e.emu.Calls(emulator.OpToken); n != 1 {
			t.Fatalf("token called %d times, want 1", n)
		}
	}},
	{name: "token/invalid_request", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		grant := ""
		e.rt.set(func(b *breaker) { b.grantType = &grant })
		_, err := e.p.Token(ctx, creds, "")
		wantErr(t, err, equifax.ErrBadRequest, "invalid_request", creds)
	}},
	{name: "token/expired secret", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", time.Hour)
		e.emu.Advance(2 * time.Hour)
		_, err := e.p.Token(ctx, creds, "")
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client", creds)
	}},
	{name: "describe", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 100*24*time.Hour)
		info, err := e.p.Describe(ctx, creds)
		if err != nil {
			t.Fatal(err)
		}
		a, ok := info.Active()
		if info.ClientID != "c1" || len(info.Secrets) != 1 || !ok || a.SecretID != seeded.SecretID ||
			!a.ExpiresAt.Equal(seeded.ExpiresAt) || !a.CreatedAt.Equal(seeded.CreatedAt) {
			t.Fatalf("info = %+v, seeded %+v", info, seeded)
		}
		if want := seeded.ExpiresAt.Add(-emulator.DefaultRenewWindow); !info.RenewalEligibleAt.Equal(want) {
			t.Fatalf("renewalEligibleAt = %v, want %v", info.RenewalEligibleAt, want)
		}
		if n := e.emu.Calls(emulator.OpToken); n != 1 {
			t.Fatalf("token called %d times, want 1", n)
		}
		// The token is cached: more calls fetch no new one.
		for range 3 {
			if _, err := e.p.Describe(ctx, creds); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.emu.Calls(emulator.OpToken); n != 1 {
			t.Fatalf("token called %d times after 4 describes, want 1", n)
		}
	}},
	{name: "401.01 expired token is replaced", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		if _, err := e.p.Describe(ctx, creds); err != nil {
			t.Fatal(err)
		}
		// The server's clock moves past the token's lifetime; the
		// client's does not, so only the server's 401.01 tells it.
		e.emu.Advance(31 * time.Minute)
		if _, err := e.p.Describe(ctx, creds); err != nil {
			t.Fatal(err)
		}
		if n, m := e.emu.Calls(emulator.OpToken), e.emu.Calls(emulator.OpDescribe); n != 2 || m != 3 {
			t.Fatalf("token %d, describe %d; want 2 and 3", n, m)
		}
	}},
	{name: "401.02 missing token is not retried", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		e.rt.set(func(b *breaker) { b.stripBearer = true })
		_, err := e.p.Describe(ctx, creds)
		wantErr(t, err, equifax.ErrUnauthorized, "401.02", creds)
		if m := e.emu.Calls(emulator.OpDescribe); m != 1 {
			t.Fatalf("describe called %d times, want 1", m)
		}
	}},
	{name: "401.03 revoked secret's tokens are rejected", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 10*24*time.Hour)
		if _, err := e.p.Describe(ctx, creds); err != nil { // caches a token minted with the old secret
			t.Fatal(err)
		}
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey("c1", seeded.SecretID)})
		if err != nil {
			t.Fatal(err)
		}
		// Renewing does not invalidate the old secret's tokens.
		if _, err := e.p.Describe(ctx, creds); err != nil {
			t.Fatalf("describe with the old secret during its grace: %v", err)
		}
		newCreds := equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}
		if err := e.p.Revoke(ctx, newCreds, seeded.SecretID); err != nil {
			t.Fatal(err)
		}
		before := e.emu.Calls(emulator.OpToken)
		_, err = e.p.Describe(ctx, creds)
		// The cached token is refused (401.03); a new one cannot be had
		// with a revoked secret.
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client", creds, newCreds)
		if n := e.emu.Calls(emulator.OpToken) - before; n != 1 {
			t.Fatalf("token called %d times after the 401.03, want 1", n)
		}
		if _, err := e.p.Describe(ctx, newCreds); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "403.01 token without the management scope", cfg: func(c *Config) {
		c.ManagementScope = emulator.DefaultProductScopes[0]
	}, run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		_, err := e.p.Describe(ctx, creds)
		wantErr(t, err, equifax.ErrForbidden, "403.01", creds)
		if m := e.emu.Calls(emulator.OpDescribe); m != 1 {
			t.Fatalf("describe called %d times, want 1", m)
		}
	}},
	{name: "404.01 unknown secret", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 100*24*time.Hour)
		err := e.p.Revoke(ctx, creds, "sec-does-not-exist")
		wantErr(t, err, equifax.ErrNotFound, "404.01", creds)
		if m := e.emu.Calls(emulator.OpRevoke); m != 1 {
			t.Fatalf("revoke called %d times, want 1", m)
		}
	}},
	{name: "renew and the overlap rules", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 10*24*time.Hour)
		now := e.emu.Now()
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey("c1", seeded.SecretID), GracePeriod: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		noLeak(t, fmt.Sprintf("%v %+v %#v", res, res, res), equifax.Credentials{ClientSecret: res.ClientSecret})
		if res.ClientID != "c1" || res.Secret.SecretID == seeded.SecretID || res.Secret.Status != equifax.StatusActive ||
			!near(res.Secret.ExpiresAt, now.Add(emulator.DefaultSecretLifetime)) {
			t.Fatalf("new secret = %+v", res.Secret)
		}
		p := res.PreviousSecret
		if p == nil || p.SecretID != seeded.SecretID || p.Status != equifax.StatusRetiring || p.GraceEndsAt == nil || !near(*p.GraceEndsAt, now.Add(48*time.Hour)) {
			t.Fatalf("previous secret = %+v", p)
		}
		// The new secret works at once; the old one until its grace ends.
		newCreds := equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}
		if _, err := e.p.Token(ctx, newCreds, ""); err != nil {
			t.Fatalf("token with the new secret: %v", err)
		}
		if _, err := e.p.Token(ctx, creds, ""); err != nil {
			t.Fatalf("token with the old secret during its grace: %v", err)
		}
		info, err := e.p.Describe(ctx, newCreds)
		if err != nil || info.ValidCount() != 2 {
			t.Fatalf("describe: %+v, %v", info, err)
		}
		// Grace over: the old secret is done.
		e.emu.Advance(48*time.Hour + time.Second)
		_, err = e.p.Token(ctx, creds, "")
		wantErr(t, err, equifax.ErrUnauthorized, "invalid_client", creds)
		info, err = e.p.Describe(ctx, newCreds)
		if err != nil || info.ValidCount() != 1 {
			t.Fatalf("describe after the grace: %+v, %v", info, err)
		}
		if s, _ := info.Find(seeded.SecretID); s.Status.Valid() {
			t.Fatalf("old secret after its grace: %+v", s)
		}
	}},
	{name: "grace ends no later than the old secret expires", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 3*24*time.Hour)
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-grace", GracePeriod: 20 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if g := res.PreviousSecret.GraceEndsAt; g == nil || !g.Equal(seeded.ExpiresAt) {
			t.Fatalf("grace ends %v, want the old secret's expiry %v", g, seeded.ExpiresAt)
		}
		_, err = e.p.Renew(ctx, equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}, equifax.RenewRequest{IdempotencyKey: "k-long", GracePeriod: 31 * 24 * time.Hour, Force: true})
		wantErr(t, err, equifax.ErrBadRequest, "400.01")
	}},
	{name: "409.01 two valid secrets, force revokes the retiring one", emu: func(o *emulator.Options) {
		// Short-lived secrets, so that the new secret is eligible for
		// renewal while the old one still retires.
		o.SecretLifetime = 40 * 24 * time.Hour
	}, run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 20*24*time.Hour)
		first, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1", GracePeriod: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		e.emu.Advance(11 * 24 * time.Hour)
		c2 := equifax.Credentials{ClientID: "c1", ClientSecret: first.ClientSecret}
		_, err = e.p.Renew(ctx, c2, equifax.RenewRequest{IdempotencyKey: "k-2"})
		wantErr(t, err, equifax.ErrTooManySecrets, "409.01", creds, c2)
		second, err := e.p.Renew(ctx, c2, equifax.RenewRequest{IdempotencyKey: "k-3", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.emu.Client("c1")
		if info.ValidCount() != 2 {
			t.Fatalf("%d valid secrets, want 2: %+v", info.ValidCount(), info)
		}
		if s, _ := info.Find(seeded.SecretID); s.Status != equifax.StatusRevoked {
			t.Fatalf("the retiring secret after a forced renew: %+v", s)
		}
		if s, _ := info.Find(first.Secret.SecretID); s.Status != equifax.StatusRetiring {
			t.Fatalf("the previously active secret: %+v", s)
		}
		if s, _ := info.Find(second.Secret.SecretID); s.Status != equifax.StatusActive {
			t.Fatalf("the new secret: %+v", s)
		}
		if _, err := e.p.Token(ctx, creds, ""); !errors.Is(err, equifax.ErrUnauthorized) {
			t.Fatalf("token with the secret a forced renew revoked: %v", err)
		}
	}},
	{name: "409.02 not yet eligible", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 100*24*time.Hour)
		_, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		ee := wantErr(t, err, equifax.ErrNotEligible, "409.02", creds)
		if want := seeded.ExpiresAt.Add(-emulator.DefaultRenewWindow); !ee.EligibleAt.Equal(want) {
			t.Fatalf("eligibleAt = %v, want %v", ee.EligibleAt, want)
		}
		if n := e.emu.Calls(emulator.OpRenew); n != 1 {
			t.Fatalf("renew called %d times, want 1", n)
		}
		// Right after a renew, the minimum interval applies.
		e.emu.Advance(71 * 24 * time.Hour)
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-2"})
		if err != nil {
			t.Fatal(err)
		}
		c2 := equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}
		if err := e.p.Revoke(ctx, c2, seeded.SecretID); err != nil {
			t.Fatal(err)
		}
		_, err = e.p.Renew(ctx, c2, equifax.RenewRequest{IdempotencyKey: "k-3"})
		ee = wantErr(t, err, equifax.ErrNotEligible, "409.02", c2)
		if ee.EligibleAt.IsZero() {
			t.Fatal("409.02 without eligibleAt")
		}
	}},
	{name: "force lifts 409.02 and is audited", run: func(t *testing.T, e *env) {
		// The emergency path: a secret far from its window is renewed at
		// once when the request says force, which proves the client sends it.
		creds, seeded := e.seed("c1", 100*24*time.Hour)
		_, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		wantErr(t, err, equifax.ErrNotEligible, "409.02", creds)
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-2", Force: true})
		if err != nil {
			t.Fatalf("forced renew: %v", err)
		}
		if res.PreviousSecret == nil || res.PreviousSecret.SecretID != seeded.SecretID || res.PreviousSecret.Status != equifax.StatusRetiring {
			t.Fatalf("forced renew replaced %+v, want %s RETIRING", res.PreviousSecret, seeded.SecretID)
		}
		audit := e.emu.ForcedRenewals("c1")
		if len(audit) != 1 || audit[0].NewSecretID != res.Secret.SecretID || len(audit[0].Overrode) != 1 || !strings.HasPrefix(audit[0].Overrode[0], "409.02") {
			t.Fatalf("the emulator's audit of the forced renew: %+v", audit)
		}
	}},
	{name: "409.03 the last valid secret cannot be revoked", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 100*24*time.Hour)
		err := e.p.Revoke(ctx, creds, seeded.SecretID)
		wantErr(t, err, equifax.ErrLastSecret, "409.03", creds)
		if !e.emu.Accepts("c1", creds.ClientSecret.Reveal()) {
			t.Fatal("the secret was revoked")
		}
	}},
	{name: "revoke the newer secret while the older retires, and again", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		// The recovery path when a minted secret was lost.
		if err := e.p.Revoke(ctx, creds, res.Secret.SecretID); err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(ctx, creds, res.Secret.SecretID); err != nil {
			t.Fatalf("revoking a revoked secret: %v", err)
		}
		if e.emu.Accepts("c1", res.ClientSecret.Reveal()) {
			t.Fatal("the revoked secret still works")
		}
		info, err := e.p.Describe(ctx, creds)
		if err != nil || info.ValidCount() != 1 {
			t.Fatalf("describe: %+v, %v", info, err)
		}
	}},
	{name: "idempotent replay", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 10*24*time.Hour)
		req := equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey("c1", seeded.SecretID), GracePeriod: 72 * time.Hour}
		a, err := e.p.Renew(ctx, creds, req)
		if err != nil {
			t.Fatal(err)
		}
		e.emu.Advance(time.Hour)
		b, err := e.p.Renew(ctx, creds, req)
		if err != nil {
			t.Fatal(err)
		}
		if a.Secret.SecretID != b.Secret.SecretID || !a.ClientSecret.Equal(b.ClientSecret) {
			t.Fatalf("replay minted again: %s then %s", a.Secret.SecretID, b.Secret.SecretID)
		}
		if info, _ := e.emu.Client("c1"); info.ValidCount() != 2 || len(info.Secrets) != 2 {
			t.Fatalf("after a replay: %+v", info)
		}
	}},
	{name: "422.01 key reused with another body", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		if _, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1", GracePeriod: 24 * time.Hour})
		wantErr(t, err, equifax.ErrIdempotencyConflict, "422.01", creds)
		if n := e.emu.Calls(emulator.OpRenew); n != 2 {
			t.Fatalf("renew called %d times, want 2", n)
		}
	}},
	{name: "renew without an idempotency key is refused locally", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		_, err := e.p.Renew(ctx, creds, equifax.RenewRequest{})
		wantErr(t, err, equifax.ErrBadRequest, "", creds)
		if n := e.emu.Calls(emulator.OpRenew); n != 0 {
			t.Fatalf("renew reached the server %d times", n)
		}
	}},
	{name: "429 Retry-After is honoured", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		for _, op := range emulator.Ops {
			e.emu.Script(emulator.Fault{Op: op, Kind: emulator.FaultRateLimit, RetryAfter: time.Second})
		}
		start := time.Now()
		if _, err := e.p.Describe(ctx, creds); err != nil { // token then describe: two waits
			t.Fatal(err)
		}
		// A lower bound, not a deadline: the client waited at least what
		// the server asked for, twice.
		if took := time.Since(start); took < 2*time.Second {
			t.Fatalf("token and describe took %v in all; Retry-After 1s each was not honoured", took)
		}
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(ctx, equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}, res.PreviousSecret.SecretID); err != nil {
			t.Fatal(err)
		}
		for _, op := range emulator.Ops {
			if n := e.emu.Calls(op); n != 2 && op != emulator.OpToken {
				t.Errorf("%s called %d times, want 2", op, n)
			}
		}
	}},
	{name: "429 without retries returns Retry-After", cfg: func(c *Config) { c.MaxRetries = -1 }, run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		e.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultRateLimit, RetryAfter: 7 * time.Second})
		_, err := e.p.Describe(ctx, creds)
		ee := wantErr(t, err, equifax.ErrRateLimited, "429.01", creds)
		if ee.RetryAfter != 7*time.Second {
			t.Fatalf("RetryAfter = %v, want 7s", ee.RetryAfter)
		}
	}},
	{name: "5xx retried then succeeding", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 10*24*time.Hour)
		kinds := []emulator.FaultKind{emulator.FaultServerError, emulator.FaultUnavailable, emulator.FaultGatewayTimeout}
		for _, op := range emulator.Ops {
			for _, k := range kinds {
				e.emu.Script(emulator.Fault{Op: op, Kind: k})
			}
		}
		if _, err := e.p.Describe(ctx, creds); err != nil {
			t.Fatal(err)
		}
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(ctx, creds, res.PreviousSecret.SecretID); err != nil {
			t.Fatal(err)
		}
		if res.PreviousSecret.SecretID != seeded.SecretID {
			t.Fatalf("previous secret %s, want %s", res.PreviousSecret.SecretID, seeded.SecretID)
		}
		for _, op := range emulator.Ops {
			if n := e.emu.Calls(op); n != 4 {
				t.Errorf("%s called %d times, want 4 (3 faults, then success)", op, n)
			}
		}
		if info, _ := e.emu.Client("c1"); len(info.Secrets) != 2 || info.ValidCount() != 1 {
			t.Fatalf("after retried renew and revoke: %+v", info)
		}
	}},
	{name: "5xx retries used up", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		if _, err := e.p.Token(ctx, creds, ""); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			kind emulator.FaultKind
			code string
		}{{emulator.FaultServerError, "500.01"}, {emulator.FaultUnavailable, "503.01"}, {emulator.FaultGatewayTimeout, "504.01"}} {
			e.emu.ResetCalls()
			e.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: tc.kind, Count: 4})
			_, err := e.p.Describe(ctx, creds)
			wantErr(t, err, equifax.ErrTransient, tc.code, creds)
			if n := e.emu.Calls(emulator.OpDescribe); n != 4 {
				t.Fatalf("%s: describe called %d times, want 4", tc.kind, n)
			}
		}
	}},
	{name: "stall past the timeout is transient", cfg: func(c *Config) {
		c.Timeout = 300 * time.Millisecond
		c.MaxRetries = 1
	}, run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		if _, err := e.p.Token(ctx, creds, ""); err != nil {
			t.Fatal(err)
		}
		e.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultStall, Count: 2, Stall: time.Minute})
		_, err := e.p.Describe(ctx, creds)
		ee := wantErr(t, err, equifax.ErrTransient, "", creds)
		if ee.HTTPStatus != 0 {
			t.Fatalf("HTTPStatus = %d, want 0 (no answer)", ee.HTTPStatus)
		}
		if n := e.emu.Calls(emulator.OpDescribe); n != 2 {
			t.Fatalf("describe called %d times, want 2", n)
		}
		e.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultStall, Stall: time.Minute})
		if _, err := e.p.Describe(ctx, creds); err != nil {
			t.Fatalf("a stall, then an answer: %v", err)
		}
	}},
	{name: "malformed answers", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		e.emu.Script(emulator.Fault{Op: emulator.OpToken, Kind: emulator.FaultMalformed})
		_, err := e.p.Token(ctx, creds, "")
		wantErr(t, err, equifax.ErrMalformedResponse, "", creds)
		for _, op := range []emulator.Op{emulator.OpDescribe, emulator.OpRenew, emulator.OpRevoke} {
			e.emu.Script(emulator.Fault{Op: op, Kind: emulator.FaultMalformed})
		}
		_, err = e.p.Describe(ctx, creds)
		wantErr(t, err, equifax.ErrMalformedResponse, "", creds)
		_, err = e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		wantErr(t, err, equifax.ErrMalformedResponse, "", creds)
		err = e.p.Revoke(ctx, creds, "sec-any")
		wantErr(t, err, equifax.ErrMalformedResponse, "", creds)
		for _, op := range emulator.Ops {
			if n := e.emu.Calls(op); n != 1 && op != emulator.OpToken {
				t.Errorf("%s called %d times, want 1 (a malformed answer is not retried)", op, n)
			}
		}
	}},
	{name: "a retried renew after a dropped answer mints exactly one secret", run: func(t *testing.T, e *env) {
		creds, seeded := e.seed("c1", 10*24*time.Hour)
		e.emu.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultDropResponse})
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey("c1", seeded.SecretID)})
		if err != nil {
			t.Fatal(err)
		}
		if n := e.emu.Calls(emulator.OpRenew); n != 2 {
			t.Fatalf("renew called %d times, want 2", n)
		}
		info, _ := e.emu.Client("c1")
		if len(info.Secrets) != 2 || info.ValidCount() != 2 {
			t.Fatalf("after the retried renew: %+v", info)
		}
		if a, _ := info.Active(); a.SecretID != res.Secret.SecretID {
			t.Fatalf("active secret %s, the client got %s", a.SecretID, res.Secret.SecretID)
		}
		if !e.emu.Accepts("c1", res.ClientSecret.Reveal()) {
			t.Fatal("the plaintext the client got is not accepted")
		}
	}},
	{name: "a dropped renew answer with no retries left is transient", cfg: func(c *Config) { c.MaxRetries = -1 }, run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		e.emu.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultDropResponse})
		_, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		wantErr(t, err, equifax.ErrTransient, "", creds)
		// The caller's retry with the same key replays, not mints.
		res, err := e.p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		if info, _ := e.emu.Client("c1"); len(info.Secrets) != 2 || !e.emu.Accepts("c1", res.ClientSecret.Reveal()) {
			t.Fatalf("after the caller's retry: %+v", info)
		}
	}},
	{name: "concurrent describes share one token", run: func(t *testing.T, e *env) {
		creds, _ := e.seed("c1", 10*24*time.Hour)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := e.p.Describe(ctx, creds); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := e.emu.Calls(emulator.OpToken); n != 1 {
			t.Fatalf("token called %d times, want 1", n)
		}
	}},
}
