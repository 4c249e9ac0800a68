package cli

import (
	"net/http"
	"sort"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	neutralmock "github.com/credrotate/credrotate/pkg/provider/mocksafe"
)

// providerBuild is what a provider type's builder is given: the whole
// configuration (its section and every key of its type), the run's HTTP
// client and logger, and the function every secret read or minted must be
// passed to, so that the redactor knows it.
type providerBuild struct {
	Config     *config.Config
	HTTPClient *http.Client
	Log        *logrus.Entry
	SecretSeen func(credential.Secret)
	// DryRun is renew --dry-run: nothing is changed, and a provider may
	// check more (the http provider validates against OpenAPI).
	DryRun bool
}

// providerBuilder makes the one provider that serves every key of a type.
type providerBuilder func(b providerBuild) (provider.Provider, error)

// providerBuilders holds the types other than Equifax, which is built by
// wiring.provider per transport.
var providerBuilders = map[string]providerBuilder{}

// registerProvider makes a provider type available to the runs.
func registerProvider(typ string, b providerBuilder) { providerBuilders[typ] = b }

// builtTypes lists the provider types this binary can rotate.
func builtTypes() []string {
	out := []string{config.TypeEquifax}
	for t := range providerBuilders {
		out = append(out, t)
	}
	sort.Strings(out[1:])
	return out
}

// keyProvider returns the provider for p, building it once per Equifax
// transport or per other type: wrapped in the mock-safe provider when
// renewal is switched off, and always in the redactor.
func (w *wiring) keyProvider(p config.Provider, hc *http.Client, cache map[string]provider.Provider) (provider.Provider, error) {
	typ := p.TypeOrDefault()
	id := typ
	if typ == config.TypeEquifax {
		id += "/" + p.TransportOr(w.cfg.Equifax.Transport)
	}
	if prov, ok := cache[id]; ok {
		return prov, nil
	}
	var prov provider.Provider
	if typ == config.TypeEquifax {
		pp, err := w.provider(p.TransportOr(w.cfg.Equifax.Transport), hc)
		if err != nil {
			return nil, err
		}
		prov = pp
	} else {
		build, ok := providerBuilders[typ]
		if !ok {
			return nil, usageErrorf("providers %s: type %q cannot be rotated by this build (it knows %v)", p.Key, typ, builtTypes())
		}
		log := w.log.WithField("provider", typ)
		if !w.cfg.Rotation.EnableClientSecretRenewal {
			log = log.WithField("mock_safe", true)
		}
		pp, err := build(providerBuild{Config: w.cfg, HTTPClient: hc, Log: log, SecretSeen: w.red.AddSecret, DryRun: w.dryRun})
		if err != nil {
			return nil, err
		}
		if l, ok := pp.(provider.Lister); ok {
			// Listing only reads: the inventory asks the provider itself.
			if w.listers == nil {
				w.listers = map[string]provider.Lister{}
			}
			w.listers[typ] = l
		}
		if !w.cfg.Rotation.EnableClientSecretRenewal {
			pp = neutralmock.New(pp, neutralmock.Options{Logger: log})
		}
		prov = redactProvider(pp, w.red)
	}
	cache[id] = prov
	return prov, nil
}
