package packaging

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
)

const managementDir = "/var/run/credrotate/management"

// providerExample is one provider type's example: the config file the chart
// takes with --set-file configFile=..., the values file beside it, and what
// it must mount.
type providerExample struct {
	typ, config, values string
	key                 string // the provider key
	secretName          string // the Secret with the current secret
	secretKey           string // its data key
	management          string // the management Secret's name in managementSecrets
	managementKey       string // its data key
}

var providerExamples = []providerExample{
	{config.TypeEntra, "examples/configs/entra.yaml", "examples/configs/entra-values.yaml",
		"entra.payments_api", "payments-api-credentials", "client_secret", "entra-management", "client_secret"},
	{config.TypeOkta, "examples/configs/okta.yaml", "examples/configs/okta-values.yaml",
		"okta.billing_portal", "billing-portal-credentials", "client_secret", "okta-management", "private-key.pem"},
	{config.TypeGCPKey, "examples/configs/gcpkey.yaml", "examples/configs/gcpkey-values.yaml",
		"gcpkey.reports_exporter", "reports-exporter-key", "key.json", "gcp-management", "credentials.json"},
}

// providerChartValues are a provider example's values with the --set-file
// values of the install command at the top of its config file.
func providerChartValues(t testing.TB, ex providerExample) map[string]any {
	t.Helper()
	v := values(t, string(readFile(t, ex.values)))
	v["configFile"] = string(readFile(t, ex.config))
	certs := map[string]any{}
	for env := range exampleEnvs {
		certs[env] = string(readFile(t, "examples/gitops-repo/certs/"+env+".pem"))
	}
	v["sealingCerts"] = certs
	return v
}

// managementFiles are the files of the management identities a config reads.
func managementFiles(cfg *config.Config) map[string]string {
	out := map[string]string{}
	if s := cfg.Entra.Management.ClientSecret; s != nil && s.File != "" {
		out["entra.management.clientSecret.file"] = s.File
	}
	if f := cfg.Entra.Management.FederatedTokenFile; f != "" {
		out["entra.management.federatedTokenFile"] = f
	}
	if s := cfg.Okta.Management.APIToken; s != nil && s.File != "" {
		out["okta.management.apiToken.file"] = s.File
	}
	if a := cfg.Okta.Management.ServiceApp; a != nil && a.PrivateKeyFile != "" {
		out["okta.management.serviceApp.privateKeyFile"] = a.PrivateKeyFile
	}
	if f := cfg.GCP.CredentialsFile; f != "" {
		out["gcp.credentialsFile"] = f
	}
	return out
}

// loadRendered writes the rendered ConfigMaps out as the pod sees them under
// /etc/credrotate and loads credrotate.yaml with credrotate's own loader.
func loadRendered(t *testing.T, rel release) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for _, o := range only(rel.objects, "ConfigMap") {
		var cm corev1.ConfigMap
		decodeStrict(t, o, &cm)
		sub := dir
		if strings.HasSuffix(cm.Name, "-certs") {
			sub = filepath.Join(dir, "certs")
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, v := range cm.Data {
			if err := os.WriteFile(filepath.Join(sub, k), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(dir, "credrotate.yaml"), Environ: []string{}})
	if err != nil {
		t.Fatalf("the rendered credrotate.yaml does not load: %v", err)
	}
	for _, e := range cfg.Environments {
		if e.Cert.File != "" {
			b, err := os.ReadFile(e.Cert.File)
			if err != nil {
				t.Fatalf("%s: the certificate the config names is not where the chart mounts it: %v", e.Name, err)
			}
			parseCert(t, b)
		}
	}
	return cfg
}

// podFiles lists the files a pod's container sees from Secret volumes: path
// in the container -> "secret/key" it comes from.
func podFiles(t *testing.T, pod corev1.PodSpec, c corev1.Container) map[string]string {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		v := vols[m.Name]
		add := func(secret string, items []corev1.KeyToPath) {
			for _, it := range items {
				out[path.Join(m.MountPath, it.Path)] = secret + "/" + it.Key
			}
		}
		if v.Secret != nil {
			add(v.Secret.SecretName, v.Secret.Items)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add(s.Secret.Name, s.Secret.Items)
				}
			}
		}
	}
	return out
}

