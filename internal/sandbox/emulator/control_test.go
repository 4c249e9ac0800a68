package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

func control(t *testing.T, srvURL, method, path, body string) (int, []byte) {
	t.Helper()
	req := newReq(t, method, srvURL+ControlPrefix+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	status, _, b := do(t, req)
	return status, b
}

func TestControls(t *testing.T) {
	e, srv := newServer(t, Options{})
	u := srv.URL

	// Seed clients.
	st, b := control(t, u, http.MethodPost, "clients", `{"clientId":"demo","secret":"s3cret"}`)
	var si equifax.SecretInfo
	if st != http.StatusCreated || json.Unmarshal(b, &si) != nil || si.Status != equifax.StatusActive || !si.ExpiresAt.Equal(testStart.Add(DefaultSecretLifetime)) {
		t.Fatalf("seed: %d %s", st, b)
	}
	if !e.Accepts("demo", "s3cret") {
		t.Fatal("seeded secret not accepted")
	}
	st, b = control(t, u, http.MethodPost, "clients", `{"clientId":"short","secret":"x","expiresAt":"2026-02-01T00:00:00Z"}`)
	if st != http.StatusCreated || !strings.Contains(string(b), `"expiresAt":"2026-02-01T00:00:00Z"`) {
		t.Fatalf("seed with expiry: %d %s", st, b)
	}
	st, b = control(t, u, http.MethodPost, "clients", `{"clientId":"random"}`)
	if st != http.StatusCreated || strings.Contains(string(b), "secret\"") {
		t.Fatalf("seed with a random secret: %d %s", st, b)
	}
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"clientId":"demo","secret":"again"}`, http.StatusConflict},
		{`{"clientId":"a b","secret":"x"}`, http.StatusBadRequest},
		{`{"clientId":"","secret":"x"}`, http.StatusBadRequest},
		{`{"clientId":"x","secret":"x","extra":1}`, http.StatusBadRequest},
		{`{"clientId":"x"} {}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
	} {
		if st, b := control(t, u, http.MethodPost, "clients", bad.body); st != bad.status {
			t.Errorf("seed %s: %d %s, want %d", bad.body, st, b, bad.status)
		}
	}

	// The clock.
	st, b = control(t, u, http.MethodPost, "clock", `{"advance":"24h"}`)
	if st != 200 || !strings.Contains(string(b), testStart.Add(24*time.Hour).Format(time.RFC3339)) {
		t.Fatalf("advance: %d %s", st, b)
	}
	st, b = control(t, u, http.MethodPost, "clock", `{"set":"2026-03-01T00:00:00Z"}`)
	if st != 200 || !e.Now().Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("set: %d %s (now %s)", st, b, e.Now())
	}
	if st, b := control(t, u, http.MethodGet, "clock", ""); st != 200 || !strings.Contains(string(b), "2026-03-01T00:00:00Z") {
		t.Fatalf("get clock: %d %s", st, b)
	}
	for _, bad := range []string{`{}`, `{"advance":"1d"}`, `{"advance":"1h","set":"2026-03-01T00:00:00Z"}`, `{"set":"yesterday"}`} {
		if st, _ := control(t, u, http.MethodPost, "clock", bad); st != http.StatusBadRequest {
			t.Errorf("clock %s: %d", bad, st)
		}
	}
	// The short-lived secret expired by the clock.
	if info, _ := e.Client("short"); info.Secrets[0].Status != equifax.StatusExpired {
		t.Errorf("short secret %s after its expiry", info.Secrets[0].Status)
	}

	// Faults.
	if st, b := control(t, u, http.MethodPost, "faults", `{"op":"token","kind":"rate-limit","count":2,"retryAfterSeconds":9}`); st != http.StatusNoContent {
		t.Fatalf("fault: %d %s", st, b)
	}
	for range 2 {
		if r := (restT{srv}).token("demo", "s3cret", mgmt); r.status != 429 || r.header.Get("Retry-After") != "9" {
			t.Fatalf("scripted rate limit: %v", r)
		}
	}
	if st, _ := control(t, u, http.MethodPost, "faults", `{"op":"describe","kind":"stall","stall":"5ms"}`); st != http.StatusNoContent {
		t.Fatal("stall fault refused")
	}
	if r := (restT{srv}).describe("", "demo"); r.status != 504 {
		t.Fatalf("scripted stall: %v", r)
	}
	control(t, u, http.MethodPost, "faults", `{"op":"token","kind":"server-error","count":5}`)
	if st, _ := control(t, u, http.MethodDelete, "faults", ""); st != http.StatusNoContent {
		t.Fatal("clearing faults refused")
	}
	mustToken(t, restT{srv}, "demo", "s3cret")
	for _, bad := range []string{`{"op":"list","kind":"stall"}`, `{"op":"token","kind":"boom"}`, `{"op":"token","kind":"stall","stall":"soon"}`, `{"op":"token","kind":"stall","count":-1}`} {
		if st, _ := control(t, u, http.MethodPost, "faults", bad); st != http.StatusBadRequest {
			t.Errorf("fault %s: %d", bad, st)
		}
	}

	// Latency.
	if st, _ := control(t, u, http.MethodPost, "latency", `{"latency":"1ms"}`); st != http.StatusNoContent {
		t.Fatal("latency refused")
	}
	for _, bad := range []string{`{"latency":"-1s"}`, `{"latency":"fast"}`} {
		if st, _ := control(t, u, http.MethodPost, "latency", bad); st != http.StatusBadRequest {
			t.Errorf("latency %s: %d", bad, st)
		}
	}

	// Calls.
	st, b = control(t, u, http.MethodGet, "calls", "")
	var calls map[string]int
	if st != 200 || json.Unmarshal(b, &calls) != nil || calls["token"] != 3 || calls["describe"] != 1 || calls["renew"] != 0 {
		t.Fatalf("calls: %d %s", st, b)
	}
	if st, _ := control(t, u, http.MethodPost, "calls/reset", ""); st != http.StatusNoContent {
		t.Fatal("reset refused")
	}
	if _, b := control(t, u, http.MethodGet, "calls", ""); string(b) != `{"describe":0,"renew":0,"revoke":0,"token":0}` {
		t.Fatalf("calls after reset: %s", b)
	}

	// State: metadata only.
	st, b = control(t, u, http.MethodGet, "state", "")
	var state []equifax.ClientInfo
	if st != 200 || json.Unmarshal(b, &state) != nil || len(state) != 3 || state[0].ClientID != "demo" || state[2].ClientID != "short" {
		t.Fatalf("state: %d %s", st, b)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Fatal("the state dump holds a plaintext")
	}

	// Methods and paths.
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "clients"}, {http.MethodPut, "clock"}, {http.MethodGet, "faults"},
		{http.MethodGet, "latency"}, {http.MethodPost, "calls"}, {http.MethodGet, "calls/reset"}, {http.MethodPost, "state"},
	} {
		if st, _ := control(t, u, c.method, c.path, ""); st != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, st)
		}
	}
	if st, _ := control(t, u, http.MethodGet, "nothing", ""); st != http.StatusNotFound {
		t.Errorf("unknown control: %d", st)
	}
}

