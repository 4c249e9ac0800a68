// Package httpprov is the declarative HTTP provider (provider type http): a
// service's secret-rotation API described in a YAML file instead of Go code.
// The description declares each step of the provider contract (token,
// describe, create, verify, retire, revoke) as an HTTP request built from Go
// text/templates, and reads each answer with RFC 9535 JSONPath queries
// (github.com/theory/jsonpath). The Provider built from a description
// implements provider.Provider.
//
// A run goes like this for every call of the contract:
//
//	token (cached per client, secret and settings) ─┐
//	                                                ├─> step request ─> answer
//	key settings, secrets, request, earlier results ┘        │
//	                        success code? ── yes ─> extract results by JSONPath
//	                                      └─ no ──> extract error code ─> Kind table
//
// Secrets reach templates only from the key's current secret, the secret
// being verified, the token step's access token and the SecretSources the
// configuration names; a URL may never refer to one (Validate refuses it).
// Every answer is capped at 1 MiB, redirects are refused for credentials
// (pkg/credential/redirect), and no error carries a secret.
package httpprov

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Description is one service's API, as a description file declares it.
type Description struct {
	// Name is the service's name in messages and errors ("equifax-rest").
	Name string `json:"name"`
	// Settings are the description's defaults for .settings in templates
	// (base URLs, scopes); the configuration may override each.
	Settings map[string]string `json:"settings,omitempty"`
	// OpenAPI is the path of the service's OpenAPI description, if any.
	OpenAPI string `json:"openapi,omitempty"`
	// Rules are the service's rules (provider.Rules).
	Rules RulesSpec `json:"rules"`
	// Errors maps the service's error codes to kinds: unauthorized,
	// forbidden, not_found, too_many_secrets, not_eligible, last_secret,
	// idempotency_conflict, not_replayable, rate_limited, transient,
	// bad_request, malformed_response. A code not listed falls back to the
	// HTTP status (provider.KindForStatus).
	Errors map[string]string `json:"errors,omitempty"`
	// ErrorMatches map a failed answer to a kind by its message, for
	// services that give several failures one code (Okta's E0000001): the
	// first whose code (if set) is the answer's and whose text the message
	// contains (ignoring case) decides, before Errors is consulted.
	ErrorMatches []ErrorMatch `json:"errorMatches,omitempty"`
	// Error is how every step reads a failed answer, unless the step
	// declares its own.
	Error ErrorSpec `json:"error,omitempty"`
	// Statuses maps the service's secret states to ACTIVE, RETIRING,
	// INACTIVE, REVOKED or EXPIRED; a state not listed is taken as it is
	// when it is one of those, and is otherwise a malformed answer.
	Statuses map[string]string `json:"statuses,omitempty"`
	// TokenRejected lists the error codes that mean the access token was
	// refused (expired, revoked): the cached token is dropped and the step
	// is tried once more with a new one.
	TokenRejected []string `json:"tokenRejected,omitempty"`
	// RequestIDHeader is the answer header that carries the service's
	// request id ("efx-transaction-id"), kept in errors.
	RequestIDHeader string `json:"requestIdHeader,omitempty"`
	// Retry is every step's retry policy, unless the step declares its own.
	Retry *RetrySpec `json:"retry,omitempty"`
	// Steps are the calls.
	Steps Steps `json:"steps"`

	// dir is the description file's folder, for a relative openapi path.
	dir string
}

// ErrorMatch maps the failed answers whose message contains a text to a
// kind.
type ErrorMatch struct {
	// Code, if set, is the error code the answer must carry too.
	Code string `json:"code,omitempty"`
	// Contains is the text the message must contain, ignoring case.
	Contains string `json:"contains"`
	// Kind is one of the kinds Errors uses.
	Kind string `json:"kind"`
}

