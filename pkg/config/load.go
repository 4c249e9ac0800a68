package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// DefaultFile is read when no file is named and it exists.
const DefaultFile = "credrotate.yaml"

// EnvPrefix is the prefix of environment variables that override the file:
// CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false sets
// equifax.enableClientSecretRenewal.
const EnvPrefix = "CREDROTATE"

// defaults is every default value, in one place. Keys are the file's keys.
var defaults = map[string]any{
	"git.baseBranch":                    "main",
	"git.branchPrefix":                  "credrotate/",
	"git.author.name":                   "credrotate",
	"git.author.email":                  "credrotate@users.noreply.github.com",
	"git.tokenEnv":                      "GITHUB_TOKEN",
	"git.url":                           "",
	"git.sshKeyFile":                    "",
	"git.signingKeyFile":                "",
	"github.apiURL":                     "https://api.github.com/",
	"github.owner":                      "",
	"github.repo":                       "",
	"github.tokenEnv":                   "GITHUB_TOKEN",
	"github.app.id":                     0,
	"github.app.installationID":         0,
	"github.app.privateKeyFile":         "",
	"github.labels":                     []string{"credentials", "automated"},
	"github.reviewers":                  []string{},
	"github.teamReviewers":              []string{},
	"github.autoMerge.enabled":          true,
	"github.autoMerge.method":           "squash",
	"github.autoMerge.strategy":         "native",
	"github.alertLabels":                []string{"credrotate-alert"},
	"github.dashboard.enabled":          false,
	"github.dashboard.title":            "credrotate: credential dashboard",
	"github.dashboard.labels":           []string{"credrotate-dashboard"},
	"pullRequest.grouping":              "perRun",
	"notify.webhookURLEnv":              "",
	"notify.expiryNoticeDays":           []int{30, 14, 7, 3},
	"equifax.enableClientSecretRenewal": true,
	"equifax.transport":                 "rest",
	"equifax.baseURL":                   "https://api.equifax.com",
	"equifax.tokenURL":                  "https://api.equifax.com/v2/oauth/token",
	"equifax.soapURL":                   "https://api.equifax.com/business/security/soap/v1",
	"equifax.managementScope":           "https://api.equifax.com/business/security/v1",
	"equifax.renewBefore":               "336h",
	"equifax.gracePeriod":               "336h",
	"equifax.criticalBefore":            "72h",
	"schedule":                          DefaultSchedule,
	"equifax.revokeAfter":               "24h",
	"equifax.concurrency":               16,
	"equifax.timeout":                   "30s",
	"entra.tenantID":                    "",
	"entra.graphURL":                    "https://graph.microsoft.com",
	"entra.loginURL":                    "https://login.microsoftonline.com",
	"entra.secretLifetime":              "2160h",
	"okta.orgURL":                       "",
	"okta.maxAge":                       "2160h",
	"okta.tokenURL":                     "",
	"okta.scope":                        "",
	"gcp.endpoint":                      "https://iam.googleapis.com/",
	"gcp.tokenURL":                      "https://oauth2.googleapis.com/token",
	"gcp.credentialsFile":               "",
	"gcp.maxKeyAge":                     "2160h",
	"gcp.project":                       "",
}

// notConfig are CREDROTATE_* variables that are not configuration keys.
var notConfig = map[string]bool{
	// CREDROTATE_FAILPOINT stops a run at a named step; the crash tests use it.
	"CREDROTATE_FAILPOINT": true,
	// CREDROTATE_BIN names the binary that make test builds for the
	// tests that run it as a child process.
	"CREDROTATE_BIN": true,
	// CREDROTATE_SANDBOX_BIN names credrotate-sandbox, built likewise.
	"CREDROTATE_SANDBOX_BIN": true,
	// CREDROTATE_GRAPH_CSDL names a copy of Microsoft Graph's published
	// metadata, for the tests that check the vendored cut of it against
	// the whole; CREDROTATE_OKTA_OPENAPI a copy of Okta's OpenAPI
	// description, for the test that holds the Okta emulator's error
	// answers to it.
	"CREDROTATE_GRAPH_CSDL":   true,
	"CREDROTATE_OKTA_OPENAPI": true,
}

// LoadOptions says where configuration comes from.
type LoadOptions struct {
	// Path is the file to read; "" reads DefaultFile when it exists.
	Path string
	// Environ is the environment, as os.Environ returns it; nil means os.Environ().
	Environ []string
	// Overrides set keys after the file and the environment (command-line flags).
	Overrides map[string]any
	// Dir is the working directory for the default file; "" is the process's.
	Dir string
}

