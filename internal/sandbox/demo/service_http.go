package demo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/credrotate/credrotate/examples/providers"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
)

func init() {
	RegisterService("http", func(opts Options) (Service, error) { return newHTTPService(opts) })
}

// httpDescription is the description the demo's http keys use: the
// Equifax REST contract, declared (examples/providers/equifax-rest.yaml).
const httpDescription = "equifax-rest"

// httpService is the Equifax emulator driven through the declarative http
// provider: the same emulator as the equifax keys, a different client. The
// description and its OpenAPI document are written into the demo's folder
// from the copies the binary embeds.
type httpService struct {
	*equifaxService
	descFile string
}

func newHTTPService(opts Options) (*httpService, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	pdir := filepath.Join(dir, "providers")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	for _, name := range []string{httpDescription + ".yaml", httpDescription + ".openapi.yaml"} {
		b, err := fs.ReadFile(providers.Files, name)
		if err != nil {
			return nil, fmt.Errorf("the embedded description %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(pdir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return &httpService{equifaxService: newEquifaxService(opts), descFile: filepath.Join(pdir, httpDescription+".yaml")}, nil
}

func (s *httpService) Type() string { return "http" }
func (s *httpService) Title() string {
	return "Equifax (declarative http provider, " + httpDescription + ")"
}

func (s *httpService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	k, err := s.equifaxService.Seed(i, expiresIn)
	k.Key = credential.ProviderKey(fmt.Sprintf("http.client_%03d", i+1))
	return k, err
}

func (s *httpService) Config(url, _ string) string {
	return fmt.Sprintf(`http:
  descriptions:
    - name: %s
      file: %s
      settings:
        - {name: baseURL, value: %q}
rotation:
  enableClientSecretRenewal: true
  renewBefore: 336h
  gracePeriod: 168h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, httpDescription, s.descFile, url)
}

// KeyConfig is what every http key adds to its providers entry: the
// description it is rotated with.
func (s *httpService) KeyConfig() string { return "\n    description: " + httpDescription }

// equifax is the emulator behind the description, for World.Emulator.
func (s *httpService) equifax() *emulator.Emulator { return s.emu }
