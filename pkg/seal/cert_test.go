package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadCertificateFile(t *testing.T) {
	good := rsaCertPEM(t, "prod", 3)
	block, _ := pem.Decode(good)
	sum := sha256.Sum256(block.Bytes)
	fp := hex.EncodeToString(sum[:])
	colonUpper := strings.ToUpper(colonHex(fp))

	for _, tc := range []struct {
		name string
		pin  string
	}{
		{"no pin", ""},
		{"lower hex pin", fp},
		{"openssl style pin", colonUpper},
		{"openssl output line", "sha256 Fingerprint=" + colonUpper},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "cert.pem", good)
			c, warnings, err := LoadCertificate(t.Context(), "prod", CertSource{File: p}, LoadOptions{Now: clock, Fingerprint: tc.pin})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			if c.Fingerprint != fp || c.Env != "prod" || c.PublicKey.N.Cmp(testKey(t, "prod").N) != 0 {
				t.Errorf("certificate = %+v", c)
			}
		})
	}
}

func TestLoadCertificateNewestOfSeveral(t *testing.T) {
	old := rsaCertPEM(t, "staging", 40)
	newer := rsaCertPEM(t, "uat", 2)
	key := privKeyPEM(t, "prod")
	for name, bundle := range map[string][][]byte{
		"old first":          {old, newer},
		"newest first":       {newer, old},
		"with a key between": {old, key, newer},
	} {
		t.Run(name, func(t *testing.T) {
			var data []byte
			for _, b := range bundle {
				data = append(data, b...)
			}
			c, warnings, err := LoadCertificate(t.Context(), "uat", CertSource{File: writeTemp(t, "bundle.pem", data)}, LoadOptions{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			if c.PublicKey.N.Cmp(testKey(t, "uat").N) != 0 {
				t.Error("did not pick the newest certificate")
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q", warnings)
			}
		})
	}
}

func TestLoadCertificateOldIsWarning(t *testing.T) {
	p := writeTemp(t, "cert.pem", rsaCertPEM(t, "prod", 45))
	c, warnings, err := LoadCertificate(t.Context(), "prod", CertSource{File: p}, LoadOptions{Now: clock})
	if err != nil || c == nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `environment "prod"`) || !strings.Contains(warnings[0], "45 days ago") ||
		!strings.Contains(warnings[0], "30-day key renewal") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	k := testKey(t, "prod")
	expired := pemCert(makeCertDER(t, k, &k.PublicKey, testNow.Add(-400*24*time.Hour), testNow.Add(-24*time.Hour)))
	future := pemCert(makeCertDER(t, k, &k.PublicKey, testNow.Add(24*time.Hour), testNow.Add(400*24*time.Hour)))
	good := rsaCertPEM(t, "prod", 1)
	other := strings.Repeat("ab", 32)

	for _, tc := range []struct {
		name    string
		src     func(t *testing.T) CertSource
		pin     string
		max     int64
		wantErr error
		want    []string
	}{
		{"neither source", func(*testing.T) CertSource { return CertSource{} }, "", 0, ErrCertSource,
			[]string{`environment "prod"`, "neither file nor url", "kubeseal --fetch-cert"}},
		{"both sources", func(*testing.T) CertSource { return CertSource{File: "a.pem", URL: "https://x/v1/cert.pem"} }, "", 0, ErrCertSource,
			[]string{"both file and url", "exactly one"}},
		{"missing file", func(*testing.T) CertSource { return CertSource{File: "/nonexistent/cert.pem"} }, "", 0, ErrCertFetch,
			[]string{"/nonexistent/cert.pem", "no such file", "check cert.file"}},
		{"not PEM", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", []byte("hello"))} }, "", 0, ErrNotCertificate,
			[]string{`environment "prod"`, "not a PEM certificate", "no CERTIFICATE block", "controller's public certificate"}},
		{"a private key", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", privKeyPEM(t, "prod"))} }, "", 0, ErrNotCertificate,
			[]string{"no CERTIFICATE block"}},
		{"corrupt certificate", func(t *testing.T) CertSource {
			return CertSource{File: writeTemp(t, "c.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))}
		}, "", 0, ErrNotCertificate, []string{"parsing certificate"}},
		{"not RSA", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", ecCertPEM(t))} }, "", 0, ErrNotRSA,
			[]string{`environment "prod"`, "not RSA", "ECDSA", "use the controller's certificate"}},
		{"expired", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", expired)} }, "", 0, ErrCertExpired,
			[]string{`environment "prod"`, "expired", "not after 2026-11-19T12:00:00Z", "fetch the controller's current certificate"}},
		{"not yet valid", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", future)} }, "", 0, ErrCertNotYetValid,
			[]string{"not valid yet", "not before 2026-11-21T12:00:00Z", "clock"}},
		{"fingerprint mismatch", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", good)} }, other, 0, ErrFingerprintMismatch,
			[]string{`environment "prod"`, "does not match the pin", "pinned AB:AB:", "update certFingerprint"}},
		{"pin is not a fingerprint", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", good)} }, "abc", 0, ErrCertSource,
			[]string{"not a SHA-256", "openssl x509 -noout -fingerprint -sha256"}},
		{"too large", func(t *testing.T) CertSource { return CertSource{File: writeTemp(t, "c.pem", good)} }, "", 100, ErrCertFetch,
			[]string{"larger than 100 bytes"}},
		{"plain http to a remote host", func(*testing.T) CertSource { return CertSource{URL: "http://sealed.example.com/v1/cert.pem"} }, "", 0, ErrCertSource,
			[]string{"only for loopback", "use https"}},
		{"ftp URL", func(*testing.T) CertSource { return CertSource{URL: "ftp://sealed.example.com/v1/cert.pem"} }, "", 0, ErrCertSource,
			[]string{`unsupported URL scheme "ftp"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := LoadCertificate(t.Context(), "prod", tc.src(t), LoadOptions{Now: clock, Fingerprint: tc.pin, MaxBytes: tc.max})
			if err == nil {
				t.Fatalf("got certificate %v, want error", c.Source)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			var ce *CertError
			if !errors.As(err, &ce) || ce.Env != "prod" {
				t.Errorf("error %T does not name the environment", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadCertificateURL(t *testing.T) {
	good := rsaCertPEM(t, "staging", 1)
	// mode is set by each case and read by the handler, which may still
	// be answering a case the client gave up on.
	var mode atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/cert.pem" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		switch mode.Load() {
		case "ok":
			_, _ = w.Write(good)
		case "429":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "malformed":
			_, _ = w.Write([]byte("<html>login</html>"))
		case "huge":
			_, _ = w.Write([]byte(strings.Repeat("A", DefaultCertMaxBytes+10)))
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			// Never answer: returning would send an empty 200 to a request
			// still waiting (a retry on the same connection).
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		mode      string
		path      string
		wantErr   error
		transient bool
		want      string
	}{
		{"ok", "/v1/cert.pem", nil, false, ""},
		{"ok", "/wrong", ErrCertFetch, false, "404"},
		{"429", "/v1/cert.pem", ErrCertFetch, true, "429"},
		{"500", "/v1/cert.pem", ErrCertFetch, true, "500"},
		{"malformed", "/v1/cert.pem", ErrNotCertificate, false, "no CERTIFICATE block"},
		{"huge", "/v1/cert.pem", ErrCertFetch, false, "larger than 65536 bytes"},
		{"slow", "/v1/cert.pem", ErrCertFetch, true, "deadline exceeded"},
	} {
		t.Run(tc.mode+tc.path, func(t *testing.T) {
			mode.Store(tc.mode)
			// Only the slow case waits for the timeout; the others get a
			// generous one, as a busy machine may be slow to shake hands.
			timeout := time.Minute
			if tc.mode == "slow" {
				timeout = 200 * time.Millisecond
			}
			// User info and query must never reach a message.
			u := strings.Replace(srv.URL, "https://", "https://user:s3cr3t@", 1) + tc.path + "?token=s3cr3t"
			c, _, err := LoadCertificate(t.Context(), "staging", CertSource{URL: u},
				LoadOptions{Now: clock, HTTPClient: srv.Client(), Timeout: timeout})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.PublicKey.N.Cmp(testKey(t, "staging").N) != 0 || strings.Contains(c.Source, "s3cr3t") {
					t.Errorf("certificate = %+v", c)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v is not %v", err, tc.wantErr)
			}
			var ce *CertError
			if !errors.As(err, &ce) || ce.Temporary() != tc.transient || ce.Env != "staging" {
				t.Errorf("error %#v: want transient=%v for env staging", err, tc.transient)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `environment "staging"`) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q leaks URL credentials", err)
			}
		})
	}
}

func TestLoadCertificateLoopbackHTTP(t *testing.T) {
	good := rsaCertPEM(t, "uat", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(good) }))
	t.Cleanup(srv.Close)
	c, _, err := LoadCertificate(t.Context(), "uat", CertSource{URL: srv.URL + "/v1/cert.pem"}, LoadOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicKey.N.Cmp(testKey(t, "uat").N) != 0 {
		t.Error("wrong key")
	}
}

func TestParseFingerprint(t *testing.T) {
	fp := strings.Repeat("0a", 32)
	for in, ok := range map[string]bool{
		fp:                       true,
		colonHex(fp):             true,
		"SHA256:" + fp:           true,
		"abc":                    false,
		strings.Repeat("zz", 32): false,
	} {
		got, err := ParseFingerprint(in)
		if (err == nil) != ok || (ok && got != fp) {
			t.Errorf("ParseFingerprint(%q) = %q, %v", in, got, err)
		}
	}
}
