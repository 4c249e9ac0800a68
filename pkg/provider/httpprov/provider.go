package httpprov

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"golang.org/x/sync/singleflight"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
)

// program is a validated, compiled description.
type program struct {
	desc     *Description
	codes    map[string]error
	statuses map[string]provider.Status
	steps    map[string]*cstep
	openapi  *openapi3.T
	matches  []errorMatch
}

// errorMatch is a compiled ErrorMatch.
type errorMatch struct {
	code, contains string
	kind           error
}

// cstep is one compiled step.
type cstep struct {
	name       string
	step       *Step
	method     string
	success    []int
	idemHeader string
	tmpl       compiled
	q          stepQueries
	err        *errorQueries
	retry      retry
}

type stepQueries struct {
	accessToken, tokenType, expiresIn, issuedAt, scope *query
	clientID, eligibleAt, secrets, container           *query
	maxSecrets, lifetime, defGrace, maxGrace           *query
	each, secret, previous                             secretQueries
}

type secretQueries struct {
	value, id, status, hint, name, createdAt, expiresAt, graceEndsAt, revokedAt *query
}

type errorQueries struct {
	code, message, eligibleAt, retryAfter *query
}

// retry is a step's resolved retry policy.
type retry struct {
	maxRetries                int
	initial, max, maxRetryAft time.Duration
	resetHeader               string
}

func retryPolicy(def, step *RetrySpec) retry {
	r := retry{maxRetries: 3, initial: 500 * time.Millisecond, max: 10 * time.Second, maxRetryAft: 2 * time.Minute}
	return r.with(def).with(step)
}

// with is r with what s sets.
func (r retry) with(s *RetrySpec) retry {
	if s == nil {
		return r
	}
	if s.MaxRetries != nil {
		r.maxRetries = max(*s.MaxRetries, 0)
	}
	if s.InitialBackoff > 0 {
		r.initial = time.Duration(s.InitialBackoff)
	}
	if s.MaxBackoff > 0 {
		r.max = time.Duration(s.MaxBackoff)
	}
	if s.MaxRetryAfter > 0 {
		r.maxRetryAft = time.Duration(s.MaxRetryAfter)
	}
	if s.ResetHeader != "" {
		r.resetHeader = s.ResetHeader
	}
	return r
}

// Options configure a Provider.
type Options struct {
	// Settings override the description's settings (.settings in
	// templates).
	Settings map[string]string
	// Secrets are the secrets read from the configuration's SecretSources,
	// by name (.secrets.NAME in templates).
	Secrets map[string]credential.Secret
	// HTTPClient sends the requests; nil means a default client. Redirects
	// are refused for it (pkg/credential/redirect).
	HTTPClient *http.Client
	// Timeout bounds each attempt; default 30s.
	Timeout time.Duration
	// Retry, when set, overrides in every step's retry policy what it sets
	// (tests, and the run's configuration).
	Retry *RetrySpec
	// TokenExpiryDelta renews a cached token this long before it expires;
	// default 1m.
	TokenExpiryDelta time.Duration
	// SecretSeen, if set, is told every secret the provider reads, mints,
	// obtains or renders into a request (the run's redactor).
	SecretSeen func(credential.Secret)
	// ValidateOpenAPI checks every request before it is sent, and every
	// answer, against the description's OpenAPI document (kin-openapi's
	// openapi3filter): a request that does not match is not sent and fails
	// with ErrBadRequest, an answer that does not match fails with
	// ErrMalformedResponse (a rate limit or transient failure stays
	// retryable), each carrying an *OpenAPIError. Runs set it for
	// --dry-run and tests; a description without openapi: is not checked.
	ValidateOpenAPI bool
}

// Provider is a provider.Provider run from a description. It is safe for
// concurrent use.
type Provider struct {
	prog    *program
	opts    Options
	hc      *http.Client
	timeout time.Duration

	val *validator

	mu     sync.Mutex
	tokens map[string]cachedToken
	group  singleflight.Group
}

