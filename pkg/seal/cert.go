package seal

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
)

// Defaults for LoadOptions.
const (
	// DefaultCertTimeout bounds fetching a certificate over HTTP.
	DefaultCertTimeout = 15 * time.Second
	// DefaultCertMaxBytes caps the size of a certificate file or response.
	DefaultCertMaxBytes = 64 << 10
	// KeyRenewalPeriod is how often the sealed-secrets controller makes a new
	// key by default; a certificate older than this is probably not the
	// newest one.
	KeyRenewalPeriod = 30 * 24 * time.Hour
)

// Sentinel errors a CertError wraps, to be matched with errors.Is.
var (
	ErrCertSource          = errors.New("certificate source is not configured correctly")
	ErrCertFetch           = errors.New("certificate could not be read")
	ErrNotCertificate      = errors.New("not a PEM certificate")
	ErrNotRSA              = errors.New("certificate key is not RSA")
	ErrCertExpired         = errors.New("certificate has expired")
	ErrCertNotYetValid     = errors.New("certificate is not valid yet")
	ErrFingerprintMismatch = errors.New("certificate fingerprint does not match the pin")
)

// CertSource says where an environment's sealing certificate comes from:
// exactly one of File (a PEM file) or URL (the controller's /v1/cert.pem,
// https; plain http only for loopback hosts).
type CertSource struct {
	File string
	URL  string
}

// String names the source for messages, with any credentials or query
// stripped from a URL.
func (s CertSource) String() string {
	if s.URL != "" {
		return scrubURL(s.URL)
	}
	return s.File
}

// LoadOptions tune LoadCertificate. The zero value is ready to use.
type LoadOptions struct {
	// Fingerprint pins the certificate: the SHA-256 of its DER encoding in
	// hex, with or without colons, in any case (as `openssl x509
	// -fingerprint -sha256` prints it). Empty: no pin.
	Fingerprint string
	// HTTPClient fetches URL sources; nil uses a client of its own.
	HTTPClient *http.Client
	// Timeout bounds a URL fetch; 0 means DefaultCertTimeout.
	Timeout time.Duration
	// MaxBytes caps the certificate's size; 0 means DefaultCertMaxBytes.
	MaxBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Certificate is a checked sealing certificate of one environment.
type Certificate struct {
	// Env is the environment the certificate belongs to.
	Env string
	// Source is where it was read from (URLs scrubbed).
	Source string
	// X509 is the parsed certificate.
	X509 *x509.Certificate
	// PublicKey is its RSA key, the one secrets are sealed with.
	PublicKey *rsa.PublicKey
	// Fingerprint is the SHA-256 of the DER in lower-case hex, no colons.
	Fingerprint string
}

// CertError is a certificate problem of one environment: what went wrong
// (Err, one of the sentinels above, possibly wrapping a cause) and how to
// fix it.
type CertError struct {
	Env    string
	Source string
	Err    error
	Detail string
	Fix    string
	// Transient marks failures worth retrying (timeouts, 429, 5xx).
	Transient bool
}

// Error names the environment, the source, the problem and the fix.
func (e *CertError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %q: sealing certificate", e.Env)
	if e.Source != "" {
		fmt.Fprintf(&b, " from %s", e.Source)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// Unwrap returns the sentinel (and its cause).
func (e *CertError) Unwrap() error { return e.Err }

// Temporary reports whether retrying may help.
func (e *CertError) Temporary() bool { return e.Transient }

// LoadCertificate reads, parses and checks the sealing certificate of the
// environment env. Problems that make sealing unsafe are a *CertError;
// problems that merely deserve attention (a certificate older than the
// controller's key renewal period) are returned as warnings.
func LoadCertificate(ctx context.Context, env string, src CertSource, opts LoadOptions) (*Certificate, []string, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultCertMaxBytes
	}
	fail := func(err error, detail, fix string) (*Certificate, []string, error) {
		return nil, nil, &CertError{Env: env, Source: src.String(), Err: err, Detail: detail, Fix: fix}
	}

	var data []byte
	switch {
	case src.File != "" && src.URL != "":
		return fail(ErrCertSource, "both file and url are set", "set exactly one of cert.file and cert.url")
	case src.File != "":
		b, err := readFileCapped(src.File, maxBytes)
		if err != nil {
			return fail(fmt.Errorf("%w: %w", ErrCertFetch, err), "", "check cert.file (relative paths are resolved against the config file's folder)")
		}
		data = b
	case src.URL != "":
		b, err := fetchCert(ctx, src.URL, opts, maxBytes)
		if err != nil {
			var ce *CertError
			if errors.As(err, &ce) {
				ce.Env, ce.Source = env, src.String()
				return nil, nil, ce
			}
			return nil, nil, err
		}
		data = b
	default:
		return fail(ErrCertSource, "neither file nor url is set", "set cert.file to the controller's certificate (kubeseal --fetch-cert) or cert.url to its /v1/cert.pem")
	}

	cert, err := parseNewest(data)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotCertificate, err), "", "point cert at the controller's public certificate (kubeseal --fetch-cert > cert.pem), not a key or another file")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail(ErrNotRSA, fmt.Sprintf("found a %s key", cert.PublicKeyAlgorithm), "sealed-secrets controllers use RSA keys: use the controller's certificate, not another one")
	}
	t := now()
	if t.After(cert.NotAfter) {
		return fail(ErrCertExpired, "not after "+cert.NotAfter.UTC().Format(time.RFC3339), "fetch the controller's current certificate (kubeseal --fetch-cert) and update cert")
	}
	if t.Before(cert.NotBefore) {
		return fail(ErrCertNotYetValid, "not before "+cert.NotBefore.UTC().Format(time.RFC3339), "check this machine's clock, or use the controller's current certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	fp := hex.EncodeToString(sum[:])
	if opts.Fingerprint != "" {
		want, err := ParseFingerprint(opts.Fingerprint)
		if err != nil {
			return fail(ErrCertSource, err.Error(), "set certFingerprint to the output of `openssl x509 -noout -fingerprint -sha256 -in cert.pem`")
		}
		if want != fp {
			return fail(ErrFingerprintMismatch, fmt.Sprintf("pinned %s, got %s", colonHex(want), colonHex(fp)),
				"if the controller renewed its key, check the new certificate and update certFingerprint; otherwise the source is not the controller you expect")
		}
	}

	var warnings []string
	if age := t.Sub(cert.NotBefore); age > KeyRenewalPeriod {
		warnings = append(warnings, fmt.Sprintf(
			"environment %q: sealing certificate from %s was issued %d days ago (%s), longer ago than the controller's %d-day key renewal: a newer certificate probably exists; fetch it (kubeseal --fetch-cert) to seal with the newest key",
			env, src.String(), int(age.Hours()/24), cert.NotBefore.UTC().Format(time.RFC3339), int(KeyRenewalPeriod.Hours()/24)))
	}
	return &Certificate{Env: env, Source: src.String(), X509: cert, PublicKey: pub, Fingerprint: fp}, warnings, nil
}

// ParseFingerprint normalises a pinned fingerprint to lower-case hex without
// colons and checks that it is a SHA-256.
func ParseFingerprint(s string) (string, error) {
	n := normalizeFingerprint(s)
	if b, err := hex.DecodeString(n); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("certificate fingerprint %q is not a SHA-256 in hex (64 hex digits, colons allowed)", s)
	}
	return n, nil
}

