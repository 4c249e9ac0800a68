// Package rest is the Equifax security API's REST client: OAuth2 client
// credentials (golang.org/x/oauth2/clientcredentials) for access tokens,
// cached per client and secret and refreshed before they expire, and the
// management calls (describe, renew, revoke) with a Bearer token. It
// implements equifax.Provider.
//
// Retries follow the contract: token, describe and revoke are retried on
// 429 and 5xx answers and on timeouts or dropped connections, with capped,
// jittered exponential backoff that waits at least the server's
// Retry-After; renew is retried the same way but only ever with the
// caller's Idempotency-Key, so a renew whose answer was lost replays instead
// of minting a second secret. Other 4xx answers are never retried, except
// that a management call whose token is rejected (401.01 or 401.03) drops
// the cached token and is tried once more with a new one.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wire"
)

// Defaults for Options.
const (
	DefaultTokenPath        = "/v2/oauth/token"
	DefaultManagementPath   = "/business/security/v1"
	DefaultManagementScope  = wire.DefaultManagementScope  // https://api.equifax.com/business/security/v1
	DefaultTokenExpiryDelta = wire.DefaultTokenExpiryDelta // one minute
)

// Options configure a Client. Only BaseURL is required.
type Options struct {
	// BaseURL is the API's root, such as https://api.equifax.com.
	BaseURL string
	// TokenURL is the token endpoint; default BaseURL + /v2/oauth/token.
	TokenURL string
	// ManagementPath is the management API's path under BaseURL; default
	// /business/security/v1.
	ManagementPath string
	// ManagementScope is the scope requested for management calls; default
	// DefaultManagementScope.
	ManagementScope string
	// HTTPClient sends the requests; nil means a default client. Its
	// transport is wrapped, not changed.
	HTTPClient *http.Client
	// Timeout bounds each attempt of each call; default 30s.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt; zero
	// means 3, a negative value none.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the wait between attempts;
	// defaults 500ms and 10s.
	InitialBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After waited for; a longer one is
	// returned to the caller as ErrRateLimited. Default 2m.
	MaxRetryAfter time.Duration
	// TokenExpiryDelta renews a cached token this long before it expires;
	// default 1m.
	TokenExpiryDelta time.Duration
	// MaxBodyBytes caps every response body; default 1 MiB.
	MaxBodyBytes int64
	// Logger, if set, gets one line per attempt (op, client_id,
	// correlation_id, efx_transaction_id), never a secret or token.
	Logger *logrus.Entry
	// SecretSeen, if set, is told every client secret the client
	// authenticates with and every access token it obtains (a run-wide
	// redactor's registration).
	SecretSeen func(credential.Secret)
}

// Client is the REST implementation of equifax.Provider. It is safe for
// concurrent use.
type Client struct {
	mgmtBase string
	tokenURL string
	core     *wire.Core
}

var _ equifax.Provider = (*Client)(nil)

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	base, err := wire.ValidateBaseURL("equifax base URL", opts.BaseURL)
	if err != nil {
		return nil, err
	}
	root := strings.TrimRight(base.String(), "/")
	tokenURL := opts.TokenURL
	if tokenURL == "" {
		tokenURL = root + DefaultTokenPath
	}
	if _, err := wire.ValidateBaseURL("equifax token URL", tokenURL); err != nil {
		return nil, err
	}
	mpath := opts.ManagementPath
	if mpath == "" {
		mpath = DefaultManagementPath
	}
	c := &Client{
		mgmtBase: root + "/" + strings.Trim(mpath, "/"),
		tokenURL: tokenURL,
	}
	c.core = wire.NewCore(wire.Config{
		Transport:  "rest",
		Scope:      opts.ManagementScope,
		HTTPClient: opts.HTTPClient,
		Timeout:    opts.Timeout,
		Policy: wire.Policy{
			MaxRetries:     opts.MaxRetries,
			InitialBackoff: opts.InitialBackoff,
			MaxBackoff:     opts.MaxBackoff,
			MaxRetryAfter:  opts.MaxRetryAfter,
		},
		TokenExpiryDelta: opts.TokenExpiryDelta,
		MaxBodyBytes:     opts.MaxBodyBytes,
		Logger:           opts.Logger,
		SecretSeen:       opts.SecretSeen,
	}, c.fetchToken)
	return c, nil
}

