package httpprov_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

const validationSecret = "efx_validation-secret-0123456789abcdef"

// equifaxWorld is the Equifax emulator with one client, served through a
// handler that may rewrite the emulator's answers, and a count of the
// management calls that reached it.
type equifaxWorld struct {
	url    string
	client provider.Client
	posts  atomic.Int32
}

func newEquifaxWorld(t *testing.T, rewrite func(r *http.Request, status int, body []byte) []byte) *equifaxWorld {
	t.Helper()
	emu := emulator.New(emulator.Options{})
	t.Cleanup(emu.Close)
	w := &equifaxWorld{client: provider.Client{ClientID: "0oavalidation01", ClientSecret: credential.NewSecret(validationSecret)}}
	if _, err := emu.SeedClient(w.client.ClientID, validationSecret, emu.Now().Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/secrets") {
			w.posts.Add(1)
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rewrite != nil {
			body = rewrite(r, rec.Code, body)
		}
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.Header().Del("Content-Length")
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(body)
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// equifaxVariant writes examples/providers/equifax-rest.yaml, changed by
// edit, with its OpenAPI document changed by editDoc, into a folder of its own and loads it.
func equifaxVariant(t *testing.T, edit, editDoc func(string) string) *httpprov.Description {
	t.Helper()
	src := filepath.Join("..", "..", "..", "examples", "providers")
	dir := t.TempDir()
	for _, name := range []string{"equifax-rest.yaml", "equifax-rest.openapi.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		f := edit
		if name != "equifax-rest.yaml" {
			f = editDoc
		}
		if f != nil {
			changed := f(string(b))
			if changed == string(b) {
				t.Fatal("the edit changed nothing")
			}
			b = []byte(changed)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := httpprov.Load(filepath.Join(dir, "equifax-rest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func validating(t *testing.T, d *httpprov.Description, url string, on bool) *httpprov.Provider {
	t.Helper()
	none := 0
	p, err := httpprov.New(d, httpprov.Options{Settings: map[string]string{"baseURL": url}, ValidateOpenAPI: on, Retry: &httpprov.RetrySpec{MaxRetries: &none}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openAPIError(t *testing.T, err error, kind error) *httpprov.OpenAPIError {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	var oe *httpprov.OpenAPIError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want an *httpprov.OpenAPIError", err)
	}
	if strings.Contains(err.Error(), validationSecret) {
		t.Fatalf("the error quotes the secret: %v", err)
	}
	t.Log(err)
	return oe
}

// TestValidationPassesTheShippedDescription: the Equifax description keeps
// its own document through a whole cycle, with validation on.
func TestValidationPassesTheShippedDescription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newEquifaxWorld(t, nil)
	d, err := equifaxDescription()
	if err != nil {
		t.Fatal(err)
	}
	p := validating(t, d, w.url, true)
	info, err := p.Describe(ctx, w.client)
	if err != nil {
		t.Fatal(err)
	}
	active, _ := info.Active()
	created, err := p.Create(ctx, w.client, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(w.client.ClientID, active.SecretID), Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(ctx, w.client, created.ClientSecret); err != nil {
		t.Fatal(err)
	}
	next := provider.Client{ClientID: w.client.ClientID, ClientSecret: created.ClientSecret}
	if err := p.Revoke(ctx, next, active.SecretID); err != nil {
		t.Fatal(err)
	}
}

// TestValidationRefusesARequest: a create whose body the operation does
// not allow is never sent; the error names the step, the operation, the
// place and the fix. Without validation the same description sends it.
func TestValidationRefusesARequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name, from, to, where string
	}{
		{"a body property the operation does not declare",
			`body: '{{json (dict "gracePeriodSeconds" .request.gracePeriodSeconds "force" .request.force)}}'`,
			`body: '{{json (dict "gracePeriodSeconds" .request.gracePeriodSeconds "force" .request.force "label" "rotation")}}'`, "body"},
		{"a property of the wrong type",
			`body: '{{json (dict "gracePeriodSeconds" .request.gracePeriodSeconds "force" .request.force)}}'`,
			`body: '{"gracePeriodSeconds": "{{.request.gracePeriodSeconds}}"}'`, "body /gracePeriodSeconds"},
		{"a required header left out", "    idempotencyHeader: Idempotency-Key\n", "", "header Idempotency-Key"},
		{"a body of a type the operation does not take", "      Content-Type: application/json\n    idempotencyHeader", "      Content-Type: text/plain\n    idempotencyHeader", "content type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := equifaxVariant(t, func(s string) string {
				if tc.name == "a required header left out" {
					s = strings.Replace(s, "replays: true", "replays: false", 1)
				}
				return strings.Replace(s, tc.from, tc.to, 1)
			}, nil)
			w := newEquifaxWorld(t, nil)
			_, err := validating(t, d, w.url, true).Create(ctx, w.client, provider.CreateRequest{IdempotencyKey: "k-validation", GracePeriod: time.Hour, Force: true})
			oe := openAPIError(t, err, provider.ErrBadRequest)
			if oe.Step != "create" || oe.Answer || !strings.Contains(oe.Operation, "renewSecret") || !strings.HasPrefix(oe.Where, tc.where) || oe.Fix == "" {
				t.Errorf("error %+v", oe)
			}
			msg := err.Error()
			for _, want := range []string{"steps.create", "renewSecret", "fix:"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error %q does not say %q", msg, want)
				}
			}
			if n := w.posts.Load(); n != 0 {
				t.Errorf("%d creates reached the service", n)
			}
			// Off (a normal run), the same request is sent.
			_, _ = validating(t, d, w.url, false).Create(ctx, w.client, provider.CreateRequest{IdempotencyKey: "k-validation", GracePeriod: time.Hour, Force: true})
			if w.posts.Load() == 0 {
				t.Error("without validation the create was not sent")
			}
		})
	}
}

// TestValidationRefusesAnAnswer: an answer the operation does not declare
// fails, although the provider could read what it needs from it; without
// validation the same answer is accepted.
func TestValidationRefusesAnAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		rewrite func(r *http.Request, status int, body []byte) []byte
		call    func(p *httpprov.Provider, c provider.Client) error
		step    string
		op      string
		status  int
		where   string
	}{
		{"describe answer with a property the schema does not allow",
			func(r *http.Request, status int, b []byte) []byte {
				if r.Method == http.MethodGet {
					return bytes.Replace(b, []byte(`{"clientId"`), []byte(`{"tenant":"acme","clientId"`), 1)
				}
				return b
			},
			func(p *httpprov.Provider, c provider.Client) error { _, err := p.Describe(ctx, c); return err },
			"describe", "describeSecrets", 200, "body"},
		{"create answer without its required clientId",
			func(r *http.Request, status int, b []byte) []byte {
				if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/secrets") {
					return bytes.Replace(b, []byte(`"clientId"`), []byte(`"client"`), 1)
				}
				return b
			},
			func(p *httpprov.Provider, c provider.Client) error {
				_, err := p.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k-answer", Force: true})
				return err
			},
			"create", "renewSecret", 201, "body"},
		{"token answer without a declared field",
			func(r *http.Request, status int, b []byte) []byte {
				if strings.HasSuffix(r.URL.Path, "/token") {
					return bytes.Replace(b, []byte(`"token_type"`), []byte(`"tokenKind"`), 1)
				}
				return b
			},
			func(p *httpprov.Provider, c provider.Client) error { _, err := p.Describe(ctx, c); return err },
			"token", "issueToken", 200, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := equifaxDescription()
			if err != nil {
				t.Fatal(err)
			}
			w := newEquifaxWorld(t, tc.rewrite)
			err = tc.call(validating(t, d, w.url, true), w.client)
			oe := openAPIError(t, err, provider.ErrMalformedResponse)
			if oe.Step != tc.step || !oe.Answer || oe.Status != tc.status || !strings.Contains(oe.Operation, tc.op) || !strings.HasPrefix(oe.Where, tc.where) {
				t.Errorf("error %+v", oe)
			}
			if !strings.Contains(err.Error(), "steps."+tc.step) || !strings.Contains(err.Error(), "fix:") {
				t.Errorf("error %v", err)
			}
			if tc.step == "token" {
				// A token answer that fails to match is the token step's,
				// whichever call needed the token.
				return
			}
			w2 := newEquifaxWorld(t, tc.rewrite)
			if err := tc.call(validating(t, d, w2.url, false), w2.client); err != nil {
				t.Errorf("without validation: %v", err)
			}
		})
	}
}

