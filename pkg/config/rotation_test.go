package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var policy = regexp.MustCompile(`(?m)^  (renewBefore|gracePeriod|revokeAfter|concurrency|criticalBefore|timeout|enableClientSecretRenewal):.*\n`)

// withFile loads testdata/good.yaml with extra YAML appended.
func withFile(t *testing.T, extra string, environ ...string) (*Config, error) {
	t.Helper()
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b = policy.ReplaceAll(b, nil) // the file's rotation policy under equifax.*
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(p, append(b, []byte("\n"+extra)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if environ == nil {
		environ = []string{}
	}
	return Load(LoadOptions{Path: p, Environ: environ})
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	return ve.Problems
}

// The rotation policy is read from rotation.*, and from equifax.* in older
// files; the two agree or the file is refused, naming the key written.
func TestRotationSection(t *testing.T) {
	t.Parallel()
	cfg, err := withFile(t, "rotation:\n  renewBefore: 20d\n  gracePeriod: 400h\n  concurrency: 3\n  criticalBefore: 96h\n")
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Rotation
	if r.RenewBefore != 480*time.Hour || r.GracePeriod != 400*time.Hour || r.Concurrency != 3 || r.CriticalBefore != 96*time.Hour || r.RevokeAfter != 24*time.Hour || r.Timeout != 30*time.Second {
		t.Errorf("rotation = %+v", r)
	}
	if cfg.Equifax.RenewBefore != r.RenewBefore || cfg.Equifax.Concurrency != 3 {
		t.Errorf("the equifax spellings do not carry the rotation's values: %+v", cfg.Equifax)
	}

	// The older spelling alone is still read.
	cfg, err = withFile(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.RenewBefore != cfg.Equifax.RenewBefore || cfg.Rotation.RenewBefore == 0 {
		t.Errorf("rotation %+v does not follow equifax %+v", cfg.Rotation, cfg.Equifax)
	}

	// From the environment.
	cfg, err = withFile(t, "", "CREDROTATE_ROTATION_REVOKEAFTER=36h", "CREDROTATE_ROTATION_CONCURRENCY=2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.RevokeAfter != 36*time.Hour || cfg.Rotation.Concurrency != 2 {
		t.Errorf("rotation from the environment = %+v", cfg.Rotation)
	}

	for _, tc := range []struct{ extra, key, want string }{
		{"rotation:\n  renewBefore: soon\n", "rotation.renewBefore", "is not a duration"},
		{"rotation:\n  concurrency: many\n", "rotation.concurrency", "is not a whole number"},
		{"rotation:\n  concurrency: 100\n", "rotation.concurrency", "must be between 1 and 64"},
		{"rotation:\n  gracePeriod: 1000h\n", "rotation.gracePeriod", "must be between"},
	} {
		_, err := withFile(t, tc.extra)
		ps := problemsOf(t, err)
		found := false
		for _, p := range ps {
			if p.Key == tc.key && strings.Contains(p.Message, tc.want) {
				found = true
			}
			if strings.HasPrefix(p.Key, "equifax.") {
				t.Errorf("%q: a problem names the key not written: %+v", tc.extra, p)
			}
		}
		if !found {
			t.Errorf("%q: want %s %q among %+v", tc.extra, tc.key, tc.want, ps)
		}
	}
}

func TestRotationDisagreesWithEquifax(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nequifax:\n") {
		t.Skip("testdata/good.yaml has no equifax section")
	}
	s := strings.Replace(string(policy.ReplaceAll(b, nil)), "\nequifax:\n", "\nequifax:\n  revokeAfter: 48h\n", 1)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(p, []byte(s+"\nrotation:\n  revokeAfter: 12h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{Path: p, Environ: []string{}})
	for _, pr := range problemsOf(t, err) {
		if pr.Key == "rotation.revokeAfter" && strings.Contains(pr.Message, "disagrees with equifax.revokeAfter (48h)") {
			return
		}
	}
	t.Errorf("no problem says rotation.revokeAfter disagrees with equifax.revokeAfter: %v", err)
}

func TestProviderType(t *testing.T) {
	t.Parallel()
	cfg, err := withFile(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Providers[0].TypeOrDefault(); got != TypeEquifax {
		t.Errorf("a provider without a type is %q, not equifax", got)
	}
	b, _ := os.ReadFile("testdata/good.yaml")
	if !strings.Contains(string(b), "clientID:") {
		t.Skip("testdata/good.yaml has no clientID")
	}
	s := strings.Replace(string(b), "clientID:", "type: vault\n    clientID:", 1)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{Path: p, Environ: []string{}})
	for _, pr := range problemsOf(t, err) {
		if pr.Key == "providers[0].type" && strings.Contains(pr.Fix, "equifax, entra, okta, gcpkey") {
			return
		}
	}
	t.Errorf("an unknown provider type is not named with the known ones: %v", err)
}

// Each provider type's section is checked only when a provider uses it,
// and every problem names the key and the fix.
func TestServiceSections(t *testing.T) {
	t.Parallel()
	keys := `
  - key: entra.billing
    type: entra
    clientID: 11111111-2222-3333-4444-555555555555
    currentSecret: {env: ENTRA_SECRET}
    secret: {name: billing-entra, namespace: billing, dataKey: client_secret}
  - key: okta.portal
    type: okta
    clientID: 0oaportal
    currentSecret: {env: OKTA_SECRET}
    secret: {name: portal-okta, namespace: portal, dataKey: client_secret}
  - key: gcp.exporter
    type: gcpkey
    clientID: exporter@acme-prod.iam.gserviceaccount.com
    currentSecret: {env: GCP_KEY}
    secret: {name: exporter-gcp, namespace: export, dataKey: key.json}
`
	load := func(t *testing.T, sections string) ([]Problem, *Config) {
		t.Helper()
		b, err := os.ReadFile("testdata/good.yaml")
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), "\nproviders:\n", "\nproviders:\n"+strings.TrimPrefix(keys, "\n"), 1)
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "credrotate.yaml")
		if err := os.WriteFile(p, []byte(s+"\n"+sections), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(LoadOptions{Path: p, Environ: []string{}})
		if err == nil {
			return nil, cfg
		}
		return problemsOf(t, err), cfg
	}
	good := `
entra:
  tenantID: contoso.onmicrosoft.com
  management: {clientID: mgmt-app, clientSecret: {env: ENTRA_MGMT_SECRET}}
okta:
  orgURL: https://acme.okta.com
  management: {apiToken: {env: OKTA_API_TOKEN}}
gcp: {}
`
	ps, cfg := load(t, good)
	if len(ps) > 0 {
		t.Fatalf("a good file with every provider type was refused: %v", ps)
	}
	if cfg.Entra.SecretLifetime != 90*24*time.Hour || cfg.Okta.MaxAge != 90*24*time.Hour || cfg.GCP.Endpoint != "https://iam.googleapis.com/" || cfg.Entra.GraphURL != "https://graph.microsoft.com" {
		t.Errorf("defaults: entra %+v okta %+v gcp %+v", cfg.Entra, cfg.Okta, cfg.GCP)
	}
	if _, cfg := load(t, strings.Replace(good, "gcp: {}", "gcp: {project: acme-prod}", 1)); cfg == nil || cfg.GCP.Project != "acme-prod" {
		t.Errorf("gcp.project was not read: %+v", cfg)
	}
	if got := cfg.Providers[0].TypeOrDefault(); got != TypeEntra {
		t.Errorf("providers[0] is %q", got)
	}
	for _, tc := range []struct{ sections, key, want string }{
		{"okta: {orgURL: https://acme.okta.com, management: {apiToken: {env: T}}}\n", "entra.tenantID", "is required"},
		{"entra:\n  tenantID: x\n  management: {clientID: a}\nokta: {orgURL: https://acme.okta.com, management: {apiToken: {env: T}}}\n", "entra.management", "no clientSecret or federatedTokenFile"},
		{"entra: {tenantID: t}\nokta: {orgURL: https://acme.okta.com}\n", "okta.management", "exactly one of apiToken and serviceApp"},
		{"entra: {tenantID: t}\nokta: {orgURL: 'http://acme.okta.com', management: {apiToken: {env: T}}}\n", "okta.orgURL", "plain http"},
		{"entra: {tenantID: t, secretLifetime: forever}\nokta: {orgURL: https://acme.okta.com, management: {apiToken: {env: T}}}\n", "entra.secretLifetime", "is not a duration"},
		{strings.Replace(good, "gcp: {}", "gcp: {project: Acme Prod}", 1), "gcp.project", "is not a project id"},
		{strings.Replace(good, "gcp: {}", "gcp: {project: '123456789012'}", 1), "gcp.project", "is not a project id"},
	} {
		ps, _ := load(t, tc.sections)
		found := false
		for _, p := range ps {
			if p.Key == tc.key && strings.Contains(p.Message, tc.want) && p.Fix != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: want %s %q among %v", tc.sections, tc.key, tc.want, ps)
		}
	}
}

// A flag or variable of either spelling overrides the file's other one.
func TestRotationLevels(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(p, append(policy.ReplaceAll(b, nil), []byte("\nrotation:\n  timeout: 10s\n  concurrency: 4\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: p, Environ: []string{"CREDROTATE_EQUIFAX_CONCURRENCY=2"}, Overrides: map[string]any{"equifax.timeout": "2500ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.Timeout != 2500*time.Millisecond || cfg.Rotation.Concurrency != 2 {
		t.Errorf("the flag and the variable did not win over the file: %+v", cfg.Rotation)
	}
	cfg, err = Load(LoadOptions{Path: p, Environ: []string{}, Overrides: map[string]any{"rotation.timeout": "3s"}})
	if err != nil || cfg.Rotation.Timeout != 3*time.Second || cfg.Equifax.Timeout != 3*time.Second {
		t.Errorf("--set rotation.timeout: %v %+v", err, cfg)
	}
}

func TestRenewalFlagIsProviderNeutral(t *testing.T) {
	t.Parallel()
	cfg, err := withFile(t, "rotation:\n  enableClientSecretRenewal: false\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.EnableClientSecretRenewal || cfg.Equifax.EnableClientSecretRenewal {
		t.Errorf("rotation.enableClientSecretRenewal: false left renewal on: %+v", cfg.Rotation)
	}
	cfg, err = withFile(t, "rotation:\n  enableClientSecretRenewal: false\n", "CREDROTATE_ROTATION_ENABLECLIENTSECRETRENEWAL=true")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Rotation.EnableClientSecretRenewal {
		t.Error("CREDROTATE_ROTATION_ENABLECLIENTSECRETRENEWAL=true did not win over the file")
	}
	cfg, err = withFile(t, "", "CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.EnableClientSecretRenewal {
		t.Error("the older spelling equifax.enableClientSecretRenewal: false was not read")
	}
	_, err = withFile(t, "rotation:\n  enableClientSecretRenewal: maybe\n")
	if err == nil || !strings.Contains(err.Error(), "rotation.enableClientSecretRenewal") {
		t.Errorf("a flag that is not a bool: %v", err)
	}
	_, err = withFile(t, "", "CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=true", "CREDROTATE_ROTATION_ENABLECLIENTSECRETRENEWAL=false")
	if err == nil || !strings.Contains(err.Error(), "disagrees") {
		t.Errorf("both spellings, disagreeing: %v", err)
	}
}

// rotation.createSettle is optional (zero keeps each provider's own), read
// from the file or CREDROTATE_ROTATION_CREATESETTLE, and refused when it is
// not a duration or is negative, naming the key and the fix.
func TestCreateSettle(t *testing.T) {
	t.Parallel()
	cfg, err := withFile(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rotation.CreateSettle != 0 {
		t.Errorf("createSettle = %s without the key, want 0 (each provider's own)", cfg.Rotation.CreateSettle)
	}
	cfg, err = withFile(t, "rotation:\n  createSettle: 90s\n")
	if err != nil || cfg.Rotation.CreateSettle != 90*time.Second {
		t.Fatalf("createSettle from the file: %v, %v", cfg, err)
	}
	cfg, err = withFile(t, "", "CREDROTATE_ROTATION_CREATESETTLE=5s")
	if err != nil || cfg.Rotation.CreateSettle != 5*time.Second {
		t.Fatalf("createSettle from the environment: %v, %v", cfg, err)
	}
	for _, bad := range []string{"soon", "-1m"} {
		_, err := withFile(t, "rotation:\n  createSettle: "+bad+"\n")
		ps := problemsOf(t, err)
		if len(ps) != 1 || ps[0].Key != "rotation.createSettle" || ps[0].Fix == "" {
			t.Errorf("createSettle %q: problems %+v", bad, ps)
		}
	}
}
