package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wiretest"
)

// fakeAPI is a scripted Equifax: each request to a path takes the next
// scripted answer, or the default one when the script is used up.
type fakeAPI struct {
	t  *testing.T
	mu sync.Mutex
	// scripts by "METHOD path"
	scripts  map[string][]answer
	requests []*recorded
	tokenTTL int
	tokens   atomic.Int64
}

type answer = wiretest.Answer

type recorded struct {
	method, path string
	header       http.Header
	body         string
	at           time.Time
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, scripts: map[string][]answer{}, tokenTTL: 1800}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) script(key string, as ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[key] = append(f.scripts[key], as...)
}

func (f *fakeAPI) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.method+" "+r.path == key {
			n++
		}
	}
	return n
}

func (f *fakeAPI) recorded(key string) []*recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*recorded
	for _, r := range f.requests {
		if r.method+" "+r.path == key {
			out = append(out, r)
		}
	}
	return out
}

const (
	keyToken    = "POST /v2/oauth/token"
	keyDescribe = "GET /business/security/v1/clients/0oa-test/secrets"
	keyRenew    = "POST /business/security/v1/clients/0oa-test/secrets"
	keyRevoke   = "DELETE /business/security/v1/clients/0oa-test/secrets/sec-1"
)

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, &recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: string(body), at: time.Now()})
	var a answer
	scripted := false
	if s := f.scripts[key]; len(s) > 0 {
		a, f.scripts[key], scripted = s[0], s[1:], true
	}
	f.mu.Unlock()
	w.Header().Set("efx-transaction-id", "tx-"+uuid.NewString()[:8])
	if !scripted {
		a = f.defaultAnswer(key, r, string(body))
	}
	if a.Body != "" {
		// JSON unless the answer names its own Content-Type.
		w.Header().Set("Content-Type", "application/json")
	}
	a.Write(w, r)
}

func (f *fakeAPI) defaultAnswer(key string, r *http.Request, body string) answer {
	switch key {
	case keyToken:
		id, secret, ok := r.BasicAuth()
		if !ok || id != wiretest.ClientID || secret != wiretest.Secret {
			return answer{Status: 401, Body: `{"error":"invalid_client","error_description":"bad client"}`}
		}
		n := f.tokens.Add(1)
		return answer{Body: fmt.Sprintf(`{"access_token":"%s-%d","token_type":"Bearer","expires_in":%d,"issued_at":"%d","scope":"%s"}`,
			wiretest.Token, n, f.tokenTTL, time.Now().UnixMilli(), r.PostFormValue("scope"))}
	case keyDescribe:
		return answer{Body: describeBody}
	case keyRenew:
		return answer{Status: 201, Body: renewBody201}
	case keyRevoke:
		return answer{Status: 204}
	}
	return answer{Status: 404, Body: `{"efxErrorCode":"404.01","description":"no such thing"}`}
}

const describeBody = `{"clientId":"0oa-test","renewalEligibleAt":"2026-01-01T00:00:00Z",
 "policy":{"maxSecrets":2,"secretLifetimeSeconds":15552000,"defaultGracePeriodSeconds":604800,"maxGracePeriodSeconds":2592000},
 "secrets":[{"secretId":"sec-1","status":"ACTIVE","hint":"…pX","createdAt":"2025-07-01T00:00:00Z","expiresAt":"2026-01-01T00:00:00Z"},
            {"secretId":"sec-0","status":"REVOKED","createdAt":"2025-01-01T00:00:00Z","expiresAt":"2025-07-01T00:00:00Z","revokedAt":"2025-07-02T00:00:00Z"}]}`

const renewBody201 = `{"clientId":"0oa-test",
 "secret":{"secretId":"sec-2","clientSecret":"new-canary-Pq8","status":"ACTIVE","hint":"…q8","createdAt":"2025-12-01T00:00:00Z","expiresAt":"2026-06-01T00:00:00Z"},
 "previousSecret":{"secretId":"sec-1","status":"RETIRING","expiresAt":"2026-01-01T00:00:00Z","graceEndsAt":"2025-12-08T00:00:00Z"}}`

