package seal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// testKeyBits keeps key generation quick; the controller uses 4096.
const testKeyBits = 2048

var (
	keyMu    sync.Mutex
	keyCache = map[string]*rsa.PrivateKey{}
)

// testKey returns an RSA key per name, made once per test binary.
func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, testKeyBits)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

// makeCertDER makes a self-signed certificate for pub, like the
// controller's, valid from notBefore to notAfter.
func makeCertDER(t testing.TB, signer any, pub any, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(notBefore.UnixNano()),
		Subject:               pkix.Name{CommonName: "sealed-secret"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// rsaCertPEM makes a certificate for the named key, issued ageDays before
// testNow and valid for ten years.
func rsaCertPEM(t testing.TB, keyName string, ageDays int) []byte {
	t.Helper()
	k := testKey(t, keyName)
	nb := testNow.Add(-time.Duration(ageDays) * 24 * time.Hour)
	return pemCert(makeCertDER(t, k, &k.PublicKey, nb, nb.Add(10*365*24*time.Hour)))
}

func ecCertPEM(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pemCert(makeCertDER(t, k, &k.PublicKey, testNow.Add(-time.Hour), testNow.Add(time.Hour)))
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testCert loads the certificate of the named key through LoadCertificate.
func testCert(t testing.TB, env, keyName string) *Certificate {
	t.Helper()
	p := writeTemp(t, env+".pem", rsaCertPEM(t, keyName, 1))
	c, _, err := LoadCertificate(t.Context(), env, CertSource{File: p}, LoadOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// privKeys is the key map the library's Unseal and HybridDecrypt take.
func privKeys(t testing.TB, names ...string) map[string]*rsa.PrivateKey {
	t.Helper()
	m := map[string]*rsa.PrivateKey{}
	for _, n := range names {
		k := testKey(t, n)
		fp, err := sscrypto.PublicKeyFingerprint(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		m[fp] = k
	}
	return m
}

func privKeyPEM(t testing.TB, name string) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey(t, name))})
}
