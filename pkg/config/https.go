package config

import (
	"fmt"
	"net/url"
	"strings"
)

// validateHTTPS refuses plain http to any host that is not loopback for
// every URL that carries a credential: the Equifax URLs (client credentials
// and tokens), github.apiURL (the GitHub token) and an http git.url (the
// push token). Loopback stays allowed for the local emulator, localhub and
// the demo. environments[].cert.url is held to the same rule where it is
// checked (validateEnvironments).
func (c *Config) validateHTTPS(ps *problems) {
	for _, u := range []struct{ key, val, fix string }{
		{"equifax.baseURL", c.Equifax.BaseURL, "use https://api.equifax.com (or your Equifax host over https)"},
		{"equifax.tokenURL", c.Equifax.TokenURL, "use https://api.equifax.com/v2/oauth/token (or your Equifax host over https)"},
		{"equifax.soapURL", c.Equifax.SOAPURL, "use https://api.equifax.com/business/security/soap/v1 (or your Equifax host over https)"},
		{"github.apiURL", c.GitHub.APIURL, "use https://api.github.com/ or, for GitHub Enterprise, https://HOST/api/v3/"},
		{"git.url", c.Git.URL, "use https://HOST/OWNER/REPO.git or an ssh URL"},
		{"entra.graphURL", c.Entra.GraphURL, "use https://graph.microsoft.com"},
		{"entra.loginURL", c.Entra.LoginURL, "use https://login.microsoftonline.com"},
		{"okta.orgURL", c.Okta.OrgURL, "use https://YOUR-ORG.okta.com"},
		{"okta.tokenURL", c.Okta.TokenURL, "use the org's https token endpoint"},
		{"gcp.endpoint", c.GCP.Endpoint, "use https://iam.googleapis.com/"},
		{"gcp.tokenURL", c.GCP.TokenURL, "use https://oauth2.googleapis.com/token"},
	} {
		if plainHTTPToRemote(u.val) {
			ps.add(u.key, MaskURL(u.val), "uses plain http to a host that is not loopback, so credentials would cross the network in clear text",
				fmt.Sprintf("%s; plain http is allowed only for loopback hosts (a local emulator or localhub)", u.fix))
		}
	}
}

// plainHTTPToRemote reports whether raw is an http URL whose host is not
// loopback.
func plainHTTPToRemote(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
		return false
	}
	return !isLoopback(strings.ToLower(u.Hostname()))
}
