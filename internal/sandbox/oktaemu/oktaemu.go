// Package oktaemu is an in-process emulator of the part of Okta that
// credrotate's Okta provider speaks: an app's client secrets, the org
// authorization server's token endpoint (a service app's private_key_jwt
// client assertion, for management tokens) and an app authorization
// server's token endpoint (client credentials with client_secret_basic, to
// prove a secret). It keeps Okta's limits — at most two secrets per app,
// ACTIVE and INACTIVE alike; only an INACTIVE secret may be deleted; the
// only ACTIVE secret may not be deactivated — and answers with Okta's error
// bodies and codes and its X-Rate-Limit-* headers. Tests and the demo drive
// it through a clock (Advance) and control methods (SeedApp, Accepts,
// Revoked).
//
// Endpoints:
//
//	GET    /api/v1/apps?limit=&after=                               every app, a page at a time (Link rel="next")
//	GET    /api/v1/apps/{appId}/credentials/secrets
//	POST   /api/v1/apps/{appId}/credentials/secrets                 {} or {"client_secret","status"}
//	POST   /api/v1/apps/{appId}/credentials/secrets/{id}/lifecycle/deactivate
//	DELETE /api/v1/apps/{appId}/credentials/secrets/{id}
//	POST   /oauth2/v1/token                                         service app (private_key_jwt)
//	POST   /oauth2/{authServerId}/v1/token                          app client credentials
//
// Request bodies are capped at 64 KiB. Management calls are rate limited
// per minute of the emulator's clock (Options.RateLimit).
package oktaemu

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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

	"github.com/golang-jwt/jwt/v5"
)

// Limits of the emulated org.
const (
	// MaxSecrets is how many secrets an app may hold.
	MaxSecrets = 2
	// MaxBodyBytes caps every request body.
	MaxBodyBytes = 64 << 10
	// DefaultRateLimit is the management calls allowed per minute.
	DefaultRateLimit = 600
	// TokenLifetime is how long an access token lives.
	TokenLifetime = time.Hour
	// DefaultAppsLimit and MaxAppsLimit are the page sizes of the apps
	// list: what Okta answers without a limit, and the most it allows.
	DefaultAppsLimit = 20
	MaxAppsLimit     = 200
)

// Options configure an Emulator.
type Options struct {
	// APIToken, when set, is accepted as "SSWS <APIToken>".
	APIToken string
	// RateLimit is the management calls allowed per clock minute; default
	// DefaultRateLimit.
	RateLimit int
	// Start is the clock's first reading; default now.
	Start time.Time
	// Ticking makes the clock follow the wall clock (plus every Advance).
	Ticking bool
	// MaskSecrets makes the list show masked values, as an org may.
	MaskSecrets bool
	// Latency is added to every call.
	Latency time.Duration
	// Logf receives one line per call; nil is silent.
	Logf func(format string, args ...any)
}

// Secret is one client secret's state.
type Secret struct {
	ID          string
	Status      string // ACTIVE or INACTIVE
	value       string
	Created     time.Time
	LastUpdated time.Time
}

type app struct {
	id         string
	label      string
	signOnMode string
	created    time.Time
	secrets    []*Secret
}

type serviceApp struct {
	key    crypto.PublicKey
	scopes map[string]bool
}

type token struct {
	scopes  map[string]bool
	expires time.Time
}

// Emulator is the emulated Okta org. It is safe for concurrent use.
type Emulator struct {
	opts Options

	mu          sync.Mutex
	offset      time.Duration
	start       time.Time
	wallStart   time.Time
	apps        map[string]*app
	serviceApps map[string]*serviceApp
	tokens      map[string]token
	jtis        map[string]bool
	deleted     int
	window      int64
	used        int
	calls       map[string]int
	faults      []Fault
}

