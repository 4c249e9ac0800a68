package demo

import (
	"fmt"
	"net/http"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
)

// Service is a provider's emulator as the demo drives it: seeded with one
// client per key, asked whether it accepts a secret now, its clock moved.
type Service interface {
	// Type is the provider type the configuration names.
	Type() string
	// Title names the service for people ("Equifax").
	Title() string
	// Handler serves the emulator.
	Handler() http.Handler
	// Started tells the service the URL it is served at.
	Started(url string)
	// Seed creates the client of key i with one secret expiring after
	// expiresIn, and returns it.
	Seed(i int, expiresIn time.Duration) (Seeded, error)
	// Accepts reports whether the service accepts value for clientID now.
	Accepts(clientID, value string) bool
	// ValidSecrets counts the secrets of clientID that authenticate now
	// (the provider's limits are held against it).
	ValidSecrets(clientID string) int
	// Advance moves the service's clock.
	Advance(d time.Duration)
	// Revoked counts the secrets revoked (or deleted) so far.
	Revoked() int
	// Config is the configuration's section for this provider type
	// (without the providers list), for a service served at url.
	Config(url, transport string) string
	// Close releases the service.
	Close()
}

// Seeded is a seeded client and its first secret.
type Seeded struct {
	Key       credential.ProviderKey
	ClientID  string
	SecretID  string
	Value     string
	ExpiresAt time.Time
	// DataKey is the Secret's key the value is stored under.
	DataKey string
}

// equifaxService is the Equifax emulator (REST and SOAP).
type equifaxService struct{ emu *emulator.Emulator }

func newEquifaxService(opts Options) *equifaxService {
	// A renewal window as long as a secret's life lets a person renew any
	// key by hand against the demo (`renew --provider-key`).
	return &equifaxService{emu: emulator.New(emulator.Options{Latency: opts.Latency, Logf: opts.Logf, Ticking: true, RenewWindow: 365 * 24 * time.Hour})}
}

func (s *equifaxService) Type() string          { return "equifax" }
func (s *equifaxService) Title() string         { return "Equifax" }
func (s *equifaxService) Handler() http.Handler { return s.emu }
func (s *equifaxService) Started(string)        {}
func (s *equifaxService) Close()                { s.emu.Close() }
func (s *equifaxService) Advance(d time.Duration) {
	s.emu.Advance(d)
}

func (s *equifaxService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	k := Seeded{Key: credential.ProviderKey(fmt.Sprintf("equifax.client_%03d", i+1)), ClientID: fmt.Sprintf("0oademo%04d", i+1), Value: randomSecret(), DataKey: "client_secret"}
	info, err := s.emu.SeedClient(k.ClientID, k.Value, s.emu.Now().Add(expiresIn))
	if err != nil {
		return k, err
	}
	c, _ := s.emu.Client(k.ClientID)
	sec, _ := c.Find(info.SecretID)
	k.SecretID, k.ExpiresAt = info.SecretID, sec.ExpiresAt
	return k, nil
}

func (s *equifaxService) Accepts(clientID, value string) bool { return s.emu.Accepts(clientID, value) }

func (s *equifaxService) ValidSecrets(clientID string) int {
	c, _ := s.emu.Client(clientID)
	return c.ValidCount()
}

func (s *equifaxService) Revoked() int {
	n := 0
	for _, c := range s.emu.Clients() {
		for _, sec := range c.Secrets {
			if sec.Status == "REVOKED" {
				n++
			}
		}
	}
	return n
}

func (s *equifaxService) Config(url, transport string) string {
	return fmt.Sprintf(`equifax:
  enableClientSecretRenewal: true
  transport: %s
  baseURL: %s
  tokenURL: %s/v2/oauth/token
  soapURL: %s/business/security/soap/v1
  managementScope: https://api.equifax.com/business/security/v1
rotation:
  renewBefore: 336h
  gracePeriod: 168h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, transport, url, url, url)
}
