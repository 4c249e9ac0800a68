//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssautil "github.com/fluxcd/pkg/ssa/utils"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/source"
	"github.com/credrotate/credrotate/pkg/credential/source/kube"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// repoRoot is the credrotate repository, two levels up from test/e2e.
const repoRoot = "../.."

const hubToken = "e2e-hub-token"

// buildCredrotate returns the binary CREDROTATE_BIN names (make e2e
// builds it once, with make build's flags), or builds one for the test.
func buildCredrotate(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CREDROTATE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("CREDROTATE_BIN: %v (run make build, or unset it to build one here)", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "credrotate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/credrotate")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building credrotate: %v\n%s", err, out)
	}
	return bin
}

// rotKey is one provider key of a rotation world.
type rotKey struct {
	key        credential.ProviderKey
	clientID   string
	secretName string
	transport  string
	// kube reads the current secret through the API (currentSecret.kubernetes,
	// as the reader user with get on that one Secret) instead of a file.
	kube bool
	// seeded is the secret deployed before the rotation.
	seeded   credential.Secret
	seededID string
}

// world is credrotate's surroundings for one rotation: the Equifax
// emulator and localhub (a GitOps repository with GitHub's API) in this
// process, a configuration whose environments take their certificates from
// the controllers' /v1/cert.pem, and the current secrets as files, written
// from the prod Secret as a kubelet writes a mounted Secret.
type world struct {
	t          *testing.T
	c          *cluster
	dir        string
	bin        string
	emu        *emulator.Emulator
	hub        *localhub.Server
	configPath string
	keys       []rotKey
	// age is sopsEnv's cluster key when that environment is on SOPS.
	age *ageKey
}

type worldOptions struct {
	keys []rotKey
	// certFrom maps an environment to the one whose controller's
	// certificate the configuration wrongly names.
	certFrom    map[string]string
	revokeAfter string
	// sops puts sopsEnv on SOPS (an age key made here, Flux's decryption
	// Secret in the cluster, a rule in the repository's .sops.yaml).
	sops bool
}

