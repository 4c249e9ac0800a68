// Package credential holds the domain types shared by every part of credrotate:
// provider keys, secrets that refuse to be printed, and secret metadata.
package credential

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// ProviderKey names one credential under credrotate's care, such as
// "equifax.unique_client_id". It is also the file name (<key>.yaml) of the
// credential's SealedSecret in every environment overlay.
type ProviderKey string

var providerKeyPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)

// Validate reports whether k can be used as a provider key: lower-case
// letters, digits, '.', '_' and '-', at most 63 characters, starting and
// ending with a letter or digit (it becomes a file name and an annotation).
func (k ProviderKey) Validate() error {
	if !providerKeyPattern.MatchString(string(k)) {
		return fmt.Errorf("provider key %q is not valid: use 1-63 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit", string(k))
	}
	return nil
}

// String returns the key as text.
func (k ProviderKey) String() string { return string(k) }

// Redacted is what a Secret prints instead of its value.
const Redacted = "[REDACTED]"

// Secret is a plaintext credential. It cannot be printed, formatted, logged
// or marshalled: every such path yields Redacted. The value is reachable only
// through Reveal, which keeps each use greppable.
type Secret struct {
	value string
}

// NewSecret wraps a plaintext value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the plaintext. Call it only where the value leaves the
// process on purpose: an HTTP Authorization header or the sealing step.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// Equal reports whether two secrets hold the same value, in constant time.
func (s Secret) Equal(o Secret) bool {
	a, b := sha256.Sum256([]byte(s.value)), sha256.Sum256([]byte(o.value))
	var diff byte
	for i := range a {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}

// Fingerprint returns the secret's public fingerprint, "sha256:" followed by
// the first 16 hex digits of its SHA-256. It identifies a secret in
// annotations, logs and pull requests without revealing it.
func (s Secret) Fingerprint() string { return Fingerprint([]byte(s.value)) }

// String redacts.
func (s Secret) String() string { return Redacted }

// GoString redacts, so %#v does too.
func (s Secret) GoString() string { return Redacted }

// Format redacts for every verb, including %s, %v, %+v, %q and %x.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText redacts; it also covers YAML encoders and logrus' text formatter.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalYAML redacts for YAML encoders that look for it.
func (s Secret) MarshalYAML() (any, error) { return Redacted, nil }

// Fingerprint returns "sha256:" and the first 16 hex digits of the SHA-256 of b.
func Fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

// Metadata describes a secret without its value: what the annotations of a
// SealedSecret manifest carry and what a run summary reports.
type Metadata struct {
	ProviderKey ProviderKey `json:"providerKey"`
	SecretID    string      `json:"secretId"`
	ExpiresAt   time.Time   `json:"expiresAt"`
	RotatedAt   time.Time   `json:"rotatedAt"`
	Fingerprint string      `json:"fingerprint"`
	TraceID     string      `json:"traceId,omitempty"`
	// PreviousSecretID is the secret this one replaces: on a rotation
	// branch, the one revoked once the rollout is observed.
	PreviousSecretID string `json:"previousSecretId,omitempty"`
	// Emergency says the secret was minted by an emergency rotation
	// (--emergency): the one it replaces is revoked as soon as the rollout
	// is observed.
	Emergency bool `json:"emergency,omitempty"`
}
