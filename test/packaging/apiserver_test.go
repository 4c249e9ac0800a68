package packaging

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/testenv"
)

// The API server tier of these checks needs a kube-apiserver binary, which
// takes minutes to build: test/e2e/setup.sh builds and caches it (make e2e).
// When it is there, the chart and the overlays are sent to a real API server
// (server-side dry run, strict field validation, Pod Security "restricted"
// enforced); when it is not, the test says so and skips.

// apiServerBinaries finds kube-apiserver and etcd where test/e2e/setup.sh
// puts them.
func apiServerBinaries(t *testing.T) (apiserver, etcd string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no API server")
	}
	cache := os.Getenv("E2E_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "credrotate-e2e")
	}
	apiserver = os.Getenv("E2E_KUBE_APISERVER")
	if apiserver == "" {
		apiserver = filepath.Join(cache, "kubernetes-v1.37.2", "kube-apiserver")
	}
	etcd = os.Getenv("E2E_ETCD")
	if etcd == "" {
		etcd = "/usr/bin/etcd"
	}
	testenv.File(t, etcd, "etcd", "apt-get install etcd-server")
	testenv.File(t, apiserver, "kube-apiserver", "test/e2e/setup.sh (make test runs it when etcd is installed)")
	return apiserver, etcd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts a program whose output goes to dir/name.log and stops
// it, by its own pid, when the test ends.
func startProcess(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	logPath := filepath.Join(dir, filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	return logPath
}

// warnings collects the API server's warnings (Pod Security's among them).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// apiServer is a running etcd and kube-apiserver with an admin client.
type apiServer struct {
	dyn  dynamic.Interface
	core kubernetes.Interface
	warn *warnings
}

func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	apiserverBin, etcdBin := apiServerBinaries(t)
	dir := t.TempDir()
	clientPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	startProcess(t, dir, etcdBin, "--name=packaging", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=packaging="+peerURL, "--unsafe-no-fsync", "--log-level=warn")

	// One key serves TLS and signs service account tokens; only loopback
	// clients of this test ever see it.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	token := rand.Text()
	files := map[string][]byte{
		"tls.crt":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key":    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"tokens.csv": []byte(token + ",admin,admin,system:masters\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	apiLog := startProcess(t, dir, apiserverBin,
		"--etcd-servers="+clientURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort), "--cert-dir="+dir,
		"--tls-cert-file="+filepath.Join(dir, "tls.crt"), "--tls-private-key-file="+filepath.Join(dir, "tls.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-account-key-file="+filepath.Join(dir, "tls.key"),
		"--service-account-signing-key-file="+filepath.Join(dir, "tls.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/24", "--endpoint-reconciler-type=none", "--v=0")

	w := &warnings{}
	cfg := &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: files["tls.crt"]},
		WarningHandler:  w,
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		_, err := core.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(apiLog)
			t.Fatalf("kube-apiserver is not ready: %v\n%s", err, b[max(0, len(b)-4000):])
		}
		time.Sleep(300 * time.Millisecond)
	}
	return &apiServer{dyn: dyn, core: core, warn: w}
}

// namespace creates a namespace that enforces Pod Security "restricted".
func (s *apiServer) namespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	if _, err := s.core.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":                {Version: "v1", Resource: "configmaps"},
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"Pod":                      {Version: "v1", Resource: "pods"},
	"CronJob":                  {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"Deployment":               {Group: "apps", Version: "v1", Resource: "deployments"},
	"Role":                     {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"SealedSecret":             {Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"},
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
}

// create sends objs to the API server. ServiceAccounts and CRDs are created
// for real (a Pod's admission looks its account up); everything else is a
// server-side dry run with strict field validation: the API server decodes,
// defaults, validates and admits it, and stores nothing. Any rejection or
// warning is returned.
func (s *apiServer) create(t *testing.T, objs []object) []string {
	t.Helper()
	var problems []string
	for _, o := range objs {
		gvr, ok := resources[o.Kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %s: no resource known for this kind", o.Kind, o.Name))
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(o.YAML, &u.Object); err != nil {
			t.Fatal(err)
		}
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
		var client dynamic.ResourceInterface = s.dyn.Resource(gvr).Namespace(o.Namespace)
		switch o.Kind {
		case "CustomResourceDefinition":
			client = s.dyn.Resource(gvr)
			opts.DryRun = nil
		case "ServiceAccount":
			opts.DryRun = nil
		}
		_, err := client.Create(t.Context(), u, opts)
		if opts.DryRun == nil && apierrors.IsAlreadyExists(err) {
			err = nil
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s/%s rejected: %v", o.Kind, o.Namespace, o.Name, err))
		}
		for _, w := range s.warn.take() {
			problems = append(problems, fmt.Sprintf("%s %s/%s: warning: %s", o.Kind, o.Namespace, o.Name, w))
		}
	}
	return problems
}

// installSealedSecretCRD installs the SealedSecret CRD shipped in the
// sealed-secrets module we pin, so SealedSecrets are checked against its
// schema.
func (s *apiServer) installSealedSecretCRD(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bitnami-labs/sealed-secrets").Output()
	if err != nil {
		t.Fatalf("finding the sealed-secrets module: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "helm", "sealed-secrets", "crds", "bitnami.com_sealedsecrets.yaml")
	b, err := os.ReadFile(crd)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.create(t, splitObjects(t, crd, b)); len(p) > 0 {
		t.Fatalf("installing the SealedSecret CRD: %v", p)
	}
	gvr := resources["SealedSecret"]
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := s.dyn.Resource(gvr).Namespace("default").List(t.Context(), metav1.ListOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SealedSecret CRD is not served: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestOnAPIServer sends what the chart renders and what each overlay builds
// to a real kube-apiserver, in namespaces that enforce Pod Security
// "restricted": everything must be accepted with no warning.
func TestOnAPIServer(t *testing.T) {
	s := startAPIServer(t)
	s.installSealedSecretCRD(t)
	s.namespace(t, releaseNamespace)
	for _, ns := range exampleEnvs {
		s.namespace(t, ns)
	}
	sets := map[string]map[string]any{"example values and config": exampleChartValues(t)}
	for name, src := range lintValues {
		sets[name] = values(t, src)
	}
	for _, ex := range providerExamples {
		sets["example "+ex.typ+" values and config"] = providerChartValues(t, ex)
	}
	for name, src := range workloadIdentityValues {
		sets["workload identity, "+name] = values(t, src)
	}
	for name, vals := range sets {
		t.Run("chart/"+name, func(t *testing.T) {
			rel := mustRender(t, vals)
			// The ServiceAccount first: the test Pod's admission needs it.
			var ordered []object
			ordered = append(ordered, only(rel.objects, "ServiceAccount")...)
			for _, o := range append(rel.objects, rel.hooks...) {
				if o.Kind != "ServiceAccount" {
					ordered = append(ordered, o)
				}
			}
			for _, p := range s.create(t, ordered) {
				t.Error(p)
			}
		})
	}
	for env := range exampleEnvs {
		t.Run("overlay/"+env, func(t *testing.T) {
			objs, err := kustomizeBuild(t, filepath.Join(gitopsRepo(t), "overlays", env))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range s.create(t, objs) {
				t.Error(p)
			}
		})
	}
	t.Run("an insecure pod is refused", func(t *testing.T) {
		rel := mustRender(t, values(t, `securityContext: {allowPrivilegeEscalation: true}`))
		problems := s.create(t, append(only(rel.objects, "ServiceAccount"), rel.hooks...))
		if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "PodSecurity") {
			t.Fatalf("a pod allowing privilege escalation was admitted: %v", problems)
		}
	})
}