// TestExampleProviderConfigs loads each provider type's example config with
// credrotate's own loader and checks it against the example repository.
func TestExampleProviderConfigs(t *testing.T) {
	t.Parallel()
	for _, ex := range providerExamples {
		t.Run(ex.typ, func(t *testing.T) {
			t.Parallel()
			cfg := loadExampleConfig(t, ex.config)
			p, ok := cfg.Provider(credential.ProviderKey(ex.key))
			if !ok {
				t.Fatalf("no provider %s", ex.key)
			}
			for _, q := range cfg.Providers {
				if q.TypeOrDefault() != ex.typ {
					t.Errorf("%s has type %q, want %s", q.Key, q.TypeOrDefault(), ex.typ)
				}
			}
			if p.Secret.DataKey != ex.secretKey {
				t.Errorf("secret.dataKey %q, want %q", p.Secret.DataKey, ex.secretKey)
			}
			if want := "/var/run/credrotate/" + ex.key + "/client_secret"; p.CurrentSecret.File != want {
				t.Errorf("currentSecret.file %q, want %q (where the chart mounts it)", p.CurrentSecret.File, want)
			}
			if !cfg.Rotation.EnableClientSecretRenewal || cfg.Rotation.GracePeriod <= cfg.Rotation.RevokeAfter {
				t.Errorf("rotation %+v: want renewal on and revokeAfter inside the grace period", cfg.Rotation)
			}
			files := managementFiles(cfg)
			if len(files) != 1 {
				t.Errorf("management files %v, want exactly one", files)
			}
			for k, f := range files {
				if !strings.HasPrefix(f, managementDir+"/") {
					t.Errorf("%s %s is not under %s, where managementSecrets mount", k, f, managementDir)
				}
			}
			switch ex.typ {
			case config.TypeEntra:
				if cfg.Entra.TenantID == "" || cfg.Entra.Management.ClientID == "" {
					t.Errorf("entra %+v: want a tenant and a management application", cfg.Entra)
				}
			case config.TypeOkta:
				if cfg.Okta.Management.ServiceApp == nil {
					t.Error("okta.management has no serviceApp")
				}
			}
			if len(cfg.Environments) != len(exampleEnvs) {
				t.Errorf("%d environments, want %d", len(cfg.Environments), len(exampleEnvs))
			}
			for _, e := range cfg.Environments {
				if ns, ok := exampleEnvs[e.Name]; !ok || e.NamespaceFor(p) != ns {
					t.Errorf("%s: seals for %q, but overlays/%s renders %q", e.Name, e.NamespaceFor(p), e.Name, ns)
				}
				if _, err := os.Stat(filepath.Join(gitopsRepo(t), filepath.FromSlash(e.Path))); err != nil {
					t.Errorf("%s: %v", e.Name, err)
				}
				rel := strings.TrimPrefix(filepath.ToSlash(e.Cert.File), filepath.ToSlash(filepath.Join(repoRoot(t), "examples", "configs"))+"/")
				parseCert(t, readFile(t, path.Join("examples/gitops-repo", rel)))
			}
			// The install command at the top names the files it goes with.
			head := string(readFile(t, ex.config))
			for _, want := range []string{"-f " + ex.values, "--set-file configFile=" + ex.config, "create secret generic " + ex.management} {
				if !strings.Contains(head, want) {
					t.Errorf("%s does not say %q", ex.config, want)
				}
			}
		})
	}
}

