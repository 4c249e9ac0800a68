// Package gcpkey rotates Google Cloud service account keys with the official
// IAM v1 client (google.golang.org/api/iam/v1). A provider key's client id is
// a service account's email; each of its user-managed keys is one secret,
// and the secret deployed is the key file (the JSON that keys.create returns
// base64-encoded in privateKeyData).
//
// The management identity is a credentials file (Options.CredentialsFile) or
// Application Default Credentials (workload identity on GKE, the metadata
// server elsewhere on Google Cloud). A key is proven by a signed-JWT token
// exchange with the key file itself (golang.org/x/oauth2/google), and
// revoked in two steps: disabled, then deleted.
package gcpkey

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Name is the provider's name in messages and configuration.
const Name = "gcpkey"

// Defaults and limits of the service.
const (
	// DefaultEndpoint is IAM's public endpoint.
	DefaultEndpoint = "https://iam.googleapis.com/"
	// DefaultTokenURL is Google's OAuth 2.0 token endpoint.
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
	// DefaultMaxKeyAge is how old a key without an expiry may get.
	DefaultMaxKeyAge = 90 * 24 * time.Hour
	// MaxKeys is how many keys a service account may hold, disabled ones
	// included.
	MaxKeys = 10
	// Scope is requested for management calls and key proofs.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
	// MaxBody caps every answer read.
	MaxBody = 1 << 20
	// Propagation is how long a new key may take to work.
	Propagation = 60 * time.Second
	// DefaultListConcurrency is how many service accounts' keys List
	// reads at once.
	DefaultListConcurrency = 8
)

// KeyCreationPolicy is the organization policy constraint that forbids
// creating service account keys.
const KeyCreationPolicy = "iam.disableServiceAccountKeyCreation"

// farFuture is where Google puts the validBeforeTime of a key that never
// expires (9999-12-31T23:59:59Z); anything past this year means no expiry.
const farFutureYear = 9000

// Options configure a Provider.
type Options struct {
	// Endpoint is IAM's base URL; default DefaultEndpoint.
	Endpoint string
	// TokenURL, when set, is where a key is proven, instead of the key
	// file's token_uri.
	TokenURL string
	// CredentialsFile is the management identity's credentials (a service
	// account key file or any file Application Default Credentials read);
	// empty: Application Default Credentials.
	CredentialsFile string
	// TokenSource, when set, authenticates the management calls instead of
	// CredentialsFile or Application Default Credentials.
	TokenSource oauth2.TokenSource
	// MaxKeyAge is when a key without an expiry is treated as expiring,
	// after its creation; default DefaultMaxKeyAge.
	MaxKeyAge time.Duration
	// KeyAlgorithm is what keys.create asks for; default KEY_ALG_RSA_2048.
	KeyAlgorithm string
	// HTTPClient sends the requests; nil means a default client. Its
	// transport is wrapped, not changed.
	HTTPClient *http.Client
	// Timeout bounds each call; default 30s.
	Timeout time.Duration
	// Project is the project whose service accounts List lists (its id);
	// empty: List is refused.
	Project string
	// ListConcurrency is how many service accounts' keys List reads at
	// once; default DefaultListConcurrency.
	ListConcurrency int
	// SecretSeen is given every key file read or minted, before anything
	// else is done with it (the redactor learns it there).
	SecretSeen func(credential.Secret)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Provider is Google Cloud IAM's service account keys behind the provider
// contract.
type Provider struct {
	svc  *iam.Service
	opts Options
	// hc sends the key proofs: bounded, redirect-refusing, no management
	// credentials.
	hc *http.Client
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Lister   = (*Provider)(nil)
)

// New builds a Provider. With no TokenSource it reads CredentialsFile or
// finds Application Default Credentials.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	if !strings.HasSuffix(opts.Endpoint, "/") {
		opts.Endpoint += "/"
	}
	if opts.MaxKeyAge <= 0 {
		opts.MaxKeyAge = DefaultMaxKeyAge
	}
	if opts.KeyAlgorithm == "" {
		opts.KeyAlgorithm = "KEY_ALG_RSA_2048"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ListConcurrency <= 0 {
		opts.ListConcurrency = DefaultListConcurrency
	}
	if opts.SecretSeen == nil {
		opts.SecretSeen = func(credential.Secret) {}
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	plain := redirect.Client(&http.Client{Transport: boundedTransport{rt}, Timeout: base.Timeout, Jar: base.Jar, CheckRedirect: base.CheckRedirect})

	ts := opts.TokenSource
	if ts == nil {
		tctx := context.WithValue(ctx, oauth2.HTTPClient, plain)
		var creds *google.Credentials
		var err error
		if opts.CredentialsFile != "" {
			data, rerr := os.ReadFile(opts.CredentialsFile)
			if rerr != nil {
				return nil, fmt.Errorf("gcp.credentialsFile: %w", rerr)
			}
			creds, err = credentialsFromFile(tctx, data)
			if err != nil {
				return nil, fmt.Errorf("gcp.credentialsFile %s: %v", opts.CredentialsFile, err)
			}
		} else {
			creds, err = google.FindDefaultCredentials(tctx, Scope)
			if err != nil {
				return nil, fmt.Errorf("gcp: no Application Default Credentials (set gcp.credentialsFile, GOOGLE_APPLICATION_CREDENTIALS or use workload identity): %v", err)
			}
		}
		ts = creds.TokenSource
	}
	mgmt := redirect.Client(&http.Client{Transport: &oauth2.Transport{Source: ts, Base: plain.Transport}, Timeout: base.Timeout})
	svc, err := iam.NewService(ctx, option.WithEndpoint(opts.Endpoint), option.WithHTTPClient(mgmt))
	if err != nil {
		return nil, fmt.Errorf("gcp: %w", err)
	}
	return &Provider{svc: svc, opts: opts, hc: plain}, nil
}

// credentialsFromFile reads a management credentials file of a type that
// Application Default Credentials accept: a service account key, an
// authorized user, or an external account (workload identity federation).
func credentialsFromFile(ctx context.Context, data []byte) (*google.Credentials, error) {
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, errors.New("is not a JSON credentials file")
	}
	t := google.CredentialsType(f.Type)
	switch t {
	case google.ServiceAccount, google.AuthorizedUser, google.ExternalAccount, google.ImpersonatedServiceAccount:
	default:
		return nil, fmt.Errorf("has type %q; use a service account key, authorized user or external account file", f.Type)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, t, Scope)
	if err != nil {
		return nil, errors.New("could not be read as " + f.Type + " credentials")
	}
	return creds, nil
}

