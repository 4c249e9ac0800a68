package entraemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
)

type server struct {
	emu *entraemu.Emulator
	srv *httptest.Server
	app entraemu.App
}

func start(t *testing.T, o entraemu.Options) *server {
	t.Helper()
	e := entraemu.New(o)
	s := httptest.NewServer(e)
	t.Cleanup(s.Close)
	a, err := e.SeedApp(entraemu.SeedSpec{DisplayName: "api", Password: "first-value", PasswordName: "first"})
	if err != nil {
		t.Fatal(err)
	}
	return &server{emu: e, srv: s, app: a}
}

func (s *server) token(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.srv.URL+"/"+s.emu.Tenant()+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func creds(clientID, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {entraemu.GraphScope}}
}

func (s *server) graph(t *testing.T, method, path, tok, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// conforms holds a success exchange with the emulator to Graph v1.0's
// metadata: the path (with its query) resolves, the request is what the
// target takes, the answer of the target's type.
func conforms(schema *csdl.Schema, method, path, reqBody string, answer []byte) []string {
	u, err := url.Parse(path)
	if err != nil {
		return []string{err.Error()}
	}
	tgt, err := schema.Resolve(strings.TrimPrefix(u.EscapedPath(), "/v1.0/"))
	if err != nil {
		return []string{err.Error()}
	}
	out := schema.CheckQuery(tgt, u.Query())
	out = append(out, schema.CheckRequest(tgt, method, []byte(reqBody))...)
	return append(out, schema.CheckResponse(tgt, answer)...)
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	s := start(t, entraemu.Options{})
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"good", creds(s.app.AppID, "first-value"), 200, ""},
		{"wrong secret", creds(s.app.AppID, "nope"), 401, "AADSTS7000215"},
		{"unknown app", creds("00000000-0000-0000-0000-000000000009", "x"), 400, "AADSTS700016"},
		{"wrong grant", func() url.Values { f := creds(s.app.AppID, "first-value"); f.Set("grant_type", "password"); return f }(), 400, "AADSTS70003"},
		{"wrong scope", func() url.Values { f := creds(s.app.AppID, "first-value"); f.Set("scope", "openid"); return f }(), 400, "AADSTS1002012"},
		{"OpenID scopes beside", func() url.Values {
			f := creds(s.app.AppID, "first-value")
			f.Set("scope", entraemu.GraphScope+" openid offline_access profile")
			return f
		}(), 200, ""},
		{"Graph's scope twice", func() url.Values {
			f := creds(s.app.AppID, "first-value")
			f.Set("scope", entraemu.GraphScope+" "+entraemu.GraphScope)
			return f
		}(), 400, "AADSTS1002012"},
		{"no credential", func() url.Values { f := creds(s.app.AppID, ""); f.Del("client_secret"); return f }(), 401, "AADSTS7000218"},
		{"bad assertion", func() url.Values {
			f := creds(s.app.AppID, "")
			f.Del("client_secret")
			f.Set("client_assertion_type", entraemu.AssertionType)
			f.Set("client_assertion", "not.a.jwt")
			return f
		}(), 401, "AADSTS50027"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, m := s.token(t, tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, m)
			}
			if tc.code == "" {
				if m["access_token"] == "" || m["token_type"] != "Bearer" {
					t.Errorf("answer %v", m)
				}
				return
			}
			if d, _ := m["error_description"].(string); !strings.HasPrefix(d, tc.code+":") {
				t.Errorf("error_description %q, want %s", d, tc.code)
			}
		})
	}
	// Another tenant is not found.
	resp, err := http.PostForm(s.srv.URL+"/fabrikam.onmicrosoft.com/oauth2/v2.0/token", creds(s.app.AppID, "first-value"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("another tenant: %d", resp.StatusCode)
	}
}