// TestChartProviderExamples renders the chart with each provider type's
// example values and config, as its install command does: the current
// secret and the management credential are mounted read-only where the
// config reads them, and the rendered config loads.
func TestChartProviderExamples(t *testing.T) {
	t.Parallel()
	for _, ex := range providerExamples {
		t.Run(ex.typ, func(t *testing.T) {
			t.Parallel()
			vals := providerChartValues(t, ex)
			linter := lint.All(chartDir(t), vals, releaseNamespace, false)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
			rel := mustRender(t, vals)
			cfg := loadRendered(t, rel)
			cj := cronJob(t, rel)
			pod := cj.Spec.JobTemplate.Spec.Template.Spec
			assertPodWellFormed(t, "CronJob", pod)
			assertPodSecurity(t, pod)
			c := pod.Containers[0]
			files := podFiles(t, pod, c)

			// The current secret: key secretKey of the Secret, whatever its
			// name, at <key>/client_secret.
			cur := "/var/run/credrotate/" + ex.key + "/client_secret"
			if got, want := files[cur], ex.secretName+"/"+ex.secretKey; got != want {
				t.Errorf("%s comes from %q, want %q", cur, got, want)
			}
			// The management credential under /var/run/credrotate/management.
			mf := managementFiles(cfg)
			if len(mf) != 1 {
				t.Fatalf("management files %v, want one", mf)
			}
			for k, f := range mf {
				if got, want := files[f], ex.management+"/"+ex.managementKey; got != want {
					t.Errorf("%s %s comes from %q, want %q", k, f, got, want)
				}
			}
			// Every file the config reads is mounted.
			for _, p := range cfg.Providers {
				if _, ok := files[p.CurrentSecret.File]; !ok {
					t.Errorf("%s: currentSecret.file %s is not mounted (mounted: %v)", p.Key, p.CurrentSecret.File, files)
				}
			}
			for _, m := range c.VolumeMounts {
				if strings.HasPrefix(m.MountPath, "/var/run/credrotate/") && !m.ReadOnly {
					t.Errorf("%s is mounted writable", m.MountPath)
				}
			}
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			for _, m := range c.VolumeMounts {
				if !strings.HasPrefix(m.MountPath, managementDir+"/") {
					continue
				}
				pv := vols[m.Name].Projected
				if pv == nil || pv.DefaultMode == nil || *pv.DefaultMode != 0o440 {
					t.Errorf("management volume %s: %+v, want a projected volume with defaultMode 0440", m.Name, vols[m.Name])
				}
				if m.SubPath != "" {
					t.Errorf("management mount %s uses subPath", m.MountPath)
				}
			}
			if tok := envVar(c, "GITHUB_TOKEN"); tok == nil || tok.ValueFrom == nil {
				t.Errorf("GITHUB_TOKEN = %+v, want it from a Secret", tok)
			}
			// The chart test runs `config validate` with the same files.
			for _, o := range only(rel.hooks, "Pod") {
				var tp corev1.Pod
				decodeStrict(t, o, &tp)
				assertPodWellFormed(t, "test Pod", tp.Spec)
				tf := podFiles(t, tp.Spec, tp.Spec.Containers[0])
				for f, from := range files {
					if tf[f] != from {
						t.Errorf("test Pod: %s comes from %q, the CronJob's from %q", f, tf[f], from)
					}
				}
			}
			for _, want := range []string{ex.key, "credrotate-github, " + ex.secretName + ", " + ex.management + "\n"} {
				if !strings.Contains(rel.notes, want) {
					t.Errorf("NOTES do not say %q:\n%s", want, rel.notes)
				}
			}
		})
	}
}

// workloadIdentityValues are the values and config of the workload identity
// set-ups the values.yaml comments describe: no management Secret at all.
var workloadIdentityValues = map[string]string{
	"entra on AKS": `
serviceAccount:
  annotations: {azure.workload.identity/client-id: 7b2d4c1e-0f3a-4b5c-9d8e-1a2b3c4d5e6f}
podLabels: {azure.workload.identity/use: "true"}
providers: [{key: entra.payments_api, secretName: payments-api-credentials}]
config:
  entra:
    tenantID: contoso.onmicrosoft.com
    management:
      clientID: 7b2d4c1e-0f3a-4b5c-9d8e-1a2b3c4d5e6f
      federatedTokenFile: /var/run/secrets/azure/tokens/azure-identity-token
  providers:
    - key: entra.payments_api
      type: entra
      clientID: 3c9e1f7a-5b2d-4e8c-a1f6-0d4b7e9c2a51
      currentSecret: {file: /var/run/credrotate/entra.payments_api/client_secret}
      secret: {name: payments-api-credentials, namespace: credit, dataKey: client_secret}
`,
	"gcp on GKE": `
serviceAccount:
  annotations: {iam.gke.io/gcp-service-account: key-manager@acme-reports.iam.gserviceaccount.com}
providers: [{key: gcpkey.reports_exporter, secretName: reports-exporter-key, secretKey: key.json}]
config:
  gcp: {maxKeyAge: 2160h}
  providers:
    - key: gcpkey.reports_exporter
      type: gcpkey
      clientID: reports-exporter@acme-reports.iam.gserviceaccount.com
      currentSecret: {file: /var/run/credrotate/gcpkey.reports_exporter/client_secret}
      secret: {name: reports-exporter-key, namespace: credit, dataKey: key.json}
`,
}