// New returns an emulator.
func New(opts Options) *Emulator {
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	return &Emulator{opts: opts, start: start, wallStart: time.Now(), apps: map[string]*app{}, serviceApps: map[string]*serviceApp{},
		tokens: map[string]token{}, jtis: map[string]bool{}, calls: map[string]int{}}
}

// Now is the emulator's clock.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

func (e *Emulator) now() time.Time {
	t := e.start.Add(e.offset)
	if e.opts.Ticking {
		t = t.Add(time.Since(e.wallStart))
	}
	return t.UTC()
}

// Advance moves the clock.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
}

// SeedApp creates an app with one ACTIVE secret of the given value (a new
// random one when empty), created at createdAt (now when zero), and
// returns the secret.
func (e *Emulator) SeedApp(appID, value string, createdAt time.Time) (Secret, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if appID == "" {
		return Secret{}, errors.New("oktaemu: no app id")
	}
	if _, ok := e.apps[appID]; ok {
		return Secret{}, fmt.Errorf("oktaemu: app %s exists", appID)
	}
	if value == "" {
		value = newValue()
	}
	if createdAt.IsZero() {
		createdAt = e.now()
	}
	s := &Secret{ID: newID("ocs"), Status: "ACTIVE", value: value, Created: createdAt.UTC().Truncate(time.Millisecond), LastUpdated: createdAt.UTC().Truncate(time.Millisecond)}
	e.apps[appID] = &app{id: appID, label: appID, signOnMode: "OPENID_CONNECT", created: s.Created, secrets: []*Secret{s}}
	return *s, nil
}

// SetLabel gives an app the label its list entry shows (the app id until
// set).
func (e *Emulator) SetLabel(appID, label string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok {
		return fmt.Errorf("oktaemu: no app %s", appID)
	}
	a.label = label
	return nil
}

// SeedSAMLApp creates an app signing on with SAML 2.0: it is in the apps
// list but has no client credentials.
func (e *Emulator) SeedSAMLApp(appID, label string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.apps[appID]; ok || appID == "" {
		return fmt.Errorf("oktaemu: app %q exists or has no id", appID)
	}
	e.apps[appID] = &app{id: appID, label: label, signOnMode: "SAML_2_0", created: e.now().Truncate(time.Millisecond)}
	return nil
}

// AddSecret adds a secret to an existing app the way an administrator
// would in the console (the limit holds).
func (e *Emulator) AddSecret(appID, value, status string) (Secret, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok {
		return Secret{}, fmt.Errorf("oktaemu: no app %s", appID)
	}
	if len(a.secrets) >= MaxSecrets {
		return Secret{}, fmt.Errorf("oktaemu: app %s holds %d secrets", appID, len(a.secrets))
	}
	if value == "" {
		value = newValue()
	}
	now := e.now().Truncate(time.Millisecond)
	s := &Secret{ID: newID("ocs"), Status: status, value: value, Created: now, LastUpdated: now}
	a.secrets = append(a.secrets, s)
	return *s, nil
}

// Deactivate deactivates a secret the way an administrator would.
func (e *Emulator) Deactivate(appID, secretID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok {
		return fmt.Errorf("oktaemu: no app %s", appID)
	}
	for _, s := range a.secrets {
		if s.ID == secretID {
			s.Status, s.LastUpdated = "INACTIVE", e.now()
			return nil
		}
	}
	return fmt.Errorf("oktaemu: no secret %s", secretID)
}

// RegisterServiceApp lets a service app with this public key obtain
// management tokens with the granted scopes.
func (e *Emulator) RegisterServiceApp(clientID string, key crypto.PublicKey, scopes ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sa := &serviceApp{key: key, scopes: map[string]bool{}}
	for _, s := range scopes {
		sa.scopes[s] = true
	}
	e.serviceApps[clientID] = sa
}

// RevokeTokens forgets every access token issued, as an admin revoking a
// service app's tokens would.
func (e *Emulator) RevokeTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens = map[string]token{}
}