// RulesSpec declares provider.Rules, and how secrets are read where the
// service says less than the contract needs.
type RulesSpec struct {
	MaxValid        int      `json:"maxValid"`
	SetsExpiry      bool     `json:"setsExpiry,omitempty"`
	ReportsExpiry   bool     `json:"reportsExpiry,omitempty"`
	RetiresOnCreate bool     `json:"retiresOnCreate,omitempty"`
	Replays         bool     `json:"replays,omitempty"`
	Force           bool     `json:"force,omitempty"`
	Revocation      string   `json:"revocation,omitempty"` // one-step (default) or deactivate-then-delete
	Propagation     Duration `json:"propagation,omitempty"`
	// MaxAge is how long a secret lives for credrotate when the service
	// reports no expiry (Okta): a secret without one expires MaxAge after
	// it was created, and the policy's lifetime is MaxAge.
	MaxAge Duration `json:"maxAge,omitempty"`
	// NewestActive: when several secrets are ACTIVE at the service (Okta
	// keeps both valid until one is deactivated), the newest by createdAt
	// is the contract's ACTIVE and the others RETIRING.
	NewestActive bool `json:"newestActive,omitempty"`
	// ClearsInactive: before a create, when the client holds MaxValid
	// secrets and one is INACTIVE (what an interrupted two-step revoke
	// leaves), that one is revoked first (the revoke step), once the
	// deployed secret is proven to work and so cannot be it. Without proof
	// it is left alone, and the create meets the service's limit.
	ClearsInactive bool `json:"clearsInactive,omitempty"`
}

// Steps are the calls of the contract. Describe, create and revoke are
// required, and verify unless a token step is declared (a token obtained
// with the new secret is then the proof).
type Steps struct {
	Token    *Step `json:"token,omitempty"`
	Describe *Step `json:"describe,omitempty"`
	Create   *Step `json:"create,omitempty"`
	Verify   *Step `json:"verify,omitempty"`
	Retire   *Step `json:"retire,omitempty"`
	Revoke   *Step `json:"revoke,omitempty"`
}

// Step is one HTTP call.
type Step struct {
	// Method is the HTTP method; default GET, or POST with a body.
	Method string `json:"method,omitempty"`
	// URL, Headers and Body are Go text/templates (see Data).
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// SuccessCodes are the statuses of a successful answer; default 200.
	SuccessCodes []int `json:"successCodes,omitempty"`
	// IdempotencyHeader names the header that carries the create's
	// idempotency key ("Idempotency-Key"). A create is retried only when it
	// has one.
	IdempotencyHeader string `json:"idempotencyHeader,omitempty"`
	// Retry overrides the description's retry policy.
	Retry *RetrySpec `json:"retry,omitempty"`
	// Result says what to read from a successful answer.
	Result Result `json:"result,omitempty"`
	// Error overrides the description's error reading.
	Error *ErrorSpec `json:"error,omitempty"`
}

// Result is what a step reads from its answer, each a JSONPath query
// (RFC 9535) over the answer's JSON. A query may end in " | unix" or
// " | unixms" to read a number of seconds or milliseconds since 1970 as a
// time; other times are RFC 3339 strings.
type Result struct {
	// Token step.
	AccessToken string `json:"accessToken,omitempty"`
	TokenType   string `json:"tokenType,omitempty"`
	ExpiresIn   string `json:"expiresIn,omitempty"`
	IssuedAt    string `json:"issuedAt,omitempty"`
	Scope       string `json:"scope,omitempty"`
	// Describe step: Secrets selects every secret; Each reads one, with $
	// the secret's node.
	ClientID          string       `json:"clientId,omitempty"`
	RenewalEligibleAt string       `json:"renewalEligibleAt,omitempty"`
	Policy            PolicyFields `json:"policy,omitempty"`
	Secrets           string       `json:"secrets,omitempty"`
	Each              SecretFields `json:"each,omitempty"`
	// Create step: the new secret and, where the service reports it, the
	// one it retired.
	Secret   SecretFields `json:"secret,omitempty"`
	Previous SecretFields `json:"previous,omitempty"`
}

