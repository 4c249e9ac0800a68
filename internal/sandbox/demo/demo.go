// Package demo lays out and runs a complete credrotate world on loopback:
// the Equifax emulator with seeded clients, a bare GitOps repository laid out
// like examples/gitops-repo (with manifests sealed for prod, staging and
// uat), sealing key pairs per environment, localhub serving the repository
// and GitHub's API, the current secrets as files (the way a mounted Secret
// would hold them), and a configuration file pointing at all of it. The
// `credrotate-sandbox demo` command, the end-to-end tests and the benchmarks stand on
// it.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
)

// Environments are the demo's environments, each with its own key pair.
var Environments = []string{"prod", "staging", "uat"}

// TokenEnv is the environment variable the demo configuration reads the
// localhub token from, and Token its value.
const (
	TokenEnv = "DEMO_GITHUB_TOKEN"
	Token    = "demo-token"
)

// Options shape the demo world.
type Options struct {
	// Dir holds everything; it is created when missing.
	Dir string
	// Keys is the number of provider keys; default 4. Of every four, two
	// expire inside the renewal window (unless ExpiresIn is set).
	Keys int
	// ExpiresIn, when set, is how long every key's first secret has to
	// live, instead of the spread of 5, 10, 60 and 120 days: 5 days puts
	// every key inside the renewal window, 120 days none.
	ExpiresIn time.Duration
	// Latency is added to every emulator and localhub call.
	Latency time.Duration
	// Transport is rest or soap; default rest.
	Transport string
	// Checks is localhub's simulated checks; default success.
	Checks localhub.CheckMode
	// AllDue seeds every key inside its renewal window (benchmarks).
	AllDue bool
	// HubPermissions limits what localhub's token may do (tests of a token
	// without push rights); the zero value allows everything.
	HubPermissions localhub.Permissions
	// Logf receives one line per emulator and localhub call; nil is silent.
	Logf func(format string, args ...any)
	// Provider is the provider type of every key: equifax (default),
	// or another service registered with RegisterService.
	Provider string
	// SOPS lists the environments whose manifests are SOPS Secrets (age
	// encrypted) instead of SealedSecrets; see ParseEncryption.
	SOPS []string
}

// services makes the Service of each provider type other than Equifax.
var services = map[string]func(Options) (Service, error){}

// Providers lists the provider types the demo can run, Equifax first.
func Providers() []string {
	var more []string
	for t := range services {
		if t != "equifax" {
			more = append(more, t)
		}
	}
	sort.Strings(more)
	return append([]string{"equifax"}, more...)
}

// RegisterService makes a provider type available to the demo.
func RegisterService(typ string, make func(Options) (Service, error)) { services[typ] = make }

// Key is one provider key of the demo.
type Key struct {
	Key      credential.ProviderKey
	ClientID string
	// DataKey is the key of the Secret that holds the value.
	DataKey string
	// ExpiresIn is how long its first secret had to live when seeded.
	ExpiresIn time.Duration
	// SecretID is the id of the secret it was seeded with.
	SecretID string
}

// World is a running demo.
type World struct {
	Dir        string
	ConfigPath string
	// Emulator is the Equifax emulator when the keys are Equifax's (type
	// equifax, or http over the Equifax description).
	Emulator *emulator.Emulator
	// Service is the keys' provider's emulator.
	Service     Service
	Hub         *localhub.Server
	EmulatorURL string
	HubURL      string
	GitURL      string
	Keys        []Key
	// Private holds each environment's sealing private key.
	Private map[string]*rsa.PrivateKey
	// AgeIdentity and AgeRecipient hold the age key of each environment on
	// sops (Options.SOPS).
	AgeIdentity  map[string]string
	AgeRecipient map[string]string

	servers []*http.Server
	once    sync.Once
}

