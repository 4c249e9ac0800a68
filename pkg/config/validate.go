package config

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Problem is one thing wrong with a configuration: the key, the bad value
// (never a secret: the configuration holds none), what is wrong and the fix.
type Problem struct {
	Key     string `json:"key"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

func (p Problem) String() string {
	s := p.Key
	if p.Value != "" {
		s += fmt.Sprintf(" = %q", p.Value)
	}
	s += " " + p.Message
	if p.Fix != "" {
		s += ": " + p.Fix
	}
	return s
}

// ValidationError lists every problem of a configuration.
type ValidationError struct {
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	where := "the configuration"
	if e.File != "" {
		where = e.File
	}
	fmt.Fprintf(&b, "%s has %d problem(s):", where, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.String())
	}
	return b.String()
}

// Validate checks c and returns a *ValidationError listing every problem, or nil.
func (c *Config) Validate() error {
	if ps := c.validate(); len(ps) > 0 {
		return &ValidationError{File: c.File, Problems: ps}
	}
	return nil
}

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	dnsSubdomain  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	secretDataKey = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)
	envVarName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	branchName    = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
)

type problems struct {
	list []Problem
	skip map[string]bool
}

func (ps *problems) add(key, value, msg, fix string) {
	if ps.skip[key] {
		return
	}
	ps.list = append(ps.list, Problem{Key: key, Value: value, Message: msg, Fix: fix})
}

func (c *Config) validate() []Problem {
	ps := problems{skip: c.unparsed}
	c.validateGit(&ps)
	c.validateGitHub(&ps)
	c.validateEquifax(&ps)
	c.validateHTTPS(&ps)
	switch c.PullRequest.Grouping {
	case "perRun", "perKey":
	default:
		ps.add("pullRequest.grouping", c.PullRequest.Grouping, "is not a grouping", "use perRun (one PR per run) or perKey (one PR per provider key)")
	}
	if c.Notify.WebhookURLEnv != "" && !envVarName.MatchString(c.Notify.WebhookURLEnv) {
		ps.add("notify.webhookURLEnv", c.Notify.WebhookURLEnv, "is not an environment variable name", "name the variable that holds the webhook URL, e.g. SLACK_WEBHOOK_URL")
	}
	c.validateProviders(&ps)
	c.validateServices(&ps)
	c.validateEnvironments(&ps)
	c.validateSchedule(&ps)
	c.validatePaths(&ps)
	return ps.list
}

func (c *Config) validateGit(ps *problems) {
	g := c.Git
	switch {
	case g.URL == "":
		ps.add("git.url", "", "is required", "set it to the GitOps repository, e.g. https://github.com/acme/gitops.git, git@github.com:acme/gitops.git or file:///srv/gitops.git")
	case strings.HasPrefix(g.URL, "git@") || strings.HasPrefix(g.URL, "ssh://"):
	default:
		u, err := url.Parse(g.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file") {
			ps.add("git.url", MaskURL(g.URL), "is not an https, ssh or file:// URL", "use https://HOST/OWNER/REPO.git, git@HOST:OWNER/REPO.git or file:///path/to/repo.git")
		} else if u.User != nil {
			if _, has := u.User.Password(); has {
				ps.add("git.url", MaskURL(g.URL), "carries a password", "remove it from the URL and name the variable that holds it in git.tokenEnv")
			}
		}
	}
	if g.BaseBranch == "" || !branchName.MatchString(g.BaseBranch) {
		ps.add("git.baseBranch", g.BaseBranch, "is not a branch name", "name the branch Argo CD or Flux deploys from, e.g. main")
	}
	if g.BranchPrefix == "" || !branchName.MatchString(g.BranchPrefix) || strings.Contains(g.BranchPrefix, "..") {
		ps.add("git.branchPrefix", g.BranchPrefix, "is not a branch prefix", "use something like credrotate/")
	}
	if g.Author.Name == "" {
		ps.add("git.author.name", "", "is required", "set the commit author's name, e.g. credrotate")
	}
	if !strings.Contains(g.Author.Email, "@") {
		ps.add("git.author.email", g.Author.Email, "is not an email address", "set the commit author's email, e.g. credrotate@example.com")
	}
	if g.TokenEnv != "" && !envVarName.MatchString(g.TokenEnv) {
		ps.add("git.tokenEnv", g.TokenEnv, "is not an environment variable name", "name the variable that holds the push token, e.g. GITHUB_TOKEN")
	}
}

func (c *Config) validateGitHub(ps *problems) {
	gh := c.GitHub
	if u, err := url.Parse(gh.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ps.add("github.apiURL", MaskURL(gh.APIURL), "is not an http(s) URL", "use https://api.github.com/ or, for GitHub Enterprise, https://HOST/api/v3/")
	}
	if gh.Owner == "" {
		ps.add("github.owner", "", "is required", "set the owner (user or organisation) of the GitOps repository")
	}
	if gh.Repo == "" {
		ps.add("github.repo", "", "is required", "set the name of the GitOps repository")
	}
	if gh.App.Enabled() {
		if gh.App.ID <= 0 {
			ps.add("github.app.id", fmt.Sprint(gh.App.ID), "must be the GitHub App's id", "copy it from the App's settings page")
		}
		if gh.App.InstallationID <= 0 {
			ps.add("github.app.installationID", fmt.Sprint(gh.App.InstallationID), "must be the App installation's id", "copy it from the installation's URL")
		}
		if gh.App.PrivateKeyFile == "" {
			ps.add("github.app.privateKeyFile", "", "is required for App authentication", "point it at the App's private key (PEM)")
		}
	} else if gh.TokenEnv == "" || !envVarName.MatchString(gh.TokenEnv) {
		ps.add("github.tokenEnv", gh.TokenEnv, "is not an environment variable name", "name the variable that holds the GitHub token, or configure github.app")
	}
	switch gh.AutoMerge.Method {
	case "merge", "squash", "rebase":
	default:
		ps.add("github.autoMerge.method", gh.AutoMerge.Method, "is not a merge method", "use merge, squash or rebase")
	}
	for _, d := range c.Notify.ExpiryNoticeDays {
		if d < 1 || d > 365 {
			ps.add("notify.expiryNoticeDays", fmt.Sprint(d), "is not a number of days from 1 to 365", "list the days before expiry to be told at, e.g. [30, 14, 7, 3], or [] for no notices")
		}
	}
	if gh.Dashboard.Enabled && strings.TrimSpace(gh.Dashboard.Title) == "" {
		ps.add("github.dashboard.title", gh.Dashboard.Title, "is empty", "give the dashboard issue a title, e.g. \"credrotate: credential dashboard\"")
	}
	if gh.Dashboard.Enabled && len(gh.Dashboard.Labels) == 0 {
		ps.add("github.dashboard.labels", "", "is empty", "give the dashboard issue a label of its own, e.g. [credrotate-dashboard]: it is how the issue is found again")
	}
	switch gh.AutoMerge.Strategy {
	case "native", "direct":
	default:
		ps.add("github.autoMerge.strategy", gh.AutoMerge.Strategy, "is not a strategy", "use native (GitHub's auto-merge) or direct (credrotate merges once checks pass)")
	}
	for i, r := range gh.Reviewers {
		if r == "" || strings.ContainsAny(r, " /@") {
			ps.add(fmt.Sprintf("github.reviewers[%d]", i), r, "is not a GitHub login", "write the login without @, and put teams in github.teamReviewers")
		}
	}
}

func (c *Config) validateEquifax(ps *problems) {
	e := c.Equifax
	switch e.Transport {
	case "rest", "soap":
	default:
		ps.add("equifax.transport", e.Transport, "is not a transport", "use rest or soap")
	}
	for _, u := range []struct{ key, val string }{
		{"equifax.baseURL", e.BaseURL}, {"equifax.tokenURL", e.TokenURL}, {"equifax.soapURL", e.SOAPURL},
	} {
		if !isHTTPURL(u.val) {
			ps.add(u.key, MaskURL(u.val), "is not an http(s) URL", "use https://...; plain http is only for a local emulator")
		}
	}
	if e.ManagementScope == "" {
		ps.add("equifax.managementScope", "", "is required", "use https://api.equifax.com/business/security/v1 unless Equifax gave you another")
	}
	if e.RenewBefore <= 0 {
		ps.add("equifax.renewBefore", e.RenewBefore.String(), "must be positive", "use the renewal window before expiry, e.g. 336h (14 days)")
	}
	if e.GracePeriod <= 0 || e.GracePeriod > 30*24*time.Hour {
		ps.add("equifax.gracePeriod", e.GracePeriod.String(), "must be between 1s and 720h (30 days, Equifax's maximum)", "use e.g. 168h (7 days)")
	}
	if e.RevokeAfter < 0 {
		ps.add("equifax.revokeAfter", e.RevokeAfter.String(), "must not be negative", "use e.g. 24h")
	} else if e.GracePeriod > 0 && e.RevokeAfter >= e.GracePeriod {
		ps.add("equifax.revokeAfter", e.RevokeAfter.String(), "must be shorter than equifax.gracePeriod ("+e.GracePeriod.String()+")", "otherwise the old secret expires before it is revoked on purpose; lower it or raise the grace period")
	}
	ps.checkCritical(e)
	if e.Concurrency < 1 || e.Concurrency > 64 {
		ps.add("equifax.concurrency", fmt.Sprint(e.Concurrency), "must be between 1 and 64", "use e.g. 16")
	}
	if e.Timeout <= 0 {
		ps.add("equifax.timeout", e.Timeout.String(), "must be positive", "use e.g. 30s")
	}
}

// clientIDMeaning says what a provider type's clientID names.
var clientIDMeaning = map[string]string{
	TypeEquifax: "Equifax client id",
	TypeEntra:   "Entra application (client) id",
	TypeOkta:    "Okta app's client id",
	TypeGCPKey:  "service account's email",
}

func (c *Config) validateProviders(ps *problems) {
	if len(c.Providers) == 0 {
		ps.add("providers", "", "is empty", "list at least one provider key with its clientID, currentSecret and secret")
	}
	seen := map[credential.ProviderKey]int{}
	type target struct{ name, ns, key string }
	targets := map[target]credential.ProviderKey{}
	for i, p := range c.Providers {
		k := fmt.Sprintf("providers[%d]", i)
		if err := p.Key.Validate(); err != nil {
			ps.add(k+".key", string(p.Key), "is not a valid provider key", "use lower-case letters, digits, '.', '_' or '-', e.g. equifax.unique_client_id")
		} else if j, dup := seen[p.Key]; dup {
			ps.add(k+".key", string(p.Key), fmt.Sprintf("is used twice (also providers[%d])", j), "give each provider its own key")
		} else {
			seen[p.Key] = i
		}
		typ := p.TypeOrDefault()
		if !slices.Contains(ProviderTypes, typ) {
			ps.add(k+".type", p.Type, "is not a provider type", "use "+strings.Join(ProviderTypes, ", ")+" (equifax when left out)")
		}
		if p.ClientID == "" {
			ps.add(k+".clientID", "", "is required", "set the "+cmp.Or(clientIDMeaning[typ], "client id")+" of this credential")
		}
		switch {
		case p.Transport != "" && typ != TypeEquifax:
			ps.add(k+".transport", p.Transport, "is only for Equifax keys", "remove it; a "+typ+" key has one transport")
		case p.Transport == "", p.Transport == "rest", p.Transport == "soap":
		default:
			ps.add(k+".transport", p.Transport, "is not a transport", "use rest or soap, or leave it out to use equifax.transport")
		}
		cs := p.CurrentSecret
		n := 0
		if cs.File != "" {
			n++
		}
		if cs.Env != "" {
			n++
			if !envVarName.MatchString(cs.Env) {
				ps.add(k+".currentSecret.env", cs.Env, "is not an environment variable name", "name the variable that holds the current secret")
			}
		}
		if cs.Kubernetes != nil {
			n++
			kk := cs.Kubernetes
			if !dnsLabel.MatchString(kk.Namespace) || !dnsSubdomain.MatchString(kk.Name) || !secretDataKey.MatchString(kk.Key) {
				ps.add(k+".currentSecret.kubernetes", kk.Namespace+"/"+kk.Name+"["+kk.Key+"]", "does not name a Secret key", "set namespace, name and key of the deployed Secret")
			}
		}
		if n != 1 {
			ps.add(k+".currentSecret", "", fmt.Sprintf("names %d sources", n), "set exactly one of file (a mounted Secret), env or kubernetes, so credrotate can see the deployed secret")
		}
		if !dnsSubdomain.MatchString(p.Secret.Name) {
			ps.add(k+".secret.name", p.Secret.Name, "is not a Kubernetes object name", "use the name of the Secret your workload reads, e.g. equifax-credentials")
		}
		if !dnsLabel.MatchString(p.Secret.Namespace) {
			ps.add(k+".secret.namespace", p.Secret.Namespace, "is not a Kubernetes namespace", "use the namespace the Secret lives in")
		}
		if !secretDataKey.MatchString(p.Secret.DataKey) {
			ps.add(k+".secret.dataKey", p.Secret.DataKey, "is not a Secret data key", "use letters, digits, '-', '_' or '.', e.g. client_secret")
		}
		t := target{p.Secret.Name, p.Secret.Namespace, p.Secret.DataKey}
		if other, dup := targets[t]; dup && p.Secret.Name != "" {
			ps.add(k+".secret", fmt.Sprintf("%s/%s[%s]", t.ns, t.name, t.key), "is written by "+string(other)+" too", "give each provider its own Secret or data key, or two rotations will overwrite each other")
		} else {
			targets[t] = p.Key
		}
	}
}

func (c *Config) validateEnvironments(ps *problems) {
	if len(c.Environments) == 0 {
		ps.add("environments", "", "is empty", "list each environment overlay with its path and sealing certificate")
	}
	names := map[string]int{}
	paths := map[string]int{}
	for i, e := range c.Environments {
		k := fmt.Sprintf("environments[%d]", i)
		if !dnsLabel.MatchString(e.Name) {
			ps.add(k+".name", e.Name, "is not a valid environment name", "use a short lower-case name such as prod")
		} else if j, dup := names[e.Name]; dup {
			ps.add(k+".name", e.Name, fmt.Sprintf("is used twice (also environments[%d])", j), "give each environment its own name")
		} else {
			names[e.Name] = i
		}
		clean := path.Clean(e.Path)
		switch {
		case e.Path == "":
			ps.add(k+".path", "", "is required", "set the overlay folder in the GitOps repository, e.g. overlays/prod/credentials")
		case path.IsAbs(e.Path) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(e.Path, `\`):
			ps.add(k+".path", e.Path, "leaves the repository", "use a path relative to the repository root, e.g. overlays/prod/credentials")
		default:
			if j, dup := paths[clean]; dup {
				ps.add(k+".path", e.Path, fmt.Sprintf("is also environments[%d]'s folder, so two environments would write the same files", j), "give each environment its own folder")
			} else {
				paths[clean] = i
			}
		}
		if e.IsSOPS() || e.Encryption != "" && e.Encryption != EncryptionSealedSecrets {
			validateSOPSEnvironment(ps, k, e)
			continue
		}
		if len(e.SOPS.AgeRecipients) > 0 || e.SOPS.AgeKeyFile != "" {
			ps.add(k+".sops", "", "is set but the environment's encryption is "+EncryptionSealedSecrets, "set encryption: sops, or remove the sops section")
		}
		switch {
		case e.Cert.File == "" && e.Cert.URL == "":
			ps.add(k+".cert", "", "has no certificate source", "set cert.file (a PEM from `kubeseal --fetch-cert`) or cert.url (the controller's /v1/cert.pem)")
		case e.Cert.File != "" && e.Cert.URL != "":
			ps.add(k+".cert", "", "has both file and url", "keep one of them")
		case e.Cert.URL != "":
			if u, err := url.Parse(e.Cert.URL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
				ps.add(k+".cert.url", MaskURL(e.Cert.URL), "is not an https URL", "use https://.../v1/cert.pem; plain http is only allowed on loopback")
			}
		}
		if fp := e.CertFingerprint; fp != "" {
			h := strings.ToLower(strings.NewReplacer(":", "", "sha256:", "").Replace(fp))
			if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
				ps.add(k+".certFingerprint", fp, "is not a SHA-256 fingerprint", "use the output of `openssl x509 -noout -fingerprint -sha256 -in cert.pem`")
			}
		}
		switch e.Scope {
		case ScopeStrict, ScopeNamespaceWide, ScopeClusterWide:
		default:
			ps.add(k+".scope", e.Scope, "is not a sealing scope", "use strict, namespace-wide or cluster-wide")
		}
		if e.Namespace != "" && !dnsLabel.MatchString(e.Namespace) {
			ps.add(k+".namespace", e.Namespace, "is not a Kubernetes namespace", "use the namespace this overlay renders, or leave it empty")
		}
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MaskURL hides the user information of a URL, which may carry a token.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("xxxxx")
	return u.String()
}