// Secrets returns the app's secrets, oldest first, without values.
func (e *Emulator) Secrets(appID string) []Secret {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Secret
	if a, ok := e.apps[appID]; ok && a.signOnMode == "OPENID_CONNECT" {
		for _, s := range a.secrets {
			c := *s
			c.value = ""
			out = append(out, c)
		}
	}
	return out
}

// Accepts reports whether value is an ACTIVE secret of clientID.
func (e *Emulator) Accepts(clientID, value string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accepts(clientID, value)
}

func (e *Emulator) accepts(clientID, value string) bool {
	a, ok := e.apps[clientID]
	if !ok || value == "" {
		return false
	}
	for _, s := range a.secrets {
		if s.Status == "ACTIVE" && s.value == value {
			return true
		}
	}
	return false
}

// ActiveSecrets counts the app's ACTIVE secrets.
func (e *Emulator) ActiveSecrets(appID string) int {
	n := 0
	for _, s := range e.Secrets(appID) {
		if s.Status == "ACTIVE" {
			n++
		}
	}
	return n
}

// Revoked counts the secrets deleted so far.
func (e *Emulator) Revoked() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deleted
}

// Calls returns how many times each operation was called: list, create,
// deactivate, delete, token, verify, apps (the apps list).
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// FailNext makes the next count calls of op (list, create, deactivate,
// delete, token, verify, apps) answer with status and Okta's error body for it
// (429 with the rate limit's headers, 5xx with E0000009).
func (e *Emulator) FailNext(op string, status, count int) {
	e.Inject(Fault{Op: op, Status: status, Times: count})
}

// Fault is an answer injected in place of the emulator's own, for one
// operation: list, create, deactivate, delete, token, verify or apps.
type Fault struct {
	Op string
	// Status is the HTTP status answered, with Okta's error body for it
	// (429: E0000047 and the X-Rate-Limit-* headers; 5xx: E0000009) unless
	// Body is set. Zero: no answer of its own (Delay or Drop alone).
	Status int
	// Body, when set, is the answer's body as it is (a malformed one, say).
	Body string
	// Delay holds the call back this long of wall-clock time (a timeout,
	// for a client whose deadline is shorter); then it is carried out,
	// even if the client has given up, as a service would.
	Delay time.Duration
	// AfterHandling carries the call out first, then answers with the
	// fault: a change whose answer was lost.
	AfterHandling bool
	// Drop closes the connection without an answer (after the change,
	// with AfterHandling, which without a Status drops too).
	Drop bool
	// Times is how many calls it answers; zero means one.
	Times int
}

// Inject queues a fault after those queued for its operation.
func (e *Emulator) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, f)
}

// ClearFaults drops every injected fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// takeFault pops the next fault of op; the caller holds e.mu.
func (e *Emulator) takeFault(op string) (Fault, bool) {
	for i := range e.faults {
		if e.faults[i].Op == op && e.faults[i].Times > 0 {
			f := e.faults[i]
			e.faults[i].Times--
			if e.faults[i].Times == 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
			return f, true
		}
	}
	return Fault{}, false
}

// preFault plays the part of f that comes before the call is carried out:
// the delay (with e.mu released), a dropped connection, or the answer. It
// reports whether the request is answered; the caller holds e.mu.
func (e *Emulator) preFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		// A service does not notice a client that gave up: the call is
		// carried out when the delay ends, whether or not anyone waits
		// for its answer.
		e.mu.Unlock()
		time.Sleep(f.Delay)
		e.mu.Lock()
	}
	if f.AfterHandling {
		return false
	}
	if f.Drop {
		e.mu.Unlock()
		// net/http closes the connection without writing anything; the
		// caller's deferred unlock needs the lock back.
		defer e.mu.Lock()
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return false
	}
	e.faultAnswer(w, f)
	return true
}

