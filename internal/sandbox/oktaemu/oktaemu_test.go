package oktaemu_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
	list   []map[string]any
}

func call(t *testing.T, h http.Handler, method, path, auth, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if strings.HasPrefix(body, "grant_type") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	a := answer{status: rr.Code, header: rr.Header()}
	b := rr.Body.Bytes()
	if len(b) > 0 && b[0] == '[' {
		_ = json.Unmarshal(b, &a.list)
	} else if len(b) > 0 {
		_ = json.Unmarshal(b, &a.body)
	}
	return a
}

const tok = "SSWS 00token-0123456789"

func TestLimitsAndErrorBodies(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{APIToken: "00token-0123456789"})
	first, _ := e.SeedApp("0oa1", "seeded-value-0123456789", time.Time{})
	base := "/api/v1/apps/0oa1/credentials/secrets"
	cause := func(a answer) string {
		cs, _ := a.body["errorCauses"].([]any)
		if len(cs) == 0 {
			return ""
		}
		return cs[0].(map[string]any)["errorSummary"].(string)
	}
	if a := call(t, e, "POST", base+"/"+first.ID+"/lifecycle/deactivate", tok, ""); a.status != 400 || !strings.Contains(cause(a), "only active") {
		t.Errorf("deactivating the only secret: %d %v", a.status, a.body)
	}
	if a := call(t, e, "DELETE", base+"/"+first.ID, tok, ""); a.status != 400 || !strings.Contains(cause(a), "delete an active") {
		t.Errorf("deleting an active secret: %d %v", a.status, a.body)
	}
	a := call(t, e, "POST", base, tok, "{}")
	if a.status != 201 || a.body["status"] != "ACTIVE" || len(a.body["client_secret"].(string)) < 32 {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	second := a.body["id"].(string)
	if a := call(t, e, "POST", base, tok, "{}"); a.status != 400 || a.body["errorCode"] != "E0000001" || !strings.Contains(cause(a), "maximum number of client secrets") {
		t.Errorf("a third secret: %d %v", a.status, a.body)
	}
	// INACTIVE secrets count too.
	if a := call(t, e, "POST", base+"/"+first.ID+"/lifecycle/deactivate", tok, ""); a.status != 200 || a.body["status"] != "INACTIVE" {
		t.Fatalf("deactivate: %d %v", a.status, a.body)
	}
	if a := call(t, e, "POST", base, tok, `{"client_secret":"own-secret-value-0123456789","status":"ACTIVE"}`); a.status != 400 {
		t.Errorf("a third secret beside an INACTIVE one: %d", a.status)
	}
	if e.Accepts("0oa1", "seeded-value-0123456789") {
		t.Error("an INACTIVE secret is accepted")
	}
	if a := call(t, e, "DELETE", base+"/"+first.ID, tok, ""); a.status != 204 || e.Revoked() != 1 {
		t.Errorf("delete: %d, revoked %d", a.status, e.Revoked())
	}
	if a := call(t, e, "POST", base, tok, `{"client_secret":"short"}`); a.status != 400 || !strings.Contains(cause(a), "at least '14'") {
		t.Errorf("a short secret: %d %v", a.status, a.body)
	}
	if a := call(t, e, "GET", base, tok, ""); a.status != 200 || len(a.list) != 1 || a.list[0]["id"] != second {
		t.Errorf("list: %d %v", a.status, a.list)
	}
	if a := call(t, e, "GET", "/api/v1/apps/0oanope/credentials/secrets", tok, ""); a.status != 404 || a.body["errorCode"] != "E0000007" {
		t.Errorf("unknown app: %d %v", a.status, a.body)
	}
	if a := call(t, e, "GET", base, "SSWS wrong", ""); a.status != 401 || a.body["errorCode"] != "E0000011" {
		t.Errorf("wrong token: %d %v", a.status, a.body)
	}
	if a := call(t, e, "POST", base, tok, "{"+strings.Repeat(" ", oktaemu.MaxBodyBytes)+"}"); a.status != 400 {
		t.Errorf("an oversized body: %d", a.status)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{APIToken: "00token-0123456789", RateLimit: 2, Start: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)})
	_, _ = e.SeedApp("0oa1", "", time.Time{})
	base := "/api/v1/apps/0oa1/credentials/secrets"
	a := call(t, e, "GET", base, tok, "")
	if a.header.Get("X-Rate-Limit-Limit") != "2" || a.header.Get("X-Rate-Limit-Remaining") != "1" {
		t.Errorf("headers %v", a.header)
	}
	call(t, e, "GET", base, tok, "")
	a = call(t, e, "GET", base, tok, "")
	reset, _ := strconv.ParseInt(a.header.Get("X-Rate-Limit-Reset"), 10, 64)
	if a.status != 429 || a.body["errorCode"] != "E0000047" || reset != time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC).Unix() {
		t.Errorf("429: %d %v reset %d", a.status, a.body, reset)
	}
	e.Advance(time.Minute)
	if a := call(t, e, "GET", base, tok, ""); a.status != 200 {
		t.Errorf("after the window: %d", a.status)
	}
}

