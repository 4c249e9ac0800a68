package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/pkg/config"
)

const (
	releaseName      = "credrotate"
	releaseNamespace = "credit-prod"
)

// designConfigKeys are the top-level keys of credrotate.yaml in the design's
// Configuration section: the contract the chart's config must keep to.
// hookAnnotation marks a Helm hook (the chart test is one).
const hookAnnotation = "helm.sh/hook"

var designConfigKeys = []string{"git", "github", "pullRequest", "notify", "rotation", "schedule", "equifax", "entra", "okta", "gcp", "providers", "environments"}

func chartDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "charts", "credrotate")
}

// values parses YAML into a values map, the way `helm -f` reads a file.
func values(t testing.TB, src string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatalf("test values do not parse: %v", err)
	}
	return v
}

// release is what `helm template` would print, split into objects.
type release struct {
	objects []object // the chart's objects, without hooks
	hooks   []object // hooks (the chart test)
	notes   string
}

// render does what `helm template` does: it coalesces vals over the
// chart's values.yaml, validates them against values.schema.json, renders the
// templates and splits the result into the chart's objects, its hooks (the
// chart test) and NOTES.txt.
func render(t testing.TB, vals map[string]any) (release, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	if vals == nil {
		vals = map[string]any{}
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(chrt, vals, opts, caps, false)
	if err != nil {
		return release{}, err
	}
	files, err := engine.Render(chrt, top)
	if err != nil {
		return release{}, err
	}
	var out release
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		body := files[name]
		switch {
		case strings.HasSuffix(name, "NOTES.txt"):
			out.notes = body
		case !strings.HasSuffix(name, ".yaml"):
			// _helpers.tpl and the like render to nothing.
		default:
			for _, o := range splitObjects(t, name, []byte(body)) {
				var meta struct {
					Metadata struct {
						Annotations map[string]string `json:"annotations"`
					} `json:"metadata"`
				}
				if err := yaml.Unmarshal(o.YAML, &meta); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if _, hook := meta.Metadata.Annotations[hookAnnotation]; hook {
					out.hooks = append(out.hooks, o)
				} else {
					out.objects = append(out.objects, o)
				}
			}
		}
	}
	return out, nil
}

func mustRender(t testing.TB, vals map[string]any) release {
	t.Helper()
	rel, err := render(t, vals)
	if err != nil {
		t.Fatalf("the chart does not render: %v", err)
	}
	return rel
}

func cronJob(t testing.TB, rel release) *batchv1.CronJob {
	t.Helper()
	cjs := only(rel.objects, "CronJob")
	if len(cjs) != 1 {
		t.Fatalf("want exactly one CronJob, rendered %v", kinds(rel.objects))
	}
	var cj batchv1.CronJob
	decodeStrict(t, cjs[0], &cj)
	return &cj
}

// lintValues are value sets the linter and the renderer must both accept.
var lintValues = map[string]string{
	"defaults": ``,
	"github app, webhook, certs, metrics with pushgateway": `
github: {auth: app}
config:
  github: {app: {id: 12345, installationID: 678, privateKeyFile: /var/run/credrotate/github/private-key.pem}}
  notify: {webhookURLEnv: NOTIFY_WEBHOOK_URL}
  environments:
    - {name: prod, path: overlays/prod/credentials, cert: {file: certs/prod.pem}, namespace: credit-prod}
notify: {webhook: {existingSecret: credrotate-webhook}}
sealingCerts:
  prod: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
metrics: {enabled: true, pushgateway: {url: "http://pushgateway.monitoring.svc:9091"}}
`,
	"kubernetes current-secret source with RBAC": `
rbac: {readCurrentSecrets: true}
providers: []
config:
  providers:
    - key: equifax.unique_client_id
      clientID: 0oa1example
      currentSecret: {kubernetes: {namespace: credit-prod, name: equifax-credentials, key: client_secret}}
      secret: {name: equifax-credentials, namespace: credit, dataKey: client_secret}
`,
}

