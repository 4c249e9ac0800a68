// Package equifax is the provider contract credrotate uses to renew Equifax
// client secrets: an access token, the metadata of a client's secrets, renew
// and revoke. The REST client (package rest), the SOAP adapter (package soap)
// and the mock-safe provider implement it; the emulator (package emulator)
// serves the other side. The wire contract is described in
// docs/equifax-contract.md.
package equifax

import (
	"context"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Status is the state of one client secret at Equifax.
type Status string

// The states a secret moves through.
const (
	StatusActive   Status = "ACTIVE"
	StatusRetiring Status = "RETIRING"
	StatusRevoked  Status = "REVOKED"
	StatusExpired  Status = "EXPIRED"
)

// Valid reports whether a secret in this state can still mint tokens.
func (s Status) Valid() bool { return s == StatusActive || s == StatusRetiring }

// Token is an OAuth2 access token issued by Equifax's token endpoint.
type Token struct {
	AccessToken credential.Secret
	TokenType   string
	Scope       string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// SecretInfo is the metadata of one client secret; never its value.
type SecretInfo struct {
	SecretID    string     `json:"secretId"`
	Status      Status     `json:"status"`
	Hint        string     `json:"hint,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	GraceEndsAt *time.Time `json:"graceEndsAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
}

// Policy is the client's secret policy as Equifax reports it.
type Policy struct {
	MaxSecrets                int   `json:"maxSecrets"`
	SecretLifetimeSeconds     int64 `json:"secretLifetimeSeconds"`
	DefaultGracePeriodSeconds int64 `json:"defaultGracePeriodSeconds"`
	MaxGracePeriodSeconds     int64 `json:"maxGracePeriodSeconds"`
}

// ClientInfo is what Describe returns: every secret of a client, by metadata.
type ClientInfo struct {
	ClientID          string       `json:"clientId"`
	RenewalEligibleAt time.Time    `json:"renewalEligibleAt"`
	Policy            Policy       `json:"policy"`
	Secrets           []SecretInfo `json:"secrets"`
}

// Active returns the ACTIVE secret, if any.
func (c ClientInfo) Active() (SecretInfo, bool) {
	for _, s := range c.Secrets {
		if s.Status == StatusActive {
			return s, true
		}
	}
	return SecretInfo{}, false
}

// Find returns the secret with the given id, if any.
func (c ClientInfo) Find(secretID string) (SecretInfo, bool) {
	for _, s := range c.Secrets {
		if s.SecretID == secretID {
			return s, true
		}
	}
	return SecretInfo{}, false
}

// ValidCount is the number of secrets that can still mint tokens.
func (c ClientInfo) ValidCount() int {
	n := 0
	for _, s := range c.Secrets {
		if s.Status.Valid() {
			n++
		}
	}
	return n
}

// RenewRequest asks for a new client secret.
type RenewRequest struct {
	// IdempotencyKey makes a retried renew replay the first answer instead of
	// minting again. Derive it with IdempotencyKey.
	IdempotencyKey string
	// GracePeriod is how long the previous secret stays valid; zero means the
	// server's default.
	GracePeriod time.Duration
	// Force revokes a RETIRING secret to make room when two are valid.
	Force bool
}

// RenewResult is the answer to a renew: the new secret, once, and what became
// of the previous one.
type RenewResult struct {
	ClientID       string
	Secret         SecretInfo
	ClientSecret   credential.Secret
	PreviousSecret *SecretInfo
}

// Credentials authenticate one client at the token endpoint.
type Credentials struct {
	ClientID     string
	ClientSecret credential.Secret
}

// Provider is the contract the REST client, the SOAP adapter and the mock-safe
// provider implement, and which the conformance suite checks.
type Provider interface {
	// Token obtains an access token for creds with the given scope.
	Token(ctx context.Context, creds Credentials, scope string) (Token, error)
	// Describe returns the metadata of every secret of creds.ClientID.
	Describe(ctx context.Context, creds Credentials) (ClientInfo, error)
	// Renew mints a new secret for creds.ClientID.
	Renew(ctx context.Context, creds Credentials, req RenewRequest) (RenewResult, error)
	// Revoke revokes secretID of creds.ClientID; revoking a revoked secret succeeds.
	Revoke(ctx context.Context, creds Credentials, secretID string) error
}