var _ provider.Provider = (*Provider)(nil)

// New validates d and returns its Provider.
func New(d *Description, opts Options) (*Provider, error) {
	names := make([]string, 0, len(opts.Secrets))
	for n := range opts.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	prog, err := compile(d, opts.Settings, names)
	if err != nil {
		return nil, err
	}
	if opts.Retry != nil {
		for _, s := range prog.steps {
			s.retry = s.retry.with(opts.Retry)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.TokenExpiryDelta <= 0 {
		opts.TokenExpiryDelta = time.Minute
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	p := &Provider{prog: prog, opts: opts, hc: redirect.Client(hc), timeout: opts.Timeout, tokens: map[string]cachedToken{}}
	if opts.ValidateOpenAPI && prog.openapi != nil {
		p.val = &validator{doc: prog.openapi, file: d.OpenAPI}
	}
	return p, nil
}

// Name is the description's name.
func (p *Provider) Name() string { return p.prog.desc.Name }

// Rules are the description's rules.
func (p *Provider) Rules() provider.Rules {
	r := p.prog.desc.Rules
	rev := provider.Revocation(r.Revocation)
	if rev == "" {
		rev = provider.RevokeOneStep
	}
	return provider.Rules{MaxValid: r.MaxValid, SetsExpiry: r.SetsExpiry, ReportsExpiry: r.ReportsExpiry,
		RetiresOnCreate: r.RetiresOnCreate, Replays: r.Replays, Revocation: rev, Propagation: time.Duration(r.Propagation), Force: r.Force}
}

// Token is what the token step obtained.
type Token struct {
	AccessToken credential.Secret
	TokenType   string
	Scope       string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

type cachedToken struct {
	tok Token
}

// Token runs the token step for c now (it never answers from the cache),
// with settings overriding the configured ones, and caches the token for
// later steps.
func (p *Provider) Token(ctx context.Context, c provider.Client, settings map[string]string) (Token, error) {
	if p.prog.steps["token"] == nil {
		return Token{}, p.local("token", provider.ErrBadRequest, "the description declares no token step")
	}
	tok, err := p.fetchToken(ctx, c, settings)
	if err != nil {
		return Token{}, err
	}
	p.put(p.tokenKey(c, settings), tok)
	return tok, nil
}

func (p *Provider) tokenKey(c provider.Client, settings map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", c.ClientID, c.ClientSecret.Reveal())
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, settings[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cachedOrNew returns a cached token that is not about to expire, or
// fetches one; concurrent callers share one fetch.
func (p *Provider) cachedOrNew(ctx context.Context, c provider.Client) (Token, error) {
	key := p.tokenKey(c, nil)
	p.mu.Lock()
	ct, ok := p.tokens[key]
	p.mu.Unlock()
	if ok && time.Until(ct.tok.ExpiresAt) > p.opts.TokenExpiryDelta {
		return ct.tok, nil
	}
	v, err, _ := p.group.Do(key, func() (any, error) {
		tok, err := p.fetchToken(ctx, c, nil)
		if err != nil {
			return Token{}, err
		}
		p.put(key, tok)
		return tok, nil
	})
	if err != nil {
		return Token{}, err
	}
	return v.(Token), nil
}

// maxTokens bounds the token cache; expired tokens are pruned beyond it.
const maxTokens = 256

func (p *Provider) put(key string, tok Token) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) >= maxTokens {
		now := time.Now()
		for k, ct := range p.tokens {
			if !ct.tok.ExpiresAt.After(now) {
				delete(p.tokens, k)
			}
		}
		for k := range p.tokens {
			if len(p.tokens) < maxTokens {
				break
			}
			delete(p.tokens, k)
		}
	}
	p.tokens[key] = cachedToken{tok: tok}
}

func (p *Provider) dropToken(c provider.Client, tok Token) {
	key := p.tokenKey(c, nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ct, ok := p.tokens[key]; ok && ct.tok.AccessToken.Equal(tok.AccessToken) {
		delete(p.tokens, key)
	}
}

func (p *Provider) fetchToken(ctx context.Context, c provider.Client, settings map[string]string) (Token, error) {
	s := p.prog.steps["token"]
	data := p.data(c, settings)
	var tok Token
	err := p.run(ctx, s, data, secretsOf(c.ClientSecret), func(doc any, status int) error {
		at, ok, err := s.q.accessToken.str(doc)
		if err != nil || !ok || at == "" {
			return errors.New("token answer without an access token")
		}
		tok.AccessToken = credential.NewSecret(at)
		p.seen(tok.AccessToken)
		if tt, _, _ := s.q.tokenType.str(doc); tt != "" {
			if !strings.EqualFold(tt, "bearer") {
				return errors.New("token type is not Bearer")
			}
		}
		tok.TokenType = "Bearer"
		now := time.Now().UTC()
		tok.IssuedAt = now
		if s.q.issuedAt != nil {
			if t, ok, err := s.q.issuedAt.time(doc); err == nil && ok {
				tok.IssuedAt = t
			}
		}
		if s.q.expiresIn != nil {
			n, ok, err := s.q.expiresIn.int(doc)
			if err != nil || !ok || n <= 0 {
				return errors.New("token answer without a positive expires_in")
			}
			tok.ExpiresAt = now.Add(time.Duration(n) * time.Second)
		} else {
			tok.ExpiresAt = now.Add(5 * time.Minute)
		}
		if sc, _, _ := s.q.scope.str(doc); sc != "" {
			tok.Scope = clean(sc, 512)
		} else {
			tok.Scope = clean(fmt.Sprint(data["settings"].(map[string]any)["scope"]), 512)
		}
		return nil
	})
	return tok, err
}

// Describe runs the describe step.
func (p *Provider) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	if err := p.checkClient("describe", c); err != nil {
		return provider.ClientInfo{}, err
	}
	s := p.prog.steps["describe"]
	var info provider.ClientInfo
	err := p.manage(ctx, s, c, nil, func(doc any) error {
		var err error
		info, err = p.readClientInfo(s, doc, c.ClientID)
		return err
	})
	return info, err
}

func (p *Provider) readClientInfo(s *cstep, doc any, clientID string) (provider.ClientInfo, error) {
	info := provider.ClientInfo{ClientID: clientID, Secrets: []provider.SecretInfo{}}
	if s.q.clientID != nil {
		id, ok, err := s.q.clientID.str(doc)
		if err != nil {
			return info, err
		}
		if !ok || id != clientID {
			return info, fmt.Errorf("the answer names client %q, want %q", clean(id, 128), clientID)
		}
	}
	if t, ok, err := s.q.eligibleAt.time(doc); err != nil {
		return info, err
	} else if ok {
		info.RenewalEligibleAt = t
	}
	for _, f := range []struct {
		q   *query
		dst *int64
	}{{s.q.lifetime, &info.Policy.SecretLifetimeSeconds}, {s.q.defGrace, &info.Policy.DefaultGracePeriodSeconds}, {s.q.maxGrace, &info.Policy.MaxGracePeriodSeconds}} {
		if f.q == nil {
			continue
		}
		n, _, err := f.q.int(doc)
		if err != nil {
			return info, err
		}
		*f.dst = n
	}
	if s.q.maxSecrets != nil {
		n, _, err := s.q.maxSecrets.int(doc)
		if err != nil {
			return info, err
		}
		info.Policy.MaxSecrets = int(min(max(n, 0), 1<<16))
	}
	if info.Policy.MaxSecrets == 0 {
		info.Policy.MaxSecrets = p.prog.desc.Rules.MaxValid
	}
	if s.q.container != nil {
		v, ok := s.q.container.selectFirst(doc)
		switch v.(type) {
		case []any, map[string]any:
		default:
			if !ok {
				return info, fmt.Errorf("%s selects nothing: the answer lists no secrets", s.q.container.src)
			}
			return info, fmt.Errorf("%s selects a %s, not a list of secrets", s.q.container.src, typeName(v))
		}
	}
	nodes, err := s.q.secrets.selectAll(doc)
	if err != nil {
		return info, err
	}
	for _, n := range nodes {
		si, err := p.readSecret(s.q.each, n, false)
		if err != nil {
			return info, err
		}
		info.Secrets = append(info.Secrets, si)
	}
	if p.prog.desc.Rules.NewestActive {
		newestActive(info.Secrets)
	}
	if info.Policy.SecretLifetimeSeconds == 0 && p.prog.desc.Rules.MaxAge > 0 {
		info.Policy.SecretLifetimeSeconds = int64(time.Duration(p.prog.desc.Rules.MaxAge) / time.Second)
	}
	return info, nil
}

// readSecret reads one secret's metadata from node.
func (p *Provider) readSecret(q secretQueries, node any, requireCreated bool) (provider.SecretInfo, error) {
	var si provider.SecretInfo
	id, ok, err := q.id.str(node)
	if err != nil {
		return si, err
	}
	if !ok || id == "" {
		return si, errors.New("a secret without an id")
	}
	si.SecretID = clean(id, 128)
	if q.status != nil {
		st, _, err := q.status.str(node)
		if err != nil {
			return si, err
		}
		status, ok := p.status(st)
		if !ok {
			return si, fmt.Errorf("secret %s has unknown status %q", si.SecretID, clean(st, 32))
		}
		si.Status = status
	}
	if q.hint != nil {
		h, _, err := q.hint.str(node)
		if err != nil {
			return si, err
		}
		si.Hint = clean(provider.HintOf(h), 64)
	}
	if q.name != nil {
		n, _, err := q.name.str(node)
		if err != nil {
			return si, err
		}
		si.Name = clean(n, 256)
	}
	for _, f := range []struct {
		q   *query
		dst *time.Time
	}{{q.createdAt, &si.CreatedAt}, {q.expiresAt, &si.ExpiresAt}} {
		t, _, err := f.q.time(node)
		if err != nil {
			return si, err
		}
		*f.dst = t
	}
	if maxAge := time.Duration(p.prog.desc.Rules.MaxAge); si.ExpiresAt.IsZero() && maxAge > 0 && !si.CreatedAt.IsZero() {
		si.ExpiresAt = si.CreatedAt.Add(maxAge)
	}
	if requireCreated && q.createdAt != nil && si.CreatedAt.IsZero() {
		return si, fmt.Errorf("secret %s without a creation time", si.SecretID)
	}
	if q.expiresAt != nil && p.prog.desc.Rules.ReportsExpiry && si.ExpiresAt.IsZero() {
		return si, fmt.Errorf("secret %s without an expiry", si.SecretID)
	}
	for _, f := range []struct {
		q   *query
		dst **time.Time
	}{{q.graceEndsAt, &si.GraceEndsAt}, {q.revokedAt, &si.RevokedAt}} {
		t, ok, err := f.q.time(node)
		if err != nil {
			return si, err
		}
		if ok {
			*f.dst = &t
		}
	}
	return si, nil
}

// newestActive orders ss newest first and keeps ACTIVE only for the newest
// ACTIVE secret; the other ACTIVE ones still work, and are RETIRING.
func newestActive(ss []provider.SecretInfo) {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].CreatedAt.After(ss[j].CreatedAt) })
	seen := false
	for i := range ss {
		if ss[i].Status != provider.StatusActive {
			continue
		}
		if seen {
			ss[i].Status = provider.StatusRetiring
		}
		seen = true
	}
}

func (p *Provider) status(s string) (provider.Status, bool) {
	if st, ok := p.prog.statuses[s]; ok {
		return st, true
	}
	switch st := provider.Status(s); st {
	case provider.StatusActive, provider.StatusRetiring, provider.StatusInactive, provider.StatusRevoked, provider.StatusExpired:
		return st, true
	}
	return "", false
}

// Create runs the create step. req.IdempotencyKey is required.
func (p *Provider) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	if err := p.checkClient("create", c); err != nil {
		return provider.Created{}, err
	}
	if req.IdempotencyKey == "" {
		return provider.Created{}, p.local("create", provider.ErrBadRequest, "a create needs an idempotency key")
	}
	if err := p.clearInactive(ctx, c); err != nil {
		return provider.Created{}, err
	}
	s := p.prog.steps["create"]
	extra := map[string]any{"request": map[string]any{
		"idempotencyKey":     req.IdempotencyKey,
		"gracePeriodSeconds": int64(req.GracePeriod / time.Second),
		"force":              req.Force,
		"expiresAt":          expiresAt(req.ExpiresAt),
	}}
	var out provider.Created
	err := p.manage(ctx, s, c, extra, func(doc any) error {
		out = provider.Created{ClientID: c.ClientID}
		v, ok, err := s.q.secret.value.str(doc)
		if err != nil || !ok || v == "" {
			return errors.New("create answer without the new secret's value")
		}
		out.ClientSecret = credential.NewSecret(v)
		p.seen(out.ClientSecret)
		si, err := p.readSecret(s.q.secret, doc, true)
		if err != nil {
			return scrub(err, []string{v})
		}
		if si.Status == "" {
			si.Status = provider.StatusActive
		}
		out.Secret = si
		if s.q.previous.id != nil {
			if _, ok := s.q.previous.id.selectFirst(doc); ok {
				prev, err := p.readSecret(s.q.previous, doc, false)
				if err != nil {
					return scrub(fmt.Errorf("previous secret: %w", err), []string{v})
				}
				out.PreviousSecret = &prev
			}
		}
		return nil
	})
	if err != nil {
		return provider.Created{}, err
	}
	return out, nil
}