// PolicyFields read a client's policy.
type PolicyFields struct {
	MaxSecrets                string `json:"maxSecrets,omitempty"`
	SecretLifetimeSeconds     string `json:"secretLifetimeSeconds,omitempty"`
	DefaultGracePeriodSeconds string `json:"defaultGracePeriodSeconds,omitempty"`
	MaxGracePeriodSeconds     string `json:"maxGracePeriodSeconds,omitempty"`
}

// SecretFields read one secret's metadata (and, for a create, its value).
type SecretFields struct {
	Value       string `json:"value,omitempty"`
	ID          string `json:"id,omitempty"`
	Status      string `json:"status,omitempty"`
	Hint        string `json:"hint,omitempty"`
	Name        string `json:"name,omitempty"`
	CreatedAt   string `json:"createdAt,omitempty"`
	ExpiresAt   string `json:"expiresAt,omitempty"`
	GraceEndsAt string `json:"graceEndsAt,omitempty"`
	RevokedAt   string `json:"revokedAt,omitempty"`
}

// ErrorSpec reads a failed answer. A union query such as
// $['error','efxErrorCode'] takes the first member present for a code;
// a message is every string the query selects, joined with "; " (so that
// $..errorSummary reads a summary and each of its causes).
type ErrorSpec struct {
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	EligibleAt string `json:"eligibleAt,omitempty"`
	// RetryAfter reads seconds from the body when the Retry-After header
	// is absent.
	RetryAfter string `json:"retryAfter,omitempty"`
}

// RetrySpec is a step's retry policy: rate limits and transient failures
// (5xx, timeouts, dropped connections) are retried with capped, jittered
// exponential backoff that waits at least the server's Retry-After.
type RetrySpec struct {
	MaxRetries     *int     `json:"maxRetries,omitempty"`
	InitialBackoff Duration `json:"initialBackoff,omitempty"`
	MaxBackoff     Duration `json:"maxBackoff,omitempty"`
	// MaxRetryAfter is the longest Retry-After waited for; a longer one
	// ends the call with ErrRateLimited.
	MaxRetryAfter Duration `json:"maxRetryAfter,omitempty"`
	// ResetHeader names a header that tells, in seconds since the epoch,
	// when a spent rate limit resets (Okta's X-Rate-Limit-Reset): a 429
	// carrying it is retried no sooner, as with Retry-After.
	ResetHeader string `json:"resetHeader,omitempty"`
}

// Duration is a time.Duration written as "500ms" or "10s".
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"500ms\" or \"10s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"500ms\" or \"10s\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Parse reads a description from YAML (or JSON), refusing unknown fields.
func Parse(b []byte) (*Description, error) {
	var d Description
	if err := yaml.UnmarshalStrict(b, &d); err != nil {
		return nil, fmt.Errorf("reading the description: %w", err)
	}
	return &d, nil
}

// Load reads and parses the description file at path.
func Load(path string) (*Description, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading description %s: %w", path, err)
	}
	d, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("description %s: %w", path, err)
	}
	d.dir = filepath.Dir(path)
	return d, nil
}

// steps lists the declared steps by name, in contract order.
func (d *Description) steps() []namedStep {
	var out []namedStep
	for _, s := range []namedStep{
		{"token", d.Steps.Token}, {"describe", d.Steps.Describe}, {"create", d.Steps.Create},
		{"verify", d.Steps.Verify}, {"retire", d.Steps.Retire}, {"revoke", d.Steps.Revoke},
	} {
		if s.step != nil {
			out = append(out, s)
		}
	}
	return out
}

type namedStep struct {
	name string
	step *Step
}

// method is the step's method or its default.
func (s *Step) method() string {
	if s.Method != "" {
		return strings.ToUpper(s.Method)
	}
	if s.Body != "" {
		return "POST"
	}
	return "GET"
}

// successCodes is the step's success codes or the default, 200.
func (s *Step) successCodes() []int {
	if len(s.SuccessCodes) > 0 {
		return s.SuccessCodes
	}
	return []int{200}
}