func newClient(t *testing.T, srv *httptest.Server, mod func(*Options)) (*Client, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	opts := Options{
		BaseURL:        srv.URL,
		Timeout:        2 * time.Second,
		MaxRetries:     3,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     5 * time.Millisecond,
		Logger:         logrus.NewEntry(logger),
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, hook
}

func TestNewValidatesURLs(t *testing.T) {
	for _, u := range []string{"", "api.equifax.com", "ftp://x", "://"} {
		if _, err := New(Options{BaseURL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}

func TestTokenAndCache(t *testing.T) {
	f, srv := newFakeAPI(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()

	tok, err := c.Token(ctx, wiretest.Creds, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken.Reveal(), wiretest.Token) || tok.TokenType != "Bearer" || tok.Scope != DefaultManagementScope {
		t.Fatalf("token = %+v", tok)
	}
	if time.Until(tok.ExpiresAt) < 29*time.Minute || tok.IssuedAt.IsZero() {
		t.Fatalf("token times = %v, %v", tok.IssuedAt, tok.ExpiresAt)
	}
	req := f.recorded(keyToken)[0]
	if got := req.header.Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("token request Authorization = %q", got)
	}
	if !strings.Contains(req.body, "grant_type=client_credentials") || !strings.Contains(req.body, "scope=https%3A%2F%2Fapi.equifax.com%2Fbusiness%2Fsecurity%2Fv1") {
		t.Errorf("token request body = %q", req.body)
	}
	if strings.Contains(req.body, wiretest.Secret) {
		t.Error("secret sent in the body as well as the header")
	}

	// Management calls reuse the token fetched by Token.
	for range 3 {
		if _, err := c.Describe(ctx, wiretest.Creds); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(keyToken); n != 1 {
		t.Errorf("token endpoint called %d times, want 1", n)
	}
	for _, r := range f.recorded(keyDescribe) {
		if got := r.header.Get("Authorization"); got != "Bearer "+wiretest.Token+"-1" {
			t.Errorf("describe Authorization = %q", got)
		}
		if _, err := uuid.Parse(r.header.Get("X-Correlation-ID")); err != nil {
			t.Errorf("describe X-Correlation-ID = %q", r.header.Get("X-Correlation-ID"))
		}
	}

	// A token is cached per secret: another secret fetches its own.
	other := equifax.Credentials{ClientID: wiretest.ClientID, ClientSecret: credential.NewSecret("other")}
	if _, err := c.Describe(ctx, other); !errors.Is(err, equifax.ErrUnauthorized) {
		t.Fatalf("describe with a wrong secret: %v", err)
	}
	if n := f.count(keyToken); n != 2 {
		t.Errorf("token endpoint called %d times, want 2", n)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.tokenTTL = 30 // inside the 1m expiry delta: never reused
	c, _ := newClient(t, srv, nil)
	for range 3 {
		if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(keyToken); n != 3 {
		t.Errorf("token endpoint called %d times, want 3", n)
	}
}

func TestDescribe(t *testing.T) {
	_, srv := newFakeAPI(t)
	c, _ := newClient(t, srv, nil)
	info, err := c.Describe(context.Background(), wiretest.Creds)
	if err != nil {
		t.Fatal(err)
	}
	if info.ClientID != wiretest.ClientID || len(info.Secrets) != 2 || info.ValidCount() != 1 || info.Policy.MaxSecrets != 2 {
		t.Fatalf("info = %+v", info)
	}
	a, ok := info.Active()
	if !ok || a.SecretID != "sec-1" || a.ExpiresAt != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("active = %+v", a)
	}
	if r, _ := info.Find("sec-0"); r.RevokedAt == nil {
		t.Fatalf("revokedAt lost: %+v", r)
	}
}

func TestRenew(t *testing.T) {
	f, srv := newFakeAPI(t)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	key := equifax.IdempotencyKey(wiretest.ClientID, "sec-1")

	if _, err := c.Renew(ctx, wiretest.Creds, equifax.RenewRequest{}); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("renew without a key: %v", err)
	}
	if n := f.count(keyRenew); n != 0 {
		t.Fatalf("renew without a key reached the server")
	}

	res, err := c.Renew(ctx, wiretest.Creds, equifax.RenewRequest{IdempotencyKey: key, GracePeriod: 48 * time.Hour, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.ClientSecret.Reveal() != "new-canary-Pq8" || res.Secret.SecretID != "sec-2" || res.PreviousSecret == nil ||
		res.PreviousSecret.Status != equifax.StatusRetiring || res.PreviousSecret.GraceEndsAt == nil {
		t.Fatalf("result = %+v", res)
	}
	r := f.recorded(keyRenew)[0]
	if r.header.Get("Idempotency-Key") != key {
		t.Errorf("Idempotency-Key = %q", r.header.Get("Idempotency-Key"))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body["gracePeriodSeconds"] != float64(172800) || body["force"] != true {
		t.Errorf("renew body = %s (%v)", r.body, err)
	}
}

func TestRenewRetriesWithTheSameKey(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.script(keyRenew,
		answer{Status: 504, Body: `{"efxErrorCode":"504.01","description":"gateway timeout"}`},
		answer{Delay: 5 * time.Second}, // the answer is lost: the client gives up
		answer{Status: 503, Body: `<html>busy</html>`})
	c, _ := newClient(t, srv, func(o *Options) { o.Timeout = 300 * time.Millisecond })
	key := equifax.IdempotencyKey(wiretest.ClientID, "sec-1")
	if _, err := c.Renew(context.Background(), wiretest.Creds, equifax.RenewRequest{IdempotencyKey: key}); err != nil {
		t.Fatal(err)
	}
	rs := f.recorded(keyRenew)
	if len(rs) != 4 {
		t.Fatalf("renew sent %d times, want 4", len(rs))
	}
	for _, r := range rs {
		if r.header.Get("Idempotency-Key") != key || r.body != rs[0].body {
			t.Errorf("a retry changed the request: key %q body %q", r.header.Get("Idempotency-Key"), r.body)
		}
	}
}

func TestRevoke(t *testing.T) {
	f, srv := newFakeAPI(t)
	c, _ := newClient(t, srv, nil)
	if err := c.Revoke(context.Background(), wiretest.Creds, "sec-1"); err != nil {
		t.Fatal(err)
	}
	if f.count(keyRevoke) != 1 {
		t.Fatal("revoke not sent")
	}
	if err := c.Revoke(context.Background(), wiretest.Creds, ""); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("revoke without id: %v", err)
	}
}

func TestExpiredTokenIsReplacedOnce(t *testing.T) {
	f, srv := newFakeAPI(t)
	expired := answer{Status: 401, Body: `{"efxErrorCode":"401.01","description":"access token expired"}`}
	f.script(keyDescribe, expired)
	c, _ := newClient(t, srv, nil)
	if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
		t.Fatal(err)
	}
	if n, m := f.count(keyToken), f.count(keyDescribe); n != 2 || m != 2 {
		t.Fatalf("token %d, describe %d; want 2 and 2", n, m)
	}
	rs := f.recorded(keyDescribe)
	if rs[0].header.Get("Authorization") == rs[1].header.Get("Authorization") {
		t.Error("the retry used the rejected token")
	}

	// Rejected again: no loop, the error comes back.
	f.script(keyDescribe, expired, expired, expired)
	_, err := c.Describe(context.Background(), wiretest.Creds)
	var e *equifax.Error
	if !errors.As(err, &e) || e.Code != "401.01" || !errors.Is(err, equifax.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if m := f.count(keyDescribe); m != 4 {
		t.Fatalf("describe sent %d times in all, want 4", m)
	}
}

func TestErrorTable(t *testing.T) {
	eligible := "2026-02-01T10:00:00Z"
	cases := []struct {
		name     string
		key      string
		ans      answer
		kind     error
		code     string
		attempts int
	}{
		{"invalid client", keyToken, answer{Status: 401, Body: `{"error":"invalid_client","error_description":"no"}`}, equifax.ErrUnauthorized, "invalid_client", 1},
		{"invalid scope", keyToken, answer{Status: 400, Body: `{"error":"invalid_scope"}`}, equifax.ErrBadRequest, "invalid_scope", 1},
		{"token missing", keyDescribe, answer{Status: 401, Body: `{"efxErrorCode":"401.02","description":"missing"}`}, equifax.ErrUnauthorized, "401.02", 1},
		{"forbidden", keyDescribe, answer{Status: 403, Body: `{"efxErrorCode":"403.01","description":"scope"}`}, equifax.ErrForbidden, "403.01", 1},
		{"not found", keyDescribe, answer{Status: 404, Body: `{"efxErrorCode":"404.01","description":"unknown client"}`}, equifax.ErrNotFound, "404.01", 1},
		{"two secrets", keyRenew, answer{Status: 409, Body: `{"efxErrorCode":"409.01","description":"two"}`}, equifax.ErrTooManySecrets, "409.01", 1},
		{"not eligible", keyRenew, answer{Status: 409, Body: `{"efxErrorCode":"409.02","description":"wait","additionalErrorDetails":{"eligibleAt":"` + eligible + `"}}`}, equifax.ErrNotEligible, "409.02", 1},
		{"last secret", keyRevoke, answer{Status: 409, Body: `{"efxErrorCode":"409.03","description":"last"}`}, equifax.ErrLastSecret, "409.03", 1},
		{"key reused", keyRenew, answer{Status: 422, Body: `{"efxErrorCode":"422.01","description":"different body"}`}, equifax.ErrIdempotencyConflict, "422.01", 1},
		{"server error", keyDescribe, answer{Status: 500, Body: `{"efxErrorCode":"500.01"}`}, equifax.ErrTransient, "500.01", 4},
		{"unavailable", keyRevoke, answer{Status: 503, Body: `{"efxErrorCode":"503.01"}`}, equifax.ErrTransient, "503.01", 4},
		{"gateway timeout", keyRenew, answer{Status: 504, Body: `{"efxErrorCode":"504.01"}`}, equifax.ErrTransient, "504.01", 4},
		{"token 5xx html", keyToken, answer{Status: 502, Body: `<html>bad gateway</html>`, Header: map[string]string{"Content-Type": "text/html"}}, equifax.ErrTransient, "", 4},
		{"rate limited", keyDescribe, answer{Status: 429, Body: `{"efxErrorCode":"429.01"}`, Header: map[string]string{"Retry-After": "0"}}, equifax.ErrRateLimited, "429.01", 4},
		{"malformed", keyDescribe, answer{Status: 200, Body: `{"clientId":`}, equifax.ErrMalformedResponse, "", 1},
		{"wrong client", keyDescribe, answer{Status: 200, Body: strings.Replace(describeBody, "0oa-test", "someone-else", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"token malformed", keyToken, answer{Status: 200, Body: `not json`}, equifax.ErrMalformedResponse, "", 1},
		{"token without expiry", keyToken, answer{Status: 200, Body: `{"access_token":"x","token_type":"Bearer"}`}, equifax.ErrMalformedResponse, "", 1},
		{"renew without plaintext", keyRenew, answer{Status: 201, Body: strings.Replace(renewBody201, `"clientSecret":"new-canary-Pq8",`, "", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"huge body", keyDescribe, answer{Status: 200, Body: `{"clientId":"` + strings.Repeat("a", 2<<20) + `"}`}, equifax.ErrMalformedResponse, "", 1},
		{"teapot", keyDescribe, answer{Status: 418, Body: `short and stout`}, equifax.ErrMalformedResponse, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			for range tc.attempts {
				f.script(tc.key, tc.ans)
			}
			c, hook := newClient(t, srv, nil)
			err := runOp(c, tc.key)
			var e *equifax.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *equifax.Error", err, err)
			}
			if !errors.Is(err, tc.kind) || e.Code != tc.code {
				t.Fatalf("err = %v; want kind %v code %q", err, tc.kind, tc.code)
			}
			if n := f.count(tc.key); n != tc.attempts {
				t.Fatalf("%s sent %d times, want %d", tc.key, n, tc.attempts)
			}
			if e.HTTPStatus != tc.ans.Status && !(tc.ans.Status == 0 && e.HTTPStatus == 200) {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tc.ans.Status)
			}
			if e.TransactionID == "" && tc.name != "huge body" {
				t.Errorf("no efx-transaction-id in %v", err)
			}
			if tc.code == "409.02" && e.EligibleAt.Format(time.RFC3339) != eligible {
				t.Errorf("EligibleAt = %v", e.EligibleAt)
			}
			wiretest.AssertNoSecrets(t, hook, err)
		})
	}
}

// runOp runs the operation the scripted path belongs to.
func runOp(c *Client, key string) error {
	ctx := context.Background()
	switch key {
	case keyToken:
		_, err := c.Token(ctx, wiretest.Creds, "")
		return err
	case keyDescribe:
		_, err := c.Describe(ctx, wiretest.Creds)
		return err
	case keyRenew:
		_, err := c.Renew(ctx, wiretest.Creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
		return err
	case keyRevoke:
		return c.Revoke(ctx, wiretest.Creds, "sec-1")
	}
	panic(key)
}

func TestRetriesThenSucceeds(t *testing.T) {
	for _, status := range []int{500, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.script(keyToken, answer{Status: status})
			f.script(keyDescribe, answer{Status: status}, answer{Status: status})
			f.script(keyRevoke, answer{Status: status}, answer{Status: status}, answer{Status: status})
			c, _ := newClient(t, srv, nil)
			if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
				t.Fatal(err)
			}
			if err := c.Revoke(context.Background(), wiretest.Creds, "sec-1"); err != nil {
				t.Fatal(err)
			}
			if a, b, d := f.count(keyToken), f.count(keyDescribe), f.count(keyRevoke); a != 2 || b != 3 || d != 4 {
				t.Fatalf("calls token %d describe %d revoke %d; want 2, 3, 4", a, b, d)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.script(keyDescribe, answer{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"efxErrorCode":"429.01"}`})
	c, _ := newClient(t, srv, nil)
	if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
		t.Fatal(err)
	}
	rs := f.recorded(keyDescribe)
	if len(rs) != 2 {
		t.Fatalf("describe sent %d times", len(rs))
	}
	// The wait is at least Retry-After: a lower bound, not a deadline.
	if gap := rs[1].at.Sub(rs[0].at); gap < time.Second {
		t.Fatalf("retried after %v, before Retry-After", gap)
	}
}

func TestLongRetryAfterIsReturned(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.script(keyDescribe, answer{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: `{"efxErrorCode":"429.01"}`})
	c, _ := newClient(t, srv, nil)
	_, err := c.Describe(context.Background(), wiretest.Creds)
	var e *equifax.Error
	if !errors.As(err, &e) || !errors.Is(err, equifax.ErrRateLimited) || e.RetryAfter != time.Hour {
		t.Fatalf("err = %v", err)
	}
	if n := f.count(keyDescribe); n != 1 {
		t.Fatalf("describe sent %d times, want 1", n)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	f, srv := newFakeAPI(t)
	for range 2 {
		f.script(keyDescribe, answer{Delay: 10 * time.Second})
	}
	c, _ := newClient(t, srv, func(o *Options) { o.Timeout = 200 * time.Millisecond; o.MaxRetries = 1 })
	_, err := c.Describe(context.Background(), wiretest.Creds)
	var e *equifax.Error
	if !errors.As(err, &e) || !errors.Is(err, equifax.ErrTransient) || e.HTTPStatus != 0 {
		t.Fatalf("err = %v", err)
	}
	if n := f.count(keyDescribe); n != 2 {
		t.Fatalf("describe sent %d times, want 2", n)
	}
	// A stall once, then an answer: the retry succeeds.
	f.script(keyDescribe, answer{Delay: 10 * time.Second})
	if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	f, srv := newFakeAPI(t)
	for range 5 {
		f.script(keyDescribe, answer{Status: 503})
	}
	c, _ := newClient(t, srv, func(o *Options) { o.InitialBackoff = time.Hour; o.MaxBackoff = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Describe(ctx, wiretest.Creds); !errors.Is(err, equifax.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	if n := f.count(keyDescribe); n != 1 {
		t.Fatalf("describe sent %d times, want 1", n)
	}
}

func TestConnectionRefusedIsTransientAndScrubbed(t *testing.T) {
	c, err := New(Options{BaseURL: "http://user:hunter2@" + wiretest.ClosedAddr(t) + "/?token=sekrit", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background(), wiretest.Creds, "")
	if !errors.Is(err, equifax.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	wiretest.AssertScrubbed(t, err, "hunter2", "sekrit")
}

func TestLogLines(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.script(keyDescribe, answer{Status: 503})
	c, hook := newClient(t, srv, nil)
	if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Renew(context.Background(), wiretest.Creds, equifax.RenewRequest{IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range hook.AllEntries() {
		if e.Message == "retrying equifax call" || e.Message == "access token rejected; fetching a new one" {
			continue
		}
		for _, k := range []string{"op", "client_id", "correlation_id", "efx_transaction_id"} {
			if v, ok := e.Data[k]; !ok || v == "" {
				t.Errorf("log line %q lacks %s: %v", e.Message, k, e.Data)
			}
		}
		seen[fmt.Sprint(e.Data["op"])]++
	}
	if seen["token"] != 1 || seen["describe"] != 2 || seen["renew"] != 1 {
		t.Errorf("log lines per op = %v", seen)
	}
	wiretest.AssertNoSecrets(t, hook, nil)
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	f, srv := newFakeAPI(t)
	c, _ := newClient(t, srv, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.count(keyToken); n != 1 {
		t.Fatalf("token endpoint called %d times, want 1", n)
	}
}
