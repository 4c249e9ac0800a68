// Package entra is the provider.Provider of Microsoft Entra ID application
// passwords (client secrets), against Microsoft Graph v1.0 and the
// Microsoft identity platform's v2.0 token endpoint.
//
// An application is found by its object id when the configuration gives
// one, else by its client id (GET /applications(appId='…')). Describe maps
// its passwordCredentials onto the neutral vocabulary; Create is addPassword
// with an end date and a display name that carries the rotation's
// idempotency key; Revoke is removePassword; Verify obtains a
// client-credentials token for Graph with the secret.
//
// The management identity is an application of its own (client secret, or
// workload identity: a federated token as client assertion), with
// Application.ReadWrite.OwnedBy on the applications it owns; or, with no
// management client id, each application manages itself ("self-managed")
// with its current secret, and after a create with the new one.
//
// Graph does not replay an addPassword, so a create repeated with the same
// idempotency key cannot give the value again: it fails with
// ErrNotReplayable and the rotation revokes that orphan and mints anew.
package entra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
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
const Name = "entra"

// Defaults for Options.
const (
	DefaultGraphURL         = "https://graph.microsoft.com"
	DefaultLoginURL         = "https://login.microsoftonline.com"
	DefaultSecretLifetime   = 90 * 24 * time.Hour
	DefaultTimeout          = 30 * time.Second
	DefaultTokenExpiryDelta = 2 * time.Minute
	// MaxBodyBytes caps every answer read.
	MaxBodyBytes = 1 << 20
)

// GraphScope is the scope of a client-credentials token for Graph.
const GraphScope = "https://graph.microsoft.com/.default"

// AssertionType is the client_assertion_type of a federated token.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// DisplayNamePrefix starts the display name of every password credrotate
// adds; others are foreign.
const DisplayNamePrefix = "credrotate"

// Graph error codes the provider tells apart.
const (
	CodeLifetimePolicy = "CredentialInvalidLifetimeAsPerAppPolicy"
)

// Rules are Entra ID's. Graph lets an application hold many passwords, but
// credrotate keeps two valid at most, the deployed one and its successor,
// so that every valid credrotate password is accounted for by a manifest or
// a pull request; others (foreign ones) are left alone.
var Rules = provider.Rules{
	MaxValid:        2,
	SetsExpiry:      true,
	ReportsExpiry:   true,
	RetiresOnCreate: false,
	Replays:         false,
	Revocation:      provider.RevokeOneStep,
	// A new password is refused by the token endpoint for a while after
	// addPassword, while it replicates.
	Propagation: 2 * time.Minute,
}

// Management is the identity that manages the applications. With no
// ClientID each application manages itself with its own secret.
type Management struct {
	ClientID string
	// ClientSecret reads the management application's secret (client
	// credentials); it is read each time a token is needed.
	ClientSecret func(ctx context.Context) (credential.Secret, error)
	// FederatedTokenFile holds a workload identity token (as on AKS,
	// AZURE_FEDERATED_TOKEN_FILE), sent as the client assertion; it is
	// read each time a token is needed, since it is rotated on disk.
	FederatedTokenFile string
}

// SelfManaged reports whether each application manages itself.
func (m Management) SelfManaged() bool { return m.ClientID == "" }

