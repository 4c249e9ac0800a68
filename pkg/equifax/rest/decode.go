package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wire"
)

// errorBody is both shapes Equifax uses for errors: its own
// (efxErrorCode, description, additionalErrorDetails) and RFC 6749's
// (error, error_description) from the token endpoint.
type errorBody struct {
	EfxErrorCode           string                     `json:"efxErrorCode"`
	Description            string                     `json:"description"`
	AdditionalErrorDetails map[string]json.RawMessage `json:"additionalErrorDetails"`
	Error                  string                     `json:"error"`
	ErrorDescription       string                     `json:"error_description"`
}

// maxDescription bounds the server text kept in an error.
const maxDescription = wire.MaxDescription

// decodeJSON decodes exactly one JSON value from b into v.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// parseError turns a non-success answer into a typed error. It never fails:
// an undecodable body leaves the kind to the HTTP status.
func parseError(op string, status int, header http.Header, body []byte, now time.Time) *equifax.Error {
	e := &equifax.Error{Op: op, HTTPStatus: status}
	if header != nil {
		e.TransactionID = wire.Clean(header.Get(wire.HeaderTransactionID), 128)
		e.RetryAfter = wire.RetryAfter(header.Get("Retry-After"), now)
	}
	var eb errorBody
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &eb); err != nil {
			e.Err = errors.New("undecodable error body")
		}
	}
	e.Code = wire.Clean(eb.EfxErrorCode, 64)
	e.Description = wire.Text(eb.Description)
	if e.Code == "" {
		e.Code = wire.Clean(eb.Error, 64)
		e.Description = wire.Text(eb.ErrorDescription)
	}
	if raw, ok := eb.AdditionalErrorDetails["eligibleAt"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				e.EligibleAt = t.UTC()
			}
		}
	}
	if e.RetryAfter == 0 {
		for _, k := range []string{"retryAfterSeconds", "retryAfter"} {
			if raw, ok := eb.AdditionalErrorDetails[k]; ok {
				var n json.Number
				if json.Unmarshal(raw, &n) == nil {
					if s, err := n.Int64(); err == nil && s > 0 && s <= 86400 {
						e.RetryAfter = time.Duration(s) * time.Second
					}
				}
			}
		}
	}
	if status >= 200 && status < 400 {
		// A success or redirect status where an answer was expected.
		e.Kind = equifax.ErrMalformedResponse
		if e.Err == nil {
			e.Err = fmt.Errorf("unexpected HTTP status %d", status)
		}
		return e
	}
	e.Kind = equifax.KindForCode(e.Code, status)
	return e
}

type secretJSON struct {
	SecretID     string         `json:"secretId"`
	ClientSecret *string        `json:"clientSecret,omitempty"`
	Status       equifax.Status `json:"status"`
	Hint         string         `json:"hint"`
	CreatedAt    *time.Time     `json:"createdAt"`
	ExpiresAt    *time.Time     `json:"expiresAt"`
	GraceEndsAt  *time.Time     `json:"graceEndsAt"`
	RevokedAt    *time.Time     `json:"revokedAt"`
}

func (s secretJSON) info(requireCreated bool) (equifax.SecretInfo, error) {
	if s.SecretID == "" {
		return equifax.SecretInfo{}, errors.New("secret without secretId")
	}
	switch s.Status {
	case equifax.StatusActive, equifax.StatusRetiring, equifax.StatusRevoked, equifax.StatusExpired:
	default:
		return equifax.SecretInfo{}, fmt.Errorf("secret %s has unknown status %q", wire.Clean(s.SecretID, 64), wire.Clean(string(s.Status), 32))
	}
	if s.ExpiresAt == nil || s.ExpiresAt.IsZero() {
		return equifax.SecretInfo{}, fmt.Errorf("secret %s without expiresAt", wire.Clean(s.SecretID, 64))
	}
	if requireCreated && (s.CreatedAt == nil || s.CreatedAt.IsZero()) {
		return equifax.SecretInfo{}, fmt.Errorf("secret %s without createdAt", wire.Clean(s.SecretID, 64))
	}
	out := equifax.SecretInfo{
		SecretID:  wire.Clean(s.SecretID, 128),
		Status:    s.Status,
		Hint:      wire.Clean(s.Hint, 64),
		ExpiresAt: s.ExpiresAt.UTC(),
	}
	if s.CreatedAt != nil {
		out.CreatedAt = s.CreatedAt.UTC()
	}
	if s.GraceEndsAt != nil && !s.GraceEndsAt.IsZero() {
		t := s.GraceEndsAt.UTC()
		out.GraceEndsAt = &t
	}
	if s.RevokedAt != nil && !s.RevokedAt.IsZero() {
		t := s.RevokedAt.UTC()
		out.RevokedAt = &t
	}
	return out, nil
}