// rawConfig mirrors Config with durations as text, so that a duration that
// does not parse is one more problem instead of the end of decoding.
type rawConfig struct {
	Git          Git           `mapstructure:"git"`
	GitHub       GitHub        `mapstructure:"github"`
	PullRequest  PullRequest   `mapstructure:"pullRequest"`
	Notify       Notify        `mapstructure:"notify"`
	Equifax      rawEquifax    `mapstructure:"equifax"`
	Rotation     rawRotation   `mapstructure:"rotation"`
	Entra        rawEntra      `mapstructure:"entra"`
	Okta         rawOkta       `mapstructure:"okta"`
	GCP          rawGCP        `mapstructure:"gcp"`
	HTTP         HTTP          `mapstructure:"http"`
	Providers    []Provider    `mapstructure:"providers"`
	Environments []Environment `mapstructure:"environments"`
	Schedule     string        `mapstructure:"schedule"`
}

type rawEquifax struct {
	EnableClientSecretRenewal bool   `mapstructure:"enableClientSecretRenewal"`
	Transport                 string `mapstructure:"transport"`
	BaseURL                   string `mapstructure:"baseURL"`
	TokenURL                  string `mapstructure:"tokenURL"`
	SOAPURL                   string `mapstructure:"soapURL"`
	ManagementScope           string `mapstructure:"managementScope"`
	RenewBefore               string `mapstructure:"renewBefore"`
	GracePeriod               string `mapstructure:"gracePeriod"`
	RevokeAfter               string `mapstructure:"revokeAfter"`
	CriticalBefore            string `mapstructure:"criticalBefore"`
	Concurrency               int    `mapstructure:"concurrency"`
	Timeout                   string `mapstructure:"timeout"`
}

type rawEntra struct {
	TenantID       string          `mapstructure:"tenantID"`
	GraphURL       string          `mapstructure:"graphURL"`
	LoginURL       string          `mapstructure:"loginURL"`
	SecretLifetime string          `mapstructure:"secretLifetime"`
	Management     EntraManagement `mapstructure:"management"`
}

type rawOkta struct {
	OrgURL     string         `mapstructure:"orgURL"`
	MaxAge     string         `mapstructure:"maxAge"`
	TokenURL   string         `mapstructure:"tokenURL"`
	Scope      string         `mapstructure:"scope"`
	Management OktaManagement `mapstructure:"management"`
}

type rawGCP struct {
	Endpoint        string `mapstructure:"endpoint"`
	TokenURL        string `mapstructure:"tokenURL"`
	CredentialsFile string `mapstructure:"credentialsFile"`
	MaxKeyAge       string `mapstructure:"maxKeyAge"`
	Project         string `mapstructure:"project"`
}

type rawRotation struct {
	RenewBefore    string `mapstructure:"renewBefore"`
	GracePeriod    string `mapstructure:"gracePeriod"`
	RevokeAfter    string `mapstructure:"revokeAfter"`
	CriticalBefore string `mapstructure:"criticalBefore"`
	Concurrency    string `mapstructure:"concurrency"`
	Timeout        string `mapstructure:"timeout"`
	// EnableClientSecretRenewal is the feature flag for every provider.
	EnableClientSecretRenewal string `mapstructure:"enableClientSecretRenewal"`
	// CreateSettle has no equifax.* spelling: it matters only to services
	// that do not replay a create.
	CreateSettle string `mapstructure:"createSettle"`
}

// rotationKeys are the rotation policy's keys: each is read from rotation.*
// and from its older spelling under equifax.*, whose default it shares.
var rotationKeys = []string{"renewBefore", "gracePeriod", "revokeAfter", "criticalBefore", "concurrency", "timeout", "enableClientSecretRenewal"}

