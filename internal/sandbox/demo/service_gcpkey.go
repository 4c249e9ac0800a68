package demo

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/pkg/credential"
)

func init() {
	RegisterService("gcpkey", func(opts Options) (Service, error) { return newGCPService(opts) })
}

// gcpMaxKeyAge is the demo's gcp.maxKeyAge: Google keys never expire, so
// each seeded key is made that long before it is due.
const gcpMaxKeyAge = 180 * 24 * time.Hour

// gcpManager is the demo's management service account.
const gcpManager = "credrotate@demo-ops.iam.gserviceaccount.com"

// gcpService is the Google Cloud IAM emulator with one service account per
// key and a management service account whose key file the configuration
// names.
type gcpService struct {
	emu      *gcpemu.Emulator
	credFile string

	mu  sync.Mutex
	err error
}

func newGCPService(opts Options) (*gcpService, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	emu := gcpemu.New(gcpemu.Options{Logf: opts.Logf})
	return &gcpService{emu: emu, credFile: filepath.Join(dir, "keys", "gcp-management.json")}, nil
}

func (s *gcpService) Type() string          { return "gcpkey" }
func (s *gcpService) Title() string         { return "Google Cloud IAM" }
func (s *gcpService) Handler() http.Handler { return s.emu }
func (s *gcpService) Close()                {}

func (s *gcpService) Advance(d time.Duration) { s.emu.Advance(d) }

// Emulator is the Google Cloud IAM emulator behind the service.
func (s *gcpService) Emulator() *gcpemu.Emulator { return s.emu }

// Started writes the management identity's key file, whose token_uri is
// the emulator's.
func (s *gcpService) Started(url string) {
	s.emu.SetURL(url)
	_, file, err := s.emu.SeedKey(gcpManager, s.emu.Now().Add(-time.Hour), time.Time{})
	if err == nil {
		err = os.WriteFile(s.credFile, file, 0o600)
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *gcpService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	email := fmt.Sprintf("app-%03d@demo-project.iam.gserviceaccount.com", i+1)
	k := Seeded{Key: credential.ProviderKey(fmt.Sprintf("gcpkey.sa_%03d", i+1)), ClientID: email, DataKey: "key.json"}
	created := s.emu.Now().Add(expiresIn - gcpMaxKeyAge).Truncate(time.Second)
	id, file, err := s.emu.SeedKey(email, created, time.Time{})
	if err != nil {
		return k, err
	}
	k.SecretID, k.Value, k.ExpiresAt = id, string(file), created.Add(gcpMaxKeyAge)
	return k, nil
}

func (s *gcpService) Accepts(clientID, value string) bool { return s.emu.Accepts(clientID, value) }

func (s *gcpService) ValidSecrets(clientID string) int { return s.emu.ValidKeys(clientID) }

func (s *gcpService) Revoked() int { return s.emu.Revoked() }

func (s *gcpService) Config(url, _ string) string {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	cred := s.credFile
	if err != nil {
		cred = "# the management key file could not be written: " + err.Error()
	}
	return fmt.Sprintf(`gcp:
  endpoint: %s/
  tokenURL: %s/token
  credentialsFile: %s
  maxKeyAge: %s
rotation:
  enableClientSecretRenewal: true
  renewBefore: 336h
  gracePeriod: 168h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, url, url, cred, gcpMaxKeyAge)
}
