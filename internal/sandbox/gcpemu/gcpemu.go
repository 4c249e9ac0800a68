// Package gcpemu emulates the part of Google Cloud IAM v1 that rotating
// service account keys uses — keys list, get, create, disable, enable and
// delete under /v1/projects/{project}/serviceAccounts/{email}/keys, and
// serviceAccounts.list (/v1/projects/{project}/serviceAccounts, pageSize
// and pageToken) for the inventory — and
// Google's OAuth 2.0 token endpoint (/token) for the jwt-bearer grant, whose
// RS256 signature is checked against the public half of the key it names.
//
// It answers with Google's JSON shapes (ServiceAccountKey,
// ListServiceAccountKeysResponse, {"error":{"code","message","status",
// "details"}}), holds Google's limit of ten keys per service account
// (disabled ones included), can forbid key creation as the organization
// policy iam.disableServiceAccountKeyCreation does, and can delay a new
// key's first use (Google takes up to a minute). Its clock moves with
// Advance. Management calls need a Bearer token the token endpoint issued.
package gcpemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxKeys is how many keys a service account may hold.
const MaxKeys = 10

// MaxBody caps every request body read.
const MaxBody = 1 << 20

// NoExpiry is the validBeforeTime of a key that never expires.
var NoExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Page sizes of serviceAccounts.list: what Google answers without a
// pageSize, and the most it gives.
const (
	DefaultAccountsPageSize = 20
	MaxAccountsPageSize     = 100
)

// KeyCreationPolicy is the organization policy constraint Forbid emulates.
const KeyCreationPolicy = "constraints/iam.disableServiceAccountKeyCreation"

// Options shape an Emulator.
type Options struct {
	// KeyBits is the size of the RSA keys made; default 2048. Tests use
	// 1024 to stay fast under the race detector.
	KeyBits int
	// Propagation is how long a new key takes to work.
	Propagation time.Duration
	// KeyExpiry, when set, gives every new key an expiry this long after its
	// creation (the organization policy iam.serviceAccountKeyExpiryHours);
	// otherwise keys never expire.
	KeyExpiry time.Duration
	// Now is the clock before Advance; default time.Now.
	Now func() time.Time
	// Logf receives one line per call; nil is silent.
	Logf func(format string, args ...any)
}

// Emulator is an IAM and token endpoint emulator; it is an http.Handler.
type Emulator struct {
	opts Options

	mu       sync.Mutex
	offset   time.Duration
	url      string
	accounts map[string]*account
	tokens   map[string]token
	revoked  int
	faults   []Fault
	seq      int
	calls    map[string]int
}

type account struct {
	email, project string
	displayName    string
	uniqueID       string
	keys           []*key
	noKeys         bool
	denied         bool
}

type key struct {
	id          string
	priv        *rsa.PrivateKey
	algorithm   string
	validAfter  time.Time
	validBefore time.Time
	// origin is keyOrigin: GOOGLE_PROVIDED, or USER_PROVIDED for a public
	// key someone uploaded.
	origin   string
	disabled bool
	deleted  bool
}

type token struct {
	email   string
	expires time.Time
}

// New makes an empty Emulator.
func New(opts Options) *Emulator {
	if opts.KeyBits == 0 {
		opts.KeyBits = 2048
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Emulator{opts: opts, accounts: map[string]*account{}, tokens: map[string]token{}, calls: map[string]int{}}
}

// Now is the emulator's clock.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

func (e *Emulator) now() time.Time { return e.opts.Now().Add(e.offset).UTC() }

// Advance moves the clock.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	e.offset += d
	e.mu.Unlock()
}

// SetURL tells the emulator where it is served, for the token_uri of the key
// files it makes.
func (e *Emulator) SetURL(u string) {
	e.mu.Lock()
	e.url = strings.TrimSuffix(u, "/")
	e.mu.Unlock()
}

// TokenURL is the emulated token endpoint, once SetURL was called.
func (e *Emulator) TokenURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokenURL()
}

func (e *Emulator) tokenURL() string {
	if e.url == "" {
		return "https://oauth2.googleapis.com/token"
	}
	return e.url + "/token"
}