func normalizeFingerprint(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	s = strings.TrimPrefix(s, "sha256:")
	s = strings.TrimPrefix(s, "sha256 fingerprint=")
	return strings.NewReplacer(":", "", " ", "").Replace(s)
}

func colonHex(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(h[i:min(i+2, len(h))]))
	}
	return b.String()
}

// parseNewest returns the certificate with the latest NotBefore among the
// CERTIFICATE blocks of data.
func parseNewest(data []byte) (*x509.Certificate, error) {
	var newest *x509.Certificate
	found := false
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		found = true
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		if newest == nil || c.NotBefore.After(newest.NotBefore) {
			newest = c
		}
	}
	if !found {
		return nil, errors.New("no CERTIFICATE block found")
	}
	return newest, nil
}

func readFileCapped(name string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, maxBytes)
}

func readCapped(r io.Reader, maxBytes int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxBytes)
	}
	return b, nil
}

func fetchCert(ctx context.Context, raw string, opts LoadOptions, maxBytes int64) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, &CertError{Err: ErrCertSource, Detail: "not a valid URL", Fix: "set cert.url to the controller's https://HOST/v1/cert.pem"}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, &CertError{Err: ErrCertSource, Detail: "plain http is allowed only for loopback hosts", Fix: "use https, so the certificate cannot be swapped on the way"}
	default:
		return nil, &CertError{Err: ErrCertSource, Detail: fmt.Sprintf("unsupported URL scheme %q", u.Scheme), Fix: "use an https URL"}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultCertTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A redirect is followed only within the configured origin and never
	// from https to http: whoever answers on a downgraded hop could hand
	// over a certificate of their own and read every secret sealed with it.
	client := redirect.Client(opts.HTTPClient)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, &CertError{Err: ErrCertSource, Detail: "not a valid URL", Fix: "set cert.url to the controller's https://HOST/v1/cert.pem"}
	}
	req.Header.Set("Accept", "application/x-pem-file, */*")
	resp, err := client.Do(req)
	if err != nil {
		// The url.Error would repeat the unscrubbed URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, redirect.ErrRefused) {
			return nil, &CertError{Err: fmt.Errorf("%w: %w", ErrCertFetch, err),
				Fix: "set cert.url to the address that serves the certificate itself, over https (credrotate follows no redirect to another origin or from https to http), or use cert.file"}
		}
		return nil, &CertError{Err: fmt.Errorf("%w: %w", ErrCertFetch, err), Transient: true,
			Fix: "check that the controller's /v1/cert.pem is reachable from here, or use cert.file"}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBytes))
		transient := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return nil, &CertError{Err: ErrCertFetch, Detail: "HTTP " + resp.Status, Transient: transient,
			Fix: "check that cert.url points at the controller's /v1/cert.pem"}
	}
	b, err := readCapped(resp.Body, maxBytes)
	if err != nil {
		return nil, &CertError{Err: fmt.Errorf("%w: %w", ErrCertFetch, err), Transient: ctx.Err() != nil,
			Fix: "check that cert.url points at the controller's /v1/cert.pem"}
	}
	return b, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scrubURL drops user info, query and fragment, which may carry tokens.
func scrubURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}
