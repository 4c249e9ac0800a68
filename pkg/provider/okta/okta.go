// Package okta is the provider for Okta app client secrets, against Okta's
// management API:
//
//	GET    /api/v1/apps/{appId}/credentials/secrets                          describe
//	POST   /api/v1/apps/{appId}/credentials/secrets                          create ({}: Okta generates the value)
//	POST   /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/deactivate
//	DELETE /api/v1/apps/{appId}/credentials/secrets/{secretId}               (an INACTIVE secret only)
//
// and, to prove a secret, a client_credentials token from the app's
// authorization server (client_secret_basic).
//
// The management identity is an API token (Authorization: SSWS) or an OAuth
// 2.0 service app that signs a client assertion (private_key_jwt) for the
// org authorization server and is granted okta.apps.read and
// okta.apps.manage; its access tokens are cached until shortly before they
// expire.
//
// How Okta maps onto the provider contract:
//
//   - An app holds at most two secrets, ACTIVE and INACTIVE both counting.
//     The newest ACTIVE secret is the provider's ACTIVE, any other ACTIVE one
//     RETIRING (it still works until revoked), an INACTIVE one
//     StatusInactive.
//   - Okta sets no expiry: a secret expires, for credrotate, MaxAge after it
//     was created.
//   - Revoke deactivates, then deletes; it starts at the delete when it finds
//     the secret INACTIVE already (a revoke that was interrupted), and never
//     deactivates the last ACTIVE secret (ErrLastSecret).
//   - Create never makes a third secret: with two secrets it fails with
//     ErrTooManySecrets, except that an INACTIVE secret that is provably not
//     the deployed one (the remains of an interrupted revoke) is deleted
//     first. Proof that it is not deployed: Okta shows its value and it
//     differs from the deployed secret, or the deployed secret is shown on
//     an ACTIVE secret, or the deployed secret obtains a token (an INACTIVE
//     secret never does). Without such proof it is left alone.
//   - Okta keeps no idempotency key, so a create cannot be replayed
//     (Rules.Replays is false): a create whose answer was lost leaves an
//     orphan ACTIVE secret, which the next Describe shows; a repeated create
//     then meets the two-secret limit (ErrTooManySecrets) and the rotation
//     revokes the orphan and creates again.
//
// No call is retried here: every failure is a typed *provider.Error whose
// Kind says whether a retry is worth it (provider.Retryable); the one
// exception is a service app's access token that Okta rejects, which is
// dropped and fetched once more.
package okta

