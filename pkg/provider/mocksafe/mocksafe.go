// Package mocksafe is the provider credrotate uses, for any service, when
// equifax.enableClientSecretRenewal is false: it answers like the service
// and mutates nothing there. Describe and Verify pass through to the real
// provider (they only read); Create answers with a plausible, clearly marked
// mock secret without calling the service; Revoke does nothing. Every log
// line carries mock_safe=true and says that nothing changed.
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
	"github.com/credrotate/credrotate/pkg/provider"
)

// Markers of what the mock-safe provider makes up.
const (
	// SecretIDPrefix starts the id of every mock secret.
	SecretIDPrefix = "mock-"
	// SecretPrefix starts the plaintext of every mock secret.
	SecretPrefix = "mock-safe-not-a-secret-"
	// Hint is the hint of every mock secret.
	Hint = "mock"
	// NothingChanged ends every log line.
	NothingChanged = "mock-safe: nothing changed at the provider"
)

// Defaults for Options.
const (
	DefaultSecretLifetime = 180 * 24 * time.Hour
	DefaultGrace          = 7 * 24 * time.Hour
)

// Options configure a Provider.
type Options struct {
	// Logger gets one line per call, with mock_safe=true; nil: silent.
	Logger *logrus.Entry
	// SecretLifetime is a mock secret's lifetime; default 180 days.
	SecretLifetime time.Duration
	// DefaultGrace is the previous secret's grace when a create names none
	// and the service retires on create; default 7 days.
	DefaultGrace time.Duration
	// NothingChanged ends every log line; default NothingChanged.
	NothingChanged string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Provider is the mock-safe provider.Provider. It is safe for concurrent use.
type Provider struct {
	inner    provider.Provider
	log      *logrus.Entry
	lifetime time.Duration
	grace    time.Duration
	said     string
	now      func() time.Time

	mu      sync.Mutex
	created map[string]provider.Created    // by client id + idempotency key
	mocks   map[string]provider.ClientInfo // by fingerprint of a mock secret
}

var _ provider.Provider = (*Provider)(nil)

// New wraps inner, the real provider, which is only ever asked to read.
func New(inner provider.Provider, opts Options) *Provider {
	p := &Provider{
		inner: inner, log: opts.Logger, lifetime: opts.SecretLifetime, grace: opts.DefaultGrace,
		said: opts.NothingChanged, now: opts.Now,
		created: map[string]provider.Created{}, mocks: map[string]provider.ClientInfo{},
	}
	if p.lifetime <= 0 {
		p.lifetime = DefaultSecretLifetime
	}
	if p.grace <= 0 {
		p.grace = DefaultGrace
	}
	if p.said == "" {
		p.said = NothingChanged
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
	p.log.WithFields(f).Info(msg + "; " + p.said)
}

// Logf logs one line about a mock-safe call (mock_safe=true, the op, the
// client), ending with what was not changed; for wrappers of this provider.
func (p *Provider) Logf(op, clientID string, fields logrus.Fields, msg string) {
	p.logf(op, clientID, fields, msg)
}

// RandomValue is prefix and 2n random hex digits: a made-up secret or token.
func RandomValue(prefix string, n int) credential.Secret {
	return credential.NewSecret(prefix + randomHex(n))
}

func (p *Provider) fail(op string, kind error, desc string) error {
	return &provider.Error{Provider: p.inner.Name(), Op: op, Kind: kind, Description: "mock-safe: " + desc}
}

// Name is the real provider's.
func (p *Provider) Name() string { return p.inner.Name() }

// Rules are the real provider's.
func (p *Provider) Rules() provider.Rules { return p.inner.Rules() }

// Describe passes through to the real provider. For a mock secret it
// answers with what the mock create made up (the service does not know it).
func (p *Provider) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	if IsMockSecret(c.ClientSecret) {
		p.mu.Lock()
		info, ok := p.mocks[c.ClientSecret.Fingerprint()]
		p.mu.Unlock()
		p.logf("describe", c.ClientID, logrus.Fields{"known": ok}, "mock-safe: describe of a mock secret answered locally, the provider not called")
		if !ok || info.ClientID != c.ClientID {
			return provider.ClientInfo{}, p.fail("describe", provider.ErrUnauthorized, "a mock secret made by another process cannot be described")
		}
		return info, nil
	}
	info, err := p.inner.Describe(ctx, c)
	p.logf("describe", c.ClientID, logrus.Fields{"ok": err == nil}, "mock-safe: read-only describe call passed through")
	return info, err
}

// Verify passes through to the real provider (a token request changes
// nothing), except for a mock secret, which is accepted without a call.
func (p *Provider) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	if IsMockSecret(secret) {
		p.logf("verify", c.ClientID, nil, "mock-safe: a mock secret is accepted without a call")
		return nil
	}
	err := p.inner.Verify(ctx, c, secret)
	p.logf("verify", c.ClientID, logrus.Fields{"ok": err == nil}, "mock-safe: read-only proof passed through")
	return err
}

