package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// TestForceLiftsEligibility: force, the emergency path for a leaked secret,
// renews whatever the eligibility rule says (409.02: the renewal window and
// the minimum interval) and whatever the two-secret rule says (409.01), and
// every forced renew is in the state dump with what it overrode.
func TestForceLiftsEligibility(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{})
			first := seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")

			// 180 days left: far outside the 30-day window.
			r := tr.renew(tok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "409.02", http.StatusConflict)
			if n := len(e.ForcedRenewals("demo")); n != 0 {
				t.Fatalf("%d forced renewals audited before any", n)
			}
			r = tr.renew(tok, "demo", "k2", 0, true)
			wantCode(t, tr, r, "", http.StatusCreated)
			if r.prevID != first.SecretID || r.prevStatus != "RETIRING" {
				t.Fatalf("previous secret %q %q, want %s RETIRING", r.prevID, r.prevStatus, first.SecretID)
			}
			second := r
			audit := e.ForcedRenewals("demo")
			if len(audit) != 1 {
				t.Fatalf("audit %+v, want one forced renewal", audit)
			}
			a := audit[0]
			if !a.At.Equal(e.Now().Truncate(time.Second)) || a.ClientID != "demo" || a.NewSecretID != second.secretID || a.PreviousSecretID != first.SecretID ||
				len(a.Overrode) != 1 || !strings.HasPrefix(a.Overrode[0], "409.02") || len(a.Revoked) != 0 {
				t.Fatalf("audit record %+v", a)
			}
			// A replay of the forced renew is the same answer, not another
			// forced renewal.
			wantCode(t, tr, tr.renew(tok, "demo", "k2", 0, true), "", http.StatusCreated)
			if n := len(e.ForcedRenewals("demo")); n != 1 {
				t.Fatalf("a replay was audited: %d records", n)
			}

			// At once again (inside the minimum interval, two valid secrets):
			// force lifts both rules and revokes the retiring secret.
			tok2 := mustToken(t, tr, "demo", second.secret)
			wantCode(t, tr, tr.renew(tok2, "demo", "k3", 0, false), "409.01", http.StatusConflict)
			r = tr.renew(tok2, "demo", "k4", 0, true)
			wantCode(t, tr, r, "", http.StatusCreated)
			audit = e.ForcedRenewals("demo")
			if len(audit) != 2 {
				t.Fatalf("audit %+v, want two forced renewals", audit)
			}
			a = audit[1]
			if len(a.Overrode) != 2 || !strings.HasPrefix(a.Overrode[0], "409.02") || !strings.HasPrefix(a.Overrode[1], "409.01") ||
				len(a.Revoked) != 1 || a.Revoked[0] != first.SecretID || a.PreviousSecretID != second.secretID {
				t.Fatalf("second audit record %+v", a)
			}
			info, _ := e.Client("demo")
			for id, want := range map[string]equifax.Status{first.SecretID: equifax.StatusRevoked, second.secretID: equifax.StatusRetiring, r.secretID: equifax.StatusActive} {
				if s, _ := info.Find(id); s.Status != want {
					t.Errorf("secret %s is %s, want %s", id, s.Status, want)
				}
			}

			// The state dump over HTTP carries the audit, and still reads as
			// the client metadata it always was; no plaintext.
			st, b := control(t, srv.URL, http.MethodGet, "state", "")
			var dump []ClientState
			var plain []equifax.ClientInfo
			if st != http.StatusOK || json.Unmarshal(b, &dump) != nil || json.Unmarshal(b, &plain) != nil {
				t.Fatalf("state: %d %s", st, b)
			}
			if len(dump) != 1 || len(dump[0].ForcedRenewals) != 2 || dump[0].ForcedRenewals[1].NewSecretID != r.secretID || plain[0].ClientID != "demo" || len(plain[0].Secrets) != 3 {
				t.Fatalf("state dump: %s", b)
			}
			for _, s := range []string{"s3cret", second.secret, r.secret} {
				if strings.Contains(string(b), s) {
					t.Fatal("the state dump holds a plaintext")
				}
			}
		})
	}
}