// Load reads, merges and validates the configuration. Problems come back
// together as a *ValidationError; a file that cannot be read or parsed is a
// plain error.
func Load(opts LoadOptions) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	// Environment variables are matched against the known keys here rather
	// than by viper's AutomaticEnv, so that a misspelt one is a problem too
	// and Load is testable with a given environment.
	var problems []Problem
	envKeys := map[string]string{}
	fromEnv := map[string]string{}
	for k := range defaults {
		envKeys[EnvPrefix+"_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = k
	}
	for _, k := range append(rotationKeys, "createSettle") {
		envKeys[EnvPrefix+"_ROTATION_"+strings.ToUpper(k)] = "rotation." + k
	}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		key, ok := envKeys[name]
		if !ok && notConfig[name] {
			continue
		}
		if !ok {
			problems = append(problems, Problem{Key: name, Message: "is not a configuration variable", Fix: "remove it, or use one of CREDROTATE_<SECTION>_<KEY> for a scalar key, e.g. CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL"})
			continue
		}
		fromEnv[key] = val
	}

	cfgPath := opts.Path
	if cfgPath == "" {
		p := filepath.Join(opts.Dir, DefaultFile)
		if _, err := os.Stat(p); err == nil {
			cfgPath = p
		} else {
			return nil, &NoFileError{Looked: defaultFileShown(opts.Dir)}
		}
	}
	spell := spelling{}
	for k := range opts.Overrides {
		spell.addKey(k)
	}
	if cfgPath != "" {
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, fmt.Errorf("reading configuration: %w", err)
		}
		spell.addYAML(b)
		if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("parsing configuration file %s: %w (check the YAML syntax)", cfgPath, err)
		}
	}
	// Environment variables and overrides are set over the file and defaults.
	for k, val := range fromEnv {
		v.Set(k, val)
	}
	for k, val := range opts.Overrides {
		v.Set(k, val)
	}

	var raw rawConfig
	var md mapstructure.Metadata
	err := v.Unmarshal(&raw, func(dc *mapstructure.DecoderConfig) {
		dc.Metadata = &md
		dc.WeaklyTypedInput = true
		dc.DecodeHook = nil
	})
	if err != nil {
		problems = append(problems, decodeProblems(err)...)
	}
	for _, k := range unknownKeys(v.AllSettings()) {
		problems = append(problems, Problem{Key: k, Message: "is not a known configuration key", Fix: "remove it or fix its spelling (see the configuration reference in the README)"})
	}

	cfg := &Config{
		Git: raw.Git, GitHub: raw.GitHub, PullRequest: raw.PullRequest, Notify: raw.Notify,
		Providers: raw.Providers, Environments: raw.Environments, File: cfgPath, Schedule: raw.Schedule, HTTP: raw.HTTP,
	}
	cfg.Entra = Entra{TenantID: raw.Entra.TenantID, GraphURL: raw.Entra.GraphURL, LoginURL: raw.Entra.LoginURL, Management: raw.Entra.Management}
	cfg.Okta = Okta{OrgURL: raw.Okta.OrgURL, TokenURL: raw.Okta.TokenURL, Scope: raw.Okta.Scope, Management: raw.Okta.Management}
	cfg.GCP = GCP{Endpoint: raw.GCP.Endpoint, TokenURL: raw.GCP.TokenURL, CredentialsFile: raw.GCP.CredentialsFile, Project: raw.GCP.Project}
	cfg.Equifax = Equifax{
		EnableClientSecretRenewal: raw.Equifax.EnableClientSecretRenewal,
		Transport:                 raw.Equifax.Transport,
		BaseURL:                   raw.Equifax.BaseURL,
		TokenURL:                  raw.Equifax.TokenURL,
		SOAPURL:                   raw.Equifax.SOAPURL,
		ManagementScope:           raw.Equifax.ManagementScope,
		Concurrency:               raw.Equifax.Concurrency,
	}
	// A rotation.* key wins over its equifax.* spelling set at the same
	// level or below (defaults, the file, the environment, flags); both set
	// at one level to different values is a problem.
	level := func(key string) int {
		_, over := opts.Overrides[key]
		_, env := fromEnv[key]
		switch {
		case over:
			return 3
		case env:
			return 2
		case v.InConfig(key):
			return 1
		}
		return 0
	}
	explicit := func(key string) bool { return level(key) > 0 }
	neutral := map[string]*string{
		"renewBefore": &raw.Rotation.RenewBefore, "gracePeriod": &raw.Rotation.GracePeriod, "revokeAfter": &raw.Rotation.RevokeAfter,
		"criticalBefore": &raw.Rotation.CriticalBefore, "concurrency": &raw.Rotation.Concurrency, "timeout": &raw.Rotation.Timeout,
		"enableClientSecretRenewal": &raw.Rotation.EnableClientSecretRenewal,
	}
	older := map[string]*string{
		"renewBefore": &raw.Equifax.RenewBefore, "gracePeriod": &raw.Equifax.GracePeriod, "revokeAfter": &raw.Equifax.RevokeAfter,
		"criticalBefore": &raw.Equifax.CriticalBefore, "timeout": &raw.Equifax.Timeout,
	}
	source := map[string]string{} // the key a value was read from
	for _, k := range rotationKeys {
		if !explicit("rotation." + k) {
			continue
		}
		val := *neutral[k]
		if k == "enableClientSecretRenewal" {
			on, err := strconv.ParseBool(strings.TrimSpace(val))
			if err != nil {
				problems = append(problems, Problem{Key: "rotation.enableClientSecretRenewal", Value: val, Message: "is not true or false", Fix: "set true to renew secrets, false for the mock-safe provider that changes nothing"})
				continue
			}
			switch lo, ln := level("equifax.enableClientSecretRenewal"), level("rotation.enableClientSecretRenewal"); {
			case lo > ln:
				continue // a flag or variable of the older spelling wins
			case lo == ln && raw.Equifax.EnableClientSecretRenewal != on:
				problems = append(problems, Problem{Key: "rotation.enableClientSecretRenewal", Value: val, Message: fmt.Sprintf("disagrees with equifax.enableClientSecretRenewal (%t)", raw.Equifax.EnableClientSecretRenewal), Fix: "keep rotation.enableClientSecretRenewal and remove equifax.enableClientSecretRenewal, its older spelling"})
			}
			raw.Equifax.EnableClientSecretRenewal = on
			cfg.Equifax.EnableClientSecretRenewal = on
			continue
		}
		if k == "concurrency" {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				problems = append(problems, Problem{Key: "rotation.concurrency", Value: val, Message: "is not a whole number", Fix: "set how many keys are worked on at once, e.g. 16"})
				continue
			}
			switch lo, ln := level("equifax.concurrency"), level("rotation.concurrency"); {
			case lo > ln:
				continue // a flag or variable of the older spelling wins
			case lo == ln && raw.Equifax.Concurrency != n:
				problems = append(problems, Problem{Key: "rotation.concurrency", Value: val, Message: fmt.Sprintf("disagrees with equifax.concurrency (%d)", raw.Equifax.Concurrency), Fix: "keep rotation.concurrency and remove equifax.concurrency, its older spelling"})
			}
			raw.Equifax.Concurrency = n
			source["equifax.concurrency"] = "rotation.concurrency"
			continue
		}
		lo, ln := level("equifax."+k), level("rotation."+k)
		if lo > ln {
			continue // a flag or variable of the older spelling wins
		}
		if lo == ln && strings.TrimSpace(*older[k]) != strings.TrimSpace(val) {
			problems = append(problems, Problem{Key: "rotation." + k, Value: val, Message: fmt.Sprintf("disagrees with equifax.%s (%s)", k, *older[k]), Fix: "keep rotation." + k + " and remove equifax." + k + ", its older spelling"})
		}
		*older[k] = val
		source["equifax."+k] = "rotation." + k
	}
	cfg.Equifax.Concurrency = raw.Equifax.Concurrency
	for _, d := range []struct {
		key string
		raw string
		dst *time.Duration
	}{
		{keyOf(source, "equifax.renewBefore"), raw.Equifax.RenewBefore, &cfg.Equifax.RenewBefore},
		{keyOf(source, "equifax.gracePeriod"), raw.Equifax.GracePeriod, &cfg.Equifax.GracePeriod},
		{keyOf(source, "equifax.revokeAfter"), raw.Equifax.RevokeAfter, &cfg.Equifax.RevokeAfter},
		{keyOf(source, "equifax.criticalBefore"), raw.Equifax.CriticalBefore, &cfg.Equifax.CriticalBefore},
		{keyOf(source, "equifax.timeout"), raw.Equifax.Timeout, &cfg.Equifax.Timeout},
		{"entra.secretLifetime", raw.Entra.SecretLifetime, &cfg.Entra.SecretLifetime},
		{"okta.maxAge", raw.Okta.MaxAge, &cfg.Okta.MaxAge},
		{"gcp.maxKeyAge", raw.GCP.MaxKeyAge, &cfg.GCP.MaxKeyAge},
	} {
		parsed, err := parseDuration(d.raw)
		if err != nil {
			problems = append(problems, Problem{Key: d.key, Value: d.raw, Message: "is not a duration", Fix: `write it like "336h", "30m" or "14d"`})
			if cfg.unparsed == nil {
				cfg.unparsed = map[string]bool{}
			}
			cfg.unparsed[d.key] = true
			continue
		}
		*d.dst = parsed
	}
	for older, neutral := range source {
		if cfg.unparsed[neutral] {
			cfg.unparsed[older] = true
		}
	}
	cfg.Rotation = Rotation{
		RenewBefore: cfg.Equifax.RenewBefore, GracePeriod: cfg.Equifax.GracePeriod, RevokeAfter: cfg.Equifax.RevokeAfter,
		CriticalBefore: cfg.Equifax.CriticalBefore, Concurrency: cfg.Equifax.Concurrency, Timeout: cfg.Equifax.Timeout,
		EnableClientSecretRenewal: cfg.Equifax.EnableClientSecretRenewal,
	}
	if val := strings.TrimSpace(raw.Rotation.CreateSettle); val != "" {
		d, err := parseDuration(val)
		switch {
		case err != nil:
			problems = append(problems, Problem{Key: "rotation.createSettle", Value: val, Message: "is not a duration", Fix: `write it like "2m" or "90s", or leave it out for each provider's own`})
		case d < 0:
			problems = append(problems, Problem{Key: "rotation.createSettle", Value: val, Message: "is negative", Fix: `set how long an unanswered create may still land, e.g. "2m", or leave it out for each provider's own`})
		default:
			cfg.Rotation.CreateSettle = d
		}
	}
	for i := range cfg.Environments {
		if cfg.Environments[i].Scope == "" {
			cfg.Environments[i].Scope = ScopeStrict
		}
	}
	if cfgPath != "" {
		cfg.resolvePaths(filepath.Dir(cfgPath))
	}
	for _, pr := range cfg.validate() {
		pr.Key = keyOf(source, pr.Key)
		problems = append(problems, pr)
	}
	cfg.spell = spell
	for i := range problems {
		problems[i].Key = spell.respell(problems[i].Key)
	}
	if len(problems) > 0 {
		return cfg, &ValidationError{File: cfgPath, Problems: problems}
	}
	return cfg, nil
}