import (
	"bytes"
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Name is the provider's name.
const Name = "okta"

// Defaults and limits.
const (
	// MaxSecrets is how many secrets, ACTIVE or INACTIVE, an Okta app may hold.
	MaxSecrets = 2
	// DefaultMaxAge is the age at which a secret is treated as expired.
	DefaultMaxAge = 90 * 24 * time.Hour
	// DefaultTimeout bounds each call.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodyBytes caps every response body.
	DefaultMaxBodyBytes = 1 << 20
	// ManagementScopes are what a service app asks for.
	ManagementScopes = "okta.apps.read okta.apps.manage"
	// Propagation is how long a new secret may take to work.
	Propagation = 5 * time.Second
)

// The operations, as they appear in errors.
const (
	OpToken    = "token"
	OpDescribe = "describe"
	OpCreate   = "create"
	OpVerify   = "verify"
	OpRevoke   = "revoke"
	OpList     = "list"
)

// ServiceApp is an OAuth 2.0 service app that manages the apps' secrets.
type ServiceApp struct {
	// ClientID is the service app's client id.
	ClientID string
	// Key signs the client assertion: an *rsa.PrivateKey (RS256) or an
	// *ecdsa.PrivateKey (ES256).
	Key crypto.Signer
	// KeyID is the kid of the public key registered with the app, if any.
	KeyID string
}

// Options configure a Client. OrgURL and one of APIToken and ServiceApp are
// required.
type Options struct {
	// OrgURL is the org's URL, such as https://acme.okta.com.
	OrgURL string
	// TokenURL is where Verify asks for a token; default
	// {OrgURL}/oauth2/default/v1/token.
	TokenURL string
	// Scope is what Verify asks for (the default authorization server
	// needs a custom scope for client credentials); empty asks for none.
	Scope string
	// MaxAge is how old a secret may get; default DefaultMaxAge.
	MaxAge time.Duration
	// APIToken is an Okta API token (SSWS).
	APIToken credential.Secret
	// ServiceApp is the OAuth alternative to an API token.
	ServiceApp *ServiceApp
	// HTTPClient sends the requests; nil means a default client. It is
	// copied and its redirects limited (pkg/credential/redirect).
	HTTPClient *http.Client
	// Timeout bounds each call; default DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes caps every response body; default 1 MiB.
	MaxBodyBytes int64
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
	// Logger, if set, gets one line per call, never a secret.
	Logger *logrus.Entry
	// ListConcurrency is how many apps' secrets List reads at once;
	// default DefaultListConcurrency.
	ListConcurrency int
	// SecretSeen, if set, is told every secret the client handles: the
	// API token, access tokens, and every client secret it reads, creates
	// or proves.
	SecretSeen func(credential.Secret)
}

// Client is the Okta provider. It is safe for concurrent use.
type Client struct {
	org        string
	tokenURL   string
	mgmtToken  string
	scope      string
	maxAge     time.Duration
	apiToken   credential.Secret
	app        *ServiceApp
	http       *http.Client
	timeout    time.Duration
	maxBody    int64
	now        func() time.Time
	log        *logrus.Entry
	secretSeen func(credential.Secret)
	listConc   int

	fetchMu sync.Mutex
	mu      sync.Mutex
	bearer  credential.Secret
	expiry  time.Time
}

var (
	_ provider.Provider = (*Client)(nil)
	_ provider.Lister   = (*Client)(nil)
)

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	org, err := checkURL("okta orgURL", opts.OrgURL)
	if err != nil {
		return nil, err
	}
	org = strings.TrimRight(org, "/")
	tokenURL := opts.TokenURL
	if tokenURL == "" {
		tokenURL = org + "/oauth2/default/v1/token"
	}
	if _, err := checkURL("okta tokenURL", tokenURL); err != nil {
		return nil, err
	}
	switch {
	case opts.APIToken.IsZero() == (opts.ServiceApp == nil):
		return nil, errors.New("okta: set exactly one of an API token and a service app")
	case opts.ServiceApp != nil && (opts.ServiceApp.ClientID == "" || opts.ServiceApp.Key == nil):
		return nil, errors.New("okta: the service app needs a client id and a private key")
	}
	c := &Client{
		org: org, tokenURL: tokenURL, mgmtToken: org + "/oauth2/v1/token", scope: opts.Scope,
		maxAge: opts.MaxAge, apiToken: opts.APIToken, app: opts.ServiceApp,
		http: redirect.Client(opts.HTTPClient), timeout: opts.Timeout, maxBody: opts.MaxBodyBytes,
		now: opts.Now, log: opts.Logger, secretSeen: opts.SecretSeen, listConc: opts.ListConcurrency,
	}
	if c.listConc <= 0 {
		c.listConc = DefaultListConcurrency
	}
	if c.maxAge <= 0 {
		c.maxAge = DefaultMaxAge
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.seen(c.apiToken)
	return c, nil
}

func checkURL(what, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL", what, redirect.Clean(u))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s must not carry user information, a query or a fragment", what)
	}
	return u.String(), nil
}

// Name is "okta".
func (c *Client) Name() string { return Name }

// Rules are Okta's.
func (c *Client) Rules() provider.Rules {
	return provider.Rules{
		MaxValid:        MaxSecrets,
		SetsExpiry:      false,
		ReportsExpiry:   false,
		RetiresOnCreate: false,
		Replays:         false,
		Revocation:      provider.RevokeDeactivateThenDelete,
		Propagation:     Propagation,
	}
}