// postFault answers with f once the call was carried out into a discarded
// answer; the caller holds e.mu.
func (e *Emulator) postFault(w http.ResponseWriter, f Fault) {
	if f.Drop || f.Status == 0 {
		e.mu.Unlock()
		defer e.mu.Lock()
		panic(http.ErrAbortHandler)
	}
	e.faultAnswer(w, f)
}

// discarded is an answer nobody receives.
type discarded struct{ h http.Header }

func (d *discarded) Header() http.Header         { return d.h }
func (d *discarded) Write(b []byte) (int, error) { return len(b), nil }
func (d *discarded) WriteHeader(int)             {}

// newID is an Okta-style id: a prefix and 17 letters and digits.
func newID(prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

func newValue() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// ServeHTTP serves the emulated endpoints.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.opts.Latency > 0 {
		time.Sleep(e.opts.Latency)
	}
	if e.opts.Logf != nil {
		e.opts.Logf("okta %s %s", r.Method, r.URL.Path)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	w.Header().Set("X-Okta-Request-Id", newID("req"))
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/oauth2/v1/token":
		e.orgToken(w, r)
		return
	case strings.HasPrefix(path, "/oauth2/") && strings.HasSuffix(path, "/v1/token") && strings.Count(path, "/") == 4:
		e.appToken(w, r)
		return
	case path == "/api/v1/apps":
		e.listApps(w, r)
		return
	case strings.HasPrefix(path, "/api/v1/apps/"):
		e.management(w, r, strings.Split(strings.TrimPrefix(path, "/api/v1/apps/"), "/"))
		return
	}
	oktaError(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method", nil)
}

// management routes /api/v1/apps/{appId}/credentials/secrets[...].
func (e *Emulator) management(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) < 3 || parts[0] == "" || parts[1] != "credentials" || parts[2] != "secrets" {
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path+" (Resource)", nil)
		return
	}
	appID := parts[0]
	var op, secretID string
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		op = "list"
	case len(parts) == 3 && r.Method == http.MethodPost:
		op = "create"
	case len(parts) == 4 && r.Method == http.MethodDelete:
		op, secretID = "delete", parts[3]
	case len(parts) == 6 && parts[4] == "lifecycle" && parts[5] == "deactivate" && r.Method == http.MethodPost:
		op, secretID = "deactivate", parts[3]
	case len(parts) == 3 || len(parts) == 4 || len(parts) == 6:
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method", nil)
		return
	default:
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path+" (Resource)", nil)
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[op]++
	need := "okta.apps.read"
	if op != "list" {
		need = "okta.apps.manage"
	}
	if status, code, summary := e.authorize(r, need); status != 0 {
		oktaError(w, status, code, summary, nil)
		return
	}
	if !e.rateLimit(w) {
		return
	}
	f, faulted := e.takeFault(op)
	if faulted && e.preFault(w, r, f) {
		return
	}
	if faulted && f.AfterHandling {
		defer e.postFault(w, f)
		w = &discarded{h: http.Header{}}
	}
	a, ok := e.apps[appID]
	if !ok || a.signOnMode != "OPENID_CONNECT" {
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+appID+" (AppInstance)", nil)
		return
	}
	switch op {
	case "list":
		out := make([]map[string]any, 0, len(a.secrets))
		for _, s := range a.secrets {
			out = append(out, e.render(origin(r), appID, s, false))
		}
		writeJSON(w, http.StatusOK, out)
	case "create":
		e.create(w, r, appID, a)
	case "deactivate":
		s := find(a, secretID)
		if s == nil {
			oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+secretID+" (OAuth2ClientSecret)", nil)
			return
		}
		if s.Status == "ACTIVE" && activeCount(a) == 1 {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: OAuth2ClientSecretMediated", []string{"You can't deactivate the only active client secret."})
			return
		}
		if s.Status == "ACTIVE" {
			s.Status, s.LastUpdated = "INACTIVE", e.now().Truncate(time.Millisecond)
		}
		writeJSON(w, http.StatusOK, e.render(origin(r), appID, s, false))
	case "delete":
		s := find(a, secretID)
		if s == nil {
			oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+secretID+" (OAuth2ClientSecret)", nil)
			return
		}
		if s.Status == "ACTIVE" {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: OAuth2ClientSecretMediated", []string{"You can't delete an active client secret. Deactivate the secret before deleting it."})
			return
		}
		for i := range a.secrets {
			if a.secrets[i] == s {
				a.secrets = append(a.secrets[:i], a.secrets[i+1:]...)
				break
			}
		}
		e.deleted++
		w.WriteHeader(http.StatusNoContent)
	}
}