// Start lays out the world in opts.Dir and starts its servers on loopback.
func Start(ctx context.Context, opts Options) (*World, error) {
	if opts.Keys <= 0 {
		opts.Keys = 4
	}
	if opts.Transport == "" {
		opts.Transport = "rest"
	}
	if opts.Checks == "" {
		opts.Checks = localhub.ChecksSuccess
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"keys", "current"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gitops.git")); err == nil {
		return nil, fmt.Errorf("%s already holds a demo (gitops.git exists): use another --workdir or remove it", dir)
	}
	w := &World{Dir: dir, ConfigPath: filepath.Join(dir, "credrotate.yaml"), Private: map[string]*rsa.PrivateKey{},
		AgeIdentity: map[string]string{}, AgeRecipient: map[string]string{}}
	if err := w.makeAgeIdentities(opts.SOPS); err != nil {
		return nil, err
	}

	// Sealing key pairs, one per environment.
	certs := map[string]*seal.Certificate{}
	for _, env := range Environments {
		key, certPEM, err := keyPair(env)
		if err != nil {
			return nil, err
		}
		w.Private[env] = key
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		if err := os.WriteFile(filepath.Join(dir, "keys", env+".key"), keyPEM, 0o600); err != nil {
			return nil, err
		}
		crt := filepath.Join(dir, "keys", env+".crt")
		if err := os.WriteFile(crt, certPEM, 0o644); err != nil {
			return nil, err
		}
		c, _, err := seal.LoadCertificate(ctx, env, seal.CertSource{File: crt}, seal.LoadOptions{})
		if err != nil {
			return nil, err
		}
		certs[env] = c
	}

	// The provider's emulator, with clients whose secrets expire at
	// different times.
	switch make, ok := services[opts.Provider]; {
	case opts.Provider == "" || opts.Provider == "equifax":
		eq := newEquifaxService(opts)
		w.Service, w.Emulator = eq, eq.emu
	case ok:
		svc, err := make(opts)
		if err != nil {
			return nil, err
		}
		w.Service = svc
		if eq, ok := svc.(interface{ equifax() *emulator.Emulator }); ok {
			w.Emulator = eq.equifax()
		}
	default:
		return nil, fmt.Errorf("the demo has no %q provider", opts.Provider)
	}
	spread := []time.Duration{5 * 24 * time.Hour, 10 * 24 * time.Hour, 60 * 24 * time.Hour, 120 * 24 * time.Hour}
	secrets := map[credential.ProviderKey]credential.Secret{}
	infos := map[credential.ProviderKey]Seeded{}
	for i := 0; i < opts.Keys; i++ {
		expiresIn := spread[i%len(spread)]
		if opts.ExpiresIn > 0 {
			expiresIn = opts.ExpiresIn
		}
		if opts.AllDue {
			expiresIn = spread[i%2]
		}
		sd, err := w.Service.Seed(i, expiresIn)
		if err != nil {
			return nil, err
		}
		k := Key{Key: sd.Key, ClientID: sd.ClientID, DataKey: sd.DataKey, ExpiresIn: expiresIn, SecretID: sd.SecretID}
		secrets[k.Key], infos[k.Key] = credential.NewSecret(sd.Value), sd
		if err := writeCurrent(dir, k.Key, sd.Value); err != nil {
			return nil, err
		}
		w.Keys = append(w.Keys, k)
	}

	// The GitOps repository and localhub over it.
	hub, err := localhub.New(localhub.Options{RepoDir: filepath.Join(dir, "gitops.git"), Init: true, Token: Token, Latency: opts.Latency, Checks: opts.Checks, Permissions: opts.HubPermissions, Logf: opts.Logf})
	if err != nil {
		return nil, err
	}
	w.Hub = hub
	files, err := w.seedFiles(ctx, certs, secrets, infos)
	if err != nil {
		return nil, err
	}
	if _, err := hub.CommitFiles(ctx, "main", "", "Lay out the GitOps repository", files); err != nil {
		return nil, fmt.Errorf("seeding the repository: %w", err)
	}

	emuURL, err := w.serve(w.Service.Handler())
	if err != nil {
		return nil, err
	}
	w.Service.Started(emuURL)
	hubURL, err := w.serve(hub)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.EmulatorURL, w.HubURL, w.GitURL = emuURL, hubURL, hub.GitURL(hubURL)
	if err := os.WriteFile(w.ConfigPath, []byte(w.config(opts.Transport)), 0o600); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// serve starts h on a loopback port and returns its URL.
func (w *World) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	w.servers = append(w.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the servers.
func (w *World) Close() {
	w.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range w.servers {
			_ = s.Shutdown(ctx)
		}
		if w.Service != nil {
			w.Service.Close()
		}
	})
}

