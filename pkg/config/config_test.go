package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	cfg, err := Load(LoadOptions{Path: "testdata/good.yaml", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Equifax.RenewBefore != 336*time.Hour || cfg.Equifax.Concurrency != 8 {
		t.Errorf("equifax = %+v", cfg.Equifax)
	}
	if cfg.Git.BaseBranch != "main" || cfg.GitHub.AutoMerge.Method != "squash" {
		t.Errorf("git/github = %+v %+v", cfg.Git, cfg.GitHub)
	}
	if len(cfg.Providers) != 1 || cfg.Providers[0].Transport != "soap" || cfg.Providers[0].Secret.DataKey != "client_secret" {
		t.Fatalf("providers = %+v", cfg.Providers)
	}
	abs, _ := filepath.Abs("testdata")
	if got := cfg.Providers[0].CurrentSecret.File; got != filepath.Join(abs, "current/client_secret") && got != filepath.Join("testdata", "current/client_secret") {
		t.Errorf("current secret file not resolved against the config folder: %s", got)
	}
	if len(cfg.Environments) != 3 || cfg.Environments[1].Scope != ScopeStrict {
		t.Fatalf("environments = %+v", cfg.Environments)
	}
	uat := cfg.Environments[2]
	if got := uat.ManifestPath("equifax.unique_client_id"); got != "overlays/uat/credentials/equifax.unique_client_id.yaml" {
		t.Errorf("ManifestPath = %s", got)
	}
	if got := uat.NamespaceFor(cfg.Providers[0]); got != "credit-uat" {
		t.Errorf("NamespaceFor = %s", got)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg, err := Load(LoadOptions{Path: "testdata/good.yaml", Environ: []string{
		"CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false",
		"CREDROTATE_EQUIFAX_CONCURRENCY=3",
		"PATH=/bin",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Equifax.EnableClientSecretRenewal || cfg.Equifax.Concurrency != 3 {
		t.Fatalf("env did not override: %+v", cfg.Equifax)
	}
	cfg, err = Load(LoadOptions{Path: "testdata/good.yaml", Environ: []string{}, Overrides: map[string]any{"equifax.concurrency": 2}})
	if err != nil || cfg.Equifax.Concurrency != 2 {
		t.Fatalf("override: %v %+v", err, cfg)
	}
}

func TestFiveMistakesAllReported(t *testing.T) {
	_, err := Load(LoadOptions{Path: "testdata/five-mistakes.yaml", Environ: []string{"CREDROTATE_EQUIFAX_TYPO=1"}})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`github.autoMerge.strategy = "sometimes" is not a strategy: use native`,
		`equifax.renewBefore = "two weeks" is not a duration`,
		`equifax.concurrencyy is not a known configuration key`,
		`providers[0].currentSecret names 0 sources: set exactly one of file`,
		`providers[1].key = "equifax.a" is used twice (also providers[0])`,
		`environments[0].cert has no certificate source`,
		`CREDROTATE_EQUIFAX_TYPO is not a configuration variable`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing problem %q in:\n%s", want, msg)
		}
	}
}

func TestValidateTable(t *testing.T) {
	base := func() *Config {
		cfg, err := Load(LoadOptions{Path: "testdata/good.yaml", Environ: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no git url", func(c *Config) { c.Git.URL = "" }, "git.url is required"},
		{"password in url", func(c *Config) { c.Git.URL = "https://x:tok@github.com/a/b.git" }, "carries a password"},
		{"grace too long", func(c *Config) { c.Equifax.GracePeriod = 31 * 24 * time.Hour }, "equifax.gracePeriod"},
		{"revoke after grace", func(c *Config) { c.Equifax.RevokeAfter = 200 * time.Hour }, "must be shorter than equifax.gracePeriod"},
		{"two envs one folder", func(c *Config) { c.Environments[1].Path = c.Environments[0].Path }, "two environments would write the same files"},
		{"path escapes", func(c *Config) { c.Environments[0].Path = "../x" }, "leaves the repository"},
		{"http cert url", func(c *Config) { c.Environments[2].Cert.URL = "http://example.com/v1/cert.pem" }, "is not an https URL"},
		{"bad fingerprint", func(c *Config) { c.Environments[0].CertFingerprint = "abc" }, "is not a SHA-256 fingerprint"},
		{"bad scope", func(c *Config) { c.Environments[0].Scope = "global" }, "is not a sealing scope"},
		{"same secret twice", func(c *Config) {
			p := c.Providers[0]
			p.Key = "equifax.other"
			c.Providers = append(c.Providers, p)
		}, "is written by equifax.unique_client_id too"},
		{"two sources", func(c *Config) { c.Providers[0].CurrentSecret.Env = "X" }, "names 2 sources"},
		{"grouping", func(c *Config) { c.PullRequest.Grouping = "perTeam" }, "pullRequest.grouping"},
		{"app incomplete", func(c *Config) { c.GitHub.App.ID = 5 }, "github.app.installationID"},
		{"http equifax base", func(c *Config) { c.Equifax.BaseURL = "http://api.equifax.com" }, `equifax.baseURL = "http://api.equifax.com" uses plain http to a host that is not loopback`},
		{"http equifax token", func(c *Config) { c.Equifax.TokenURL = "http://api.equifax.com/v2/oauth/token" }, "equifax.tokenURL"},
		{"http equifax soap", func(c *Config) { c.Equifax.SOAPURL = "http://10.0.0.8/business/security/soap/v1" }, "equifax.soapURL"},
		{"http github api", func(c *Config) { c.GitHub.APIURL = "http://ghe.example.com/api/v3/" }, `github.apiURL = "http://ghe.example.com/api/v3/" uses plain http`},
		{"http git url", func(c *Config) { c.Git.URL = "http://git.example.com/a/b.git" }, "git.url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMaskedShowsNoSecret(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("testdata/good.yaml")
	b = []byte(strings.Replace(string(b), "https://github.com/acme/gitops.git", "https://deploy@github.com/acme/gitops.git", 1))
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: p, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	const canary = "canary-token-value-1234567890abcdef"
	out, err := cfg.Masked(func(k string) (string, bool) { return canary, true })
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, canary) || strings.Contains(s, "deploy@") {
		t.Fatalf("masked config leaks:\n%s", s)
	}
	for _, want := range []string{"renewBefore: 336h0m0s", "github token: environment variable GITHUB_TOKEN (set)", "current secret: file"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 336 * time.Hour, "30m": 30 * time.Minute, "1h30m": 90 * time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"d", "1.5d", "two weeks", "-"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

// FuzzLoad feeds configuration files to Load: the corpus in
// testdata/fuzz/FuzzLoad holds real ones (the examples, valid and broken:
// wrong types, unknown keys, anchors and alias bombs, bad durations and
// URLs), so that mutations reach decoding and validation rather than stop
// at the YAML parser. Load must never panic; what it accepts must validate
// and print masked; what it refuses must say why.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/good.yaml", "testdata/five-mistakes.yaml",
		"../../examples/configs/github-actions.yaml", "../../examples/configs/cronjob.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("providers: [1, {key: [x]}]\nenvironments: {a: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(LoadOptions{Path: p, Environ: []string{}})
		if err != nil {
			if msg := err.Error(); msg == "" {
				t.Fatal("Load failed with an empty message")
			}
			var ve *ValidationError
			if errors.As(err, &ve) && len(ve.Problems) == 0 {
				t.Fatalf("a ValidationError with no problems: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted a configuration that Validate refuses: %v", err)
		}
		if _, err := cfg.Masked(func(string) (string, bool) { return "", false }); err != nil {
			t.Fatalf("printing an accepted configuration: %v", err)
		}
	})
}

// TestLoopbackHTTPStaysAllowed: the emulator, localhub and the demo run on
// loopback over plain http.
func TestLoopbackHTTPStaysAllowed(t *testing.T) {
	cfg, err := Load(LoadOptions{Path: "testdata/good.yaml", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Equifax.BaseURL, cfg.Equifax.TokenURL, cfg.Equifax.SOAPURL = "http://127.0.0.1:8089", "http://localhost:8089/v2/oauth/token", "http://[::1]:8089/business/security/soap/v1"
	cfg.GitHub.APIURL, cfg.Git.URL = "http://127.0.0.1:9000/api/v3/", "http://127.0.0.1:9000/acme/gitops.git"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
