// Package provider is the contract between the rotation and the services that
// issue client secrets: describe a client's secrets, create a new secret
// while the old one stays valid, prove a secret works, revoke a secret, and
// the rules each service imposes. The rotation (package rotate) speaks only
// this contract; Equifax (REST and SOAP), Microsoft Entra ID, Okta and Google
// Cloud service account keys implement it, each against its published API.
//
// The vocabulary is Equifax's, which the others map onto:
//
//   - ACTIVE is the newest valid secret of a client, the one a new deployment
//     should use; RETIRING is an older one that still works (on Equifax for a
//     grace period, elsewhere until it is revoked or expires).
//   - INACTIVE is a secret that no longer works but still exists (Okta's
//     deactivated secret, a disabled Google Cloud key): the first half of a
//     two-step revoke.
//   - REVOKED and EXPIRED secrets no longer work.
package provider

import (
	"context"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Status is the state of one client secret.
type Status string

// The states a secret moves through.
const (
	StatusActive   Status = "ACTIVE"
	StatusRetiring Status = "RETIRING"
	StatusInactive Status = "INACTIVE"
	StatusRevoked  Status = "REVOKED"
	StatusExpired  Status = "EXPIRED"
)

// Valid reports whether a secret in this state still authenticates.
func (s Status) Valid() bool { return s == StatusActive || s == StatusRetiring }

// SecretInfo is the metadata of one client secret; never its value.
type SecretInfo struct {
	SecretID string `json:"secretId"`
	Status   Status `json:"status"`
	// Hint is what the service shows of the value (Entra's first
	// characters), if anything.
	Hint      string    `json:"hint,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when the secret stops working. A service that sets no
	// expiry (Okta) reports CreatedAt plus the configured maximum age.
	ExpiresAt   time.Time  `json:"expiresAt"`
	GraceEndsAt *time.Time `json:"graceEndsAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	// Name is the secret's display name where the service keeps one.
	Name string `json:"name,omitempty"`
	// Foreign says credrotate did not make the secret (an Entra password
	// whose display name is not credrotate's, a Google Cloud key whose
	// public half was uploaded): another workload's secret on
	// the same client, perhaps. The rotation never counts, replaces or
	// revokes a foreign secret that nothing it manages refers to.
	Foreign bool `json:"foreign,omitempty"`
}

// ValidUntil is when the secret stops working: the end of its grace period
// when it has one, else its expiry.
func (s SecretInfo) ValidUntil() time.Time {
	if s.GraceEndsAt != nil && (s.ExpiresAt.IsZero() || s.GraceEndsAt.Before(s.ExpiresAt)) {
		return *s.GraceEndsAt
	}
	return s.ExpiresAt
}

// MaxHint is the most of a secret's value a hint keeps.
const MaxHint = 6

// HintOf is a hint from a value as a service lists it: the part before a
// mask of dots when the service masks it (Okta's "DRUFXG......DreBCd"),
// and never more than MaxHint characters, so that a service that lists
// whole values gives no more than their start away.
func HintOf(listed string) string {
	if i := strings.Index(listed, "..."); i >= 0 {
		listed = listed[:i]
	}
	if len(listed) > MaxHint {
		listed = listed[:MaxHint]
	}
	return listed
}

// Policy is a client's secret policy as the service reports it, or as its
// rules imply.
type Policy struct {
	MaxSecrets                int   `json:"maxSecrets"`
	SecretLifetimeSeconds     int64 `json:"secretLifetimeSeconds"`
	DefaultGracePeriodSeconds int64 `json:"defaultGracePeriodSeconds"`
	MaxGracePeriodSeconds     int64 `json:"maxGracePeriodSeconds"`
}

// ClientInfo is what Describe returns: every secret of a client, by metadata.
type ClientInfo struct {
	ClientID string `json:"clientId"`
	// RenewalEligibleAt is the first moment Create is allowed without Force
	// (Equifax's 30-day rule); zero when the service has no such rule.
	RenewalEligibleAt time.Time    `json:"renewalEligibleAt"`
	Policy            Policy       `json:"policy"`
	Secrets           []SecretInfo `json:"secrets"`
	// CallerSecretID is the id of the secret Describe was given
	// (Client.ClientSecret), where the value names its own secret (a
	// Google Cloud key file's private_key_id): which of two valid secrets
	// the workload holds, when no manifest says. Empty where the value
	// does not tell.
	CallerSecretID string `json:"callerSecretId,omitempty"`
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

// ValidCount is the number of secrets that still authenticate.
func (c ClientInfo) ValidCount() int {
	n := 0
	for _, s := range c.Secrets {
		if s.Status.Valid() {
			n++
		}
	}
	return n
}

// Client names one client (an Equifax client, an Entra application, an Okta
// app, a Google Cloud service account) and carries the secret deployed for it
// now. Equifax authenticates every call with that secret, as does an Entra
// application that rotates its own secret; other services use a management
// identity of their own and ignore it.
type Client struct {
	ClientID     string
	ClientSecret credential.Secret
}

// CreateRequest asks for a new secret.
type CreateRequest struct {
	// IdempotencyKey identifies one rotation: a retried create with the same
	// key replays the first answer where the service supports it, and
	// otherwise fails with ErrNotReplayable instead of minting again.
	// Derive it with IdempotencyKey.
	IdempotencyKey string
	// GracePeriod is how long the previous secret stays valid, where the
	// service retires it on create; zero means the service's default.
	GracePeriod time.Duration
	// Force lifts the service's eligibility rules (an emergency rotation).
	Force bool
	// ExpiresAt is the new secret's end date where the service lets the
	// caller set one; zero means the provider's configured lifetime.
	ExpiresAt time.Time
}

// Created is the answer to a create: the new secret, once, and what became
// of the previous one.
type Created struct {
	ClientID     string
	Secret       SecretInfo
	ClientSecret credential.Secret
	// PreviousSecret is the secret the create retired, where it did.
	PreviousSecret *SecretInfo
}

// Revocation is how a service removes a secret.
type Revocation string

// The ways a secret is revoked.
const (
	// RevokeOneStep: one call removes the secret (Equifax, Entra ID).
	RevokeOneStep Revocation = "one-step"
	// RevokeDeactivateThenDelete: the secret is deactivated (it stops
	// working), then deleted (Okta, Google Cloud keys). Revoke does both and
	// resumes from the first when it finds the secret inactive.
	RevokeDeactivateThenDelete Revocation = "deactivate-then-delete"
)

// Rules are what a service allows and how it behaves.
type Rules struct {
	// MaxValid is how many secrets may be valid at once (0: no limit
	// credrotate knows of).
	MaxValid int
	// SetsExpiry: the caller chooses the new secret's end date
	// (CreateRequest.ExpiresAt); otherwise the service's policy does.
	SetsExpiry bool
	// ReportsExpiry: the service reports each secret's expiry; otherwise
	// credrotate tracks age against a configured maximum.
	ReportsExpiry bool
	// RetiresOnCreate: a create moves the previous ACTIVE secret to RETIRING
	// with a grace period (Equifax); elsewhere it stays valid until revoked.
	RetiresOnCreate bool
	// Replays: a create repeated with the same idempotency key returns the
	// first answer, value included, so a secret minted by a killed run can
	// be recovered. Otherwise such a secret is revoked and minted anew.
	Replays bool
	// Revocation is one step or deactivate-then-delete.
	Revocation Revocation
	// Propagation is how long a new secret may take to start working (Entra
	// ID refuses a new password for seconds after addPassword); the proof is
	// retried for at least this long.
	Propagation time.Duration
	// Force: the service has eligibility rules that CreateRequest.Force
	// lifts.
	Force bool
	// CreateSettle is how long a create whose answer never came (a
	// timeout, a lost connection, a 5xx) may still take to be carried out
	// at a service that does not replay creates. The run waits this long
	// before it looks for such a secret, so that a late one never lands
	// beside the next run's. Zero is DefaultCreateSettle; services that
	// replay ignore it.
	CreateSettle time.Duration
}

// DefaultCreateSettle is Rules.CreateSettle when a provider sets none: a
// request a service's front end has accepted ends within its own timeout,
// a minute or two at the services credrotate speaks to.
const DefaultCreateSettle = 2 * time.Minute

// Provider is the contract every service implements and the conformance
// suite (package conformance) checks.
type Provider interface {
	// Name is the service's name for messages: "equifax", "entra", "okta",
	// "gcpkey".
	Name() string
	// Rules describe the service.
	Rules() Rules
	// Describe returns the metadata of every secret of c.
	Describe(ctx context.Context, c Client) (ClientInfo, error)
	// Create mints a new secret for c while the previous stays valid.
	Create(ctx context.Context, c Client, req CreateRequest) (Created, error)
	// Verify proves that secret authenticates c: it obtains a token (or
	// whatever the service's proof is) with it. A secret that does not work
	// (yet) gives an error matching ErrUnauthorized.
	Verify(ctx context.Context, c Client, secret credential.Secret) error
	// Revoke removes secretID of c; revoking a revoked or unknown secret
	// succeeds. Revoking the last valid secret fails with ErrLastSecret.
	Revoke(ctx context.Context, c Client, secretID string) error
}

// Title names a provider type's service for people: "Equifax", "Entra ID",
// "Okta", "Google Cloud IAM"; an unknown name is returned as it is.
func Title(name string) string {
	switch name {
	case "equifax":
		return "Equifax"
	case "entra":
		return "Entra ID"
	case "okta":
		return "Okta"
	case "gcpkey":
		return "Google Cloud IAM"
	}
	return name
}

// Listed is one client a provider found in its scope, with the metadata of
// its secrets.
type Listed struct {
	ClientID string `json:"clientId"`
	// Name is the client's display name (an Entra application's, an Okta
	// app's label, a service account's email), when it has one.
	Name    string       `json:"name,omitempty"`
	Secrets []SecretInfo `json:"secrets"`
}

// Lister is implemented by a provider that can list every client its
// management identity sees (Entra applications in the tenant or under an
// owner, Okta apps, a Google Cloud project's service accounts), so that the
// inventory shows the credentials credrotate does not manage yet. Equifax
// has no such call: its inventory is the configured clients.
type Lister interface {
	List(ctx context.Context) ([]Listed, error)
}
