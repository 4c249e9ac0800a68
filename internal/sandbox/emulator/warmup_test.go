package emulator

import (
	"net/http"
	"testing"
)

// TestWarmup: a secret minted under a Warmup is refused at the token
// endpoint for its refusals (or for good), while the old one keeps working;
// the control validates its body.
func TestWarmup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		body     string
		refusals int // -1: never works
	}{
		{"works at once", `{}`, 0},
		{"two refusals", `{"refusals":2}`, 2},
		{"never", `{"never":true}`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv := newServer(t, Options{RenewWindow: 10 * DefaultSecretLifetime})
			tr := restT{srv}
			seed(t, e, "c1", "old-secret")
			if st, b := control(t, srv.URL, http.MethodPost, "warmup", tc.body); st != http.StatusNoContent {
				t.Fatalf("warmup control: %d %s", st, b)
			}
			bearer := mustToken(t, tr, "c1", "old-secret")
			r := tr.renew(bearer, "c1", "k1", 0, false)
			if r.status != http.StatusCreated {
				t.Fatalf("renew: %v", r)
			}
			for i := 0; i < 4; i++ {
				got := tr.token("c1", r.secret, mgmt).token != ""
				want := tc.refusals >= 0 && i >= tc.refusals
				if got != want {
					t.Fatalf("token attempt %d with the new secret: got %v, want %v", i+1, got, want)
				}
				if e.Accepts("c1", r.secret) != (tc.refusals >= 0 && i+1 >= tc.refusals) {
					t.Fatalf("Accepts after attempt %d disagrees with the token endpoint", i+1)
				}
			}
			if tr.token("c1", "old-secret", mgmt).token == "" {
				t.Fatal("the old secret stopped working")
			}
		})
	}
	t.Run("bad bodies", func(t *testing.T) {
		t.Parallel()
		_, srv := newServer(t, Options{})
		for _, body := range []string{`{"refusals":-1}`, `{"refusals":"x"}`, `{"later":1}`, `nope`} {
			if st, b := control(t, srv.URL, http.MethodPost, "warmup", body); st != http.StatusBadRequest {
				t.Errorf("warmup %s: %d %s, want 400", body, st, b)
			}
		}
		if st, _ := control(t, srv.URL, http.MethodGet, "warmup", ""); st != http.StatusMethodNotAllowed {
			t.Errorf("GET warmup: %d, want 405", st)
		}
	})
}
