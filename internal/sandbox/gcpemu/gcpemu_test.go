package gcpemu_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
)

func serve(t *testing.T, opts gcpemu.Options) (*gcpemu.Emulator, *httptest.Server) {
	t.Helper()
	opts.KeyBits = 1024
	emu := gcpemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.SetURL(srv.URL)
	return emu, srv
}

func tokenFor(t *testing.T, srv *httptest.Server, file []byte) (*oauth2.Token, error) {
	t.Helper()
	cfg, err := google.JWTConfigFromJSON(file, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	return cfg.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())).Token()
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	emu, srv := serve(t, gcpemu.Options{Propagation: time.Minute})
	const sa = "a@p.iam.gserviceaccount.com"
	id, file, err := emu.SeedKey(sa, emu.Now(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokenFor(t, srv, file); err == nil {
		t.Fatal("a key that has not propagated gave a token")
	}
	if emu.Accepts(sa, string(file)) {
		t.Fatal("Accepts before propagation")
	}
	emu.Advance(time.Minute)
	if _, err := tokenFor(t, srv, file); err != nil {
		t.Fatal(err)
	}
	if !emu.Accepts(sa, string(file)) || emu.ValidKeys(sa) != 1 {
		t.Fatal("Accepts after propagation")
	}
	// Another key's private half under this key's id: the signature fails.
	_, other, _ := emu.SeedKey("b@p.iam.gserviceaccount.com", emu.Now().Add(-time.Hour), time.Time{})
	var f, o map[string]string
	_ = json.Unmarshal(file, &f)
	_ = json.Unmarshal(other, &o)
	f["private_key"] = o["private_key"]
	forged, _ := json.Marshal(f)
	if _, err := tokenFor(t, srv, forged); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("forged key: %v", err)
	}
	if emu.Accepts(sa, string(forged)) {
		t.Fatal("Accepts a forged key file")
	}
	// HS256 is refused whatever the secret.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": sa, "aud": srv.URL + "/token", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}).SignedString([]byte("k"))
	res, err := srv.Client().PostForm(srv.URL+"/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {hs}})
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("HS256: %d", res.StatusCode)
	}
	if !emu.Disable(sa, id) {
		t.Fatal("Disable")
	}
	if _, err := tokenFor(t, srv, file); err == nil {
		t.Fatal("a disabled key gave a token")
	}
}

func TestManagementNeedsToken(t *testing.T) {
	t.Parallel()
	emu, srv := serve(t, gcpemu.Options{})
	emu.SeedServiceAccount("a@p.iam.gserviceaccount.com")
	for _, auth := range []string{"", "Bearer forged"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com/keys", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Status  string `json:"status"`
				Details []any  `json:"details"`
			} `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		_ = res.Body.Close()
		if res.StatusCode != 401 || body.Error.Code != 401 || body.Error.Status != "UNAUTHENTICATED" || body.Error.Message == "" || body.Error.Details == nil {
			t.Errorf("auth %q: %d %+v", auth, res.StatusCode, body)
		}
	}
}

func TestLimitsAndBoundedBodies(t *testing.T) {
	t.Parallel()
	emu, srv := serve(t, gcpemu.Options{})
	_, mgmt, _ := emu.SeedKey("ops@p.iam.gserviceaccount.com", emu.Now().Add(-time.Hour), time.Time{})
	tok, err := tokenFor(t, srv, mgmt)
	if err != nil {
		t.Fatal(err)
	}
	const sa = "a@p.iam.gserviceaccount.com"
	emu.SeedServiceAccount(sa)
	post := func(body io.Reader) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/projects/-/serviceAccounts/"+sa+"/keys", body)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for i := 0; i < gcpemu.MaxKeys; i++ {
		if code, b := post(strings.NewReader(`{}`)); code != 200 {
			t.Fatalf("key %d: %d %s", i+1, code, b)
		}
	}
	// Disabled keys count.
	keys := emu.Keys(sa)
	emu.Disable(sa, keys[0].ID)
	if code, b := post(strings.NewReader(`{}`)); code != 400 || !strings.Contains(b, "FAILED_PRECONDITION") {
		t.Fatalf("eleventh key: %d %s", code, b)
	}
	// A body over 1 MiB is refused, not read.
	if code, _ := post(strings.NewReader(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`)); code != 400 {
		t.Fatalf("huge body: %d", code)
	}
	emu.Forbid(sa)
	if code, b := post(strings.NewReader(`{}`)); code != 400 || !strings.Contains(b, gcpemu.KeyCreationPolicy) {
		t.Fatalf("forbidden: %d %s", code, b)
	}
}