// clearInactive makes room for a create where the description says so
// (rules.clearsInactive): a client at its limit whose secrets include an
// INACTIVE one, the remains of an interrupted revoke, has that one revoked,
// once the deployed secret obtains a token (an INACTIVE secret never does,
// so it is not the deployed one). Without that proof nothing is revoked.
func (p *Provider) clearInactive(ctx context.Context, c provider.Client) error {
	r := p.prog.desc.Rules
	if !r.ClearsInactive || r.MaxValid <= 0 || c.ClientSecret.IsZero() {
		return nil
	}
	info, err := p.Describe(ctx, c)
	if err != nil {
		return err
	}
	if len(info.Secrets) < r.MaxValid {
		return nil
	}
	for _, s := range info.Secrets {
		if s.Status != provider.StatusInactive {
			continue
		}
		if p.Verify(ctx, c, c.ClientSecret) != nil {
			return nil // no proof that it is not the deployed one
		}
		return p.Revoke(ctx, c, s.SecretID)
	}
	return nil
}

func expiresAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Verify proves secret works for c: the verify step, or else the token step
// run with secret.
func (p *Provider) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	if secret.IsZero() {
		return p.local("verify", provider.ErrBadRequest, "no secret to verify")
	}
	p.seen(secret)
	s := p.prog.steps["verify"]
	if s == nil {
		_, err := p.fetchToken(ctx, provider.Client{ClientID: c.ClientID, ClientSecret: secret}, nil)
		return err
	}
	extra := map[string]any{"new": map[string]any{"secret": secret.Reveal()}}
	return p.manage(ctx, s, c, extra, nil, secret)
}

