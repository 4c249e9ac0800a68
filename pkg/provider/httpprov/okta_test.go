package httpprov_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
	"github.com/credrotate/credrotate/pkg/provider/okta"
)

// The Okta contract, twice: examples/providers/okta.yaml through the http
// provider (every request and answer validated against okta.openapi.yaml)
// and the hand-written pkg/provider/okta, each against its own Okta
// emulator, driven through the same scenarios and held to the same
// answers.

const oktaAPIToken = "00okta-api-token-abcdefghijklmnopqrstuvwxyz"

// oktaDescription is examples/providers/okta.yaml, read once.
var oktaDescription = sync.OnceValues(func() (*httpprov.Description, error) {
	return httpprov.Load(filepath.Join("..", "..", "..", "examples", "providers", "okta.yaml"))
})

// oktaOrg is an emulated org and one implementation of the contract.
type oktaOrg struct {
	emu  *oktaemu.Emulator
	prov provider.Provider
	url  string
}

// oktaImpl builds one implementation for an org served at url.
type oktaImpl struct {
	name  string
	build func(t *testing.T, url string, emu *oktaemu.Emulator, apiToken string) provider.Provider
}

var oktaImpls = []oktaImpl{
	{"okta.yaml", func(t *testing.T, url string, _ *oktaemu.Emulator, apiToken string) provider.Provider {
		d, err := oktaDescription()
		if err != nil {
			t.Fatal(err)
		}
		none := 0
		p, err := httpprov.New(d, httpprov.Options{
			Settings:        map[string]string{"orgURL": url, "scope": "credrotate.proof"},
			Secrets:         map[string]credential.Secret{"apiToken": credential.NewSecret(apiToken)},
			ValidateOpenAPI: true,
			Retry:           &httpprov.RetrySpec{MaxRetries: &none},
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.OpenAPI() == nil {
			t.Fatal("okta.yaml has no OpenAPI document")
		}
		return p
	}},
	{"pkg/provider/okta", func(t *testing.T, url string, emu *oktaemu.Emulator, apiToken string) provider.Provider {
		c, err := okta.New(okta.Options{OrgURL: url, APIToken: credential.NewSecret(apiToken), MaxAge: 90 * 24 * time.Hour, Scope: "credrotate.proof", Now: emu.Now})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}},
}

func newOktaOrg(t *testing.T, impl oktaImpl, apiToken string, tune ...func(*oktaemu.Options)) *oktaOrg {
	t.Helper()
	eo := oktaemu.Options{APIToken: oktaAPIToken}
	for _, f := range tune {
		f(&eo)
	}
	emu := oktaemu.New(eo)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	if apiToken == "" {
		apiToken = oktaAPIToken
	}
	return &oktaOrg{emu: emu, prov: impl.build(t, srv.URL, emu, apiToken), url: srv.URL}
}

func (o *oktaOrg) seed(t *testing.T, appID string) (provider.Client, oktaemu.Secret) {
	t.Helper()
	value := "seeded-secret-" + appID + "-0123456789"
	s, err := o.emu.SeedApp(appID, value, o.emu.Now().Add(-80*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return provider.Client{ClientID: appID, ClientSecret: credential.NewSecret(value)}, s
}

func wantKind(t *testing.T, err error, kind error) *provider.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err %T is not a *provider.Error", err)
	}
	return pe
}

// forEachOkta runs scenario against both implementations.
func forEachOkta(t *testing.T, scenario func(t *testing.T, impl oktaImpl)) {
	t.Helper()
	for _, impl := range oktaImpls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			scenario(t, impl)
		})
	}
}

func TestOktaRules(t *testing.T) {
	t.Parallel()
	var rules []provider.Rules
	for _, impl := range oktaImpls {
		rules = append(rules, newOktaOrg(t, impl, "").prov.Rules())
	}
	want := provider.Rules{MaxValid: 2, Revocation: provider.RevokeDeactivateThenDelete, Propagation: okta.Propagation}
	for i, r := range rules {
		if r != want {
			t.Errorf("%s: rules %+v, want %+v", oktaImpls[i].name, r, want)
		}
	}
}

