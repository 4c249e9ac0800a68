package demo

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/credential"
)

func init() {
	RegisterService("okta", func(opts Options) (Service, error) { return newOktaService(opts) })
}

// oktaMaxAge is the demo's okta.maxAge: Okta sets no expiry, so a seeded
// secret that should expire in d was created maxAge - d ago.
const oktaMaxAge = 90 * 24 * time.Hour

// oktaService is the Okta emulator, managed with an API token kept in a
// file of the demo's folder.
type oktaService struct {
	emu       *oktaemu.Emulator
	tokenFile string
}

func newOktaService(opts Options) (*oktaService, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	token := "00demo" + randomSecret()[4:]
	file := filepath.Join(dir, "okta-api-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the demo's Okta API token: %w", err)
	}
	emu := oktaemu.New(oktaemu.Options{APIToken: token, Ticking: true, Latency: opts.Latency, Logf: opts.Logf})
	return &oktaService{emu: emu, tokenFile: file}, nil
}

func (s *oktaService) Type() string            { return "okta" }
func (s *oktaService) Title() string           { return "Okta" }
func (s *oktaService) Handler() http.Handler   { return s.emu }
func (s *oktaService) Started(string)          {}
func (s *oktaService) Close()                  {}
func (s *oktaService) Advance(d time.Duration) { s.emu.Advance(d) }
func (s *oktaService) Revoked() int            { return s.emu.Revoked() }

// Emulator is the Okta emulator behind the service.
func (s *oktaService) Emulator() *oktaemu.Emulator { return s.emu }

func (s *oktaService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	k := Seeded{Key: credential.ProviderKey(fmt.Sprintf("okta.app_%03d", i+1)), ClientID: fmt.Sprintf("0oademo%04d", i+1), Value: randomSecret(), DataKey: "client_secret"}
	sec, err := s.emu.SeedApp(k.ClientID, k.Value, s.emu.Now().Add(expiresIn-oktaMaxAge))
	if err != nil {
		return k, err
	}
	k.SecretID, k.ExpiresAt = sec.ID, sec.Created.Add(oktaMaxAge)
	return k, nil
}

func (s *oktaService) Accepts(clientID, value string) bool { return s.emu.Accepts(clientID, value) }

func (s *oktaService) ValidSecrets(clientID string) int { return s.emu.ActiveSecrets(clientID) }

func (s *oktaService) Config(url, _ string) string {
	return fmt.Sprintf(`okta:
  orgURL: %s
  maxAge: %s
  scope: credrotate.proof
  management:
    apiToken: {file: %s}
rotation:
  enableClientSecretRenewal: true
  renewBefore: 336h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, url, oktaMaxAge, s.tokenFile)
}
