// Package mocksafe is the provider credrotate uses when
// equifax.enableClientSecretRenewal is false: it answers like Equifax and
// mutates nothing there. Reads (Token, Describe) pass through to the real
// provider; Renew answers with a plausible, clearly marked mock secret
// without calling Equifax; Revoke does nothing. Every log line carries
// mock_safe=true and says that nothing changed at Equifax; give the wrapped
// provider a logger with the same field (entry.WithField("mock_safe", true))
// so that its own lines carry the mark too.
package mocksafe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Markers of what the mock-safe provider makes up.
const (
	// SecretIDPrefix starts the id of every mock secret.
	SecretIDPrefix = "mock-"
	// SecretPrefix starts the plaintext of every mock secret.
	SecretPrefix = "mock-safe-not-a-secret-"
	// TokenPrefix starts every mock access token.
	TokenPrefix = "mock-safe-token-"
	// Hint is the hint of every mock secret.
	Hint = "mock"
	// NothingChanged ends every log line.
	NothingChanged = "mock-safe: nothing changed at Equifax"
)

// Defaults for Options.
const (
	DefaultSecretLifetime = 180 * 24 * time.Hour
	DefaultGrace          = 7 * 24 * time.Hour
	DefaultTokenLifetime  = 30 * time.Minute
)