func TestChartWorkloadIdentity(t *testing.T) {
	t.Parallel()
	for name, src := range workloadIdentityValues {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vals := values(t, src)
			for _, m := range lint.All(chartDir(t), vals, releaseNamespace, false).Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
			rel := mustRender(t, vals)
			cfg := loadRendered(t, rel)
			cj := cronJob(t, rel)
			pod := cj.Spec.JobTemplate.Spec.Template.Spec
			assertPodWellFormed(t, "CronJob", pod)
			for _, v := range pod.Volumes {
				if strings.HasPrefix(v.Name, "management-") {
					t.Errorf("volume %s rendered without managementSecrets", v.Name)
				}
			}
			var sa corev1.ServiceAccount
			decodeStrict(t, only(rel.objects, "ServiceAccount")[0], &sa)
			labels := cj.Spec.JobTemplate.Spec.Template.Labels
			switch {
			case cfg.Entra.Management.FederatedTokenFile != "":
				if sa.Annotations["azure.workload.identity/client-id"] != cfg.Entra.Management.ClientID {
					t.Errorf("ServiceAccount annotations %v, want azure.workload.identity/client-id %s", sa.Annotations, cfg.Entra.Management.ClientID)
				}
				if labels["azure.workload.identity/use"] != "true" {
					t.Errorf("pod labels %v lack azure.workload.identity/use: \"true\"", labels)
				}
			default:
				if cfg.GCP.CredentialsFile != "" {
					t.Errorf("gcp.credentialsFile %q, want none (Application Default Credentials)", cfg.GCP.CredentialsFile)
				}
				if sa.Annotations["iam.gke.io/gcp-service-account"] == "" {
					t.Errorf("ServiceAccount annotations %v lack iam.gke.io/gcp-service-account", sa.Annotations)
				}
			}
		})
	}
}

// TestChartCurrentSecretAnyDataKey: whatever the Secret's data key is called
// (a gcpkey Secret holds a key file), it is mounted at <key>/client_secret,
// where the config reads it.
func TestChartCurrentSecretAnyDataKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"key.json", "service-account.json", "credentials_v2.json", "client_secret", "KEY"} {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			rel := mustRender(t, values(t, `
providers: [{key: gcpkey.sa, secretName: sa-key, secretKey: `+key+`}]
config:
  providers:
    - key: gcpkey.sa
      type: gcpkey
      clientID: sa@project.iam.gserviceaccount.com
      currentSecret: {file: /var/run/credrotate/gcpkey.sa/client_secret}
      secret: {name: sa-key, namespace: credit, dataKey: `+key+`}
`))
			loadRendered(t, rel)
			pod := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec
			if got := podFiles(t, pod, pod.Containers[0])["/var/run/credrotate/gcpkey.sa/client_secret"]; got != "sa-key/"+key {
				t.Errorf("/var/run/credrotate/gcpkey.sa/client_secret comes from %q, want sa-key/%s", got, key)
			}
		})
	}
}

// TestChartManagementSecrets: several keys under one name share a folder,
// each name has its own volume, and optional reaches the volume.
func TestChartManagementSecrets(t *testing.T) {
	t.Parallel()
	rel := mustRender(t, values(t, `
managementSecrets:
  - {name: okta, secretName: okta-management, key: private-key.pem}
  - {name: okta, secretName: okta-token, key: api_token, optional: true}
  - {name: gcp, secretName: gcp-management, key: credentials.json}
`))
	pod := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec
	assertPodWellFormed(t, "CronJob", pod)
	files := podFiles(t, pod, pod.Containers[0])
	for f, from := range map[string]string{
		managementDir + "/okta/private-key.pem": "okta-management/private-key.pem",
		managementDir + "/okta/api_token":       "okta-token/api_token",
		managementDir + "/gcp/credentials.json": "gcp-management/credentials.json",
	} {
		if files[f] != from {
			t.Errorf("%s comes from %q, want %q", f, files[f], from)
		}
	}
	var optional []string
	for _, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.Secret != nil && s.Secret.Optional != nil && *s.Secret.Optional {
				optional = append(optional, s.Secret.Name)
			}
		}
	}
	if !slices.Equal(optional, []string{"okta-token"}) {
		t.Errorf("optional Secrets %v, want [okta-token]", optional)
	}
}

