// Package entraemu emulates the parts of Microsoft Entra ID that credrotate
// uses, as an http.Handler: the v2.0 token endpoint of the Microsoft
// identity platform (client credentials with a client secret or with a
// client assertion, the workload identity federation flow) and the
// tenant's OpenID Connect discovery document that MSAL reads, and Microsoft
// Graph v1.0's application resource with its passwordCredentials and the
// addPassword and removePassword actions.
//
// It answers as the services do: Graph's error bodies
// ({"error":{"code","message","innerError":{"request-id","date"}}}), the
// identity platform's AADSTS errors, 429 with Retry-After. Its knobs are
// the behaviours that make rotating an Entra password hard: a new password
// is refused by the token endpoint for a propagation delay after
// addPassword, a tenant app management policy caps a password's lifetime
// (CredentialInvalidLifetimeAsPerAppPolicy), and an application holds a
// limited number of passwords. Its clock is its own: Advance moves it, and
// with Ticking it also follows the wall clock.
//
// Graph's authorisation is reduced to the two set-ups credrotate supports:
// an application manages itself (its own token may change its own
// passwords, as with Application.ReadWrite.OwnedBy on an application that
// owns itself), or a management application owns it (SeedApp's Owners).
// A client assertion is checked against the federated credentials given to
// AddFederated (issuer, subject, audience, expiry, and the signature with
// the credential's key) instead of the issuer's published keys.
package entraemu

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults for Options.
const (
	DefaultPropagation   = 30 * time.Second
	DefaultMaxPasswords  = 100
	DefaultTokenLifetime = time.Hour
	// MaxBodyBytes caps every request body.
	MaxBodyBytes = 64 << 10
)

// GraphScope is the scope a client-credentials token for Graph names.
const GraphScope = "https://graph.microsoft.com/.default"

// Options configure an Emulator.
type Options struct {
	// TenantID is the tenant the token endpoint serves (a GUID or a
	// domain); any other tenant is not found. Default "contoso.onmicrosoft.com".
	TenantID string
	// Propagation is how long, in emulator time, a new password is refused
	// by the token endpoint after addPassword; zero means
	// DefaultPropagation, negative none.
	Propagation time.Duration
	// MaxLifetime is the tenant's app management policy: the longest a new
	// password may live (zero: no policy).
	MaxLifetime time.Duration
	// MaxPasswords is how many passwords one application may hold; zero
	// means DefaultMaxPasswords.
	MaxPasswords int
	// TokenLifetime is an access token's life; zero means an hour.
	TokenLifetime time.Duration
	// Start is the emulator clock's start; zero means now.
	Start time.Time
	// Ticking makes the clock follow the wall clock too.
	Ticking bool
	// Latency is added to every request (wall-clock time).
	Latency time.Duration
	// Logf receives one line per request; nil is silent.
	Logf func(format string, args ...any)
}

// Emulator is the Entra ID emulator. It is safe for concurrent use.
type Emulator struct {
	opts Options

	mu       sync.Mutex
	base     time.Time // the clock at wallBase
	wallBase time.Time
	advanced time.Duration
	apps     map[string]*app // by object id
	byAppID  map[string]*app
	tokens   map[string]token
	revoked  int
	faults   []*Fault
	calls    map[string]int
}

// App is an application as SeedApp creates it and Apps reports it.
type App struct {
	ObjectID    string
	AppID       string
	DisplayName string
	// Owners are the client ids (appId) of the applications that may manage
	// this one besides itself.
	Owners    []string
	Passwords []Password
}

// Password is one password credential's metadata (never its value).
type Password struct {
	KeyID         string
	DisplayName   string
	Hint          string
	StartDateTime time.Time
	EndDateTime   time.Time
	// UsableAt is when the token endpoint starts accepting it.
	UsableAt time.Time
}

// Federated is a federated identity credential: an application trusts
// tokens of Issuer for Subject (and audience api://AzureADTokenExchange),
// signed by Key.
type Federated struct {
	Issuer, Subject string
	Key             crypto.PublicKey
}

type app struct {
	App
	values    map[string]string // keyId -> sha256 of the value
	federated []Federated
	deleted   []string
}

type token struct {
	appID   string
	expires time.Time
}