// Options configure a Provider. TenantID is required.
type Options struct {
	TenantID string
	// GraphURL and LoginURL are Graph's and the identity platform's roots;
	// defaults Microsoft's public cloud.
	GraphURL, LoginURL string
	// SecretLifetime is a new password's life when the create names no
	// end date; default 90 days.
	SecretLifetime time.Duration
	Management     Management
	// ObjectIDs maps client ids to application object ids, so that they
	// need not be looked up.
	ObjectIDs map[string]string
	// HTTPClient sends the requests; nil means a default client. Its
	// redirect policy is wrapped by pkg/credential/redirect's.
	HTTPClient *http.Client
	// Timeout bounds each attempt; default 30s.
	Timeout time.Duration
	// MaxRetries is the number of retries of a retryable failure; zero
	// means 3, negative none.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the waits between attempts;
	// defaults 500ms and 10s.
	InitialBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After waited for; a longer one is
	// returned as ErrRateLimited. Default 2m.
	MaxRetryAfter time.Duration
	// TokenExpiryDelta renews a cached management token this long before
	// it expires; default 2m.
	TokenExpiryDelta time.Duration
	// Logger gets one line per request (op, client_id, status,
	// request_id), never a secret or token; nil is silent.
	Logger *logrus.Entry
	// SecretSeen is told every secret the provider reads or mints and every
	// token it obtains, at once.
	SecretSeen func(credential.Secret)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sleep waits between attempts; default a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Provider is the Entra ID provider. It is safe for concurrent use.
type Provider struct {
	opts     Options
	graph    string
	tokenURL string
	http     *http.Client

	mu      sync.Mutex
	tokens  map[string]cachedToken
	objects map[string]string
	// minted is the newest secret created per client, for self-managed
	// applications: after a create it manages.
	minted map[string]credential.Secret
	// known holds the secrets and tokens seen, to scrub answers.
	known map[string]struct{}
}

type cachedToken struct {
	value   string
	expires time.Time
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Lister   = (*Provider)(nil)
)

// New returns a Provider for opts.
func New(opts Options) (*Provider, error) {
	if strings.TrimSpace(opts.TenantID) == "" {
		return nil, errors.New("entra: a tenant id is required (entra.tenantID)")
	}
	if opts.GraphURL == "" {
		opts.GraphURL = DefaultGraphURL
	}
	if opts.LoginURL == "" {
		opts.LoginURL = DefaultLoginURL
	}
	for _, u := range []struct{ key, val string }{{"entra.graphURL", opts.GraphURL}, {"entra.loginURL", opts.LoginURL}} {
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("entra: %s %q is not an http(s) URL", u.key, redirect.Clean(p))
		}
	}
	if opts.SecretLifetime <= 0 {
		opts.SecretLifetime = DefaultSecretLifetime
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = 3
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 2 * time.Minute
	}
	if opts.TokenExpiryDelta <= 0 {
		opts.TokenExpiryDelta = DefaultTokenExpiryDelta
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	m := opts.Management
	if m.ClientID != "" && (m.ClientSecret == nil) == (m.FederatedTokenFile == "") {
		return nil, errors.New("entra: the management application needs exactly one of a client secret and a federated token file (entra.management)")
	}
	p := &Provider{
		opts:     opts,
		graph:    strings.TrimRight(opts.GraphURL, "/") + "/v1.0",
		tokenURL: strings.TrimRight(opts.LoginURL, "/") + "/" + url.PathEscape(opts.TenantID) + "/oauth2/v2.0/token",
		http:     redirect.Client(opts.HTTPClient),
		tokens:   map[string]cachedToken{},
		objects:  map[string]string{},
		minted:   map[string]credential.Secret{},
		known:    map[string]struct{}{},
	}
	for k, v := range opts.ObjectIDs {
		p.objects[k] = v
	}
	return p, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Name is "entra".
func (p *Provider) Name() string { return Name }

// Rules are Entra ID's rules.
func (p *Provider) Rules() provider.Rules { return Rules }

// SelfManaged reports whether each application manages itself.
func (p *Provider) SelfManaged() bool { return p.opts.Management.SelfManaged() }

// Describe returns the metadata of every password of c's application.
func (p *Provider) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	a, err := p.application(ctx, "describe", c)
	if err != nil {
		return provider.ClientInfo{}, err
	}
	return p.info(c.ClientID, a), nil
}

// Create adds a password to c's application. Its display name carries
// req.IdempotencyKey: a create whose key already names a password fails
// with ErrNotReplayable, since Graph gives a value only once.
func (p *Provider) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	if req.IdempotencyKey == "" {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrBadRequest, Description: "an idempotency key is required"}
	}
	a, err := p.application(ctx, "create", c)
	if err != nil {
		return provider.Created{}, err
	}
	name := DisplayNamePrefix + " " + req.IdempotencyKey
	for _, pc := range a.PasswordCredentials {
		if pc.DisplayName != nil && *pc.DisplayName == name {
			return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrNotReplayable,
				Description: "a password named " + strconv.Quote(name) + " exists; Graph cannot give its value again, so it is to be removed and a new one added"}
		}
	}
	now := p.opts.Now()
	end := req.ExpiresAt
	if end.IsZero() {
		end = now.Add(p.opts.SecretLifetime)
	}
	body, err := json.Marshal(addPasswordBody{PasswordCredential: newPassword{DisplayName: name, EndDateTime: end.UTC().Format(time.RFC3339)}})
	if err != nil {
		return provider.Created{}, err
	}
	var out wirePassword
	err = p.graphCall(ctx, "create", c, call{method: http.MethodPost, path: "/applications/" + url.PathEscape(a.ID) + "/addPassword", body: body, retryUnperformedOnly: true, want: http.StatusOK, decode: &out})
	if err != nil {
		return provider.Created{}, err
	}
	if out.SecretText == nil || *out.SecretText == "" || out.KeyID == "" {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrMalformedResponse, Description: "addPassword answered without a keyId or secretText"}
	}
	secret := credential.NewSecret(*out.SecretText)
	p.seen(secret)
	p.mu.Lock()
	p.minted[c.ClientID] = secret
	p.mu.Unlock()
	info := p.secretInfo(out, now)
	info.Status = provider.StatusActive
	p.log("create", c.ClientID).WithField("secret_id", info.SecretID).Info("entra password added")
	return provider.Created{ClientID: c.ClientID, Secret: info, ClientSecret: secret}, nil
}