// TestChartProviderSchema: the schema types the new sections as strictly as
// the old ones, and a misspelt key is refused at every level.
func TestChartProviderSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, values, wantErr string
	}{
		{"misspelt top-level value", `managmentSecrets: []`, "managmentSecrets"},
		{"misspelt config key", `config: {rotaton: {renewBefore: 336h}}`, "rotaton"},
		{"misspelt rotation key", `config: {rotation: {renewBefor: 336h}}`, "renewBefor"},
		{"rotation duration", `config: {rotation: {gracePeriod: two weeks}}`, "gracePeriod"},
		{"rotation concurrency", `config: {rotation: {concurrency: 0}}`, "concurrency"},
		{"schedule not cron", `config: {schedule: "weekly"}`, "schedule"},
		{"gcp project not an id", `config: {gcp: {project: Acme Prod}}`, "project"},
		{"unknown provider type", `
config:
  providers:
    - {key: k, type: azure, clientID: c, currentSecret: {env: K}, secret: {name: s, namespace: credit}}
`, "type"},
		{"objectID on an equifax key", `
config:
  providers:
    - {key: k, clientID: c, objectID: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, currentSecret: {env: K}, secret: {name: s, namespace: credit}}
`, "objectID"},
		{"objectID not a guid", `
config:
  providers:
    - {key: k, type: entra, clientID: c, objectID: app-1, currentSecret: {env: K}, secret: {name: s, namespace: credit}}
`, "objectID"},
		{"misspelt entra key", `config: {entra: {tenantId: contoso.onmicrosoft.com}}`, "tenantId"},
		{"entra graphURL not a URL", `config: {entra: {graphURL: graph.microsoft.com}}`, "graphURL"},
		{"entra secret and token file", `
config:
  entra:
    management: {clientID: c, clientSecret: {env: S}, federatedTokenFile: /var/run/secrets/azure/tokens/azure-identity-token}
`, "management"},
		{"entra secret with two sources", `config: {entra: {management: {clientID: c, clientSecret: {env: S, file: /f}}}}`, "clientSecret"},
		{"okta token and service app", `
config:
  okta:
    management:
      apiToken: {env: OKTA_API_TOKEN}
      serviceApp: {clientID: c, privateKeyFile: /var/run/credrotate/management/okta/key.pem}
`, "management"},
		{"okta service app without key", `config: {okta: {management: {serviceApp: {clientID: c}}}}`, "privateKeyFile"},
		{"okta orgURL", `config: {okta: {orgURL: acme.okta.com}}`, "orgURL"},
		{"okta maxAge", `config: {okta: {maxAge: 90}}`, "maxAge"},
		{"misspelt gcp key", `config: {gcp: {credentialFile: /x}}`, "credentialFile"},
		{"gcp relative credentials", `config: {gcp: {credentialsFile: key.json}}`, "credentialsFile"},
		{"management secret without key", `managementSecrets: [{name: okta, secretName: okta-management}]`, "key"},
		{"management name with a slash", `managementSecrets: [{name: okta/x, secretName: s, key: k}]`, "name"},
		{"management key ..", `managementSecrets: [{name: okta, secretName: s, key: ..}]`, "key"},
		{"management misspelt field", `managementSecrets: [{name: okta, secretName: s, key: k, optinal: true}]`, "optinal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, values(t, tc.values))
			if err == nil {
				t.Fatalf("values %q were accepted", tc.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not name the schema and %q", err, tc.wantErr)
			}
		})
	}
}

