package emulator

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// The contract's error table and overlap rules, for REST and SOAP alike.

func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		name, id, secret, scope string
		prepare                 func(t *testing.T, e *Emulator, tr transport)
		code                    string
		status                  int
	}{
		{name: "management scope", id: "demo", secret: "s3cret", scope: mgmt, status: http.StatusOK},
		{name: "product scope", id: "demo", secret: "s3cret", scope: DefaultProductScopes[0], status: http.StatusOK},
		{name: "two scopes", id: "demo", secret: "s3cret", scope: mgmt + " " + DefaultProductScopes[1], status: http.StatusOK},
		{name: "wrong secret", id: "demo", secret: "nope", scope: mgmt, code: "invalid_client", status: http.StatusUnauthorized},
		{name: "unknown client", id: "ghost", secret: "s3cret", scope: mgmt, code: "invalid_client", status: http.StatusUnauthorized},
		{name: "unknown scope", id: "demo", secret: "s3cret", scope: "https://api.equifax.com/other", code: "invalid_scope", status: http.StatusBadRequest},
		{name: "empty scope", id: "demo", secret: "s3cret", scope: "", code: "invalid_scope", status: http.StatusBadRequest},
		{name: "expired secret", id: "demo", secret: "s3cret", scope: mgmt, code: "invalid_client", status: http.StatusUnauthorized,
			prepare: func(t *testing.T, e *Emulator, tr transport) { e.Advance(DefaultSecretLifetime) }},
		{name: "revoked secret", id: "demo", secret: "s3cret", scope: mgmt, code: "invalid_client", status: http.StatusUnauthorized,
			prepare: func(t *testing.T, e *Emulator, tr transport) {
				e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
				tok := mustToken(t, tr, "demo", "s3cret")
				r := tr.renew(tok, "demo", "k", 0, false)
				wantCode(t, tr, r, "", http.StatusCreated)
				wantCode(t, tr, tr.revoke(tok, "demo", r.prevID), "", okStatus(tr, http.StatusNoContent))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, trName := range []string{"rest", "soap"} {
				t.Run(trName, func(t *testing.T) {
					e, srv := newServer(t, Options{})
					seed(t, e, "demo", "s3cret")
					tr := pick(srv, trName)
					if tc.prepare != nil {
						tc.prepare(t, e, tr)
					}
					r := tr.token(tc.id, tc.secret, tc.scope)
					wantCode(t, tr, r, tc.code, tc.status)
					if tc.code == "" {
						if r.token == "" || r.expiresIn != 1800 || r.scope != tc.scope {
							t.Fatalf("token answer %v: token %q expires_in %d scope %q", r, r.token, r.expiresIn, r.scope)
						}
					}
				})
			}
		})
	}
}

func pick(srv *httptest.Server, name string) transport {
	if name == "soap" {
		return soapT{srv}
	}
	return restT{srv}
}

func TestManagementAuthErrors(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{})
			seed(t, e, "demo", "s3cret")
			seed(t, e, "other", "0ther")
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")
			product := tr.token("demo", "s3cret", DefaultProductScopes[0]).token
			otherTok := mustToken(t, tr, "other", "0ther")

			calls := map[string]func(bearer, clientID string) result{
				"describe": func(b, c string) result { return tr.describe(b, c) },
				"renew":    func(b, c string) result { return tr.renew(b, c, "key-1", 0, false) },
				"revoke":   func(b, c string) result { return tr.revoke(b, c, "sec-0000000000000000") },
			}
			for op, call := range calls {
				t.Run(op, func(t *testing.T) {
					wantCode(t, tr, call("", "demo"), "401.02", http.StatusUnauthorized)
					wantCode(t, tr, call("efx.not-a-token", "demo"), "401.03", http.StatusUnauthorized)
					wantCode(t, tr, call(product, "demo"), "403.01", http.StatusForbidden)
					wantCode(t, tr, call(otherTok, "demo"), "403.01", http.StatusForbidden)
					wantCode(t, tr, call(tok, "ghost"), "403.01", http.StatusForbidden)
				})
			}
			// Only revoke reaches 404.01: an unknown client is another client.
			wantCode(t, tr, tr.revoke(tok, "demo", "sec-0000000000000000"), "404.01", http.StatusNotFound)

			e.Advance(DefaultTokenLifetime)
			for op, call := range calls {
				wantCode(t, tr, call(tok, "demo"), "401.01", http.StatusUnauthorized)
				_ = op
			}
		})
	}
}