// TestGraph: the resources and actions, Graph's error bodies, the policy
// knobs, and that every success answer matches the metadata.
func TestGraph(t *testing.T) {
	t.Parallel()
	schema, err := csdl.GraphV1()
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, entraemu.Options{Propagation: 10 * time.Second, MaxLifetime: 365 * 24 * time.Hour, MaxPasswords: 2})
	_, m := s.token(t, creds(s.app.AppID, "first-value"))
	tok := m["access_token"].(string)

	get := "/v1.0/applications/" + s.app.ObjectID
	status, body := s.graph(t, "GET", get, tok, "")
	if vs := conforms(schema, "GET", get, "", body); status != 200 || len(vs) != 0 {
		t.Fatalf("get: %d %s %v", status, body, vs)
	}
	byAppID := "/v1.0/applications(appId='" + s.app.AppID + "')?$select=id,passwordCredentials"
	status, body = s.graph(t, "GET", byAppID, tok, "")
	var app map[string]any
	_ = json.Unmarshal(body, &app)
	if vs := conforms(schema, "GET", byAppID, "", body); status != 200 || app["id"] != s.app.ObjectID || app["appId"] != nil || len(vs) != 0 {
		t.Fatalf("get by appId with $select: %d %s %v", status, body, vs)
	}

	// Graph's error body.
	status, body = s.graph(t, "GET", "/v1.0/applications/"+s.app.ObjectID, "", "")
	var ge struct {
		Error struct {
			Code       string            `json:"code"`
			Message    string            `json:"message"`
			InnerError map[string]string `json:"innerError"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &ge)
	if status != 401 || ge.Error.Code != "InvalidAuthenticationToken" || ge.Error.InnerError["request-id"] == "" || ge.Error.InnerError["date"] == "" {
		t.Errorf("no token: %d %s", status, body)
	}
	other, _ := s.emu.SeedApp(entraemu.SeedSpec{})
	if status, _ := s.graph(t, "GET", "/v1.0/applications/"+other.ObjectID, tok, ""); status != 403 {
		t.Errorf("another application: %d, want 403", status)
	}
	if status, _ := s.graph(t, "GET", "/v1.0/applications/nope", tok, ""); status != 404 {
		t.Errorf("unknown application: %d, want 404", status)
	}

	add := "/v1.0/applications/" + s.app.ObjectID + "/addPassword"
	end := s.emu.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)
	status, body = s.graph(t, "POST", add, tok, `{"passwordCredential":{"displayName":"x","endDateTime":"`+end+`"}}`)
	if status != 400 || !strings.Contains(string(body), "CredentialInvalidLifetimeAsPerAppPolicy") {
		t.Errorf("past the policy: %d %s", status, body)
	}
	status, body = s.graph(t, "POST", add, tok, `{"passwordCredential":{"displayName":"x","lifetime":"P1D"}}`)
	if status != 400 {
		t.Errorf("an undeclared property: %d %s", status, body)
	}
	second := `{"passwordCredential":{"displayName":"second","endDateTime":"` + s.emu.Now().Add(30*24*time.Hour).Format(time.RFC3339) + `"}}`
	status, body = s.graph(t, "POST", add, tok, second)
	if vs := conforms(schema, "POST", add, second, body); status != 200 || len(vs) != 0 {
		t.Fatalf("addPassword: %d %s %v", status, body, vs)
	}
	var pc struct{ KeyID, SecretText, Hint string }
	_ = json.Unmarshal(body, &pc)
	if len(pc.SecretText) != 40 || pc.Hint != pc.SecretText[:3] {
		t.Errorf("password %+v", pc)
	}
	// Propagation: refused, then accepted.
	if st, _ := s.token(t, creds(s.app.AppID, pc.SecretText)); st != 401 || s.emu.Accepts(s.app.AppID, pc.SecretText) {
		t.Errorf("a new password works before it propagated: %d", st)
	}
	s.emu.Advance(10 * time.Second)
	if st, _ := s.token(t, creds(s.app.AppID, pc.SecretText)); st != 200 {
		t.Errorf("a propagated password refused: %d", st)
	}
	if n := s.emu.ValidPasswords(s.app.AppID); n != 2 {
		t.Errorf("%d valid passwords", n)
	}
	// The per-app limit.
	if status, body = s.graph(t, "POST", add, tok, `{"passwordCredential":{"endDateTime":"`+s.emu.Now().Add(time.Hour).Format(time.RFC3339)+`"}}`); status != 400 || !strings.Contains(string(body), "maximum number of password credentials") {
		t.Errorf("past the limit: %d %s", status, body)
	}

	rm := "/v1.0/applications/" + s.app.ObjectID + "/removePassword"
	if status, _ = s.graph(t, "POST", rm, tok, `{"keyId":"not-a-guid"}`); status != 400 {
		t.Errorf("a keyId not a GUID: %d", status)
	}
	if status, body = s.graph(t, "POST", rm, tok, `{"keyId":"`+pc.KeyID+`"}`); status != 204 || len(conforms(schema, "POST", rm, `{"keyId":"`+pc.KeyID+`"}`, body)) != 0 {
		t.Errorf("removePassword: %d %s %v", status, body, conforms(schema, "POST", rm, `{"keyId":"`+pc.KeyID+`"}`, body))
	}
	if status, _ = s.graph(t, "POST", rm, tok, `{"keyId":"`+pc.KeyID+`"}`); status != 404 {
		t.Errorf("removePassword again: %d", status)
	}
	if s.emu.Revoked() != 1 || s.emu.Accepts(s.app.AppID, pc.SecretText) {
		t.Errorf("revoked %d", s.emu.Revoked())
	}
	// Tokens expire on the emulator's clock.
	s.emu.Advance(2 * time.Hour)
	if status, body = s.graph(t, "GET", "/v1.0/applications/"+s.app.ObjectID, tok, ""); status != 401 || !strings.Contains(string(body), "expired") {
		t.Errorf("an expired token: %d %s", status, body)
	}
}

// TestBoundedBodies: a request body past the cap is refused without being
// read whole.
func TestBoundedBodies(t *testing.T) {
	t.Parallel()
	s := start(t, entraemu.Options{})
	big := strings.Repeat("a", entraemu.MaxBodyBytes+10)
	resp, err := http.Post(s.srv.URL+"/"+s.emu.Tenant()+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader("client_secret="+big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("an oversized token request: %d", resp.StatusCode)
	}
	_, m := s.token(t, creds(s.app.AppID, "first-value"))
	status, _ := s.graph(t, "POST", "/v1.0/applications/"+s.app.ObjectID+"/addPassword", m["access_token"].(string), `{"passwordCredential":{"displayName":"`+big+`"}}`)
	if status != 400 || len(s.emu.Apps()[0].Passwords) != 1 {
		t.Errorf("an oversized addPassword: %d", status)
	}
}

func FuzzServeHTTP(f *testing.F) {
	f.Add("POST", "/v1.0/applications/x/addPassword", `{"passwordCredential":{}}`)
	f.Add("POST", "/contoso.onmicrosoft.com/oauth2/v2.0/token", "grant_type=client_credentials")
	f.Add("GET", "/v1.0/applications(appId='x')", "")
	e := entraemu.New(entraemu.Options{})
	a, _ := e.SeedApp(entraemu.SeedSpec{Password: "v"})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://emu"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		_ = a
	})
}

func TestControls(t *testing.T) {
	t.Parallel()
	s := start(t, entraemu.Options{})
	before := s.emu.Now()
	resp, err := http.Post(s.srv.URL+entraemu.ControlPrefix+"state", "application/json", strings.NewReader(`{"advance":"24h","propagation":"5s","maxLifetime":"720h"}`))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Now         time.Time
		Propagation string
		MaxLifetime string
		Apps        []entraemu.App
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || st.Propagation != "5s" || st.MaxLifetime != "720h0m0s" || st.Now.Sub(before) < 24*time.Hour || len(st.Apps) != 1 {
		t.Errorf("controls: %d %+v %v", resp.StatusCode, st, err)
	}
	resp, err = http.Post(s.srv.URL+entraemu.ControlPrefix+"state", "application/json", strings.NewReader(`{"advance":"soon"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a bad duration: %d", resp.StatusCode)
	}
}
