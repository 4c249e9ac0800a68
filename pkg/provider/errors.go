package provider

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is against a provider's error.
var (
	// ErrUnauthorized: wrong client id or secret, a revoked or expired
	// secret, or an access token that is expired, missing or invalid.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the management identity lacks a permission.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: unknown client or secret.
	ErrNotFound = errors.New("not found")
	// ErrTooManySecrets: the client holds as many valid secrets as it may.
	ErrTooManySecrets = errors.New("too many valid secrets")
	// ErrNotEligible: not yet eligible for renewal; see Error.EligibleAt.
	ErrNotEligible = errors.New("not eligible for renewal yet")
	// ErrLastSecret: revoking would leave no valid secret.
	ErrLastSecret = errors.New("would revoke the last valid secret")
	// ErrIdempotencyConflict: an idempotency key reused with another request.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	// ErrNotReplayable: a create with this idempotency key already minted a
	// secret whose value the service cannot give again.
	ErrNotReplayable = errors.New("the secret minted by an earlier create cannot be recovered")
	// ErrRateLimited: 429; see Error.RetryAfter.
	ErrRateLimited = errors.New("rate limited")
	// ErrTransient: 5xx, a timeout or a dropped connection; safe to retry.
	ErrTransient = errors.New("transient failure")
	// ErrBadRequest: the request was malformed or refused by policy (400).
	ErrBadRequest = errors.New("bad request")
	// ErrMalformedResponse: the answer could not be decoded.
	ErrMalformedResponse = errors.New("malformed response")
)

// Retryable reports whether err is worth retrying: rate limits and transient
// failures. A create must be retried only with the same idempotency key.
func Retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrTransient)
}

// Error is the typed error a provider returns for an answer from its service
// (or for no answer). Kind is one of the sentinels above.
type Error struct {
	Provider    string        // "entra", "okta", "gcpkey"
	Op          string        // "token", "describe", "create", "verify", "revoke"
	Kind        error         // one of the sentinels
	Code        string        // the service's own error code, for the logs
	HTTPStatus  int           // 0 when there was no answer
	Description string        // the service's description, never a secret
	RetryAfter  time.Duration // for ErrRateLimited and some ErrTransient
	EligibleAt  time.Time     // for ErrNotEligible
	RequestID   string        // the service's request or correlation id
	Err         error         // the underlying cause, if any
}

// Error renders the error for a person; it never includes a secret.
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Provider, e.Op, e.Kind)
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if !e.EligibleAt.IsZero() {
		msg += "; eligible at " + e.EligibleAt.UTC().Format(time.RFC3339)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.RequestID != "" {
		msg += " [request id " + e.RequestID + "]"
	}
	return msg
}

// Is matches the sentinel kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindForStatus maps an HTTP status to a sentinel for services whose error
// bodies say no more.
func KindForStatus(status int) error {
	switch {
	case status == 429:
		return ErrRateLimited
	case status >= 500:
		return ErrTransient
	case status == 401:
		return ErrUnauthorized
	case status == 403:
		return ErrForbidden
	case status == 404:
		return ErrNotFound
	case status == 400, status == 422:
		return ErrBadRequest
	}
	return ErrMalformedResponse
}

// ResetAfter reads a rate limit's reset time given in seconds since the
// epoch (Okta's X-Rate-Limit-Reset) as the wait until then: at least a
// second, at most an hour; zero once it passed, more than a day away, or
// when h is not a number.
func ResetAfter(h string, now time.Time) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	if err != nil || n <= 0 || n > now.Unix()+int64(24*time.Hour/time.Second) {
		return 0
	}
	d := time.Unix(n, 0).Sub(now)
	if d <= 0 {
		return 0
	}
	return min(max(d.Round(time.Second), time.Second), time.Hour)
}