func newWorld(t *testing.T, c *cluster, bin string, certs map[string]*seal.Certificate, opts worldOptions) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{t: t, c: c, dir: t.TempDir(), bin: bin, keys: opts.keys}
	if opts.sops {
		k := newAgeKey(t)
		w.age = &k
		c.putDecryptionSecret(t, "sops-age", k)
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "current"), 0o700); err != nil {
		t.Fatal(err)
	}

	w.emu = emulator.New(emulator.Options{Ticking: true})
	t.Cleanup(w.emu.Close)
	emuSrv := httptest.NewServer(w.emu)
	t.Cleanup(emuSrv.Close)
	for i := range w.keys {
		k := &w.keys[i]
		k.seeded = credential.NewSecret(randomValue(t))
		// Inside the 14-day renewal window.
		info, err := w.emu.SeedClient(k.clientID, k.seeded.Reveal(), w.emu.Now().Add(5*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		k.seededID = info.SecretID
	}

	hub, err := localhub.New(localhub.Options{RepoDir: filepath.Join(w.dir, "gitops.git"), Init: true, Token: hubToken})
	if err != nil {
		t.Fatal(err)
	}
	w.hub = hub
	hubSrv := httptest.NewServer(hub)
	t.Cleanup(hubSrv.Close)
	if _, err := hub.CommitFiles(ctx, "main", "", "Lay out the GitOps repository", w.seedFiles(certs)); err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `git:
  url: %s
  baseBranch: main
  branchPrefix: credrotate/
  author: {name: credrotate, email: credrotate@example.com}
  tokenEnv: E2E_GITHUB_TOKEN
github:
  apiURL: %s/api/v3/
  owner: %s
  repo: %s
  tokenEnv: E2E_GITHUB_TOKEN
  labels: [credentials, automated]
  autoMerge: {enabled: true, method: squash, strategy: native}
  alertLabels: [credrotate-alert]
pullRequest:
  grouping: perRun
equifax:
  enableClientSecretRenewal: true
  transport: rest
  baseURL: %s
  tokenURL: %s/v2/oauth/token
  soapURL: %s/business/security/soap/v1
  managementScope: https://api.equifax.com/business/security/v1
  renewBefore: 336h
  gracePeriod: 168h
  revokeAfter: %s
  timeout: 10s
providers:
`, hub.GitURL(hubSrv.URL), hubSrv.URL, hub.Owner(), hub.Repo(), emuSrv.URL, emuSrv.URL, emuSrv.URL, opts.revokeAfter)
	for _, k := range w.keys {
		current := fmt.Sprintf("{file: %q}", w.currentFile(k))
		if k.kube {
			c.grantRead(t, appNamespace("prod"), k.secretName)
			current = fmt.Sprintf("{kubernetes: {namespace: %s, name: %s, key: client_secret, kubeconfig: %q}}", appNamespace("prod"), k.secretName, c.kubeconfig(t, c.readerToken))
		}
		fmt.Fprintf(&b, "  - key: %s\n    clientID: %s\n    transport: %s\n    currentSecret: %s\n    secret: {name: %s, namespace: credit, dataKey: client_secret}\n",
			k.key, k.clientID, k.transport, current, k.secretName)
	}
	b.WriteString("environments:\n")
	for _, env := range environments {
		from := env
		if f, ok := opts.certFrom[env]; ok {
			from = f
		}
		if w.onSOPS(env) {
			fmt.Fprintf(&b, "  - {name: %s, path: overlays/%s/credentials, encryption: sops, sops: {ageRecipients: [%s]}, namespace: %s}\n",
				env, env, w.age.recipient, appNamespace(env))
			continue
		}
		fmt.Fprintf(&b, "  - {name: %s, path: overlays/%s/credentials, cert: {url: %q}, scope: strict, namespace: %s}\n",
			env, env, c.controllers[from].certURL, appNamespace(env))
	}
	w.configPath = filepath.Join(w.dir, "credrotate.yaml")
	if err := os.WriteFile(w.configPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// seedFiles is the GitOps repository before any rotation: the example
// repository's base and overlays (examples/gitops-repo), with every key's
// seeded secret sealed by credrotate's seal package for each environment
// with that environment's controller's certificate.
func (w *world) seedFiles(certs map[string]*seal.Certificate) map[string][]byte {
	w.t.Helper()
	example := filepath.Join(repoRoot, "examples", "gitops-repo")
	mem := &seal.MemFS{}
	names := []string{"base/kustomization.yaml", "base/deployment.yaml"}
	for _, env := range environments {
		names = append(names, "overlays/"+env+"/kustomization.yaml")
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(example, filepath.FromSlash(name)))
		if err != nil {
			w.t.Fatal(err)
		}
		if err := mem.WriteFile(name, b, 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	for _, env := range environments {
		if err := mem.WriteFile("overlays/"+env+"/credentials/kustomization.yaml", []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	var items []seal.Item
	now := time.Now().UTC().Truncate(time.Second)
	for _, k := range w.keys {
		info, _ := w.emu.Client(k.clientID)
		s, _ := info.Find(k.seededID)
		items = append(items, seal.Item{
			Ref:      seal.SecretRef{Name: k.secretName, Namespace: "credit", DataKey: "client_secret"},
			Value:    k.seeded,
			Metadata: credential.Metadata{ProviderKey: k.key, SecretID: s.SecretID, ExpiresAt: s.ExpiresAt, RotatedAt: now, TraceID: "seed"},
		})
	}
	envs := sealEnvironments(certs, nil)
	if w.age != nil {
		enc, err := sopsout.New(sopsout.Options{Recipients: []string{w.age.recipient}})
		if err != nil {
			w.t.Fatal(err)
		}
		for i := range envs {
			if envs[i].Name == sopsEnv {
				envs[i].Cert, envs[i].Scope, envs[i].Encryption, envs[i].Encoder = nil, "", seal.EncryptionSOPS, enc
			}
		}
		// The repository's sops rules, which credrotate checks its
		// configuration against.
		rules := fmt.Sprintf("creation_rules:\n  - path_regex: ^overlays/%s/\n    age: %s\n    encrypted_regex: %s\n    mac_only_encrypted: true\n", sopsEnv, w.age.recipient, sopsout.EncryptedRegex)
		if err := mem.WriteFile(".sops.yaml", []byte(rules), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := seal.Write(w.t.Context(), mem, envs, items); err != nil {
		w.t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range mem.Files() {
		b, err := mem.ReadFile(name)
		if err != nil {
			w.t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

func (w *world) currentFile(k rotKey) string {
	return filepath.Join(w.dir, "current", string(k.key))
}

// cloneMain checks out main of the GitOps repository, as Flux's
// source-controller fetches it.
func (w *world) cloneMain() string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), "checkout")
	out, err := exec.Command("git", "clone", "-q", "--branch", "main", w.hub.RepoDir(), dir).CombinedOutput()
	if err != nil {
		w.t.Fatalf("cloning main: %v\n%s", err, out)
	}
	return dir
}

// fluxKustomizations are the Flux Kustomizations of examples/flux, one per
// environment.
func fluxKustomizations(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "examples", "flux", "kustomizations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := ssautil.ReadObjects(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
		out[strings.TrimPrefix(path, "./overlays/")] = o
	}
	for _, env := range environments {
		if out[env] == nil {
			t.Fatalf("examples/flux/kustomizations.yaml has no Kustomization for overlays/%s", env)
		}
	}
	return out
}

// onSOPS says whether env is on SOPS in this world.
func (w *world) onSOPS(env string) bool { return w.age != nil && env == sopsEnv }

// reconcile plays Flux: it fetches main and applies every environment's
// overlay with the example Flux Kustomizations (for the environment on
// SOPS, the one with decryption of examples/flux/sops).
func (w *world) reconcile() {
	w.t.Helper()
	checkout := w.cloneMain()
	kss := fluxKustomizations(w.t)
	if w.age != nil {
		kss[sopsEnv] = sopsKustomizations(w.t)[sopsEnv]
	}
	for env, ks := range kss {
		if _, err := w.c.fluxApply(w.t.Context(), checkout, ks); err != nil {
			w.t.Fatalf("%s: %v", env, err)
		}
	}
}

// deployed waits until env's Secret of k holds something other than not,
// and returns it; the controller, not this test, decrypted it.
func (w *world) deployed(env string, k rotKey, not credential.Secret) credential.Secret {
	w.t.Helper()
	ns := appNamespace(env)
	var got credential.Secret
	err := poll(w.t.Context(), time.Minute, func(ctx context.Context) error {
		s, err := w.c.clientset.CoreV1().Secrets(ns).Get(ctx, k.secretName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s/%s: %v: %w", ns, k.secretName, err, errNotYet)
		}
		v := credential.NewSecret(string(s.Data["client_secret"]))
		if v.IsZero() || (!not.IsZero() && v.Equal(not)) {
			return fmt.Errorf("%s/%s does not hold a new value: %w", ns, k.secretName, errNotYet)
		}
		if w.onSOPS(env) {
			requireAppliedByFlux(w.t, s)
		} else {
			requireMadeByController(w.t, s)
		}
		got = v
		return nil
	})
	if err != nil {
		w.t.Fatalf("%s: %v", env, err)
	}
	return got
}

// mount writes the prod Secret's value of every key to the key's current
// file, as the kubelet updates a mounted Secret.
func (w *world) mount() {
	w.t.Helper()
	for _, k := range w.keys {
		s, err := w.c.clientset.CoreV1().Secrets(appNamespace("prod")).Get(w.t.Context(), k.secretName, metav1.GetOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(w.currentFile(k), s.Data["client_secret"], 0o600); err != nil {
			w.t.Fatal(err)
		}
	}
}

// report is the part of `renew -o json` the tests read.
type report struct {
	Results []struct {
		ProviderKey string `json:"providerKey"`
		Outcome     string `json:"outcome"`
		Reason      string `json:"reason"`
		SecretID    string `json:"secretId"`
		RevokedID   string `json:"revokedSecretId"`
		Error       string `json:"error"`
		Alert       string `json:"alert"`
	} `json:"results"`
	PullRequests []string `json:"pullRequests"`
}

// renew runs `credrotate renew --cron-mode -o json` as a child process, as
// the CronJob runs it, and returns its report and exit code.
func (w *world) renew() (report, int, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, "renew", "--cron-mode", "-o", "json", "--config", w.configPath, "--log-format", "json")
	cmd.Env = append(os.Environ(), "E2E_GITHUB_TOKEN="+hubToken)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		w.t.Fatalf("running credrotate: %v", err)
	}
	for _, k := range w.keys {
		if strings.Contains(stdout.String()+stderr.String(), k.seeded.Reveal()) {
			w.t.Errorf("credrotate printed %s's secret", k.key)
		}
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		w.t.Fatalf("renew exited %d without a JSON report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), lastLines(stderr.String(), 30))
	}
	return rep, code, stderr.String()
}

func outcomes(rep report) map[string]string {
	m := map[string]string{}
	for _, r := range rep.Results {
		m[r.ProviderKey] = r.Outcome
	}
	return m
}

// annotations returns the credrotate annotations of env's SealedSecret of k
// in the cluster (of its Secret, for the environment on SOPS).
func (w *world) annotations(env string, k rotKey) map[string]string {
	w.t.Helper()
	if w.onSOPS(env) {
		// Flux applied the decrypted Secret itself, annotations and all.
		s, err := w.c.clientset.CoreV1().Secrets(appNamespace(env)).Get(w.t.Context(), k.secretName, metav1.GetOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		return s.Annotations
	}
	ss := &unstructured.Unstructured{}
	ss.SetGroupVersionKind(sealedSecretGVK)
	ss.SetNamespace(appNamespace(env))
	ss.SetName(k.secretName)
	if err := w.c.client.Get(w.t.Context(), client.ObjectKeyFromObject(ss), ss); err != nil {
		w.t.Fatal(err)
	}
	return ss.GetAnnotations()
}

// bootstrap rolls the seeded repository out and mounts the secrets: the
// state before credrotate's first run.
func (w *world) bootstrap() {
	w.t.Helper()
	w.reconcile()
	for _, env := range environments {
		for _, k := range w.keys {
			if got := w.deployed(env, k, credential.Secret{}); !got.Equal(k.seeded) {
				w.t.Fatalf("%s: %s deploys another secret than the seeded one", env, k.key)
			}
		}
	}
	w.mount()
}

func (c *cluster) testRotation(t *testing.T, certs map[string]*seal.Certificate, bin string) {
	ctx := t.Context()
	w := newWorld(t, c, bin, certs, worldOptions{
		keys: []rotKey{
			{key: "equifax.unique_client_id", clientID: "0oa1example", secretName: "equifax-credentials", transport: "rest", kube: true},
			{key: "equifax.bureau_client_id", clientID: "0oa2example", secretName: "equifax-bureau-credentials", transport: "soap"},
		},
		// Long: a revoke in this test can only come from seeing the rollout.
		revokeAfter: "24h",
		// staging on SOPS, prod and uat on Sealed Secrets.
		sops: true,
	})
	w.bootstrap()

	// 1. Renew both keys; the pull request auto-merges.
	rep, code, stderr := w.renew()
	if code != 0 {
		t.Fatalf("renew exited %d: %+v\n%s", code, rep, lastLines(stderr, 20))
	}
	for _, k := range w.keys {
		if o := outcomes(rep)[string(k.key)]; o != "merged" {
			t.Fatalf("%s: outcome %q, want merged: %+v", k.key, o, rep)
		}
	}
	prs := w.hub.PullRequests()
	if len(prs) != 1 || !prs[0].Merged {
		t.Fatalf("want one merged pull request, got %+v", prs)
	}

	// 2. Before Flux applies the merge, a run revokes nothing.
	rep, code, _ = w.renew()
	if code != 0 || w.emu.Calls(emulator.OpRevoke) != 0 {
		t.Fatalf("a run before the rollout: exit %d, %d revokes: %+v", code, w.emu.Calls(emulator.OpRevoke), rep)
	}
	for _, k := range w.keys {
		if !w.emu.Accepts(k.clientID, k.seeded.Reveal()) {
			t.Fatalf("%s: the old secret stopped working before the rollout", k.key)
		}
	}

	// 3. Flux applies the merged overlays; each controller decrypts its
	// environment's SealedSecret into the new secret.
	w.reconcile()
	newValues := map[credential.ProviderKey]credential.Secret{}
	for _, k := range w.keys {
		info, _ := w.emu.Client(k.clientID)
		active, ok := info.Active()
		if !ok || active.SecretID == k.seededID {
			t.Fatalf("%s: Equifax has no new active secret: %+v", k.key, info)
		}
		for _, env := range environments {
			v := w.deployed(env, k, k.seeded)
			if !w.emu.Accepts(k.clientID, v.Reveal()) {
				t.Errorf("%s: %s's Secret holds a value Equifax does not accept", env, k.key)
			}
			if prev, ok := newValues[k.key]; ok && !prev.Equal(v) {
				t.Errorf("%s: %s holds another value than the other environments", env, k.key)
			}
			newValues[k.key] = v
			a := w.annotations(env, k)
			if a["credrotate.io/secret-id"] != active.SecretID || a["credrotate.io/fingerprint"] != v.Fingerprint() {
				t.Errorf("%s: %s annotations %v do not describe the deployed secret %s %s", env, k.key, a, active.SecretID, v.Fingerprint())
			}
		}
	}

	// 4. The job sees the new secret: the mounted file, and the same Secret
	// through the API with the kubernetes source (which the first key's
	// configuration uses).
	w.mount()
	admin := c.kubeconfig(t, c.adminToken)
	for _, k := range w.keys {
		fromFile, err := source.File(w.currentFile(k)).Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		src, err := kube.New(kube.Options{Namespace: appNamespace("prod"), Name: k.secretName, Key: "client_secret", Kubeconfig: admin})
		if err != nil {
			t.Fatal(err)
		}
		fromAPI, err := src.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !fromFile.Equal(newValues[k.key]) || !fromAPI.Equal(newValues[k.key]) {
			t.Fatalf("%s: the current secret the job reads is not the new one", k.key)
		}
	}

	// 5. The next cron run sees the rollout and revokes the old secrets,
	// and changes nothing else.
	pushes, renews, mainSHA := w.hub.Calls().GitPushes, w.emu.Calls(emulator.OpRenew), w.hub.BranchSHA(ctx, "main")
	rep, code, stderr = w.renew()
	if code != 0 {
		t.Fatalf("finishing run exited %d: %+v\n%s", code, rep, lastLines(stderr, 20))
	}
	for _, r := range rep.Results {
		k := w.key(r.ProviderKey)
		if r.Outcome != "finished" || r.RevokedID != k.seededID {
			t.Errorf("%s: outcome %q revoked %q, want finished revoking %s", r.ProviderKey, r.Outcome, r.RevokedID, k.seededID)
		}
	}
	if got := w.emu.Calls(emulator.OpRevoke); got != len(w.keys) {
		t.Errorf("%d revokes, want %d", got, len(w.keys))
	}
	for _, k := range w.keys {
		info, _ := w.emu.Client(k.clientID)
		old, _ := info.Find(k.seededID)
		if old.Status != equifax.StatusRevoked || w.emu.Accepts(k.clientID, k.seeded.Reveal()) {
			t.Errorf("%s: the old secret is %s", k.key, old.Status)
		}
		if info.ValidCount() != 1 || !w.emu.Accepts(k.clientID, newValues[k.key].Reveal()) {
			t.Errorf("%s: %d valid secrets after the finish, want only the new one", k.key, info.ValidCount())
		}
	}
	if w.hub.Calls().GitPushes != pushes || len(w.hub.PullRequests()) != 1 || w.emu.Calls(emulator.OpRenew) != renews || w.hub.BranchSHA(ctx, "main") != mainSHA {
		t.Error("the finishing run pushed, opened a pull request, renewed or moved main")
	}
	for _, env := range environments {
		for _, k := range w.keys {
			if got := w.deployed(env, k, credential.Secret{}); !got.Equal(newValues[k.key]) {
				t.Errorf("%s: %s changed after the finish", env, k.key)
			}
		}
	}
}

func (c *cluster) testWrongCertificateRotation(t *testing.T, certs map[string]*seal.Certificate, bin string) {
	k := rotKey{key: "equifax.misrouted_client_id", clientID: "0oa3example", secretName: "equifax-misrouted-credentials", transport: "rest"}
	w := newWorld(t, c, bin, certs, worldOptions{
		keys: []rotKey{k},
		// prod's certificate URL points at the staging controller.
		certFrom:    map[string]string{"prod": "staging"},
		revokeAfter: "1s",
	})
	k = w.keys[0]
	w.bootstrap()

	rep, code, stderr := w.renew()
	if code != 0 || outcomes(rep)[string(k.key)] != "merged" {
		t.Fatalf("renew exited %d: %+v\n%s", code, rep, lastLines(stderr, 20))
	}

	w.reconcile()
	// staging and uat roll out; prod's controller cannot decrypt.
	var newValue credential.Secret
	for _, env := range []string{"staging", "uat"} {
		newValue = w.deployed(env, k, k.seeded)
	}
	status, msg, err := c.waitSynced(t.Context(), appNamespace("prod"), k.secretName)
	if err != nil {
		t.Fatal(err)
	}
	if status != "False" || !strings.Contains(msg, "no key could decrypt secret") {
		t.Fatalf("prod SealedSecret Synced=%s (%q), want False with the decrypt error", status, msg)
	}
	if got := w.deployed("prod", k, credential.Secret{}); !got.Equal(k.seeded) {
		t.Fatal("prod's Secret changed although its controller could not decrypt the SealedSecret")
	}
	w.mount()

	// revokeAfter (1s) has passed: the rollout is overdue, not observed.
	time.Sleep(1100 * time.Millisecond)
	rep, code, _ = w.renew()
	if code == 0 {
		t.Errorf("renew exited 0 with an unobserved rollout: %+v", rep)
	}
	if len(rep.Results) != 1 || rep.Results[0].Outcome != "blocked" {
		t.Fatalf("want the key blocked, got %+v", rep)
	}
	r := rep.Results[0]
	for _, want := range []string{"not observed", k.seeded.Fingerprint(), "wrong certificate", "not revoked"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q does not say %q", r.Reason, want)
		}
	}
	if w.emu.Calls(emulator.OpRevoke) != 0 || !w.emu.Accepts(k.clientID, k.seeded.Reveal()) {
		t.Error("the old secret was revoked although prod still uses it")
	}
	if !w.emu.Accepts(k.clientID, newValue.Reveal()) {
		t.Error("the new secret does not work")
	}
	var alert *localhub.Issue
	for _, is := range w.hub.Issues() {
		if is.State == "open" && strings.Contains(strings.Join(is.Labels, ","), "credrotate-alert") {
			alert = &is
		}
	}
	if alert == nil {
		t.Fatalf("no open alert issue: %+v", w.hub.Issues())
	}
	for _, want := range []string{string(k.key), "not observed", "wrong certificate"} {
		if !strings.Contains(alert.Title+alert.Body, want) {
			t.Errorf("the alert does not say %q:\n%s\n%s", want, alert.Title, alert.Body)
		}
	}
	if strings.Contains(alert.Body, k.seeded.Reveal()) || strings.Contains(alert.Body, newValue.Reveal()) {
		t.Error("the alert reveals a secret")
	}
}

func (w *world) key(name string) rotKey {
	for _, k := range w.keys {
		if string(k.key) == name {
			return k
		}
	}
	w.t.Fatalf("report names unknown key %s", name)
	return rotKey{}
}
