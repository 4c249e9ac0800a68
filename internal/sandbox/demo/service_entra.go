package demo

import (
	"fmt"
	"net/http"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/pkg/credential"
)

func init() {
	RegisterService("entra", func(opts Options) (Service, error) { return newEntraService(opts), nil })
}

// EntraPropagation is the demo's propagation delay: a new password is
// refused by the token endpoint this long after addPassword (Entra ID's is
// seconds to minutes), so the demo's proof is refused first, then accepted.
const EntraPropagation = 2 * time.Second

// entraService is the Entra ID emulator; every application manages its own
// passwords (no management identity in the configuration).
type entraService struct {
	emu *entraemu.Emulator
}

func newEntraService(opts Options) *entraService {
	return &entraService{emu: entraemu.New(entraemu.Options{Ticking: true, Propagation: EntraPropagation, Latency: opts.Latency, Logf: opts.Logf})}
}

func (s *entraService) Type() string          { return "entra" }
func (s *entraService) Title() string         { return "Entra ID" }
func (s *entraService) Handler() http.Handler { return s.emu }
func (s *entraService) Started(string)        {}
func (s *entraService) Close()                {}
func (s *entraService) Advance(d time.Duration) {
	s.emu.Advance(d)
}

// Emulator is the Entra ID emulator behind the service.
func (s *entraService) Emulator() *entraemu.Emulator { return s.emu }

func (s *entraService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	k := Seeded{
		Key:      credential.ProviderKey(fmt.Sprintf("entra.app_%03d", i+1)),
		ClientID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1),
		Value:    randomSecret(),
		DataKey:  "client_secret",
	}
	a, err := s.emu.SeedApp(entraemu.SeedSpec{AppID: k.ClientID, DisplayName: fmt.Sprintf("credit-api-%03d", i+1), Password: k.Value, PasswordName: "credrotate seed", PasswordEnd: s.emu.Now().Add(expiresIn)})
	if err != nil {
		return k, err
	}
	p := a.Passwords[0]
	k.SecretID, k.ExpiresAt = p.KeyID, p.EndDateTime
	return k, nil
}

func (s *entraService) Accepts(clientID, value string) bool { return s.emu.Accepts(clientID, value) }

func (s *entraService) ValidSecrets(clientID string) int { return s.emu.ValidPasswords(clientID) }

func (s *entraService) Revoked() int { return s.emu.Revoked() }

func (s *entraService) Config(url, _ string) string {
	return fmt.Sprintf(`entra:
  tenantID: %s
  graphURL: %s
  loginURL: %s
  secretLifetime: 2160h
rotation:
  enableClientSecretRenewal: true
  renewBefore: 336h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, s.emu.Tenant(), url, url)
}