// SeedServiceAccount creates a service account (project is taken from the
// email's domain when empty).
func (e *Emulator) SeedServiceAccount(email string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.account(email)
}

func (e *Emulator) account(email string) *account {
	email = strings.ToLower(email)
	if a, ok := e.accounts[email]; ok {
		return a
	}
	project := "project"
	if at := strings.IndexByte(email, '@'); at >= 0 {
		project = strings.SplitN(email[at+1:], ".", 2)[0]
	}
	e.seq++
	a := &account{email: email, project: project, uniqueID: fmt.Sprintf("1%020d", e.seq)}
	e.accounts[email] = a
	return a
}

// SetDisplayName gives a service account (created if missing) the display
// name serviceAccounts.list shows.
func (e *Emulator) SetDisplayName(email, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.account(email).displayName = name
}

// SeedUploadedKey gives a service account (created if missing) a key whose
// public half someone uploaded (keys.upload): keyOrigin USER_PROVIDED. Its
// private half never passes through the emulator, so it proves nothing
// here; it only shows in the list. It returns the key's id.
func (e *Emulator) SeedUploadedKey(email string, created, validBefore time.Time) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, e.opts.KeyBits)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.account(email)
	if validBefore.IsZero() {
		validBefore = NoExpiry
	}
	k := &key{id: e.newID(), priv: priv, algorithm: "KEY_ALG_RSA_2048", validAfter: created.UTC().Truncate(time.Second), validBefore: validBefore.UTC().Truncate(time.Second), origin: "USER_PROVIDED"}
	a.keys = append(a.keys, k)
	return k.id, nil
}

