package equifax

import (
	"time"

	"github.com/credrotate/credrotate/pkg/provider"
)

// Sentinel errors, matched with errors.Is against an *Error: the provider
// contract's, with Equifax's codes noted.
var (
	ErrUnauthorized        = provider.ErrUnauthorized        // invalid_client, 401.0x
	ErrForbidden           = provider.ErrForbidden           // 403.01: scope missing or another client
	ErrNotFound            = provider.ErrNotFound            // 404.01
	ErrTooManySecrets      = provider.ErrTooManySecrets      // 409.01: two valid secrets already
	ErrNotEligible         = provider.ErrNotEligible         // 409.02: see Error.EligibleAt
	ErrLastSecret          = provider.ErrLastSecret          // 409.03
	ErrIdempotencyConflict = provider.ErrIdempotencyConflict // 422.01
	ErrRateLimited         = provider.ErrRateLimited         // 429; see Error.RetryAfter
	ErrTransient           = provider.ErrTransient           // 5xx, a timeout or a dropped connection
	ErrBadRequest          = provider.ErrBadRequest          // 400
	ErrMalformedResponse   = provider.ErrMalformedResponse   // the answer could not be decoded
)

// Error is the typed error every Provider returns for an answer from Equifax
// (or for no answer). Kind is one of the sentinels above; Code keeps Equifax's
// own code ("409.02", "invalid_client") for the logs.
type Error struct {
	Op            string        // "token", "describe", "renew", "revoke"
	Kind          error         // one of the sentinels
	Code          string        // efxErrorCode or RFC 6749 error
	HTTPStatus    int           // 0 when there was no answer
	Description   string        // the server's description, never a secret
	RetryAfter    time.Duration // for ErrRateLimited and some ErrTransient
	EligibleAt    time.Time     // for ErrNotEligible
	TransactionID string        // efx-transaction-id, when the server sent one
	Err           error         // the underlying cause, if any
}

// Error renders the error for a person, as every provider's error reads;
// it never includes a secret.
func (e *Error) Error() string {
	pe := provider.Error{Provider: "equifax", Op: e.Op, Kind: e.Kind, Code: e.Code, Description: e.Description,
		RetryAfter: e.RetryAfter, EligibleAt: e.EligibleAt, Err: e.Err}
	msg := pe.Error()
	if e.TransactionID != "" {
		msg += " [efx-transaction-id " + e.TransactionID + "]"
	}
	return msg
}

// Is matches the sentinel kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is worth retrying: rate limits and transient
// failures. Renew must be retried only with the same Idempotency-Key.
func Retryable(err error) bool { return provider.Retryable(err) }

// KindForCode maps an Equifax error code (efxErrorCode, SOAP ErrorCode or an
// RFC 6749 error) and HTTP status to a sentinel, so REST and SOAP agree.
func KindForCode(code string, status int) error {
	switch code {
	case "invalid_client", "401.01", "401.02", "401.03":
		return ErrUnauthorized
	case "invalid_request", "invalid_scope", "unsupported_grant_type", "400.01":
		return ErrBadRequest
	case "403.01":
		return ErrForbidden
	case "404.01":
		return ErrNotFound
	case "409.01":
		return ErrTooManySecrets
	case "409.02":
		return ErrNotEligible
	case "409.03":
		return ErrLastSecret
	case "422.01":
		return ErrIdempotencyConflict
	case "429.01":
		return ErrRateLimited
	case "500.01", "503.01", "504.01":
		return ErrTransient
	}
	if status == 422 {
		return ErrMalformedResponse // Equifax answers 422 only with 422.01
	}
	return provider.KindForStatus(status)
}