func TestChartLint(t *testing.T) {
	for name, src := range lintValues {
		t.Run(name, func(t *testing.T) {
			linter := lint.All(chartDir(t), values(t, src), releaseNamespace, false)
			for _, m := range linter.Messages {
				switch m.Severity {
				case support.ErrorSev:
					t.Errorf("helm lint error: %s", m)
				case support.WarningSev:
					t.Errorf("helm lint warning: %s", m)
				default:
					t.Logf("helm lint: %s", m)
				}
			}
			mustRender(t, values(t, src))
		})
	}
}

func TestChartCronJobDefaults(t *testing.T) {
	rel := mustRender(t, nil)
	if got, want := kinds(rel.objects), []string{"ConfigMap/credrotate", "CronJob/credrotate", "ServiceAccount/credrotate"}; !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	for _, o := range rel.objects {
		if o.Namespace != releaseNamespace {
			t.Errorf("%s/%s: namespace %q, want the release's %q", o.Kind, o.Name, o.Namespace, releaseNamespace)
		}
	}
	cj := cronJob(t, rel)

	// Schedule: Wednesday 05:00 UTC, one run at a time, no blind retries.
	if cj.Spec.Schedule != "0 5 * * 3" {
		t.Errorf("schedule %q, want %q", cj.Spec.Schedule, "0 5 * * 3")
	}
	if cj.Spec.TimeZone == nil || *cj.Spec.TimeZone != "Etc/UTC" {
		t.Errorf("timeZone %s, want Etc/UTC", show(cj.Spec.TimeZone))
	}
	sched, err := cron.ParseStandard("CRON_TZ=" + *cj.Spec.TimeZone + " " + cj.Spec.Schedule)
	if err != nil {
		t.Fatalf("schedule does not parse: %v", err)
	}
	next := sched.Next(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)).UTC()
	if next.Weekday() != time.Wednesday || next.Hour() != 5 || next.Minute() != 0 {
		t.Errorf("next run after Thursday 2026-11-26 is %s, want a Wednesday at 05:00 UTC", next)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	if d := cj.Spec.StartingDeadlineSeconds; d == nil || *d <= 0 {
		t.Errorf("startingDeadlineSeconds %s, want a positive value", show(d))
	}
	if cj.Spec.SuccessfulJobsHistoryLimit == nil || cj.Spec.FailedJobsHistoryLimit == nil {
		t.Error("job history limits are not set")
	}
	if cj.Spec.Suspend == nil || *cj.Spec.Suspend {
		t.Errorf("suspend %s, want false", show(cj.Spec.Suspend))
	}
	job := cj.Spec.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("backoffLimit %s, want 0: a rotation is never retried blindly", show(job.BackoffLimit))
	}
	// The Job's deadline is a little above the run's own (--timeout), so the
	// run stops first and releases its lease.
	if d := job.ActiveDeadlineSeconds; d == nil || *d != 1800+300 {
		t.Errorf("activeDeadlineSeconds %s, want 2100 (timeoutSeconds + 300)", show(d))
	}

	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken %s, want false by default", show(pod.AutomountServiceAccountToken))
	}
	if pod.ServiceAccountName != "credrotate" {
		t.Errorf("serviceAccountName %q, want credrotate", pod.ServiceAccountName)
	}
	assertPodSecurity(t, pod)

	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if want := []string{"renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml", "--timeout", "1800s"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if c.Image != "ghcr.io/credrotate/credrotate:0.1.0" {
		t.Errorf("image %q, want the chart's appVersion as tag", c.Image)
	}

	// The GitHub token comes from the existing Secret, never from a value.
	tok := envVar(c, "GITHUB_TOKEN")
	if tok == nil || tok.Value != "" || tok.ValueFrom == nil || tok.ValueFrom.SecretKeyRef == nil ||
		tok.ValueFrom.SecretKeyRef.Name != "credrotate-github" || tok.ValueFrom.SecretKeyRef.Key != "token" {
		t.Errorf("GITHUB_TOKEN env is %+v, want a secretKeyRef to credrotate-github/token", tok)
	}

	// Mounts: the config, a writable /tmp, and the current secret read-only
	// where the config says it is, from the Secret the sealed manifest makes.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	cfgMount, ok := mounts["/etc/credrotate"]
	if !ok || !cfgMount.ReadOnly {
		t.Errorf("config is not mounted read-only at /etc/credrotate: %+v", c.VolumeMounts)
	}
	if v := vols[cfgMount.Name]; v.Projected == nil || len(v.Projected.Sources) == 0 || v.Projected.Sources[0].ConfigMap == nil ||
		v.Projected.Sources[0].ConfigMap.Name != "credrotate" {
		t.Errorf("config volume %+v does not project the ConfigMap credrotate", v)
	}
	tmp, ok := mounts["/tmp"]
	if !ok || vols[tmp.Name].EmptyDir == nil {
		t.Errorf("/tmp is not an emptyDir: %+v", c.VolumeMounts)
	}
	cur, ok := mounts["/var/run/credrotate/equifax.unique_client_id"]
	if !ok || !cur.ReadOnly {
		t.Fatalf("current secret is not mounted read-only at /var/run/credrotate/equifax.unique_client_id: %+v", c.VolumeMounts)
	}
	if cur.SubPath != "" {
		t.Error("current secret is mounted with subPath: it would not follow the rollout")
	}
	sv := vols[cur.Name].Secret
	if sv == nil || sv.SecretName != "equifax-credentials" || len(sv.Items) != 1 ||
		sv.Items[0].Key != "client_secret" || sv.Items[0].Path != "client_secret" {
		t.Errorf("current secret volume is %+v, want Secret equifax-credentials key client_secret at client_secret", vols[cur.Name])
	}
	// Readable by the pod's group (fsGroup 65532) only, never by others.
	if sv != nil && (sv.DefaultMode == nil || *sv.DefaultMode != 0o440) {
		t.Errorf("current secret volume defaultMode %s, want 0440", show(sv.DefaultMode))
	}
	for _, m := range c.VolumeMounts {
		if m.Name != tmp.Name && !m.ReadOnly {
			t.Errorf("mount %s at %s is writable; only /tmp (and the metrics folder) may be", m.Name, m.MountPath)
		}
	}

	// The ServiceAccount does not hand out a token either.
	var sa corev1.ServiceAccount
	decodeStrict(t, only(rel.objects, "ServiceAccount")[0], &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount automountServiceAccountToken %s, want false", show(sa.AutomountServiceAccountToken))
	}

	if !strings.Contains(rel.notes, "create job --from=cronjob/credrotate") {
		t.Errorf("NOTES do not say how to run a job now:\n%s", rel.notes)
	}
}