// Verify obtains a client-credentials token for Graph with secret: the
// proof that it works. A password still replicating after addPassword is
// refused like a wrong one (AADSTS7000215): ErrUnauthorized.
func (p *Provider) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	p.seen(secret)
	_, _, err := p.requestToken(ctx, "verify", c.ClientID, url.Values{"client_secret": {secret.Reveal()}}, secret)
	return err
}

// Revoke removes secretID from c's application. An unknown secret is
// already gone: success. Removing the last valid password fails with
// ErrLastSecret.
func (p *Provider) Revoke(ctx context.Context, c provider.Client, secretID string) error {
	a, err := p.application(ctx, "revoke", c)
	if err != nil {
		return err
	}
	info := p.info(c.ClientID, a)
	s, ok := info.Find(secretID)
	if !ok {
		return nil
	}
	if s.Status.Valid() && info.ValidCount() <= 1 {
		return &provider.Error{Provider: Name, Op: "revoke", Kind: provider.ErrLastSecret, Description: "password " + secretID + " is the application's only valid one"}
	}
	body, _ := json.Marshal(removePasswordBody{KeyID: secretID})
	err = p.graphCall(ctx, "revoke", c, call{method: http.MethodPost, path: "/applications/" + url.PathEscape(a.ID) + "/removePassword", body: body, want: http.StatusNoContent})
	if errors.Is(err, provider.ErrNotFound) {
		// Removed meanwhile (or by a retry whose first answer was lost).
		return nil
	}
	if err == nil {
		p.log("revoke", c.ClientID).WithField("secret_id", secretID).Info("entra password removed")
	}
	return err
}

// maxListPages bounds how many pages List follows.
const maxListPages = 200

