// Package emulator is an in-process emulator of the Equifax security API: the
// OAuth2 token endpoint, the REST management calls (describe, renew, revoke)
// and the same operations over SOAP 1.1, on one http.Handler. It enforces the
// contract in docs/equifax-contract.md as strictly as a real server would:
// the error table, the overlap rules, idempotent renew. Tests and the demo
// drive it through a fake clock, scripted faults, latency injection and call
// counters, in Go or over HTTP under /__emulator/ (loopback peers only).
//
// The emulator never stores a client secret in the clear: it keeps a SHA-256
// of each one. The only plaintext it holds is the answer to an idempotent
// renew, kept for 24 hours so that a retry can replay it.
//
// Endpoints:
//
//	POST   /v2/oauth/token                                        token (client credentials)
//	GET    /business/security/v1/clients/{clientId}/secrets       describe
//	POST   /business/security/v1/clients/{clientId}/secrets       renew (Idempotency-Key required)
//	DELETE /business/security/v1/clients/{clientId}/secrets/{id}  revoke
//	POST   /business/security/soap/v1                             SOAP 1.1 (SOAPAction urn:efx-emulator:security:v1/<Operation>)
//	GET    /business/security/soap/v1?wsdl                        the WSDL, addressed to the emulator itself
//
// Controls, JSON in and out, loopback peers only:
//
//	POST   /__emulator/clients      {"clientId","secret","expiresAt"?}  -> 201 SecretInfo
//	GET    /__emulator/clock                                            -> {"now"}
//	POST   /__emulator/clock        {"advance":"24h"} or {"set":"RFC 3339"} -> {"now"}
//	POST   /__emulator/faults       {"op","kind","count","retryAfterSeconds","stall":"90s"} -> 204
//	DELETE /__emulator/faults                                           -> 204 (clears them)
//	POST   /__emulator/latency      {"latency":"50ms"}                  -> 204
//	GET    /__emulator/calls                                            -> {"token":n,"describe":n,"renew":n,"revoke":n}
//	POST   /__emulator/calls/reset                                      -> 204
//	GET    /__emulator/state                                            -> [ClientInfo + forcedRenewals...] by client id, metadata only
//	POST   /__emulator/hostile      {"quoteCredentials","rejectNewSecrets","redirectTo","redirectStatus","hugeBodyBytes","hugeStatus","drip","ops"} -> 204
//	GET    /__emulator/hostile                                          -> the mode, and how many values it quoted
//	DELETE /__emulator/hostile                                          -> 204 (a well-behaved emulator again)
//
// Choices the contract leaves open: a gracePeriodSeconds of 0 means the
// default; a SOAP renew may omit IdempotencyKey (or send the HTTP
// Idempotency-Key header instead); a fault, even on the token endpoint,
// answers with an efx error body; a token naming an unknown client gets
// 403.01, as for any other client; a revoked newer secret leaves the older
// one RETIRING with its grace deadline, and the next renew replaces it;
// force lifts the whole eligibility rule (409.02: the renewal window and the
// minimum interval) as well as 409.01, and every forced renew is recorded in
// the state dump with what it overrode.
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// Op names a contract operation; REST and SOAP share the names, and a
// scripted fault applies to whichever transport is called.
type Op string

// The contract operations.
const (
	OpToken    Op = "token"
	OpDescribe Op = "describe"
	OpRenew    Op = "renew"
	OpRevoke   Op = "revoke"
)

// Ops lists every operation, in the contract's order.
var Ops = []Op{OpToken, OpDescribe, OpRenew, OpRevoke}

func (o Op) valid() bool {
	for _, v := range Ops {
		if o == v {
			return true
		}
	}
	return false
}

// Default values of Options.
const (
	DefaultTokenLifetime    = 1800 * time.Second
	DefaultSecretLifetime   = 180 * 24 * time.Hour
	DefaultGrace            = 7 * 24 * time.Hour
	DefaultMaxGrace         = 30 * 24 * time.Hour
	DefaultMinRenewInterval = 5 * time.Minute
	DefaultRenewWindow      = 30 * 24 * time.Hour
	DefaultManagementScope  = "https://api.equifax.com/business/security/v1"
	// IdempotencyWindow is how long a renew's answer is kept for replay.
	IdempotencyWindow = 24 * time.Hour
	// MaxSecrets is the number of valid secrets a client may hold.
	MaxSecrets = 2
)

// DefaultProductScopes are the product scopes the token endpoint grants
// besides the management scope when Options.ProductScopes is nil.
var DefaultProductScopes = []string{
	"https://api.equifax.com/business/oneview/consumer-credit/v1",
	"https://api.equifax.com/business/verifications/twn/v1",
}

// The paths the emulator serves.
const (
	TokenPath     = "/v2/oauth/token"
	ClientsPath   = "/business/security/v1/clients/"
	SOAPPath      = "/business/security/soap/v1"
	ControlPrefix = "/__emulator/"
)