// TestValidationKeepsTransientFailuresRetryable: a 503 whose body the
// document does not declare is still transient, its mismatch named.
func TestValidationKeepsTransientFailuresRetryable(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"tok-Zq81","token_type":"Bearer","expires_in":1800}`)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html>down for maintenance</html>")
	}))
	t.Cleanup(srv.Close)
	d, err := equifaxDescription()
	if err != nil {
		t.Fatal(err)
	}
	_, err = validating(t, d, srv.URL, true).Describe(context.Background(), provider.Client{ClientID: "c1", ClientSecret: credential.NewSecret(validationSecret)})
	oe := openAPIError(t, err, provider.ErrTransient)
	if !provider.Retryable(err) || oe.Status != 503 || oe.Where != "content type" {
		t.Errorf("error %+v (%v)", oe, err)
	}
}

// TestValidationNeedsTheDeclaredCredentials: an operation whose security
// scheme is a bearer token is refused a request that sends the token in
// another header.
func TestValidationNeedsTheDeclaredCredentials(t *testing.T) {
	t.Parallel()
	d := equifaxVariant(t, func(s string) string {
		i := strings.Index(s, "  describe:")
		return s[:i] + strings.Replace(s[i:], "      Authorization: \"Bearer {{.token.accessToken}}\"", "      X-Token: \"{{.token.accessToken}}\"", 1)
	}, func(s string) string {
		s = strings.Replace(s, "      operationId: describeSecrets\n", "      operationId: describeSecrets\n      security: [{bearer: []}]\n", 1)
		return strings.Replace(s, "components:\n", "components:\n  securitySchemes:\n    bearer: {type: http, scheme: bearer}\n", 1)
	})
	w := newEquifaxWorld(t, nil)
	_, err := validating(t, d, w.url, true).Describe(context.Background(), w.client)
	oe := openAPIError(t, err, provider.ErrBadRequest)
	if oe.Step != "describe" || oe.Where != "credentials" || !strings.Contains(oe.Reason, "bearer") {
		t.Errorf("error %+v", oe)
	}
}
