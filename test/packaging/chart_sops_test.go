package packaging

import (
	"strings"
	"testing"

	"filippo.io/age"
)

// sopsChartValues are chart values with prod on Sealed Secrets and staging
// on SOPS, its age identity mounted from a Secret with managementSecrets.
func sopsChartValues(t *testing.T, recipient string) map[string]any {
	t.Helper()
	v := values(t, `
config:
  environments:
    - {name: prod, path: overlays/prod/credentials, cert: {url: "https://sealed-secrets.prod.example.com/v1/cert.pem"}, namespace: credit-prod}
    - name: staging
      path: overlays/staging/credentials
      namespace: credit-staging
      encryption: sops
      sops:
        ageRecipients: [`+recipient+`]
        ageKeyFile: /var/run/credrotate/management/sops-staging/age.agekey
managementSecrets:
  - {name: sops-staging, secretName: credrotate-sops-staging, key: age.agekey}
`)
	return v
}

// TestChartSOPSEnvironment: the schema accepts an environment on sops, the
// rendered credrotate.yaml loads with credrotate's own loader as that
// environment, and the age identity the config names is mounted.
func TestChartSOPSEnvironment(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipient := id.Recipient().String()
	rel := mustRender(t, sopsChartValues(t, recipient))
	cfg := loadRendered(t, rel)
	if len(cfg.Environments) != 2 {
		t.Fatalf("environments = %+v", cfg.Environments)
	}
	prod, staging := cfg.Environments[0], cfg.Environments[1]
	if prod.IsSOPS() || prod.Cert.URL == "" {
		t.Errorf("prod = %+v", prod)
	}
	if !staging.IsSOPS() || len(staging.SOPS.AgeRecipients) != 1 || staging.SOPS.AgeRecipients[0] != recipient ||
		staging.SOPS.AgeKeyFile != "/var/run/credrotate/management/sops-staging/age.agekey" || staging.Cert.File != "" || staging.Cert.URL != "" {
		t.Errorf("staging = %+v", staging)
	}
	pod := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec
	files := podFiles(t, pod, pod.Containers[0])
	if got := files[staging.SOPS.AgeKeyFile]; got != "credrotate-sops-staging/age.agekey" {
		t.Errorf("%s comes from %q (mounted: %v)", staging.SOPS.AgeKeyFile, got, files)
	}
}

func TestChartSOPSSchema(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r := id.Recipient().String()
	for _, tc := range []struct{ name, values, wantErr string }{
		{"unknown encryption", `config: {environments: [{name: prod, path: p, encryption: vault, cert: {url: "https://x/cert.pem"}}]}`, "encryption"},
		{"sops without recipients", `config: {environments: [{name: prod, path: p, encryption: sops}]}`, "sops"},
		{"sops with empty recipients", `config: {environments: [{name: prod, path: p, encryption: sops, sops: {ageRecipients: []}}]}`, "ageRecipients"},
		{"sops with a private key", `config: {environments: [{name: prod, path: p, encryption: sops, sops: {ageRecipients: [AGE-SECRET-KEY-1QQQQ]}}]}`, "ageRecipients"},
		{"sops with a cert", `config: {environments: [{name: prod, path: p, encryption: sops, cert: {url: "https://x/cert.pem"}, sops: {ageRecipients: [` + r + `]}}]}`, "cert"},
		{"misspelt sops key", `config: {environments: [{name: prod, path: p, encryption: sops, sops: {ageRecipient: [` + r + `]}}]}`, "ageRecipient"},
		{"sealed with a sops section", `config: {environments: [{name: prod, path: p, cert: {url: "https://x/cert.pem"}, sops: {ageRecipients: [` + r + `]}}]}`, "sops"},
		{"sealed without a cert", `config: {environments: [{name: prod, path: p}]}`, "cert"},
		{"age key not mounted", `config: {environments: [{name: prod, path: p, encryption: sops, sops: {ageRecipients: [` + r + `], ageKeyFile: /var/run/credrotate/management/sops/age.agekey}}]}`, "environments[0].sops.ageKeyFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, values(t, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}