func TestRenewOverlapRules(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			// Secrets live 40 days: eligible 10 days after creation.
			const life = 40 * 24 * time.Hour
			e, srv := newServer(t, Options{SecretLifetime: life})
			first := seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")

			// Not yet eligible: 409.02 with eligibleAt = expiresAt - 30 days.
			r := tr.renew(tok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "409.02", http.StatusConflict)
			wantEligible := first.ExpiresAt.Add(-DefaultRenewWindow)
			if r.eligibleAt != wantEligible.Format(time.RFC3339) {
				t.Fatalf("eligibleAt %q, want %s", r.eligibleAt, wantEligible.Format(time.RFC3339))
			}
			if info, _ := e.Client("demo"); !info.RenewalEligibleAt.Equal(wantEligible) {
				t.Fatalf("renewalEligibleAt %s, want %s", info.RenewalEligibleAt, wantEligible)
			}

			// Eligible: the new secret is ACTIVE and usable at once; the
			// previous one RETIRING until min(now + grace, its expiry).
			e.SetNow(wantEligible)
			tok = mustToken(t, tr, "demo", "s3cret")
			r = tr.renew(tok, "demo", "k1", 30*24*3600, false)
			wantCode(t, tr, r, "", http.StatusCreated)
			if r.prevID != first.SecretID || r.prevStatus != "RETIRING" {
				t.Fatalf("previous secret %q %q, want %s RETIRING", r.prevID, r.prevStatus, first.SecretID)
			}
			if r.prevEnds != first.ExpiresAt.Format(time.RFC3339) {
				t.Fatalf("grace ends %s, want the old secret's expiry %s (sooner than now + 30 days)", r.prevEnds, first.ExpiresAt.Format(time.RFC3339))
			}
			second := r
			if !e.Accepts("demo", second.secret) || !e.Accepts("demo", "s3cret") {
				t.Fatal("both secrets should authenticate during the grace period")
			}
			d := tr.describe(mustToken(t, tr, "demo", second.secret), "demo")
			if d.secrets[first.SecretID] != "RETIRING" || d.secrets[second.secretID] != "ACTIVE" || len(d.secrets) != 2 {
				t.Fatalf("describe after renew: %v", d.secrets)
			}
			if bytes.Contains(d.body, []byte(second.secret)) {
				t.Fatal("describe returned a plaintext")
			}

			// Two valid secrets: 409.01, even once eligible again, unless force.
			wantCode(t, tr, tr.renew(tok, "demo", "k2", 0, false), "409.01", http.StatusConflict)
			e.Advance(10 * 24 * time.Hour)
			tok = mustToken(t, tr, "demo", "s3cret")
			wantCode(t, tr, tr.renew(tok, "demo", "k2", 0, false), "409.01", http.StatusConflict)
			tok2 := mustToken(t, tr, "demo", second.secret)
			r = tr.renew(tok2, "demo", "k3", 3600, true)
			wantCode(t, tr, r, "", http.StatusCreated)
			if r.prevID != second.secretID {
				t.Fatalf("force renew replaced %s, want %s", r.prevID, second.secretID)
			}
			if want := e.Now().Add(time.Hour).Format(time.RFC3339); r.prevEnds != want {
				t.Fatalf("grace ends %s, want %s", r.prevEnds, want)
			}
			info, _ := e.Client("demo")
			for id, want := range map[string]equifax.Status{first.SecretID: equifax.StatusRevoked, second.secretID: equifax.StatusRetiring, r.secretID: equifax.StatusActive} {
				if s, _ := info.Find(id); s.Status != want {
					t.Errorf("secret %s is %s, want %s", id, s.Status, want)
				}
			}
			if info.ValidCount() != 2 {
				t.Errorf("%d valid secrets, want 2", info.ValidCount())
			}
			// Force revoked the RETIRING one: its tokens no longer work.
			wantCode(t, tr, tr.describe(tok, "demo"), "401.03", http.StatusUnauthorized)
		})
	}
}

