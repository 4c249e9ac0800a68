package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

func TestBuildEntra(t *testing.T) {
	t.Parallel()
	base := func() *config.Config {
		return &config.Config{
			Entra: config.Entra{TenantID: "contoso.onmicrosoft.com", GraphURL: entra.DefaultGraphURL, LoginURL: entra.DefaultLoginURL, SecretLifetime: 90 * 24 * time.Hour},
			Providers: []config.Provider{
				{Key: "entra.a", Type: config.TypeEntra, ClientID: "c1", ObjectID: "o1"},
				{Key: "equifax.b", ClientID: "c2"},
			},
		}
	}
	if _, ok := providerBuilders[config.TypeEntra]; !ok {
		t.Fatal("entra is not registered")
	}
	var logs bytes.Buffer
	l := logrus.New()
	l.SetOutput(&logs)
	p, err := buildEntra(providerBuild{Config: base(), Log: logrus.NewEntry(l)})
	if err != nil {
		t.Fatal(err)
	}
	if _, lists := p.(provider.Lister); p.Name() != "entra" || lists || !strings.Contains(logs.String(), "self-managed") {
		t.Errorf("self-managed: %v %q", p.Name(), logs.String())
	}

	cfg := base()
	cfg.Entra.Management = config.EntraManagement{ClientID: "m", ClientSecret: &config.SecretSource{Env: "ENTRA_MANAGEMENT_SECRET"}}
	p, err = buildEntra(providerBuild{Config: cfg})
	if _, lists := p.(provider.Lister); err != nil || !lists {
		t.Errorf("management client secret: %v", err)
	}
	cfg.Entra.Management = config.EntraManagement{ClientID: "m", FederatedTokenFile: "/var/run/secrets/azure/tokens/azure-identity-token"}
	if _, err := buildEntra(providerBuild{Config: cfg}); err != nil {
		t.Errorf("workload identity: %v", err)
	}

	cfg = base()
	cfg.Entra.TenantID = ""
	if _, err := buildEntra(providerBuild{Config: cfg}); err == nil || !strings.Contains(err.Error(), "entra.tenantID") {
		t.Errorf("no tenant: %v", err)
	}
	cfg = base()
	cfg.Entra.Management = config.EntraManagement{ClientID: "m", ClientSecret: &config.SecretSource{}}
	if _, err := buildEntra(providerBuild{Config: cfg}); err == nil || !strings.Contains(err.Error(), "entra.management.clientSecret") {
		t.Errorf("a secret source naming nothing: %v", err)
	}
}
