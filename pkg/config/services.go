package config

import (
	"fmt"
	"regexp"
	"time"
)

// Entra configures Microsoft Entra ID application passwords (providers of
// type entra).
type Entra struct {
	// TenantID is the directory (tenant) id or a verified domain.
	TenantID string `json:"tenantID"`
	GraphURL string `json:"graphURL"`
	LoginURL string `json:"loginURL"`
	// SecretLifetime is the end date a new password is given, after its
	// creation; a tenant's app management policy may allow less.
	SecretLifetime time.Duration `json:"secretLifetime"`
	// Management is the identity that manages the applications; with no
	// clientID each application manages its own passwords with its current
	// secret.
	Management EntraManagement `json:"management"`
}

// EntraManagement is Entra's management identity.
type EntraManagement struct {
	// ClientID is the managing application's client id.
	ClientID string `json:"clientID"`
	// ClientSecret is its secret (client credentials).
	ClientSecret *SecretSource `json:"clientSecret,omitempty"`
	// FederatedTokenFile holds a workload identity token instead
	// (AZURE_FEDERATED_TOKEN_FILE on AKS).
	FederatedTokenFile string `json:"federatedTokenFile,omitempty"`
}

// Okta configures Okta app client secrets (providers of type okta).
type Okta struct {
	OrgURL string `json:"orgURL"`
	// MaxAge is how old a secret may get: Okta sets no expiry, so each
	// secret is treated as expiring at its creation plus MaxAge.
	MaxAge time.Duration `json:"maxAge"`
	// TokenURL is where a new secret is proven (default the org's default
	// custom authorization server), with Scope.
	TokenURL   string         `json:"tokenURL"`
	Scope      string         `json:"scope"`
	Management OktaManagement `json:"management"`
}

// OktaManagement is Okta's management identity: an API token or an OAuth
// service app with okta.apps.read and okta.apps.manage.
type OktaManagement struct {
	APIToken   *SecretSource   `json:"apiToken,omitempty"`
	ServiceApp *OktaServiceApp `json:"serviceApp,omitempty"`
}

// OktaServiceApp is an OAuth 2.0 service app authenticating with a private
// key (private_key_jwt).
type OktaServiceApp struct {
	ClientID       string `json:"clientID"`
	PrivateKeyFile string `json:"privateKeyFile"`
	KeyID          string `json:"keyID,omitempty"`
}

// GCP configures Google Cloud service account keys (providers of type
// gcpkey).
type GCP struct {
	Endpoint string `json:"endpoint"`
	TokenURL string `json:"tokenURL"`
	// CredentialsFile is the management identity's credentials; empty:
	// Application Default Credentials (workload identity).
	CredentialsFile string `json:"credentialsFile"`
	// MaxKeyAge is when a key without an expiry is treated as expiring.
	MaxKeyAge time.Duration `json:"maxKeyAge"`
	// Project is the id of the project whose service accounts the
	// inventory lists; empty: the inventory shows the configured keys only.
	Project string `json:"project,omitempty"`
}

// gcpProjectID is the form of a Google Cloud project id: 6 to 30
// lower-case letters, digits and hyphens, starting with a letter, not
// ending with a hyphen.
var gcpProjectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// Uses reports whether any provider has type typ.
func (c *Config) Uses(typ string) bool { return c.uses(typ) }

// uses reports whether any provider has type typ.
func (c *Config) uses(typ string) bool {
	for _, p := range c.Providers {
		if p.TypeOrDefault() == typ {
			return true
		}
	}
	return false
}