// assertPodSecurity checks the settings a credential job must have: non-root,
// read-only root filesystem, no privilege escalation, no capabilities,
// RuntimeDefault seccomp, requests and limits on every container.
func assertPodSecurity(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and runAsUser 65532", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile is not RuntimeDefault: %+v", psc)
	}
	all := append(slices.Clone(pod.InitContainers), pod.Containers...)
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("container %s has no securityContext", c.Name)
			continue
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("container %s: runAsNonRoot not true", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem not true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation not false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s is privileged", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities %+v, want drop ALL and add none", c.Name, sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s: seccompProfile is not RuntimeDefault", c.Name)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				t.Errorf("container %s: no %s request", c.Name, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				t.Errorf("container %s: no %s limit", c.Name, res)
			}
		}
	}
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func TestChartValuesSchema(t *testing.T) {
	tests := []struct {
		name, values, wantErr string
	}{
		{"concurrencyPolicy Allow", `concurrencyPolicy: Allow`, "concurrencyPolicy"},
		{"concurrencyPolicy Replace", `concurrencyPolicy: Replace`, "concurrencyPolicy"},
		{"schedule a number", `schedule: 5`, "schedule"},
		{"schedule not cron", `schedule: "every wednesday"`, "schedule"},
		{"negative backoffLimit", `backoffLimit: -1`, "backoffLimit"},
		{"unknown top-level value", `schedulle: "0 5 * * 3"`, "schedulle"},
		{"misspelt config key", `config: {provders: []}`, "provders"},
		{"config without providers", `config: {providers: null}`, "providers"},
		{"current secret with file and env", `
config:
  providers:
    - key: k
      clientID: c
      currentSecret: {file: /a, env: B}
      secret: {name: s, namespace: n}
`, "currentSecret"},
		{"unknown github auth", `github: {auth: password}`, "auth"},
		{"image pull policy", `image: {pullPolicy: Sometimes}`, "pullPolicy"},
		{"provider without secretName", `providers: [{key: equifax.unique_client_id}]`, "secretName"},
		{"timeout too short", `timeoutSeconds: 10`, "timeoutSeconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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

// TestChartConsistencyChecks shows that the chart refuses values that would
// render fine but fail at the first scheduled run.
func TestChartConsistencyChecks(t *testing.T) {
	tests := []struct {
		name, values, wantErr string
	}{
		{"current secret file not mounted", `providers: []`, "no entry of .Values.providers mounts it"},
		{"rbac without a kubernetes source", `rbac: {readCurrentSecrets: true}`, "no provider in config uses currentSecret: {kubernetes"},
		{"kubernetes source without a token", `
providers: []
config:
  providers:
    - key: equifax.unique_client_id
      clientID: c
      currentSecret: {kubernetes: {namespace: credit-prod, name: equifax-credentials, key: client_secret}}
      secret: {name: equifax-credentials, namespace: credit}
`, "set rbac.readCurrentSecrets=true"},
		{"token env mismatch", `config: {github: {tokenEnv: GH_TOKEN}}`, "config.github.tokenEnv is GH_TOKEN"},
		{"app key path mismatch", `github: {auth: app}`, "config.github.app.privateKeyFile must be /var/run/credrotate/github/private-key.pem"},
		{"webhook env mismatch", `notify: {webhook: {existingSecret: hook}}`, "config.notify.webhookURLEnv must be NOTIFY_WEBHOOK_URL"},
		{"no github secret", `github: {existingSecret: ""}`, "github.existingSecret is empty"},
		{"job deadline below the run's", `{timeoutSeconds: 3600, activeDeadlineSeconds: 3600}`, "activeDeadlineSeconds is 3600, not above timeoutSeconds 3600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, values(t, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestChartConfigMap(t *testing.T) {
	rel := mustRender(t, values(t, lintValues["github app, webhook, certs, metrics with pushgateway"]))
	var cms []corev1.ConfigMap
	for _, o := range only(rel.objects, "ConfigMap") {
		var cm corev1.ConfigMap
		decodeStrict(t, o, &cm)
		cms = append(cms, cm)
	}
	if len(cms) != 2 || cms[0].Name != "credrotate" || cms[1].Name != "credrotate-certs" {
		t.Fatalf("want ConfigMaps credrotate and credrotate-certs, got %v", kinds(rel.objects))
	}
	raw, ok := cms[0].Data["credrotate.yaml"]
	if !ok {
		t.Fatal("ConfigMap has no credrotate.yaml")
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("credrotate.yaml does not parse: %v\n%s", err, raw)
	}
	for k := range cfg {
		if !slices.Contains(designConfigKeys, k) {
			t.Errorf("credrotate.yaml has key %q, which the design does not define", k)
		}
	}
	for _, k := range []string{"git", "github", "rotation", "schedule", "equifax", "providers", "environments"} {
		if _, ok := cfg[k]; !ok {
			t.Errorf("credrotate.yaml has no %q", k)
		}
	}
	// The policy sits in rotation; the schedule is the CronJob's.
	if got := fmt.Sprint(dig(cfg, "rotation", "gracePeriod")); got != "336h" {
		t.Errorf("rotation.gracePeriod = %q, want the default 336h", got)
	}
	if got := fmt.Sprint(cfg["schedule"]); got != "0 5 * * 3" {
		t.Errorf("schedule = %q, want the CronJob's 0 5 * * 3", got)
	}
	// The user's values were merged with the defaults, not replacing them.
	if got := fmt.Sprint(dig(cfg, "github", "owner")); got != "acme" {
		t.Errorf("github.owner = %q, want the default acme kept", got)
	}
	if got := fmt.Sprint(dig(cfg, "github", "app", "installationID")); got != "678" {
		t.Errorf("github.app.installationID = %q, want 678", got)
	}
	provs, _ := cfg["providers"].([]any)
	if len(provs) != 1 || dig(provs[0].(map[string]any), "currentSecret", "file") != "/var/run/credrotate/equifax.unique_client_id/client_secret" {
		t.Errorf("providers = %v", provs)
	}
	if pem := cms[1].Data["prod.pem"]; !strings.HasPrefix(pem, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("certs ConfigMap prod.pem = %q", pem)
	}

	// The cert the config names (relative to /etc/credrotate) is projected
	// there, and the App key and webhook URL come from Secrets.
	cj := cronJob(t, rel)
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	var certPath string
	for _, v := range pod.Volumes {
		if v.Name == "config" {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil && s.ConfigMap.Name == "credrotate-certs" {
					certPath = s.ConfigMap.Items[0].Path
				}
			}
		}
	}
	if certPath != "certs/prod.pem" {
		t.Errorf("certificate projected at %q, want certs/prod.pem beside credrotate.yaml", certPath)
	}
	c := pod.Containers[0]
	if envVar(c, "GITHUB_TOKEN") != nil {
		t.Error("github.auth app still sets GITHUB_TOKEN")
	}
	if hook := envVar(c, "NOTIFY_WEBHOOK_URL"); hook == nil || hook.ValueFrom == nil || hook.ValueFrom.SecretKeyRef.Name != "credrotate-webhook" {
		t.Errorf("NOTIFY_WEBHOOK_URL = %+v, want a secretKeyRef to credrotate-webhook", hook)
	}
	found := false
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/var/run/credrotate/github" && m.ReadOnly {
			found = true
		}
	}
	if !found {
		t.Errorf("GitHub App key not mounted read-only at /var/run/credrotate/github: %+v", c.VolumeMounts)
	}
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func TestChartRBAC(t *testing.T) {
	t.Run("none by default", func(t *testing.T) {
		rel := mustRender(t, nil)
		if r := append(only(rel.objects, "Role"), append(only(rel.objects, "RoleBinding"), append(only(rel.objects, "ClusterRole"), only(rel.objects, "ClusterRoleBinding")...)...)...); len(r) > 0 {
			t.Fatalf("RBAC rendered without being asked: %v", kinds(r))
		}
	})
	t.Run("get on exactly the named Secrets", func(t *testing.T) {
		rel := mustRender(t, values(t, `
rbac: {readCurrentSecrets: true}
providers: [{key: b.key, secretName: b-creds}]
config:
  providers:
    - {key: a.key, clientID: a, currentSecret: {kubernetes: {namespace: credit-uat, name: a-creds, key: client_secret}}, secret: {name: a-creds, namespace: credit}}
    - {key: b.key, clientID: b, currentSecret: {file: /var/run/credrotate/b.key/client_secret}, secret: {name: b-creds, namespace: credit}}
    - {key: c.key, clientID: c, currentSecret: {kubernetes: {namespace: credit-prod, name: c-creds, key: client_secret}}, secret: {name: c-creds, namespace: credit}}
    - {key: d.key, clientID: d, currentSecret: {kubernetes: {namespace: credit-uat, name: d-creds, key: client_secret}}, secret: {name: d-creds, namespace: credit}}
`))
		if len(only(rel.objects, "ClusterRole")) > 0 || len(only(rel.objects, "ClusterRoleBinding")) > 0 {
			t.Fatal("cluster-wide RBAC rendered")
		}
		want := map[string][]string{
			"credit-uat":     {"a-creds", "d-creds"},
			releaseNamespace: {"c-creds"},
		}
		roles := only(rel.objects, "Role")
		if len(roles) != len(want) {
			t.Fatalf("want %d Roles, got %v", len(want), kinds(roles))
		}
		for _, o := range roles {
			var role rbacv1.Role
			decodeStrict(t, o, &role)
			if len(role.Rules) != 1 {
				t.Fatalf("Role in %s has %d rules, want 1", role.Namespace, len(role.Rules))
			}
			r := role.Rules[0]
			if !slices.Equal(r.Verbs, []string{"get"}) || !slices.Equal(r.Resources, []string{"secrets"}) || !slices.Equal(r.APIGroups, []string{""}) {
				t.Errorf("Role in %s: rule %+v, want get on core secrets only", role.Namespace, r)
			}
			if !slices.Equal(r.ResourceNames, want[role.Namespace]) {
				t.Errorf("Role in %s: resourceNames %v, want %v", role.Namespace, r.ResourceNames, want[role.Namespace])
			}
		}
		for _, o := range only(rel.objects, "RoleBinding") {
			var rb rbacv1.RoleBinding
			decodeStrict(t, o, &rb)
			if len(rb.Subjects) != 1 || rb.Subjects[0].Kind != "ServiceAccount" || rb.Subjects[0].Name != "credrotate" || rb.Subjects[0].Namespace != releaseNamespace {
				t.Errorf("RoleBinding in %s binds %+v, want the release's ServiceAccount", rb.Namespace, rb.Subjects)
			}
			if rb.RoleRef.Kind != "Role" {
				t.Errorf("RoleBinding in %s refers to a %s", rb.Namespace, rb.RoleRef.Kind)
			}
		}
		pod := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec
		if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
			t.Error("rbac.readCurrentSecrets does not mount the service account token the API source needs")
		}
	})
}

func TestChartTestHook(t *testing.T) {
	rel := mustRender(t, nil)
	pods := only(rel.hooks, "Pod")
	if len(pods) != 1 {
		t.Fatalf("want one test Pod among the hooks, got %v", kinds(rel.hooks))
	}
	var pod corev1.Pod
	decodeStrict(t, pods[0], &pod)
	if pod.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("test pod hook annotation %q, want test", pod.Annotations["helm.sh/hook"])
	}
	if want := []string{"config", "validate", "--config", "/etc/credrotate/credrotate.yaml"}; !slices.Equal(pod.Spec.Containers[0].Args, want) {
		t.Errorf("test pod args %q, want %q", pod.Spec.Containers[0].Args, want)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod restartPolicy %q", pod.Spec.RestartPolicy)
	}
	assertPodSecurity(t, pod.Spec)

	off := mustRender(t, values(t, `tests: {enabled: false}`))
	if len(off.hooks) != 0 {
		t.Errorf("tests.enabled=false still renders %v", kinds(off.hooks))
	}
}

func TestChartMetrics(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		c := cronJob(t, mustRender(t, nil)).Spec.JobTemplate.Spec.Template.Spec.Containers[0]
		if slices.Contains(c.Args, "--metrics-file") {
			t.Errorf("metrics file written by default: %q", c.Args)
		}
	})
	t.Run("file and pushgateway sidecar", func(t *testing.T) {
		pod := cronJob(t, mustRender(t, values(t, lintValues["github app, webhook, certs, metrics with pushgateway"]))).Spec.JobTemplate.Spec.Template.Spec
		c := pod.Containers[0]
		i := slices.Index(c.Args, "--metrics-file")
		if i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != "/var/run/credrotate/metrics/credrotate.prom" {
			t.Fatalf("args %q do not write the metrics file", c.Args)
		}
		if len(pod.InitContainers) != 1 {
			t.Fatalf("want the pusher as a native sidecar, got %d init containers", len(pod.InitContainers))
		}
		side := pod.InitContainers[0]
		if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			t.Error("the pusher is not a native sidecar (restartPolicy: Always): it would block the run")
		}
		if u := envVar(side, "PUSHGATEWAY_URL"); u == nil || u.Value != "http://pushgateway.monitoring.svc:9091" {
			t.Errorf("PUSHGATEWAY_URL = %+v", u)
		}
		assertPodSecurity(t, pod)
	})
}