func TestRenewGraceAndInterval(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			// Secrets live 20 days, less than the renewal window: only the
			// minimum interval between renewals applies.
			e, srv := newServer(t, Options{SecretLifetime: 20 * 24 * time.Hour})
			seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")

			wantCode(t, tr, tr.renew(tok, "demo", "k0", 31*24*3600, false), "400.01", http.StatusBadRequest)
			wantCode(t, tr, tr.renew(tok, "demo", "k0", -5, false), "400.01", http.StatusBadRequest)

			r := tr.renew(tok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "", http.StatusCreated)
			if want := e.Now().Add(DefaultGrace).Format(time.RFC3339); r.prevEnds != want {
				t.Fatalf("default grace ends %s, want %s", r.prevEnds, want)
			}
			tok2 := mustToken(t, tr, "demo", r.secret)
			wantCode(t, tr, tr.revoke(tok2, "demo", r.prevID), "", okStatus(tr, http.StatusNoContent))

			r2 := tr.renew(tok2, "demo", "k2", 0, false)
			wantCode(t, tr, r2, "409.02", http.StatusConflict)
			if want := e.Now().Add(DefaultMinRenewInterval).Format(time.RFC3339); r2.eligibleAt != want {
				t.Fatalf("eligibleAt %s, want lastRenewal + 5 min = %s", r2.eligibleAt, want)
			}
			e.Advance(DefaultMinRenewInterval)
			wantCode(t, tr, tr.renew(tok2, "demo", "k2", 0, false), "", http.StatusCreated)
		})
	}
}

func TestRevokeRules(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{})
			first := seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")

			wantCode(t, tr, tr.revoke(tok, "demo", first.SecretID), "409.03", http.StatusConflict)
			wantCode(t, tr, tr.revoke(tok, "demo", "sec-unknown"), "404.01", http.StatusNotFound)

			e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
			tok = mustToken(t, tr, "demo", "s3cret")
			r := tr.renew(tok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "", http.StatusCreated)
			newTok := mustToken(t, tr, "demo", r.secret)

			// Renewing does not invalidate tokens; revoking does.
			wantCode(t, tr, tr.describe(tok, "demo"), "", http.StatusOK)
			wantCode(t, tr, tr.revoke(newTok, "demo", first.SecretID), "", okStatus(tr, http.StatusNoContent))
			wantCode(t, tr, tr.revoke(newTok, "demo", first.SecretID), "", okStatus(tr, http.StatusNoContent)) // already revoked
			wantCode(t, tr, tr.describe(tok, "demo"), "401.03", http.StatusUnauthorized)
			wantCode(t, tr, tr.token("demo", "s3cret", mgmt), "invalid_client", http.StatusUnauthorized)
			if e.Accepts("demo", "s3cret") {
				t.Fatal("a revoked secret is accepted")
			}
			wantCode(t, tr, tr.revoke(newTok, "demo", r.secretID), "409.03", http.StatusConflict)
		})
	}
}

func TestRevokeNewerWhileOlderRetires(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{})
			first := seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
			tok := mustToken(t, tr, "demo", "s3cret")
			r := tr.renew(tok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "", http.StatusCreated)

			// The new plaintext was lost: revoke it with the old secret.
			wantCode(t, tr, tr.revoke(tok, "demo", r.secretID), "", okStatus(tr, http.StatusNoContent))
			info, _ := e.Client("demo")
			if s, _ := info.Find(first.SecretID); s.Status != equifax.StatusRetiring {
				t.Fatalf("old secret %s, want it still RETIRING", s.Status)
			}
			// The old one is now the last valid secret.
			wantCode(t, tr, tr.revoke(tok, "demo", first.SecretID), "409.03", http.StatusConflict)

			// Renew again once the interval has passed; the retiring secret
			// keeps its grace deadline and is reported as the previous one.
			wantCode(t, tr, tr.renew(tok, "demo", "k2", 0, false), "409.02", http.StatusConflict)
			e.Advance(DefaultMinRenewInterval)
			r2 := tr.renew(tok, "demo", "k2", 0, false)
			wantCode(t, tr, r2, "", http.StatusCreated)
			if r2.prevID != first.SecretID || r2.prevEnds != r.prevEnds {
				t.Fatalf("previous %s until %s, want %s until %s", r2.prevID, r2.prevEnds, first.SecretID, r.prevEnds)
			}
		})
	}
}

