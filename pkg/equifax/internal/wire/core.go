package wire

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Defaults both clients apply to their Options.
const (
	DefaultManagementScope  = "https://api.equifax.com/business/security/v1"
	DefaultTokenExpiryDelta = time.Minute
)

// The operation names used in errors and logs.
const (
	OpToken    = "token"
	OpDescribe = "describe"
	OpRenew    = "renew"
	OpRevoke   = "revoke"
)

// Config is what a client's Options say about the parts both transports
// share. Zero values take the defaults.
type Config struct {
	// Transport names the client in logs: "rest" or "soap".
	Transport string
	// Scope is the management scope; default DefaultManagementScope.
	Scope string
	// HTTPClient sends the requests; nil means a default client. Its
	// transport is wrapped, not changed.
	HTTPClient *http.Client
	// Timeout bounds each attempt; default DefaultTimeout.
	Timeout time.Duration
	// Policy is the retry policy.
	Policy Policy
	// TokenExpiryDelta renews a cached token this long before it expires;
	// default DefaultTokenExpiryDelta.
	TokenExpiryDelta time.Duration
	// MaxBodyBytes caps every answer; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger, if set, gets one line per attempt.
	Logger *logrus.Entry
	// SecretSeen, if set, is told every client secret sent to the token
	// endpoint and every access token obtained, the moment it is in hand,
	// so that a run-wide redactor can mask it wherever it might be echoed.
	SecretSeen func(credential.Secret)
}

// FetchFunc asks the server for a new access token for creds and scope,
// under the retry policy.
type FetchFunc func(ctx context.Context, creds equifax.Credentials, scope string) (*oauth2.Token, error)

// Core is the part of a client that does not depend on the transport: the
// settings with their defaults, the token cache, the Token flow and the
// management loop that replaces a rejected token once. It is safe for
// concurrent use.
type Core struct {
	// Scope is the management scope.
	Scope string
	// HTTP is the recording, size-capping HTTP client.
	HTTP *http.Client
	// MaxBody caps every answer.
	MaxBody int64

	transport string
	timeout   time.Duration
	policy    Policy
	log       *logrus.Entry
	tokens    *TokenCache
	fetch     FetchFunc
}