// listApps answers GET /api/v1/apps the way Okta does: apps in a stable
// order, limit (default 20, at most 200) per page, and a Link header with
// rel="self" and, while more remain, rel="next" whose after cursor is the
// last app's id.
func (e *Emulator) listApps(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method", nil)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls["apps"]++
	if status, code, summary := e.authorize(r, "okta.apps.read"); status != 0 {
		oktaError(w, status, code, summary, nil)
		return
	}
	if !e.rateLimit(w) {
		return
	}
	if f, ok := e.takeFault("apps"); ok && e.preFault(w, r, f) {
		return
	}
	q := r.URL.Query()
	limit := DefaultAppsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit", []string{"limit: must be a positive number"})
			return
		}
		limit = min(n, MaxAppsLimit)
	}
	ids := make([]string, 0, len(e.apps))
	for id := range e.apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	start := 0
	if after := q.Get("after"); after != "" {
		start = sort.SearchStrings(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+limit, len(ids))
	out := make([]map[string]any, 0, end-start)
	for _, id := range ids[start:end] {
		out = append(out, e.renderApp(origin(r), e.apps[id]))
	}
	self := origin(r) + "/api/v1/apps?limit=" + strconv.Itoa(limit)
	if a := q.Get("after"); a != "" {
		self += "&after=" + url.QueryEscape(a)
	}
	w.Header().Add("Link", "<"+self+">; rel=\"self\"")
	if end < len(ids) {
		w.Header().Add("Link", "<"+origin(r)+"/api/v1/apps?after="+url.QueryEscape(ids[end-1])+"&limit="+strconv.Itoa(limit)+">; rel=\"next\"")
	}
	writeJSON(w, http.StatusOK, out)
}

// renderApp is an app as the list shows it: an OpenIdConnectApplication
// (its oauthClient's client_id is the app id) or a SamlApplication.
func (e *Emulator) renderApp(origin string, a *app) map[string]any {
	m := map[string]any{
		"id": a.id, "label": a.label, "status": "ACTIVE", "signOnMode": a.signOnMode,
		"created": a.created.Format(time.RFC3339Nano), "lastUpdated": a.created.Format(time.RFC3339Nano),
		"_links": map[string]any{"self": map[string]any{"href": origin + "/api/v1/apps/" + a.id}},
	}
	if a.signOnMode == "OPENID_CONNECT" {
		m["name"] = "oidc_client"
		m["credentials"] = map[string]any{"oauthClient": map[string]any{"client_id": a.id, "autoKeyRotation": true, "token_endpoint_auth_method": "client_secret_basic"}}
		m["settings"] = map[string]any{"oauthClient": map[string]any{"application_type": "service", "grant_types": []string{"client_credentials"}, "response_types": []string{"token"}}}
	} else {
		m["name"] = "saml_app"
		m["credentials"] = map[string]any{"signing": map[string]any{"kid": "sig-" + a.id}}
	}
	return m
}