func TestExpiryByClock(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{TokenLifetime: 400 * 24 * time.Hour})
			first := seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
			oldTok := mustToken(t, tr, "demo", "s3cret")
			r := tr.renew(oldTok, "demo", "k1", 0, false)
			wantCode(t, tr, r, "", http.StatusCreated)
			newTok := mustToken(t, tr, "demo", r.secret)

			// The grace period ends: RETIRING becomes EXPIRED, its tokens die.
			e.Advance(DefaultGrace)
			d := tr.describe(newTok, "demo")
			wantCode(t, tr, d, "", http.StatusOK)
			if d.secrets[first.SecretID] != "EXPIRED" || d.secrets[r.secretID] != "ACTIVE" {
				t.Fatalf("after the grace period: %v", d.secrets)
			}
			wantCode(t, tr, tr.describe(oldTok, "demo"), "401.03", http.StatusUnauthorized)
			wantCode(t, tr, tr.token("demo", "s3cret", mgmt), "invalid_client", http.StatusUnauthorized)

			// The new secret expires too: EXPIRED, and nothing authenticates.
			e.Advance(DefaultSecretLifetime)
			info, _ := e.Client("demo")
			if s, _ := info.Find(r.secretID); s.Status != equifax.StatusExpired {
				t.Fatalf("new secret %s after its lifetime, want EXPIRED", s.Status)
			}
			wantCode(t, tr, tr.describe(newTok, "demo"), "401.03", http.StatusUnauthorized)
			wantCode(t, tr, tr.token("demo", r.secret, mgmt), "invalid_client", http.StatusUnauthorized)
		})
	}
}

func TestIdempotentRenew(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{TokenLifetime: 72 * time.Hour})
			seed(t, e, "demo", "s3cret")
			tr := pick(srv, trName)
			e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
			tok := mustToken(t, tr, "demo", "s3cret")

			first := tr.renew(tok, "demo", "rotation-1", 172800, false)
			wantCode(t, tr, first, "", http.StatusCreated)
			e.Advance(time.Hour)
			again := tr.renew(tok, "demo", "rotation-1", 172800, false)
			wantCode(t, tr, again, "", http.StatusCreated)
			if !bytes.Equal(first.body, again.body) {
				t.Fatalf("replay differs:\n%s\n%s", first.body, again.body)
			}
			if tr.name() == "rest" && again.header.Get("Idempotent-Replayed") != "true" {
				t.Error("replay not marked Idempotent-Replayed")
			}
			if info, _ := e.Client("demo"); len(info.Secrets) != 2 {
				t.Fatalf("%d secrets after a replayed renew, want 2", len(info.Secrets))
			}
			wantCode(t, tr, tr.renew(tok, "demo", "rotation-1", 86400, false), "422.01", http.StatusUnprocessableEntity)
			wantCode(t, tr, tr.renew(tok, "demo", "rotation-1", 172800, true), "422.01", http.StatusUnprocessableEntity)

			// The other transport replays the same answer too.
			other := pick(srv, map[string]string{"rest": "soap", "soap": "rest"}[tr.name()])
			if r := other.renew(tok, "demo", "rotation-1", 172800, false); r.secret != first.secret || r.secretID != first.secretID {
				t.Fatalf("%s replay of a %s renew: %v", other.name(), tr.name(), r)
			}

			// After 24 hours the key is forgotten.
			e.Advance(IdempotencyWindow)
			wantCode(t, tr, tr.renew(tok, "demo", "rotation-1", 172800, false), "409.01", http.StatusConflict)
		})
	}
}

func TestRESTRenewNeedsIdempotencyKey(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	tr := restT{srv}
	tok := mustToken(t, tr, "demo", "s3cret")
	wantCode(t, tr, tr.renew(tok, "demo", "", 0, false), "400.01", http.StatusBadRequest)
	if info, _ := e.Client("demo"); len(info.Secrets) != 1 {
		t.Fatal("a renew without Idempotency-Key minted a secret")
	}
	// Authentication comes first.
	wantCode(t, tr, tr.renew("", "demo", "", 0, false), "401.02", http.StatusUnauthorized)
}

