package entra_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

const day = 24 * time.Hour

// world is one emulator served on loopback and a provider in front of it.
type world struct {
	emu  *entraemu.Emulator
	srv  *httptest.Server
	prov *entra.Provider
	logs *bytes.Buffer

	mu     sync.Mutex
	seen   []credential.Secret
	sleeps []time.Duration
}

func newWorld(t *testing.T, eo entraemu.Options, mod func(*entra.Options)) *world {
	t.Helper()
	w := &world{emu: entraemu.New(eo), logs: &bytes.Buffer{}}
	w.srv = httptest.NewServer(w.emu)
	t.Cleanup(w.srv.Close)
	logger := logrus.New()
	logger.SetOutput(&lockedWriter{b: w.logs})
	logger.SetLevel(logrus.DebugLevel)
	opts := entra.Options{
		TenantID:       w.emu.Tenant(),
		GraphURL:       w.srv.URL,
		LoginURL:       w.srv.URL,
		SecretLifetime: 90 * day,
		HTTPClient:     w.srv.Client(),
		Timeout:        5 * time.Second,
		Logger:         logrus.NewEntry(logger),
		Now:            w.emu.Now,
		SecretSeen: func(s credential.Secret) {
			w.mu.Lock()
			w.seen = append(w.seen, s)
			w.mu.Unlock()
		},
		Sleep: func(_ context.Context, d time.Duration) error {
			w.mu.Lock()
			w.sleeps = append(w.sleeps, d)
			w.mu.Unlock()
			return nil
		},
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := entra.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w.prov = p
	return w
}

type lockedWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (w *world) sawSecret(v string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.seen {
		if s.Reveal() == v {
			return true
		}
	}
	return false
}

// seed creates an application whose first password is value, ending in
// life, and returns the client carrying it.
func (w *world) seed(t *testing.T, value string, life time.Duration, owners ...string) (provider.Client, entraemu.App) {
	t.Helper()
	a, err := w.emu.SeedApp(entraemu.SeedSpec{DisplayName: "credit-api", Owners: owners, Password: value, PasswordName: "credrotate seed", PasswordEnd: w.emu.Now().Add(life)})
	if err != nil {
		t.Fatal(err)
	}
	return provider.Client{ClientID: a.AppID, ClientSecret: credential.NewSecret(value)}, a
}

func wantKind(t *testing.T, err error, kind error) *provider.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *provider.Error", err)
	}
	if pe.Provider != "entra" {
		t.Errorf("Provider %q", pe.Provider)
	}
	return pe
}

func TestRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, entraemu.Options{}, nil)
	r := w.prov.Rules()
	if w.prov.Name() != "entra" || r.MaxValid != 2 || !r.SetsExpiry || !r.ReportsExpiry || r.RetiresOnCreate || r.Replays || r.Revocation != provider.RevokeOneStep || r.Propagation != 2*time.Minute {
		t.Errorf("rules %+v", r)
	}
}