func TestControlsRefuseNonLoopbackPeers(t *testing.T) {
	e := New(Options{})
	for _, tc := range []struct {
		remote string
		ok     bool
	}{
		{"127.0.0.1:40000", true},
		{"127.9.9.9:1", true},
		{"[::1]:40000", true},
		{"192.0.2.10:40000", false},
		{"[2001:db8::1]:443", false},
		{"[::ffff:192.0.2.1]:1", false},
		{"10.0.0.1:5", false},
		{"garbage", false},
		{"", false},
	} {
		for _, path := range []string{"state", "calls", "clock", "clients", "faults", "latency", "calls/reset"} {
			method := http.MethodPost
			if path == "state" || path == "calls" {
				method = http.MethodGet
			}
			body := `{"clientId":"x` + strings.NewReplacer(".", "", ":", "", "[", "", "]", "").Replace(tc.remote) + `","secret":"s"}`
			req := httptest.NewRequest(method, "http://emu"+ControlPrefix+path, strings.NewReader(body))
			req.RemoteAddr = tc.remote
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if refused := rec.Code == http.StatusForbidden; refused == tc.ok {
				t.Errorf("%s %s from %q: %d", method, path, tc.remote, rec.Code)
			}
			if rec.Header().Get("efx-transaction-id") == "" {
				t.Error("no efx-transaction-id")
			}
		}
	}
	// The contract endpoints answer any peer.
	req := httptest.NewRequest(http.MethodGet, "http://emu"+SOAPPath+"?wsdl", nil)
	req.RemoteAddr = "192.0.2.10:40000"
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("WSDL from a remote peer: %d", rec.Code)
	}
}

func TestSeedClientAPI(t *testing.T) {
	e := New(Options{Start: testStart})
	info, err := e.SeedClient("demo", "", time.Time{})
	if err != nil || info.SecretID == "" || info.Hint == "" || !info.CreatedAt.Equal(testStart) {
		t.Fatalf("SeedClient: %+v %v", info, err)
	}
	if _, err := e.SeedClient("demo", "x", time.Time{}); err == nil {
		t.Fatal("seeding an existing client succeeded")
	}
	for _, id := range []string{"", "a/b", "a b", strings.Repeat("x", 129), "é"} {
		if _, err := e.SeedClient(id, "x", time.Time{}); err == nil {
			t.Errorf("SeedClient(%q) succeeded", id)
		}
	}
	if _, ok := e.Client("ghost"); ok {
		t.Fatal("Client(ghost) found")
	}
	if e.Accepts("ghost", "x") || e.Accepts("demo", "x") {
		t.Fatal("Accepts a wrong pair")
	}
	if !New(Options{}).Now().Equal(New(Options{}).Now().Truncate(time.Second)) {
		t.Error("the default clock start is not truncated to the second")
	}
}

func TestTickingClock(t *testing.T) {
	e := New(Options{Ticking: true})
	a := e.Now()
	time.Sleep(5 * time.Millisecond)
	if !e.Now().After(a) {
		t.Fatal("a ticking clock stood still")
	}
	f := New(Options{Start: testStart})
	time.Sleep(2 * time.Millisecond)
	if !f.Now().Equal(testStart) {
		t.Fatal("a fake clock moved by itself")
	}
	f.Advance(time.Hour)
	if !f.Now().Equal(testStart.Add(time.Hour)) {
		t.Fatal("Advance")
	}
}