func TestSOAPRenewWithoutKeyIsNotReplayed(t *testing.T) {
	e, srv := newServer(t, Options{SecretLifetime: 20 * 24 * time.Hour})
	seed(t, e, "demo", "s3cret")
	tr := soapT{srv}
	tok := mustToken(t, tr, "demo", "s3cret")
	r := tr.renew(tok, "demo", "", 0, false)
	wantCode(t, tr, r, "", http.StatusOK)
	wantCode(t, tr, tr.renew(tok, "demo", "", 0, false), "409.01", http.StatusConflict)

	// The HTTP Idempotency-Key header is accepted in place of the element,
	// but not against a different one.
	res, _ := tr.post("RenewClientSecret", tok, map[string]string{"Idempotency-Key": "a"}, envelope("",
		`<efx:RenewClientSecret><efx:ClientId>demo</efx:ClientId><efx:IdempotencyKey>b</efx:IdempotencyKey></efx:RenewClientSecret>`))
	wantCode(t, tr, res, "400.01", http.StatusBadRequest)
}

func TestHistoryIsBounded(t *testing.T) {
	e, srv := newServer(t, Options{SecretLifetime: 20 * 24 * time.Hour})
	seed(t, e, "demo", "s3cret")
	tr := restT{srv}
	secret := "s3cret"
	for i := range 30 {
		tok := mustToken(t, tr, "demo", secret)
		r := tr.renew(tok, "demo", "k"+strconv.Itoa(i), 0, true)
		wantCode(t, tr, r, "", http.StatusCreated)
		secret = r.secret
		e.Advance(DefaultMinRenewInterval)
	}
	info, _ := e.Client("demo")
	if len(info.Secrets) != maxHistory || info.ValidCount() != 2 {
		t.Fatalf("%d secrets kept (%d valid), want %d (2 valid)", len(info.Secrets), info.ValidCount(), maxHistory)
	}
	if a, _ := info.Active(); !e.Accepts("demo", secret) || info.Secrets[0].SecretID != a.SecretID {
		t.Fatal("the newest secret is not the ACTIVE one, first")
	}
}

func TestCredentialsWithSpecialCharacters(t *testing.T) {
	e, srv := newServer(t, Options{})
	const secret = "p@ss:w+rd/%20é"
	seed(t, e, "demo.client_1~x", secret)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{ClientID: "demo.client_1~x", ClientSecret: secret, TokenURL: srv.URL + TokenPath, Scopes: []string{mgmt}, AuthStyle: style}
		if _, err := cfg.Token(context.Background()); err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
	}
	wantCode(t, soapT{srv}, soapT{srv}.token("demo.client_1~x", secret, mgmt), "", http.StatusOK)
}

func TestIdempotencyKeyValidation(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		e, srv := newServer(t, Options{SecretLifetime: 20 * 24 * time.Hour})
		seed(t, e, "demo", "s3cret")
		tr := pick(srv, trName)
		tok := mustToken(t, tr, "demo", "s3cret")
		wantCode(t, tr, tr.renew(tok, "demo", strings.Repeat("k", 256), 0, false), "400.01", http.StatusBadRequest)
		wantCode(t, tr, tr.renew(tok, "demo", "with space", 0, false), "400.01", http.StatusBadRequest)
		wantCode(t, tr, tr.renew(tok, "demo", strings.Repeat("k", 255), 0, false), "", http.StatusCreated)
	}
}

// TestNoPlaintextKept: the emulator keeps hashes; the one plaintext it holds
// is a renew's answer, for the idempotency window only.
func TestNoPlaintextKept(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret-value")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	tr := restT{srv}
	tok := mustToken(t, tr, "demo", "s3cret-value")
	r := tr.renew(tok, "demo", "k", 0, false)
	wantCode(t, tr, r, "", http.StatusCreated)
	kept := func() []string {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []string
		for _, c := range e.clients {
			for _, s := range c.secrets {
				out = append(out, s.id, s.hint)
			}
			for _, ent := range c.idem {
				out = append(out, ent.result.value)
			}
		}
		return out
	}
	has := func(v string) bool {
		for _, s := range kept() {
			if s == v {
				return true
			}
		}
		return false
	}
	if has("s3cret-value") {
		t.Fatal("the seeded plaintext is kept")
	}
	if !has(r.secret) {
		t.Fatal("the renew answer is not kept for replay")
	}
	e.Advance(IdempotencyWindow)
	if has(r.secret) {
		t.Fatal("the renew answer outlived the idempotency window")
	}
}