func TestTokenEndpoints(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{})
	_, _ = e.SeedApp("0oa1", "seeded-value-0123456789", time.Time{})
	basic := func(id, secret string) string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return req.Header.Get("Authorization")
	}
	if a := call(t, e, "POST", "/oauth2/default/v1/token", basic("0oa1", "seeded-value-0123456789"), "grant_type=client_credentials&scope=x"); a.status != 200 || a.body["access_token"] == "" {
		t.Errorf("app token: %d %v", a.status, a.body)
	}
	if a := call(t, e, "POST", "/oauth2/default/v1/token", basic("0oa1", "wrong"), "grant_type=client_credentials"); a.status != 401 || a.body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", a.status, a.body)
	}

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.RegisterServiceApp("0oasvc", &key.PublicKey, "okta.apps.read")
	assertion := func(aud, jti string) string {
		now := e.Now()
		s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{Issuer: "0oasvc", Subject: "0oasvc", Audience: jwt.ClaimStrings{aud},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: jti}).SignedString(key)
		return s
	}
	form := func(a, scope string) string {
		return "grant_type=client_credentials&scope=" + url.QueryEscape(scope) + "&client_assertion_type=" + url.QueryEscape("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") + "&client_assertion=" + a
	}
	aud := "http://example.com/oauth2/v1/token"
	a := call(t, e, "POST", "/oauth2/v1/token", "", form(assertion(aud, "j1"), "okta.apps.read"))
	if a.status != 200 {
		t.Fatalf("service app token: %d %v", a.status, a.body)
	}
	bearer := "Bearer " + a.body["access_token"].(string)
	if a := call(t, e, "GET", "/api/v1/apps/0oa1/credentials/secrets", bearer, ""); a.status != 200 {
		t.Errorf("list with the bearer: %d", a.status)
	}
	if a := call(t, e, "POST", "/api/v1/apps/0oa1/credentials/secrets", bearer, "{}"); a.status != 403 || a.body["errorCode"] != "E0000006" {
		t.Errorf("create without okta.apps.manage: %d %v", a.status, a.body)
	}
	if a := call(t, e, "POST", "/oauth2/v1/token", "", form(assertion(aud, "j1"), "okta.apps.read")); a.status != 401 {
		t.Errorf("a replayed assertion: %d", a.status)
	}
	if a := call(t, e, "POST", "/oauth2/v1/token", "", form(assertion("http://other/oauth2/v1/token", "j2"), "okta.apps.read")); a.status != 401 {
		t.Errorf("another audience: %d", a.status)
	}
	if a := call(t, e, "POST", "/oauth2/v1/token", "", form(assertion(aud, "j3"), "okta.apps.manage")); a.status != 400 || a.body["error"] != "invalid_scope" {
		t.Errorf("a scope not granted: %d %v", a.status, a.body)
	}
	e.Advance(2 * time.Hour)
	if a := call(t, e, "GET", "/api/v1/apps/0oa1/credentials/secrets", bearer, ""); a.status != 401 {
		t.Errorf("an expired bearer: %d", a.status)
	}
}

// TestAppsList: 20 apps a page without a limit, at most 200 with one, the
// after cursor continuing where the last page ended, a Link rel="next"
// only while more remain, a limit that is not a positive number refused,
// and a SAML app listed but without client secrets.
func TestAppsList(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{APIToken: "00token-0123456789"})
	const apps = 230
	for i := 0; i < apps; i++ {
		if _, err := e.SeedApp("0oa"+strconv.Itoa(1000+i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SeedSAMLApp("0oasaml", "intranet"); err != nil {
		t.Fatal(err)
	}
	next := func(a answer) string {
		for _, v := range a.header.Values("Link") {
			if strings.HasSuffix(v, `rel="next"`) {
				u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(v, "<"), `>; rel="next"`))
				if err != nil {
					t.Fatal(err)
				}
				return u.RequestURI()
			}
		}
		return ""
	}
	if a := call(t, e, "GET", "/api/v1/apps", tok, ""); a.status != 200 || len(a.list) != oktaemu.DefaultAppsLimit || next(a) == "" {
		t.Fatalf("no limit: %d, %d apps, next %q", a.status, len(a.list), next(a))
	}
	seen := map[string]bool{}
	path, pages := "/api/v1/apps?limit=1000", 0
	for path != "" {
		a := call(t, e, "GET", path, tok, "")
		if a.status != 200 || len(a.list) > oktaemu.MaxAppsLimit {
			t.Fatalf("%s: %d, %d apps", path, a.status, len(a.list))
		}
		for _, app := range a.list {
			id, _ := app["id"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
			if id == "0oasaml" && app["signOnMode"] != "SAML_2_0" {
				t.Errorf("the SAML app is %v", app)
			}
		}
		path = next(a)
		pages++
	}
	if len(seen) != apps+1 || pages != 2 {
		t.Errorf("%d apps over %d pages, want %d over 2", len(seen), pages, apps+1)
	}
	if a := call(t, e, "GET", "/api/v1/apps?limit=-3", tok, ""); a.status != 400 {
		t.Errorf("limit=-3: %d", a.status)
	}
	if a := call(t, e, "GET", "/api/v1/apps", "SSWS 00wrong", ""); a.status != 401 {
		t.Errorf("a wrong token: %d", a.status)
	}
	if a := call(t, e, "GET", "/api/v1/apps/0oasaml/credentials/secrets", tok, ""); a.status != 404 {
		t.Errorf("the SAML app's client secrets: %d", a.status)
	}
}