// exampleChartValues are examples/configs/cronjob-values.yaml with the
// --set-file values of the install command in examples/configs/cronjob.yaml.
func exampleChartValues(t testing.TB) map[string]any {
	t.Helper()
	v := values(t, string(readFile(t, "examples/configs/cronjob-values.yaml")))
	v["configFile"] = string(readFile(t, "examples/configs/cronjob.yaml"))
	certs := map[string]any{}
	for env := range exampleEnvs {
		certs[env] = string(readFile(t, "examples/gitops-repo/certs/"+env+".pem"))
	}
	v["sealingCerts"] = certs
	return v
}

// TestChartConfigLoads writes the rendered ConfigMaps out the way the pod
// sees them under /etc/credrotate and loads them with credrotate's own config
// loader: what the chart renders is a config credrotate accepts.
func TestChartConfigLoads(t *testing.T) {
	tests := []struct {
		name   string
		values func(testing.TB) map[string]any
	}{
		{"defaults", func(testing.TB) map[string]any { return nil }},
		{"example cronjob config and values", exampleChartValues},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := tc.values(t)
			linter := lint.All(chartDir(t), vals, releaseNamespace, false)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
			rel := mustRender(t, vals)
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
			// Every file source the config reads is mounted by the CronJob.
			c := cronJob(t, rel).Spec.JobTemplate.Spec.Template.Spec.Containers[0]
			for _, p := range cfg.Providers {
				if p.CurrentSecret.File == "" {
					continue
				}
				mounted := false
				for _, m := range c.VolumeMounts {
					mounted = mounted || filepath.Dir(p.CurrentSecret.File) == m.MountPath
				}
				if !mounted {
					t.Errorf("%s: currentSecret.file %s is not mounted", p.Key, p.CurrentSecret.File)
				}
			}
		})
	}
}

