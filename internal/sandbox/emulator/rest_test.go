package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestRESTTokenEndpoint(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	basic := func(r *http.Request) { r.SetBasicAuth("demo", "s3cret") }
	good := "grant_type=client_credentials&scope=" + url.QueryEscape(mgmt)
	for _, tc := range []struct {
		name   string
		method string
		body   string
		mutate func(*http.Request)
		status int
		code   string
	}{
		{"basic auth", "", good, basic, 200, ""},
		{"credentials in the body", "", good + "&client_id=demo&client_secret=s3cret", nil, 200, ""},
		{"basic auth and a matching client_id", "", good + "&client_id=demo", basic, 200, ""},
		{"no credentials", "", good, nil, 401, "invalid_client"},
		{"body credentials without secret", "", good + "&client_id=demo", nil, 401, "invalid_client"},
		{"bearer instead of basic", "", good, func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, 401, "invalid_client"},
		{"two authentication methods", "", good + "&client_secret=s3cret", basic, 400, "invalid_request"},
		{"client_id differs from basic", "", good + "&client_id=other", basic, 400, "invalid_request"},
		{"no grant_type", "", "scope=" + url.QueryEscape(mgmt), basic, 400, "invalid_request"},
		{"password grant", "", "grant_type=password&scope=" + url.QueryEscape(mgmt), basic, 400, "unsupported_grant_type"},
		{"no scope", "", "grant_type=client_credentials", basic, 400, "invalid_scope"},
		{"unknown scope", "", "grant_type=client_credentials&scope=read", basic, 400, "invalid_scope"},
		{"repeated parameter", "", good + "&grant_type=client_credentials", basic, 400, "invalid_request"},
		{"parameters in the query", "", good, func(r *http.Request) { basic(r); r.URL.RawQuery = "scope=x" }, 400, "invalid_request"},
		{"JSON body", "", `{"grant_type":"client_credentials"}`, func(r *http.Request) { basic(r); r.Header.Set("Content-Type", "application/json") }, 400, "invalid_request"},
		{"body too large", "", good + "&pad=" + strings.Repeat("a", maxBody), basic, 400, "invalid_request"},
		{"bad form", "", "grant_type=%zz", basic, 400, "invalid_request"},
		{"GET", http.MethodGet, "", basic, 405, "405.01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, http.MethodPost, srv.URL+TokenPath, strings.NewReader(tc.body))
			if tc.method != "" {
				req.Method = tc.method
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.mutate != nil {
				tc.mutate(req)
			}
			status, hdr, body := do(t, req)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status == 200 {
				var tr map[string]any
				if err := json.Unmarshal(body, &tr); err != nil {
					t.Fatal(err)
				}
				if tr["token_type"] != "Bearer" || tr["expires_in"] != float64(1800) || tr["scope"] != mgmt || tr["access_token"] == "" {
					t.Fatalf("token response %s", body)
				}
				if tr["issued_at"] != strconv.FormatInt(e.Now().UnixMilli(), 10) {
					t.Fatalf("issued_at %v, want %d as a string", tr["issued_at"], e.Now().UnixMilli())
				}
				if hdr.Get("Cache-Control") != "no-store" {
					t.Error("token response may be cached")
				}
				return
			}
			var eb map[string]any
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			got, _ := eb["error"].(string)
			if got == "" {
				got, _ = eb["efxErrorCode"].(string)
			}
			if got != tc.code {
				t.Fatalf("error %q, want %q: %s", got, tc.code, body)
			}
			if tc.status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
			}
			if tc.status == 405 && hdr.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", hdr.Get("Allow"))
			}
		})
	}
}

