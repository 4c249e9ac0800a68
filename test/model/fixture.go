package model

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"filippo.io/age"
)

// Envs are the environments every world seals into.
var Envs = []string{"prod", "staging", "uat"}

// SOPSEnv is the environment whose manifests are SOPS Secrets for an age
// identity (as Flux's kustomize-controller decrypts them); the others are
// SealedSecrets. It is prod, so that the secret the workload gets — and
// every invariant about it — is read from a SOPS file.
const SOPSEnv = "prod"

// fixture is what every world shares and what is expensive to make: one
// sealing key pair per environment (as the sealed-secrets controller of
// each cluster holds), with the certificates written to a folder.
type fixture struct {
	dir     string
	private map[string]*rsa.PrivateKey
	certs   map[string]string // env -> certificate file
	// ageIdentity and ageRecipient are SOPSEnv's age key pair (the key the
	// cluster's Flux decryption Secret holds).
	ageIdentity, ageRecipient string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// sharedFixture makes the fixture once per process.
func sharedFixture() (*fixture, error) {
	fixOnce.Do(func() {
		f := &fixture{private: map[string]*rsa.PrivateKey{}, certs: map[string]string{}}
		dir, err := os.MkdirTemp("", "credrotate-model-")
		if err != nil {
			fixErr = err
			return
		}
		f.dir = dir
		id, err := age.GenerateX25519Identity()
		if err != nil {
			fixErr = err
			return
		}
		f.ageIdentity, f.ageRecipient = id.String(), id.Recipient().String()
		for _, env := range Envs {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				fixErr = err
				return
			}
			now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(now.UnixNano()),
				Subject:      pkix.Name{CommonName: "sealed-secret", Organization: []string{"credrotate model " + env}},
				NotBefore:    now,
				NotAfter:     now.Add(100 * 365 * 24 * time.Hour),
				KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				fixErr = err
				return
			}
			p := filepath.Join(dir, env+".crt")
			if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
				fixErr = err
				return
			}
			f.private[env], f.certs[env] = key, p
		}
		fix = f
	})
	if fixErr != nil {
		return nil, fmt.Errorf("making the sealing fixture: %w", fixErr)
	}
	return fix, nil
}

// removeFixture deletes the fixture's folder.
func removeFixture() {
	if fix != nil && fix.dir != "" {
		_ = os.RemoveAll(fix.dir)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