// secret is one element of Okta's answer.
type secret struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	ClientSecret string    `json:"client_secret,omitempty"`
	SecretHash   string    `json:"secret_hash,omitempty"`
	Created      time.Time `json:"created"`
	LastUpdated  time.Time `json:"lastUpdated"`
}

// shown reports whether Okta showed the whole value (an org can mask it).
func (s secret) shown() bool {
	return len(s.ClientSecret) >= 14 && !strings.ContainsAny(s.ClientSecret, "*•…") && !strings.Contains(s.ClientSecret, "..")
}

func (c *Client) seen(s credential.Secret) {
	if c.secretSeen != nil && !s.IsZero() {
		c.secretSeen(s)
	}
}

func (c *Client) secretsURL(appID string) string {
	return c.org + "/api/v1/apps/" + url.PathEscape(appID) + "/credentials/secrets"
}

func checkClient(op string, cl provider.Client) error {
	if strings.TrimSpace(cl.ClientID) == "" {
		return &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Description: "no app (client) id"}
	}
	return nil
}

// list reads the app's secrets.
func (c *Client) list(ctx context.Context, op, appID string) ([]secret, error) {
	var out []secret
	if err := c.manage(ctx, op, http.MethodGet, c.secretsURL(appID), nil, []int{http.StatusOK}, &out); err != nil {
		return nil, err
	}
	for i, s := range out {
		if s.ID == "" || (s.Status != "ACTIVE" && s.Status != "INACTIVE") {
			return nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
				Err: fmt.Errorf("secret %d has no id or an unknown status", i)}
		}
		if s.shown() {
			c.seen(credential.NewSecret(s.ClientSecret))
		}
	}
	return out, nil
}

// infos maps Okta's secrets onto the contract's, newest first. Each one's
// hint is the start of its value as the list shows it (masked or not): it
// tells which of two valid secrets the workload holds when no manifest
// says.
func (c *Client) infos(ss []secret) []provider.SecretInfo {
	sorted := append([]secret(nil), ss...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Created.After(sorted[j].Created) })
	out := make([]provider.SecretInfo, 0, len(sorted))
	newest := true
	for _, s := range sorted {
		st := provider.StatusInactive
		if s.Status == "ACTIVE" {
			st = provider.StatusRetiring
			if newest {
				st, newest = provider.StatusActive, false
			}
		}
		out = append(out, provider.SecretInfo{SecretID: s.ID, Status: st, Hint: provider.HintOf(s.ClientSecret), CreatedAt: s.Created.UTC(), ExpiresAt: s.Created.Add(c.maxAge).UTC()})
	}
	return out
}

// Describe returns the metadata of every secret of the app cl.ClientID.
func (c *Client) Describe(ctx context.Context, cl provider.Client) (provider.ClientInfo, error) {
	if err := checkClient(OpDescribe, cl); err != nil {
		return provider.ClientInfo{}, err
	}
	ss, err := c.list(ctx, OpDescribe, cl.ClientID)
	if err != nil {
		return provider.ClientInfo{}, err
	}
	return provider.ClientInfo{
		ClientID: cl.ClientID,
		Policy:   provider.Policy{MaxSecrets: MaxSecrets, SecretLifetimeSeconds: int64(c.maxAge / time.Second)},
		Secrets:  c.infos(ss),
	}, nil
}