// Revoke runs the retire step (for deactivate-then-delete) and the revoke
// step. A secret already gone (404) counts as revoked.
func (p *Provider) Revoke(ctx context.Context, c provider.Client, secretID string) error {
	if err := p.checkClient("revoke", c); err != nil {
		return err
	}
	if secretID == "" {
		return p.local("revoke", provider.ErrBadRequest, "no secret id to revoke")
	}
	extra := map[string]any{"secretId": secretID}
	if r := p.prog.steps["retire"]; r != nil {
		if err := p.manage(ctx, r, c, extra, nil); err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	err := p.manage(ctx, p.prog.steps["revoke"], c, extra, nil)
	if err != nil && errors.Is(err, provider.ErrNotFound) && p.prog.steps["retire"] != nil {
		return nil
	}
	return err
}

func (p *Provider) checkClient(op string, c provider.Client) error {
	if c.ClientID == "" {
		return p.local(op, provider.ErrBadRequest, "no client id")
	}
	return nil
}

func (p *Provider) local(op string, kind error, msg string) error {
	return &provider.Error{Provider: p.Name(), Op: op, Kind: kind, Err: errors.New(msg)}
}

func (p *Provider) seen(s credential.Secret) {
	if p.opts.SecretSeen != nil && !s.IsZero() {
		p.opts.SecretSeen(s)
	}
}

// data is what c's templates see, before step-specific variables.
func (p *Provider) data(c provider.Client, settings map[string]string) map[string]any {
	s := map[string]any{}
	for k, v := range p.prog.desc.Settings {
		s[k] = v
	}
	for k, v := range p.opts.Settings {
		s[k] = v
	}
	for k, v := range settings {
		s[k] = v
	}
	secrets := map[string]any{}
	for k, v := range p.opts.Secrets {
		secrets[k] = v.Reveal()
	}
	return map[string]any{
		"settings": s,
		"secrets":  secrets,
		"client":   map[string]any{"id": c.ClientID, "secret": c.ClientSecret.Reveal()},
	}
}

// manage runs a step that may need a token: with a cached one, and once
// more with a new one when the service says the token was refused.
func (p *Provider) manage(ctx context.Context, s *cstep, c provider.Client, extra map[string]any, decode func(doc any) error, more ...credential.Secret) error {
	data := p.data(c, nil)
	for k, v := range extra {
		data[k] = v
	}
	secrets := secretsOf(append(more, c.ClientSecret)...)
	hasToken := p.prog.steps["token"] != nil
	for attempt := 0; ; attempt++ {
		var tok Token
		if hasToken {
			var err error
			tok, err = p.cachedOrNew(ctx, c)
			if err != nil {
				return err
			}
			data["token"] = map[string]any{"accessToken": tok.AccessToken.Reveal(), "tokenType": tok.TokenType, "scope": tok.Scope}
		}
		err := p.run(ctx, s, data, append(secrets, tok.AccessToken.Reveal()), func(doc any, _ int) error {
			if decode == nil {
				return nil
			}
			return decode(doc)
		})
		var pe *provider.Error
		if hasToken && attempt == 0 && errors.As(err, &pe) && slices.Contains(p.prog.desc.TokenRejected, pe.Code) {
			p.dropToken(c, tok)
			continue
		}
		return err
	}
}

func secretsOf(ss ...credential.Secret) []string {
	var out []string
	for _, s := range ss {
		if !s.IsZero() {
			out = append(out, s.Reveal())
		}
	}
	return out
}

// run sends step s under its retry policy and hands a successful answer's
// JSON to decode.
func (p *Provider) run(ctx context.Context, s *cstep, data map[string]any, secrets []string, decode func(doc any, status int) error) error {
	req, err := p.build(s, data)
	if err != nil {
		return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrBadRequest, Err: err}
	}
	retries := s.retry.maxRetries
	if s.name == "create" && s.idemHeader == "" {
		retries = 0 // without an idempotency key a retried create could mint twice
	}
	for attempt := 0; ; attempt++ {
		err := p.attempt(ctx, s, req, secrets, decode)
		if err == nil || !provider.Retryable(err) || attempt >= retries || ctx.Err() != nil {
			return err
		}
		wait := backoff(s.retry, attempt)
		var pe *provider.Error
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			if pe.RetryAfter > s.retry.maxRetryAft {
				return err
			}
			wait = max(wait, pe.RetryAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func backoff(r retry, attempt int) time.Duration {
	d := r.initial << min(attempt, 20)
	if d <= 0 || d > r.max {
		d = r.max
	}
	return d/2 + rand.N(d/2+1)
}

// request is a rendered step.
type request struct {
	method, url string
	header      http.Header
	body        []byte
}

func (p *Provider) build(s *cstep, data map[string]any) (*request, error) {
	u, err := s.tmpl.url.render(data)
	if err != nil {
		return nil, fmt.Errorf("rendering url: %w", err)
	}
	r := &request{method: s.method, url: u, header: http.Header{}}
	for h, t := range s.tmpl.headers {
		v, err := t.render(data)
		if err != nil {
			return nil, fmt.Errorf("rendering header %s: %w", h, err)
		}
		if t.secret {
			p.seen(credential.NewSecret(v))
		}
		r.header.Set(h, v)
	}
	if s.tmpl.body != nil {
		b, err := s.tmpl.body.render(data)
		if err != nil {
			return nil, fmt.Errorf("rendering body: %w", err)
		}
		if s.tmpl.body.secret {
			p.seen(credential.NewSecret(b))
		}
		r.body = []byte(b)
	}
	if s.idemHeader != "" {
		if rq, ok := data["request"].(map[string]any); ok {
			r.header.Set(s.idemHeader, fmt.Sprint(rq["idempotencyKey"]))
		}
	}
	if r.header.Get("Accept") == "" {
		r.header.Set("Accept", "application/json")
	}
	return r, nil
}

// attempt sends r once, under the step timeout.
func (p *Provider) attempt(ctx context.Context, s *cstep, r *request, secrets []string, decode func(doc any, status int) error) error {
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrBadRequest, Err: errors.New("the rendered request is not valid")}
	}
	if r.body == nil {
		req.Body, req.ContentLength, req.GetBody = http.NoBody, 0, nil
	}
	req.Header = r.header.Clone()
	var rt *route
	if p.val != nil {
		if rt, err = p.val.checkRequest(actx, s.name, req, r.body, secrets); err != nil {
			return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrBadRequest, Err: err}
		}
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return p.failedCall(ctx, s.name, err)
	}
	defer resp.Body.Close()
	b, tooLarge, err := readCapped(resp.Body)
	reqID := ""
	if h := p.prog.desc.RequestIDHeader; h != "" {
		reqID = clean(resp.Header.Get(h), 128)
	}
	ok := slices.Contains(s.success, resp.StatusCode)
	if err != nil && !tooLarge {
		return p.failedCall(ctx, s.name, err)
	}
	if rt != nil && !tooLarge && checkDepth(b) == nil {
		if verr := p.val.checkAnswer(actx, s.name, rt, resp, b, secrets); verr != nil {
			if !ok {
				// A rate limit or a transient failure stays what it is
				// (retried), its mismatch named.
				var fe *provider.Error
				if errors.As(p.answerError(s, resp, b, reqID, secrets), &fe) && provider.Retryable(fe) {
					fe.Err = verr
					return fe
				}
			}
			return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode, RequestID: reqID, Err: verr}
		}
	}
	if !ok {
		if tooLarge {
			b = nil
		}
		return p.answerError(s, resp, b, reqID, secrets)
	}
	if tooLarge {
		return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode, RequestID: reqID,
			Err: fmt.Errorf("the answer is larger than %d bytes", maxBody)}
	}
	var doc any
	if len(bytes.TrimSpace(b)) > 0 {
		doc, err = decodeAnswer(b)
		if err != nil {
			return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode, RequestID: reqID, Err: err}
		}
	} else if s.name == "token" || s.name == "describe" || s.name == "create" {
		return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode, RequestID: reqID, Err: errors.New("empty answer")}
	}
	if err := decode(doc, resp.StatusCode); err != nil {
		return &provider.Error{Provider: p.Name(), Op: s.name, Kind: provider.ErrMalformedResponse, HTTPStatus: resp.StatusCode, RequestID: reqID, Err: scrub(err, secrets)}
	}
	return nil
}

