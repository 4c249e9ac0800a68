//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
)

// environments are the overlays the tests roll out to. Each has its own
// sealed-secrets controller, with its own sealing key, in its own namespace,
// watching only its own application namespace: as if each were a cluster.
var environments = []string{"prod", "staging", "uat"}

// controllerNamespace is where env's controller runs and keeps its key.
func controllerNamespace(env string) string { return "sealed-secrets-" + env }

// appNamespace is the namespace env's overlay renders its Secrets into.
func appNamespace(env string) string { return "credit-" + env }

// cluster is a running control plane: etcd, kube-apiserver and one
// sealed-secrets controller per environment.
type cluster struct {
	dir        string
	apiURL     string
	caPEM      []byte
	adminToken string
	// readerToken authenticates a user that holds no permission until a test
	// grants it one.
	readerToken string
	readerUser  string

	config    *rest.Config
	clientset kubernetes.Interface
	client    client.Client
	poller    *polling.StatusPoller

	controllers map[string]*sealedSecretsController
}

// sealedSecretsController is one environment's running controller.
type sealedSecretsController struct {
	env     string
	proc    *proc
	certURL string // its /v1/cert.pem
}

// binaries are the programs setup.sh installs.
type binaries struct {
	etcd, kubeAPIServer, controller, crdDir string
}

func findBinaries(t *testing.T) binaries {
	t.Helper()
	cache := os.Getenv("E2E_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "credrotate-e2e")
	}
	pick := func(env, def string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return def
	}
	b := binaries{
		etcd:          pick("E2E_ETCD", "/usr/bin/etcd"),
		kubeAPIServer: pick("E2E_KUBE_APISERVER", filepath.Join(cache, "kubernetes-v1.37.2", "kube-apiserver")),
		controller:    pick("E2E_SEALED_SECRETS_CONTROLLER", filepath.Join(cache, "sealed-secrets-v0.36.0", "controller")),
		crdDir:        os.Getenv("E2E_CRD_DIR"),
	}
	for _, p := range []string{b.etcd, b.kubeAPIServer, b.controller} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: run test/e2e/setup.sh first (test/e2e/run.sh does)", err)
		}
	}
	if b.crdDir == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bitnami-labs/sealed-secrets").Output()
		if err != nil {
			t.Fatalf("locating the sealed-secrets module for its CRD: %v", err)
		}
		b.crdDir = filepath.Join(strings.TrimSpace(string(out)), "helm", "sealed-secrets", "crds")
	}
	return b
}