// SeedKey gives a service account (created if missing) a key made at
// created, valid until validBefore (NoExpiry when zero), and returns its id
// and key file.
func (e *Emulator) SeedKey(email string, created, validBefore time.Time) (string, []byte, error) {
	priv, err := rsa.GenerateKey(rand.Reader, e.opts.KeyBits)
	if err != nil {
		return "", nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.account(email)
	if validBefore.IsZero() {
		validBefore = NoExpiry
	}
	k := &key{id: e.newID(), priv: priv, algorithm: "KEY_ALG_RSA_2048", validAfter: created.UTC().Truncate(time.Second), validBefore: validBefore.UTC().Truncate(time.Second)}
	a.keys = append(a.keys, k)
	f, err := e.keyFile(a, k)
	return k.id, f, err
}

// Forbid makes key creation on email fail as the organization policy
// iam.disableServiceAccountKeyCreation does.
func (e *Emulator) Forbid(email string) {
	e.mu.Lock()
	e.account(email).noKeys = true
	e.mu.Unlock()
}

// Deny makes every management call on email's keys fail with 403.
func (e *Emulator) Deny(email string) {
	e.mu.Lock()
	e.account(email).denied = true
	e.mu.Unlock()
}

// Disable disables a key, as keys.disable does.
func (e *Emulator) Disable(email, keyID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := e.find(email, keyID); k != nil {
		k.disabled = true
		return true
	}
	return false
}

// Fail makes the next call of op ("list", "get", "create", "disable",
// "enable", "delete", "token", "accounts") answer status with body (a Google
// error body when empty) and header.
func (e *Emulator) Fail(op string, status int, body string, header http.Header) {
	e.Inject(Fault{Op: op, Status: status, Body: body, Header: header})
}

// Fault is an answer injected in place of the emulator's own, for one
// operation: list, get, create, disable, enable, delete, token or accounts.
type Fault struct {
	Op string
	// Status is the HTTP status answered, with Google's error body for it
	// ({"error":{"code","message","status"}}: 429 RESOURCE_EXHAUSTED, 503
	// UNAVAILABLE, other 5xx INTERNAL) unless Body is set. Zero: no answer
	// of its own (Delay or Drop alone).
	Status int
	Body   string
	Header http.Header
	// Delay holds the call back this long of wall-clock time; then it is
	// carried out, even if the client has given up, as a service would.
	Delay time.Duration
	// AfterHandling carries the call out first, then answers with the
	// fault (without a Status: drops the connection): a change whose
	// answer was lost.
	AfterHandling bool
	// Drop closes the connection without an answer.
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

// Key is one key as the control methods report it.
type Key struct {
	ID          string
	Disabled    bool
	Deleted     bool
	ValidAfter  time.Time
	ValidBefore time.Time
}

// Keys lists email's keys, deleted ones included, oldest first.
func (e *Emulator) Keys(email string) []Key {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[strings.ToLower(email)]
	if !ok {
		return nil
	}
	var out []Key
	for _, k := range a.keys {
		out = append(out, Key{ID: k.id, Disabled: k.disabled, Deleted: k.deleted, ValidAfter: k.validAfter, ValidBefore: k.validBefore})
	}
	return out
}

// Accepts reports whether the key file value authenticates clientID now:
// its key exists, is enabled, has propagated, has not expired, and the
// file's private key is that key's.
func (e *Emulator) Accepts(clientID, value string) bool {
	var f struct {
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
		ClientEmail  string `json:"client_email"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(value)), &f) != nil || !strings.EqualFold(f.ClientEmail, clientID) {
		return false
	}
	priv, err := parsePrivate(f.PrivateKey)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.find(clientID, f.PrivateKeyID)
	return k != nil && e.works(k) && k.priv.PublicKey.Equal(&priv.PublicKey)
}

// ValidKeys counts email's keys that authenticate now.
func (e *Emulator) ValidKeys(email string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	if a, ok := e.accounts[strings.ToLower(email)]; ok {
		for _, k := range a.keys {
			if e.works(k) {
				n++
			}
		}
	}
	return n
}

// Revoked counts the keys deleted so far.
func (e *Emulator) Revoked() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.revoked
}

func (e *Emulator) works(k *key) bool {
	now := e.now()
	return !k.deleted && !k.disabled && !now.Before(k.validAfter.Add(e.opts.Propagation)) && now.Before(k.validBefore)
}

func (e *Emulator) find(email, id string) *key {
	a, ok := e.accounts[strings.ToLower(email)]
	if !ok {
		return nil
	}
	for _, k := range a.keys {
		if k.id == id && !k.deleted {
			return k
		}
	}
	return nil
}

func (e *Emulator) newID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *Emulator) keyFile(a *account, k *key) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, err
	}
	e.seq++
	return json.Marshal(map[string]string{
		"type":                        "service_account",
		"project_id":                  a.project,
		"private_key_id":              k.id,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                a.email,
		"client_id":                   fmt.Sprintf("1%020d", len(a.email)*1000+e.seq),
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   e.tokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + url.PathEscape(a.email),
		"universe_domain":             "googleapis.com",
	})
}

func parsePrivate(p string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("not an RSA key")
	}
	return x509.ParsePKCS1PrivateKey(b.Bytes)
}

// ServeHTTP serves IAM v1 keys and the token endpoint.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.opts.Logf != nil {
		e.opts.Logf("gcp %s %s", r.Method, r.URL.Path)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if r.URL.Path == "/token" {
		e.serveToken(w, r)
		return
	}
	e.serveIAM(w, r)
}

// googleError writes Google's error body.
func googleError(w http.ResponseWriter, code int, status, msg string, details ...any) {
	if details == nil {
		details = []any{}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status, "details": details}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// takeFault returns the next injected failure of op, if any.
func (e *Emulator) takeFault(op string) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.faults {
		if e.faults[i].Op == op {
			f := e.faults[i]
			e.faults[i].Times--
			if e.faults[i].Times <= 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
			return f, true
		}
	}
	return Fault{}, false
}

// injected plays the part of op's next fault that comes before the call:
// the delay, a dropped connection or the answer. It reports whether the
// request is answered; after, when not nil, answers once the call was
// carried out into the discarded answer it gives.
func (e *Emulator) injected(w http.ResponseWriter, r *http.Request, op string) (answered bool, w2 http.ResponseWriter, after func()) {
	f, ok := e.takeFault(op)
	if !ok {
		return false, w, nil
	}
	if f.Delay > 0 {
		// A service does not notice a client that gave up: the call is
		// carried out when the delay ends, whether or not anyone waits
		// for its answer.
		time.Sleep(f.Delay)
	}
	if f.AfterHandling {
		return false, &discarded{h: http.Header{}}, func() { answerFault(w, f) }
	}
	if f.Drop {
		// net/http closes the connection without writing anything.
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return false, w, nil
	}
	answerFault(w, f)
	return true, w, nil
}

func answerFault(w http.ResponseWriter, f Fault) {
	if f.Drop || f.Status == 0 {
		panic(http.ErrAbortHandler)
	}
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	if f.Body == "" {
		msg := http.StatusText(f.Status)
		switch f.Status {
		case 429:
			msg = "Quota exceeded for quota metric 'Key requests' and limit 'Key requests per minute' of service 'iam.googleapis.com'."
		case 503:
			msg = "The service is currently unavailable."
		case 500:
			msg = "Internal error encountered."
		}
		googleError(w, f.Status, statusName(f.Status), msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
}

// discarded is an answer nobody receives.
type discarded struct{ h http.Header }

func (d *discarded) Header() http.Header         { return d.h }
func (d *discarded) Write(b []byte) (int, error) { return len(b), nil }
func (d *discarded) WriteHeader(int)             {}

func statusName(code int) string {
	switch {
	case code == 400:
		return "INVALID_ARGUMENT"
	case code == 401:
		return "UNAUTHENTICATED"
	case code == 403:
		return "PERMISSION_DENIED"
	case code == 404:
		return "NOT_FOUND"
	case code == 429:
		return "RESOURCE_EXHAUSTED"
	case code == 503:
		return "UNAVAILABLE"
	case code >= 500:
		return "INTERNAL"
	}
	return "UNKNOWN"
}

// serveIAM routes /v1/projects/{p}/serviceAccounts/{sa}/keys[/{id}[:verb]].
func (e *Emulator) serveIAM(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	parts := strings.Split(rest, "/")
	if ok && len(parts) == 2 && parts[0] != "" && parts[1] == "serviceAccounts" {
		e.listAccounts(w, r, parts[0])
		return
	}
	if !ok || len(parts) < 4 || parts[1] != "serviceAccounts" || parts[3] != "keys" || len(parts) > 5 {
		googleError(w, 404, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	email, id, verb := strings.ToLower(parts[2]), "", ""
	if len(parts) == 5 {
		id, verb, _ = strings.Cut(parts[4], ":")
	}
	var op string
	switch {
	case id == "" && r.Method == http.MethodGet:
		op = "list"
	case id == "" && r.Method == http.MethodPost:
		op = "create"
	case id != "" && verb == "" && r.Method == http.MethodGet:
		op = "get"
	case id != "" && verb == "" && r.Method == http.MethodDelete:
		op = "delete"
	case id != "" && (verb == "disable" || verb == "enable") && r.Method == http.MethodPost:
		op = verb
	default:
		googleError(w, 405, "INVALID_ARGUMENT", "Method not allowed.")
		return
	}
	if !e.authorized(r) {
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	answered, w, after := e.injected(w, r, op)
	if answered {
		return
	}
	if after != nil {
		defer after()
	}
	if r.Method == http.MethodPost {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			googleError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
			return
		}
		if op == "create" {
			if v, _ := body["privateKeyType"].(string); v != "" && v != "TYPE_GOOGLE_CREDENTIALS_FILE" {
				googleError(w, 400, "INVALID_ARGUMENT", "Only TYPE_GOOGLE_CREDENTIALS_FILE keys are emulated.")
				return
			}
		}
	}
	var priv *rsa.PrivateKey
	if op == "create" {
		// Made before taking the lock: RSA key generation is slow.
		var err error
		if priv, err = rsa.GenerateKey(rand.Reader, e.opts.KeyBits); err != nil {
			googleError(w, 500, "INTERNAL", "Internal error.")
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[email]
	if !ok {
		googleError(w, 404, "NOT_FOUND", "Service account projects/"+parts[0]+"/serviceAccounts/"+email+" does not exist.")
		return
	}
	if a.denied {
		googleError(w, 403, "PERMISSION_DENIED", fmt.Sprintf("Permission 'iam.serviceAccountKeys.%s' denied on resource (or it may not exist).", op))
		return
	}
	e.calls[op]++
	switch op {
	case "list":
		if kt := r.URL.Query()["keyTypes"]; len(kt) > 0 && !contains(kt, "USER_MANAGED") && !contains(kt, "KEY_TYPE_UNSPECIFIED") {
			writeJSON(w, map[string]any{})
			return
		}
		var keys []map[string]any
		for _, k := range a.keys {
			if !k.deleted {
				keys = append(keys, e.render(a, k, nil))
			}
		}
		if len(keys) == 0 {
			writeJSON(w, map[string]any{})
			return
		}
		writeJSON(w, map[string]any{"keys": keys})
	case "create":
		if a.noKeys {
			googleError(w, 400, "FAILED_PRECONDITION", "Key creation is not allowed on this service account.", map[string]any{
				"@type":      "type.googleapis.com/google.rpc.PreconditionFailure",
				"violations": []any{map[string]any{"type": KeyCreationPolicy, "subject": "projects/" + a.project + "?configvalue=" + a.email, "description": "Key creation is not allowed on this service account."}},
			})
			return
		}
		n := 0
		for _, k := range a.keys {
			if !k.deleted {
				n++
			}
		}
		if n >= MaxKeys {
			googleError(w, 400, "FAILED_PRECONDITION", "Precondition check failed.")
			return
		}
		now := e.now().Truncate(time.Second)
		k := &key{id: e.newID(), priv: priv, algorithm: "KEY_ALG_RSA_2048", validAfter: now, validBefore: NoExpiry}
		if e.opts.KeyExpiry > 0 {
			k.validBefore = now.Add(e.opts.KeyExpiry)
		}
		file, err := e.keyFile(a, k)
		if err != nil {
			googleError(w, 500, "INTERNAL", "Internal error.")
			return
		}
		a.keys = append(a.keys, k)
		writeJSON(w, e.render(a, k, file))
	default:
		k := e.find(email, id)
		if k == nil {
			googleError(w, 404, "NOT_FOUND", "Service account key "+id+" does not exist.")
			return
		}
		switch op {
		case "get":
			writeJSON(w, e.render(a, k, nil))
		case "disable":
			k.disabled = true
			writeJSON(w, map[string]any{})
		case "enable":
			k.disabled = false
			writeJSON(w, map[string]any{})
		case "delete":
			k.deleted = true
			e.revoked++
			writeJSON(w, map[string]any{})
		}
	}
}

// listAccounts is serviceAccounts.list: the project's accounts in a stable
// order, pageSize (default 20, at most 100) a page, with nextPageToken
// while more remain; a token it did not give is INVALID_ARGUMENT.
func (e *Emulator) listAccounts(w http.ResponseWriter, r *http.Request, project string) {
	if r.Method != http.MethodGet {
		googleError(w, 405, "INVALID_ARGUMENT", "Method not allowed.")
		return
	}
	if !e.authorized(r) {
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	answered, w, after := e.injected(w, r, "accounts")
	if answered {
		return
	}
	if after != nil {
		defer after()
	}
	q := r.URL.Query()
	size := DefaultAccountsPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			googleError(w, 400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32), \""+v+"\"")
			return
		}
		if n > 0 {
			size = min(n, MaxAccountsPageSize)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls["accounts"]++
	var emails []string
	for email, a := range e.accounts {
		if a.project == project {
			emails = append(emails, email)
		}
	}
	sort.Strings(emails)
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		after, ok := strings.CutPrefix(string(raw), "after:")
		if err != nil || !ok {
			googleError(w, 400, "INVALID_ARGUMENT", "Invalid page token.")
			return
		}
		start = sort.SearchStrings(emails, after)
		if start < len(emails) && emails[start] == after {
			start++
		}
	}
	end := min(start+size, len(emails))
	out := map[string]any{}
	var accounts []map[string]any
	for _, email := range emails[start:end] {
		a := e.accounts[email]
		m := map[string]any{
			"name": "projects/" + a.project + "/serviceAccounts/" + a.email, "projectId": a.project, "uniqueId": a.uniqueID,
			"email": a.email, "oauth2ClientId": a.uniqueID, "etag": base64.StdEncoding.EncodeToString([]byte(a.uniqueID)),
		}
		if a.displayName != "" {
			m["displayName"] = a.displayName
		}
		accounts = append(accounts, m)
	}
	if len(accounts) > 0 {
		out["accounts"] = accounts
	}
	if end < len(emails) {
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte("after:" + emails[end-1]))
	}
	writeJSON(w, out)
}

// Calls counts the serviceAccounts.list calls ("accounts") and the keys
// list calls ("list") answered so far.
func (e *Emulator) Calls(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[op]
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		for _, y := range strings.Split(x, ",") {
			if y == s {
				return true
			}
		}
	}
	return false
}

// render is a ServiceAccountKey; file, when given, is its privateKeyData.
func (e *Emulator) render(a *account, k *key, file []byte) map[string]any {
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	origin := k.origin
	if origin == "" {
		origin = "GOOGLE_PROVIDED"
	}
	m := map[string]any{
		"name":            "projects/" + a.project + "/serviceAccounts/" + a.email + "/keys/" + k.id,
		"validAfterTime":  k.validAfter.Format(time.RFC3339),
		"validBeforeTime": k.validBefore.Format(time.RFC3339),
		"keyAlgorithm":    k.algorithm,
		"keyOrigin":       origin,
		"keyType":         "USER_MANAGED",
	}
	if k.disabled {
		m["disabled"] = true
	}
	if file != nil {
		m["privateKeyType"] = "TYPE_GOOGLE_CREDENTIALS_FILE"
		m["privateKeyData"] = base64.StdEncoding.EncodeToString(file)
	} else {
		m["publicKeyData"] = base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	}
	return m
}

// authorized checks the Bearer token of a management call.
func (e *Emulator) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tokens[tok]
	return ok && time.Now().Before(t.expires)
}

func tokenError(w http.ResponseWriter, code int, errCode, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": errCode, "error_description": desc})
}

// serveToken is the jwt-bearer grant: the assertion's issuer is a service
// account, its kid one of that account's keys, and its RS256 signature must
// verify with that key's public half; the key must work now.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, 405, "invalid_request", "POST only.")
		return
	}
	answered, w, after := e.injected(w, r, "token")
	if answered {
		return
	}
	if after != nil {
		defer after()
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, 400, "invalid_request", "The request body could not be read.")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenError(w, 400, "unsupported_grant_type", "Invalid grant_type.")
		return
	}
	var email string
	parsed, err := jwt.Parse(r.PostForm.Get("assertion"), func(t *jwt.Token) (any, error) {
		claims, _ := t.Claims.(jwt.MapClaims)
		iss, _ := claims["iss"].(string)
		kid, _ := t.Header["kid"].(string)
		e.mu.Lock()
		defer e.mu.Unlock()
		email = strings.ToLower(iss)
		a, ok := e.accounts[email]
		if !ok {
			return nil, errors.New("unknown issuer")
		}
		for _, k := range a.keys {
			if (kid == "" || k.id == kid) && e.works(k) {
				return &k.priv.PublicKey, nil
			}
		}
		return nil, errors.New("no such key")
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(time.Minute))
	if err != nil || !parsed.Valid {
		tokenError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	claims, _ := parsed.Claims.(jwt.MapClaims)
	if aud, _ := claims.GetAudience(); len(aud) == 0 {
		tokenError(w, 400, "invalid_grant", "Invalid JWT: aud is required.")
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "ya29.emu-" + hex.EncodeToString(b)
	e.mu.Lock()
	e.tokens[tok] = token{email: email, expires: time.Now().Add(time.Hour)}
	e.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
}

// Emails lists the seeded service accounts.
func (e *Emulator) Emails() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for k := range e.accounts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
