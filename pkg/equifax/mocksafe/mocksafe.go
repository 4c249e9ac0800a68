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
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	neutral "github.com/credrotate/credrotate/pkg/provider/mocksafe"
)

// Markers of what the mock-safe provider makes up.
const (
	// SecretIDPrefix starts the id of every mock secret.
	SecretIDPrefix = neutral.SecretIDPrefix
	// SecretPrefix starts the plaintext of every mock secret.
	SecretPrefix = neutral.SecretPrefix
	// TokenPrefix starts every mock access token.
	TokenPrefix = "mock-safe-token-"
	// Hint is the hint of every mock secret.
	Hint = neutral.Hint
	// NothingChanged ends every log line.
	NothingChanged = "mock-safe: nothing changed at Equifax"
)

// Defaults for Options.
const (
	DefaultSecretLifetime = neutral.DefaultSecretLifetime
	DefaultGrace          = neutral.DefaultGrace
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

// Provider is the mock-safe equifax.Provider: the provider-neutral
// mock-safe provider over Equifax, plus mock tokens for mock secrets. It is
// safe for concurrent use.
type Provider struct {
	inner equifax.Provider
	n     *neutral.Provider
	log   *logrus.Entry
	now   func() time.Time
}

var _ equifax.Provider = (*Provider)(nil)

// New wraps inner, the real provider, which is only ever asked to read.
func New(inner equifax.Provider, opts Options) *Provider {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{
		inner: inner, log: opts.Logger, now: opts.Now,
		n: neutral.New(equifax.AsProvider(inner, ""), neutral.Options{
			Logger: opts.Logger, SecretLifetime: opts.SecretLifetime, DefaultGrace: opts.DefaultGrace,
			NothingChanged: NothingChanged, Now: opts.Now,
		}),
	}
}

// IsMockSecret reports whether s is a secret the mock-safe provider made up.
func IsMockSecret(s credential.Secret) bool { return neutral.IsMockSecret(s) }

// Token passes through to the real provider, except for a mock secret,
// which gets a mock token without a call (Equifax does not know it).
func (p *Provider) Token(ctx context.Context, creds equifax.Credentials, scope string) (equifax.Token, error) {
	if IsMockSecret(creds.ClientSecret) {
		now := p.now().UTC()
		p.n.Logf("token", creds.ClientID, nil, "mock-safe: mock token for a mock secret, Equifax not called")
		return equifax.Token{
			AccessToken: neutral.RandomValue(TokenPrefix, 16),
			TokenType:   "Bearer",
			Scope:       scope,
			IssuedAt:    now,
			ExpiresAt:   now.Add(DefaultTokenLifetime),
		}, nil
	}
	t, err := p.inner.Token(ctx, creds, scope)
	p.n.Logf("token", creds.ClientID, logrus.Fields{"ok": err == nil}, "mock-safe: read-only token call passed through")
	return t, err
}

// Describe passes through to the real provider. For a mock secret it
// answers with what the mock renew made up (Equifax does not know it).
func (p *Provider) Describe(ctx context.Context, creds equifax.Credentials) (equifax.ClientInfo, error) {
	return p.n.Describe(ctx, creds)
}

// Renew answers with a made-up secret (id prefixed "mock-", plaintext
// prefixed SecretPrefix) without calling Equifax. The previous secret it
// reports is the client's ACTIVE one as the real provider describes it,
// marked RETIRING with the grace deadline a real renew would set. The same
// idempotency key replays the same answer, as Equifax would.
func (p *Provider) Renew(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	return p.n.Create(ctx, creds, req)
}

// Revoke does nothing and says so.
func (p *Provider) Revoke(ctx context.Context, creds equifax.Credentials, secretID string) error {
	return p.n.Revoke(ctx, creds, secretID)
}