// Options configure an Emulator. The zero value is the contract's defaults.
type Options struct {
	// Start is the fake clock's start; zero: time.Now().UTC() truncated to
	// the second.
	Start time.Time
	// Ticking makes the fake clock also follow real time (Advance still
	// jumps it). Off, the clock moves only through Advance and SetNow, which
	// is what tests want; a long-running emulator turns it on.
	Ticking bool
	// TokenLifetime is the access token lifetime; default 1800 s.
	TokenLifetime time.Duration
	// SecretLifetime is a new secret's lifetime; default 180 days.
	SecretLifetime time.Duration
	// DefaultGrace is the previous secret's grace period when a renew names
	// none; default 7 days.
	DefaultGrace time.Duration
	// MaxGrace is the longest grace period a renew may ask for; default 30 days.
	MaxGrace time.Duration
	// MinRenewInterval is the least time between two renews; default 5 min.
	MinRenewInterval time.Duration
	// RenewWindow is how long before the active secret's expiry a renew is
	// allowed; default 30 days. renewalEligibleAt = max(lastRenewal +
	// MinRenewInterval, expiresAt - RenewWindow).
	RenewWindow time.Duration
	// ManagementScope is the scope the management calls require; default
	// "https://api.equifax.com/business/security/v1".
	ManagementScope string
	// ProductScopes are the other scopes the token endpoint knows; nil:
	// DefaultProductScopes.
	ProductScopes []string
	// Latency is added to every contract call (not to the controls).
	Latency time.Duration
	// Logf, when set, receives one line per contract call: transport, op,
	// client, status, code and efx-transaction-id. Never a secret.
	Logf func(format string, args ...any)
	// Hostile, when not the zero value, starts the emulator in a hostile
	// mode (see Hostile); SetHostile changes it later.
	Hostile Hostile
}

func (o Options) withDefaults() Options {
	if o.Start.IsZero() {
		o.Start = time.Now().UTC().Truncate(time.Second)
	}
	o.Start = o.Start.UTC()
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.SecretLifetime <= 0 {
		o.SecretLifetime = DefaultSecretLifetime
	}
	if o.DefaultGrace <= 0 {
		o.DefaultGrace = DefaultGrace
	}
	if o.MaxGrace <= 0 {
		o.MaxGrace = DefaultMaxGrace
	}
	if o.DefaultGrace > o.MaxGrace {
		o.DefaultGrace = o.MaxGrace
	}
	if o.MinRenewInterval <= 0 {
		o.MinRenewInterval = DefaultMinRenewInterval
	}
	if o.RenewWindow <= 0 {
		o.RenewWindow = DefaultRenewWindow
	}
	if o.ManagementScope == "" {
		o.ManagementScope = DefaultManagementScope
	}
	if o.ProductScopes == nil {
		o.ProductScopes = DefaultProductScopes
	}
	return o
}

// Emulator is the emulated Equifax security API. It is an http.Handler and
// safe for concurrent use.
type Emulator struct {
	opts Options

	mu       sync.Mutex
	offset   time.Duration // fake clock: Start + offset (+ real time elapsed when ticking)
	realBase time.Time     // when ticking: the real time the clock started from
	clients  map[string]*client
	tokens   map[[32]byte]*token
	// nextPrune is the token count at which issuing prunes expired tokens.
	nextPrune int
	faults    map[Op][]Fault
	calls     map[Op]int
	latency   time.Duration
	warm      *warmupState
	hostile   *hostileState

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns an emulator with no clients.
func New(opts Options) *Emulator {
	opts = opts.withDefaults()
	e := &Emulator{
		opts:      opts,
		realBase:  time.Now(),
		clients:   map[string]*client{},
		tokens:    map[[32]byte]*token{},
		nextPrune: tokenPruneAt,
		faults:    map[Op][]Fault{},
		calls:     map[Op]int{},
		latency:   opts.Latency,
		closed:    make(chan struct{}),
	}
	if opts.Hostile.active() {
		e.SetHostile(opts.Hostile)
	}
	return e
}

// Close releases every stalled request; the emulator keeps serving.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() { close(e.closed) })
}

// Now returns the fake clock's time, in UTC.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nowLocked()
}

func (e *Emulator) nowLocked() time.Time {
	t := e.opts.Start.Add(e.offset)
	if e.opts.Ticking {
		t = t.Add(time.Since(e.realBase))
	}
	return t.UTC()
}

// Advance moves the fake clock forward by d (backward when d < 0). Secrets
// and tokens expire by this clock.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
	e.pruneLocked()
}

// SetNow sets the fake clock to t.
func (e *Emulator) SetNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += t.Sub(e.nowLocked())
	e.pruneLocked()
}