func (e *Emulator) create(w http.ResponseWriter, r *http.Request, appID string, a *app) {
	var body struct {
		ClientSecret *string `json:"client_secret"`
		Status       *string `json:"status"`
	}
	if r.ContentLength != 0 {
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			oktaError(w, http.StatusBadRequest, "E0000003", "The request body was not well-formed.", nil)
			return
		}
	}
	status := "ACTIVE"
	if body.Status != nil {
		if *body.Status != "ACTIVE" && *body.Status != "INACTIVE" {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: status", []string{"status: 'status' must be ACTIVE or INACTIVE."})
			return
		}
		status = *body.Status
	}
	value := newValue()
	if body.ClientSecret != nil {
		value = *body.ClientSecret
		switch {
		case len(value) < 14:
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: client_secret", []string{"client_secret: 'client_secret' must be at least '14' characters long."})
			return
		case len(value) > 100:
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: client_secret", []string{"client_secret: 'client_secret' must be no more than '100' characters long."})
			return
		case strings.IndexFunc(value, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0:
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: client_secret", []string{"client_secret: 'client_secret' must contain only printable ASCII characters."})
			return
		}
	}
	if len(a.secrets) >= MaxSecrets {
		oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: OAuth2ClientSecretMediated", []string{"You've reached the maximum number of client secrets per client."})
		return
	}
	now := e.now().Truncate(time.Millisecond)
	s := &Secret{ID: newID("ocs"), Status: status, value: value, Created: now, LastUpdated: now}
	a.secrets = append(a.secrets, s)
	writeJSON(w, http.StatusCreated, e.render(origin(r), appID, s, true))
}

func find(a *app, id string) *Secret {
	for _, s := range a.secrets {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func activeCount(a *app) int {
	n := 0
	for _, s := range a.secrets {
		if s.Status == "ACTIVE" {
			n++
		}
	}
	return n
}

// render is Okta's OAuth2ClientSecret object.
func (e *Emulator) render(origin, appID string, s *Secret, fresh bool) map[string]any {
	value := s.value
	if e.opts.MaskSecrets && !fresh && len(value) > 12 {
		value = value[:6] + "......" + value[len(value)-6:]
	}
	base := origin + "/api/v1/apps/" + appID + "/credentials/secrets/" + s.ID
	link := func(href, method string) map[string]any {
		return map[string]any{"href": href, "hints": map[string]any{"allow": []string{method}}}
	}
	links := map[string]any{}
	if s.Status == "ACTIVE" {
		links["deactivate"] = link(base+"/lifecycle/deactivate", "POST")
	} else {
		links["activate"] = link(base+"/lifecycle/activate", "POST")
		links["delete"] = link(base, "DELETE")
	}
	return map[string]any{
		"id":            s.ID,
		"status":        s.Status,
		"client_secret": value,
		"secret_hash":   hashOf(s.value),
		"created":       s.Created.Format("2006-01-02T15:04:05.000Z"),
		"lastUpdated":   s.LastUpdated.Format("2006-01-02T15:04:05.000Z"),
		"_links":        links,
	}
}

// origin is the scheme and host the request was sent to, for _links.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// authorize checks the Authorization header for a management call.
func (e *Emulator) authorize(r *http.Request, scope string) (int, string, string) {
	h := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(h, "SSWS "):
		if e.opts.APIToken != "" && strings.TrimPrefix(h, "SSWS ") == e.opts.APIToken {
			return 0, "", ""
		}
	case strings.HasPrefix(h, "Bearer "):
		t, ok := e.tokens[strings.TrimPrefix(h, "Bearer ")]
		if ok && e.now().Before(t.expires) {
			if !t.scopes[scope] {
				return http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action"
			}
			return 0, "", ""
		}
	}
	return http.StatusUnauthorized, "E0000011", "Invalid token provided"
}

// rateLimit counts a management call against the clock minute's budget
// and sets the X-Rate-Limit-* headers; it answers 429 when spent.
func (e *Emulator) rateLimit(w http.ResponseWriter) bool {
	minute := e.now().Unix() / 60
	if minute != e.window {
		e.window, e.used = minute, 0
	}
	e.used++
	reset := strconv.FormatInt((minute+1)*60, 10)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(e.opts.RateLimit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(max(e.opts.RateLimit-e.used, 0)))
	w.Header().Set("X-Rate-Limit-Reset", reset)
	if e.used > e.opts.RateLimit {
		oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.", nil)
		return false
	}
	return true
}

func (e *Emulator) faultAnswer(w http.ResponseWriter, f Fault) {
	status := f.Status
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(e.opts.RateLimit))
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(e.now().Add(30*time.Second).Unix(), 10))
		oktaError(w, status, "E0000047", "API call exceeded rate limit due to too many requests.", nil)
	case status >= 500:
		oktaError(w, status, "E0000009", "Internal Server Error", nil)
	default:
		oktaError(w, status, "E0000001", "Api validation failed", nil)
	}
}