// TestOktaDescribeAgrees: both read the same org the same way: the newest
// ACTIVE secret is ACTIVE, an older ACTIVE one RETIRING, a deactivated one
// INACTIVE, and each expires 90 days after it was created.
func TestOktaDescribeAgrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emu := oktaemu.New(oktaemu.Options{APIToken: oktaAPIToken})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	first, err := emu.SeedApp("0oaagree", "seeded-secret-agree-0123456789", emu.Now().Add(-80*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	emu.Advance(time.Hour)
	second, err := emu.AddSecret("0oaagree", "", "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	cl := provider.Client{ClientID: "0oaagree"}
	read := func() []provider.ClientInfo {
		var out []provider.ClientInfo
		for _, impl := range oktaImpls {
			info, err := impl.build(t, srv.URL, emu, oktaAPIToken).Describe(ctx, cl)
			if err != nil {
				t.Fatalf("%s: %v", impl.name, err)
			}
			out = append(out, info)
		}
		return out
	}
	infos := read()
	if !reflect.DeepEqual(infos[0], infos[1]) {
		t.Fatalf("the implementations disagree:\n%s: %+v\n%s: %+v", oktaImpls[0].name, infos[0], oktaImpls[1].name, infos[1])
	}
	info := infos[0]
	if a, _ := info.Active(); a.SecretID != second.ID {
		t.Errorf("ACTIVE = %s, want the newest %s", a.SecretID, second.ID)
	}
	old, _ := info.Find(first.ID)
	if old.Status != provider.StatusRetiring || !old.ExpiresAt.Equal(first.Created.Add(90*24*time.Hour)) {
		t.Errorf("older secret %+v, want RETIRING, expiring created + 90 days", old)
	}
	if info.Policy.MaxSecrets != 2 || info.Policy.SecretLifetimeSeconds != int64(90*24*time.Hour/time.Second) {
		t.Errorf("policy %+v", info.Policy)
	}
	if err := emu.Deactivate("0oaagree", first.ID); err != nil {
		t.Fatal(err)
	}
	infos = read()
	if !reflect.DeepEqual(infos[0], infos[1]) {
		t.Fatalf("after a deactivate the implementations disagree:\n%+v\n%+v", infos[0], infos[1])
	}
	if s, _ := infos[0].Find(first.ID); s.Status != provider.StatusInactive || infos[0].ValidCount() != 1 {
		t.Errorf("deactivated secret is %s, %d valid", s.Status, infos[0].ValidCount())
	}
}

func TestOktaUnknownApp(t *testing.T) {
	t.Parallel()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		o := newOktaOrg(t, impl, "")
		_, err := o.prov.Describe(context.Background(), provider.Client{ClientID: "0oanope"})
		wantKind(t, err, provider.ErrNotFound)
	})
}