// Options configure a Provider.
type Options struct {
	// Logger gets one line per call, with mock_safe=true; nil: silent.
	Logger *logrus.Entry
	// SecretLifetime is a mock secret's lifetime; default 180 days.
	SecretLifetime time.Duration
	// DefaultGrace is the previous secret's grace when a renew names none;
	// default 7 days.
	DefaultGrace time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Provider is the mock-safe equifax.Provider. It is safe for concurrent use.
type Provider struct {
	inner    equifax.Provider
	log      *logrus.Entry
	lifetime time.Duration
	grace    time.Duration
	now      func() time.Time

	mu      sync.Mutex
	renewed map[string]equifax.RenewResult // by client id + idempotency key
	mocks   map[string]equifax.ClientInfo  // by fingerprint of a mock secret
}

var _ equifax.Provider = (*Provider)(nil)

// New wraps inner, the real provider, which is only ever asked to read.
func New(inner equifax.Provider, opts Options) *Provider {
	p := &Provider{
		inner:    inner,
		log:      opts.Logger,
		lifetime: opts.SecretLifetime,
		grace:    opts.DefaultGrace,
		now:      opts.Now,
		renewed:  map[string]equifax.RenewResult{},
		mocks:    map[string]equifax.ClientInfo{},
	}
	if p.lifetime <= 0 {
		p.lifetime = DefaultSecretLifetime
	}
	if p.grace <= 0 {
		p.grace = DefaultGrace
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// IsMockSecret reports whether s is a secret the mock-safe provider made up.
func IsMockSecret(s credential.Secret) bool { return strings.HasPrefix(s.Reveal(), SecretPrefix) }

func (p *Provider) logf(op, clientID string, fields logrus.Fields, msg string) {
	if p.log == nil {
		return
	}
	f := logrus.Fields{"mock_safe": true, "op": op, "client_id": clientID}
	for k, v := range fields {
		f[k] = v
	}
	p.log.WithFields(f).Info(msg + "; " + NothingChanged)
}

// Token passes through to the real provider, except for a mock secret,
// which gets a mock token without a call (Equifax does not know it).
func (p *Provider) Token(ctx context.Context, creds equifax.Credentials, scope string) (equifax.Token, error) {
	if IsMockSecret(creds.ClientSecret) {
		now := p.now().UTC()
		p.logf("token", creds.ClientID, nil, "mock-safe: mock token for a mock secret, Equifax not called")
		return equifax.Token{
			AccessToken: credential.NewSecret(TokenPrefix + randomHex(16)),
			TokenType:   "Bearer",
			Scope:       scope,
			IssuedAt:    now,
			ExpiresAt:   now.Add(DefaultTokenLifetime),
		}, nil
	}
	t, err := p.inner.Token(ctx, creds, scope)
	p.logf("token", creds.ClientID, logrus.Fields{"ok": err == nil}, "mock-safe: read-only token call passed through")
	return t, err
}

// Describe passes through to the real provider. For a mock secret it
// answers with what the mock renew made up (Equifax does not know it).
func (p *Provider) Describe(ctx context.Context, creds equifax.Credentials) (equifax.ClientInfo, error) {
	if IsMockSecret(creds.ClientSecret) {
		p.mu.Lock()
		info, ok := p.mocks[creds.ClientSecret.Fingerprint()]
		p.mu.Unlock()
		p.logf("describe", creds.ClientID, logrus.Fields{"known": ok}, "mock-safe: describe of a mock secret answered locally, Equifax not called")
		if !ok || info.ClientID != creds.ClientID {
			return equifax.ClientInfo{}, &equifax.Error{Op: "describe", Kind: equifax.ErrUnauthorized, Code: "invalid_client",
				Description: "mock-safe: a mock secret made by another process cannot be described"}
		}
		return info, nil
	}
	info, err := p.inner.Describe(ctx, creds)
	p.logf("describe", creds.ClientID, logrus.Fields{"ok": err == nil}, "mock-safe: read-only describe call passed through")
	return info, err
}

// Renew answers with a made-up secret (id prefixed "mock-", plaintext
// prefixed SecretPrefix) without calling Equifax. The previous secret it
// reports is the client's ACTIVE one as the real provider describes it,
// marked RETIRING with the grace deadline a real renew would set. The same
// idempotency key replays the same answer, as Equifax would.
func (p *Provider) Renew(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		return equifax.RenewResult{}, &equifax.Error{Op: "renew", Kind: equifax.ErrBadRequest, Description: "renew needs an idempotency key (equifax.IdempotencyKey)"}
	}
	if req.GracePeriod < 0 {
		return equifax.RenewResult{}, &equifax.Error{Op: "renew", Kind: equifax.ErrBadRequest, Description: "negative grace period"}
	}
	key := creds.ClientID + "\x00" + req.IdempotencyKey
	p.mu.Lock()
	prev, ok := p.renewed[key]
	p.mu.Unlock()
	if ok {
		p.logf("renew", creds.ClientID, logrus.Fields{"secret_id": prev.Secret.SecretID, "idempotency_key": req.IdempotencyKey}, "mock-safe: replayed a mock renew")
		return prev, nil
	}

	info, err := p.Describe(ctx, creds)
	if err != nil {
		return equifax.RenewResult{}, err
	}
	now := p.now().UTC().Truncate(time.Second)
	value := credential.NewSecret(SecretPrefix + randomHex(16))
	res := equifax.RenewResult{
		ClientID: creds.ClientID,
		Secret: equifax.SecretInfo{
			SecretID:  SecretIDPrefix + uuid.NewString(),
			Status:    equifax.StatusActive,
			Hint:      Hint,
			CreatedAt: now,
			ExpiresAt: now.Add(p.lifetime),
		},
		ClientSecret: value,
	}
	if active, ok := info.Active(); ok {
		grace := req.GracePeriod
		if grace == 0 {
			grace = p.grace
		}
		ends := now.Add(grace)
		if active.ExpiresAt.Before(ends) {
			ends = active.ExpiresAt
		}
		active.Status = equifax.StatusRetiring
		active.GraceEndsAt = &ends
		res.PreviousSecret = &active
	}

	// What a describe would show after this renew, for the mock secret.
	after := equifax.ClientInfo{ClientID: creds.ClientID, RenewalEligibleAt: res.Secret.ExpiresAt.Add(-30 * 24 * time.Hour), Policy: info.Policy}
	after.Secrets = append(after.Secrets, res.Secret)
	if res.PreviousSecret != nil {
		after.Secrets = append(after.Secrets, *res.PreviousSecret)
	}
	p.mu.Lock()
	if prev, ok := p.renewed[key]; ok { // a concurrent renew with the same key won
		p.mu.Unlock()
		return prev, nil
	}
	p.renewed[key] = res
	p.mocks[value.Fingerprint()] = after
	p.mu.Unlock()

	p.logf("renew", creds.ClientID, logrus.Fields{
		"secret_id":       res.Secret.SecretID,
		"fingerprint":     value.Fingerprint(),
		"idempotency_key": req.IdempotencyKey,
	}, "mock-safe: renew answered with a mock secret, Equifax not called")
	return res, nil
}

// Revoke does nothing and says so.
func (p *Provider) Revoke(_ context.Context, creds equifax.Credentials, secretID string) error {
	if secretID == "" {
		return &equifax.Error{Op: "revoke", Kind: equifax.ErrBadRequest, Description: "no secret id to revoke"}
	}
	p.logf("revoke", creds.ClientID, logrus.Fields{"secret_id": secretID}, "mock-safe: revoke skipped, Equifax not called")
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
