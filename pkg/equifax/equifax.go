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
	"github.com/credrotate/credrotate/pkg/provider"
)

// The contract's types are the provider package's: Equifax's vocabulary is
// the one every provider maps onto.
type (
	// Status is the state of one client secret at Equifax.
	Status = provider.Status
	// SecretInfo is the metadata of one client secret; never its value.
	SecretInfo = provider.SecretInfo
	// Policy is the client's secret policy as Equifax reports it.
	Policy = provider.Policy
	// ClientInfo is what Describe returns: every secret of a client.
	ClientInfo = provider.ClientInfo
	// RenewRequest asks for a new client secret; Force also revokes a
	// RETIRING secret to make room and lifts the eligibility rule.
	RenewRequest = provider.CreateRequest
	// RenewResult is the answer to a renew: the new secret, once, and what
	// became of the previous one.
	RenewResult = provider.Created
	// Credentials authenticate one client at the token endpoint.
	Credentials = provider.Client
)

// The states a secret moves through.
const (
	StatusActive   = provider.StatusActive
	StatusRetiring = provider.StatusRetiring
	StatusRevoked  = provider.StatusRevoked
	StatusExpired  = provider.StatusExpired
)

// Token is an OAuth2 access token issued by Equifax's token endpoint.
type Token struct {
	AccessToken credential.Secret
	TokenType   string
	Scope       string
	IssuedAt    time.Time
	ExpiresAt   time.Time
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