// TestRotationSelfManaged walks one rotation of an application that manages
// itself: describe, create, the proof refused while the password
// propagates and then accepted, both valid, the old one revoked, the last
// one kept.
func TestRotationSelfManaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{Propagation: 30 * time.Second}, nil)
	c, _ := w.seed(t, "seed-secret-value-1", 30*day)
	if !w.prov.SelfManaged() {
		t.Fatal("no management client id, yet not self-managed")
	}

	info, err := w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	old, ok := info.Active()
	if !ok || len(info.Secrets) != 1 || old.Hint != "see" || old.Name != "credrotate seed" || old.Foreign || old.ExpiresAt.Sub(w.emu.Now()) != 30*day {
		t.Fatalf("describe: %+v", info)
	}

	key := provider.IdempotencyKey(c.ClientID, old.SecretID)
	created, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if created.ClientSecret.IsZero() || created.Secret.SecretID == "" || created.Secret.Name != "credrotate "+key || created.Secret.Status != provider.StatusActive {
		t.Fatalf("created %+v", created)
	}
	if got := created.Secret.ExpiresAt.Sub(w.emu.Now()); got < 90*day-time.Minute || got > 90*day {
		t.Errorf("a create with no end date lives %s, want the configured 90 days", got)
	}
	if !w.sawSecret(created.ClientSecret.Reveal()) {
		t.Error("SecretSeen was not told the new secret")
	}

	// Propagation: refused, then accepted.
	err = w.prov.Verify(ctx, c, created.ClientSecret)
	pe := wantKind(t, err, provider.ErrUnauthorized)
	if pe.Code != "AADSTS7000215" {
		t.Errorf("code %q, want AADSTS7000215", pe.Code)
	}
	w.emu.Advance(31 * time.Second)
	if err := w.prov.Verify(ctx, c, created.ClientSecret); err != nil {
		t.Fatalf("after propagation: %v", err)
	}

	info, err = w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	active, _ := info.Active()
	if info.ValidCount() != 2 || active.SecretID != created.Secret.SecretID {
		t.Fatalf("after create: %+v", info)
	}
	if s, _ := info.Find(old.SecretID); s.Status != provider.StatusRetiring {
		t.Errorf("the old password is %s, want RETIRING", s.Status)
	}

	// The new secret manages once the old one is gone.
	if err := w.prov.Revoke(ctx, c, old.SecretID); err != nil {
		t.Fatal(err)
	}
	if err := w.prov.Revoke(ctx, c, old.SecretID); err != nil {
		t.Errorf("revoking a removed password: %v", err)
	}
	next := provider.Client{ClientID: c.ClientID, ClientSecret: created.ClientSecret}
	err = w.prov.Revoke(ctx, next, created.Secret.SecretID)
	wantKind(t, err, provider.ErrLastSecret)
	if w.emu.Revoked() != 1 {
		t.Errorf("revoked %d, want 1", w.emu.Revoked())
	}
	if w.emu.Accepts(c.ClientID, "seed-secret-value-1") || !w.emu.Accepts(c.ClientID, created.ClientSecret.Reveal()) {
		t.Error("the emulator accepts the wrong secrets")
	}
	checkNoSecret(t, w.logs.String(), "seed-secret-value-1", created.ClientSecret.Reveal())
}

// TestSelfManagedNewSecretManages: once the deployed secret is refused (its
// password was removed), the secret this provider minted manages.
func TestSelfManagedNewSecretManages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{Propagation: -1}, nil)
	c, _ := w.seed(t, "seed-secret-value-2", 30*day)
	info, err := w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := info.Active()
	if _, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if err := w.prov.Revoke(ctx, c, old.SecretID); err != nil {
		t.Fatal(err)
	}
	// A new provider of the same process state would not know; this one
	// does: the old secret no longer obtains a token, the new one does.
	w.emu.Advance(2 * time.Hour) // the cached tokens expire
	if _, err := w.prov.Describe(ctx, c); err != nil {
		t.Fatalf("describe with the removed secret deployed: %v", err)
	}
}

func TestCreateNotReplayable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{}, nil)
	c, _ := w.seed(t, "seed-secret-value-3", 30*day)
	req := provider.CreateRequest{IdempotencyKey: "credrotate-0123"}
	if _, err := w.prov.Create(ctx, c, req); err != nil {
		t.Fatal(err)
	}
	_, err := w.prov.Create(ctx, c, req)
	pe := wantKind(t, err, provider.ErrNotReplayable)
	if pe.Op != "create" {
		t.Errorf("op %q", pe.Op)
	}
	if n := len(w.emu.Apps()[0].Passwords); n != 2 {
		t.Errorf("%d passwords, want 2: the repeated create must not mint", n)
	}
	_, err = w.prov.Create(ctx, c, provider.CreateRequest{})
	wantKind(t, err, provider.ErrBadRequest)
}

// TestLostAddPasswordAnswer: addPassword is not retried after an answer
// that may follow the change; the rotation's retry with the same key then
// finds the password and gets ErrNotReplayable. A 503 (not performed) is
// retried.
func TestLostAddPasswordAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{}, nil)
	c, _ := w.seed(t, "seed-secret-value-4", 30*day)
	w.emu.Inject(entraemu.Fault{Op: "addPassword", Status: 500, AfterHandling: true})
	_, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k-lost"})
	pe := wantKind(t, err, provider.ErrTransient)
	if pe.HTTPStatus != 500 || w.emu.Calls("addPassword") != 1 {
		t.Errorf("status %d, %d addPassword calls, want 500 and 1", pe.HTTPStatus, w.emu.Calls("addPassword"))
	}
	_, err = w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k-lost"})
	wantKind(t, err, provider.ErrNotReplayable)

	w.emu.Inject(entraemu.Fault{Op: "addPassword", Status: 503, RetryAfter: "3"})
	if _, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k-503"}); err != nil {
		t.Fatalf("a 503 before the change is retried: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sleeps) != 1 || w.sleeps[0] < 3*time.Second {
		t.Errorf("waits %v, want one of at least the Retry-After (3s)", w.sleeps)
	}
}

func TestManagementClientCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{}, func(o *entra.Options) {
		o.Management = entra.Management{ClientID: "mgmt-app", ClientSecret: func(context.Context) (credential.Secret, error) {
			return credential.NewSecret("management-secret-value"), nil
		}}
	})
	if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: "mgmt-app", DisplayName: "credrotate", Password: "management-secret-value"}); err != nil {
		t.Fatal(err)
	}
	owned, _ := w.seed(t, "owned-secret-value", 30*day, "mgmt-app")
	other, _ := w.seed(t, "other-secret-value", 30*day)
	// The management identity ignores the client's secret.
	owned.ClientSecret = credential.Secret{}
	for i := 0; i < 3; i++ {
		if _, err := w.prov.Describe(ctx, owned); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.emu.Calls("token"); n != 1 {
		t.Errorf("%d token requests for three describes, want 1 (cached)", n)
	}
	if !w.sawSecret("management-secret-value") {
		t.Error("SecretSeen was not told the management secret")
	}
	// Shortly before the token expires, a new one is fetched.
	w.emu.Advance(59 * time.Minute)
	if _, err := w.prov.Describe(ctx, owned); err != nil {
		t.Fatal(err)
	}
	if n := w.emu.Calls("token"); n != 2 {
		t.Errorf("%d token requests, want 2 after the cached one neared expiry", n)
	}
	_, err := w.prov.Describe(ctx, other)
	pe := wantKind(t, err, provider.ErrForbidden)
	if pe.Code != "Authorization_RequestDenied" || !strings.Contains(pe.Description, "Application.ReadWrite.OwnedBy") {
		t.Errorf("forbidden: %v", pe)
	}
}

// TestManagementTokenRejected: a cached token Graph refuses is dropped and
// a new one tried once.
func TestManagementTokenRejected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{}, func(o *entra.Options) { o.Now = time.Now })
	c, _ := w.seed(t, "seed-secret-value-5", 30*day)
	if _, err := w.prov.Describe(ctx, c); err != nil {
		t.Fatal(err)
	}
	w.emu.Advance(2 * time.Hour) // Graph's clock: the token expired
	if _, err := w.prov.Describe(ctx, c); err != nil {
		t.Fatalf("after the token expired at Graph: %v", err)
	}
	if n := w.emu.Calls("token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestWorkloadIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	w := newWorld(t, entraemu.Options{}, func(o *entra.Options) {
		o.Management = entra.Management{ClientID: "wi-app", FederatedTokenFile: file}
	})
	issuer, subject := "https://oidc.example.test/cluster", "system:serviceaccount:credrotate:credrotate"
	if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: "wi-app", DisplayName: "credrotate"}); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.AddFederated("wi-app", entraemu.Federated{Issuer: issuer, Subject: subject, Key: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	owned, _ := w.seed(t, "owned-secret-value-wi", 30*day, "wi-app")
	write := func(exp time.Time, sub string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{Issuer: issuer, Subject: sub, Audience: jwt.ClaimStrings{entraemu.AssertionAudience}, ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(w.emu.Now())})
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return s
	}
	assertion := write(w.emu.Now().Add(time.Hour), subject)
	if _, err := w.prov.Describe(ctx, owned); err != nil {
		t.Fatal(err)
	}
	if !w.sawSecret(assertion) {
		t.Error("SecretSeen was not told the assertion")
	}
	// A token of another subject is refused, and says nothing secret.
	w.emu.Advance(2 * time.Hour)
	assertion = write(w.emu.Now().Add(time.Hour), "system:serviceaccount:other:other")
	_, err = w.prov.Describe(ctx, owned)
	pe := wantKind(t, err, provider.ErrUnauthorized)
	if pe.Code != "AADSTS700213" {
		t.Errorf("code %q", pe.Code)
	}
	checkNoSecret(t, err.Error(), assertion)
}