type clientInfoJSON struct {
	ClientID          string         `json:"clientId"`
	RenewalEligibleAt *time.Time     `json:"renewalEligibleAt"`
	Policy            equifax.Policy `json:"policy"`
	Secrets           *[]secretJSON  `json:"secrets"`
}

// decodeClientInfo decodes a describe answer and checks that it is about
// clientID and complete.
func decodeClientInfo(body []byte, clientID string) (equifax.ClientInfo, error) {
	var cj clientInfoJSON
	if err := decodeJSON(body, &cj); err != nil {
		return equifax.ClientInfo{}, fmt.Errorf("decoding client info: %w", err)
	}
	if cj.ClientID == "" || cj.ClientID != clientID {
		return equifax.ClientInfo{}, fmt.Errorf("client info names client %q, want %q", wire.Clean(cj.ClientID, 128), clientID)
	}
	if cj.Secrets == nil {
		return equifax.ClientInfo{}, errors.New("client info without secrets")
	}
	if len(*cj.Secrets) > 64 {
		return equifax.ClientInfo{}, fmt.Errorf("client info lists %d secrets", len(*cj.Secrets))
	}
	info := equifax.ClientInfo{ClientID: cj.ClientID, Policy: cj.Policy, Secrets: make([]equifax.SecretInfo, 0, len(*cj.Secrets))}
	if cj.RenewalEligibleAt != nil {
		info.RenewalEligibleAt = cj.RenewalEligibleAt.UTC()
	}
	for _, sj := range *cj.Secrets {
		if sj.ClientSecret != nil {
			return equifax.ClientInfo{}, errors.New("client info carries a secret value")
		}
		s, err := sj.info(false)
		if err != nil {
			return equifax.ClientInfo{}, err
		}
		info.Secrets = append(info.Secrets, s)
	}
	return info, nil
}

type renewJSON struct {
	ClientID       string      `json:"clientId"`
	Secret         *secretJSON `json:"secret"`
	PreviousSecret *secretJSON `json:"previousSecret"`
}

// errRenewBody hides the decoder's message, which may quote the body and so
// the new secret.
var errRenewBody = errors.New("renew answer is not the expected JSON")

// decodeRenew decodes a renew answer. Its errors never quote the body.
func decodeRenew(body []byte, clientID string) (equifax.RenewResult, error) {
	var rj renewJSON
	if err := decodeJSON(body, &rj); err != nil {
		return equifax.RenewResult{}, errRenewBody
	}
	if rj.ClientID != clientID {
		return equifax.RenewResult{}, fmt.Errorf("renew answer names client %q, want %q", wire.Clean(rj.ClientID, 128), clientID)
	}
	if rj.Secret == nil {
		return equifax.RenewResult{}, errors.New("renew answer without secret")
	}
	if rj.Secret.ClientSecret == nil || *rj.Secret.ClientSecret == "" {
		return equifax.RenewResult{}, errors.New("renew answer without clientSecret")
	}
	s, err := rj.Secret.info(true)
	if err != nil {
		return equifax.RenewResult{}, err
	}
	res := equifax.RenewResult{ClientID: rj.ClientID, Secret: s, ClientSecret: credential.NewSecret(*rj.Secret.ClientSecret)}
	if rj.PreviousSecret != nil {
		if rj.PreviousSecret.ClientSecret != nil {
			return equifax.RenewResult{}, errors.New("renew answer carries the previous secret's value")
		}
		p, err := rj.PreviousSecret.info(false)
		if err != nil {
			return equifax.RenewResult{}, fmt.Errorf("previous secret: %w", err)
		}
		res.PreviousSecret = &p
	}
	return res, nil
}

// issuedAt reads a token answer's issued_at (epoch milliseconds, as a
// string or a number), or returns fallback.
func issuedAt(v any, fallback time.Time) time.Time {
	var ms int64
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return fallback
		}
		ms = n
	case float64:
		ms = int64(x)
	default:
		return fallback
	}
	if ms <= 0 {
		return fallback
	}
	return time.UnixMilli(ms).UTC()
}