// seedFiles is the initial repository: a base, three overlays and the
// credentials of every key sealed for each environment.
func (w *World) seedFiles(ctx context.Context, certs map[string]*seal.Certificate, secrets map[credential.ProviderKey]credential.Secret, seeded map[credential.ProviderKey]Seeded) (map[string][]byte, error) {
	mem := &seal.MemFS{}
	files := map[string]string{
		"README.md":               "# gitops\n\nDeployed by Argo CD or Flux from the overlays below. Credentials under overlays/*/credentials are written by credrotate.\n",
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n",
		"base/deployment.yaml":    baseDeployment,
	}
	for _, env := range Environments {
		files["overlays/"+env+"/kustomization.yaml"] = fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: credit-%s\nresources:\n  - ../../base\n  - credentials\n", env)
		files["overlays/"+env+"/credentials/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
	}
	if rules := w.sopsRules(); rules != "" {
		files[".sops.yaml"] = rules
	}
	for name, body := range files {
		if err := mem.WriteFile(name, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	var envs []seal.Environment
	for _, env := range Environments {
		e, err := w.sealEnvironment(env, certs[env])
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	var items []seal.Item
	// The seeded secrets have been deployed for a while.
	now := time.Now().UTC().Truncate(time.Second).Add(-30 * 24 * time.Hour)
	for _, k := range w.Keys {
		s := seeded[k.Key]
		items = append(items, seal.Item{
			Ref:      seal.SecretRef{Name: secretName(k.Key), Namespace: "credit", DataKey: k.DataKey},
			Value:    secrets[k.Key],
			Metadata: credential.Metadata{ProviderKey: k.Key, SecretID: s.SecretID, ExpiresAt: s.ExpiresAt, RotatedAt: now, TraceID: "seed"},
		})
	}
	if _, err := seal.Write(ctx, mem, envs, items); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	err := walk(mem, ".", func(name string, data []byte) { out[name] = data })
	return out, err
}

func walk(fsys seal.ReadFS, dir string, fn func(string, []byte)) error {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if dir != "." {
			name = dir + "/" + name
		}
		if e.IsDir() {
			if err := walk(fsys, name, fn); err != nil {
				return err
			}
			continue
		}
		b, err := fsys.ReadFile(name)
		if err != nil {
			return err
		}
		fn(name, b)
	}
	return nil
}

// secretName is the Kubernetes Secret a key's SealedSecret produces.
func secretName(k credential.ProviderKey) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(string(k))
}

func (w *World) config(transport string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# credrotate configuration of the demo in %s.
# Run by hand while `+"`credrotate-sandbox demo --serve`"+` is up:
#   export %s=%s
#   credrotate renew --config %s --provider-key %s
git:
  url: %s
  baseBranch: main
  branchPrefix: credrotate/
  author: {name: credrotate, email: credrotate@example.com}
  tokenEnv: %s
github:
  apiURL: %s/api/v3/
  owner: %s
  repo: %s
  tokenEnv: %s
  labels: [credentials, automated]
  autoMerge: {enabled: true, method: squash, strategy: native}
  alertLabels: [credrotate-alert]
pullRequest:
  grouping: perRun
%sproviders:
`, w.Dir, TokenEnv, Token, w.ConfigPath, w.Keys[0].Key, w.GitURL, TokenEnv, w.HubURL, w.Hub.Owner(), w.Hub.Repo(), TokenEnv, w.Service.Config(w.EmulatorURL, transport))
	typ := ""
	if t := w.Service.Type(); t != "equifax" {
		typ = "\n    type: " + t
	}
	if kc, ok := w.Service.(interface{ KeyConfig() string }); ok {
		typ += kc.KeyConfig()
	}
	for _, k := range w.Keys {
		fmt.Fprintf(&b, "  - key: %s%s\n    clientID: %s\n    currentSecret: {file: current/%s}\n    secret: {name: %s, namespace: credit, dataKey: %s}\n", k.Key, typ, k.ClientID, k.Key, secretName(k.Key), k.DataKey)
	}
	b.WriteString("environments:\n")
	for _, env := range Environments {
		b.WriteString(w.envConfig(env))
	}
	return b.String()
}

// CurrentFile is where the demo keeps a key's deployed secret.
func (w *World) CurrentFile(k credential.ProviderKey) string {
	return filepath.Join(w.Dir, "current", string(k))
}

func writeCurrent(dir string, k credential.ProviderKey, value string) error {
	p := filepath.Join(dir, "current", string(k))
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "efx_" + hex.EncodeToString(b)
}

// keyPair makes an environment's sealing key and self-signed certificate,
// as the sealed-secrets controller does.
func keyPair(env string) (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().Add(-time.Minute)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "sealed-secret", Organization: []string{"credrotate demo " + env}},
		NotBefore:    now,
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

const baseDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: credit-api
spec:
  replicas: 1
  selector:
    matchLabels: {app: credit-api}
  template:
    metadata:
      labels: {app: credit-api}
    spec:
      containers:
        - name: api
          image: registry.example.com/credit-api:1.0.0
          volumeMounts:
            - {name: equifax, mountPath: /var/run/secrets/equifax, readOnly: true}
      volumes:
        - name: equifax
          secret: {secretName: equifax-client-001}
`