// readCapped reads at most maxBody bytes; tooLarge reports a longer body.
func readCapped(r io.Reader) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxBody {
		return nil, true, nil
	}
	return b, false, nil
}

// answerError turns a failed answer into a typed error; it never fails.
func (p *Provider) answerError(s *cstep, resp *http.Response, b []byte, reqID string, secrets []string) error {
	e := &provider.Error{Provider: p.Name(), Op: s.name, HTTPStatus: resp.StatusCode, RequestID: reqID}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	if h := s.retry.resetHeader; h != "" && resp.StatusCode == http.StatusTooManyRequests {
		// Okta sends its rate-limit headers on every answer: only a
		// spent limit is waited for.
		e.RetryAfter = max(e.RetryAfter, provider.ResetAfter(resp.Header.Get(h), time.Now()))
	}
	var doc any
	if len(bytes.TrimSpace(b)) > 0 {
		d, err := decodeAnswer(b)
		if err != nil {
			e.Err = errors.New("undecodable error body")
		}
		doc = d
	}
	if doc != nil && s.err != nil {
		if c, _, _ := s.err.code.str(doc); c != "" {
			e.Code = clean(c, 64)
		}
		if m := s.err.message.joined(doc); m != "" {
			e.Description = scrubText(clean(m, 512), secrets)
		}
		if t, ok, _ := s.err.eligibleAt.time(doc); ok {
			e.EligibleAt = t
		}
		if e.RetryAfter == 0 && s.err.retryAfter != nil {
			if n, ok, _ := s.err.retryAfter.int(doc); ok && n > 0 && n <= 86400 {
				e.RetryAfter = time.Duration(n) * time.Second
			}
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		e.Kind = provider.ErrMalformedResponse
		if e.Err == nil {
			e.Err = fmt.Errorf("unexpected HTTP status %d", resp.StatusCode)
		}
		return e
	}
	if k, ok := p.matchMessage(e.Code, e.Description); ok {
		e.Kind = k
	} else if k, ok := p.prog.codes[e.Code]; ok && e.Code != "" {
		e.Kind = k
	} else {
		e.Kind = provider.KindForStatus(resp.StatusCode)
	}
	return e
}

// matchMessage is the kind of the first of the description's error
// matches that code and message meet.
func (p *Provider) matchMessage(code, msg string) (error, bool) {
	if msg == "" {
		return nil, false
	}
	low := strings.ToLower(msg)
	for _, m := range p.prog.matches {
		if (m.code == "" || m.code == code) && strings.Contains(low, m.contains) {
			return m.kind, true
		}
	}
	return nil, false
}

// failedCall maps a call without an answer to a typed error.
func (p *Provider) failedCall(ctx context.Context, op string, err error) error {
	e := &provider.Error{Provider: p.Name(), Op: op, Kind: provider.ErrTransient}
	if errors.Is(err, redirect.ErrRefused) {
		var re *redirect.RefusedError
		errors.As(err, &re)
		e.Kind, e.Err = provider.ErrBadRequest, re
		return e
	}
	if ctx.Err() != nil {
		e.Err = ctx.Err()
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			e.Err = errors.New("the call timed out")
		} else {
			e.Err = fmt.Errorf("%s: %w", ue.Op, unwrapAll(ue.Err))
		}
		return e
	}
	e.Err = errors.New("the call failed")
	return e
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 || n > 86400 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// clean keeps printable text, at most max bytes.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// scrubText drops a text that quotes a secret.
func scrubText(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" && strings.Contains(s, v) {
			return "(the service's message quoted a secret and was dropped)"
		}
	}
	return s
}

func scrub(err error, secrets []string) error {
	msg := err.Error()
	for _, v := range secrets {
		if v != "" && strings.Contains(msg, v) {
			return errors.New("the answer is not what the description expects")
		}
	}
	return err
}

// HasToken reports whether the description declares a token step.
func (p *Provider) HasToken() bool { return p.prog.steps["token"] != nil }

// OpenAPI is the description's OpenAPI document, nil without one.
func (p *Provider) OpenAPI() *openapi3.T { return p.prog.openapi }
