// Package soap is the Equifax security API's SOAP 1.1 transport: a
// hand-written adapter over the client gowsdl generates from the committed
// WSDL (package internal/securitysoap). It implements equifax.Provider like
// the REST client does, with the same typed errors and retry rules:
// IssueToken authenticates with a WS-Security UsernameToken (PasswordText:
// the client id and secret), the other operations with an HTTP
// "Authorization: Bearer" header carrying a cached access token.
//
// gowsdl hands any answer with HTTP status >= 400 back as *soap.HTTPError
// with the body and without the headers, so the adapter decodes the SOAP
// fault from that body itself, and takes Retry-After and efx-transaction-id
// from its own recording transport. Every answer is size-capped and checked
// (no DTD, no entity declarations, bounded depth) before anything decodes it.
package soap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	gosoap "github.com/hooklift/gowsdl/soap"
	"github.com/sirupsen/logrus"
	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wire"
	"github.com/credrotate/credrotate/pkg/equifax/soap/internal/securitysoap"
)

// Defaults for Options.
const (
	DefaultManagementScope  = wire.DefaultManagementScope  // https://api.equifax.com/business/security/v1
	DefaultTokenExpiryDelta = wire.DefaultTokenExpiryDelta // one minute
	// GrantType is what IssueToken asks for.
	GrantType = "client_credentials"
)

// Options configure a Client. Only URL is required.
type Options struct {
	// URL is the SOAP endpoint, such as
	// https://api.equifax.com/business/security/soap/v1.
	URL string
	// ManagementScope is the scope IssueToken asks for before management
	// calls; default DefaultManagementScope.
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
	// MaxBodyBytes caps every answer; default 1 MiB.
	MaxBodyBytes int64
	// Logger, if set, gets one line per attempt (op, client_id,
	// correlation_id, efx_transaction_id), never a secret or token.
	Logger *logrus.Entry
	// SecretSeen, if set, is told every client secret the client
	// authenticates with and every access token it obtains (a run-wide
	// redactor's registration).
	SecretSeen func(credential.Secret)
}

// Client is the SOAP implementation of equifax.Provider. It is safe for
// concurrent use.
type Client struct {
	url  string
	core *wire.Core
}

