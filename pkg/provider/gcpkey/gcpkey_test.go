package gcpkey_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/gcpkey"
)

const (
	manager = "credrotate@ops.iam.gserviceaccount.com"
	target  = "billing@app.iam.gserviceaccount.com"
)

var seq atomic.Int64

// world is an emulator served over httptest, a management key file and a
// provider that uses it.
type world struct {
	emu   *gcpemu.Emulator
	srv   *httptest.Server
	p     *gcpkey.Provider
	email string
	// first is the target's seeded key and its file.
	firstID   string
	firstFile string
	seen      []credential.Secret
	// mgmtFile is the management identity's key file.
	mgmtFile string
}

func newWorld(t *testing.T, opts gcpemu.Options) *world {
	t.Helper()
	opts.KeyBits = 1024
	emu := gcpemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.SetURL(srv.URL)
	_, mgmt, err := emu.SeedKey(manager, emu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "manager.json")
	if err := os.WriteFile(file, mgmt, 0o600); err != nil {
		t.Fatal(err)
	}
	w := &world{emu: emu, srv: srv, email: fmt.Sprintf("app%d@app.iam.gserviceaccount.com", seq.Add(1))}
	id, f, err := emu.SeedKey(w.email, emu.Now().Add(-30*24*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	w.firstID, w.firstFile, w.mgmtFile = id, string(f), file
	p, err := gcpkey.New(context.Background(), gcpkey.Options{
		Endpoint:        srv.URL,
		TokenURL:        srv.URL + "/token",
		CredentialsFile: file,
		MaxKeyAge:       90 * 24 * time.Hour,
		HTTPClient:      srv.Client(),
		Timeout:         5 * time.Second,
		SecretSeen:      func(s credential.Secret) { w.seen = append(w.seen, s) },
		Now:             emu.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	return w
}

func (w *world) client() provider.Client { return provider.Client{ClientID: w.email} }

func TestRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	r := w.p.Rules()
	if r.MaxValid != 10 || r.SetsExpiry || !r.ReportsExpiry || r.RetiresOnCreate || r.Replays || r.Revocation != provider.RevokeDeactivateThenDelete || r.Propagation != time.Minute {
		t.Fatalf("rules = %+v", r)
	}
	if w.p.Name() != "gcpkey" {
		t.Fatal(w.p.Name())
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	// A key with a real expiry, from the expiry organization policy.
	until := w.emu.Now().Add(48 * time.Hour)
	expiring, _, err := w.emu.SeedKey(w.email, w.emu.Now().Add(-time.Hour), until)
	if err != nil {
		t.Fatal(err)
	}
	info, err := w.p.Describe(ctx, w.client())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Secrets) != 2 || info.Policy.MaxSecrets != 10 {
		t.Fatalf("info = %+v", info)
	}
	first, _ := info.Find(w.firstID)
	if first.Status != provider.StatusRetiring {
		t.Errorf("older key status %s", first.Status)
	}
	// No expiry: creation plus the maximum age.
	if got, want := first.ExpiresAt, first.CreatedAt.Add(90*24*time.Hour); !got.Equal(want) {
		t.Errorf("no-expiry key ExpiresAt %s, want %s", got, want)
	}
	exp, _ := info.Find(expiring)
	if exp.Status != provider.StatusActive {
		t.Errorf("newest key status %s", exp.Status)
	}
	if got, want := exp.ExpiresAt, until.UTC().Truncate(time.Second); !got.Equal(want) {
		t.Errorf("expiring key ExpiresAt %s, want %s", got, want)
	}
	w.emu.Advance(49 * time.Hour)
	info, err = w.p.Describe(ctx, w.client())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := info.Find(expiring); s.Status != provider.StatusExpired {
		t.Errorf("expired key status %s", s.Status)
	}
	if s, _ := info.Find(w.firstID); s.Status != provider.StatusActive {
		t.Errorf("remaining key status %s", s.Status)
	}
	w.emu.Disable(w.email, w.firstID)
	info, err = w.p.Describe(ctx, w.client())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := info.Find(w.firstID); s.Status != provider.StatusInactive {
		t.Errorf("disabled key status %s", s.Status)
	}
}

func TestCreateVerifyRevoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	if err := w.p.Verify(ctx, w.client(), credential.NewSecret(w.firstFile)); err != nil {
		t.Fatalf("verify seeded key: %v", err)
	}
	c, err := w.p.Create(ctx, w.client(), provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(w.email, w.firstID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.seen) != 1 || !w.seen[0].Equal(c.ClientSecret) {
		t.Fatal("the new key file was not passed to SecretSeen")
	}
	if c.Secret.Status != provider.StatusActive || c.Secret.SecretID == "" || c.PreviousSecret != nil {
		t.Fatalf("created %+v", c.Secret)
	}
	if !w.emu.Accepts(w.email, c.ClientSecret.Reveal()) {
		t.Fatal("the emulator does not accept the new key file")
	}
	if err := w.p.Verify(ctx, w.client(), c.ClientSecret); err != nil {
		t.Fatalf("verify new key: %v", err)
	}
	info, _ := w.p.Describe(ctx, w.client())
	if a, _ := info.Active(); a.SecretID != c.Secret.SecretID {
		t.Fatalf("active %s, want the new %s", a.SecretID, c.Secret.SecretID)
	}
	if err := w.p.Revoke(ctx, w.client(), w.firstID); err != nil {
		t.Fatal(err)
	}
	if w.emu.Accepts(w.email, w.firstFile) {
		t.Fatal("the revoked key still works")
	}
	err = w.p.Verify(ctx, w.client(), credential.NewSecret(w.firstFile))
	if !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("verify revoked key: %v", err)
	}
	// Revoking again, or an unknown key, succeeds.
	if err := w.p.Revoke(ctx, w.client(), w.firstID); err != nil {
		t.Fatal(err)
	}
	if err := w.p.Revoke(ctx, w.client(), "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	// Never the last working key.
	err = w.p.Revoke(ctx, w.client(), c.Secret.SecretID)
	if !errors.Is(err, provider.ErrLastSecret) {
		t.Fatalf("revoke last: %v", err)
	}
	if w.emu.Revoked() != 1 {
		t.Fatalf("revoked %d", w.emu.Revoked())
	}
}

func TestRevokeResumesAtDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	c, err := w.p.Create(ctx, w.client(), provider.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// A revoke killed after the disable: the delete failed.
	w.emu.Fail("delete", 503, "", nil)
	err = w.p.Revoke(ctx, w.client(), w.firstID)
	if !errors.Is(err, provider.ErrTransient) {
		t.Fatalf("first revoke: %v", err)
	}
	info, _ := w.p.Describe(ctx, w.client())
	if s, _ := info.Find(w.firstID); s.Status != provider.StatusInactive {
		t.Fatalf("after a half revoke: %s", s.Status)
	}
	// The disable would fail now: the resumed revoke must not call it.
	w.emu.Fail("disable", 500, "", nil)
	if err := w.p.Revoke(ctx, w.client(), w.firstID); err != nil {
		t.Fatalf("resumed revoke: %v", err)
	}
	keys := w.emu.Keys(w.email)
	if !keys[0].Deleted || keys[1].Deleted || keys[1].ID != c.Secret.SecretID {
		t.Fatalf("keys %+v", keys)
	}
	// A disabled key is revoked even when it is the only other one.
	w.emu.Disable(w.email, c.Secret.SecretID)
	if err := w.p.Revoke(ctx, w.client(), c.Secret.SecretID); err != nil {
		t.Fatalf("revoke a disabled last key: %v", err)
	}
}

func TestTenKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	for i := 0; i < 8; i++ {
		if _, _, err := w.emu.SeedKey(w.email, w.emu.Now().Add(-time.Minute), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// A disabled key counts too.
	ids := w.emu.Keys(w.email)
	w.emu.Disable(w.email, ids[1].ID)
	if _, err := w.p.Create(ctx, w.client(), provider.CreateRequest{}); err != nil {
		t.Fatalf("tenth key: %v", err)
	}
	_, err := w.p.Create(ctx, w.client(), provider.CreateRequest{})
	if !errors.Is(err, provider.ErrTooManySecrets) {
		t.Fatalf("eleventh key: %v", err)
	}
	// Google's own refusal, when the count raced.
	w.emu.Fail("create", 400, `{"error":{"code":400,"message":"Precondition check failed.","status":"FAILED_PRECONDITION"}}`, nil)
	w.emu.Fail("list", 200, `{}`, nil)
	_, err = w.p.Create(ctx, w.client(), provider.CreateRequest{})
	if !errors.Is(err, provider.ErrTooManySecrets) || !strings.Contains(err.Error(), "10 keys") {
		t.Fatalf("refused create: %v", err)
	}
}

func TestKeyCreationForbidden(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	w.emu.Forbid(w.email)
	_, err := w.p.Create(context.Background(), w.client(), provider.CreateRequest{})
	if !errors.Is(err, provider.ErrForbidden) || !strings.Contains(err.Error(), "iam.disableServiceAccountKeyCreation") {
		t.Fatalf("create: %v", err)
	}
}

func TestPropagation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{Propagation: time.Minute})
	ctx := context.Background()
	c, err := w.p.Create(ctx, w.client(), provider.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.p.Verify(ctx, w.client(), c.ClientSecret); !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("verify before propagation: %v", err)
	}
	w.emu.Advance(61 * time.Second)
	if err := w.p.Verify(ctx, w.client(), c.ClientSecret); err != nil {
		t.Fatalf("verify after propagation: %v", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		op     string
		status int
		body   string
		header http.Header
		kind   error
		check  func(*testing.T, *provider.Error)
	}{
		{name: "403", op: "list", status: 403, kind: provider.ErrForbidden},
		{name: "404", op: "list", status: 404, kind: provider.ErrNotFound},
		{name: "429", op: "list", status: 429, header: http.Header{"Retry-After": {"7"}}, kind: provider.ErrRateLimited, check: func(t *testing.T, e *provider.Error) {
			if e.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter %s", e.RetryAfter)
			}
		}},
		{name: "500", op: "list", status: 500, kind: provider.ErrTransient},
		{name: "503", op: "create", status: 503, kind: provider.ErrTransient},
		{name: "401", op: "list", status: 401, kind: provider.ErrUnauthorized},
		{name: "not JSON", op: "list", status: 200, body: `{"keys":[`, kind: provider.ErrMalformedResponse},
		{name: "wrong type", op: "list", status: 200, body: `{"keys":"x"}`, kind: provider.ErrMalformedResponse},
		{name: "html error", op: "list", status: 502, body: `<html>bad gateway</html>`, kind: provider.ErrTransient},
		{name: "bad base64", op: "create", status: 200, body: `{"name":"projects/p/serviceAccounts/x/keys/abc","privateKeyData":"!!!"}`, kind: provider.ErrMalformedResponse},
		{name: "not a key file", op: "create", status: 200, body: `{"name":"projects/p/serviceAccounts/x/keys/abc","privateKeyData":"` + base64.StdEncoding.EncodeToString([]byte(`{"private_key":"-----BEGIN sekret"}`)) + `"}`, kind: provider.ErrMalformedResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, gcpemu.Options{})
			w.emu.Fail(tc.op, tc.status, tc.body, tc.header)
			var err error
			if tc.op == "create" {
				_, err = w.p.Create(context.Background(), w.client(), provider.CreateRequest{})
			} else {
				_, err = w.p.Describe(context.Background(), w.client())
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "sekret") || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("the error quotes the answer: %v", err)
			}
			if tc.check != nil {
				tc.check(t, pe)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p, err := gcpkey.New(context.Background(), gcpkey.Options{Endpoint: srv.URL, TokenSource: staticToken{}, HTTPClient: srv.Client(), Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Describe(context.Background(), provider.Client{ClientID: target})
	if !errors.Is(err, provider.ErrTransient) || !provider.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		h    http.HandlerFunc
		kind error
	}{
		"huge body": {func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[{"name":"` + strings.Repeat("a", 2<<20) + `"}]}`))
		}, provider.ErrMalformedResponse},
		"huge error": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(strings.Repeat("a", 2<<20)))
		}, provider.ErrTransient},
		"redirect": {func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://evil.example/steal", http.StatusFound)
		}, provider.ErrBadRequest},
		"dropped": {func(w http.ResponseWriter, r *http.Request) {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			_ = c.Close()
		}, provider.ErrTransient},
	}
	for name, tc := range cases {
		h := tc.h
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			p, err := gcpkey.New(context.Background(), gcpkey.Options{Endpoint: srv.URL, TokenSource: staticToken{}, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Describe(context.Background(), provider.Client{ClientID: target})
			var pe *provider.Error
			if !errors.As(err, &pe) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "ya29.static") {
				t.Fatalf("the error quotes the token: %v", err)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	for name, val := range map[string]string{
		"not JSON":        "not json sekret",
		"no private key":  `{"type":"service_account","client_email":"` + w.email + `","private_key_id":"x","private_key":"sekret"}`,
		"another account": strings.Replace(w.firstFile, w.email, "other@app.iam.gserviceaccount.com", 1),
	} {
		err := w.p.Verify(ctx, w.client(), credential.NewSecret(val))
		if !errors.Is(err, provider.ErrUnauthorized) || strings.Contains(err.Error(), "sekret") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A token endpoint that is down is transient, not a bad key.
	w.emu.Fail("token", 503, `{"error":"temporarily_unavailable"}`, nil)
	if err := w.p.Verify(ctx, w.client(), credential.NewSecret(w.firstFile)); !errors.Is(err, provider.ErrTransient) {
		t.Errorf("503: %v", err)
	}
	w.emu.Fail("token", 400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, nil)
	err := w.p.Verify(ctx, w.client(), credential.NewSecret(w.firstFile))
	if !errors.Is(err, provider.ErrUnauthorized) || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("invalid_grant: %v", err)
	}
}

func TestManagementTokenRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	w.emu.Fail("token", 400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature.","leak":"sekret"}`, nil)
	_, err := w.p.Describe(context.Background(), w.client())
	if !errors.Is(err, provider.ErrUnauthorized) || strings.Contains(err.Error(), "sekret") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRefusesBadCredentials(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "creds.json")
	if err := os.WriteFile(file, []byte(`{"type":"nonsense","private_key":"sekret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := gcpkey.New(context.Background(), gcpkey.Options{CredentialsFile: file})
	if err == nil || strings.Contains(err.Error(), "sekret") || !strings.Contains(err.Error(), "gcp.credentialsFile") {
		t.Fatalf("err = %v", err)
	}
}

type staticToken struct{}

func (staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "ya29.static", TokenType: "Bearer"}, nil
}
