package packaging

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/testenv"
)

// The alerts the chart's PrometheusRule defines (files/prometheus-rules.yaml).
var wantAlerts = []string{
	"CredrotateCredentialExpiringNoRotation",
	"CredrotateNoSuccessfulRun",
	"CredrotateRotationBlocked",
	"CredrotateUnmanagedCredentialExpiring",
}

const promtoolHint = "bash test/setup.sh (it builds promtool at test/tools/promtool's version into .cache/bin and prints PROMTOOL_BIN), or put promtool on PATH"

// promtool is the promtool the tests run: PROMTOOL_BIN, as test/setup.sh
// exports it, or promtool on PATH; missing, it skips loudly (fails under CI).
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL_BIN"); p != "" {
		return testenv.File(t, p, "promtool (PROMTOOL_BIN)", promtoolHint)
	}
	return testenv.LookPath(t, "promtool", promtoolHint)
}

// ruleGroups renders the chart with the PrometheusRule on (and vals over
// it) and returns the PrometheusRule's object and its spec as a Prometheus
// rule file: the very text the operator hands Prometheus.
func ruleGroups(t *testing.T, vals string) (object, []byte) {
	t.Helper()
	v := values(t, vals)
	pr, _ := v["prometheusRule"].(map[string]any)
	if pr == nil {
		pr = map[string]any{}
		v["prometheusRule"] = pr
	}
	if _, set := pr["enabled"]; !set {
		pr["enabled"] = true
	}
	rel := mustRender(t, v)
	prs := only(rel.objects, "PrometheusRule")
	if len(prs) != 1 {
		t.Fatalf("want one PrometheusRule, rendered %v", kinds(rel.objects))
	}
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal(prs[0].YAML, &doc); err != nil {
		t.Fatalf("PrometheusRule: %v", err)
	}
	rules, err := yaml.JSONToYAML(doc.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return prs[0], rules
}

// ruleFile is the part of Prometheus's rule-file format the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func parseRules(t *testing.T, src []byte) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict(src, &rf); err != nil {
		t.Fatalf("the rule groups do not decode: %v\n%s", err, src)
	}
	return rf
}

// TestPrometheusRuleOptIn: no PrometheusRule or dashboard unless asked for;
// when asked, one PrometheusRule in the release's namespace (or the one
// set) with the additional labels and every alert, each with a severity, a
// summary, a description and a runbook.
func TestPrometheusRuleOptIn(t *testing.T) {
	t.Parallel()
	rel := mustRender(t, nil)
	if got := only(rel.objects, "PrometheusRule"); len(got) != 0 {
		t.Errorf("the defaults render a PrometheusRule: %v", kinds(rel.objects))
	}

	o, src := ruleGroups(t, `prometheusRule: {additionalLabels: {release: kube-prometheus-stack}, alertLabels: {team: credit}}`)
	if o.APIVersion != "monitoring.coreos.com/v1" || o.Name != releaseName || o.Namespace != releaseNamespace {
		t.Errorf("PrometheusRule %s %s/%s, want monitoring.coreos.com/v1 %s/%s", o.APIVersion, o.Namespace, o.Name, releaseNamespace, releaseName)
	}
	var meta struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(o.YAML, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Metadata.Labels["release"] != "kube-prometheus-stack" || meta.Metadata.Labels["app.kubernetes.io/name"] == "" {
		t.Errorf("labels %v: want the chart's and additionalLabels", meta.Metadata.Labels)
	}
	var alerts []string
	for _, g := range parseRules(t, src).Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Labels["team"] != "credit" {
				t.Errorf("%s: labels %v, want a severity and alertLabels", r.Alert, r.Labels)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if !strings.Contains(r.Annotations["runbook"], "credrotate ") && !strings.Contains(r.Annotations["runbook"], "kubectl ") {
				t.Errorf("%s: the runbook names no command:\n%s", r.Alert, r.Annotations["runbook"])
			}
		}
	}
	sort.Strings(alerts)
	if alerts = slices.Compact(alerts); !slices.Equal(alerts, wantAlerts) {
		t.Errorf("alerts %v, want %v", alerts, wantAlerts)
	}

	o, _ = ruleGroups(t, `prometheusRule: {namespace: monitoring}`)
	if o.Namespace != "monitoring" {
		t.Errorf("namespace %q, want monitoring", o.Namespace)
	}
}

