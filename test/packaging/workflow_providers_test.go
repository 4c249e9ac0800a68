package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/testenv"
	"github.com/credrotate/credrotate/pkg/config"
)

// TestWorkflowManagementCredentials checks how each provider type's
// management credential reaches a run: Entra's and Okta's as variables from
// repository secrets in the steps that run credrotate, Google Cloud's as a
// key file written to $RUNNER_TEMP by the job's own script, which a config
// then reads through CREDROTATE_GCP_CREDENTIALSFILE.
func TestWorkflowManagementCredentials(t *testing.T) {
	t.Parallel()
	testenv.LookPath(t, "bash", "apt-get install bash (GitHub's runners have it)")
	steps := workflowSteps(t)
	for _, name := range []string{"Validate the configuration", "Renew"} {
		s, ok := steps[name]
		if !ok {
			t.Fatalf("no step %q", name)
		}
		for _, v := range []string{"ENTRA_CLIENT_SECRET", "OKTA_API_TOKEN"} {
			if got, want := s.Env[v], "${{ secrets."+v+" }}"; got != want {
				t.Errorf("step %q env %s = %q, want %q", name, v, got, want)
			}
		}
	}
	gcp, ok := steps["Write the Google Cloud key file"]
	if !ok {
		t.Fatal(`no step "Write the Google Cloud key file"`)
	}
	if got := gcp.Env["GCP_CREDENTIALS_JSON"]; got != "${{ secrets.GCP_CREDENTIALS_JSON }}" {
		t.Errorf("GCP_CREDENTIALS_JSON = %q, want it from the repository secret", got)
	}
	if !strings.Contains(gcp.Run, "umask 077") {
		t.Error("the key file is written without umask 077")
	}

	run := func(t *testing.T, secret string) (dir string, githubEnv string) {
		t.Helper()
		dir = t.TempDir()
		out, code := runStep(t, gcp, map[string]string{
			"PATH":                 os.Getenv("PATH"),
			"RUNNER_TEMP":          dir,
			"GITHUB_ENV":           filepath.Join(dir, "github_env"),
			"GCP_CREDENTIALS_JSON": secret,
		})
		if code != 0 {
			t.Fatalf("step exit %d:\n%s", code, out)
		}
		if strings.Contains(out, "private_key") {
			t.Errorf("the step prints the key file:\n%s", out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "github_env"))
		return dir, string(b)
	}

	t.Run("no secret", func(t *testing.T) {
		t.Parallel()
		dir, env := run(t, "")
		if env != "" {
			t.Errorf("GITHUB_ENV = %q, want nothing set", env)
		}
		if _, err := os.Stat(filepath.Join(dir, "gcp-credentials.json")); err == nil {
			t.Error("a key file was written without a secret")
		}
	})
	t.Run("key file", func(t *testing.T) {
		t.Parallel()
		// A made-up key file (the PEM markers around four letters),
		// assembled so that the source holds nothing that looks like a key.
		pem := "-----BEGIN " + "PRIVATE KEY-----\\nMIIE\\n-----END " + "PRIVATE KEY-----\\n"
		key := `{"type": "service_account", "client_email": "key-manager@acme-reports.iam.gserviceaccount.com", "private_key": "` + pem + `"}`
		dir, env := run(t, key)
		file := filepath.Join(dir, "gcp-credentials.json")
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != key {
			t.Errorf("key file holds %q", b)
		}
		name, val, _ := strings.Cut(strings.TrimSpace(env), "=")
		if name != "CREDROTATE_GCP_CREDENTIALSFILE" || val != file {
			t.Fatalf("GITHUB_ENV = %q, want CREDROTATE_GCP_CREDENTIALSFILE=%s", env, file)
		}

		// A config for the workflow with a key of every type, reading the
		// management credentials the way the workflow hands them over.
		var doc map[string]any
		if err := yaml.Unmarshal(readFile(t, "examples/configs/github-actions.yaml"), &doc); err != nil {
			t.Fatal(err)
		}
		doc["entra"] = map[string]any{"tenantID": "contoso.onmicrosoft.com", "management": map[string]any{
			"clientID": "7b2d4c1e-0f3a-4b5c-9d8e-1a2b3c4d5e6f", "clientSecret": map[string]any{"env": "ENTRA_CLIENT_SECRET"}}}
		doc["okta"] = map[string]any{"orgURL": "https://acme.okta.com", "management": map[string]any{
			"apiToken": map[string]any{"env": "OKTA_API_TOKEN"}}}
		provs := doc["providers"].([]any)
		for _, p := range []struct{ key, typ, id, secret string }{
			{"entra.payments_api", config.TypeEntra, "3c9e1f7a-5b2d-4e8c-a1f6-0d4b7e9c2a51", "payments-api-credentials"},
			{"okta.billing_portal", config.TypeOkta, "0oa5billing2portal7", "billing-portal-credentials"},
			{"gcpkey.reports_exporter", config.TypeGCPKey, "reports-exporter@acme-reports.iam.gserviceaccount.com", "reports-exporter-key"},
		} {
			provs = append(provs, map[string]any{"key": p.key, "type": p.typ, "clientID": p.id,
				"currentSecret": map[string]any{"kubernetes": map[string]any{"namespace": "credit-prod", "name": p.secret, "key": "client_secret"}},
				"secret":        map[string]any{"name": p.secret, "namespace": "credit", "dataKey": "client_secret"}})
		}
		doc["providers"] = provs
		b, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		cfgFile := filepath.Join(dir, "credrotate.yaml")
		if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(config.LoadOptions{Path: cfgFile, Environ: []string{strings.TrimSpace(env), "ENTRA_CLIENT_SECRET=x", "OKTA_API_TOKEN=y"}})
		if err != nil {
			t.Fatalf("a workflow config with every provider type does not load: %v", err)
		}
		if cfg.GCP.CredentialsFile != file {
			t.Errorf("gcp.credentialsFile = %q, want the file the step wrote", cfg.GCP.CredentialsFile)
		}
	})
}
