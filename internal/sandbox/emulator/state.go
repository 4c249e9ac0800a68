package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// ErrClientExists is returned by SeedClient for a client that exists.
var ErrClientExists = errors.New("client exists")

const (
	maxClientIDLen = 128
	maxSecretLen   = 512
	maxIdemKeyLen  = 255
	// maxHistory bounds how many secrets (valid ones included) a client keeps.
	maxHistory = 20
)

// ValidClientID reports whether id can name a client: 1-128 letters,
// digits, '.', '_', '~' or '-'.
func ValidClientID(id string) error {
	if id == "" || len(id) > maxClientIDLen {
		return fmt.Errorf("client id must be 1-%d characters", maxClientIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._~-", r)) {
			return fmt.Errorf("client id %q may hold only letters, digits, '.', '_', '~' and '-'", id)
		}
	}
	return nil
}

// secret is one client secret, kept by hash.
type secret struct {
	id        string
	hash      [32]byte
	hint      string
	createdAt time.Time
	expiresAt time.Time
	retiring  bool
	graceEnds time.Time // when retiring: min(renewal + grace, expiresAt)
	revokedAt time.Time // zero unless revoked
}

func newSecret(value string, now, expiresAt time.Time) *secret {
	hint := value
	if len(hint) > 3 {
		hint = hint[:3]
	}
	return &secret{
		id:        newSecretID(),
		hash:      sha256.Sum256([]byte(value)),
		hint:      hint,
		createdAt: now,
		expiresAt: expiresAt,
	}
}

// status is the secret's state at now: the fake clock flips it to EXPIRED.
func (s *secret) status(now time.Time) equifax.Status {
	switch {
	case !s.revokedAt.IsZero():
		return equifax.StatusRevoked
	case !now.Before(s.expiresAt):
		return equifax.StatusExpired
	case s.retiring && !now.Before(s.graceEnds):
		return equifax.StatusExpired
	case s.retiring:
		return equifax.StatusRetiring
	}
	return equifax.StatusActive
}

func (s *secret) valid(now time.Time) bool { return s.status(now).Valid() }

func (s *secret) matches(value string) bool {
	h := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(h[:], s.hash[:]) == 1
}

func (s *secret) info(now time.Time) equifax.SecretInfo {
	si := equifax.SecretInfo{
		SecretID:  s.id,
		Status:    s.status(now),
		Hint:      s.hint,
		CreatedAt: s.createdAt,
		ExpiresAt: s.expiresAt,
	}
	if s.retiring {
		g := s.graceEnds
		si.GraceEndsAt = &g
	}
	if !s.revokedAt.IsZero() {
		r := s.revokedAt
		si.RevokedAt = &r
	}
	return si
}

// client is one OAuth2 client and its secrets, oldest first.
type client struct {
	id          string
	secrets     []*secret
	lastRenewal time.Time
	idem        map[string]*idemEntry
	// forced audits every forced renew, oldest first.
	forced []ForcedRenewal
}