func TestObjectID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emuOpts := entraemu.Options{}
	var oid string
	w := newWorld(t, emuOpts, nil)
	c, a := w.seed(t, "seed-secret-value-6", 30*day)
	oid = a.ObjectID
	p, err := entra.New(entra.Options{TenantID: w.emu.Tenant(), GraphURL: w.srv.URL, LoginURL: w.srv.URL, HTTPClient: w.srv.Client(), ObjectIDs: map[string]string{c.ClientID: oid}, Now: w.emu.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Describe(ctx, c); err != nil {
		t.Fatal(err)
	}
	// An object id of another application is caught.
	other, _ := w.seed(t, "seed-secret-value-7", 30*day)
	p2, _ := entra.New(entra.Options{TenantID: w.emu.Tenant(), GraphURL: w.srv.URL, LoginURL: w.srv.URL, HTTPClient: w.srv.Client(), ObjectIDs: map[string]string{other.ClientID: oid}, Now: w.emu.Now})
	_, err = p2.Describe(ctx, other)
	if err == nil {
		t.Fatal("describing through another application's object id succeeded")
	}
	// Unknown application.
	_, err = w.prov.Describe(ctx, provider.Client{ClientID: "00000000-0000-0000-0000-000000000000", ClientSecret: credential.NewSecret("x")})
	wantKind(t, err, provider.ErrUnauthorized)
}

func TestExpiredAndForeign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{Propagation: -1}, func(o *entra.Options) {
		o.Management = entra.Management{ClientID: "m", ClientSecret: func(context.Context) (credential.Secret, error) { return credential.NewSecret("m-secret"), nil }}
	})
	if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: "m", Password: "m-secret", PasswordEnd: w.emu.Now().Add(365 * day)}); err != nil {
		t.Fatal(err)
	}
	a, err := w.emu.SeedApp(entraemu.SeedSpec{DisplayName: "x", Owners: []string{"m"}, Password: "someone-elses", PasswordName: "made in the portal", PasswordEnd: w.emu.Now().Add(day)})
	if err != nil {
		t.Fatal(err)
	}
	c := provider.Client{ClientID: a.AppID}
	info, err := w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := info.Active(); !s.Foreign || s.Name != "made in the portal" {
		t.Errorf("a lone foreign password: %+v", info.Secrets)
	}
	created, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k", ExpiresAt: w.emu.Now().Add(10 * day)})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Secret.ExpiresAt; !got.Equal(w.emu.Now().Add(10 * day).Truncate(time.Second)) {
		t.Errorf("ExpiresAt %s, want the requested end", got)
	}
	w.emu.Advance(2 * day)
	info, err = w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Secrets {
		want := provider.StatusExpired
		if s.SecretID == created.Secret.SecretID {
			want = provider.StatusActive
		}
		if s.Status != want {
			t.Errorf("%s (%s): %s, want %s", s.SecretID, s.Name, s.Status, want)
		}
	}
	err = w.prov.Verify(ctx, c, credential.NewSecret("someone-elses"))
	if pe := wantKind(t, err, provider.ErrUnauthorized); pe.Code != "AADSTS7000222" {
		t.Errorf("expired: code %q", pe.Code)
	}
	// An expired password is not valid: removing it leaves the new one.
	if err := w.prov.Revoke(ctx, c, info.Secrets[0].SecretID); err != nil {
		t.Fatal(err)
	}
}

func TestLifetimePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{MaxLifetime: 30 * day}, nil)
	c, _ := w.seed(t, "seed-secret-value-8", 10*day)
	_, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k"})
	pe := wantKind(t, err, provider.ErrBadRequest)
	if pe.Code != "CredentialInvalidLifetimeAsPerAppPolicy" || !strings.Contains(pe.Description, "shorten entra.secretLifetime") || !strings.Contains(pe.Description, "2160h (90 days)") || pe.HTTPStatus != 400 || pe.RequestID == "" {
		t.Errorf("policy refusal: %+v", pe)
	}
	if _, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k2", ExpiresAt: w.emu.Now().Add(20 * day)}); err != nil {
		t.Errorf("within the policy: %v", err)
	}
}

func TestPasswordLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, entraemu.Options{MaxPasswords: 1}, nil)
	c, _ := w.seed(t, "seed-secret-value-9", 10*day)
	_, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k"})
	wantKind(t, err, provider.ErrTooManySecrets)
}