// TestOktaCycle: create, prove both, revoke the old one (deactivate, then
// delete), and never the last ACTIVE one.
func TestOktaCycle(t *testing.T) {
	t.Parallel()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		ctx := context.Background()
		o := newOktaOrg(t, impl, "")
		cl, first := o.seed(t, "0oacycle")
		o.emu.Advance(time.Minute)
		created, err := o.prov.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(cl.ClientID, first.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if created.Secret.Status != provider.StatusActive || created.ClientSecret.IsZero() || created.PreviousSecret != nil ||
			!created.Secret.ExpiresAt.Equal(created.Secret.CreatedAt.Add(90*24*time.Hour)) {
			t.Fatalf("created = %+v", created)
		}
		if !o.emu.Accepts(cl.ClientID, created.ClientSecret.Reveal()) {
			t.Fatal("the emulator does not accept the value the create returned")
		}
		if err := o.prov.Verify(ctx, cl, created.ClientSecret); err != nil {
			t.Fatalf("the new secret does not verify: %v", err)
		}
		if err := o.prov.Verify(ctx, cl, cl.ClientSecret); err != nil {
			t.Fatalf("the old secret no longer verifies: %v", err)
		}
		info, err := o.prov.Describe(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if old, _ := info.Find(first.ID); old.Status != provider.StatusRetiring {
			t.Errorf("old secret %s after create, want RETIRING", old.Status)
		}
		if a, _ := info.Active(); a.SecretID != created.Secret.SecretID {
			t.Errorf("ACTIVE is %s, want the new %s", a.SecretID, created.Secret.SecretID)
		}
		if err := o.prov.Revoke(ctx, cl, first.ID); err != nil {
			t.Fatal(err)
		}
		if o.emu.Revoked() != 1 || len(o.emu.Secrets(cl.ClientID)) != 1 {
			t.Fatalf("revoked %d, %d left", o.emu.Revoked(), len(o.emu.Secrets(cl.ClientID)))
		}
		wantKind(t, o.prov.Verify(ctx, cl, cl.ClientSecret), provider.ErrUnauthorized)
		// Revoking it again, or an unknown secret, succeeds.
		if err := o.prov.Revoke(ctx, cl, first.ID); err != nil {
			t.Fatal(err)
		}
		if err := o.prov.Revoke(ctx, cl, "ocsnosuchsecret000"); err != nil {
			t.Fatal(err)
		}
		// The last ACTIVE secret is never deactivated.
		wantKind(t, o.prov.Revoke(ctx, cl, created.Secret.SecretID), provider.ErrLastSecret)
		if o.emu.ActiveSecrets(cl.ClientID) != 1 || o.emu.Revoked() != 1 {
			t.Fatal("the last secret was deactivated or deleted")
		}
	})
}

// TestOktaNeverAThirdSecret: a repeated create (its answer lost, say) meets
// Okta's limit of two; Okta cannot replay it.
func TestOktaNeverAThirdSecret(t *testing.T) {
	t.Parallel()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		ctx := context.Background()
		o := newOktaOrg(t, impl, "")
		cl, _ := o.seed(t, "0oathird")
		if _, err := o.prov.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"}); err != nil {
			t.Fatal(err)
		}
		_, err := o.prov.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"})
		if pe := wantKind(t, err, provider.ErrTooManySecrets); pe.Op != "create" {
			t.Errorf("op %s", pe.Op)
		}
		if n := len(o.emu.Secrets(cl.ClientID)); n != 2 {
			t.Fatalf("%d secrets", n)
		}
	})
}

// TestOktaRevokeResumesAtDelete: a revoke interrupted after the deactivate
// finishes with the delete.
func TestOktaRevokeResumesAtDelete(t *testing.T) {
	t.Parallel()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		o := newOktaOrg(t, impl, "")
		cl, first := o.seed(t, "0oaresume")
		if _, err := o.emu.AddSecret(cl.ClientID, "", "ACTIVE"); err != nil {
			t.Fatal(err)
		}
		if err := o.emu.Deactivate(cl.ClientID, first.ID); err != nil {
			t.Fatal(err)
		}
		if err := o.prov.Revoke(context.Background(), cl, first.ID); err != nil {
			t.Fatal(err)
		}
		if o.emu.Calls()["delete"] != 1 || o.emu.Revoked() != 1 || o.emu.ActiveSecrets(cl.ClientID) != 1 {
			t.Fatalf("calls %v, revoked %d", o.emu.Calls(), o.emu.Revoked())
		}
	})
}

func TestOktaErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		t.Run("a wrong secret does not verify", func(t *testing.T) {
			t.Parallel()
			o := newOktaOrg(t, impl, "")
			cl, _ := o.seed(t, "0oaverify")
			pe := wantKind(t, o.prov.Verify(ctx, cl, credential.NewSecret("wrong-secret-value-0123")), provider.ErrUnauthorized)
			if pe.Code != "invalid_client" || strings.Contains(pe.Error(), "wrong-secret") {
				t.Errorf("error %v", pe)
			}
			o.emu.FailNext("verify", 503, 1)
			wantKind(t, o.prov.Verify(ctx, cl, cl.ClientSecret), provider.ErrTransient)
			if err := o.prov.Verify(ctx, cl, cl.ClientSecret); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a wrong API token", func(t *testing.T) {
			t.Parallel()
			o := newOktaOrg(t, impl, "00wrong-token-value-0123")
			cl, _ := o.seed(t, "0oaerr")
			_, err := o.prov.Describe(ctx, cl)
			pe := wantKind(t, err, provider.ErrUnauthorized)
			if pe.Code != "E0000011" || pe.HTTPStatus != 401 || strings.Contains(pe.Error(), "00wrong") {
				t.Errorf("error %v", pe)
			}
		})
		t.Run("rate limited", func(t *testing.T) {
			t.Parallel()
			o := newOktaOrg(t, impl, "")
			cl, _ := o.seed(t, "0oarl")
			o.emu.FailNext("list", 429, 1)
			_, err := o.prov.Describe(ctx, cl)
			if pe := wantKind(t, err, provider.ErrRateLimited); pe.Code != "E0000047" || !provider.Retryable(pe) {
				t.Errorf("error %v", pe)
			}
		})
		t.Run("5xx on create", func(t *testing.T) {
			t.Parallel()
			o := newOktaOrg(t, impl, "")
			cl, _ := o.seed(t, "0oa5xx")
			o.emu.FailNext("create", 500, 1)
			_, err := o.prov.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"})
			wantKind(t, err, provider.ErrTransient)
			if n := len(o.emu.Secrets(cl.ClientID)); n != 1 {
				t.Fatalf("%d secrets after a failed create", n)
			}
		})
		t.Run("a failed deactivate deletes nothing", func(t *testing.T) {
			t.Parallel()
			o := newOktaOrg(t, impl, "")
			cl, first := o.seed(t, "0oadel")
			if _, err := o.emu.AddSecret(cl.ClientID, "", "ACTIVE"); err != nil {
				t.Fatal(err)
			}
			o.emu.FailNext("deactivate", 400, 1)
			wantKind(t, o.prov.Revoke(ctx, cl, first.ID), provider.ErrBadRequest)
			if o.emu.Calls()["delete"] != 0 {
				t.Fatal("deleted after a failed deactivate")
			}
		})
	})
}

