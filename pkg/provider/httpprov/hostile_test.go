package httpprov_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

// hostileServer answers every management call with body (status 200 for
// describe, 201 for create) and every token call with a good token.
func hostileServer(t *testing.T, status int, body func(w http.ResponseWriter)) *httpprov.Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok-Zq81","token_type":"Bearer","expires_in":1800}`))
			return
		}
		s := status
		if r.Method == http.MethodPost {
			s = http.StatusCreated
		}
		w.WriteHeader(s)
		body(w)
	}))
	t.Cleanup(srv.Close)
	d, err := equifaxDescription()
	if err != nil {
		t.Fatal(err)
	}
	none := 0
	p, err := httpprov.New(d, httpprov.Options{Settings: map[string]string{"baseURL": srv.URL}, Retry: &httpprov.RetrySpec{MaxRetries: &none}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 3<<20)
	cases := []struct {
		name   string
		status int
		body   string
		kind   error
	}{
		{"huge success", 200, `{"clientId":"c1","secrets":[],"pad":"` + huge + `"}`, provider.ErrMalformedResponse},
		{"huge error page", 503, huge, provider.ErrTransient},
		{"deeply nested", 200, strings.Repeat("[", 100000) + strings.Repeat("]", 100000), provider.ErrMalformedResponse},
		{"deeply nested object", 200, `{"clientId":"c1","secrets":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + "}", provider.ErrMalformedResponse},
		{"secrets is a string", 200, `{"clientId":"c1","secrets":"many"}`, provider.ErrMalformedResponse},
		{"id is an object", 200, `{"clientId":"c1","secrets":[{"secretId":{"x":1},"status":"ACTIVE","expiresAt":"2030-01-01T00:00:00Z"}]}`, provider.ErrMalformedResponse},
		{"expiry is a number", 200, `{"clientId":"c1","secrets":[{"secretId":"s1","status":"ACTIVE","expiresAt":17}]}`, provider.ErrMalformedResponse},
		{"unknown status", 200, `{"clientId":"c1","secrets":[{"secretId":"s1","status":"WEIRD","expiresAt":"2030-01-01T00:00:00Z"}]}`, provider.ErrMalformedResponse},
		{"another client", 200, `{"clientId":"c2","secrets":[]}`, provider.ErrMalformedResponse},
		{"not JSON", 200, `<html>`, provider.ErrMalformedResponse},
		{"two values", 200, `{"clientId":"c1","secrets":[]} {}`, provider.ErrMalformedResponse},
		// A code that is not a string is no code: the status decides.
		{"error code of the wrong type", 409, `{"efxErrorCode":["409.01"],"description":7}`, provider.KindForStatus(409)},
		{"too many secrets listed", 200, `{"clientId":"c1","secrets":[` + strings.TrimSuffix(strings.Repeat(`{"secretId":"s","status":"ACTIVE","expiresAt":"2030-01-01T00:00:00Z"},`, 300), ",") + `]}`, provider.ErrMalformedResponse},
	}
	creds := provider.Client{ClientID: "c1", ClientSecret: credential.NewSecret("canary-Zx81")}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := hostileServer(t, c.status, func(w http.ResponseWriter) { _, _ = w.Write([]byte(c.body)) })
			_, err := p.Describe(context.Background(), creds)
			kind := c.kind
			var pe *provider.Error
			if !errors.As(err, &pe) || !errors.Is(err, kind) {
				t.Fatalf("err = %v, want a *provider.Error of kind %v", err, kind)
			}
			if strings.Contains(err.Error(), "canary-Zx81") || strings.Contains(err.Error(), "tok-Zq81") || len(err.Error()) > 2048 {
				t.Fatalf("error leaks or is unbounded: %.300s", err)
			}
		})
	}
}

// TestCreateAnswersNeverLeakTheSecret: a create answer the description
// cannot read fails without quoting the new secret.
func TestCreateAnswersNeverLeakTheSecret(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"clientId":"c1","secret":{"clientSecret":"new-Vv93","secretId":"s2","status":"BOGUS-new-Vv93","createdAt":"x","expiresAt":"2030-01-01T00:00:00Z"}}`,
		`{"clientId":"c1","secret":{"clientSecret":"new-Vv93","secretId":"s2","status":"ACTIVE","createdAt":"new-Vv93","expiresAt":"2030-01-01T00:00:00Z"}}`,
		`{"clientId":"c1","secret":{"clientSecret":["new-Vv93"],"secretId":"s2"}}`,
		`{"clientId":"c1","secret":{"clientSecret":"new-Vv93","secretId":"new-Vv93`,
	} {
		p := hostileServer(t, 201, func(w http.ResponseWriter) { _, _ = w.Write([]byte(body)) })
		_, err := p.Create(context.Background(), provider.Client{ClientID: "c1", ClientSecret: credential.NewSecret("canary-Zx81")},
			provider.CreateRequest{IdempotencyKey: "k-1"})
		if !errors.Is(err, provider.ErrMalformedResponse) {
			t.Fatalf("err = %v, want malformed", err)
		}
		if strings.Contains(err.Error(), "new-Vv93") {
			t.Fatalf("the new secret leaked: %v", err)
		}
	}
}

// TestRedirectsAreRefused: a redirect of a call carrying a credential to
// another origin ends the call before anything is sent there.
func TestRedirectsAreRefused(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed to %s", r.URL.Path)
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	d, err := equifaxDescription()
	if err != nil {
		t.Fatal(err)
	}
	p, err := httpprov.New(d, httpprov.Options{Settings: map[string]string{"baseURL": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Describe(context.Background(), provider.Client{ClientID: "c1", ClientSecret: credential.NewSecret("canary-Zx81")})
	if !errors.Is(err, provider.ErrBadRequest) || !strings.Contains(err.Error(), "redirect refused") || strings.Contains(err.Error(), "canary") {
		t.Fatalf("err = %v", err)
	}
}
