package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// sealFixture writes a configuration with two environments, their
// certificates (prod's expired when expiredProd), and an empty checkout.
func sealFixture(t *testing.T, expiredProd bool) (cfgPath, repo string, keys map[string]*rsa.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	repo = filepath.Join(dir, "gitops")
	if err := os.MkdirAll(filepath.Join(repo, "overlays", "prod", "credentials"), 0o755); err != nil {
		t.Fatal(err)
	}
	keys = map[string]*rsa.PrivateKey{}
	for _, env := range []string{"prod", "staging"} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[env] = k
		nb, na := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		if env == "prod" && expiredProd {
			nb, na = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"}, NotBefore: nb, NotAfter: na}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, env+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
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
  - {name: prod, path: overlays/prod/credentials, cert: {file: prod.pem}}
  - {name: staging, path: overlays/staging/credentials, cert: {file: staging.pem}, scope: namespace-wide, namespace: credit-staging}
`
	cfgPath = filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, repo, keys
}

func TestSealCommand(t *testing.T) {
	cfg, repo, keys := sealFixture(t, false)
	const value = "s3cret-from-the-portal"
	out, stderr, code := runCmd(t, value+"\n", "seal", "--config", cfg, "--provider-key", "equifax.unique_client_id",
		"--repo-dir", repo, "--secret-id", "sec_123", "--expires-at", "2027-03-01T00:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "overlays/prod/credentials/equifax.unique_client_id.yaml\noverlays/prod/credentials/kustomization.yaml\n" +
		"overlays/staging/credentials/equifax.unique_client_id.yaml\noverlays/staging/credentials/kustomization.yaml\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if strings.Contains(out+stderr, value) {
		t.Fatal("the secret was printed")
	}
	for env, ns := range map[string]string{"prod": "credit", "staging": "credit-staging"} {
		data, err := os.ReadFile(filepath.Join(repo, "overlays", env, "credentials", "equifax.unique_client_id.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), value) {
			t.Fatal("plaintext in the manifest")
		}
		var ss ssv1alpha1.SealedSecret
		if err := runtime.DecodeInto(scheme.Codecs.UniversalDecoder(ssv1alpha1.SchemeGroupVersion), data, &ss); err != nil {
			t.Fatal(err)
		}
		fp, _ := sscrypto.PublicKeyFingerprint(&keys[env].PublicKey)
		sec, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: keys[env]})
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		// One trailing newline is not part of the secret.
		if string(sec.Data["client_secret"]) != value || ss.Namespace != ns {
			t.Errorf("%s: unsealed %d bytes in %s", env, len(sec.Data["client_secret"]), ss.Namespace)
		}
		if ss.Annotations["credrotate.io/secret-id"] != "sec_123" || ss.Annotations["credrotate.io/expires-at"] != "2027-03-01T00:00:00Z" ||
			ss.Annotations["credrotate.io/trace-id"] == "" || ss.Annotations["credrotate.io/rotated-at"] == "" {
			t.Errorf("%s: annotations %v", env, ss.Annotations)
		}
	}
}

func TestSealCommandRefusals(t *testing.T) {
	cfg, repo, _ := sealFixture(t, false)
	badCfg, badRepo, _ := sealFixture(t, true)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no provider key", "x", []string{"seal", "--config", cfg, "--repo-dir", repo}, exitUsage, "--provider-key is required"},
		{"no repo dir", "x", []string{"seal", "--config", cfg, "--provider-key", "equifax.unique_client_id"}, exitUsage, "--repo-dir is required"},
		{"repo dir missing", "x", []string{"seal", "--config", cfg, "--provider-key", "equifax.unique_client_id", "--repo-dir", repo + "/nope"}, exitUsage, "is not a folder"},
		{"unknown key", "x", []string{"seal", "--config", cfg, "--provider-key", "nope", "--repo-dir", repo}, exitUsage, "use one of equifax.unique_client_id"},
		{"bad expiry", "x", []string{"seal", "--config", cfg, "--provider-key", "equifax.unique_client_id", "--repo-dir", repo, "--expires-at", "soon"}, exitUsage, "RFC 3339"},
		{"empty stdin", "", []string{"seal", "--config", cfg, "--provider-key", "equifax.unique_client_id", "--repo-dir", repo}, exitUsage, "no client secret"},
		{"expired certificate", "x", []string{"seal", "--config", badCfg, "--provider-key", "equifax.unique_client_id", "--repo-dir", badRepo}, exitFailure, `environment "prod": sealing certificate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCmd(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing written", out)
			}
		})
	}
	for _, r := range []string{repo, badRepo} {
		if _, err := os.Stat(filepath.Join(r, "overlays", "prod", "credentials", "equifax.unique_client_id.yaml")); err == nil {
			t.Error("a refused seal wrote a manifest")
		}
	}
}
