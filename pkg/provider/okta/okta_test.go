package okta_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/okta"
)

const apiToken = "00apitoken-abcdefghijklmnopqrstuvwxyz"

// org is an emulator served over HTTP and a client for it.
type org struct {
	emu    *oktaemu.Emulator
	url    string
	client *okta.Client
	seen   atomic.Int32
}

func newOrg(t *testing.T, eopts oktaemu.Options, mod func(*okta.Options)) *org {
	t.Helper()
	if eopts.APIToken == "" {
		eopts.APIToken = apiToken
	}
	o := &org{emu: oktaemu.New(eopts)}
	ts := httptest.NewServer(o.emu)
	t.Cleanup(ts.Close)
	o.url = ts.URL
	opts := okta.Options{OrgURL: ts.URL, APIToken: credential.NewSecret(apiToken), MaxAge: 90 * 24 * time.Hour, Now: o.emu.Now,
		SecretSeen: func(credential.Secret) { o.seen.Add(1) }}
	if mod != nil {
		mod(&opts)
	}
	c, err := okta.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	o.client = c
	return o
}

func (o *org) seed(t *testing.T, appID string) (provider.Client, oktaemu.Secret) {
	t.Helper()
	value := "seeded-secret-" + appID + "-0123456789"
	s, err := o.emu.SeedApp(appID, value, o.emu.Now().Add(-80*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return provider.Client{ClientID: appID, ClientSecret: credential.NewSecret(value)}, s
}

func kind(t *testing.T, err error, want error) *provider.Error {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err %T is not a *provider.Error", err)
	}
	return pe
}

func TestRules(t *testing.T) {
	t.Parallel()
	o := newOrg(t, oktaemu.Options{}, nil)
	r := o.client.Rules()
	want := provider.Rules{MaxValid: 2, Revocation: provider.RevokeDeactivateThenDelete, Propagation: okta.Propagation}
	if r != want {
		t.Fatalf("rules = %+v, want %+v", r, want)
	}
	if o.client.Name() != "okta" {
		t.Fatal(o.client.Name())
	}
}

func TestDescribeMapsStatuses(t *testing.T) {
	t.Parallel()
	o := newOrg(t, oktaemu.Options{}, nil)
	cl, first := o.seed(t, "0oaapp1")
	o.emu.Advance(time.Hour)
	second, err := o.emu.AddSecret("0oaapp1", "", "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	info, err := o.client.Describe(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if info.Policy.MaxSecrets != 2 || len(info.Secrets) != 2 {
		t.Fatalf("info = %+v", info)
	}
	if a, _ := info.Active(); a.SecretID != second.ID {
		t.Errorf("ACTIVE = %s, want the newest %s", a.SecretID, second.ID)
	}
	old, _ := info.Find(first.ID)
	if old.Status != provider.StatusRetiring {
		t.Errorf("older ACTIVE is %s, want RETIRING", old.Status)
	}
	if !old.ExpiresAt.Equal(first.Created.Add(90 * 24 * time.Hour)) {
		t.Errorf("expiry %s, want created + maxAge", old.ExpiresAt)
	}
	if err := o.emu.Deactivate("0oaapp1", first.ID); err != nil {
		t.Fatal(err)
	}
	info, _ = o.client.Describe(context.Background(), cl)
	if s, _ := info.Find(first.ID); s.Status != provider.StatusInactive || info.ValidCount() != 1 {
		t.Errorf("deactivated secret is %s, %d valid", s.Status, info.ValidCount())
	}
	if _, err := o.client.Describe(context.Background(), provider.Client{ClientID: "0oanope"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown app: %v", err)
	}
	if o.seen.Load() == 0 {
		t.Error("SecretSeen was never told of the secrets listed")
	}
}

func TestCreateVerifyRevokeCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := newOrg(t, oktaemu.Options{}, nil)
	cl, first := o.seed(t, "0oacycle")
	o.emu.Advance(time.Minute)
	created, err := o.client.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(cl.ClientID, first.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if created.Secret.Status != provider.StatusActive || created.ClientSecret.IsZero() || created.PreviousSecret != nil {
		t.Fatalf("created = %+v", created)
	}
	if err := o.client.Verify(ctx, cl, created.ClientSecret); err != nil {
		t.Fatalf("the new secret does not verify: %v", err)
	}
	if err := o.client.Verify(ctx, cl, cl.ClientSecret); err != nil {
		t.Fatalf("the old secret no longer verifies: %v", err)
	}
	info, _ := o.client.Describe(ctx, cl)
	if old, _ := info.Find(first.ID); old.Status != provider.StatusRetiring {
		t.Errorf("old secret %s after create, want RETIRING", old.Status)
	}
	if err := o.client.Revoke(ctx, cl, first.ID); err != nil {
		t.Fatal(err)
	}
	if o.emu.Revoked() != 1 || len(o.emu.Secrets(cl.ClientID)) != 1 {
		t.Fatalf("revoked %d, %d left", o.emu.Revoked(), len(o.emu.Secrets(cl.ClientID)))
	}
	kind(t, o.client.Verify(ctx, cl, cl.ClientSecret), provider.ErrUnauthorized)
	// Revoking it again, or an unknown secret, succeeds.
	if err := o.client.Revoke(ctx, cl, first.ID); err != nil {
		t.Fatal(err)
	}
	// The last ACTIVE secret is never deactivated.
	calls := o.emu.Calls()["deactivate"]
	kind(t, o.client.Revoke(ctx, cl, created.Secret.SecretID), provider.ErrLastSecret)
	if o.emu.Calls()["deactivate"] != calls || o.emu.ActiveSecrets(cl.ClientID) != 1 {
		t.Fatal("the last secret was deactivated")
	}
}

func TestNeverAThirdSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := newOrg(t, oktaemu.Options{}, nil)
	cl, _ := o.seed(t, "0oathird")
	if _, err := o.client.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	posts := o.emu.Calls()["create"]
	// A repeated create (its answer lost, say) meets the limit; Okta
	// cannot replay it.
	pe := kind(t, func() error {
		_, err := o.client.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"})
		return err
	}(), provider.ErrTooManySecrets)
	if pe.Op != okta.OpCreate {
		t.Errorf("op %s", pe.Op)
	}
	if n := len(o.emu.Secrets(cl.ClientID)); n != 2 || o.emu.Calls()["create"] != posts {
		t.Fatalf("%d secrets, %d creates sent", n, o.emu.Calls()["create"]-posts)
	}
}

func TestCreateAfterAnInterruptedRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		mask    bool
		deploy  string // which secret is deployed: "active" or "inactive"
		deleted bool
	}{
		{"inactive not deployed, values shown", false, "active", true},
		{"inactive is the deployed one", false, "inactive", false},
		{"values masked, deployed one proves itself", true, "active", true},
		{"values masked, deployed one is the inactive", true, "inactive", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrg(t, oktaemu.Options{MaskSecrets: tc.mask}, func(opts *okta.Options) { opts.TokenURL = "" })
			cl, first := o.seed(t, "0oahalf")
			newValue := "second-secret-value-0123456789"
			o.emu.Advance(time.Hour)
			second, _ := o.emu.AddSecret(cl.ClientID, newValue, "ACTIVE")
			_ = second
			// A revoke of the old secret stopped after the deactivate.
			if err := o.emu.Deactivate(cl.ClientID, first.ID); err != nil {
				t.Fatal(err)
			}
			if tc.deploy == "active" {
				cl.ClientSecret = credential.NewSecret(newValue)
			}
			_, err := o.client.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k2"})
			if tc.deleted {
				if err != nil {
					t.Fatal(err)
				}
				if o.emu.Revoked() != 1 || o.emu.ActiveSecrets(cl.ClientID) != 2 {
					t.Fatalf("revoked %d, %d active", o.emu.Revoked(), o.emu.ActiveSecrets(cl.ClientID))
				}
				return
			}
			kind(t, err, provider.ErrTooManySecrets)
			if o.emu.Revoked() != 0 || len(o.emu.Secrets(cl.ClientID)) != 2 {
				t.Fatal("the possibly deployed INACTIVE secret was deleted")
			}
		})
	}
}

func TestRevokeResumesAtDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := newOrg(t, oktaemu.Options{}, nil)
	cl, first := o.seed(t, "0oaresume")
	if _, err := o.emu.AddSecret(cl.ClientID, "", "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	_ = o.emu.Deactivate(cl.ClientID, first.ID)
	if err := o.client.Revoke(ctx, cl, first.ID); err != nil {
		t.Fatal(err)
	}
	if o.emu.Calls()["deactivate"] != 0 || o.emu.Calls()["delete"] != 1 || o.emu.Revoked() != 1 {
		t.Fatalf("calls %v", o.emu.Calls())
	}
}

func TestVerifyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := newOrg(t, oktaemu.Options{}, func(opts *okta.Options) { opts.Scope = "credrotate.proof" })
	cl, _ := o.seed(t, "0oaverify")
	pe := kind(t, o.client.Verify(ctx, cl, credential.NewSecret("wrong-secret-value-0123")), provider.ErrUnauthorized)
	if pe.Code != "invalid_client" || strings.Contains(pe.Error(), "wrong-secret") {
		t.Errorf("error %v", pe)
	}
	kind(t, o.client.Verify(ctx, cl, credential.Secret{}), provider.ErrUnauthorized)
	o.emu.FailNext("verify", 503, 1)
	kind(t, o.client.Verify(ctx, cl, cl.ClientSecret), provider.ErrTransient)
	if err := o.client.Verify(ctx, cl, cl.ClientSecret); err != nil {
		t.Fatal(err)
	}
}

func TestManagementErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("wrong API token", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, func(opts *okta.Options) { opts.APIToken = credential.NewSecret("00wrong-token-value") })
		cl, _ := o.seed(t, "0oaerr")
		pe := kind(t, func() error { _, err := o.client.Describe(ctx, cl); return err }(), provider.ErrUnauthorized)
		if pe.Code != "E0000011" || pe.HTTPStatus != 401 || strings.Contains(pe.Error(), "00wrong") {
			t.Errorf("error %v", pe)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, nil)
		cl, _ := o.seed(t, "0oarl")
		o.emu.FailNext("list", 429, 1)
		pe := kind(t, func() error { _, err := o.client.Describe(ctx, cl); return err }(), provider.ErrRateLimited)
		if pe.RetryAfter != 30*time.Second || pe.Code != "E0000047" || !provider.Retryable(pe) {
			t.Errorf("error %v, retry after %s", pe, pe.RetryAfter)
		}
	})
	t.Run("the org's own rate limit", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{RateLimit: 2}, nil)
		cl, _ := o.seed(t, "0oarl2")
		for i := 0; i < 2; i++ {
			if _, err := o.client.Describe(ctx, cl); err != nil {
				t.Fatal(err)
			}
		}
		kind(t, func() error { _, err := o.client.Describe(ctx, cl); return err }(), provider.ErrRateLimited)
		o.emu.Advance(time.Minute)
		if _, err := o.client.Describe(ctx, cl); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("5xx on create", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, nil)
		cl, _ := o.seed(t, "0oa5xx")
		o.emu.FailNext("create", 500, 1)
		kind(t, func() error { _, err := o.client.Create(ctx, cl, provider.CreateRequest{}); return err }(), provider.ErrTransient)
	})
	t.Run("delete of an active secret refused by Okta", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, nil)
		cl, first := o.seed(t, "0oadel")
		_, _ = o.emu.AddSecret(cl.ClientID, "", "ACTIVE")
		o.emu.FailNext("deactivate", 400, 1)
		kind(t, o.client.Revoke(ctx, cl, first.ID), provider.ErrBadRequest)
		if o.emu.Calls()["delete"] != 0 {
			t.Fatal("deleted after a failed deactivate")
		}
	})
}

// hostile serves h as an Okta org and returns a client for it.
func hostile(t *testing.T, h http.HandlerFunc, mod func(*okta.Options)) *okta.Client {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	// A transport of its own: closing another test's server closes the
	// idle connections of the default transport, which can break a
	// request of this one that is about to reuse one.
	opts := okta.Options{OrgURL: ts.URL, APIToken: credential.NewSecret(apiToken), Timeout: 2 * time.Second, HTTPClient: ts.Client()}
	if mod != nil {
		mod(&opts)
	}
	c, err := okta.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := provider.Client{ClientID: "0oahostile", ClientSecret: credential.NewSecret("deployed-secret-0123456789")}
	cases := []struct {
		name string
		h    http.HandlerFunc
		want error
		mod  func(*okta.Options)
	}{
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`[{"id":`)) }, provider.ErrMalformedResponse, nil},
		{"unknown status", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`[{"id":"x","status":"WEIRD"}]`)) }, provider.ErrMalformedResponse, nil},
		{"not an array", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"id":"x"}`)) }, provider.ErrMalformedResponse, nil},
		{"oversized success", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("[" + strings.Repeat(" ", 2<<20) + "]"))
		}, provider.ErrMalformedResponse, nil},
		{"oversized error page", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = w.Write([]byte(strings.Repeat("x", 2<<20)))
		}, provider.ErrTransient, nil},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, provider.ErrTransient, func(o *okta.Options) { o.Timeout = 100 * time.Millisecond }},
		{"dropped connection", func(w http.ResponseWriter, r *http.Request) {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
		}, provider.ErrTransient, nil},
		{"error quoting the API token", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			_, _ = fmt.Fprintf(w, `{"errorCode":"E0000006","errorSummary":"denied for %s","errorCauses":[{"errorSummary":"%s"}]}`, r.Header.Get("Authorization"), r.Header.Get("Authorization"))
		}, provider.ErrForbidden, nil},
		{"error quoting the API token where it is cut short", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = fmt.Fprintf(w, `{"errorCode":"E0000001","errorSummary":"%s%s"}`, strings.Repeat("x", 285), r.Header.Get("Authorization"))
		}, provider.ErrBadRequest, nil},
		{"429 with X-Rate-Limit-Reset", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10))
			w.WriteHeader(429)
		}, provider.ErrRateLimited, nil},
		{"404 E0000007", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"errorCode":"E0000007","errorSummary":"Not found"}`))
		}, provider.ErrNotFound, nil},
		{"control characters", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = w.Write([]byte("{\"errorCode\":\"E0000001\u0007\",\"errorSummary\":\"a\\u001b[31mb\"}"))
		}, provider.ErrBadRequest, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := hostile(t, tc.h, tc.mod)
			_, err := c.Describe(ctx, cl)
			pe := kind(t, err, tc.want)
			msg := pe.Error()
			for _, s := range []string{apiToken, apiToken[:8], cl.ClientSecret.Reveal(), "\x1b", "\x07"} {
				if strings.Contains(msg, s) {
					t.Errorf("error %q holds %q", msg, s)
				}
			}
			if tc.want == provider.ErrRateLimited && (pe.RetryAfter < 80*time.Second || pe.RetryAfter > 100*time.Second) {
				t.Errorf("retry after %s", pe.RetryAfter)
			}
		})
	}
}

func TestRedirectsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{301, 302, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, status)
			}, func(o *okta.Options) { o.TokenURL = "" })
			cl := provider.Client{ClientID: "0oaredir", ClientSecret: credential.NewSecret("deployed-secret-0123456789")}
			_, err := c.Describe(ctx, cl)
			if !errors.Is(err, redirect.ErrRefused) || !errors.Is(err, provider.ErrMalformedResponse) {
				t.Fatalf("describe: %v", err)
			}
			if err := c.Verify(ctx, cl, cl.ClientSecret); !errors.Is(err, redirect.ErrRefused) {
				t.Fatalf("verify: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		if n := leaked.Load(); n != 0 {
			t.Errorf("%d requests reached the other origin", n)
		}
	})
}

func TestServiceApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name   string
		key    crypto.Signer
		scopes []string
		want   error
	}{
		{"rsa", rsaKey, []string{"okta.apps.read", "okta.apps.manage"}, nil},
		{"ecdsa", ecKey, []string{"okta.apps.read", "okta.apps.manage"}, nil},
		{"scope not granted", rsaKey, []string{"okta.apps.read"}, provider.ErrForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer := tc.key
			app := &okta.ServiceApp{ClientID: "0oaservice", Key: signer, KeyID: "kid1"}
			o := newOrg(t, oktaemu.Options{}, func(opts *okta.Options) { opts.APIToken, opts.ServiceApp = credential.Secret{}, app })
			o.emu.RegisterServiceApp("0oaservice", signer.Public(), tc.scopes...)
			cl, first := o.seed(t, "0oamanaged")
			_, err := o.client.Describe(ctx, cl)
			if tc.want != nil {
				kind(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			created, err := o.client.Create(ctx, cl, provider.CreateRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.client.Revoke(ctx, cl, first.ID); err != nil {
				t.Fatal(err)
			}
			if n := o.emu.Calls()["token"]; n != 1 {
				t.Errorf("%d management tokens fetched, want 1 (cached)", n)
			}
			// A token Okta rejects (E0000011) is dropped and fetched once more.
			o.emu.RevokeTokens()
			if _, err := o.client.Describe(ctx, cl); err != nil {
				t.Fatalf("after the token was revoked: %v", err)
			}
			if n := o.emu.Calls()["token"]; n != 2 {
				t.Errorf("%d management tokens fetched, want 2", n)
			}
			// A token past its life is replaced.
			o.emu.Advance(2 * time.Hour)
			if _, err := o.client.Describe(ctx, cl); err != nil {
				t.Fatal(err)
			}
			if n := o.emu.Calls()["token"]; n != 3 {
				t.Errorf("%d management tokens fetched, want 3", n)
			}
			_ = created
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]okta.Options{
		"no org":       {APIToken: credential.NewSecret("x")},
		"no identity":  {OrgURL: "https://acme.okta.com"},
		"both":         {OrgURL: "https://acme.okta.com", APIToken: credential.NewSecret("x"), ServiceApp: &okta.ServiceApp{ClientID: "a"}},
		"query in URL": {OrgURL: "https://acme.okta.com/?token=x", APIToken: credential.NewSecret("x")},
		"bad token":    {OrgURL: "https://acme.okta.com", TokenURL: "ftp://x", APIToken: credential.NewSecret("x")},
	} {
		if _, err := okta.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
