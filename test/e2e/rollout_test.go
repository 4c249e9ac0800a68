//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/source/kube"
	"github.com/credrotate/credrotate/pkg/seal"
)

// TestRollout runs every check against one control plane, because starting
// one (etcd, kube-apiserver, three controllers generating 4096-bit keys)
// costs more than the checks together.
func TestRollout(t *testing.T) {
	bin := buildCredrotate(t)
	c := startCluster(t)
	certs := c.loadCertificates(t)

	t.Run("each environment's certificate comes from its controller", func(t *testing.T) {
		seen := map[string]string{}
		for _, env := range environments {
			cert := certs[env]
			if prev, dup := seen[cert.Fingerprint]; dup {
				t.Fatalf("%s and %s share a sealing certificate", prev, env)
			}
			seen[cert.Fingerprint] = env
			if cn := cert.X509.Subject.CommonName; cn != "sealed-secrets-"+env {
				t.Errorf("%s: certificate subject %q, want the %s controller's", env, cn, env)
			}
			// The controller keeps its key pair in a Secret of its own
			// namespace: the certificate served must be that one.
			keys, err := c.clientset.CoreV1().Secrets(controllerNamespace(env)).List(t.Context(), metav1.ListOptions{LabelSelector: "sealedsecrets.bitnami.com/sealed-secrets-key=active"})
			if err != nil {
				t.Fatal(err)
			}
			if len(keys.Items) != 1 {
				t.Fatalf("%s: %d active sealing keys, want 1", env, len(keys.Items))
			}
			stored, _, err := seal.LoadCertificate(t.Context(), env, seal.CertSource{File: writeTemp(t, keys.Items[0].Data[corev1.TLSCertKey])}, seal.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if stored.Fingerprint != cert.Fingerprint {
				t.Errorf("%s: /v1/cert.pem served %s, the controller's key is %s", env, cert.Fingerprint, stored.Fingerprint)
			}
		}
	})

	t.Run("sealed by credrotate, decrypted by the controller", func(t *testing.T) {
		value := credential.NewSecret("check-" + randomHex(t))
		repo := overlayRepo(t)
		item := checkItem("equifax.seal_check", "seal-check", value)
		if _, err := seal.Write(t.Context(), dirFS(t, repo), sealEnvironments(certs, nil), []seal.Item{item}); err != nil {
			t.Fatal(err)
		}
		for _, env := range environments {
			if _, err := c.fluxApply(t.Context(), repo, fluxKustomization("check-"+env, "overlays/"+env)); err != nil {
				t.Fatal(err)
			}
		}
		for _, env := range environments {
			s, err := c.waitForSecretData(t.Context(), appNamespace(env), "seal-check", "client_secret", value.Reveal())
			if err != nil {
				t.Fatalf("%s: %v", env, err)
			}
			requireMadeByController(t, s)
			status, msg, err := c.waitSynced(t.Context(), appNamespace(env), "seal-check")
			if err != nil || status != "True" {
				t.Errorf("%s: SealedSecret Synced=%s (%s), %v", env, status, msg, err)
			}
		}
	})

	t.Run("sealed with another environment's certificate, rejected by the controller", func(t *testing.T) {
		value := credential.NewSecret("wrong-" + randomHex(t))
		repo := overlayRepo(t)
		item := checkItem("equifax.wrong_cert", "wrong-cert", value)
		// prod's overlay, sealed with staging's certificate.
		envs := sealEnvironments(certs, map[string]string{"prod": "staging"})[:1]
		if _, err := seal.Write(t.Context(), dirFS(t, repo), envs, []seal.Item{item}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.fluxApply(t.Context(), repo, fluxKustomization("wrong-prod", "overlays/prod")); err != nil {
			t.Fatal(err)
		}
		status, msg, err := c.waitSynced(t.Context(), appNamespace("prod"), "wrong-cert")
		if err != nil {
			t.Fatal(err)
		}
		if status != "False" || !strings.Contains(msg, "no key could decrypt secret") {
			t.Errorf("SealedSecret Synced=%s (%q), want False with the decrypt error", status, msg)
		}
		_, err = c.clientset.CoreV1().Secrets(appNamespace("prod")).Get(t.Context(), "wrong-cert", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("a Secret exists for a SealedSecret no key decrypts (err %v)", err)
		}
	})

	t.Run("kubernetes current-secret source reads the deployed Secret", func(t *testing.T) {
		c.testKubeSource(t)
	})

	t.Run("credrotate rotates, the rollout lands, then the old secrets are revoked", func(t *testing.T) {
		c.testRotation(t, certs, bin)
	})

	t.Run("a wrong certificate: rollout not observed, old secret kept, alert says why", func(t *testing.T) {
		c.testWrongCertificateRotation(t, certs, bin)
	})
}

// loadCertificates fetches each controller's certificate from its
// /v1/cert.pem with credrotate's url certificate source.
func (c *cluster) loadCertificates(t *testing.T) map[string]*seal.Certificate {
	t.Helper()
	certs := map[string]*seal.Certificate{}
	for _, env := range environments {
		cert, warnings, err := seal.LoadCertificate(t.Context(), env, seal.CertSource{URL: c.controllers[env].certURL}, seal.LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		for _, w := range warnings {
			t.Logf("%s certificate: %s", env, w)
		}
		certs[env] = cert
	}
	return certs
}

// sealEnvironments are the environments as credrotate's configuration
// would give them: overlays/<env>/credentials rendered in credit-<env>.
// certFrom maps an environment to the one whose certificate it wrongly uses.
func sealEnvironments(certs map[string]*seal.Certificate, certFrom map[string]string) []seal.Environment {
	var envs []seal.Environment
	for _, env := range environments {
		from := env
		if f, ok := certFrom[env]; ok {
			from = f
		}
		envs = append(envs, seal.Environment{
			Name:      env,
			Path:      "overlays/" + env + "/credentials",
			Cert:      certs[from],
			Scope:     seal.ScopeStrict,
			Namespace: appNamespace(env),
		})
	}
	return envs
}

func checkItem(key, name string, value credential.Secret) seal.Item {
	return seal.Item{
		Ref:   seal.SecretRef{Name: name, Namespace: "credit", DataKey: "client_secret"},
		Value: value,
		Metadata: credential.Metadata{
			ProviderKey: credential.ProviderKey(key),
			SecretID:    "sec-" + name,
			ExpiresAt:   time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second),
			RotatedAt:   time.Now().UTC().Truncate(time.Second),
			TraceID:     "e2e",
		},
	}
}

// overlayRepo lays out a minimal GitOps checkout: per environment an
// overlay that renders credit-<env> and includes an empty credentials folder.
func overlayRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for _, env := range environments {
		files["overlays/"+env+"/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + appNamespace(env) + "\nresources:\n- credentials\n"
		files["overlays/"+env+"/credentials/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
	}
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func dirFS(t *testing.T, dir string) *seal.DirFS {
	t.Helper()
	fsys, err := seal.OpenDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fsys.Close() })
	return fsys
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// requireMadeByController checks that the Secret is the sealed-secrets
// controller's work: it is owned by (controlled by) the SealedSecret.
func requireMadeByController(t *testing.T, s *corev1.Secret) {
	t.Helper()
	for _, o := range s.OwnerReferences {
		if o.Kind == "SealedSecret" && o.APIVersion == "bitnami.com/v1alpha1" && o.Name == s.Name && o.Controller != nil && *o.Controller {
			return
		}
	}
	t.Errorf("Secret %s/%s is not controlled by its SealedSecret: owners %+v", s.Namespace, s.Name, s.OwnerReferences)
}

// waitSynced waits until the controller has processed the SealedSecret and
// returns its Synced condition.
func (c *cluster) waitSynced(ctx context.Context, namespace, name string) (status, message string, err error) {
	err = poll(ctx, time.Minute, func(ctx context.Context) error {
		var e error
		status, message, e = c.sealedSecretCondition(ctx, namespace, name)
		return e
	})
	return status, message, err
}

// testKubeSource exercises the kubernetes current-secret source against the
// real API server and RBAC: a reader with no grant is refused with a message
// that names the fix; with get on that one Secret it reads the value the
// controller decrypted, and still cannot read any other Secret.
func (c *cluster) testKubeSource(t *testing.T) {
	ctx := t.Context()
	ns := appNamespace("prod")
	value := "kube-" + randomHex(t)
	for _, name := range []string{"deployed", "unrelated"} {
		_, err := c.clientset.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Data:       map[string][]byte{"client_secret": []byte(value)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	readerConfig := c.kubeconfig(t, c.readerToken)
	src, err := kube.New(kube.Options{Namespace: ns, Name: "deployed", Key: "client_secret", Kubeconfig: readerConfig})
	if err != nil {
		t.Fatal(err)
	}

	_, err = src.Read(ctx)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "grant get on secrets, resourceNames [deployed], in namespace "+ns) {
		t.Fatalf("read without RBAC: %v, want forbidden with the fix", err)
	}

	c.grantRead(t, ns, "deployed")
	var got credential.Secret
	// The authorizer sees new bindings within moments.
	if err := poll(ctx, 30*time.Second, func(ctx context.Context) error {
		got, err = src.Read(ctx)
		if apierrors.IsForbidden(err) {
			return errNotYet
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Reveal() != value {
		t.Fatal("the kubernetes source read another value than the Secret holds")
	}

	other, err := kube.New(kube.Options{Namespace: ns, Name: "unrelated", Key: "client_secret", Kubeconfig: readerConfig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Read(ctx); !apierrors.IsForbidden(err) {
		t.Errorf("reading a Secret the role does not name: %v, want forbidden", err)
	}

	wrongKey, err := kube.New(kube.Options{Namespace: ns, Name: "deployed", Key: "clientSecret", Kubeconfig: readerConfig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrongKey.Read(ctx); !errors.Is(err, kube.ErrKeyMissing) || strings.Contains(err.Error(), value) {
		t.Errorf("reading a missing key: %v, want ErrKeyMissing without the value", err)
	}

	// In a pod: the test binary, re-run with only the reader's
	// service-account files, reads through the in-cluster configuration.
	want := credential.Fingerprint([]byte(value))
	if out, err := c.readInPod(t, ns, "deployed", "client_secret"); err != nil || lastLines(out, 1) != want {
		t.Errorf("in-cluster read: %v, output %q, want the fingerprint %s", err, out, want)
	}
	if out, err := c.readInPod(t, ns, "unrelated", "client_secret"); err == nil || !strings.Contains(out, "via the in-cluster service account") || !strings.Contains(out, "forbidden") {
		t.Errorf("in-cluster read of a Secret the role does not name: %v, output %q, want forbidden", err, out)
	}

	// KUBECONFIG instead of an explicit path.
	t.Setenv("KUBECONFIG", readerConfig)
	viaEnv, err := kube.New(kube.Options{Namespace: ns, Name: "deployed", Key: "client_secret"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := viaEnv.Read(ctx); err != nil || got.Reveal() != value {
		t.Errorf("reading through KUBECONFIG: %v", err)
	}
}

// inPodReadEnv makes the test binary read namespace/name/key with the
// kubernetes source and print the value's fingerprint, instead of testing.
const inPodReadEnv = "E2E_IN_POD_READ"

func TestMain(m *testing.M) {
	if spec := os.Getenv(inPodReadEnv); spec != "" {
		os.Exit(readAsPod(spec))
	}
	os.Exit(m.Run())
}

// readAsPod is the test binary's work when run by readInPod.
func readAsPod(spec string) int {
	parts := strings.Split(spec, "/")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "%s=%q: want namespace/name/key\n", inPodReadEnv, spec)
		return 2
	}
	src, err := kube.New(kube.Options{Namespace: parts[0], Name: parts[1], Key: parts[2]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := src.Read(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.Fingerprint())
	return 0
}

// readInPod runs the test binary as a pod with the reader's service account
// would run: no kubeconfig, no KUBECONFIG, an empty home. It returns the
// combined output: the fingerprint of what it read, or the error.
func (c *cluster) readInPod(t *testing.T, namespace, name, key string) (string, error) {
	t.Helper()
	podEnv, argv := c.inPod(t, "sa-reader", c.readerToken, namespace, os.Args[0])
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, podEnv...)
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir(), inPodReadEnv+"="+namespace+"/"+name+"/"+key)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// grantRead gives the reader user what the chart grants the job: get on
// the one Secret namespace/name.
func (c *cluster) grantRead(t *testing.T, namespace, name string) {
	t.Helper()
	ctx := t.Context()
	role := "credrotate-read-" + name
	_, err := c.clientset.RbacV1().Roles(namespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: role},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{name}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = c.clientset.RbacV1().RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: c.readerUser}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func randomValue(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "efx_" + hex.EncodeToString(b)
}