// Create answers with a made-up secret (id prefixed "mock-", plaintext
// prefixed SecretPrefix) without calling the service. Where the service
// retires the previous secret on create, the previous one it reports is the
// client's ACTIVE one marked RETIRING with the grace deadline a real create
// would set; elsewhere the previous secret stays as it is. The same
// idempotency key replays the same answer.
func (p *Provider) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		return provider.Created{}, p.fail("create", provider.ErrBadRequest, "create needs an idempotency key (provider.IdempotencyKey)")
	}
	if req.GracePeriod < 0 {
		return provider.Created{}, p.fail("create", provider.ErrBadRequest, "negative grace period")
	}
	key := c.ClientID + "\x00" + req.IdempotencyKey
	p.mu.Lock()
	prev, ok := p.created[key]
	p.mu.Unlock()
	if ok {
		p.logf("create", c.ClientID, logrus.Fields{"secret_id": prev.Secret.SecretID, "idempotency_key": req.IdempotencyKey}, "mock-safe: replayed a mock create")
		return prev, nil
	}
	info, err := p.Describe(ctx, c)
	if err != nil {
		return provider.Created{}, err
	}
	now := p.now().UTC().Truncate(time.Second)
	expires := now.Add(p.lifetime)
	if !req.ExpiresAt.IsZero() {
		expires = req.ExpiresAt
	}
	value := credential.NewSecret(SecretPrefix + randomHex(16))
	res := provider.Created{
		ClientID: c.ClientID,
		Secret: provider.SecretInfo{
			SecretID: SecretIDPrefix + uuid.NewString(), Status: provider.StatusActive, Hint: Hint,
			CreatedAt: now, ExpiresAt: expires,
		},
		ClientSecret: value,
	}
	after := provider.ClientInfo{ClientID: c.ClientID, Policy: info.Policy, Secrets: []provider.SecretInfo{res.Secret}}
	if !info.RenewalEligibleAt.IsZero() {
		after.RenewalEligibleAt = expires.Add(-30 * 24 * time.Hour)
	}
	for _, s := range info.Secrets {
		switch {
		case s.Status == provider.StatusActive && p.inner.Rules().RetiresOnCreate:
			grace := req.GracePeriod
			if grace == 0 {
				grace = p.grace
			}
			ends := now.Add(grace)
			if s.ExpiresAt.Before(ends) {
				ends = s.ExpiresAt
			}
			s.Status, s.GraceEndsAt = provider.StatusRetiring, &ends
			res.PreviousSecret = &s
		case s.Status == provider.StatusActive:
			s.Status = provider.StatusRetiring // no longer the newest
		}
		after.Secrets = append(after.Secrets, s)
	}
	p.mu.Lock()
	if prev, ok := p.created[key]; ok { // a concurrent create with the same key won
		p.mu.Unlock()
		return prev, nil
	}
	p.created[key] = res
	p.mocks[value.Fingerprint()] = after
	p.mu.Unlock()
	p.logf("create", c.ClientID, logrus.Fields{"secret_id": res.Secret.SecretID, "fingerprint": value.Fingerprint(), "idempotency_key": req.IdempotencyKey},
		"mock-safe: create answered with a mock secret, the provider not called")
	return res, nil
}

// Revoke does nothing and says so.
func (p *Provider) Revoke(_ context.Context, c provider.Client, secretID string) error {
	if secretID == "" {
		return p.fail("revoke", provider.ErrBadRequest, "no secret id to revoke")
	}
	p.logf("revoke", c.ClientID, logrus.Fields{"secret_id": secretID}, "mock-safe: revoke skipped, the provider not called")
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
