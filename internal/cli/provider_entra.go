package cli

import (
	"context"
	"fmt"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

func init() { registerProvider(config.TypeEntra, buildEntra) }

// buildEntra makes the Entra ID provider of every entra key: the entra
// section, each key's objectID, and the management identity (none: every
// application manages itself with its current secret).
func buildEntra(b providerBuild) (provider.Provider, error) {
	e := b.Config.Entra
	opts := entra.Options{
		TenantID:       e.TenantID,
		GraphURL:       e.GraphURL,
		LoginURL:       e.LoginURL,
		SecretLifetime: e.SecretLifetime,
		HTTPClient:     b.HTTPClient,
		Timeout:        b.Config.Rotation.Timeout,
		Logger:         b.Log,
		SecretSeen:     b.SecretSeen,
		ObjectIDs:      map[string]string{},
		Management:     entra.Management{ClientID: e.Management.ClientID, FederatedTokenFile: e.Management.FederatedTokenFile},
	}
	for _, p := range b.Config.Providers {
		if p.TypeOrDefault() == config.TypeEntra && p.ObjectID != "" {
			opts.ObjectIDs[p.ClientID] = p.ObjectID
		}
	}
	if s := e.Management.ClientSecret; s != nil {
		src, err := currentSource(*s)
		if err != nil {
			return nil, needsFixf("entra.management.clientSecret: %v: set exactly one of file, env or kubernetes", err)
		}
		opts.Management.ClientSecret = func(ctx context.Context) (credential.Secret, error) {
			sec, err := src.Read(ctx)
			if err != nil {
				return credential.Secret{}, fmt.Errorf("reading entra.management.clientSecret: %w", err)
			}
			return sec, nil
		}
	}
	p, err := entra.New(opts)
	if err != nil {
		return nil, needsFixf("%v", err)
	}
	if p.SelfManaged() {
		if b.Log != nil {
			b.Log.WithField("tenant", e.TenantID).Info("entra: no entra.management.clientID; each application manages its own passwords with its current secret (self-managed)")
		}
		// No management identity, no scope to list: the inventory shows
		// the configured applications only.
		return selfManagedEntra{p}, nil
	}
	return p, nil
}

// selfManagedEntra hides List, which has nothing to list without a
// management identity.
type selfManagedEntra struct{ provider.Provider }
