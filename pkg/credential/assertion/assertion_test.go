package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	for name, b := range map[string][]byte{
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
		"sec1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
	} {
		if _, err := ParsePrivateKey(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePrivateKey([]byte("nope")); err == nil {
		t.Error("garbage parsed")
	}
}

// A signed assertion verifies with the public key (by the stock JWT
// library) and carries RFC 7523's claims: iss and sub the client, aud the
// token endpoint, a short exp and a fresh jti.
func TestSign(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	for name, key := range map[string]crypto.Signer{"rsa": rsaKey, "ecdsa": ecKey} {
		var jtis []string
		for range 2 {
			tok, err := Sign(key, "0oasvc", "https://org.example/oauth2/v1/token", "kid1", now)
			if err != nil {
				t.Fatal(err)
			}
			var claims jwt.RegisteredClaims
			parsed, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return key.Public(), nil },
				jwt.WithAudience("https://org.example/oauth2/v1/token"), jwt.WithIssuer("0oasvc"), jwt.WithSubject("0oasvc"))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if parsed.Header["kid"] != "kid1" || claims.ExpiresAt.Sub(now) > Lifetime+time.Second || claims.ID == "" {
				t.Errorf("%s: header %v, claims %+v", name, parsed.Header, claims)
			}
			jtis = append(jtis, claims.ID)
		}
		if jtis[0] == jtis[1] {
			t.Errorf("%s: two assertions share the jti %s", name, jtis[0])
		}
	}
}