// Token obtains a new access token for creds and scope (the management
// scope when empty). It always asks the token endpoint, so it proves that
// the secret works now; the token is then cached for management calls.
func (c *Client) Token(ctx context.Context, creds equifax.Credentials, scope string) (equifax.Token, error) {
	t, scope, err := c.core.Token(ctx, creds, scope)
	if err != nil {
		return equifax.Token{}, err
	}
	return toToken(t, scope), nil
}

// Describe returns the metadata of every secret of creds.ClientID.
func (c *Client) Describe(ctx context.Context, creds equifax.Credentials) (equifax.ClientInfo, error) {
	if err := wire.CheckCreds(wire.OpDescribe, creds); err != nil {
		return equifax.ClientInfo{}, err
	}
	var info equifax.ClientInfo
	err := c.manage(ctx, wire.OpDescribe, creds, nil, call{
		method: http.MethodGet,
		url:    c.secretsURL(creds.ClientID),
		want:   []int{http.StatusOK},
		decode: func(body []byte) error {
			var err error
			info, err = decodeClientInfo(body, creds.ClientID)
			return err
		},
	})
	return info, err
}

// Renew mints a new secret for creds.ClientID. req.IdempotencyKey is
// required: every attempt sends it, so a retry after a lost answer replays
// the first renew.
func (c *Client) Renew(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	if err := wire.CheckRenew(creds, req); err != nil {
		return equifax.RenewResult{}, err
	}
	body, err := json.Marshal(renewBody{GracePeriodSeconds: int64(req.GracePeriod / time.Second), Force: req.Force})
	if err != nil {
		return equifax.RenewResult{}, err
	}
	var res equifax.RenewResult
	err = c.manage(ctx, wire.OpRenew, creds, logrus.Fields{"idempotency_key": req.IdempotencyKey}, call{
		method: http.MethodPost,
		url:    c.secretsURL(creds.ClientID),
		header: http.Header{"Idempotency-Key": {req.IdempotencyKey}, "Content-Type": {"application/json"}},
		body:   body,
		want:   []int{http.StatusCreated, http.StatusOK},
		decode: func(b []byte) error {
			var err error
			res, err = decodeRenew(b, creds.ClientID)
			return err
		},
	})
	return res, err
}

// Revoke revokes secretID of creds.ClientID; revoking a revoked secret
// succeeds.
func (c *Client) Revoke(ctx context.Context, creds equifax.Credentials, secretID string) error {
	if err := wire.CheckRevoke(creds, secretID); err != nil {
		return err
	}
	return c.manage(ctx, wire.OpRevoke, creds, logrus.Fields{"secret_id": secretID}, call{
		method: http.MethodDelete,
		url:    c.secretsURL(creds.ClientID) + "/" + url.PathEscape(secretID),
		want:   []int{http.StatusNoContent},
	})
}

type renewBody struct {
	GracePeriodSeconds int64 `json:"gracePeriodSeconds,omitempty"`
	Force              bool  `json:"force,omitempty"`
}

func (c *Client) secretsURL(clientID string) string {
	return c.mgmtBase + "/clients/" + url.PathEscape(clientID) + "/secrets"
}

// call is one management request and what to do with its success answer.
type call struct {
	method string
	url    string
	header http.Header
	body   []byte
	want   []int
	decode func(body []byte) error
}

// manage sends cl through the shared management loop (wire.Core.Manage):
// a cached token, the retry policy, one new token after a rejected one.
func (c *Client) manage(ctx context.Context, op string, creds equifax.Credentials, fields logrus.Fields, cl call) error {
	return c.core.Manage(ctx, op, creds, fields, func(ctx context.Context, a *wire.Attempt, token string) error {
		return c.send(ctx, a, op, token, cl)
	})
}