// TestOAuth2ClientCredentials: a client no one here wrote obtains a token and
// uses it.
func TestOAuth2ClientCredentials(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleAutoDetect, oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		t.Run(strconv.Itoa(int(style)), func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID:     "demo",
				ClientSecret: "s3cret",
				TokenURL:     srv.URL + TokenPath,
				Scopes:       []string{mgmt},
				AuthStyle:    style,
			}
			ctx := context.Background()
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.AccessToken == "" || tok.Type() != "Bearer" || tok.Expiry.IsZero() {
				t.Fatalf("token %+v", tok)
			}
			resp, err := cfg.Client(ctx).Get(srv.URL + secretsPath("demo"))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("describe with the oauth2 client: %d", resp.StatusCode)
			}
		})
	}
	bad := clientcredentials.Config{ClientID: "demo", ClientSecret: "wrong", TokenURL: srv.URL + TokenPath, Scopes: []string{mgmt}}
	_, err := bad.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestRESTRequestValidation(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	tok := mustToken(t, restT{srv}, "demo", "s3cret")
	renew := func(ct, body string) func(*http.Request) {
		return func(r *http.Request) {
			r.Method = http.MethodPost
			r.Header.Set("Idempotency-Key", "k")
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		}
	}
	for _, tc := range []struct {
		name   string
		path   string
		mutate func(*http.Request)
		status int
		code   string
		allow  string
	}{
		{"unknown field", secretsPath("demo"), renew("application/json", `{"grace":5}`), 400, "400.01", ""},
		{"two JSON values", secretsPath("demo"), renew("application/json", `{} {}`), 400, "400.01", ""},
		{"not an object", secretsPath("demo"), renew("application/json", `[1]`), 400, "400.01", ""},
		{"null", secretsPath("demo"), renew("application/json", `null`), 400, "400.01", ""},
		{"wrong type", secretsPath("demo"), renew("application/json", `{"force":"yes"}`), 400, "400.01", ""},
		{"truncated", secretsPath("demo"), renew("application/json", `{"force":tr`), 400, "400.01", ""},
		{"not JSON", secretsPath("demo"), renew("text/plain", `{}`), 400, "400.01", ""},
		{"too large", secretsPath("demo"), renew("application/json", `{"force":false`+strings.Repeat(" ", maxBody)+`}`), 400, "400.01", ""},
		{"huge grace", secretsPath("demo"), renew("application/json", `{"gracePeriodSeconds":99999999999999999}`), 400, "400.01", ""},
		{"PUT on secrets", secretsPath("demo"), func(r *http.Request) { r.Method = http.MethodPut }, 405, "405.01", "GET, POST"},
		{"GET on a secret", secretsPath("demo") + "/sec-1", nil, 405, "405.01", "DELETE"},
		{"unknown path", "/business/security/v1/clients/demo", nil, 404, "404.01", ""},
		{"trailing slash", secretsPath("demo") + "/", nil, 404, "404.01", ""},
		{"too deep", secretsPath("demo") + "/a/b", nil, 404, "404.01", ""},
		{"outside the API", "/v1/other", nil, 404, "404.01", ""},
		{"empty body renews", secretsPath("demo"), renew("", ``), 201, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, http.MethodGet, srv.URL+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			status, hdr, body := do(t, req)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" {
				var eb efxError
				dec := json.NewDecoder(strings.NewReader(string(body)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&eb); err != nil || eb.EfxErrorCode != tc.code || eb.Description == "" || eb.AdditionalErrorDetails == nil {
					t.Fatalf("error body %s (%v), want code %s", body, err, tc.code)
				}
			}
			if tc.allow != "" && hdr.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", hdr.Get("Allow"), tc.allow)
			}
		})
	}
}

func TestRESTResponseShapes(t *testing.T) {
	e, srv := newServer(t, Options{})
	first := seed(t, e, "demo", "s3cret")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	tr := restT{srv}
	tok := mustToken(t, tr, "demo", "s3cret")

	r := tr.renew(tok, "demo", "k1", 0, false)
	wantCode(t, tr, r, "", http.StatusCreated)
	var body map[string]map[string]any
	_ = json.Unmarshal(r.body, &body)
	for _, k := range []string{"secretId", "clientSecret", "status", "hint", "createdAt", "expiresAt"} {
		if _, ok := body["secret"][k]; !ok {
			t.Errorf("secret.%s missing: %s", k, r.body)
		}
	}
	for _, k := range []string{"secretId", "status", "expiresAt", "graceEndsAt"} {
		if _, ok := body["previousSecret"][k]; !ok {
			t.Errorf("previousSecret.%s missing: %s", k, r.body)
		}
	}
	if r.header.Get("Location") != secretsPath("demo")+"/"+r.secretID || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("renew headers %v", r.header)
	}

	d := tr.describe(tok, "demo")
	var info map[string]any
	_ = json.Unmarshal(d.body, &info)
	for _, k := range []string{"clientId", "renewalEligibleAt", "policy", "secrets"} {
		if _, ok := info[k]; !ok {
			t.Errorf("describe: %s missing: %s", k, d.body)
		}
	}
	pol, _ := info["policy"].(map[string]any)
	if pol["maxSecrets"] != float64(2) || pol["secretLifetimeSeconds"] != float64(15552000) ||
		pol["defaultGracePeriodSeconds"] != float64(604800) || pol["maxGracePeriodSeconds"] != float64(2592000) {
		t.Errorf("policy %v", pol)
	}
	if strings.Contains(string(d.body), r.secret) || strings.Contains(string(d.body), "s3cret") {
		t.Error("describe holds a plaintext")
	}

	rv := tr.revoke(tok, "demo", first.SecretID)
	if rv.status != http.StatusNoContent || len(rv.body) != 0 {
		t.Errorf("revoke: %v", rv)
	}
	d = tr.describe(mustToken(t, tr, "demo", r.secret), "demo")
	if !strings.Contains(string(d.body), `"revokedAt":"`) {
		t.Errorf("describe after revoke lacks revokedAt: %s", d.body)
	}
	for _, res := range []result{r, d} {
		if _, err := jsonTime(res.body); err != nil {
			t.Error(err)
		}
	}
	// 401s say how to authenticate.
	if h := tr.describe("", "demo").header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Errorf("WWW-Authenticate %q", h)
	}
}

// jsonTime checks that every time in a body is RFC 3339 in UTC.
func jsonTime(body []byte) (int, error) {
	var walk func(v any) (int, error)
	walk = func(v any) (int, error) {
		n := 0
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && strings.HasSuffix(k, "At") {
					if !strings.HasSuffix(s, "Z") || len(s) != len("2006-01-02T15:04:05Z") {
						return n, &jsonTimeError{k, s}
					}
					n++
				}
				m, err := walk(c)
				n += m
				if err != nil {
					return n, err
				}
			}
		case []any:
			for _, c := range x {
				m, err := walk(c)
				n += m
				if err != nil {
					return n, err
				}
			}
		}
		return n, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, err
	}
	return walk(v)
}

type jsonTimeError struct{ field, value string }

func (e *jsonTimeError) Error() string { return e.field + " is not RFC 3339 UTC: " + e.value }
