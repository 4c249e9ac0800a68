package httpprov_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

// vendorDescription is an Okta-shaped API: an API key from a SecretSource,
// lower-case statuses, epoch-second times, a verify call, and a two-step
// revoke (deactivate, then delete).
const vendorDescription = `
name: vendor
settings: {baseURL: "https://vendor.example.com"}
rules: {maxValid: 2, revocation: deactivate-then-delete}
statuses: {active: ACTIVE, inactive: INACTIVE}
error: {code: $.errorCode, message: $.errorSummary}
errors: {E0000001: bad_request, E0000007: not_found}
retry: {maxRetries: 0}
steps:
  describe:
    url: "{{.settings.baseURL}}/apps/{{pathescape .client.id}}/secrets"
    headers: {Authorization: "SSWS {{.secrets.apiToken}}"}
    result:
      secrets: $[*]
      each: {id: $.id, status: $.status, createdAt: $.created | unix}
  create:
    method: POST
    url: "{{.settings.baseURL}}/apps/{{pathescape .client.id}}/secrets"
    headers: {Authorization: "SSWS {{.secrets.apiToken}}"}
    result:
      secret: {value: $.client_secret, id: $.id, status: $.status, createdAt: $.created | unix}
  verify:
    method: POST
    url: "{{.settings.baseURL}}/oauth2/v1/token"
    headers: {Content-Type: application/x-www-form-urlencoded}
    body: "grant_type=client_credentials&client_id={{urlquery .client.id}}&client_secret={{urlquery .new.secret}}"
    error: {code: $.error}
    result: {}
  retire:
    method: POST
    url: "{{.settings.baseURL}}/apps/{{pathescape .client.id}}/secrets/{{pathescape .secretId}}/lifecycle/deactivate"
    headers: {Authorization: "SSWS {{.secrets.apiToken}}"}
  revoke:
    method: DELETE
    url: "{{.settings.baseURL}}/apps/{{pathescape .client.id}}/secrets/{{pathescape .secretId}}"
    headers: {Authorization: "SSWS {{.secrets.apiToken}}"}
    successCodes: [204]
`

type vendorSecret struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Created int64  `json:"created"`
	value   string
}

// vendor is the API vendorDescription describes, in memory.
type vendor struct {
	mu      sync.Mutex
	n       int
	secrets []*vendorSecret
}

func (v *vendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/oauth2/v1/token" {
		_ = r.ParseForm()
		for _, s := range v.secrets {
			if s.Status == "active" && s.value == r.PostForm.Get("client_secret") && r.PostForm.Get("client_id") == "app1" {
				_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer","expires_in":3600}`))
				return
			}
		}
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	if r.Header.Get("Authorization") != "SSWS api-Kk42" {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	find := func(id string) *vendorSecret {
		for _, s := range v.secrets {
			if s.ID == id {
				return s
			}
		}
		return nil
	}
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(v.secrets)
	case len(parts) == 3 && r.Method == http.MethodPost:
		v.n++
		s := &vendorSecret{ID: fmt.Sprintf("ocs%d", v.n), Status: "active", Created: time.Now().Unix(), value: fmt.Sprintf("value-%d-Zz9", v.n)}
		v.secrets = append(v.secrets, s)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": s.ID, "status": s.Status, "created": s.Created, "client_secret": s.value})
	case len(parts) == 6 && r.Method == http.MethodPost:
		if s := find(parts[3]); s != nil {
			s.Status = "inactive"
			_ = json.NewEncoder(w).Encode(s)
			return
		}
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"errorCode":"E0000007","errorSummary":"Not found"}`))
	case len(parts) == 4 && r.Method == http.MethodDelete:
		s := find(parts[3])
		if s == nil {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"errorCode":"E0000007","errorSummary":"Not found"}`))
			return
		}
		if s.Status == "active" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"errorCode":"E0000001","errorSummary":"Cannot delete an active secret"}`))
			return
		}
		for i, x := range v.secrets {
			if x == s {
				v.secrets = append(v.secrets[:i], v.secrets[i+1:]...)
			}
		}
		w.WriteHeader(204)
	default:
		w.WriteHeader(404)
	}
}

func TestAPIKeyDescriptionLifecycle(t *testing.T) {
	t.Parallel()
	v := &vendor{secrets: []*vendorSecret{{ID: "ocs0", Status: "active", Created: time.Now().Add(-time.Hour).Unix(), value: "old-Yy1"}}}
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	d, err := httpprov.Parse([]byte(vendorDescription))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	p, err := httpprov.New(d, httpprov.Options{
		Settings: map[string]string{"baseURL": srv.URL},
		Secrets:  map[string]credential.Secret{"apiToken": credential.NewSecret("api-Kk42")},
		SecretSeen: func(s credential.Secret) {
			mu.Lock()
			seen = append(seen, s.Reveal())
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := httpprov.NewMulti(map[string]*httpprov.Provider{"app1": p})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Rules(); r.MaxValid != 2 || r.Revocation != provider.RevokeDeactivateThenDelete || m.Name() != "vendor" {
		t.Fatalf("rules %+v, name %s", r, m.Name())
	}
	ctx := context.Background()
	c := provider.Client{ClientID: "app1", ClientSecret: credential.NewSecret("old-Yy1")}
	info, err := m.Describe(ctx, c)
	if err != nil || len(info.Secrets) != 1 || info.Secrets[0].Status != provider.StatusActive || info.Secrets[0].CreatedAt.IsZero() {
		t.Fatalf("describe: %+v, %v", info, err)
	}
	created, err := m.Create(ctx, c, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey("app1", "ocs0")})
	if err != nil || created.Secret.SecretID != "ocs1" || created.ClientSecret.Reveal() != "value-1-Zz9" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	if err := m.Verify(ctx, c, created.ClientSecret); err != nil {
		t.Fatalf("verify the new secret: %v", err)
	}
	err = m.Verify(ctx, c, credential.NewSecret("wrong-Qq7"))
	if !errors.Is(err, provider.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-Qq7") {
		t.Fatalf("verify a wrong secret: %v", err)
	}
	if err := m.Revoke(ctx, c, "ocs0"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := m.Revoke(ctx, c, "ocs0"); err != nil {
		t.Fatalf("revoking a revoked secret: %v", err)
	}
	info, err = m.Describe(ctx, c)
	if err != nil || len(info.Secrets) != 1 || info.Secrets[0].SecretID != "ocs1" {
		t.Fatalf("after revoke: %+v, %v", info, err)
	}
	if _, err := m.Describe(ctx, provider.Client{ClientID: "other"}); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("a client no description serves: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"SSWS api-Kk42", "value-1-Zz9", "wrong-Qq7"} {
		found := false
		for _, s := range seen {
			if strings.Contains(s, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q was never passed to SecretSeen", want)
		}
	}
}
