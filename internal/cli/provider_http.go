package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

func init() {
	registerProvider(config.TypeHTTP, func(b providerBuild) (provider.Provider, error) {
		byClient := map[string]*httpprov.Provider{}
		built := map[string]*httpprov.Provider{}
		for _, k := range b.Config.Providers {
			if k.TypeOrDefault() != config.TypeHTTP {
				continue
			}
			p, ok := built[k.Description]
			if !ok {
				var err error
				if p, err = buildHTTPDescription(b.Config, k.Description, b.HTTPClient, b.SecretSeen, b.DryRun); err != nil {
					return nil, usageErrorf("providers %s: %v", k.Key, err)
				}
				built[k.Description] = p
			}
			if other, dup := byClient[k.ClientID]; dup && other != p {
				return nil, usageErrorf("providers %s: client %s is described twice, by different descriptions; give each client one description", k.Key, k.ClientID)
			}
			byClient[k.ClientID] = p
		}
		m, err := httpprov.NewMulti(byClient)
		if err != nil {
			return nil, usageErrorf("http providers: %v", err)
		}
		return m, nil
	})
}

// buildHTTPDescription loads the named description and builds its
// provider, with the configuration's settings and secrets; a dry run (and
// provider test) checks every request and answer against the
// description's OpenAPI document unless the configuration says otherwise.
func buildHTTPDescription(cfg *config.Config, name string, hc *http.Client, seen func(credential.Secret), dryRun bool) (*httpprov.Provider, error) {
	cd, ok := cfg.HTTP.Description(name)
	if !ok {
		return nil, fmt.Errorf("description %q is not in http.descriptions; add it with its file", name)
	}
	d, err := httpprov.Load(cd.File)
	if err != nil {
		return nil, err
	}
	// Settings are matched to the description's spelling without regard
	// to case.
	settings := map[string]string{}
	for k, v := range cd.SettingsMap() {
		for dk := range d.Settings {
			if strings.EqualFold(dk, k) {
				k = dk
			}
		}
		settings[k] = v
	}
	secrets := map[string]credential.Secret{}
	for _, s := range cd.Secrets {
		r, err := currentSource(s.Source)
		if err != nil {
			return nil, fmt.Errorf("http description %s, secret %s: %w", name, s.Name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		v, err := r.Read(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("http description %s, secret %s: %w", name, s.Name, err)
		}
		if seen != nil {
			seen(v)
		}
		secrets[s.Name] = v
	}
	p, err := httpprov.New(d, httpprov.Options{Settings: settings, Secrets: secrets, HTTPClient: hc, Timeout: cfg.Rotation.Timeout, SecretSeen: seen,
		ValidateOpenAPI: cd.ValidatesOpenAPI(dryRun)})
	if err != nil {
		return nil, fmt.Errorf("description %s (%s): %w", name, cd.File, err)
	}
	return p, nil
}