// New returns an emulator.
func New(opts Options) *Emulator {
	if opts.TenantID == "" {
		opts.TenantID = "contoso.onmicrosoft.com"
	}
	if opts.Propagation == 0 {
		opts.Propagation = DefaultPropagation
	}
	if opts.Propagation < 0 {
		opts.Propagation = 0
	}
	if opts.MaxPasswords <= 0 {
		opts.MaxPasswords = DefaultMaxPasswords
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	return &Emulator{opts: opts, base: start, wallBase: time.Now(), apps: map[string]*app{}, byAppID: map[string]*app{}, tokens: map[string]token{}, calls: map[string]int{}}
}

// Tenant is the tenant the emulator serves.
func (e *Emulator) Tenant() string { return e.opts.TenantID }

// Now is the emulator's clock.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

func (e *Emulator) now() time.Time {
	t := e.base.Add(e.advanced)
	if e.opts.Ticking {
		t = t.Add(time.Since(e.wallBase))
	}
	return t.UTC()
}

// Advance moves the clock forward by d.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanced += d
}

// SetMaxLifetime changes the tenant's lifetime policy (zero: none).
func (e *Emulator) SetMaxLifetime(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.MaxLifetime = d
}

// SetPropagation changes the propagation delay of passwords added from now
// on (zero or negative: none).
func (e *Emulator) SetPropagation(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.Propagation = max(d, 0)
}

// SeedSpec describes an application for SeedApp.
type SeedSpec struct {
	// AppID is the client id; default a new GUID.
	AppID       string
	DisplayName string
	Owners      []string
	// Password, when not empty, is the value of a first password that ends
	// at PasswordEnd (default in 90 days) and works at once.
	Password     string
	PasswordName string
	PasswordEnd  time.Time
}

// SeedApp creates an application and returns it; its first password, if
// any, works at once.
func (e *Emulator) SeedApp(s SeedSpec) (App, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.AppID == "" {
		s.AppID = uuid.NewString()
	}
	if _, ok := e.byAppID[s.AppID]; ok {
		return App{}, fmt.Errorf("entraemu: application %s exists", s.AppID)
	}
	a := &app{App: App{ObjectID: uuid.NewString(), AppID: s.AppID, DisplayName: s.DisplayName, Owners: append([]string(nil), s.Owners...)}, values: map[string]string{}}
	e.apps[a.ObjectID], e.byAppID[a.AppID] = a, a
	if s.Password != "" {
		now := e.now()
		end := s.PasswordEnd
		if end.IsZero() {
			end = now.Add(90 * 24 * time.Hour)
		}
		e.addPassword(a, s.PasswordName, s.Password, now, end, now)
	}
	return a.snapshot(), nil
}

// AddFederated makes the application of clientID trust f's tokens.
func (e *Emulator) AddFederated(clientID string, f Federated) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	if !ok {
		return fmt.Errorf("entraemu: no application %s", clientID)
	}
	a.federated = append(a.federated, f)
	return nil
}

// AddOwner makes owner (a client id) an owner of the application of
// clientID, as Application.ReadWrite.OwnedBy's scope needs.
func (e *Emulator) AddOwner(clientID, owner string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	if !ok {
		return fmt.Errorf("entraemu: no application %s", clientID)
	}
	if !slices.Contains(a.Owners, owner) {
		a.Owners = append(a.Owners, owner)
	}
	return nil
}

// Apps returns every application, by display name then client id.
func (e *Emulator) Apps() []App {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]App, 0, len(e.apps))
	for _, a := range e.apps {
		out = append(out, a.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AppID < out[j].AppID })
	return out
}

// AppByClientID returns the application of clientID.
func (e *Emulator) AppByClientID(clientID string) (App, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	if !ok {
		return App{}, false
	}
	return a.snapshot(), true
}

// Accepts reports whether the token endpoint would accept value as a client
// secret of clientID now.
func (e *Emulator) Accepts(clientID, value string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	if !ok {
		return false
	}
	_, status := e.match(a, value)
	return status == matchOK
}

// ValidPasswords counts the passwords of clientID that are valid now
// (started and not ended), those still propagating included.
func (e *Emulator) ValidPasswords(clientID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	if !ok {
		return 0
	}
	now, n := e.now(), 0
	for _, p := range a.Passwords {
		if !now.Before(p.StartDateTime) && now.Before(p.EndDateTime) {
			n++
		}
	}
	return n
}

// Revoked counts the passwords removed so far.
func (e *Emulator) Revoked() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.revoked
}

// Calls counts the requests served per operation ("token", "get",
// "addPassword", "removePassword").
func (e *Emulator) Calls(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[op]
}