// TestPrometheusRuleThresholds: thresholds given in seconds or as
// durations render the same expressions; a malformed one is refused by the
// schema.
func TestPrometheusRuleThresholds(t *testing.T) {
	t.Parallel()
	exprs := func(vals string) map[string]string {
		_, src := ruleGroups(t, vals)
		m := map[string]string{}
		for _, g := range parseRules(t, src).Groups {
			for _, r := range g.Rules {
				m[r.Alert] += r.Expr + "for " + r.For + "\n"
			}
		}
		return m
	}
	defaults := exprs(``)
	for _, tc := range []struct{ name, a, b string }{
		{"criticalBefore in seconds", `prometheusRule: {criticalBefore: 259200}`, ``},
		{"criticalBefore in days", `prometheusRule: {criticalBefore: 3d}`, ``},
		{"criticalBefore as a string of seconds", `prometheusRule: {criticalBefore: "259200"}`, ``},
		{"maxRunAge", `prometheusRule: {maxRunAge: 2w}`, ``},
		{"schedulePeriods", `prometheusRule: {schedulePeriod: 1d, schedulePeriods: 14}`, ``},
		{"compound durations", `prometheusRule: {criticalBefore: 2d24h, unmanagedExpiringBefore: 1w7d}`, ``},
	} {
		if got := exprs(tc.a); !equalMaps(got, defaults) {
			t.Errorf("%s: %s renders\n%v\nwant the defaults'\n%v", tc.name, tc.a, got, defaults)
		}
	}
	for alert, want := range map[string]string{
		"CredrotateCredentialExpiringNoRotation": "< 259200\n",
		"CredrotateUnmanagedCredentialExpiring":  "< 1209600\n",
		"CredrotateNoSuccessfulRun":              "[1209600s]) > 1209600\n",
	} {
		if !strings.Contains(defaults[alert], want) {
			t.Errorf("%s: %q does not hold %q", alert, defaults[alert], want)
		}
	}
	if got := exprs(`prometheusRule: {criticalBefore: 1d12h}`)["CredrotateCredentialExpiringNoRotation"]; !strings.Contains(got, "< 129600\n") {
		t.Errorf("criticalBefore 1d12h: %q, want < 129600", got)
	}
	if got := exprs(`prometheusRule: {maxRunAge: 10d}`)["CredrotateNoSuccessfulRun"]; !strings.Contains(got, "[864000s]) > 864000\n") || !strings.Contains(got, "for 864000s") {
		t.Errorf("maxRunAge 10d: %q, want 864000s", got)
	}
	got := exprs(`prometheusRule: {extraMatchers: 'job="credrotate"'}`)
	for alert, e := range got {
		for _, sel := range regexp.MustCompile(`credrotate_[a-z_]+\{[^}]*\}`).FindAllString(e, -1) {
			if !strings.Contains(sel, `job="credrotate"`) {
				t.Errorf("%s: selector %s lacks extraMatchers", alert, sel)
			}
		}
	}
	for _, bad := range []string{`{criticalBefore: 3 days}`, `{criticalBefore: -5}`, `{schedulePeriods: 0}`, `{maxRunAge: soon}`, `{unknown: 1}`} {
		v := values(t, `prometheusRule: `+bad)
		v["prometheusRule"].(map[string]any)["enabled"] = true
		if _, err := render(t, v); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("prometheusRule %s: rendered (%v), want a schema error", bad, err)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPrometheusRuleSchedulePeriod: the default schedulePeriod is the time
// between two runs of the default schedule, so "two periods" means two
// missed runs.
func TestPrometheusRuleSchedulePeriod(t *testing.T) {
	t.Parallel()
	v := values(t, string(readFile(t, "charts/credrotate/values.yaml")))
	sched, err := cron.ParseStandard(v["schedule"].(string))
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := sched.Next(from)
	period := sched.Next(first).Sub(first)
	pr := v["prometheusRule"].(map[string]any)
	if got := pr["schedulePeriod"]; got != "7d" || period != 7*24*time.Hour {
		t.Errorf("schedulePeriod %v, the default schedule %q runs every %v", got, v["schedule"], period)
	}
}

// renderedRulesFile writes the default rule groups where promtool reads them.
func renderedRulesFile(t *testing.T, dir, vals string) string {
	t.Helper()
	_, src := ruleGroups(t, vals)
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPromtoolCheckRules: `promtool check rules` (with its linter) accepts
// the rule groups the chart renders, with the defaults and with every
// threshold and label changed.
func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	promtool(t)
	for name, vals := range map[string]string{
		"defaults": ``,
		"changed":  `prometheusRule: {criticalBefore: 5d, unmanagedExpiringBefore: 30d, schedulePeriod: 1d, schedulePeriods: 3, alertLabels: {team: credit}, extraMatchers: 'job="credrotate", namespace!=""'}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := renderedRulesFile(t, dir, vals)
			out := runPromtool(t, dir, "check", "rules", "--lint=all", "--lint-fatal", p)
			if !strings.Contains(out, "SUCCESS: 5 rules found") {
				t.Errorf("promtool check rules:\n%s", out)
			}
		})
	}
}

// TestPromtoolTestRules: the unit tests in testdata/prometheus-rules-test.yaml
// (each alert firing, pending and quiet) pass against the rendered rules.
func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	promtool(t)
	dir := t.TempDir()
	renderedRulesFile(t, dir, ``)
	test := filepath.Join(dir, "rules-test.yaml")
	if err := os.WriteFile(test, readFile(t, "test/packaging/testdata/prometheus-rules-test.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t, dir, "test", "rules", test)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
	// Every alert is tested both firing and quiet.
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, "test/packaging/testdata/prometheus-rules-test.yaml"), &tf); err != nil {
		t.Fatal(err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, a := range wantAlerts {
		if !firing[a] || !quiet[a] {
			t.Errorf("%s: tested firing %v, quiet %v; want both", a, firing[a], quiet[a])
		}
	}
}

// TestGrafanaDashboard: the opt-in ConfigMap carries the sidecar's label
// (configurable) and the dashboard file byte for byte, and the dashboard
// has the panels the monitoring guide describes.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	if cms := only(mustRender(t, nil).objects, "ConfigMap"); len(cms) != 1 {
		t.Errorf("the defaults render %d ConfigMaps, want only the config", len(cms))
	}
	want := readFile(t, "charts/credrotate/files/grafana-dashboard.json")
	for _, tc := range []struct{ vals, label, value, ns string }{
		{`grafanaDashboard: {enabled: true}`, "grafana_dashboard", "1", releaseNamespace},
		{`grafanaDashboard: {enabled: true, namespace: monitoring, labels: {grafana-dashboard: "yes"}, annotations: {grafana_folder: Security}}`, "grafana-dashboard", "yes", "monitoring"},
	} {
		rel := mustRender(t, values(t, tc.vals))
		var found bool
		for _, o := range only(rel.objects, "ConfigMap") {
			if o.Name != releaseName+"-dashboard" {
				continue
			}
			found = true
			var cm corev1.ConfigMap
			decodeStrict(t, o, &cm)
			if cm.Labels[tc.label] != tc.value || cm.Namespace != tc.ns {
				t.Errorf("%s: labels %v in %q, want %s=%s in %q", tc.vals, cm.Labels, cm.Namespace, tc.label, tc.value, tc.ns)
			}
			if got := cm.Data["credrotate.json"]; got != strings.TrimRight(string(want), "\n") {
				t.Errorf("%s: the ConfigMap's dashboard differs from files/grafana-dashboard.json", tc.vals)
			}
		}
		if !found {
			t.Errorf("%s: no dashboard ConfigMap in %v", tc.vals, kinds(rel.objects))
		}
	}

	d := dashboard(t)
	var titles []string
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	for _, w := range []string{"Days left per key", "Unmanaged credentials expiring", "Last run", "Outcomes of the last run"} {
		if !slices.Contains(titles, w) {
			t.Errorf("no panel %q in %q", w, titles)
		}
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q", d.UID, d.Title)
	}
}

type grafanaDashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func dashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	var d grafanaDashboard
	dec := json.NewDecoder(bytes.NewReader(readFile(t, "charts/credrotate/files/grafana-dashboard.json")))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("files/grafana-dashboard.json: %v", err)
	}
	return d
}

// exportedMetrics reads the metric names and label names credrotate
// exports from the GaugeOpts and label lists in internal/cli/metrics.go.
func exportedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "internal", "cli", "metrics.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		opts, ok := call.Args[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		if sel, ok := opts.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "GaugeOpts" {
			return true
		}
		var name string
		for _, e := range opts.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Name" {
				if lit, ok := kv.Value.(*ast.BasicLit); ok {
					name, _ = strconv.Unquote(lit.Value)
				}
			}
		}
		if name == "" {
			t.Fatalf("%s: a GaugeOpts without a literal Name", path)
		}
		out[name] = []string{}
		if len(call.Args) > 1 {
			if ls, ok := call.Args[1].(*ast.CompositeLit); ok {
				for _, e := range ls.Elts {
					if lit, ok := e.(*ast.BasicLit); ok {
						l, _ := strconv.Unquote(lit.Value)
						out[name] = append(out[name], l)
					}
				}
			}
		}
		return true
	})
	if len(out) < 6 {
		t.Fatalf("%s: found only the metrics %v", path, out)
	}
	return out
}

// grafanaVariables are Grafana's built-in interval variables, replaced by a
// duration so the expressions parse as PromQL.
var grafanaVariables = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)

var (
	// promqlStrings are PromQL's string literals, dropped before looking for
	// names so a label value is not taken for one.
	promqlStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// selectors are a metric name and its label matchers, if any.
	selectors = regexp.MustCompile(`\b(credrotate_[a-z_]+)\b(\{[^}]*\})?`)
	// matcherNames are the label names in a selector's matchers.
	matcherNames = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

type promQuery struct{ where, expr string }

// monitoringQueries are the PromQL expressions of the rendered rules and of
// the dashboard's panels and variables.
func monitoringQueries(t *testing.T) []promQuery {
	t.Helper()
	var queries []promQuery
	_, src := ruleGroups(t, ``)
	for _, g := range parseRules(t, src).Groups {
		for _, r := range g.Rules {
			queries = append(queries, promQuery{"rule " + r.Alert, r.Expr})
		}
	}
	d := dashboard(t)
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			queries = append(queries, promQuery{"panel " + p.Title, grafanaVariables.ReplaceAllString(q.Expr, "5m")})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\(([^,]+),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			queries = append(queries, promQuery{"variable " + v.Name, m[1]})
		} else if v.Definition != "" {
			t.Errorf("variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
		}
	}
	return queries
}

// TestRuleAndDashboardMetricsExported: every metric the alert rules and
// the dashboard query is one credrotate exports, and every label they
// match on is one of that metric's labels.
func TestRuleAndDashboardMetricsExported(t *testing.T) {
	t.Parallel()
	exported := exportedMetrics(t)
	used := map[string]bool{}
	for _, q := range monitoringQueries(t) {
		// Keep the selectors' matchers (their values are strings), drop
		// every other string.
		found := 0
		for _, m := range selectors.FindAllStringSubmatch(q.expr, -1) {
			found++
			labels, known := exported[m[1]]
			if !known {
				t.Errorf("%s: metric %q is not one credrotate exports (%v)", q.where, m[1], keys(exported))
				continue
			}
			used[m[1]] = true
			for _, l := range matcherNames.FindAllStringSubmatch(promqlStrings.ReplaceAllString(m[2], `""`), -1) {
				if !slices.Contains(labels, l[1]) {
					t.Errorf("%s: %s has no label %q (it has %v)", q.where, m[1], l[1], labels)
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: %q queries no credrotate metric", q.where, q.expr)
		}
		if other := regexp.MustCompile(`\b[a-z]+_[a-z_]+\b`).FindAllString(promqlStrings.ReplaceAllString(q.expr, `""`), -1); len(other) > 0 {
			for _, name := range other {
				if !strings.HasPrefix(name, "credrotate_") && !slices.Contains([]string{"max_over_time", "label_values", "provider_key", "secret_id", "client_id"}, name) {
					t.Errorf("%s: %q names %q, which is not a credrotate metric", q.where, q.expr, name)
				}
			}
		}
	}
	for name := range exported {
		if !used[name] {
			t.Logf("metric %s is in neither the rules nor the dashboard", name)
		}
	}
}

// TestPromtoolChecksDashboardQueries: the dashboard's queries are valid
// PromQL: promtool checks them as recording rules.
func TestPromtoolChecksDashboardQueries(t *testing.T) {
	t.Parallel()
	promtool(t)
	var rules []map[string]string
	for i, q := range monitoringQueries(t) {
		if strings.HasPrefix(q.where, "panel ") {
			rules = append(rules, map[string]string{"record": "credrotate:dashboard_query_" + strconv.Itoa(i), "expr": q.expr})
		}
	}
	src, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "dashboard-queries.yaml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t, dir, "check", "rules", p)
	if want := "SUCCESS: " + strconv.Itoa(len(rules)) + " rules found"; !strings.Contains(out, want) {
		t.Errorf("promtool check rules: want %q in\n%s", want, out)
	}
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