// SetLatency sets the latency added to every contract call.
func (e *Emulator) SetLatency(d time.Duration) {
	if d < 0 {
		d = 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// Calls returns how many calls to op were received (REST and SOAP), faulted
// ones included.
func (e *Emulator) Calls(op Op) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[op]
}

// CallCounts returns the call counter of every operation.
func (e *Emulator) CallCounts() map[Op]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[Op]int, len(Ops))
	for _, op := range Ops {
		m[op] = e.calls[op]
	}
	return m
}

// ResetCalls sets every call counter to zero.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = map[Op]int{}
}

// SeedClient creates clientID with one ACTIVE secret whose value is secret
// (random when ""), expiring at expiresAt (zero: now + SecretLifetime). It
// returns the secret's metadata. Seeding a client that exists is an error.
func (e *Emulator) SeedClient(clientID, secret string, expiresAt time.Time) (equifax.SecretInfo, error) {
	if err := ValidClientID(clientID); err != nil {
		return equifax.SecretInfo{}, err
	}
	if len(secret) > maxSecretLen {
		return equifax.SecretInfo{}, fmt.Errorf("secret of client %q is longer than %d bytes", clientID, maxSecretLen)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.clients[clientID]; ok {
		return equifax.SecretInfo{}, fmt.Errorf("client %q: %w", clientID, ErrClientExists)
	}
	now := e.nowLocked().Truncate(time.Second)
	if secret == "" {
		secret = newSecretValue()
	}
	if expiresAt.IsZero() {
		expiresAt = now.Add(e.opts.SecretLifetime)
	}
	s := newSecret(secret, now, expiresAt.UTC())
	c := &client{id: clientID, idem: map[string]*idemEntry{}}
	c.secrets = append(c.secrets, s)
	e.clients[clientID] = c
	return s.info(now), nil
}

// Client returns the metadata of clientID's secrets, as describe would.
func (e *Emulator) Client(clientID string) (equifax.ClientInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[clientID]
	if !ok {
		return equifax.ClientInfo{}, false
	}
	return e.describeLocked(c), true
}

// Clients returns the metadata of every client, sorted by client id.
func (e *Emulator) Clients() []equifax.ClientInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.clients))
	for id := range e.clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]equifax.ClientInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, e.describeLocked(e.clients[id]))
	}
	return out
}

// ClientState is one client in the state dump: its metadata, as describe
// returns it, and the audit of its forced renews.
type ClientState struct {
	equifax.ClientInfo
	ForcedRenewals []ForcedRenewal `json:"forcedRenewals,omitempty"`
}

// State returns every client's metadata and forced-renew audit, sorted by
// client id: the /__emulator/state dump. It holds no plaintext.
func (e *Emulator) State() []ClientState {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.clients))
	for id := range e.clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]ClientState, 0, len(ids))
	for _, id := range ids {
		c := e.clients[id]
		out = append(out, ClientState{ClientInfo: e.describeLocked(c), ForcedRenewals: append([]ForcedRenewal(nil), c.forced...)})
	}
	return out
}

// ForcedRenewals returns the audit of clientID's forced renews, oldest
// first.
func (e *Emulator) ForcedRenewals(clientID string) []ForcedRenewal {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[clientID]
	if !ok {
		return nil
	}
	return append([]ForcedRenewal(nil), c.forced...)
}

// Accepts reports whether the token endpoint would issue a token for this
// client id and secret now.
func (e *Emulator) Accepts(clientID, secret string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.authenticateLocked(clientID, secret)
	return ok && !e.coldLocked(s.id)
}

// ServeHTTP serves the REST API, the SOAP endpoint, its WSDL and the
// /__emulator/ controls.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("efx-transaction-id", newTransactionID())
	p := r.URL.Path
	switch {
	case p == TokenPath:
		e.serveContract(w, r, "rest", e.routeToken)
	case strings.HasPrefix(p, ClientsPath):
		e.serveContract(w, r, "rest", e.routeREST)
	case p == SOAPPath:
		if r.Method == http.MethodGet && isWSDLQuery(r.URL.RawQuery) {
			e.serveWSDL(w, r)
			return
		}
		e.serveContract(w, r, "soap", e.routeSOAP)
	case strings.HasPrefix(p, ControlPrefix):
		e.serveControl(w, r)
	default:
		writeReply(w, restError(&apiError{status: http.StatusNotFound, code: "404.01", desc: "no such resource"}))
	}
}

// random returns n random bytes.
func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("emulator: reading random bytes: " + err.Error())
	}
	return b
}

func newSecretValue() string { return base64.RawURLEncoding.EncodeToString(random(30)) }
func newSecretID() string    { return "sec-" + hex.EncodeToString(random(8)) }
func newAccessToken() string { return "efx." + base64.RawURLEncoding.EncodeToString(random(32)) }
func newTransactionID() string {
	b := random(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sleepCtx waits d, or until ctx is done or the emulator is closed; it
// reports whether the whole time passed.
func (e *Emulator) sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-e.closed:
		return false
	}
}
