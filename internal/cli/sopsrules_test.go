package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// sopsSealFixture writes a configuration with one environment on sops for
// recipient, and a checkout whose .sops.yaml is sopsYAML.
func sopsSealFixture(t *testing.T, recipient, sopsYAML string) (cfgPath, repo string) {
	t.Helper()
	dir := t.TempDir()
	repo = filepath.Join(dir, "gitops")
	if err := os.MkdirAll(filepath.Join(repo, "overlays", "staging", "credentials"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".sops.yaml"), []byte(sopsYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "current"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `git:
  url: https://github.com/acme/gitops.git
  baseBranch: main
  author: {name: credrotate, email: credrotate@example.com}
  tokenEnv: GITHUB_TOKEN
github:
  owner: acme
  repo: gitops
  tokenEnv: GITHUB_TOKEN
providers:
  - key: equifax.unique_client_id
    clientID: 0oa1example
    currentSecret: {file: current}
    secret: {name: equifax-credentials, namespace: credit, dataKey: client_secret}
environments:
  - {name: staging, path: overlays/staging/credentials, encryption: sops, sops: {ageRecipients: [` + recipient + `]}, namespace: credit-staging}
`
	cfgPath = filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, repo
}

// TestSealHonoursSOPSYAML: the seal command writes a SOPS file as the
// checkout's .sops.yaml rule says (its encrypted_regex), and refuses, with
// the file and the rule named and nothing written, a rule whose recipients
// are not the environment's.
func TestSealHonoursSOPSYAML(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const value = "s3cret-from-the-portal"
	args := func(cfg, repo string) []string {
		return []string{"seal", "--config", cfg, "--provider-key", "equifax.unique_client_id", "--repo-dir", repo, "--secret-id", "sec_1"}
	}
	manifest := filepath.Join("overlays", "staging", "credentials", "equifax.unique_client_id.yaml")

	cfg, repo := sopsSealFixture(t, id.Recipient().String(), "creation_rules:\n  - path_regex: ^overlays/staging/\n    age: "+id.Recipient().String()+"\n    encrypted_regex: ^(data|stringData|token)$\n")
	_, stderr, code := runCmd(t, value+"\n", args(cfg, repo)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(repo, manifest))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "encrypted_regex: ^(data|stringData|token)$") {
		t.Errorf("the rule's encrypted_regex is not the file's:\n%s", b)
	}
	o, err := sopsout.Open(b, id.String())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := o.Value("client_secret"); v.Reveal() != value {
		t.Error("the file does not decrypt to the secret")
	}

	cfg, repo = sopsSealFixture(t, id.Recipient().String(), "creation_rules:\n  - path_regex: ^overlays/\n    age: "+other.Recipient().String()+"\n    encrypted_regex: ^(data|stringData)$\n")
	out, stderr, code := runCmd(t, value+"\n", args(cfg, repo)...)
	if code != exitUsage || !strings.Contains(stderr, `.sops.yaml creation_rules[0] (path_regex "^overlays/")`) || !strings.Contains(stderr, "only in the rule") ||
		!strings.Contains(stderr, filepath.ToSlash(manifest)) {
		t.Errorf("conflicting rule: exit %d, stderr %s", code, stderr)
	}
	if out != "" || strings.Contains(stderr, value) {
		t.Errorf("stdout %q", out)
	}
	if _, err := os.Stat(filepath.Join(repo, manifest)); err == nil {
		t.Error("a refused seal wrote the manifest")
	}
}
