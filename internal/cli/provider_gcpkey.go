package cli

import (
	"context"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/gcpkey"
)

func init() { registerProvider(config.TypeGCPKey, buildGCPKey) }

// buildGCPKey builds the Google Cloud service account keys provider from the
// gcp section; its management identity is gcp.credentialsFile or, without
// one, Application Default Credentials. It lists gcp.project's service
// accounts for the inventory when a project is set.
func buildGCPKey(b providerBuild) (provider.Provider, error) {
	g := b.Config.GCP
	// The context outlives this call: the management token source refreshes
	// with it for the whole run.
	p, err := gcpkey.New(context.Background(), gcpkey.Options{
		Endpoint:        g.Endpoint,
		TokenURL:        g.TokenURL,
		CredentialsFile: g.CredentialsFile,
		MaxKeyAge:       g.MaxKeyAge,
		HTTPClient:      b.HTTPClient,
		Timeout:         b.Config.Rotation.Timeout,
		Project:         g.Project,
		ListConcurrency: b.Config.Rotation.Concurrency,
		SecretSeen:      b.SecretSeen,
	})
	if err != nil {
		return nil, usageErrorf("providers of type gcpkey: %v", err)
	}
	if g.Project == "" {
		// Nothing to list beyond the configured keys: the inventory shows
		// those, as for Equifax, instead of a listing that fails.
		return notListing{p}, nil
	}
	return p, nil
}

// notListing is a provider with its List hidden.
type notListing struct{ provider.Provider }