// Create mints a new secret for the app; Okta generates the value. See the
// package comment for the two-secret limit and the idempotency key, which
// Okta cannot honour.
func (c *Client) Create(ctx context.Context, cl provider.Client, req provider.CreateRequest) (provider.Created, error) {
	if err := checkClient(OpCreate, cl); err != nil {
		return provider.Created{}, err
	}
	ss, err := c.list(ctx, OpCreate, cl.ClientID)
	if err != nil {
		return provider.Created{}, err
	}
	if len(ss) >= MaxSecrets {
		if _, err := c.makeRoom(ctx, cl, ss); err != nil {
			return provider.Created{}, err
		}
	}
	var s secret
	if err := c.manage(ctx, OpCreate, http.MethodPost, c.secretsURL(cl.ClientID), []byte("{}"), []int{http.StatusOK, http.StatusCreated}, &s); err != nil {
		return provider.Created{}, err
	}
	if s.ID == "" || s.Status != "ACTIVE" || !s.shown() {
		return provider.Created{}, &provider.Error{Provider: Name, Op: OpCreate, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
			Err: errors.New("the new secret came without an id, an ACTIVE status or its value")}
	}
	value := credential.NewSecret(s.ClientSecret)
	c.seen(value)
	if s.Created.IsZero() {
		s.Created = c.now()
	}
	info := c.infos([]secret{s})[0]
	c.logf(OpCreate, cl.ClientID, logrus.Fields{"secret_id": s.ID, "idempotency_key": req.IdempotencyKey}, "created a client secret")
	return provider.Created{ClientID: cl.ClientID, Secret: info, ClientSecret: value}, nil
}

// makeRoom deletes an INACTIVE secret that is provably not the deployed
// one, or fails with ErrTooManySecrets.
func (c *Client) makeRoom(ctx context.Context, cl provider.Client, ss []secret) ([]secret, error) {
	tooMany := func(why string) error {
		return &provider.Error{Provider: Name, Op: OpCreate, Kind: provider.ErrTooManySecrets, Code: "max-secrets",
			Description: fmt.Sprintf("app %s holds %d of its %d secrets%s; revoke one first", cl.ClientID, len(ss), MaxSecrets, why)}
	}
	if len(ss) > MaxSecrets {
		return nil, tooMany("")
	}
	for i, s := range ss {
		if s.Status != "INACTIVE" {
			continue
		}
		if !c.notDeployed(ctx, cl, s, ss) {
			return nil, tooMany(fmt.Sprintf(" and the INACTIVE %s may be the deployed one", s.ID))
		}
		if err := c.delete(ctx, OpCreate, cl.ClientID, s.ID); err != nil {
			return nil, err
		}
		c.logf(OpCreate, cl.ClientID, logrus.Fields{"secret_id": s.ID}, "deleted the INACTIVE secret of an interrupted revoke to make room")
		return append(ss[:i:i], ss[i+1:]...), nil
	}
	return nil, tooMany("")
}

// notDeployed reports whether the INACTIVE secret in is provably not the
// deployed secret cl.ClientSecret.
func (c *Client) notDeployed(ctx context.Context, cl provider.Client, in secret, all []secret) bool {
	if cl.ClientSecret.IsZero() {
		return false
	}
	dep := []byte(cl.ClientSecret.Reveal())
	if in.shown() {
		return subtle.ConstantTimeCompare([]byte(in.ClientSecret), dep) != 1
	}
	for _, s := range all {
		if s.Status == "ACTIVE" && s.shown() && subtle.ConstantTimeCompare([]byte(s.ClientSecret), dep) == 1 {
			return true
		}
	}
	// An INACTIVE secret never obtains a token.
	return c.Verify(ctx, cl, cl.ClientSecret) == nil
}