// Fault is an answer injected in place of the emulator's own.
type Fault struct {
	// Op is the operation it applies to: "token", "get", "addPassword",
	// "removePassword", or "" for every one.
	Op string
	// Status is the HTTP status answered; Body the body (default a Graph
	// or identity platform error body fitting the status).
	Status int
	Body   string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Delay holds the call back this long of wall-clock time (a timeout,
	// for a client whose deadline is shorter); then it is carried out,
	// even if the client has given up, as a service would.
	Delay time.Duration
	// AfterHandling applies the fault after the request was carried out
	// (an answer lost after the change).
	AfterHandling bool
	// Drop closes the connection without an answer (after the change, with
	// AfterHandling): what a client sees when the network loses the answer.
	Drop bool
	// Times is how many requests it answers; zero means one.
	Times int
}

// Inject queues a fault.
func (e *Emulator) Inject(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	e.faults = append(e.faults, &f)
}

// ClearFaults drops every queued fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

func (e *Emulator) takeFault(op string) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if f.Op == "" || f.Op == op {
			f.Times--
			if f.Times == 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

func (a *app) snapshot() App {
	out := a.App
	out.Owners = append([]string(nil), a.Owners...)
	out.Passwords = append([]Password(nil), a.Passwords...)
	return out
}

// addPassword adds a password; the caller holds e.mu.
func (e *Emulator) addPassword(a *app, name, value string, start, end, usable time.Time) Password {
	p := Password{KeyID: uuid.NewString(), DisplayName: name, Hint: hint(value), StartDateTime: start, EndDateTime: end, UsableAt: usable}
	a.Passwords = append(a.Passwords, p)
	a.values[p.KeyID] = digest(value)
	return p
}

type matchStatus int

const (
	matchNone matchStatus = iota
	matchOK
	matchExpired
	matchNotYet
)

// match finds the password whose value is value; the caller holds e.mu.
func (e *Emulator) match(a *app, value string) (Password, matchStatus) {
	d := digest(value)
	now := e.now()
	for _, p := range a.Passwords {
		if a.values[p.KeyID] != d {
			continue
		}
		switch {
		case !now.Before(p.EndDateTime):
			return p, matchExpired
		case now.Before(p.UsableAt), now.Before(p.StartDateTime):
			return p, matchNotYet
		}
		return p, matchOK
	}
	return Password{}, matchNone
}

func digest(v string) string {
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:])
}

// hint is what Graph shows of a password: its first three characters.
func hint(v string) string {
	if len(v) < 3 {
		return v
	}
	return v[:3]
}

// newSecretText makes a value shaped like Entra's: 40 characters with a
// "~" at the fourth.
func newSecretText() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	b[3] = '~'
	return string(b)
}

func newOpaque(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (e *Emulator) logf(format string, args ...any) {
	if e.opts.Logf != nil {
		e.opts.Logf(format, args...)
	}
}

// ServeHTTP routes a request to the token endpoint or to Graph.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if e.opts.Latency > 0 {
		t := time.NewTimer(e.opts.Latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	reqID := uuid.NewString()
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", reqID)
	switch {
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		e.serveToken(w, r, reqID)
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		e.serveOpenIDConfiguration(w, r, reqID)
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		e.serveGraph(w, r, reqID)
	case strings.HasPrefix(r.URL.Path, ControlPrefix):
		e.serveControl(w, r, reqID)
	default:
		writeGraphError(w, http.StatusNotFound, "UnknownError", "Resource not found for the segment '"+firstSegment(r.URL.Path)+"'.", reqID, e.Now())
	}
}

func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	return p
}

// applyFault answers with an injected fault, if one is queued for op before
// handling; it reports whether it answered.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, op, reqID string, f *Fault) bool {
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		// A service does not notice a client that gave up: the call is
		// carried out when the delay ends, whether or not anyone waits
		// for its answer.
		time.Sleep(f.Delay)
	}
	if f.Drop {
		// net/http closes the connection without writing anything.
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return true
	}
	if op == "token" {
		writeTokenError(w, f.Status, "temporarily_unavailable", "AADSTS50196: The server terminated an operation because it encountered a loop or is busy.", 50196, reqID, e.Now())
		return true
	}
	code := map[int]string{429: "TooManyRequests", 503: "ServiceNotAvailable", 504: "GatewayTimeout", 500: "UnknownError"}[f.Status]
	if code == "" {
		code = "UnknownError"
	}
	writeGraphError(w, f.Status, code, http.StatusText(f.Status), reqID, e.Now())
	return true
}