// validateServices checks the section of every provider type in use.
func (c *Config) validateServices(ps *problems) {
	if c.uses(TypeEntra) {
		e := c.Entra
		if e.TenantID == "" {
			ps.add("entra.tenantID", "", "is required for entra providers", "set the directory (tenant) id or a verified domain, e.g. contoso.onmicrosoft.com")
		}
		for _, u := range []struct{ key, val string }{{"entra.graphURL", e.GraphURL}, {"entra.loginURL", e.LoginURL}} {
			if !isHTTPURL(u.val) {
				ps.add(u.key, MaskURL(u.val), "is not an http(s) URL", "leave it out for Microsoft's public cloud, or use the national cloud's https URL")
			}
		}
		if e.SecretLifetime <= 0 {
			ps.add("entra.secretLifetime", e.SecretLifetime.String(), "must be positive", "use e.g. 2160h (90 days), within the tenant's app management policy")
		}
		m := e.Management
		switch {
		case m.ClientSecret != nil && m.FederatedTokenFile != "":
			ps.add("entra.management", "", "names both a clientSecret and a federatedTokenFile", "keep one: a client secret, or a workload identity token file")
		case (m.ClientSecret != nil || m.FederatedTokenFile != "") && m.ClientID == "":
			ps.add("entra.management.clientID", "", "is required with a clientSecret or federatedTokenFile", "set the managing application's client id")
		case m.ClientID != "" && m.ClientSecret == nil && m.FederatedTokenFile == "":
			ps.add("entra.management", "", "names a clientID but no clientSecret or federatedTokenFile", "add one, or remove clientID to let each application manage its own passwords")
		}
		if m.ClientSecret != nil {
			ps.checkSource("entra.management.clientSecret", *m.ClientSecret)
		}
	}
	if c.uses(TypeOkta) {
		o := c.Okta
		if !isHTTPURL(o.OrgURL) {
			ps.add("okta.orgURL", MaskURL(o.OrgURL), "is required for okta providers", "set your org's URL, e.g. https://acme.okta.com")
		}
		if o.TokenURL != "" && !isHTTPURL(o.TokenURL) {
			ps.add("okta.tokenURL", MaskURL(o.TokenURL), "is not an http(s) URL", "leave it out for the org's default authorization server")
		}
		if o.MaxAge <= 0 {
			ps.add("okta.maxAge", o.MaxAge.String(), "must be positive", "Okta secrets never expire; set how old one may get, e.g. 2160h (90 days)")
		}
		m := o.Management
		switch {
		case (m.APIToken == nil) == (m.ServiceApp == nil):
			ps.add("okta.management", "", "must name exactly one of apiToken and serviceApp", "use an API token ({env: OKTA_API_TOKEN}) or a service app with okta.apps.manage")
		case m.APIToken != nil:
			ps.checkSource("okta.management.apiToken", *m.APIToken)
		case m.ServiceApp.ClientID == "" || m.ServiceApp.PrivateKeyFile == "":
			ps.add("okta.management.serviceApp", "", "needs clientID and privateKeyFile", "set the service app's client id and the PEM file of its private key")
		}
	}
	if c.uses(TypeGCPKey) {
		g := c.GCP
		for _, u := range []struct{ key, val string }{{"gcp.endpoint", g.Endpoint}, {"gcp.tokenURL", g.TokenURL}} {
			if !isHTTPURL(u.val) {
				ps.add(u.key, MaskURL(u.val), "is not an http(s) URL", "leave it out for Google's public endpoints")
			}
		}
		if g.MaxKeyAge <= 0 {
			ps.add("gcp.maxKeyAge", g.MaxKeyAge.String(), "must be positive", "use e.g. 2160h (90 days)")
		}
		if g.Project != "" && !gcpProjectID.MatchString(g.Project) {
			ps.add("gcp.project", g.Project, "is not a project id (6 to 30 lower-case letters, digits and hyphens, starting with a letter)", "use the project's id, e.g. acme-prod (gcloud projects list shows it), not its name or number")
		}
	}
	c.validateHTTP(ps)
	for i, p := range c.Providers {
		if p.ObjectID != "" && p.TypeOrDefault() != TypeEntra {
			ps.add(fmt.Sprintf("providers[%d].objectID", i), p.ObjectID, "is only for entra providers", "remove it")
		}
	}
}

// checkSource checks a secret source that must name exactly one place.
func (ps *problems) checkSource(key string, s SecretSource) {
	n := 0
	for _, set := range []bool{s.File != "", s.Env != "", s.Kubernetes != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		ps.add(key, "", fmt.Sprintf("names %d sources", n), "set exactly one of file, env or kubernetes")
	}
	if s.Env != "" && !envVarName.MatchString(s.Env) {
		ps.add(key+".env", s.Env, "is not an environment variable name", "name the variable that holds it")
	}
}
