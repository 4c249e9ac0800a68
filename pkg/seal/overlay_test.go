package seal

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/credrotate/credrotate/internal/testenv"
)

// overlayFixture writes three overlays, each with its own key, into a
// checkout on disk, as a GitOps repository has them:
//
//	prod:    strict, rendered in the Secret's namespace
//	staging: namespace-wide, the overlay sets the same namespace
//	uat:     strict, the overlay moves everything to credit-uat
func overlayFixture(t *testing.T) (string, []Environment) {
	t.Helper()
	dir := t.TempDir()
	parents := map[string]string{
		"prod":    "resources:\n- credentials\n",
		"staging": "namespace: credit\nresources:\n- credentials\n",
		"uat":     "namespace: credit-uat\nresources:\n- credentials\n",
	}
	for env, k := range parents {
		p := filepath.Join(dir, "overlays", env)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	envs := []Environment{
		{Name: "prod", Path: "overlays/prod/credentials", Cert: testCert(t, "prod", "prod")},
		{Name: "staging", Path: "overlays/staging/credentials", Cert: testCert(t, "staging", "staging"), Scope: ScopeNamespaceWide},
		{Name: "uat", Path: "overlays/uat/credentials", Cert: testCert(t, "uat", "uat"), Namespace: "credit-uat"},
	}
	fsys, err := OpenDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if _, err := Write(t.Context(), fsys, envs, []Item{testItem("equifax.unique_client_id")}); err != nil {
		t.Fatal(err)
	}
	return dir, envs
}

// TestKustomizeBuildRendersSealedName builds each overlay with kustomize and
// unseals what it renders: the name and namespace kustomize gives the
// SealedSecret are the ones it was sealed for.
func TestKustomizeBuildRendersSealedName(t *testing.T) {
	dir, envs := overlayFixture(t)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	wantNS := map[string]string{"prod": "credit", "staging": "credit", "uat": "credit-uat"}
	for _, env := range envs {
		t.Run(env.Name, func(t *testing.T) {
			resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "overlays", env.Name))
			if err != nil {
				t.Fatal(err)
			}
			var found int
			for _, r := range resources.Resources() {
				if r.GetKind() != Kind {
					continue
				}
				found++
				if r.GetName() != "equifax-credentials" || r.GetNamespace() != wantNS[env.Name] {
					t.Errorf("rendered %s/%s", r.GetNamespace(), r.GetName())
				}
				y, err := r.AsYAML()
				if err != nil {
					t.Fatal(err)
				}
				sec, err := decodeSealed(t, y).Unseal(scheme.Codecs, privKeys(t, env.Name))
				if err != nil {
					t.Fatalf("the rendered SealedSecret does not unseal: %v", err)
				}
				if string(sec.Data["client_secret"]) != testSecretValue {
					t.Error("wrong value")
				}
			}
			if found != 1 {
				t.Errorf("rendered %d SealedSecrets, want 1", found)
			}
		})
	}
}

// TestKubesealRecoversSecret checks the written files with kubeseal itself,
// the tool an operator would use in a disaster: each file unseals with its
// own environment's private key and with no other.
func TestKubesealRecoversSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("building kubeseal is slow; skipped in -short mode")
	}
	kubeseal := kubesealCommand(t)
	dir, envs := overlayFixture(t)
	keys := t.TempDir()
	for _, env := range envs {
		if err := os.WriteFile(filepath.Join(keys, env.Name+".pem"), privKeyPEM(t, env.Name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unseal := func(t *testing.T, manifest, keyName string) (*corev1.Secret, error) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := kubeseal(t.Context(), "--recovery-unseal", "--recovery-private-key", filepath.Join(keys, keyName+".pem"), "-o", "json")
		cmd.Stdin = bytes.NewReader(data)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, &exec.ExitError{Stderr: stderr.Bytes()}
		}
		var sec corev1.Secret
		if err := json.Unmarshal(stdout.Bytes(), &sec); err != nil {
			t.Fatalf("kubeseal output: %v\n%s", err, stdout.String())
		}
		return &sec, nil
	}
	for _, env := range envs {
		t.Run(env.Name, func(t *testing.T) {
			sec, err := unseal(t, env.ManifestPath("equifax.unique_client_id"), env.Name)
			if err != nil {
				t.Fatalf("kubeseal --recovery-unseal with %s's key: %s", env.Name, err.(*exec.ExitError).Stderr)
			}
			if string(sec.Data["client_secret"]) != testSecretValue || sec.Name != "equifax-credentials" || sec.Namespace != env.NamespaceFor(testItem("").Ref) {
				t.Errorf("kubeseal recovered %s/%s with the wrong value", sec.Namespace, sec.Name)
			}
			other := map[string]string{"prod": "staging", "staging": "uat", "uat": "prod"}[env.Name]
			if _, err := unseal(t, env.ManifestPath("equifax.unique_client_id"), other); err == nil {
				t.Errorf("kubeseal unsealed %s's file with %s's key", env.Name, other)
			}
		})
	}
}

// kubesealCommand returns how to run kubeseal: the binary KUBESEAL_BIN
// names (make test builds it once, at the version go.mod pins, before the
// tests), or else `go tool kubeseal`, which compiles it inside this test's
// time on a cold cache.
func kubesealCommand(t *testing.T) func(ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	if bin := os.Getenv("KUBESEAL_BIN"); bin != "" {
		testenv.File(t, bin, "kubeseal (KUBESEAL_BIN)", "make test builds it; or unset KUBESEAL_BIN to use `go tool kubeseal`")
		return func(ctx context.Context, args ...string) *exec.Cmd { return exec.CommandContext(ctx, bin, args...) }
	}
	goBin := testenv.LookPath(t, "go", "install Go (https://go.dev/dl/) to run `go tool kubeseal`")
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	modRoot := filepath.Dir(strings.TrimSpace(string(out)))
	if err != nil || modRoot == "." {
		testenv.Require(t, "the module root for `go tool kubeseal`", "run the tests inside the credrotate module, or set KUBESEAL_BIN")
	}
	return func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, goBin, append([]string{"tool", "kubeseal"}, args...)...)
		cmd.Dir = modRoot
		return cmd
	}
}