// Name is "gcpkey".
func (p *Provider) Name() string { return Name }

// Rules describe Google Cloud service account keys.
func (p *Provider) Rules() provider.Rules {
	return provider.Rules{
		MaxValid:        MaxKeys,
		SetsExpiry:      false,
		ReportsExpiry:   true,
		RetiresOnCreate: false,
		Replays:         false,
		Revocation:      provider.RevokeDeactivateThenDelete,
		Propagation:     Propagation,
	}
}

// accountName is the resource name of the service account c names.
func accountName(clientID string) (string, error) {
	if strings.HasPrefix(clientID, "projects/") {
		return clientID, nil
	}
	if clientID == "" || strings.ContainsAny(clientID, "/?#% ") {
		return "", fmt.Errorf("%q is not a service account email", clientID)
	}
	return "projects/-/serviceAccounts/" + clientID, nil
}

// keyName is the resource name of key id of the account.
func keyName(account, id string) string { return account + "/keys/" + id }

// keyID is the last segment of a key's resource name.
func keyID(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Describe lists the service account's user-managed keys. The key the
// deployed key file names (c.ClientSecret's private_key_id) is never
// foreign.
func (p *Provider) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	keys, err := p.list(ctx, "describe", c.ClientID)
	if err != nil {
		return provider.ClientInfo{}, err
	}
	deployed := ""
	if !c.ClientSecret.IsZero() {
		if f, err := parseKeyFile([]byte(c.ClientSecret.Reveal())); err == nil {
			deployed = f.PrivateKeyID
		}
	}
	info := p.info(c.ClientID, keys, deployed)
	info.CallerSecretID = deployed
	return info, nil
}