// assertPodWellFormed checks what the API server would refuse and a strict
// decode cannot see: volume and container names that are not DNS labels,
// duplicate volumes, mounts of volumes that do not exist, bad env names.
func assertPodWellFormed(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		if errs := validation.IsDNS1123Label(v.Name); len(errs) > 0 {
			t.Errorf("%s: volume name %q: %v", what, v.Name, errs)
		}
		if vols[v.Name] {
			t.Errorf("%s: volume %q defined twice", what, v.Name)
		}
		vols[v.Name] = true
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			t.Errorf("%s: container name %q: %v", what, c.Name, errs)
		}
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("%s: container %s mounts volume %q, which the pod does not define", what, c.Name, m.Name)
			}
			if paths[m.MountPath] {
				t.Errorf("%s: container %s mounts two volumes at %s", what, c.Name, m.MountPath)
			}
			paths[m.MountPath] = true
		}
		for _, e := range c.Env {
			if errs := validation.IsEnvVarName(e.Name); len(errs) > 0 {
				t.Errorf("%s: container %s env %q: %v", what, c.Name, e.Name, errs)
			}
		}
	}
}

func TestChartPodsWellFormed(t *testing.T) {
	for name, src := range lintValues {
		t.Run(name, func(t *testing.T) {
			rel := mustRender(t, values(t, src))
			cj := cronJob(t, rel)
			if len(cj.Name) > 52 {
				t.Errorf("CronJob name %q is longer than 52 characters: its Jobs' names would be invalid", cj.Name)
			}
			assertPodWellFormed(t, "CronJob", cj.Spec.JobTemplate.Spec.Template.Spec)
			assertPodSecurity(t, cj.Spec.JobTemplate.Spec.Template.Spec)
			for _, o := range only(rel.hooks, "Pod") {
				var pod corev1.Pod
				decodeStrict(t, o, &pod)
				assertPodWellFormed(t, "test Pod", pod.Spec)
			}
		})
	}
	t.Run("long release name", func(t *testing.T) {
		rel := mustRender(t, values(t, `fullnameOverride: credrotate-for-the-credit-gateway-in-production-eu-west-1`))
		if n := cronJob(t, rel).Name; len(n) > 52 {
			t.Errorf("CronJob name %q is longer than 52 characters", n)
		}
	})
}

