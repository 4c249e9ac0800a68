package demo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/credrotate/credrotate/examples/providers"
	"github.com/credrotate/credrotate/pkg/credential"
)

func init() {
	RegisterService("http-okta", func(opts Options) (Service, error) { return newHTTPOktaService(opts) })
}

// httpOktaDescription is the description the demo's http-okta keys use:
// Okta's app client secrets, declared (examples/providers/okta.yaml), its
// requests and answers held to Okta's own OpenAPI description.
const httpOktaDescription = "okta"

// httpOktaService is the Okta emulator driven through the declarative http
// provider: the same emulator as the okta keys, a different client. The
// description, its OpenAPI document and that document's licence are written
// into the demo's folder from the copies the binary embeds.
type httpOktaService struct {
	*oktaService
	descFile string
}

func newHTTPOktaService(opts Options) (*httpOktaService, error) {
	okta, err := newOktaService(opts)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	pdir := filepath.Join(dir, "providers")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	for _, name := range []string{httpOktaDescription + ".yaml", httpOktaDescription + ".openapi.yaml", httpOktaDescription + ".openapi.LICENSE"} {
		b, err := fs.ReadFile(providers.Files, name)
		if err != nil {
			return nil, fmt.Errorf("the embedded description %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(pdir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return &httpOktaService{oktaService: okta, descFile: filepath.Join(pdir, httpOktaDescription+".yaml")}, nil
}

func (s *httpOktaService) Type() string { return "http" }
func (s *httpOktaService) Title() string {
	return "Okta (declarative http provider, " + httpOktaDescription + ")"
}

func (s *httpOktaService) Seed(i int, expiresIn time.Duration) (Seeded, error) {
	k, err := s.oktaService.Seed(i, expiresIn)
	k.Key = credential.ProviderKey(fmt.Sprintf("http.app_%03d", i+1))
	return k, err
}

// Config gives the description the org's URL, the scope its proof asks
// for and the API token's file. okta.yaml's rules set the secrets' maximum
// age (90 days, oktaMaxAge), the one the seeding counts with.
func (s *httpOktaService) Config(url, _ string) string {
	return fmt.Sprintf(`http:
  descriptions:
    - name: %s
      file: %s
      settings:
        - {name: orgURL, value: %q}
        - {name: scope, value: credrotate.proof}
      secrets:
        - {name: apiToken, source: {file: %s}}
rotation:
  enableClientSecretRenewal: true
  renewBefore: 336h
  revokeAfter: 24h
  concurrency: 16
  timeout: 10s
`, httpOktaDescription, s.descFile, url, s.tokenFile)
}

// KeyConfig is what every http-okta key adds to its providers entry: the
// description it is rotated with.
func (s *httpOktaService) KeyConfig() string { return "\n    description: " + httpOktaDescription }