// TestChartProviderConsistency: values that render but would fail at the
// first run are refused with the fix.
func TestChartProviderConsistency(t *testing.T) {
	t.Parallel()
	entra := func(mgmt string) string {
		return `
providers: [{key: entra.app, secretName: app-credentials}]
config:
  entra:
    tenantID: contoso.onmicrosoft.com
    management: ` + mgmt + `
  providers:
    - key: entra.app
      type: entra
      clientID: 3c9e1f7a-5b2d-4e8c-a1f6-0d4b7e9c2a51
      currentSecret: {file: /var/run/credrotate/entra.app/client_secret}
      secret: {name: app-credentials, namespace: credit}
`
	}
	tests := []struct {
		name, values, wantErr string
	}{
		{"management file not mounted", entra(`{clientID: c, clientSecret: {file: /var/run/credrotate/management/entra/client_secret}}`),
			"config.entra.management.clientSecret.file is /var/run/credrotate/management/entra/client_secret, but no entry of managementSecrets mounts it there: add {name: entra, secretName: <the Secret that holds it>, key: client_secret}"},
		{"management file mounted under another name", entra(`{clientID: c, clientSecret: {file: /var/run/credrotate/management/entra/client_secret}}`) +
			`managementSecrets: [{name: azure, secretName: entra-management, key: client_secret}]`, "no entry of managementSecrets mounts it"},
		{"management file too deep", entra(`{clientID: c, clientSecret: {file: /var/run/credrotate/management/entra/x/client_secret}}`),
			"which managementSecrets cannot mount"},
		{"gcp credentials not mounted", `
providers: []
config:
  gcp: {credentialsFile: /var/run/credrotate/management/gcp/credentials.json}
  providers:
    - {key: gcpkey.sa, type: gcpkey, clientID: sa@p.iam.gserviceaccount.com, currentSecret: {kubernetes: {namespace: credit-prod, name: sa-key, key: key.json}}, secret: {name: sa-key, namespace: credit, dataKey: key.json}}
rbac: {readCurrentSecrets: true}
`, "config.gcp.credentialsFile is /var/run/credrotate/management/gcp/credentials.json, but no entry of managementSecrets mounts it"},
		{"okta key not mounted", `
providers: []
config:
  okta:
    orgURL: https://acme.okta.com
    management: {serviceApp: {clientID: c, privateKeyFile: /var/run/credrotate/management/okta/private-key.pem}}
  providers:
    - {key: okta.app, type: okta, clientID: c, currentSecret: {env: OKTA_APP_SECRET}, secret: {name: app, namespace: credit}}
`, "config.okta.management.serviceApp.privateKeyFile is /var/run/credrotate/management/okta/private-key.pem"},
		{"management env not in the pod", entra(`{clientID: c, clientSecret: {env: ENTRA_CLIENT_SECRET}}`),
			"config.entra.management.clientSecret is {env: ENTRA_CLIENT_SECRET}, but the pod has no variable ENTRA_CLIENT_SECRET"},
		{"management kubernetes source without a token", entra(`{clientID: c, clientSecret: {kubernetes: {namespace: credit-prod, name: entra-management, key: client_secret}}}`),
			"set rbac.readCurrentSecrets=true"},
		{"management secret listed twice", `
managementSecrets:
  - {name: okta, secretName: a, key: api_token}
  - {name: okta, secretName: b, key: api_token}
`, "managementSecrets lists name okta with key api_token twice"},
		{"provider key the chart uses", `providers: [{key: management, secretName: s}]`, "which the chart uses itself"},
		{"config schedule differs", `config: {schedule: "0 6 * * 1"}`, `config.schedule is "0 6 * * 1", but the CronJob runs on schedule "0 5 * * 3"`},
		{"configFile with a misspelt key", `configFile: "rotaton: {}\n"`, `configFile has the key "rotaton"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, values(t, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestChartProviderFixes: the fixes the consistency checks name do render.
func TestChartProviderFixes(t *testing.T) {
	t.Parallel()
	base := `
providers: [{key: entra.app, secretName: app-credentials}]
config:
  entra:
    tenantID: contoso.onmicrosoft.com
    management: MGMT
  providers:
    - key: entra.app
      type: entra
      clientID: 3c9e1f7a-5b2d-4e8c-a1f6-0d4b7e9c2a51
      currentSecret: {file: /var/run/credrotate/entra.app/client_secret}
      secret: {name: app-credentials, namespace: credit, dataKey: client_secret}
`
	t.Run("env from extraEnv", func(t *testing.T) {
		t.Parallel()
		rel := mustRender(t, values(t, strings.Replace(base, "MGMT", `{clientID: c, clientSecret: {env: ENTRA_CLIENT_SECRET}}`, 1)+`
extraEnv:
  - name: ENTRA_CLIENT_SECRET
    valueFrom: {secretKeyRef: {name: entra-management, key: client_secret}}
`))
		loadRendered(t, rel)
		c := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec.Containers[0]
		if e := envVar(c, "ENTRA_CLIENT_SECRET"); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "entra-management" {
			t.Errorf("ENTRA_CLIENT_SECRET = %+v", e)
		}
	})
	t.Run("kubernetes source with RBAC", func(t *testing.T) {
		t.Parallel()
		rel := mustRender(t, values(t, strings.Replace(base, "MGMT", `{clientID: c, clientSecret: {kubernetes: {namespace: identity, name: entra-management, key: client_secret}}}`, 1)+`
rbac: {readCurrentSecrets: true}
`))
		loadRendered(t, rel)
		roles := only(rel.objects, "Role")
		if len(roles) != 1 {
			t.Fatalf("want one Role, got %v", kinds(rel.objects))
		}
		var role rbacv1.Role
		decodeStrict(t, roles[0], &role)
		if role.Namespace != "identity" || len(role.Rules) != 1 || !slices.Equal(role.Rules[0].ResourceNames, []string{"entra-management"}) {
			t.Errorf("Role %s: %+v, want get on identity/entra-management", role.Namespace, role.Rules)
		}
	})
	t.Run("config schedule equal to the CronJob's", func(t *testing.T) {
		t.Parallel()
		cfg := loadRendered(t, mustRender(t, values(t, `{schedule: "0 6 * * 1", config: {schedule: "0 6 * * 1"}}`)))
		if cfg.Schedule != "0 6 * * 1" {
			t.Errorf("schedule %q", cfg.Schedule)
		}
	})
	t.Run("policy in the older equifax spelling", func(t *testing.T) {
		t.Parallel()
		rel := mustRender(t, values(t, `config: {equifax: {transport: rest, renewBefore: 168h, enableClientSecretRenewal: false}}`))
		cfg := loadRendered(t, rel)
		if cfg.Rotation.RenewBefore.Hours() != 168 || cfg.Rotation.EnableClientSecretRenewal {
			t.Errorf("rotation %+v, want the values' equifax.renewBefore 168h and renewal off", cfg.Rotation)
		}
		if cfg.Rotation.GracePeriod.Hours() != 336 {
			t.Errorf("rotation.gracePeriod %v, want the chart's default 336h kept", cfg.Rotation.GracePeriod)
		}
	})
	t.Run("schedule follows the CronJob's", func(t *testing.T) {
		t.Parallel()
		cfg := loadRendered(t, mustRender(t, values(t, `schedule: "0 6 * * 1"`)))
		if cfg.Schedule != "0 6 * * 1" {
			t.Errorf("the rendered config's schedule is %q, want the CronJob's", cfg.Schedule)
		}
	})
}

// TestExampleConfigsUseRotation: every example config keeps the rotation
// policy in rotation:, not in the equifax.* spellings older files use.
func TestExampleConfigsUseRotation(t *testing.T) {
	t.Parallel()
	rels := []string{"examples/configs/cronjob.yaml", "examples/configs/github-actions.yaml"}
	for _, ex := range providerExamples {
		rels = append(rels, ex.config)
	}
	for _, rel := range rels {
		var doc struct {
			Rotation map[string]any `json:"rotation"`
			Equifax  map[string]any `json:"equifax"`
		}
		if err := yaml.Unmarshal(readFile(t, rel), &doc); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if len(doc.Rotation) == 0 {
			t.Errorf("%s has no rotation section", rel)
		}
		for _, k := range []string{"enableClientSecretRenewal", "renewBefore", "gracePeriod", "revokeAfter", "criticalBefore", "concurrency", "timeout"} {
			if _, ok := doc.Equifax[k]; ok {
				t.Errorf("%s sets equifax.%s; write it as rotation.%s", rel, k, k)
			}
		}
	}
}