// Revoke deactivates secretID, then deletes it; an INACTIVE secret is only
// deleted, an unknown one is gone already. The last ACTIVE secret is never
// deactivated.
func (c *Client) Revoke(ctx context.Context, cl provider.Client, secretID string) error {
	if err := checkClient(OpRevoke, cl); err != nil {
		return err
	}
	if secretID == "" {
		return &provider.Error{Provider: Name, Op: OpRevoke, Kind: provider.ErrBadRequest, Description: "no secret id"}
	}
	ss, err := c.list(ctx, OpRevoke, cl.ClientID)
	if err != nil {
		// An unknown app is a wrong client id, not a revoked secret.
		return err
	}
	var target *secret
	active := 0
	for i := range ss {
		if ss[i].Status == "ACTIVE" {
			active++
		}
		if ss[i].ID == secretID {
			target = &ss[i]
		}
	}
	if target == nil {
		return nil
	}
	if target.Status == "ACTIVE" {
		if active <= 1 {
			return &provider.Error{Provider: Name, Op: OpRevoke, Kind: provider.ErrLastSecret,
				Description: fmt.Sprintf("%s is the only ACTIVE secret of app %s", secretID, cl.ClientID)}
		}
		u := c.secretsURL(cl.ClientID) + "/" + url.PathEscape(secretID) + "/lifecycle/deactivate"
		if err := c.manage(ctx, OpRevoke, http.MethodPost, u, nil, []int{http.StatusOK}, nil); err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
		c.logf(OpRevoke, cl.ClientID, logrus.Fields{"secret_id": secretID}, "deactivated a client secret")
	}
	if err := c.delete(ctx, OpRevoke, cl.ClientID, secretID); err != nil {
		return err
	}
	c.logf(OpRevoke, cl.ClientID, logrus.Fields{"secret_id": secretID}, "deleted a client secret")
	return nil
}

func (c *Client) delete(ctx context.Context, op, appID, secretID string) error {
	err := c.manage(ctx, op, http.MethodDelete, c.secretsURL(appID)+"/"+url.PathEscape(secretID), nil, []int{http.StatusNoContent, http.StatusOK}, nil)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	return err
}

// Verify proves that value authenticates the app: a client_credentials
// token from TokenURL, authenticated with client_secret_basic.
func (c *Client) Verify(ctx context.Context, cl provider.Client, value credential.Secret) error {
	if err := checkClient(OpVerify, cl); err != nil {
		return err
	}
	if value.IsZero() {
		return &provider.Error{Provider: Name, Op: OpVerify, Kind: provider.ErrUnauthorized, Description: "no secret to prove"}
	}
	c.seen(value)
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.scope != "" {
		form.Set("scope", c.scope)
	}
	_, err := c.token(ctx, OpVerify, c.tokenURL, form, func(r *http.Request) {
		r.SetBasicAuth(url.QueryEscape(cl.ClientID), url.QueryEscape(value.Reveal()))
	}, value)
	return err
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token posts form to a token endpoint and returns the access token.
func (c *Client) token(ctx context.Context, op, tokenURL string, form url.Values, auth func(*http.Request), also ...credential.Secret) (tokenAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Err: errors.New("cannot build the token request")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	status, header, body, err := c.do(req, op)
	if err != nil {
		return tokenAnswer{}, err
	}
	if status != http.StatusOK {
		return tokenAnswer{}, c.parseError(op, status, header, body, also...)
	}
	var t tokenAnswer
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return tokenAnswer{}, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: status, Err: errors.New("the token answer is not a token")}
	}
	c.seen(credential.NewSecret(t.AccessToken))
	return t, nil
}