// orgToken is the org authorization server's token endpoint, for service
// apps authenticating with private_key_jwt.
func (e *Emulator) orgToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint takes POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls["token"]++
	if f, ok := e.takeFault("token"); ok && e.preFault(w, r, f) {
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization server does not support the requested grant type.")
		return
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "A client assertion is required.")
		return
	}
	tokenURL := origin(r) + "/oauth2/v1/token"
	var claims jwt.RegisteredClaims
	var sa *serviceApp
	_, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), &claims, func(t *jwt.Token) (any, error) {
		c, _ := t.Claims.(*jwt.RegisteredClaims)
		if c == nil || c.Issuer == "" || c.Issuer != c.Subject {
			return nil, errors.New("iss and sub must be the client id")
		}
		sa = e.serviceApps[c.Issuer]
		if sa == nil {
			return nil, errors.New("unknown client")
		}
		return sa.key, nil
	}, jwt.WithValidMethods([]string{"RS256", "ES256"}), jwt.WithAudience(tokenURL), jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.now), jwt.WithLeeway(time.Minute))
	if err != nil || claims.ID == "" || e.jtis[claims.ID] || claims.ExpiresAt.Sub(e.now()) > time.Hour {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion token is invalid.")
		return
	}
	e.jtis[claims.ID] = true
	scopes := map[string]bool{}
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		if !sa.scopes[s] {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: "+s)
			return
		}
		scopes[s] = true
	}
	if len(scopes) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The authorization server requires a scope.")
		return
	}
	e.issue(w, scopes)
}

func (e *Emulator) issue(w http.ResponseWriter, scopes map[string]bool) {
	tok := newValue()
	e.tokens[tok] = token{scopes: scopes, expires: e.now().Add(TokenLifetime)}
	var names []string
	for s := range scopes {
		names = append(names, s)
	}
	sort.Strings(names)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(TokenLifetime / time.Second), "access_token": tok, "scope": strings.Join(names, " ")})
}

// appToken is a custom authorization server's token endpoint: client
// credentials for an app, authenticated with client_secret_basic.
func (e *Emulator) appToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint takes POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls["verify"]++
	if f, ok := e.takeFault("verify"); ok && e.preFault(w, r, f) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.")
		return
	}
	id, err1 := unescape(id)
	secret, err2 := unescape(secret)
	if err1 != nil || err2 != nil || !e.accepts(id, secret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization server does not support the requested grant type.")
		return
	}
	scopes := map[string]bool{}
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		scopes[s] = true
	}
	e.issue(w, scopes)
}

// unescape undoes the form encoding RFC 6749 asks of client_secret_basic.
func unescape(s string) (string, error) { return url.QueryUnescape(s) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oktaError writes Okta's error body.
func oktaError(w http.ResponseWriter, status int, code, summary string, causes []string) {
	cs := make([]map[string]string, 0, len(causes))
	for _, c := range causes {
		cs = append(cs, map[string]string{"errorSummary": c})
	}
	writeJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": newID("oae"), "errorCauses": cs})
}

// oauthError writes RFC 6749's error body, as Okta's token endpoints do.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
