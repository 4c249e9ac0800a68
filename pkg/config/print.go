package config

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Masked renders the effective configuration as YAML with every value that
// could carry a credential masked (user information in URLs), followed by a
// comment per secret source saying whether it is present — never its value.
func (c *Config) Masked(lookupEnv func(string) (string, bool)) ([]byte, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	m := *c
	m.Git.URL = MaskURL(m.Git.URL)
	m.GitHub.APIURL = MaskURL(m.GitHub.APIURL)
	m.Equifax.BaseURL = MaskURL(m.Equifax.BaseURL)
	m.Equifax.TokenURL = MaskURL(m.Equifax.TokenURL)
	m.Equifax.SOAPURL = MaskURL(m.Equifax.SOAPURL)
	m.Environments = append([]Environment(nil), c.Environments...)
	for i := range m.Environments {
		m.Environments[i].Cert.URL = MaskURL(m.Environments[i].Cert.URL)
	}
	j, err := json.Marshal(durationsAsText(m))
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return nil, err
	}
	var notes []string
	present := func(name string) string {
		if v, ok := lookupEnv(name); ok && v != "" {
			return "set"
		}
		return "NOT SET"
	}
	if !c.GitHub.App.Enabled() {
		notes = append(notes, fmt.Sprintf("github token: environment variable %s (%s)", c.GitHub.TokenEnv, present(c.GitHub.TokenEnv)))
	}
	if c.Git.TokenEnv != "" && c.Git.SSHKeyFile == "" && !strings.HasPrefix(c.Git.URL, "file://") {
		notes = append(notes, fmt.Sprintf("git push token: environment variable %s (%s)", c.Git.TokenEnv, present(c.Git.TokenEnv)))
	}
	if c.Notify.WebhookURLEnv != "" {
		notes = append(notes, fmt.Sprintf("webhook URL: environment variable %s (%s)", c.Notify.WebhookURLEnv, present(c.Notify.WebhookURLEnv)))
	}
	for _, p := range c.Providers {
		switch {
		case p.CurrentSecret.Env != "":
			notes = append(notes, fmt.Sprintf("%s current secret: environment variable %s (%s)", p.Key, p.CurrentSecret.Env, present(p.CurrentSecret.Env)))
		case p.CurrentSecret.File != "":
			st := "present"
			if _, err := os.Stat(p.CurrentSecret.File); err != nil {
				st = "MISSING"
			}
			notes = append(notes, fmt.Sprintf("%s current secret: file %s (%s)", p.Key, p.CurrentSecret.File, st))
		}
	}
	sort.Strings(notes)
	var b strings.Builder
	b.Write(y)
	b.WriteString("# Secret values are never printed. Their sources:\n")
	for _, n := range notes {
		b.WriteString("#   " + n + "\n")
	}
	return []byte(b.String()), nil
}

// durationsAsText swaps time.Duration fields for their text form.
func durationsAsText(c Config) any {
	type eqx struct {
		Equifax
		RenewBefore string `json:"renewBefore"`
		GracePeriod string `json:"gracePeriod"`
		RevokeAfter string `json:"revokeAfter"`
		Timeout     string `json:"timeout"`

		CriticalBefore string `json:"criticalBefore"`
	}
	return struct {
		Git          Git           `json:"git"`
		GitHub       GitHub        `json:"github"`
		PullRequest  PullRequest   `json:"pullRequest"`
		Notify       Notify        `json:"notify"`
		Equifax      eqx           `json:"equifax"`
		Providers    []Provider    `json:"providers"`
		Environments []Environment `json:"environments"`
		Schedule     string        `json:"schedule"`
	}{c.Git, c.GitHub, c.PullRequest, c.Notify, eqx{c.Equifax, c.Equifax.RenewBefore.String(), c.Equifax.GracePeriod.String(), c.Equifax.RevokeAfter.String(), c.Equifax.Timeout.String(), c.Equifax.CriticalBefore.String()}, c.Providers, c.Environments, c.Schedule}
}
