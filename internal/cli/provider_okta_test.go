package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
)

// TestBuildOkta: the okta section becomes a provider, the API token is told
// to the redactor, and every mistake names its key and the fix.
func TestBuildOkta(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("00okta-api-token-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a key"), 0o600)
	cfg := func(m config.OktaManagement) *config.Config {
		return &config.Config{Okta: config.Okta{OrgURL: "https://acme.okta.com", MaxAge: 90 * 24 * time.Hour, Management: m},
			Rotation: config.Rotation{Timeout: 10 * time.Second}}
	}
	cases := []struct {
		name    string
		m       config.OktaManagement
		wantErr string
	}{
		{"api token", config.OktaManagement{APIToken: &config.SecretSource{File: tokenFile}}, ""},
		{"service app", config.OktaManagement{ServiceApp: &config.OktaServiceApp{ClientID: "0oasvc", PrivateKeyFile: keyFile}}, ""},
		{"missing token file", config.OktaManagement{APIToken: &config.SecretSource{File: filepath.Join(dir, "nope")}}, "okta.management.apiToken"},
		{"missing key file", config.OktaManagement{ServiceApp: &config.OktaServiceApp{ClientID: "0oasvc", PrivateKeyFile: filepath.Join(dir, "nope")}}, "okta.management.serviceApp.privateKeyFile"},
		{"not a key", config.OktaManagement{ServiceApp: &config.OktaServiceApp{ClientID: "0oasvc", PrivateKeyFile: garbage}}, "use a PEM RSA or EC private key"},
		{"no identity", config.OktaManagement{}, "okta.management"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen []credential.Secret
			p, err := buildOkta(providerBuild{Config: cfg(tc.m), SecretSeen: func(s credential.Secret) { seen = append(seen, s) }})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name() != "okta" || p.Rules().MaxValid != 2 {
				t.Fatalf("provider %s %+v", p.Name(), p.Rules())
			}
			if tc.m.APIToken != nil && (len(seen) == 0 || seen[0].Reveal() != "00okta-api-token-value") {
				t.Error("the API token was not told to the redactor")
			}
		})
	}
	if _, ok := providerBuilders[config.TypeOkta]; !ok {
		t.Error("okta is not registered")
	}
}