// TestOktaRequestsAreValidated: a create body that Okta's request schema
// refuses (a status that is neither ACTIVE nor INACTIVE) is never sent.
func TestOktaRequestsAreValidated(t *testing.T) {
	t.Parallel()
	emu := oktaemu.New(oktaemu.Options{APIToken: oktaAPIToken})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	if _, err := emu.SeedApp("0oashort", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	d, err := oktaDescription()
	if err != nil {
		t.Fatal(err)
	}
	short := *d
	steps := d.Steps
	create := *steps.Create
	create.Body = `{"client_secret": "a-secret-of-good-length-0123456789", "status": "PENDING"}`
	steps.Create = &create
	short.Steps = steps
	p, err := httpprov.New(&short, httpprov.Options{Settings: map[string]string{"orgURL": srv.URL},
		Secrets: map[string]credential.Secret{"apiToken": credential.NewSecret(oktaAPIToken)}, ValidateOpenAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Create(context.Background(), provider.Client{ClientID: "0oashort"}, provider.CreateRequest{IdempotencyKey: "k"})
	var oe *httpprov.OpenAPIError
	if !errors.Is(err, provider.ErrBadRequest) || !errors.As(err, &oe) || oe.Where != "body /status" ||
		!strings.Contains(oe.Operation, "createOAuth2ClientSecret") || !strings.Contains(oe.Reason, "ACTIVE") {
		t.Fatalf("err = %v", err)
	}
	if n := emu.Calls()["create"]; n != 0 {
		t.Fatalf("%d creates reached Okta", n)
	}
}

// TestOktaRateLimitResetIsWaitedFor: Okta answers a spent rate limit with
// 429 and X-Rate-Limit-Reset, no Retry-After. okta.yaml names the header
// (retry.resetHeader), so the wait it asks for is until the reset, as the
// hand-written provider reads it; without the header named there is no
// wait to go by.
func TestOktaRateLimitResetIsWaitedFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, named := range []bool{true, false} {
		o := newOktaOrg(t, oktaImpls[0], "")
		cl, _ := o.seed(t, "0oareset")
		if !named {
			d, err := oktaDescription()
			if err != nil {
				t.Fatal(err)
			}
			var plain httpprov.Description = *d
			plain.Retry = nil
			none := 0
			p, err := httpprov.New(&plain, httpprov.Options{Settings: map[string]string{"orgURL": o.url}, Secrets: map[string]credential.Secret{"apiToken": credential.NewSecret(oktaAPIToken)}, Retry: &httpprov.RetrySpec{MaxRetries: &none}})
			if err != nil {
				t.Fatal(err)
			}
			o.prov = p
		}
		o.emu.Inject(oktaemu.Fault{Op: "list", Status: 429})
		_, err := o.prov.Describe(ctx, cl)
		pe := wantKind(t, err, provider.ErrRateLimited)
		reset := 30 * time.Second // the emulator's reset is 30 s away
		switch {
		case named && (pe.RetryAfter < reset-2*time.Second || pe.RetryAfter > reset+time.Second):
			t.Errorf("with resetHeader: retry after %s, want about %s", pe.RetryAfter, reset)
		case !named && pe.RetryAfter != 0:
			t.Errorf("without resetHeader: retry after %s, want none", pe.RetryAfter)
		}
		// Okta sends the header on every answer; only a 429 waits for it.
		o.emu.Inject(oktaemu.Fault{Op: "list", Status: 403})
		_, err = o.prov.Describe(ctx, cl)
		if !errors.As(err, &pe) || errors.Is(err, provider.ErrRateLimited) || pe.RetryAfter != 0 {
			t.Errorf("a 403: %v (retry after %v)", err, pe.RetryAfter)
		}
	}
}

// TestOktaCreateClearsAnInterruptedRevoke: the app holds the deployed
// secret and, INACTIVE, the one an interrupted revoke left. The create
// deletes the INACTIVE one first (the deployed secret obtains a token, so
// it is not that one) instead of meeting Okta's limit of two; when the
// deployed secret does not work, nothing is deleted and the create meets
// the limit. The org masks listed values, so that the hand-written
// provider, too, has only the token to go by.
func TestOktaCreateClearsAnInterruptedRevoke(t *testing.T) {
	t.Parallel()
	forEachOkta(t, func(t *testing.T, impl oktaImpl) {
		ctx := context.Background()
		for _, proven := range []bool{true, false} {
			o := newOktaOrg(t, impl, "", func(eo *oktaemu.Options) { eo.MaskSecrets = true })
			cl, _ := o.seed(t, "0oaclear")
			left, err := o.emu.AddSecret(cl.ClientID, "", "ACTIVE")
			if err != nil {
				t.Fatal(err)
			}
			if err := o.emu.Deactivate(cl.ClientID, left.ID); err != nil {
				t.Fatal(err)
			}
			if !proven {
				cl.ClientSecret = credential.NewSecret("not-the-deployed-secret-0123456789")
			}
			_, err = o.prov.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"})
			switch {
			case proven && err != nil:
				t.Fatalf("create beside an interrupted revoke: %v", err)
			case proven && o.emu.Revoked() != 1:
				t.Fatalf("the INACTIVE secret was not deleted (%d revoked)", o.emu.Revoked())
			case !proven:
				wantKind(t, err, provider.ErrTooManySecrets)
				if o.emu.Revoked() != 0 {
					t.Fatal("a secret was deleted without proof that it is not the deployed one")
				}
			}
			if n := len(o.emu.Secrets(cl.ClientID)); n > 2 {
				t.Fatalf("%d secrets", n)
			}
		}
	})
}

// oktaServiceAppDescription is examples/providers/okta-service-app.yaml.
var oktaServiceAppDescription = sync.OnceValues(func() (*httpprov.Description, error) {
	return httpprov.Load(filepath.Join("..", "..", "..", "examples", "providers", "okta-service-app.yaml"))
})

// TestOktaServiceAppDescription: okta-service-app.yaml manages an app's
// secrets with an OAuth service app's Bearer token, obtained with a client
// assertion its private key signs (privateKeyJWT), every request and
// answer held to Okta's document: a whole cycle, one management token, and
// a key the org does not know is refused at the token step.
func TestOktaServiceAppDescription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := oktaServiceAppDescription()
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for _, known := range []bool{true, false} {
		emu := oktaemu.New(oktaemu.Options{APIToken: oktaAPIToken})
		srv := httptest.NewServer(emu)
		t.Cleanup(srv.Close)
		if known {
			emu.RegisterServiceApp("0oaservice", key.Public(), "okta.apps.read", "okta.apps.manage")
		}
		none := 0
		p, err := httpprov.New(d, httpprov.Options{
			Settings:        map[string]string{"orgURL": srv.URL, "scope": "credrotate.proof", "serviceAppClientID": "0oaservice", "serviceAppKeyID": "kid1"},
			Secrets:         map[string]credential.Secret{"serviceAppKey": credential.NewSecret(keyPEM)},
			ValidateOpenAPI: true,
			Retry:           &httpprov.RetrySpec{MaxRetries: &none},
		})
		if err != nil {
			t.Fatal(err)
		}
		o := &oktaOrg{emu: emu, prov: p, url: srv.URL}
		cl, first := o.seed(t, "0oamanaged")
		if !known {
			_, err := p.Describe(ctx, cl)
			if err == nil || !strings.Contains(err.Error(), "token") {
				t.Fatalf("a service app the org does not know: %v", err)
			}
			if strings.Contains(err.Error(), "BEGIN PRIVATE KEY") || strings.Contains(err.Error(), keyPEM[40:80]) {
				t.Fatalf("the error quotes the key: %v", err)
			}
			continue
		}
		if _, err := p.Describe(ctx, cl); err != nil {
			t.Fatal(err)
		}
		created, err := p.Create(ctx, cl, provider.CreateRequest{IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(ctx, cl, created.ClientSecret); err != nil {
			t.Fatal(err)
		}
		if err := p.Revoke(ctx, cl, first.ID); err != nil {
			t.Fatal(err)
		}
		if o.emu.ActiveSecrets(cl.ClientID) != 1 || o.emu.Revoked() != 1 {
			t.Fatalf("after the cycle: %d active, %d revoked", o.emu.ActiveSecrets(cl.ClientID), o.emu.Revoked())
		}
		if n := o.emu.Calls()["token"]; n != 1 {
			t.Errorf("%d management tokens fetched, want 1 (cached)", n)
		}
	}
}

// TestOktaServiceAppDescriptionIsOktaYAML: okta-service-app.yaml is
// okta.yaml with the API token swapped for the service app (its name, two
// settings, the token step and Bearer headers), so a fix to one is made to
// both.
func TestOktaServiceAppDescriptionIsOktaYAML(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "providers", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		return s[strings.Index(s, "\nname: ")+1:] // past the opening comment
	}
	plain, svc := read("okta.yaml"), read("okta-service-app.yaml")
	i, j := strings.Index(svc, "steps:\n  token:\n"), strings.Index(svc, "  describe:\n")
	if i < 0 || j < i {
		t.Fatal("okta-service-app.yaml has no token step before describe")
	}
	want := strings.Replace(plain, "name: okta\n", "name: okta-service-app\n", 1)
	want = strings.Replace(want, "  orgURL: https://example.okta.com\n", "  orgURL: https://example.okta.com\n  serviceAppClientID: \"\"         # the service app's client id\n  serviceAppKeyID: \"\"            # the kid of its key, when it has several\n", 1)
	want = strings.ReplaceAll(want, `Authorization: "SSWS {{.secrets.apiToken}}"`, `Authorization: "Bearer {{.token.accessToken}}"`)
	want = strings.Replace(want, "steps:\n", svc[i:j], 1)
	if svc != want {
		t.Errorf("okta-service-app.yaml is not okta.yaml with the service app's changes; make the same change to both")
	}
}