// authorization returns the management Authorization header.
func (c *Client) authorization(ctx context.Context) (string, error) {
	if c.app == nil {
		return "SSWS " + c.apiToken.Reveal(), nil
	}
	// One fetch at a time; mu guards the cached token itself.
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	c.mu.Lock()
	bearer, expiry := c.bearer, c.expiry
	c.mu.Unlock()
	if !bearer.IsZero() && c.now().Before(expiry) {
		return "Bearer " + bearer.Reveal(), nil
	}
	assertion, err := c.assertion()
	if err != nil {
		return "", &provider.Error{Provider: Name, Op: OpToken, Kind: provider.ErrBadRequest, Description: "cannot sign the client assertion", Err: err}
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {ManagementScopes},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	t, err := c.token(ctx, OpToken, c.mgmtToken, form, nil, credential.NewSecret(assertion))
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Code == "invalid_scope" {
		// The service app was not granted okta.apps.read and okta.apps.manage.
		pe.Kind = provider.ErrForbidden
	}
	if err != nil {
		return "", err
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return "", &provider.Error{Provider: Name, Op: OpToken, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
			Description: "the service app's token is not a Bearer token (an app that requires DPoP is not supported)"}
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	c.mu.Lock()
	c.bearer, c.expiry = credential.NewSecret(t.AccessToken), c.now().Add(life-min(time.Minute, life/2))
	c.mu.Unlock()
	return "Bearer " + t.AccessToken, nil
}

// dropBearer forgets a rejected access token.
func (c *Client) dropBearer() bool {
	if c.app == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bearer, c.expiry = credential.Secret{}, time.Time{}
	return true
}

// manage sends one management call and decodes a success into out.
func (c *Client) manage(ctx context.Context, op, method, u string, body []byte, want []int, out any) error {
	_, err := c.manageHeader(ctx, op, method, u, body, want, out)
	return err
}

// manageHeader is manage that also returns the answer's header (the apps
// list's Link).
func (c *Client) manageHeader(ctx context.Context, op, method, u string, body []byte, want []int, out any) (http.Header, error) {
	for attempt := 0; ; attempt++ {
		h, err := c.manageOnce(ctx, op, method, u, body, want, out)
		var pe *provider.Error
		if attempt == 0 && errors.As(err, &pe) && pe.Op == op && pe.Code == "E0000011" && c.dropBearer() {
			continue
		}
		return h, err
	}
}

func (c *Client) manageOnce(ctx context.Context, op, method, u string, body []byte, want []int, out any) (http.Header, error) {
	auth, err := c.authorization(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Err: errors.New("cannot build the request")}
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, header, b, err := c.do(req, op)
	if err != nil {
		return nil, err
	}
	ok := false
	for _, w := range want {
		ok = ok || status == w
	}
	if !ok {
		return header, c.parseError(op, status, header, b)
	}
	if out == nil {
		return header, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return header, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: status, Err: errors.New("the answer is not the expected JSON")}
	}
	return header, nil
}

// do sends req and reads a bounded body. Failures without an answer are
// typed; no URL or header reaches the error.
func (c *Client) do(req *http.Request, op string) (int, http.Header, []byte, error) {
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		var re *redirect.RefusedError
		if errors.As(err, &re) {
			return 0, nil, nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, Err: re}
		}
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		return 0, nil, nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrTransient, Err: errors.New(scrub(cause.Error(), req))}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if c.log != nil {
		c.log.WithFields(logrus.Fields{"op": op, "status": resp.StatusCode, "request_id": requestID(resp.Header), "duration": c.now().Sub(start).String()}).Debug("okta call")
	}
	if err != nil {
		return 0, nil, nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrTransient, HTTPStatus: resp.StatusCode, Err: errors.New("reading the answer failed")}
	}
	if int64(len(b)) > c.maxBody {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return 0, nil, nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode,
				Err: fmt.Errorf("the answer is larger than %d bytes", c.maxBody)}
		}
		b = nil // an oversized error page: the status still says what happened
	}
	return resp.StatusCode, resp.Header, b, nil
}