var _ equifax.Provider = (*Client)(nil)

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	u, err := wire.ValidateBaseURL("equifax SOAP URL", opts.URL)
	if err != nil {
		return nil, err
	}
	c := &Client{url: u.String()}
	c.core = wire.NewCore(wire.Config{
		Transport:  "soap",
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

// Token calls IssueToken for creds and scope (the management scope when
// empty). It always asks the server, so it proves that the secret works
// now; the token is then cached for management calls.
func (c *Client) Token(ctx context.Context, creds equifax.Credentials, scope string) (equifax.Token, error) {
	t, _, err := c.core.Token(ctx, creds, scope)
	if err != nil {
		return equifax.Token{}, err
	}
	return toToken(t), nil
}

// Describe calls GetCredentialInfo. The SOAP answer carries no policy and
// no revocation times, so those fields stay zero.
func (c *Client) Describe(ctx context.Context, creds equifax.Credentials) (equifax.ClientInfo, error) {
	if err := wire.CheckCreds(wire.OpDescribe, creds); err != nil {
		return equifax.ClientInfo{}, err
	}
	var info equifax.ClientInfo
	err := c.manage(ctx, wire.OpDescribe, creds, nil, func(ctx context.Context, port securitysoap.SecurityPortType) error {
		r, err := port.GetCredentialInfoContext(ctx, &securitysoap.GetCredentialInfo{ClientId: creds.ClientID})
		if err != nil {
			return err
		}
		info, err = clientInfo(r, creds.ClientID)
		return asMalformed(err)
	})
	return info, err
}

// Renew calls RenewClientSecret. req.IdempotencyKey is required: every
// attempt sends it, so a retry after a lost answer replays the first renew.
func (c *Client) Renew(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	if err := wire.CheckRenew(creds, req); err != nil {
		return equifax.RenewResult{}, err
	}
	in := &securitysoap.RenewClientSecret{
		ClientId:           creds.ClientID,
		GracePeriodSeconds: int64(req.GracePeriod / time.Second),
		IdempotencyKey:     req.IdempotencyKey,
		Force:              req.Force,
	}
	var res equifax.RenewResult
	err := c.manage(ctx, wire.OpRenew, creds, logrus.Fields{"idempotency_key": req.IdempotencyKey}, func(ctx context.Context, port securitysoap.SecurityPortType) error {
		r, err := port.RenewClientSecretContext(ctx, in)
		if err != nil {
			return err
		}
		res, err = renewResult(r, creds.ClientID)
		return asMalformed(err)
	})
	return res, err
}

// Revoke calls RevokeClientSecret; revoking a revoked secret succeeds.
func (c *Client) Revoke(ctx context.Context, creds equifax.Credentials, secretID string) error {
	if err := wire.CheckRevoke(creds, secretID); err != nil {
		return err
	}
	return c.manage(ctx, wire.OpRevoke, creds, logrus.Fields{"secret_id": secretID}, func(ctx context.Context, port securitysoap.SecurityPortType) error {
		r, err := port.RevokeClientSecretContext(ctx, &securitysoap.RevokeClientSecret{ClientId: creds.ClientID, SecretId: secretID})
		if err != nil {
			return err
		}
		if r.Secret == nil || strings.TrimSpace(r.Secret.SecretId) != secretID {
			return asMalformed(errors.New("revoke answer names another secret"))
		}
		return nil
	})
}

// errRenewAnswer hides details that could quote the new secret.
var errRenewAnswer = errors.New("renew answer is incomplete")

func renewResult(r *securitysoap.RenewClientSecretResponse, clientID string) (equifax.RenewResult, error) {
	if strings.TrimSpace(r.ClientId) != clientID {
		return equifax.RenewResult{}, errors.New("renew answer names another client")
	}
	if r.ClientSecret == "" {
		return equifax.RenewResult{}, errRenewAnswer
	}
	s, err := secretInfo(r.NewSecret)
	if err != nil {
		return equifax.RenewResult{}, err
	}
	res := equifax.RenewResult{ClientID: clientID, Secret: s, ClientSecret: credential.NewSecret(r.ClientSecret)}
	if r.PreviousSecret != nil {
		p, err := secretInfo(r.PreviousSecret)
		if err != nil {
			return equifax.RenewResult{}, err
		}
		res.PreviousSecret = &p
	}
	return res, nil
}

// malformed marks a success answer that does not hold what it should.
type malformed struct{ err error }

func (m *malformed) Error() string { return m.err.Error() }
func (m *malformed) Unwrap() error { return m.err }

func asMalformed(err error) error {
	if err == nil {
		return nil
	}
	return &malformed{err}
}

// operation is one SOAP call on a generated port.
type operation func(ctx context.Context, port securitysoap.SecurityPortType) error

// manage runs fn through the shared management loop (wire.Core.Manage):
// a cached token, the retry policy, one new token after a rejected one.
func (c *Client) manage(ctx context.Context, op string, creds equifax.Credentials, fields logrus.Fields, fn operation) error {
	return c.core.Manage(ctx, op, creds, fields, func(ctx context.Context, a *wire.Attempt, token string) error {
		return c.attempt(ctx, a, op, token, nil, fn)
	})
}

// attempt makes one SOAP call with a fresh gowsdl client over the
// recording, checking HTTP client.
func (c *Client) attempt(ctx context.Context, a *wire.Attempt, op string, bearer string, header any, fn operation) error {
	if bearer != "" {
		a.ExtraHeaders = http.Header{"Authorization": {"Bearer " + bearer}}
	}
	d := &doer{http: c.core.HTTP, maxBody: c.core.MaxBody}
	sc := gosoap.NewClient(c.url, gosoap.WithHTTPClient(d))
	if header != nil {
		sc.AddHeader(header)
	}
	err := fn(ctx, securitysoap.NewSecurityPortType(sc))
	if err != nil {
		err = mapError(ctx, op, a, d, err)
	}
	return err
}

// fetchToken calls IssueToken with a UsernameToken, under the retry policy.
func (c *Client) fetchToken(ctx context.Context, creds equifax.Credentials, scope string) (*oauth2.Token, error) {
	var tok *oauth2.Token
	err := c.core.TokenCall(ctx, creds.ClientID, func(ctx context.Context, a *wire.Attempt) error {
		wss := gosoap.NewWSSSecurityHeader(creds.ClientID, creds.ClientSecret.Reveal(), "", "")
		return c.attempt(ctx, a, wire.OpToken, "", wss, func(ctx context.Context, port securitysoap.SecurityPortType) error {
			r, err := port.IssueTokenContext(ctx, &securitysoap.IssueToken{GrantType: GrantType, Scope: scope})
			if err != nil {
				return err
			}
			t, err := oauthToken(r, time.Now())
			tok = t
			return asMalformed(err)
		})
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

func oauthToken(r *securitysoap.IssueTokenResponse, now time.Time) (*oauth2.Token, error) {
	if strings.TrimSpace(r.AccessToken) == "" {
		return nil, errors.New("token answer without AccessToken")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return nil, errors.New("token type is not Bearer")
	}
	if r.ExpiresIn <= 0 {
		return nil, errors.New("token answer without ExpiresIn")
	}
	expiresIn := min(r.ExpiresIn, 366*86400)
	issued := xsdTime(r.IssuedAt)
	if issued.IsZero() {
		issued = now.UTC()
	}
	t := &oauth2.Token{
		AccessToken: strings.TrimSpace(r.AccessToken),
		TokenType:   "Bearer",
		// Expiry follows the local clock, as x/oauth2 does over REST.
		Expiry: now.Add(time.Duration(expiresIn) * time.Second),
	}
	return t.WithExtra(map[string]any{"issued_at": issued, "scope": wire.Clean(r.Scope, 512)}), nil
}

func toToken(t *oauth2.Token) equifax.Token {
	out := equifax.Token{
		AccessToken: credential.NewSecret(t.AccessToken),
		TokenType:   "Bearer",
		ExpiresAt:   t.Expiry.UTC(),
	}
	out.IssuedAt, _ = t.Extra("issued_at").(time.Time)
	out.Scope, _ = t.Extra("scope").(string)
	return out
}

// doer is the HTTP client gowsdl uses for one attempt. It reads the answer
// whole (capped), keeps it for fault decoding, and refuses a success answer
// that is not a plain XML document before gowsdl decodes it.
type doer struct {
	http    *http.Client
	maxBody int64
	status  int
	body    []byte
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := wire.ReadBody(resp.Body, d.maxBody)
	resp.Body.Close()
	if err != nil {
		if resp.StatusCode < 400 || !errors.Is(err, wire.ErrBodyTooLarge) {
			return nil, err
		}
		// An oversized error page: the status still says what happened.
		b = nil
	}
	d.status, d.body = resp.StatusCode, b
	if resp.StatusCode < 400 {
		if err := checkXML(b); err != nil {
			return nil, asMalformed(err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// mapError turns what gowsdl returned into a typed error.
func mapError(ctx context.Context, op string, a *wire.Attempt, d *doer, err error) error {
	var he *gosoap.HTTPError
	var sf *gosoap.SOAPFault
	var m *malformed
	switch {
	case errors.As(err, &he):
		return faultError(op, he.StatusCode, he.ResponseBody, a)
	case errors.As(err, &sf):
		// A fault in a 2xx answer.
		return faultError(op, d.status, d.body, a)
	case errors.As(err, &m):
		return &equifax.Error{Op: op, Kind: equifax.ErrMalformedResponse, HTTPStatus: a.Status(), TransactionID: a.TransactionID(), Err: m.err}
	case a.Status() == 0, ctx.Err() != nil, errors.Is(err, wire.ErrBodyTooLarge), errors.Is(err, redirect.ErrRefused):
		return wire.FailedCall(ctx, op, a, err)
	}
	// gowsdl could not decode a 2xx answer.
	return &equifax.Error{Op: op, Kind: equifax.ErrMalformedResponse, HTTPStatus: a.Status(), TransactionID: a.TransactionID(), Err: errNotXML}
}

// faultError decodes the fault in body into a typed error.
func faultError(op string, status int, body []byte, a *wire.Attempt) *equifax.Error {
	e := &equifax.Error{Op: op, HTTPStatus: status, TransactionID: a.TransactionID()}
	if h := a.Header(); h != nil {
		e.RetryAfter = wire.RetryAfter(h.Get("Retry-After"), time.Now())
	}
	f, err := decodeFault(body)
	if err != nil {
		e.Kind = equifax.KindForCode("", status)
		e.Err = errors.New("undecodable fault")
		return e
	}
	e.Code, e.Description, e.EligibleAt = f.code, f.description, f.eligibleAt
	if e.RetryAfter == 0 {
		e.RetryAfter = f.retryAfter
	}
	e.Kind = f.kind(status)
	return e
}