// List returns every application the management application owns, with
// its passwords' metadata (GET
// /servicePrincipals(appId='…')/ownedObjects/microsoft.graph.application,
// page by page): the scope of Application.ReadWrite.OwnedBy. A
// self-managed provider has no scope beyond the configured applications
// and lists nothing (ErrBadRequest).
func (p *Provider) List(ctx context.Context) ([]provider.Listed, error) {
	m := p.opts.Management
	if m.SelfManaged() {
		return nil, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrBadRequest, Description: "self-managed applications have no management identity whose scope could be listed (set entra.management)"}
	}
	mgmt := provider.Client{ClientID: m.ClientID}
	next := ""
	var out []provider.Listed
	for page := 0; page < maxListPages; page++ {
		var ans struct {
			Value    []wireApplication `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		cl := call{method: http.MethodGet, want: http.StatusOK, decode: &ans}
		if next == "" {
			cl.path = "/servicePrincipals(appId='" + url.PathEscape(strings.ReplaceAll(m.ClientID, "'", "''")) + "')/ownedObjects/microsoft.graph.application"
			cl.query = url.Values{"$select": {"id,appId,displayName,passwordCredentials"}, "$top": {"100"}}
		} else {
			cl.abs = next
		}
		if err := p.graphCall(ctx, "list", mgmt, cl); err != nil {
			return out, err
		}
		for _, a := range ans.Value {
			info := p.info(a.AppID, a)
			out = append(out, provider.Listed{ClientID: a.AppID, Name: a.DisplayName, Secrets: info.Secrets})
			if a.AppID != "" && a.ID != "" {
				p.mu.Lock()
				p.objects[a.AppID] = a.ID
				p.mu.Unlock()
			}
		}
		if ans.NextLink == "" {
			return out, nil
		}
		// The token goes with the next page: only ever to Graph itself.
		u, err := url.Parse(ans.NextLink)
		g, _ := url.Parse(p.graph)
		if err != nil || redirect.Origin(u) != redirect.Origin(g) {
			return out, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrMalformedResponse, Description: "@odata.nextLink leads away from Graph (" + redirect.Clean(u) + "); not followed"}
		}
		next = ans.NextLink
	}
	return out, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrMalformedResponse, Description: fmt.Sprintf("more than %d pages of applications", maxListPages)}
}

// application reads c's application, by object id when known.
func (p *Provider) application(ctx context.Context, op string, c provider.Client) (wireApplication, error) {
	if c.ClientID == "" {
		return wireApplication{}, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Description: "a client id is required"}
	}
	p.mu.Lock()
	oid := p.objects[c.ClientID]
	p.mu.Unlock()
	path := "/applications(appId='" + url.PathEscape(strings.ReplaceAll(c.ClientID, "'", "''")) + "')"
	if oid != "" {
		path = "/applications/" + url.PathEscape(oid)
	}
	var a wireApplication
	err := p.graphCall(ctx, op, c, call{method: http.MethodGet, path: path, query: url.Values{"$select": {"id,appId,displayName,passwordCredentials"}}, want: http.StatusOK, decode: &a})
	if err != nil {
		return a, err
	}
	if a.ID == "" || (a.AppID != "" && a.AppID != c.ClientID) {
		return a, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, Description: "the application read is not client " + c.ClientID + "'s (check providers[].objectID)"}
	}
	p.mu.Lock()
	p.objects[c.ClientID] = a.ID
	p.mu.Unlock()
	return a, nil
}

// info maps an application's passwords: valid ones (started, not ended)
// are RETIRING but the newest of credrotate's, which is ACTIVE (the newest
// foreign one when credrotate has none); ended ones EXPIRED.
func (p *Provider) info(clientID string, a wireApplication) provider.ClientInfo {
	now := p.opts.Now()
	out := provider.ClientInfo{ClientID: clientID, Policy: provider.Policy{MaxSecrets: Rules.MaxValid, SecretLifetimeSeconds: int64(p.opts.SecretLifetime / time.Second)}}
	for _, pc := range a.PasswordCredentials {
		out.Secrets = append(out.Secrets, p.secretInfo(pc, now))
	}
	sort.SliceStable(out.Secrets, func(i, j int) bool { return out.Secrets[i].CreatedAt.Before(out.Secrets[j].CreatedAt) })
	active := -1
	for _, foreign := range []bool{false, true} {
		for i, s := range out.Secrets {
			if s.Status.Valid() && s.Foreign == foreign && (active < 0 || !s.CreatedAt.Before(out.Secrets[active].CreatedAt)) {
				active = i
			}
		}
		if active >= 0 {
			break
		}
	}
	if active >= 0 {
		out.Secrets[active].Status = provider.StatusActive
	}
	return out
}

func (p *Provider) secretInfo(pc wirePassword, now time.Time) provider.SecretInfo {
	s := provider.SecretInfo{SecretID: pc.KeyID, Hint: pc.Hint, CreatedAt: parseTime(pc.StartDateTime), ExpiresAt: parseTime(pc.EndDateTime), Status: provider.StatusRetiring}
	if pc.DisplayName != nil {
		s.Name = *pc.DisplayName
	}
	s.Foreign = !strings.HasPrefix(s.Name, DisplayNamePrefix)
	if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		s.Status = provider.StatusExpired
	}
	return s
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// The wire forms of Graph's application and passwordCredential.
type wireApplication struct {
	ID                  string         `json:"id"`
	AppID               string         `json:"appId"`
	DisplayName         string         `json:"displayName"`
	PasswordCredentials []wirePassword `json:"passwordCredentials"`
}

type wirePassword struct {
	DisplayName   *string `json:"displayName"`
	EndDateTime   string  `json:"endDateTime"`
	Hint          string  `json:"hint"`
	KeyID         string  `json:"keyId"`
	SecretText    *string `json:"secretText"`
	StartDateTime string  `json:"startDateTime"`
}

type addPasswordBody struct {
	PasswordCredential newPassword `json:"passwordCredential"`
}

type newPassword struct {
	DisplayName string `json:"displayName"`
	EndDateTime string `json:"endDateTime"`
}

type removePasswordBody struct {
	KeyID string `json:"keyId"`
}

// seen tells SecretSeen of s and keeps it for scrubbing what the services
// answer.
func (p *Provider) seen(s credential.Secret) {
	if s.IsZero() {
		return
	}
	p.mu.Lock()
	if _, ok := p.known[s.Reveal()]; !ok && len(p.known) < maxKnown {
		p.known[s.Reveal()] = struct{}{}
	}
	p.mu.Unlock()
	if p.opts.SecretSeen != nil {
		p.opts.SecretSeen(s)
	}
}

// maxKnown bounds the secrets kept for scrubbing.
const maxKnown = 4096

// scrubText replaces every secret this provider knows of in s, so that a
// service echoing one (in an error message) cannot put it into an error.
func (p *Provider) scrubText(s string) string {
	if s == "" {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for v := range p.known {
		if len(v) >= 4 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, credential.Redacted)
		}
	}
	return s
}

func (p *Provider) log(op, clientID string) *logrus.Entry {
	l := p.opts.Logger
	if l == nil {
		l = logrus.NewEntry(&logrus.Logger{Out: io.Discard, Formatter: &logrus.TextFormatter{}, Level: logrus.PanicLevel})
	}
	f := logrus.Fields{"op": op, "client_id": clientID}
	if p.SelfManaged() {
		f["self_managed"] = true
	}
	return l.WithFields(f)
}

// call is one Graph request.
type call struct {
	method string
	path   string
	// abs, when set, is the whole URL (a Graph @odata.nextLink).
	abs    string
	query  url.Values
	body   []byte
	want   int
	decode any
	// retryUnperformedOnly: retried only after an answer that says the
	// request was not carried out (429, 503), never after one that may
	// follow a change (another 5xx, a timeout): addPassword.
	retryUnperformedOnly bool
}

// graphCall sends cl with a management token, under the retry policy; a
// rejected token is dropped and a new one tried once.
func (p *Provider) graphCall(ctx context.Context, op string, c provider.Client, cl call) error {
	retriedAuth := false
	for attempt := 0; ; attempt++ {
		tok, err := p.managementToken(ctx, op, c)
		if err != nil {
			return err
		}
		err = p.sendGraph(ctx, op, c, tok, cl)
		if err == nil {
			return nil
		}
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Kind == provider.ErrUnauthorized && !retriedAuth {
			retriedAuth = true
			p.dropToken(tok)
			continue
		}
		if !p.retry(ctx, attempt, err, cl.retryUnperformedOnly) {
			return err
		}
	}
}

// retry waits before another attempt and reports whether there is one.
func (p *Provider) retry(ctx context.Context, attempt int, err error, unperformedOnly bool) bool {
	var pe *provider.Error
	if attempt >= p.opts.MaxRetries || !errors.As(err, &pe) || !provider.Retryable(err) || ctx.Err() != nil {
		return false
	}
	if unperformedOnly && pe.Kind != provider.ErrRateLimited && pe.HTTPStatus != http.StatusServiceUnavailable {
		return false
	}
	if pe.RetryAfter > p.opts.MaxRetryAfter {
		return false
	}
	wait := min(p.opts.InitialBackoff<<attempt, p.opts.MaxBackoff)
	wait = wait/2 + rand.N(wait/2+1)
	wait = max(wait, pe.RetryAfter)
	return p.opts.Sleep(ctx, wait) == nil
}

func (p *Provider) sendGraph(ctx context.Context, op string, c provider.Client, tok string, cl call) error {
	actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	u := p.graph + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	if cl.abs != "" {
		u = cl.abs
	}
	var body io.Reader = http.NoBody
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u, body)
	if err != nil {
		return &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Err: scrub(err)}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, hdr, data, err := p.do(actx, req)
	if err != nil {
		return failed(actx, op, status, err)
	}
	reqID := hdr.Get("request-id")
	p.log(op, c.ClientID).WithFields(logrus.Fields{"status": status, "request_id": reqID, "method": cl.method}).Debug("graph")
	if status != cl.want {
		return p.graphError(op, status, hdr, data)
	}
	if cl.decode != nil {
		if err := json.Unmarshal(data, cl.decode); err != nil {
			return &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: status, RequestID: reqID, Description: "the answer is not the JSON expected", Err: err}
		}
	}
	return nil
}

// errBodyTooLarge reports an answer over MaxBodyBytes.
var errBodyTooLarge = fmt.Errorf("answer larger than %d bytes", MaxBodyBytes)

// do sends req and reads at most MaxBodyBytes of the answer.
func (p *Provider) do(ctx context.Context, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return resp.StatusCode, resp.Header, nil, err
	}
	if len(data) > MaxBodyBytes {
		return resp.StatusCode, resp.Header, nil, errBodyTooLarge
	}
	return resp.StatusCode, resp.Header, data, nil
}

// failed types an error from sending a request or reading its answer.
func failed(ctx context.Context, op string, status int, err error) *provider.Error {
	e := &provider.Error{Provider: Name, Op: op, Kind: provider.ErrTransient, HTTPStatus: status, Err: scrub(err)}
	var re *redirect.RefusedError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		// Not worth retrying: the server would redirect again.
		e.Kind, e.Err = provider.ErrMalformedResponse, re
	case errors.Is(err, errBodyTooLarge):
		e.Kind = provider.ErrMalformedResponse
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		e.Description = "no answer in time"
	}
	return e
}

// scrub drops the query and user information of a *url.Error's URL.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		clean := "(unparseable URL)"
		if perr == nil {
			clean = redirect.Clean(u)
		}
		return &url.Error{Op: ue.Op, URL: clean, Err: ue.Err}
	}
	return err
}

// graphErrorBody is Graph's error body.
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

func (p *Provider) graphError(op string, status int, hdr http.Header, data []byte) *provider.Error {
	e := &provider.Error{Provider: Name, Op: op, Kind: provider.KindForStatus(status), HTTPStatus: status, RequestID: hdr.Get("request-id"), RetryAfter: retryAfter(hdr.Get("Retry-After"), p.opts.Now())}
	var b graphErrorBody
	if json.Unmarshal(data, &b) == nil && b.Error.Code != "" {
		e.Code, e.Description = clip(p.scrubText(b.Error.Code)), clip(p.scrubText(b.Error.Message))
		if b.Error.InnerError.RequestID != "" {
			e.RequestID = b.Error.InnerError.RequestID
		}
	} else if status < 400 {
		e.Kind, e.Description = provider.ErrMalformedResponse, fmt.Sprintf("unexpected HTTP %d", status)
	}
	msg := strings.ToLower(e.Description)
	switch {
	case e.Code == CodeLifetimePolicy || strings.Contains(msg, "credential lifetime") || strings.Contains(msg, "lifetime exceeds"):
		e.Kind = provider.ErrBadRequest
		e.Description = fmt.Sprintf("the tenant's app management policy refuses a password living %s (%s): shorten entra.secretLifetime to within the policy's maximum", lifetime(p.opts.SecretLifetime), e.Description)
	case status == http.StatusBadRequest && strings.Contains(msg, "maximum number of password credentials"):
		e.Kind = provider.ErrTooManySecrets
	case status == http.StatusForbidden:
		e.Description = strings.TrimSpace(e.Description + " " + p.permissionHint())
	}
	return e
}

// lifetime renders a password's lifetime as configured and in days:
// "2160h (90 days)".
func lifetime(d time.Duration) string {
	h := strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%s (%d days)", h, d/(24*time.Hour))
	}
	return h
}

func (p *Provider) permissionHint() string {
	if p.SelfManaged() {
		return "(a self-managed application may change only its own passwords)"
	}
	return "(the management application needs Application.ReadWrite.OwnedBy and to own the application)"
}

// clip bounds a service's message.
func clip(s string) string {
	const max = 512
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// retryAfter parses a Retry-After header: delta seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// managementToken returns a cached or new Graph token of the identity that
// manages c: the management application, or c itself.
func (p *Provider) managementToken(ctx context.Context, op string, c provider.Client) (string, error) {
	m := p.opts.Management
	if !m.SelfManaged() {
		key := "mgmt\x00" + m.ClientID
		if t, ok := p.cached(key); ok {
			return t, nil
		}
		form := url.Values{}
		var secret credential.Secret
		if m.FederatedTokenFile != "" {
			raw, err := readFederated(m.FederatedTokenFile)
			if err != nil {
				return "", &provider.Error{Provider: Name, Op: "token", Kind: provider.ErrUnauthorized, Description: "reading the workload identity token (entra.management.federatedTokenFile)", Err: err}
			}
			secret = credential.NewSecret(raw)
			form.Set("client_assertion_type", AssertionType)
			form.Set("client_assertion", raw)
		} else {
			s, err := m.ClientSecret(ctx)
			if err != nil {
				return "", &provider.Error{Provider: Name, Op: "token", Kind: provider.ErrUnauthorized, Description: "reading the management client secret (entra.management.clientSecret)", Err: err}
			}
			secret = s
			form.Set("client_secret", s.Reveal())
		}
		p.seen(secret)
		tok, exp, err := p.requestToken(ctx, "token", m.ClientID, form, secret)
		if err != nil {
			return "", err
		}
		p.store(key, tok, exp)
		return tok, nil
	}
	// Self-managed: the application's own secret, or the newest one this
	// provider minted for it once the deployed one is refused.
	candidates := []credential.Secret{c.ClientSecret}
	p.mu.Lock()
	if s, ok := p.minted[c.ClientID]; ok && !s.Equal(c.ClientSecret) {
		candidates = append(candidates, s)
	}
	p.mu.Unlock()
	var lastErr error
	for _, s := range candidates {
		if s.IsZero() {
			continue
		}
		key := "self\x00" + c.ClientID + "\x00" + digest(s.Reveal())
		if t, ok := p.cached(key); ok {
			return t, nil
		}
		p.seen(s)
		tok, exp, err := p.requestToken(ctx, "token", c.ClientID, url.Values{"client_secret": {s.Reveal()}}, s)
		if err == nil {
			p.store(key, tok, exp)
			return tok, nil
		}
		lastErr = err
		if !errors.Is(err, provider.ErrUnauthorized) {
			break
		}
	}
	if lastErr == nil {
		lastErr = &provider.Error{Provider: Name, Op: op, Kind: provider.ErrUnauthorized, Description: "a self-managed application needs its current secret (providers[].currentSecret), or set entra.management"}
	}
	return "", lastErr
}

func readFederated(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("the token file is empty")
	}
	return s, nil
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func (p *Provider) cached(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tokens[key]
	if !ok || !p.opts.Now().Add(p.opts.TokenExpiryDelta).Before(t.expires) {
		return "", false
	}
	return t.value, true
}

func (p *Provider) store(key, tok string, exp time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens[key] = cachedToken{value: tok, expires: exp}
}

func (p *Provider) dropToken(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.tokens {
		if t.value == tok {
			delete(p.tokens, k)
		}
	}
}

// tokenAnswer is the token endpoint's answer, success or error.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// requestToken asks the token endpoint for a Graph token for clientID with
// form's credentials (a secret or an assertion), retrying 429 and 5xx.
// secret is what must never appear in an error.
func (p *Provider) requestToken(ctx context.Context, op, clientID string, form url.Values, secret credential.Secret) (string, time.Time, error) {
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", clientID)
	form.Set("scope", GraphScope)
	encoded := form.Encode()
	for attempt := 0; ; attempt++ {
		tok, exp, err := p.tokenOnce(ctx, op, clientID, encoded, secret)
		if err == nil {
			p.seen(credential.NewSecret(tok))
			return tok, exp, nil
		}
		if !p.retry(ctx, attempt, err, false) {
			return "", time.Time{}, err
		}
	}
}

func (p *Provider) tokenOnce(ctx context.Context, op, clientID, encoded string, secret credential.Secret) (string, time.Time, error) {
	actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, p.tokenURL, strings.NewReader(encoded))
	if err != nil {
		return "", time.Time{}, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Err: scrub(err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, hdr, data, err := p.do(actx, req)
	if err != nil {
		return "", time.Time{}, failed(actx, op, status, err)
	}
	var a tokenAnswer
	jerr := json.Unmarshal(data, &a)
	p.log(op, clientID).WithFields(logrus.Fields{"status": status, "request_id": a.CorrelationID}).Debug("token")
	if status == http.StatusOK {
		if jerr != nil || a.AccessToken == "" {
			return "", time.Time{}, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrMalformedResponse, HTTPStatus: status, Description: "the token answer holds no access_token"}
		}
		exp := p.opts.Now().Add(time.Duration(max(a.ExpiresIn, 60)) * time.Second)
		return a.AccessToken, exp, nil
	}
	e := &provider.Error{Provider: Name, Op: op, Kind: provider.KindForStatus(status), HTTPStatus: status, RequestID: a.CorrelationID, RetryAfter: retryAfter(hdr.Get("Retry-After"), p.opts.Now())}
	if jerr == nil && a.Error != "" {
		e.Code = a.Error
		if len(a.ErrorCodes) > 0 {
			e.Code = fmt.Sprintf("AADSTS%d", a.ErrorCodes[0])
		}
		desc, _, _ := strings.Cut(a.ErrorDescription, "\r\n")
		desc, _, _ = strings.Cut(desc, "\n")
		e.Description = clip(strings.TrimSpace(desc))
		switch a.Error {
		case "invalid_client", "unauthorized_client":
			e.Kind = provider.ErrUnauthorized
		case "invalid_scope", "unsupported_grant_type", "invalid_request":
			if status < 500 && status != http.StatusTooManyRequests {
				e.Kind = provider.ErrBadRequest
			}
		case "temporarily_unavailable":
			e.Kind = provider.ErrTransient
		}
		if e.Code == "AADSTS90002" {
			e.Description += " (check entra.tenantID)"
		}
	}
	if s := secret.Reveal(); s != "" && strings.Contains(e.Description, s) {
		e.Description = strings.ReplaceAll(e.Description, s, credential.Redacted)
	}
	e.Description, e.Code = p.scrubText(e.Description), p.scrubText(e.Code)
	return "", time.Time{}, e
}