func (c *Client) send(ctx context.Context, a *wire.Attempt, op, token string, cl call) error {
	var body *bytes.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		return &equifax.Error{Op: op, Kind: equifax.ErrBadRequest, Err: wire.ScrubError(err)}
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.core.HTTP.Do(req)
	if err != nil {
		return wire.FailedCall(ctx, op, a, err)
	}
	defer resp.Body.Close()
	b, err := wire.ReadBody(resp.Body, c.core.MaxBody)
	ok := slices.Contains(cl.want, resp.StatusCode)
	if err != nil {
		if !ok && errors.Is(err, wire.ErrBodyTooLarge) {
			// An oversized error page: the status still says what happened.
			return parseError(op, resp.StatusCode, resp.Header, nil, time.Now())
		}
		return wire.FailedCall(ctx, op, a, err)
	}
	if !ok {
		return parseError(op, resp.StatusCode, resp.Header, b, time.Now())
	}
	if cl.decode == nil {
		return nil
	}
	if err := cl.decode(b); err != nil {
		return &equifax.Error{Op: op, Kind: equifax.ErrMalformedResponse, HTTPStatus: resp.StatusCode, TransactionID: a.TransactionID(), Err: err}
	}
	return nil
}

// fetchToken asks the token endpoint for a token, under the retry policy.
func (c *Client) fetchToken(ctx context.Context, creds equifax.Credentials, scope string) (*oauth2.Token, error) {
	cc := clientcredentials.Config{
		ClientID:     creds.ClientID,
		ClientSecret: creds.ClientSecret.Reveal(),
		TokenURL:     c.tokenURL,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	if scope != "" {
		cc.Scopes = []string{scope}
	}
	var tok *oauth2.Token
	err := c.core.TokenCall(ctx, creds.ClientID, func(actx context.Context, a *wire.Attempt) error {
		t, err := cc.Token(context.WithValue(actx, oauth2.HTTPClient, c.core.HTTP))
		if err != nil {
			err = tokenError(actx, a, err)
		} else if err = checkToken(t); err != nil {
			err = &equifax.Error{Op: wire.OpToken, Kind: equifax.ErrMalformedResponse, HTTPStatus: a.Status(), TransactionID: a.TransactionID(), Err: err}
		}
		tok = t
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

func checkToken(t *oauth2.Token) error {
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return errors.New("token type is not Bearer")
	}
	if t.Expiry.IsZero() {
		return errors.New("token answer without expires_in")
	}
	return nil
}

// tokenError maps a failure of the token endpoint to a typed error.
func tokenError(ctx context.Context, a *wire.Attempt, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e := parseError(wire.OpToken, re.Response.StatusCode, re.Response.Header, re.Body, time.Now())
		if e.Code == "" && re.ErrorCode != "" {
			e.Code = wire.Clean(re.ErrorCode, 64)
			e.Description = wire.Text(re.ErrorDescription)
		}
		if e.Code != "" && e.Kind == equifax.ErrMalformedResponse {
			// An RFC 6749 error in a 2xx answer.
			e.Kind = equifax.KindForCode(e.Code, re.Response.StatusCode)
			e.Err = nil
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) || ctx.Err() != nil || a.BodyTooLarge() ||
		strings.HasPrefix(err.Error(), "oauth2: cannot fetch token") {
		return wire.FailedCall(ctx, wire.OpToken, a, err)
	}
	// The answer was a 2xx that is not a token.
	return &equifax.Error{Op: wire.OpToken, Kind: equifax.ErrMalformedResponse, HTTPStatus: a.Status(), TransactionID: a.TransactionID(),
		Err: errors.New("token answer is not the expected JSON")}
}

func toToken(t *oauth2.Token, scope string) equifax.Token {
	out := equifax.Token{
		AccessToken: credential.NewSecret(t.AccessToken),
		TokenType:   "Bearer",
		Scope:       scope,
		ExpiresAt:   t.Expiry.UTC(),
		IssuedAt:    issuedAt(t.Extra("issued_at"), time.Now().UTC()),
	}
	if s, ok := t.Extra("scope").(string); ok && s != "" {
		out.Scope = wire.Clean(s, 512)
	}
	return out
}