// TestFaults: 429 and 5xx, timeouts, malformed and oversized answers.
func TestFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		faults  []entraemu.Fault
		timeout time.Duration
		wantErr error
		// wantWait is the least wait expected among the retries.
		wantWait time.Duration
		wantDesc string
	}{
		{name: "429 then success", faults: []entraemu.Fault{{Op: "get", Status: 429, RetryAfter: "7"}}, wantWait: 7 * time.Second},
		{name: "503 twice then success", faults: []entraemu.Fault{{Op: "get", Status: 503, Times: 2}}},
		{name: "token 503 then success", faults: []entraemu.Fault{{Op: "token", Status: 503}}},
		{name: "429 past the longest wait", faults: []entraemu.Fault{{Op: "get", Status: 429, RetryAfter: "600"}}, wantErr: provider.ErrRateLimited},
		{name: "500 every time", faults: []entraemu.Fault{{Op: "get", Status: 500, Times: 10}}, wantErr: provider.ErrTransient},
		{name: "timeout", faults: []entraemu.Fault{{Op: "get", Delay: 2 * time.Second, Status: 200, Times: 10}}, timeout: 50 * time.Millisecond, wantErr: provider.ErrTransient, wantDesc: "no answer in time"},
		{name: "malformed", faults: []entraemu.Fault{{Op: "get", Status: 200, Body: `{"id": [`}}, wantErr: provider.ErrMalformedResponse},
		{name: "html error", faults: []entraemu.Fault{{Op: "get", Status: 404, Body: `<html>gateway</html>`}}, wantErr: provider.ErrNotFound},
		{name: "oversized", faults: []entraemu.Fault{{Op: "get", Status: 200, Body: `{"id":"` + strings.Repeat("a", 2<<20) + `"}`}}, wantErr: provider.ErrMalformedResponse},
		{name: "an answer echoing the secret", faults: []entraemu.Fault{{Op: "get", Status: 400, Body: `{"error":{"code":"BadRequest","message":"the secret fault-secret-value is odd"}}`}}, wantErr: provider.ErrBadRequest, wantDesc: "[REDACTED]"},
		{name: "token malformed", faults: []entraemu.Fault{{Op: "token", Status: 200, Body: `{"token_type":"Bearer"}`}}, wantErr: provider.ErrMalformedResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, entraemu.Options{}, func(o *entra.Options) {
				if tc.timeout > 0 {
					o.Timeout = tc.timeout
				}
			})
			c, _ := w.seed(t, "fault-secret-value", 30*day)
			for _, f := range tc.faults {
				w.emu.Inject(f)
			}
			_, err := w.prov.Describe(context.Background(), c)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				pe := wantKind(t, err, tc.wantErr)
				if tc.wantDesc != "" && !strings.Contains(pe.Description, tc.wantDesc) {
					t.Errorf("description %q, want %q", pe.Description, tc.wantDesc)
				}
				if tc.wantErr == provider.ErrRateLimited && pe.RetryAfter != 600*time.Second {
					t.Errorf("RetryAfter %s", pe.RetryAfter)
				}
				checkNoSecret(t, err.Error(), "fault-secret-value")
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if tc.wantWait > 0 && (len(w.sleeps) == 0 || w.sleeps[0] < tc.wantWait) {
				t.Errorf("waits %v, want at least %s", w.sleeps, tc.wantWait)
			}
		})
	}
}

// TestRedirectRefused: a token endpoint that redirects elsewhere gets no
// second request, and the secret goes nowhere.
func TestRedirectRefused(t *testing.T) {
	t.Parallel()
	var hits int
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, status)
		}))
		t.Cleanup(redirecting.Close)
		p, err := entra.New(entra.Options{TenantID: "t", GraphURL: redirecting.URL, LoginURL: redirecting.URL, HTTPClient: redirecting.Client(), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Verify(context.Background(), provider.Client{ClientID: "c"}, credential.NewSecret("redirected-secret"))
		if !errors.Is(err, redirect.ErrRefused) {
			t.Fatalf("HTTP %d: error %v, want a refused redirect", status, err)
		}
		wantKind(t, err, provider.ErrMalformedResponse)
		checkNoSecret(t, err.Error(), "redirected-secret")
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("the redirect target got %d requests", hits)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, o := range []entra.Options{
		{},
		{TenantID: "t", GraphURL: "ftp://x"},
		{TenantID: "t", Management: entra.Management{ClientID: "m"}},
		{TenantID: "t", Management: entra.Management{ClientID: "m", FederatedTokenFile: "f", ClientSecret: func(context.Context) (credential.Secret, error) { return credential.Secret{}, nil }}},
	} {
		if _, err := entra.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestMissingWorkloadToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, entraemu.Options{}, func(o *entra.Options) {
		o.Management = entra.Management{ClientID: "m", FederatedTokenFile: filepath.Join(t.TempDir(), "absent")}
	})
	_, err := w.prov.Describe(context.Background(), provider.Client{ClientID: "c"})
	pe := wantKind(t, err, provider.ErrUnauthorized)
	if !strings.Contains(pe.Description, "federatedTokenFile") {
		t.Errorf("description %q", pe.Description)
	}
}

func checkNoSecret(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, v := range secrets {
		if v != "" && strings.Contains(s, v) {
			t.Errorf("a secret appears in %q", s)
		}
	}
}