// keyOf is the key a value was read from: key, or the one source names.
func keyOf(source map[string]string, key string) string {
	if k, ok := source[key]; ok {
		return k
	}
	return key
}

// parseDuration accepts Go durations plus whole days ("14d").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn") {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			return time.Duration(days) * 24 * time.Hour, nil
		}
		return 0, errors.New("bad day count")
	}
	return time.ParseDuration(s)
}

// resolvePaths makes relative file paths relative to the config file's folder.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Git.SSHKeyFile)
	abs(&c.Git.SigningKeyFile)
	abs(&c.GitHub.App.PrivateKeyFile)
	abs(&c.Entra.Management.FederatedTokenFile)
	if s := c.Entra.Management.ClientSecret; s != nil {
		abs(&s.File)
	}
	if s := c.Okta.Management.APIToken; s != nil {
		abs(&s.File)
	}
	if a := c.Okta.Management.ServiceApp; a != nil {
		abs(&a.PrivateKeyFile)
	}
	abs(&c.GCP.CredentialsFile)
	c.resolveHTTPPaths(dir)
	for i := range c.Providers {
		abs(&c.Providers[i].CurrentSecret.File)
		if k := c.Providers[i].CurrentSecret.Kubernetes; k != nil {
			abs(&k.Kubeconfig)
		}
	}
	for i := range c.Environments {
		abs(&c.Environments[i].Cert.File)
		abs(&c.Environments[i].SOPS.AgeKeyFile)
	}
	if strings.HasPrefix(c.Git.URL, "file://") {
		p := strings.TrimPrefix(c.Git.URL, "file://")
		if !filepath.IsAbs(p) {
			c.Git.URL = "file://" + filepath.Join(dir, p)
		}
	}
}