func (p *Provider) list(ctx context.Context, op, clientID string) ([]*iam.ServiceAccountKey, error) {
	account, err := accountName(clientID)
	if err != nil {
		return nil, &provider.Error{Provider: Name, Op: op, Kind: provider.ErrBadRequest, Description: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	resp, err := p.svc.Projects.ServiceAccounts.Keys.List(account).KeyTypes("USER_MANAGED").Context(ctx).Do()
	if err != nil {
		return nil, p.wrap(op, err)
	}
	return resp.Keys, nil
}

// info maps keys onto the contract: a disabled key is INACTIVE, one past a
// real expiry EXPIRED, the newest working key of credrotate's ACTIVE (the
// newest foreign one when credrotate has none) and the other working ones
// RETIRING. A key is foreign when ForeignKey says so, unless it is the
// deployed one.
func (p *Provider) info(clientID string, keys []*iam.ServiceAccountKey, deployed string) provider.ClientInfo {
	now := p.opts.Now()
	out := provider.ClientInfo{ClientID: clientID, Policy: provider.Policy{MaxSecrets: MaxKeys, SecretLifetimeSeconds: int64(p.opts.MaxKeyAge / time.Second)}}
	for _, k := range keys {
		if k == nil {
			continue
		}
		created, _ := time.Parse(time.RFC3339Nano, k.ValidAfterTime)
		before, berr := time.Parse(time.RFC3339Nano, k.ValidBeforeTime)
		noExpiry := berr != nil || before.Year() >= farFutureYear
		s := provider.SecretInfo{SecretID: keyID(k.Name), CreatedAt: created.UTC(), Status: provider.StatusRetiring}
		s.Foreign = ForeignKey(k) && (deployed == "" || s.SecretID != deployed)
		if noExpiry {
			s.ExpiresAt = s.CreatedAt.Add(p.opts.MaxKeyAge)
		} else {
			s.ExpiresAt = before.UTC()
		}
		switch {
		case k.Disabled:
			s.Status = provider.StatusInactive
		case !noExpiry && !now.Before(before):
			s.Status = provider.StatusExpired
		}
		out.Secrets = append(out.Secrets, s)
	}
	sort.SliceStable(out.Secrets, func(i, j int) bool { return out.Secrets[i].CreatedAt.Before(out.Secrets[j].CreatedAt) })
	for _, foreign := range []bool{false, true} {
		for i := len(out.Secrets) - 1; i >= 0; i-- {
			if out.Secrets[i].Status == provider.StatusRetiring && out.Secrets[i].Foreign == foreign {
				out.Secrets[i].Status = provider.StatusActive
				return out
			}
		}
	}
	return out
}

// ForeignKey reports whether credrotate cannot have made k: its public
// half was uploaded (keyOrigin USER_PROVIDED, keys.upload), while
// credrotate only ever has Google generate a key (keys.create, keyOrigin
// GOOGLE_PROVIDED). IAM v1 gives a key no name, label or description, so
// nothing else tells one workload's generated key from another's: a
// Google-generated key is taken for credrotate's (see docs/providers/gcpkey.md).
func ForeignKey(k *iam.ServiceAccountKey) bool {
	return k != nil && k.KeyOrigin == "USER_PROVIDED"
}

// keyFile is the part of a service account key file credrotate reads.
type keyFile struct {
	Type         string `json:"type"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

func parseKeyFile(b []byte) (keyFile, error) {
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return f, errors.New("the key file is not JSON")
	}
	if f.Type != "service_account" || f.PrivateKeyID == "" || f.PrivateKey == "" || f.ClientEmail == "" {
		return f, errors.New("the key file is not a service account key file (type, private_key_id, private_key and client_email are required)")
	}
	return f, nil
}

// Create mints a new key. Google keeps no idempotency key and gives a key's
// private half once: a create whose answer was lost leaves a key nobody
// holds, which the rotation finds as an orphan and revokes.
func (p *Provider) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	keys, err := p.list(ctx, "create", c.ClientID)
	if err != nil {
		return provider.Created{}, err
	}
	if len(keys) >= MaxKeys {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrTooManySecrets,
			Description: fmt.Sprintf("the service account holds %d keys (disabled ones count) and Google allows %d; delete one it no longer needs", len(keys), MaxKeys)}
	}
	account, _ := accountName(c.ClientID)
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	k, err := p.svc.Projects.ServiceAccounts.Keys.Create(account, &iam.CreateServiceAccountKeyRequest{
		PrivateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE",
		KeyAlgorithm:   p.opts.KeyAlgorithm,
	}).Context(cctx).Do()
	if err != nil {
		return provider.Created{}, p.wrap("create", err)
	}
	raw, err := base64.StdEncoding.DecodeString(k.PrivateKeyData)
	if err != nil {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrMalformedResponse, Description: "privateKeyData is not base64; key " + keyID(k.Name) + " was created and must be deleted"}
	}
	secret := credential.NewSecret(string(bytes.TrimSpace(raw)))
	p.opts.SecretSeen(secret)
	f, err := parseKeyFile(raw)
	if err != nil {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrMalformedResponse, Description: err.Error() + "; key " + keyID(k.Name) + " was created and must be deleted"}
	}
	if f.PrivateKeyID != keyID(k.Name) {
		return provider.Created{}, &provider.Error{Provider: Name, Op: "create", Kind: provider.ErrMalformedResponse, Description: "the key file names another key than " + keyID(k.Name)}
	}
	info := p.info(c.ClientID, []*iam.ServiceAccountKey{k}, "")
	s := info.Secrets[0]
	s.Status = provider.StatusActive
	return provider.Created{ClientID: c.ClientID, Secret: s, ClientSecret: secret}, nil
}

// Verify proves a key file: a JWT signed with its private key is exchanged
// for an access token (the jwt-bearer grant).
func (p *Provider) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	raw := []byte(secret.Reveal())
	f, err := parseKeyFile(raw)
	if err != nil {
		return &provider.Error{Provider: Name, Op: "verify", Kind: provider.ErrUnauthorized, Description: err.Error()}
	}
	if c.ClientID != "" && !strings.HasPrefix(c.ClientID, "projects/") && !strings.EqualFold(f.ClientEmail, c.ClientID) {
		return &provider.Error{Provider: Name, Op: "verify", Kind: provider.ErrUnauthorized, Description: "the key file belongs to another service account"}
	}
	cfg, err := google.JWTConfigFromJSON(raw, Scope)
	if err == nil && !privateKeyReadable(f.PrivateKey) {
		err = errors.New("unreadable private key")
	}
	if err != nil {
		return &provider.Error{Provider: Name, Op: "verify", Kind: provider.ErrUnauthorized, Description: "the key file's private key could not be read"}
	}
	if p.opts.TokenURL != "" {
		cfg.TokenURL = p.opts.TokenURL
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.hc)
	tok, err := cfg.TokenSource(ctx).Token()
	if err != nil {
		return tokenError("verify", err)
	}
	if tok.AccessToken == "" {
		return &provider.Error{Provider: Name, Op: "verify", Kind: provider.ErrMalformedResponse, Description: "the token endpoint gave no access token"}
	}
	return nil
}

// tokenError maps a token exchange failure; the endpoint's body is never
// quoted (oauth2's RetrieveError.Error does quote it).
func tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" {
			// golang.org/x/oauth2/jwt leaves the body unparsed.
			var b struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &b) == nil {
				code, desc = b.Error, b.Description
			}
		}
		e := &provider.Error{Provider: Name, Op: op, Code: clip(code), Description: clip(desc)}
		if re.Response != nil {
			e.HTTPStatus = re.Response.StatusCode
			e.RetryAfter = retryAfter(re.Response.Header)
		}
		switch {
		case code == "invalid_grant", code == "invalid_client", code == "unauthorized_client", e.HTTPStatus == 401:
			e.Kind = provider.ErrUnauthorized
		case e.HTTPStatus == 0:
			e.Kind = provider.ErrMalformedResponse
		default:
			e.Kind = provider.KindForStatus(e.HTTPStatus)
		}
		return e
	}
	return transportError(op, err)
}

// privateKeyReadable reports whether a key file's private key parses as
// the PKCS#8 or PKCS#1 RSA key Google issues.
func privateKeyReadable(p string) bool {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return false
	}
	if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return true
	}
	_, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	return err == nil
}

// Revoke disables the key, then deletes it; a disabled key is deleted
// straight away, so a revoke killed between the steps resumes. The last
// working key is never revoked.
func (p *Provider) Revoke(ctx context.Context, c provider.Client, secretID string) error {
	keys, err := p.list(ctx, "revoke", c.ClientID)
	if err != nil {
		return err
	}
	info := p.info(c.ClientID, keys, "")
	target, ok := info.Find(secretID)
	if !ok {
		return nil
	}
	if target.Status.Valid() && info.ValidCount() <= 1 {
		return &provider.Error{Provider: Name, Op: "revoke", Kind: provider.ErrLastSecret, Description: "key " + secretID + " is the service account's only working key"}
	}
	account, _ := accountName(c.ClientID)
	name := keyName(account, secretID)
	if target.Status != provider.StatusInactive {
		dctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		_, err := p.svc.Projects.ServiceAccounts.Keys.Disable(name, &iam.DisableServiceAccountKeyRequest{}).Context(dctx).Do()
		cancel()
		if err != nil && !errors.Is(p.wrap("revoke", err), provider.ErrNotFound) {
			return p.wrap("revoke", err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	if _, err := p.svc.Projects.ServiceAccounts.Keys.Delete(name).Context(dctx).Do(); err != nil {
		if werr := p.wrap("revoke", err); !errors.Is(werr, provider.ErrNotFound) {
			return werr
		}
	}
	return nil
}

// wrap maps a client error onto the contract.
func (p *Provider) wrap(op string, err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return transportError(op, err)
	}
	e := &provider.Error{Provider: Name, Op: op, HTTPStatus: ge.Code, Description: clip(ge.Message), Kind: provider.KindForStatus(ge.Code)}
	if ge.Header != nil {
		e.RetryAfter = retryAfter(ge.Header)
		e.RequestID = clip(ge.Header.Get("X-Request-Id"))
	}
	status, violations := details(ge.Body)
	e.Code = clip(status)
	switch {
	case status == "FAILED_PRECONDITION" && op == "create" && mentionsPolicy(ge.Message, violations):
		e.Kind = provider.ErrForbidden
		e.Description = "the organization policy " + KeyCreationPolicy + " forbids creating keys for this service account; ask for an exception on its project, or use workload identity instead of keys"
	case status == "FAILED_PRECONDITION" && op == "create":
		e.Kind = provider.ErrTooManySecrets
		e.Description = fmt.Sprintf("Google refused a new key (%s); a service account may hold %d keys, disabled ones included", clip(ge.Message), MaxKeys)
	case status == "RESOURCE_EXHAUSTED" && ge.Code == 429:
		e.Kind = provider.ErrRateLimited
	case status == "UNAUTHENTICATED" || ge.Code == 401:
		e.Kind = provider.ErrUnauthorized
	case ge.Code == 0:
		e.Kind = provider.ErrMalformedResponse
	}
	return e
}

func mentionsPolicy(msg string, violations []string) bool {
	for _, v := range append(violations, msg) {
		if strings.Contains(v, KeyCreationPolicy) || strings.Contains(strings.ToLower(v), "key creation is not allowed") {
			return true
		}
	}
	return false
}

// details reads the status and the precondition violations' types from a
// Google error body.
func details(body string) (status string, violations []string) {
	var b struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				Violations []struct {
					Type        string `json:"type"`
					Description string `json:"description"`
				} `json:"violations"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &b) != nil {
		return "", nil
	}
	for _, d := range b.Error.Details {
		for _, v := range d.Violations {
			violations = append(violations, v.Type, v.Description)
		}
	}
	return b.Error.Status, violations
}

// transportError maps a failure without an answer, or an answer that could
// not be decoded.
func transportError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// The management identity's own token was refused.
		return tokenError(op, re)
	}
	e := &provider.Error{Provider: Name, Op: op, Kind: provider.ErrTransient}
	var ne net.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ue *url.Error
	switch {
	case errors.Is(err, redirect.ErrRefused):
		e.Kind, e.Err = provider.ErrBadRequest, err
	case errors.Is(err, errTooLarge):
		e.Kind, e.Description = provider.ErrMalformedResponse, errTooLarge.Error()
	case errors.As(err, &se), errors.As(err, &te), errors.Is(err, io.ErrUnexpectedEOF):
		e.Kind, e.Description = provider.ErrMalformedResponse, "the answer is not the expected JSON"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Description = "timed out"
	case errors.Is(err, context.Canceled):
		e.Description = "canceled"
		e.Err = context.Canceled
	case errors.As(err, &ue):
		e.Description = "no answer: " + clip(ue.Err.Error())
	default:
		// Unknown failures are named by type only: their text is not ours
		// to vouch for.
		e.Kind, e.Description = provider.ErrMalformedResponse, fmt.Sprintf("unexpected failure (%T)", err)
	}
	return e
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// clip keeps what a service says short and on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// errTooLarge ends reading an answer longer than MaxBody.
var errTooLarge = fmt.Errorf("the answer is longer than %d bytes", MaxBody)

// boundedTransport caps every answer's body at MaxBody.
type boundedTransport struct{ next http.RoundTripper }

func (t boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = &boundedBody{rc: res.Body, left: MaxBody}
	return res, nil
}

type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly MaxBody from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
