package cli

import (
	"context"
	"os"
	"time"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential/assertion"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/okta"
)

func init() { registerProvider(config.TypeOkta, buildOkta) }

// buildOkta makes the Okta provider from the okta section: the management
// identity is read here, once, and told to the redactor.
func buildOkta(b providerBuild) (provider.Provider, error) {
	o := b.Config.Okta
	opts := okta.Options{
		OrgURL: o.OrgURL, TokenURL: o.TokenURL, Scope: o.Scope, MaxAge: o.MaxAge,
		HTTPClient: b.HTTPClient, Timeout: b.Config.Rotation.Timeout, Logger: b.Log, SecretSeen: b.SecretSeen,
		ListConcurrency: b.Config.Rotation.Concurrency,
	}
	switch m := o.Management; {
	case m.APIToken != nil:
		src, err := currentSource(*m.APIToken)
		if err != nil {
			return nil, usageErrorf("okta.management.apiToken: %v; name a file or an environment variable holding the API token", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tok, err := src.Read(ctx)
		if err != nil {
			return nil, needsFixf("okta.management.apiToken: reading the API token: %v; check that it holds an Okta API token", err)
		}
		if b.SecretSeen != nil {
			b.SecretSeen(tok)
		}
		opts.APIToken = tok
	case m.ServiceApp != nil:
		pemBytes, err := os.ReadFile(m.ServiceApp.PrivateKeyFile)
		if err != nil {
			return nil, needsFixf("okta.management.serviceApp.privateKeyFile: %v; point it at the PEM private key of the service app", err)
		}
		key, err := assertion.ParsePrivateKey(pemBytes)
		if err != nil {
			return nil, usageErrorf("okta.management.serviceApp.privateKeyFile %s: %v; use a PEM RSA or EC private key (PKCS #8, PKCS #1 or SEC 1)", m.ServiceApp.PrivateKeyFile, err)
		}
		opts.ServiceApp = &okta.ServiceApp{ClientID: m.ServiceApp.ClientID, Key: key, KeyID: m.ServiceApp.KeyID}
	default:
		return nil, usageErrorf("okta.management: name an apiToken or a serviceApp")
	}
	p, err := okta.New(opts)
	if err != nil {
		return nil, usageErrorf("okta: %v; check okta.orgURL and okta.tokenURL", err)
	}
	return p, nil
}