// decodeProblems turns mapstructure's joined errors into problems.
func decodeProblems(err error) []Problem {
	var out []Problem
	var de *mapstructure.DecodeError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &de) {
			out = append(out, Problem{Key: de.Name(), Message: "has the wrong type: " + de.Unwrap().Error(), Fix: "check the value's type against the configuration reference"})
			return
		}
		out = append(out, Problem{Key: "(file)", Message: e.Error(), Fix: "check the value's type against the configuration reference"})
	}
	walk(err)
	return out
}

// known is the set of keys a file may hold, derived from the types (the
// keys of typeSpelling).
var known = func() map[string]bool {
	m := make(map[string]bool, len(typeSpelling))
	for k := range typeSpelling {
		m[k] = true
	}
	return m
}()

// unknownKeys lists keys, lists' items included, that no type declares.
func unknownKeys(settings map[string]any) []string {
	var out []string
	var walk func(prefix, display string, v any)
	walk = func(prefix, display string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				p := strings.ToLower(strings.TrimPrefix(prefix+"."+k, "."))
				d := strings.TrimPrefix(display+"."+k, ".")
				if !known[p] {
					out = append(out, d)
					continue
				}
				walk(p, d, x)
			}
		case []any:
			for i, x := range t {
				walk(prefix, fmt.Sprintf("%s[%d]", display, i), x)
			}
		}
	}
	walk("", "", settings)
	sort.Strings(out)
	return out
}
