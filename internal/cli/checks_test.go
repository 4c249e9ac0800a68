package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

var (
	sealKeyOnce sync.Once
	sealKey     *rsa.PrivateKey
)

// sealingCert is a self-signed sealing certificate, valid from notBefore to
// notAfter, as the sealed-secrets controller makes; the key is made once
// per package.
func sealingCert(t *testing.T, notBefore, notAfter time.Time) []byte {
	t.Helper()
	sealKeyOnce.Do(func() {
		var err error
		if sealKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(notBefore.UnixNano()),
		Subject:      pkix.Name{CommonName: "sealed-secret"},
		NotBefore:    notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &sealKey.PublicKey, sealKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func fingerprint(t *testing.T, certPEM []byte) string {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}

// goodFixture copies pkg/config/testdata/good.yaml into a folder with what
// it points at: the prod and staging certificates and the current secret
// (holding secret), and exports GITHUB_TOKEN. edit, if set, rewrites the
// configuration's text. It returns the configuration file.
func goodFixture(t *testing.T, secret string, edit func(dir, cfg string) string) string {
	t.Helper()
	dir := t.TempDir()
	good, err := os.ReadFile("../../pkg/config/testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, f := range []string{"certs/prod.pem", "certs/staging.pem"} {
		writeFile(t, filepath.Join(dir, f), sealingCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour)))
	}
	writeFile(t, filepath.Join(dir, "current", "client_secret"), []byte(secret+"\n"))
	cfg := string(good)
	if edit != nil {
		cfg = edit(dir, cfg)
	}
	p := filepath.Join(dir, "credrotate.yaml")
	writeFile(t, p, []byte(cfg))
	t.Setenv("GITHUB_TOKEN", "ghp_fixture")
	return p
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConfigValidateChecksWhatItPointsAt: offline, config validate reads
// every certificate file and secret source; each broken one is a problem
// naming the key, in the file's spelling, and the fix, and exits 2.
func TestConfigValidateChecksWhatItPointsAt(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, dir, cfg string) string
		unset bool
		want  []string
	}{
		{
			name: "missing certificate",
			edit: func(t *testing.T, dir, cfg string) string {
				if err := os.Remove(filepath.Join(dir, "certs", "prod.pem")); err != nil {
					t.Fatal(err)
				}
				return cfg
			},
			want: []string{"environments[0].cert.file", "certs/prod.pem", "(prod)", "no such file"},
		},
		{
			name: "expired certificate",
			edit: func(t *testing.T, dir, cfg string) string {
				writeFile(t, filepath.Join(dir, "certs", "staging.pem"), sealingCert(t, now.Add(-400*24*time.Hour), now.Add(-24*time.Hour)))
				return cfg
			},
			want: []string{"environments[1].cert.file", "(staging)", "expired"},
		},
		{
			name: "pin mismatch",
			edit: func(t *testing.T, dir, cfg string) string {
				other := sealingCert(t, now.Add(-2*time.Hour), now.Add(24*time.Hour))
				return strings.Replace(cfg, "    scope: strict\n", "    scope: strict\n    certFingerprint: "+fingerprint(t, other)+"\n", 1)
			},
			want: []string{"environments[0].certFingerprint", "(prod)", "does not match"},
		},
		{
			name: "not a certificate",
			edit: func(t *testing.T, dir, cfg string) string {
				writeFile(t, filepath.Join(dir, "certs", "prod.pem"), []byte("hello\n"))
				return cfg
			},
			want: []string{"environments[0].cert.file", "not a PEM certificate"},
		},
		{
			name: "current secret missing",
			edit: func(t *testing.T, dir, cfg string) string {
				if err := os.Remove(filepath.Join(dir, "current", "client_secret")); err != nil {
					t.Fatal(err)
				}
				return cfg
			},
			want: []string{"providers[0].currentSecret.file", "current/client_secret", "cannot be read"},
		},
		{
			name: "current secret variable unset",
			edit: func(t *testing.T, dir, cfg string) string {
				return strings.Replace(cfg, "currentSecret: {file: current/client_secret}", "CurrentSecret: {env: CRTEST_UNSET_SECRET}", 1)
			},
			want: []string{"providers[0].CurrentSecret.env", "CRTEST_UNSET_SECRET", "is not set"},
		},
		{
			name:  "token unset",
			unset: true,
			want:  []string{"github.tokenEnv", "GITHUB_TOKEN", "is not set", "export GITHUB_TOKEN"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edit func(dir, cfg string) string
			if tc.edit != nil {
				edit = func(dir, cfg string) string { return tc.edit(t, dir, cfg) }
			}
			p := goodFixture(t, "s3cr3t-value-for-the-check", edit)
			if tc.unset {
				t.Setenv("GITHUB_TOKEN", "")
			}
			out, stderr, code := runCmd(t, "", "config", "validate", "--config", p)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, out, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(out+stderr, "s3cr3t-value-for-the-check") {
				t.Fatal("the current secret was printed")
			}
		})
	}

	t.Run("all good", func(t *testing.T) {
		p := goodFixture(t, "s3cr3t-value-for-the-check", nil)
		out, stderr, code := runCmd(t, "", "config", "validate", "--config", p)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, want := range []string{"prod certificate", "RSA 2048 bits", "not pinned", "staging certificate", "run with --online"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

// TestConfigValidateOnline runs --online against a demo world: Equifax
// and localhub answer, a certificate URL is fetched, nothing changes; a
// rejected token is an exit 2 that says so.
func TestConfigValidateOnline(t *testing.T) {
	w := startDemo(t, demo.Options{})
	crt, err := os.ReadFile(filepath.Join(w.Dir, "keys", "uat.crt"))
	if err != nil {
		t.Fatal(err)
	}
	certSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write(crt) }))
	t.Cleanup(certSrv.Close)
	b, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "cert: {file: keys/uat.crt}", "cert: {url: "+certSrv.URL+"/v1/cert.pem}", 1)
	writeFile(t, w.ConfigPath, []byte(cfg))

	out, stderr, code := runCmd(t, "", "config", "validate", "--online", "--config", w.ConfigPath, "--log-level", "error")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"uat certificate " + certSrv.URL, "equifax.client_001 at Equifax: active secret", "GitHub acme/gitops: reachable"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := w.Emulator.Calls(emulator.OpRenew) + w.Emulator.Calls(emulator.OpRevoke); n != 0 || len(w.Hub.PullRequests()) != 0 || len(w.Hub.Issues()) != 0 {
		t.Fatalf("--online changed something: %d renew/revoke calls, %d PRs, %d issues", n, len(w.Hub.PullRequests()), len(w.Hub.Issues()))
	}

	t.Setenv(demo.TokenEnv, "ghp_rejected")
	_, stderr, code = runCmd(t, "", "config", "validate", "--online", "--config", w.ConfigPath, "--log-level", "error")
	if code != exitUsage || !strings.Contains(stderr, "rejected the credentials (401") || strings.Contains(stderr, "missing permission") {
		t.Fatalf("a rejected token: exit %d\n%s", code, stderr)
	}
}