// show prints what an optional field points at, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// TestChartRunTimeout: the timeoutSeconds value reaches `renew --timeout`
// (and only renew), and the Job's deadline follows it unless set.
func TestChartRunTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		args         []string
		deadline     int64
	}{
		{"longer run", `timeoutSeconds: 3600`, []string{"renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml", "--timeout", "3600s"}, 3900},
		{"explicit job deadline", `{timeoutSeconds: 600, activeDeadlineSeconds: 1200}`, []string{"renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml", "--timeout", "600s"}, 1200},
		{"extraArgs win", `extraArgs: [--timeout, 5m]`, []string{"renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml", "--timeout", "1800s", "--timeout", "5m"}, 2100},
		{"not a renew", `args: [status, --config, /etc/credrotate/credrotate.yaml]`, []string{"status", "--config", "/etc/credrotate/credrotate.yaml"}, 2100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel, err := render(t, values(t, tc.values))
			if err != nil {
				t.Fatal(err)
			}
			cj := cronJob(t, rel)
			if args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, tc.args) {
				t.Errorf("args %q, want %q", args, tc.args)
			}
			if d := cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d == nil || *d != tc.deadline {
				t.Errorf("activeDeadlineSeconds %s, want %d", show(d), tc.deadline)
			}
		})
	}
}
