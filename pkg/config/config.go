// Package config is credrotate's configuration: the typed Config, its
// defaults, Load (file, CREDROTATE_* environment variables and overrides,
// through one local viper instance) and Validate, which reports every problem
// at once. It is the only package that imports viper.
package config

import (
	"path"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Config is the whole configuration of a credrotate run.
type Config struct {
	Git         Git         `json:"git"`
	GitHub      GitHub      `json:"github"`
	PullRequest PullRequest `json:"pullRequest"`
	Notify      Notify      `json:"notify"`
	Equifax     Equifax     `json:"equifax"`
	// Rotation is the provider-neutral rotation policy: the rotation.*
	// keys, or their equifax.* spellings, which older files use.
	Rotation     Rotation      `json:"rotation"`
	Entra        Entra         `json:"entra"`
	Okta         Okta          `json:"okta"`
	GCP          GCP           `json:"gcp"`
	HTTP         HTTP          `json:"http"`
	Providers    []Provider    `json:"providers"`
	Environments []Environment `json:"environments"`
	// Schedule is when scheduled runs start (a five-field cron expression,
	// as the chart's CronJob or the Actions workflow has it); it is only
	// checked against equifax.gracePeriod.
	Schedule string `json:"schedule"`

	// File is the configuration file that was read, if any.
	File string `json:"-"`

	// unparsed holds keys whose values did not parse; Load reported them
	// already, so validate does not report them twice.
	unparsed map[string]bool
	// spell maps keys back to the file's spelling (see Spelling).
	spell spelling
}

// Git says where the GitOps repository is and how to write to it.
type Git struct {
	URL            string `json:"url"`
	BaseBranch     string `json:"baseBranch"`
	BranchPrefix   string `json:"branchPrefix"`
	Author         Author `json:"author"`
	TokenEnv       string `json:"tokenEnv"`
	SSHKeyFile     string `json:"sshKeyFile"`
	SigningKeyFile string `json:"signingKeyFile"`
}

// Author is the commit author.
type Author struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// GitHub configures the pull requests and alert issues.
type GitHub struct {
	APIURL        string    `json:"apiURL"`
	Owner         string    `json:"owner"`
	Repo          string    `json:"repo"`
	TokenEnv      string    `json:"tokenEnv"`
	App           GitHubApp `json:"app"`
	Labels        []string  `json:"labels"`
	Reviewers     []string  `json:"reviewers"`
	TeamReviewers []string  `json:"teamReviewers"`
	AutoMerge     AutoMerge `json:"autoMerge"`
	AlertLabels   []string  `json:"alertLabels"`
	Dashboard     Dashboard `json:"dashboard"`
}

// Dashboard is the one issue per repository that every run keeps up to
// date with every credential's state (opt-in).
type Dashboard struct {
	Enabled bool     `json:"enabled"`
	Title   string   `json:"title"`
	Labels  []string `json:"labels"`
}

// GitHubApp authenticates as a GitHub App installation instead of a token.
type GitHubApp struct {
	ID             int64  `json:"id"`
	InstallationID int64  `json:"installationID"`
	PrivateKeyFile string `json:"privateKeyFile"`
}

// Enabled reports whether App authentication is configured.
func (a GitHubApp) Enabled() bool {
	return a.ID != 0 || a.InstallationID != 0 || a.PrivateKeyFile != ""
}

// AutoMerge configures how a rotation pull request lands.
type AutoMerge struct {
	Enabled bool `json:"enabled"`
	// Method is merge, squash or rebase.
	Method string `json:"method"`
	// Strategy is native (GitHub's auto-merge) or direct (merge once checks pass).
	Strategy string `json:"strategy"`
}

// PullRequest configures how rotations are grouped into pull requests.
type PullRequest struct {
	// Grouping is perRun (one PR for every key of a run) or perKey.
	Grouping string `json:"grouping"`
}

// Notify configures the optional webhook.
type Notify struct {
	// WebhookURLEnv names the environment variable holding a Slack-compatible
	// webhook URL; the URL itself is a secret and never in the file.
	WebhookURLEnv string `json:"webhookURLEnv"`
	// ExpiryNoticeDays are the days before a credential's expiry at which a
	// notice is raised (an alert issue, and the webhook), once each: every
	// threshold for a credential credrotate does not manage, and those
	// inside the renewal window (the rotation is late) for one it does.
	// Empty: no notices.
	ExpiryNoticeDays []int `json:"expiryNoticeDays"`
}

// Equifax configures the provider.
type Equifax struct {
	// EnableClientSecretRenewal false selects the mock-safe provider:
	// nothing is mutated at Equifax.
	EnableClientSecretRenewal bool          `json:"enableClientSecretRenewal"`
	Transport                 string        `json:"transport"`
	BaseURL                   string        `json:"baseURL"`
	TokenURL                  string        `json:"tokenURL"`
	SOAPURL                   string        `json:"soapURL"`
	ManagementScope           string        `json:"managementScope"`
	RenewBefore               time.Duration `json:"renewBefore"`
	GracePeriod               time.Duration `json:"gracePeriod"`
	RevokeAfter               time.Duration `json:"revokeAfter"`
	Concurrency               int           `json:"concurrency"`
	Timeout                   time.Duration `json:"timeout"`

	// CriticalBefore is the expiry guard: a secret in use that stops being
	// valid within it raises a critical alert on every run.
	CriticalBefore time.Duration `json:"criticalBefore"`
}

// Rotation is the rotation policy every provider follows. Its keys are read
// from rotation.* and, for files written before other providers existed,
// from equifax.*; the values are kept in Equifax's fields too.
type Rotation struct {
	RenewBefore    time.Duration `json:"renewBefore"`
	GracePeriod    time.Duration `json:"gracePeriod"`
	RevokeAfter    time.Duration `json:"revokeAfter"`
	CriticalBefore time.Duration `json:"criticalBefore"`
	Concurrency    int           `json:"concurrency"`
	Timeout        time.Duration `json:"timeout"`
	// EnableClientSecretRenewal false selects the mock-safe provider for
	// every key: nothing is created or revoked at any provider.
	EnableClientSecretRenewal bool `json:"enableClientSecretRenewal"`
	// CreateSettle is how long a create the service never answered may
	// still be carried out there, at services that do not replay creates
	// (Entra ID, Okta, Google Cloud): the run waits this long, then looks
	// for and revokes what it may have minted. Zero keeps each provider's
	// own (two minutes).
	CreateSettle time.Duration `json:"createSettle,omitempty"`
}

// The provider types.
const (
	TypeEquifax = "equifax"
	TypeEntra   = "entra"
	TypeOkta    = "okta"
	TypeGCPKey  = "gcpkey"
)

// ProviderTypes lists the known provider types.
var ProviderTypes = []string{TypeEquifax, TypeEntra, TypeOkta, TypeGCPKey, TypeHTTP}

// Provider is one credential under credrotate's care.
type Provider struct {
	Key credential.ProviderKey `json:"key"`
	// Type is the service that issues the secret: equifax (when absent),
	// entra, okta or gcpkey.
	Type     string `json:"type,omitempty"`
	ClientID string `json:"clientID"`
	// ObjectID is an entra application's object id, when it is not to be
	// looked up by its client id.
	ObjectID string `json:"objectID,omitempty"`
	// Description names an http.descriptions entry, for http keys.
	Description   string       `json:"description,omitempty"`
	Transport     string       `json:"transport,omitempty"`
	CurrentSecret SecretSource `json:"currentSecret"`
	Secret        SecretRef    `json:"secret"`
}

// TypeOrDefault returns the provider's type, equifax when it has none.
func (p Provider) TypeOrDefault() string {
	if p.Type == "" {
		return TypeEquifax
	}
	return p.Type
}

// TransportOr returns the provider's transport, or def when it has none.
func (p Provider) TransportOr(def string) string {
	if p.Transport != "" {
		return p.Transport
	}
	return def
}

// SecretSource says where the secret currently deployed can be read: a file
// (a mounted Secret), an environment variable, or the Secret object.
type SecretSource struct {
	File       string            `json:"file,omitempty"`
	Env        string            `json:"env,omitempty"`
	Kubernetes *KubernetesSecret `json:"kubernetes,omitempty"`
}

// KubernetesSecret names a key of a Secret read through the Kubernetes API.
type KubernetesSecret struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Key        string `json:"key"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// SecretRef is the Kubernetes Secret that the SealedSecret produces.
type SecretRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	DataKey   string `json:"dataKey"`
}

// Environment is one deployment target: an overlay folder in the GitOps
// repository and the certificate of its cluster's sealed-secrets controller.
type Environment struct {
	Name            string     `json:"name"`
	Path            string     `json:"path"`
	Cert            CertSource `json:"cert"`
	CertFingerprint string     `json:"certFingerprint,omitempty"`
	Scope           string     `json:"scope"`
	Namespace       string     `json:"namespace,omitempty"`
	// Encryption is how this environment's manifests are encrypted:
	// sealedSecrets (the default, "") or sops.
	Encryption string `json:"encryption,omitempty"`
	// SOPS configures an environment whose encryption is sops.
	SOPS SOPS `json:"sops,omitzero"`
}

// CertSource says where an environment's sealing certificate is.
type CertSource struct {
	File string `json:"file,omitempty"`
	URL  string `json:"url,omitempty"`
}

// ManifestPath is the file, relative to the repository root, that holds key's
// SealedSecret in this environment.
func (e Environment) ManifestPath(key credential.ProviderKey) string {
	return path.Join(e.Path, string(key)+".yaml")
}

// NamespaceFor is the namespace p's Secret has once this overlay renders it.
func (e Environment) NamespaceFor(p Provider) string {
	if e.Namespace != "" {
		return e.Namespace
	}
	return p.Secret.Namespace
}

// Scopes of a SealedSecret.
const (
	ScopeStrict        = "strict"
	ScopeNamespaceWide = "namespace-wide"
	ScopeClusterWide   = "cluster-wide"
)

// Provider returns the provider with the given key.
func (c *Config) Provider(key credential.ProviderKey) (Provider, bool) {
	for _, p := range c.Providers {
		if p.Key == key {
			return p, true
		}
	}
	return Provider{}, false
}