// startCluster brings up the control plane and the controllers. Everything is
// stopped by pid when the test ends: controllers, then kube-apiserver, then etcd.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	ctx := t.Context()
	bins := findBinaries(t)
	c := &cluster{
		dir:         t.TempDir(),
		adminToken:  randomHex(t),
		readerToken: randomHex(t),
		readerUser:  "credrotate-reader",
		controllers: map[string]*sealedSecretsController{},
	}
	begin := time.Now()

	etcdURL := c.startEtcd(t, bins.etcd)
	c.startAPIServer(t, bins.kubeAPIServer, etcdURL)
	t.Logf("control plane ready in %s", time.Since(begin).Round(time.Millisecond))

	c.applyCRDs(t, bins.crdDir)
	for _, env := range environments {
		c.createNamespace(t, controllerNamespace(env))
		c.createNamespace(t, appNamespace(env))
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(environments))
	for _, env := range environments {
		sc := c.startController(t, bins.controller, env)
		c.controllers[env] = sc
		wg.Go(func() {
			errs <- sc.proc.waitUntil(ctx, 3*time.Minute, func(ctx context.Context) error {
				_, err := httpGet(ctx, sc.certURL)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cluster with %d sealed-secrets controllers ready in %s", len(environments), time.Since(begin).Round(time.Millisecond))
	return c
}

func (c *cluster) startEtcd(t *testing.T, etcd string) string {
	t.Helper()
	clientURL := "http://" + loopback(freePort(t))
	peerURL := "http://" + loopback(freePort(t))
	p := startProc(t, "etcd", c.dir, nil, etcd,
		"--name=e2e",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL,
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err := p.waitUntil(t.Context(), time.Minute, func(ctx context.Context) error {
		body, err := httpGet(ctx, clientURL+"/health")
		if err == nil && !strings.Contains(body, `"true"`) {
			err = fmt.Errorf("unhealthy: %s", body)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return clientURL
}

func (c *cluster) startAPIServer(t *testing.T, apiserver, etcdURL string) {
	t.Helper()
	dir := filepath.Join(c.dir, "apiserver")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSignedServingCert(t)
	c.caPEM = certPEM
	saKey := rsaKeyPEM(t)
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n%s,%s,%s\n", c.adminToken, c.readerToken, c.readerUser, c.readerUser)
	for _, env := range environments {
		// Each controller authenticates as its own user.
		tokens += fmt.Sprintf("%s,system:sealed-secrets-%s,sealed-secrets-%s,\"system:masters\"\n", controllerToken(c, env), env, env)
	}
	files := map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "sa.key": saKey, "tokens.csv": []byte(tokens)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	c.apiURL = "https://" + loopback(port)
	p := startProc(t, "kube-apiserver", c.dir, nil, apiserver,
		"--etcd-servers="+etcdURL,
		"--etcd-prefix=/registry",
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+dir,
		"--tls-cert-file="+filepath.Join(dir, "tls.crt"),
		"--tls-private-key-file="+filepath.Join(dir, "tls.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-key-file="+filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/24",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=false",
		"--v=1",
	)

	c.config = &rest.Config{
		Host:            c.apiURL,
		BearerToken:     c.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.caPEM},
		QPS:             50,
		Burst:           100,
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(t, c.caPEM)}}, Timeout: 5 * time.Second}
	if err := p.waitUntil(t.Context(), 3*time.Minute, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.apiURL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.adminToken)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s: %s", resp.Status, lastLines(string(body), 5))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var err error
	if c.clientset, err = kubernetes.NewForConfig(c.config); err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(c.config)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(c.config, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	if c.client, err = client.New(c.config, client.Options{Mapper: mapper}); err != nil {
		t.Fatal(err)
	}
	c.poller = polling.NewStatusPoller(c.client, mapper, polling.Options{})
}

// applyCRDs installs the SealedSecret CRD shipped in the sealed-secrets module,
// with the same server-side apply that applies the overlays; ApplyAllStaged
// waits for the CRD to be established.
func (c *cluster) applyCRDs(t *testing.T, crdDir string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no CRD in %s (%v)", crdDir, err)
	}
	var objects []*unstructured.Unstructured
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := ssautil.ReadObjects(f)
		f.Close()
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		objects = append(objects, objs...)
	}
	m := ssa.NewResourceManager(c.client, c.poller, ssa.Owner{Field: "e2e-setup", Group: "e2e.credrotate.io"})
	if _, err := m.ApplyAllStaged(t.Context(), objects, ssa.DefaultApplyOptions()); err != nil {
		t.Fatalf("applying the SealedSecret CRD: %v", err)
	}
}

func (c *cluster) createNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.clientset.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// startController runs env's sealed-secrets controller as if in a pod of
// env's controller namespace. It keeps its key in that namespace and
// watches it and env's application namespace only.
func (c *cluster) startController(t *testing.T, controller, env string) *sealedSecretsController {
	t.Helper()
	listen := loopback(freePort(t))
	metrics := loopback(freePort(t))
	env_, argv := c.inPod(t, "sa-"+env, controllerToken(c, env), controllerNamespace(env), controller,
		"--listen-addr="+listen,
		"--listen-metrics-addr="+metrics,
		"--key-renew-period=0",
		"--all-namespaces=false",
		"--additional-namespaces="+appNamespace(env),
		"--my-cn=sealed-secrets-"+env,
	)
	p := startProc(t, "sealed-secrets-"+env, c.dir, append(env_, "POD_NAMESPACE="+controllerNamespace(env)), argv...)
	return &sealedSecretsController{env: env, proc: p, certURL: "http://" + listen + "/v1/cert.pem"}
}

// inPod returns the environment and command line that run argv as a pod
// with a service account would run it: in-cluster configuration only. The
// program runs in a private mount namespace where a tmpfs on /run holds the
// service-account files (token, ca.crt, namespace) at the path client-go
// reads (/var/run is /run here), with KUBERNETES_SERVICE_HOST and _PORT set.
func (c *cluster) inPod(t *testing.T, name, token, namespace string, argv ...string) (env, command []string) {
	t.Helper()
	sa := filepath.Join(c.dir, name)
	if err := os.MkdirAll(sa, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string][]byte{
		"token":     []byte(token),
		"ca.crt":    c.caPEM,
		"namespace": []byte(namespace),
	} {
		if err := os.WriteFile(filepath.Join(sa, file), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const saDir = "/run/secrets/kubernetes.io/serviceaccount"
	script := `set -e
mount -t tmpfs tmpfs /run
mkdir -p ` + saDir + `
mount --bind "$SA_DIR" ` + saDir + `
exec "$@"`
	apiPort := c.apiURL[strings.LastIndex(c.apiURL, ":")+1:]
	env = []string{
		"SA_DIR=" + sa,
		"KUBERNETES_SERVICE_HOST=127.0.0.1",
		"KUBERNETES_SERVICE_PORT=" + apiPort,
	}
	return env, append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"}, argv...)
}

// controllerToken is env's controller's bearer token, derived from the admin
// token so that it is fixed for the life of the cluster.
func controllerToken(c *cluster, env string) string { return c.adminToken + "-" + env }

// kubeconfig writes a kubeconfig for token and returns its path.
func (c *cluster) kubeconfig(t *testing.T, token string) string {
	t.Helper()
	caPath := filepath.Join(c.dir, "apiserver", "tls.crt")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: e2e
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
`, c.apiURL, caPath, token)
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func httpGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

func selfSignedServingCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost", "kubernetes.default.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func rsaKeyPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func certPool(t *testing.T, pemBytes []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in PEM")
	}
	return pool
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