// NewCore returns a Core for cfg with the defaults filled in; fetch is the
// transport's way to get a new token.
func NewCore(cfg Config, fetch FetchFunc) *Core {
	if seen := cfg.SecretSeen; seen != nil {
		inner := fetch
		fetch = func(ctx context.Context, creds equifax.Credentials, scope string) (*oauth2.Token, error) {
			seen(creds.ClientSecret)
			t, err := inner(ctx, creds, scope)
			if t != nil && t.AccessToken != "" {
				seen(credential.NewSecret(t.AccessToken))
			}
			return t, err
		}
	}
	c := &Core{
		Scope:     cfg.Scope,
		HTTP:      HTTPClient(cfg.HTTPClient, cfg.MaxBodyBytes),
		MaxBody:   cfg.MaxBodyBytes,
		transport: cfg.Transport,
		timeout:   cfg.Timeout,
		policy:    cfg.Policy,
		log:       cfg.Logger,
		tokens:    &TokenCache{Delta: cfg.TokenExpiryDelta},
		fetch:     fetch,
	}
	if c.Scope == "" {
		c.Scope = DefaultManagementScope
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.tokens.Delta <= 0 {
		c.tokens.Delta = DefaultTokenExpiryDelta
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBodyBytes
	}
	return c
}

// Token obtains a new token for creds and scope (the management scope when
// empty) and caches it for management calls. It returns the token and the
// scope it was asked for.
func (c *Core) Token(ctx context.Context, creds equifax.Credentials, scope string) (*oauth2.Token, string, error) {
	if scope == "" {
		scope = c.Scope
	}
	if err := CheckCreds(OpToken, creds); err != nil {
		return nil, "", err
	}
	t, err := c.fetch(ctx, creds, scope)
	if err != nil {
		return nil, "", err
	}
	c.tokens.Put(creds, scope, t)
	return t, scope, nil
}

// TokenCall runs fn, one request to the token endpoint for clientID, under
// the retry policy; each attempt gets a fresh Attempt in its context, is
// bounded by the timeout, and is logged.
func (c *Core) TokenCall(ctx context.Context, clientID string, fn func(ctx context.Context, a *Attempt) error) error {
	return c.call(ctx, c.newLog(OpToken, clientID, nil), fn)
}

// Manage runs a management call for creds with the cached token (fetched
// when there is none), under the retry policy; fn makes one attempt with
// the access token. A rejected token (401.01, 401.03) is dropped and the
// call tried once more with a new one.
func (c *Core) Manage(ctx context.Context, op string, creds equifax.Credentials, fields logrus.Fields, fn func(ctx context.Context, a *Attempt, token string) error) error {
	log := c.newLog(op, creds.ClientID, fields)
	for refreshed := false; ; refreshed = true {
		tok, err := c.tokens.Get(ctx, creds, c.Scope, func(ctx context.Context) (*oauth2.Token, error) {
			return c.fetch(ctx, creds, c.Scope)
		})
		if err != nil {
			return err
		}
		err = c.call(ctx, log, func(ctx context.Context, a *Attempt) error {
			return fn(ctx, a, tok.AccessToken)
		})
		if err != nil && !refreshed && TokenRejected(err) {
			c.tokens.Drop(creds, c.Scope, tok)
			log.Info("access token rejected; fetching a new one", nil)
			continue
		}
		return err
	}
}

// call runs fn under the retry policy; each attempt gets a fresh Attempt in
// its context, is bounded by the timeout, and is logged.
func (c *Core) call(ctx context.Context, log Log, fn func(ctx context.Context, a *Attempt) error) error {
	return c.policy.Do(ctx, func(ctx context.Context, n int) error {
		a := NewAttempt()
		actx, cancel := context.WithTimeout(WithAttempt(ctx, a), c.timeout)
		defer cancel()
		start := time.Now()
		err := fn(actx, a)
		log.Attempt(a, n, time.Since(start), err)
		return err
	}, log.Retry)
}

func (c *Core) newLog(op, clientID string, fields logrus.Fields) Log {
	return NewLog(c.log, c.transport, op, clientID, fields)
}

// CheckCreds refuses credentials without a client id or secret.
func CheckCreds(op string, creds equifax.Credentials) error {
	if creds.ClientID == "" || creds.ClientSecret.IsZero() {
		return &equifax.Error{Op: op, Kind: equifax.ErrBadRequest, Description: "client id and secret are required"}
	}
	return nil
}

// CheckRenew refuses a renew without credentials or idempotency key, or
// with a negative grace period.
func CheckRenew(creds equifax.Credentials, req equifax.RenewRequest) error {
	if err := CheckCreds(OpRenew, creds); err != nil {
		return err
	}
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		return &equifax.Error{Op: OpRenew, Kind: equifax.ErrBadRequest, Description: "renew needs an idempotency key (equifax.IdempotencyKey)"}
	}
	if req.GracePeriod < 0 {
		return &equifax.Error{Op: OpRenew, Kind: equifax.ErrBadRequest, Description: "negative grace period"}
	}
	return nil
}

// CheckRevoke refuses a revoke without credentials or secret id.
func CheckRevoke(creds equifax.Credentials, secretID string) error {
	if err := CheckCreds(OpRevoke, creds); err != nil {
		return err
	}
	if secretID == "" {
		return &equifax.Error{Op: OpRevoke, Kind: equifax.ErrBadRequest, Description: "no secret id to revoke"}
	}
	return nil
}

// MaxDescription bounds the server text kept in an error.
const MaxDescription = 512

// Text is server text kept for a person (an error description, a
// faultstring): printable characters only, at most MaxDescription bytes,
// a cut marked with redact.Truncated. It may still quote a credential the
// server received; the run's redactor masks it on the way out.
func Text(s string) string {
	return redact.Bound(Clean(s, 4*MaxDescription), MaxDescription)
}

// Clean keeps printable text only and bounds its length, so a hostile
// answer cannot flood a log line or inject control characters.
func Clean(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, s)
}