func (c *client) find(id string) *secret {
	for _, s := range c.secrets {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (c *client) validSecrets(now time.Time) []*secret {
	var out []*secret
	for _, s := range c.secrets {
		if s.valid(now) {
			out = append(out, s)
		}
	}
	return out
}

// token is an access token the emulator issued, kept by hash.
type token struct {
	clientID  string
	secretID  string
	scopes    []string
	expiresAt time.Time
}

// idemEntry is the first answer to a renew with one Idempotency-Key.
type idemEntry struct {
	fingerprint string
	at          time.Time
	result      renewResult
}

// renewResult is the answer to a renew, as first sent.
type renewResult struct {
	clientID string
	secret   equifax.SecretInfo
	value    string
	previous *equifax.SecretInfo
}

// apiError is a contract error, rendered by each transport in its own way.
type apiError struct {
	status     int
	code       string // efxErrorCode, or the RFC 6749 error when oauth
	desc       string
	oauth      bool // token endpoint error: RFC 6749 body
	eligibleAt time.Time
	retryAfter time.Duration
	allow      string // for 405
}

func (e *apiError) Error() string { return e.code + ": " + e.desc }

func oauthError(status int, code, desc string) *apiError {
	return &apiError{status: status, code: code, desc: desc, oauth: true}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "400.01", desc: fmt.Sprintf(format, args...)}
}

var (
	errTokenExpired = &apiError{status: http.StatusUnauthorized, code: "401.01", desc: "access token expired"}
	errTokenMissing = &apiError{status: http.StatusUnauthorized, code: "401.02", desc: "access token missing"}
	errTokenInvalid = &apiError{status: http.StatusUnauthorized, code: "401.03", desc: "access token invalid or revoked"}
	errNoScope      = &apiError{status: http.StatusForbidden, code: "403.01", desc: "access token lacks the management scope"}
	errOtherClient  = &apiError{status: http.StatusForbidden, code: "403.01", desc: "access token was issued to another client"}
	errNoSecret     = &apiError{status: http.StatusNotFound, code: "404.01", desc: "unknown client secret"}
	errTooMany      = &apiError{status: http.StatusConflict, code: "409.01", desc: "the client has two valid secrets already; revoke one or renew with force"}
	errLastSecret   = &apiError{status: http.StatusConflict, code: "409.03", desc: "revoking this secret would leave the client with no valid secret"}
	errIdemConflict = &apiError{status: http.StatusUnprocessableEntity, code: "422.01", desc: "Idempotency-Key was used with a different request"}
)

// authenticateLocked finds the valid secret of clientID whose value is
// secretValue.
func (e *Emulator) authenticateLocked(clientID, secretValue string) (*secret, bool) {
	c, ok := e.clients[clientID]
	if !ok {
		return nil, false
	}
	now := e.nowLocked()
	for _, s := range c.secrets {
		if s.valid(now) && s.matches(secretValue) {
			return s, true
		}
	}
	return nil, false
}

// tokenGrant is an issued token, for the transports to render.
type tokenGrant struct {
	accessToken string
	expiresIn   int64
	issuedAt    time.Time
	scope       string
}

// issueToken implements the client-credentials grant once the transport has
// extracted the client's credentials, grant type and scope.
func (e *Emulator) issueToken(clientID, secretValue, grantType, scope string) (tokenGrant, *apiError) {
	if grantType == "" {
		return tokenGrant{}, oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required")
	}
	if grantType != "client_credentials" {
		return tokenGrant{}, oauthError(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	scopes, aerr := e.parseScope(scope)
	if aerr != nil {
		return tokenGrant{}, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.authenticateLocked(clientID, secretValue)
	if !ok || e.refuseColdLocked(s.id) {
		return tokenGrant{}, oauthError(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	now := e.nowLocked()
	if len(e.tokens) >= e.nextPrune {
		e.pruneLocked()
		e.nextPrune = max(tokenPruneAt, 2*len(e.tokens))
	}
	at := newAccessToken()
	e.tokens[sha256.Sum256([]byte(at))] = &token{
		clientID:  clientID,
		secretID:  s.id,
		scopes:    scopes,
		expiresAt: now.Add(e.opts.TokenLifetime),
	}
	return tokenGrant{
		accessToken: at,
		expiresIn:   int64(e.opts.TokenLifetime / time.Second),
		issuedAt:    now,
		scope:       strings.Join(scopes, " "),
	}, nil
}

// parseScope checks that every requested scope is known; duplicates collapse.
func (e *Emulator) parseScope(scope string) ([]string, *apiError) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return nil, oauthError(http.StatusBadRequest, "invalid_scope", "scope is required")
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range fields {
		if !e.knownScope(f) {
			return nil, oauthError(http.StatusBadRequest, "invalid_scope", "unknown scope")
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func (e *Emulator) knownScope(s string) bool {
	if s == e.opts.ManagementScope {
		return true
	}
	for _, p := range e.opts.ProductScopes {
		if s == p {
			return true
		}
	}
	return false
}

// authorizeLocked checks a bearer token for a management call on clientID
// and returns the client. bearer is "" when the request had none.
func (e *Emulator) authorizeLocked(bearer, clientID string) (*client, *apiError) {
	if bearer == "" {
		return nil, errTokenMissing
	}
	t, ok := e.tokens[sha256.Sum256([]byte(bearer))]
	if !ok {
		return nil, errTokenInvalid
	}
	now := e.nowLocked()
	if !now.Before(t.expiresAt) {
		return nil, errTokenExpired
	}
	c, ok := e.clients[t.clientID]
	if !ok {
		return nil, errTokenInvalid
	}
	// Revoking or expiring a secret invalidates the tokens minted with it.
	if s := c.find(t.secretID); s == nil || !s.valid(now) {
		return nil, errTokenInvalid
	}
	hasScope := false
	for _, s := range t.scopes {
		if s == e.opts.ManagementScope {
			hasScope = true
		}
	}
	if !hasScope {
		return nil, errNoScope
	}
	if t.clientID != clientID {
		return nil, errOtherClient
	}
	return c, nil
}

func (e *Emulator) policy() equifax.Policy {
	return equifax.Policy{
		MaxSecrets:                MaxSecrets,
		SecretLifetimeSeconds:     int64(e.opts.SecretLifetime / time.Second),
		DefaultGracePeriodSeconds: int64(e.opts.DefaultGrace / time.Second),
		MaxGracePeriodSeconds:     int64(e.opts.MaxGrace / time.Second),
	}
}

// eligibleAtLocked is renewalEligibleAt = max(lastRenewal + MinRenewInterval,
// expiresAt - RenewWindow), where expiresAt is the ACTIVE secret's (or, with
// none, the latest valid one's).
func (e *Emulator) eligibleAtLocked(c *client, now time.Time) time.Time {
	var base *secret
	for _, s := range c.secrets {
		if s.status(now) == equifax.StatusActive {
			base = s
		}
	}
	if base == nil {
		for _, s := range c.secrets {
			if s.valid(now) && (base == nil || s.expiresAt.After(base.expiresAt)) {
				base = s
			}
		}
	}
	var at time.Time
	if base != nil {
		at = base.expiresAt.Add(-e.opts.RenewWindow)
	}
	if !c.lastRenewal.IsZero() {
		if min := c.lastRenewal.Add(e.opts.MinRenewInterval); min.After(at) {
			at = min
		}
	}
	if at.IsZero() {
		at = now.Truncate(time.Second)
	}
	return at
}

func (e *Emulator) describeLocked(c *client) equifax.ClientInfo {
	now := e.nowLocked()
	info := equifax.ClientInfo{
		ClientID:          c.id,
		RenewalEligibleAt: e.eligibleAtLocked(c, now),
		Policy:            e.policy(),
		Secrets:           make([]equifax.SecretInfo, 0, len(c.secrets)),
	}
	// Newest first.
	for i := len(c.secrets) - 1; i >= 0; i-- {
		info.Secrets = append(info.Secrets, c.secrets[i].info(now))
	}
	return info
}

// describe is the describe call.
func (e *Emulator) describe(bearer, clientID string) (equifax.ClientInfo, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, aerr := e.authorizeLocked(bearer, clientID)
	if aerr != nil {
		return equifax.ClientInfo{}, aerr
	}
	return e.describeLocked(c), nil
}

// renewParams is a renew request once parsed by its transport.
type renewParams struct {
	idempotencyKey string // "" for a SOAP renew without one
	grace          time.Duration
	graceSet       bool
	force          bool
}

// validateRenew checks the parameters that do not depend on state.
func (e *Emulator) validateRenew(p *renewParams) *apiError {
	if p.idempotencyKey != "" {
		if len(p.idempotencyKey) > maxIdemKeyLen {
			return badRequest("Idempotency-Key is longer than %d characters", maxIdemKeyLen)
		}
		for _, r := range p.idempotencyKey {
			if r < 0x21 || r > 0x7e {
				return badRequest("Idempotency-Key must be printable ASCII without spaces")
			}
		}
	}
	if p.graceSet {
		if p.grace < 0 {
			return badRequest("gracePeriodSeconds must not be negative")
		}
		if p.grace > e.opts.MaxGrace {
			return badRequest("gracePeriodSeconds must be at most %d", int64(e.opts.MaxGrace/time.Second))
		}
	}
	if !p.graceSet || p.grace == 0 {
		p.grace = e.opts.DefaultGrace
	}
	return nil
}

func (p renewParams) fingerprint() string {
	return "grace=" + strconv.FormatInt(int64(p.grace/time.Second), 10) + ";force=" + strconv.FormatBool(p.force)
}

// renew is the renew call. replayed reports an idempotent replay.
func (e *Emulator) renew(bearer, clientID string, p renewParams) (res renewResult, replayed bool, aerr *apiError) {
	if aerr := e.validateRenew(&p); aerr != nil {
		return renewResult{}, false, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, aerr := e.authorizeLocked(bearer, clientID)
	if aerr != nil {
		return renewResult{}, false, aerr
	}
	now := e.nowLocked()
	e.pruneIdemLocked(c, now)
	if p.idempotencyKey != "" {
		if ent, ok := c.idem[p.idempotencyKey]; ok {
			if ent.fingerprint != p.fingerprint() {
				return renewResult{}, false, errIdemConflict
			}
			return ent.result, true, nil
		}
	}
	valid := c.validSecrets(now)
	if len(valid) >= MaxSecrets && !p.force {
		return renewResult{}, false, errTooMany
	}
	// force is the emergency path (a leaked secret): it lifts the
	// eligibility rule as well as the two-secret rule, and is audited.
	var overrode []string
	if at := e.eligibleAtLocked(c, now); now.Before(at) {
		if !p.force {
			return renewResult{}, false, &apiError{status: http.StatusConflict, code: "409.02", desc: "the client is not yet eligible for renewal", eligibleAt: at}
		}
		overrode = append(overrode, "409.02: not eligible for renewal until "+at.UTC().Format(time.RFC3339))
	}
	var previous *secret
	for _, s := range valid {
		if s.status(now) == equifax.StatusActive {
			previous = s
		}
	}
	var forceRevoked []string
	if len(valid) >= MaxSecrets {
		// force: make room by revoking the RETIRING one(s).
		for _, s := range valid {
			if s != previous {
				s.revokedAt = now.Truncate(time.Second)
				forceRevoked = append(forceRevoked, s.id)
			}
		}
		overrode = append(overrode, "409.01: two valid secrets; revoked "+strings.Join(forceRevoked, ", "))
	}
	if previous == nil {
		// No ACTIVE secret (it was revoked while the older one retired):
		// the new secret replaces the one still retiring.
		for _, s := range c.validSecrets(now) {
			previous = s
		}
	}
	now = now.Truncate(time.Second)
	value := newSecretValue()
	ns := newSecret(value, now, now.Add(e.opts.SecretLifetime))
	if previous != nil && !previous.retiring {
		previous.retiring = true
		previous.graceEnds = now.Add(p.grace)
		if previous.expiresAt.Before(previous.graceEnds) {
			previous.graceEnds = previous.expiresAt
		}
	}
	c.secrets = append(c.secrets, ns)
	e.mintedLocked(ns.id)
	c.lastRenewal = now
	e.trimHistoryLocked(c, now)
	res = renewResult{clientID: c.id, secret: ns.info(now), value: value}
	if previous != nil {
		pi := previous.info(now)
		res.previous = &pi
	}
	if p.idempotencyKey != "" {
		c.idem[p.idempotencyKey] = &idemEntry{fingerprint: p.fingerprint(), at: now, result: res}
	}
	if p.force {
		fr := ForcedRenewal{At: now, ClientID: c.id, NewSecretID: ns.id, Overrode: overrode, Revoked: forceRevoked}
		if previous != nil {
			fr.PreviousSecretID = previous.id
		}
		c.forced = append(c.forced, fr)
		if len(c.forced) > maxForcedAudit {
			c.forced = c.forced[len(c.forced)-maxForcedAudit:]
		}
	}
	return res, false, nil
}

// maxForcedAudit bounds how many forced renews a client's audit keeps.
const maxForcedAudit = 100

// ForcedRenewal is the audit record of one renew with force: when, by which
// client, the secret it minted, and which contract rules the force lifted
// (none when the renew would have been allowed anyway).
type ForcedRenewal struct {
	At               time.Time `json:"at"`
	ClientID         string    `json:"clientId"`
	NewSecretID      string    `json:"newSecretId"`
	PreviousSecretID string    `json:"previousSecretId,omitempty"`
	// Overrode lists the rules the force lifted, by error code, each with
	// what it would have refused: "409.02: not eligible for renewal until
	// …", "409.01: two valid secrets; revoked sec-…".
	Overrode []string `json:"overrode"`
	// Revoked are the RETIRING secrets the force revoked to make room.
	Revoked []string `json:"revokedSecretIds,omitempty"`
}

// revoke is the revoke call; it returns the secret's metadata afterwards.
func (e *Emulator) revoke(bearer, clientID, secretID string) (equifax.SecretInfo, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, aerr := e.authorizeLocked(bearer, clientID)
	if aerr != nil {
		return equifax.SecretInfo{}, aerr
	}
	s := c.find(secretID)
	if s == nil {
		return equifax.SecretInfo{}, errNoSecret
	}
	now := e.nowLocked()
	if !s.revokedAt.IsZero() {
		return s.info(now), nil
	}
	if s.valid(now) && len(c.validSecrets(now)) <= 1 {
		return equifax.SecretInfo{}, errLastSecret
	}
	s.revokedAt = now.Truncate(time.Second)
	return s.info(now), nil
}

// tokenPruneAt is the least number of remembered tokens past which issuing
// one first forgets the long-expired ones; the bound doubles with the number
// still live, so pruning stays amortised O(1).
const tokenPruneAt = 4096

// tokenMemory is how long an expired token is still recognised (and
// answered with 401.01 rather than 401.03).
const tokenMemory = 24 * time.Hour

// pruneLocked drops long-expired tokens and stale idempotency entries.
func (e *Emulator) pruneLocked() {
	now := e.nowLocked()
	for k, t := range e.tokens {
		if !now.Before(t.expiresAt.Add(tokenMemory)) {
			delete(e.tokens, k)
		}
	}
	for _, c := range e.clients {
		e.pruneIdemLocked(c, now)
	}
}

func (e *Emulator) pruneIdemLocked(c *client, now time.Time) {
	for k, ent := range c.idem {
		if !now.Before(ent.at.Add(IdempotencyWindow)) {
			delete(c.idem, k)
		}
	}
}

// trimHistoryLocked forgets the oldest invalid secrets past maxHistory.
func (e *Emulator) trimHistoryLocked(c *client, now time.Time) {
	for len(c.secrets) > maxHistory {
		dropped := false
		for i, s := range c.secrets {
			if !s.valid(now) {
				c.secrets = append(c.secrets[:i], c.secrets[i+1:]...)
				dropped = true
				break
			}
		}
		if !dropped {
			return
		}
	}
}