// scrub removes the request's URL from a transport error's text: it holds
// no secret here, but a hostile answer's text could echo one.
func scrub(msg string, req *http.Request) string {
	msg = strings.ReplaceAll(msg, req.URL.String(), redirect.Clean(req.URL))
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

func requestID(h http.Header) string {
	return clean(h.Get("X-Okta-Request-Id"), 64)
}

func (c *Client) logf(op, appID string, f logrus.Fields, msg string) {
	if c.log == nil {
		return
	}
	c.log.WithFields(f).WithFields(logrus.Fields{"op": op, "client_id": appID}).Info(msg)
}

// errorBody is Okta's error answer; token endpoints answer with RFC 6749's.
type errorBody struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorLink    string `json:"errorLink"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// parseError turns an error answer into a typed error. Only the service's
// codes and summaries reach it, cut short and stripped of control
// characters; Okta never echoes a secret in them.
func (c *Client) parseError(op string, status int, h http.Header, body []byte, also ...credential.Secret) *provider.Error {
	// A hostile answer could quote what it was sent: secrets are replaced
	// before anything is cut short, so no part of one survives.
	c.mu.Lock()
	secrets := append([]credential.Secret{c.apiToken, c.bearer}, also...)
	c.mu.Unlock()
	scrub := func(v string, n int) string {
		for _, s := range secrets {
			if sv := s.Reveal(); len(sv) >= 4 {
				v = strings.ReplaceAll(v, sv, credential.Redacted)
			}
		}
		return clean(v, n)
	}
	return c.parseErrorBody(op, status, h, body, scrub)
}

func (c *Client) parseErrorBody(op string, status int, h http.Header, body []byte, clean func(string, int) string) *provider.Error {
	e := &provider.Error{Provider: Name, Op: op, HTTPStatus: status, Kind: provider.KindForStatus(status), RequestID: clean(h.Get("X-Okta-Request-Id"), 64)}
	var eb errorBody
	if len(body) > 0 && json.Unmarshal(body, &eb) == nil {
		if eb.ErrorCode != "" {
			e.Code = clean(eb.ErrorCode, 32)
			var desc strings.Builder
			desc.WriteString(eb.ErrorSummary)
			for _, cause := range eb.ErrorCauses {
				if desc.Len() > 4096 {
					break
				}
				desc.WriteString("; " + cause.ErrorSummary)
			}
			e.Description = clean(desc.String(), 300)
			if e.RequestID == "" {
				e.RequestID = clean(eb.ErrorID, 64)
			}
		} else if eb.Error != "" {
			e.Code = clean(eb.Error, 32)
			e.Description = clean(eb.ErrorDescription, 300)
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind = provider.ErrRateLimited
		e.RetryAfter = c.retryAfter(h)
	case status >= 500:
		e.Kind = provider.ErrTransient
	case e.Code == "E0000011", e.Code == "invalid_client", e.Code == "E0000004":
		e.Kind = provider.ErrUnauthorized
	case e.Code == "E0000006", e.Code == "unauthorized_client", e.Code == "access_denied":
		e.Kind = provider.ErrForbidden
	case e.Code == "E0000007":
		e.Kind = provider.ErrNotFound
	case e.Code == "E0000047":
		e.Kind = provider.ErrRateLimited
		e.RetryAfter = c.retryAfter(h)
	case e.Code == "E0000001" && maxSecrets(e.Description):
		e.Kind = provider.ErrTooManySecrets
	case e.Code == "E0000001" && lastActive(e.Description):
		e.Kind = provider.ErrLastSecret
	case e.Code == "invalid_scope", e.Code == "invalid_request", e.Code == "unsupported_grant_type":
		e.Kind = provider.ErrBadRequest
	}
	if e.Kind == provider.ErrMalformedResponse && status >= 400 {
		e.Kind = provider.ErrBadRequest
	}
	return e
}

// maxSecrets recognises Okta's refusal of a third secret.
func maxSecrets(desc string) bool {
	d := strings.ToLower(desc)
	return strings.Contains(d, "secret") && (strings.Contains(d, "maximum") || strings.Contains(d, "max ") || strings.Contains(d, "up to two") || strings.Contains(d, "limit"))
}

// lastActive recognises Okta's refusal to deactivate the last secret.
func lastActive(desc string) bool {
	d := strings.ToLower(desc)
	return strings.Contains(d, "secret") && (strings.Contains(d, "only active") || strings.Contains(d, "last active") || strings.Contains(d, "at least one active"))
}

// retryAfter reads X-Rate-Limit-Reset (epoch seconds), else Retry-After,
// else one second.
func (c *Client) retryAfter(h http.Header) time.Duration {
	if d := provider.ResetAfter(h.Get("X-Rate-Limit-Reset"), c.now()); d > 0 {
		return d
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && v > 0 {
		return min(time.Duration(v)*time.Second, time.Hour)
	}
	return time.Second
}

// clean keeps printable ASCII and at most n bytes of s.
func clean(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}
