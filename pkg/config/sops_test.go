package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func TestLoadSOPSEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := Load(LoadOptions{Path: "testdata/good-sops.yaml", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Environments[1]
	if !st.IsSOPS() || len(st.SOPS.AgeRecipients) != 1 || st.SOPS.AgeRecipients[0] != testRecipient {
		t.Fatalf("staging = %+v", st)
	}
	if st.SOPS.AgeKeyFile != filepath.Join("testdata", "keys", "staging.agekey") && !strings.HasSuffix(st.SOPS.AgeKeyFile, filepath.Join("config", "testdata", "keys", "staging.agekey")) {
		t.Errorf("ageKeyFile not resolved against the config folder: %s", st.SOPS.AgeKeyFile)
	}
	if cfg.Environments[0].IsSOPS() || cfg.Environments[0].Encryption != "" {
		t.Errorf("prod = %+v, want the default encryption", cfg.Environments[0])
	}
}

func TestValidateSOPS(t *testing.T) {
	t.Parallel()
	base := func() *Config {
		cfg, err := Load(LoadOptions{Path: "testdata/good-sops.yaml", Environ: []string{}})
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
		{"unknown encryption", func(c *Config) { c.Environments[0].Encryption = "vault" }, `environments[0].encryption = "vault" is not an encryption: use sealedSecrets (the default) or sops`},
		{"no recipients", func(c *Config) { c.Environments[1].SOPS.AgeRecipients = nil }, "environments[1].sops.ageRecipients is empty: list the age public keys"},
		{"malformed recipient", func(c *Config) { c.Environments[1].SOPS.AgeRecipients = []string{"age1notakey"} }, `environments[1].sops.ageRecipients[0] = "age1notakey" is not a valid age recipient: use an age X25519 public key`},
		{"private key as recipient", func(c *Config) {
			c.Environments[1].SOPS.AgeRecipients = []string{"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"}
		}, "is an age private key, not a recipient"},
		{"ssh recipient", func(c *Config) { c.Environments[1].SOPS.AgeRecipients = []string{"ssh-ed25519 AAAA"} }, "is an SSH key"},
		{"recipient twice", func(c *Config) {
			c.Environments[1].SOPS.AgeRecipients = []string{testRecipient, testRecipient}
		}, "environments[1].sops.ageRecipients[1]"},
		{"cert on sops", func(c *Config) { c.Environments[1].Cert.File = "/x.pem" }, "environments[1].cert is a sealing certificate, but the environment's encryption is sops: remove cert"},
		{"fingerprint on sops", func(c *Config) { c.Environments[1].CertFingerprint = "ab" }, "environments[1].certFingerprint"},
		{"scope on sops", func(c *Config) { c.Environments[1].Scope = ScopeClusterWide }, "environments[1].scope = \"cluster-wide\" is a sealing scope"},
		{"namespace on sops", func(c *Config) { c.Environments[1].Namespace = "Bad_NS" }, "environments[1].namespace"},
		{"sops section on sealed", func(c *Config) { c.Environments[0].SOPS.AgeRecipients = []string{testRecipient} }, "environments[0].sops is set but the environment's encryption is sealedSecrets: set encryption: sops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := base()
			tc.mutate(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1Q") {
				t.Errorf("the message repeats a private key: %v", err)
			}
		})
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("good-sops.yaml: %v", err)
	}
}

func TestCheckAgeRecipientAcceptsGenerated(t *testing.T) {
	t.Parallel()
	if err := CheckAgeRecipient(testRecipient); err != nil {
		t.Fatal(err)
	}
}
