package model

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// The rotation settings every world runs with: the chart's defaults.
const (
	RenewBefore = 14 * 24 * time.Hour
	GracePeriod = 7 * 24 * time.Hour
	RevokeAfter = 24 * time.Hour
	branchPref  = "credrotate/"
)

// start is the clock of every world's beginning.
var start = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// keyCfg is one configured provider key.
type keyCfg struct {
	key      credential.ProviderKey
	clientID string
	ref      seal.SecretRef
}

// inUse is the secret a workload uses now: its mounted Secret.
type inUse struct {
	value    string
	secretID string
	// since is when the workload started using it; dead says it was no
	// longer valid at Equifax when it was rolled out.
	since time.Time
	dead  bool
}

// World is one GitOps world in process: the provider's emulator, a bare
// repository, the hub (GitHub) over it, the workload of every key and the
// harness playing Argo CD or Flux.
type World struct {
	fx *fixture
	// svc is the provider's emulator; emu is the same when the provider is
	// Equifax (nil otherwise), for what only Equifax's can do (scripted
	// faults).
	svc  service
	emu  *emulator.Emulator
	repo *bareRepo
	hub  *hub
	keys []keyCfg
	// use is what each key's workload uses now.
	use map[credential.ProviderKey]*inUse
	// plain holds every plaintext the world has handed out, by secret id:
	// the canaries of the leak check; owner is each one's client id.
	plain map[string]string
	owner map[string]string
	// lag is how long after a merge the rollout happens; heldUntil, when
	// set, holds every rollout until then (Argo CD broken until a person
	// fixes it).
	lag       time.Duration
	heldUntil time.Time
	// pending is when main first deployed a secret the workload does not
	// use yet, per key.
	pending map[credential.ProviderKey]time.Time
	logs    bytes.Buffer
	reports bytes.Buffer
	runs    int
	// strategy is how pull requests land: native (GitHub's auto-merge) or
	// direct (credrotate merges once checks pass).
	strategy string
	// renewBefore and grace are the run's settings (RenewBefore and
	// GracePeriod unless a test sets them).
	renewBefore, grace, revokeAfter time.Duration
	// lines are the last runs' summaries, for a report.
	lines []string
	// live holds the runs in progress by their lease pid: a killed run's
	// lease names a process that no longer runs, and is taken over.
	live map[int]bool
}

// newWorld seeds n Equifax clients, whose secrets expire in expiresIn, and
// lays out the repository; with managed, every key already has its
// manifests.
func newWorld(n int, expiresIn time.Duration, managed bool) (*World, error) {
	return newWorldOn("equifax", n, expiresIn, managed)
}

// newWorldOn is newWorld against provider type prov's emulator.
func newWorldOn(prov string, n int, expiresIn time.Duration, managed bool) (*World, error) {
	exp := make([]time.Duration, n)
	for i := range exp {
		exp[i] = expiresIn
	}
	return newWorldExpiringOn(prov, exp, managed)
}

// newWorldExpiring seeds one Equifax client per entry of expiries, whose
// secret expires that long from now.
func newWorldExpiring(expiries []time.Duration, managed bool) (*World, error) {
	return newWorldExpiringOn("equifax", expiries, managed)
}

// newWorldExpiringOn is newWorldExpiring against provider type prov's
// emulator.
func newWorldExpiringOn(prov string, expiries []time.Duration, managed bool) (*World, error) {
	n := len(expiries)
	fx, err := sharedFixture()
	if err != nil {
		return nil, err
	}
	svc, err := newService(prov)
	if err != nil {
		return nil, err
	}
	w := &World{
		fx: fx, svc: svc,
		use: map[credential.ProviderKey]*inUse{}, plain: map[string]string{}, owner: map[string]string{}, pending: map[credential.ProviderKey]time.Time{},
		renewBefore: RenewBefore, grace: GracePeriod, revokeAfter: RevokeAfter, strategy: "native",
	}
	if eq, ok := svc.(*equifaxSvc); ok {
		w.emu = eq.emu
	}
	w.repo = newBareRepo(memory.NewStorage())
	w.hub = newHub(w.repo, w.now)
	files := map[string][]byte{
		"README.md":               []byte("# gitops\n"),
		"base/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"),
	}
	for _, env := range Envs {
		files["overlays/"+env+"/kustomization.yaml"] = []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n  - credentials\n")
		files["overlays/"+env+"/credentials/kustomization.yaml"] = []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")
	}
	var items []seal.Item
	for i := 0; i < n; i++ {
		sd, err := w.svc.seed(i+1, expiries[i])
		if err != nil {
			return nil, err
		}
		k := w.addKey(sd, w.now().Add(-30*24*time.Hour))
		items = append(items, seal.Item{
			Ref: k.ref, Value: credential.NewSecret(sd.value),
			Metadata: credential.Metadata{ProviderKey: k.key, SecretID: sd.secretID, ExpiresAt: sd.expiresAt, RotatedAt: w.now().Add(-30 * 24 * time.Hour), TraceID: "seed"},
		})
	}
	if managed {
		mem := &seal.MemFS{}
		envs, err := w.sealEnvs()
		if err != nil {
			return nil, err
		}
		if _, err := seal.Write(context.Background(), mem, envs, items); err != nil {
			return nil, err
		}
		for _, name := range mem.Files() {
			if strings.HasSuffix(name, "credentials/kustomization.yaml") || strings.HasSuffix(name, ".yaml") {
				b, _ := mem.ReadFile(name)
				files[name] = b
			}
		}
	}
	if _, err := w.repo.commitOn("main", files, "Lay out the GitOps repository", w.now()); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *World) now() time.Time { return w.svc.now() }

// addKey configures the key of a seeded client, whose workload has used
// its secret since then.
func (w *World) addKey(sd seeded, since time.Time) keyCfg {
	k := keyCfg{key: sd.key, clientID: sd.clientID,
		ref: seal.SecretRef{Name: strings.NewReplacer(".", "-", "_", "-").Replace(string(sd.key)), Namespace: "credit", DataKey: sd.dataKey}}
	w.keys = append(w.keys, k)
	w.use[k.key] = &inUse{value: sd.value, secretID: sd.secretID, since: since}
	w.plain[sd.secretID], w.owner[sd.secretID] = sd.value, sd.clientID
	return k
}

// addUnmanaged configures one more key: a client whose secret expires in
// expiresIn, used by its workload, that no manifest names yet.
func (w *World) addUnmanaged(expiresIn time.Duration) error {
	sd, err := w.svc.seed(len(w.keys)+1, expiresIn)
	if err != nil {
		return err
	}
	w.addKey(sd, w.now())
	return nil
}

// clone copies the world, so that many scenarios can start from one state.
func (w *World) clone() *World {
	c := &World{
		fx: w.fx, svc: w.svc.clone(), keys: w.keys,
		use: map[credential.ProviderKey]*inUse{}, plain: map[string]string{}, owner: map[string]string{}, pending: map[credential.ProviderKey]time.Time{},
		live: map[int]bool{},
		lag:  w.lag, heldUntil: w.heldUntil, runs: w.runs, renewBefore: w.renewBefore, grace: w.grace, revokeAfter: w.revokeAfter, strategy: w.strategy,
	}
	if eq, ok := c.svc.(*equifaxSvc); ok {
		c.emu = eq.emu
	}
	c.repo = w.repo.clone()
	c.hub = w.hub.clone(c.repo, c.now)
	for k, u := range w.use {
		nu := *u
		c.use[k] = &nu
	}
	for k, v := range w.plain {
		c.plain[k] = v
	}
	for k, v := range w.owner {
		c.owner[k] = v
	}
	for k, v := range w.pending {
		c.pending[k] = v
	}
	return c
}

// close releases the world's repository.
func (w *World) close() { w.repo.close() }

func (w *World) sealEnvs() ([]seal.Environment, error) {
	var out []seal.Environment
	for _, env := range Envs {
		cert, _, err := seal.LoadCertificate(context.Background(), env, seal.CertSource{File: w.fx.certs[env]}, seal.LoadOptions{Now: w.now})
		if err != nil {
			return nil, err
		}
		e := seal.Environment{Name: env, Path: "overlays/" + env + "/credentials", Cert: cert, Scope: seal.ScopeStrict, Namespace: "credit-" + env}
		if env == SOPSEnv {
			enc, err := w.sopsEncoder()
			if err != nil {
				return nil, err
			}
			e.Cert, e.Scope, e.Encryption, e.Encoder = nil, "", seal.EncryptionSOPS, enc
		}
		out = append(out, e)
	}
	return out, nil
}

// sopsEncoder writes SOPSEnv's manifests for its age recipient, as
// credrotate's configuration (encryption: sops) makes it.
func (w *World) sopsEncoder() (seal.Encoder, error) {
	return sopsout.New(sopsout.Options{Recipients: []string{w.fx.ageRecipient}, Now: w.now})
}

// emuTransport hands every HTTP request to the provider's emulator in
// process; each request is an event of the run it belongs to.
type emuTransport struct{ w *World }

func (t emuTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	body := req.Body
	err := ctlFrom(req.Context()).do(Server(t.w.svc.name()), t.w.svc.opName(req), func() error {
		rec := httptest.NewRecorder()
		// The server's copy of the request, as net/http makes one: an
		// emulator may wrap its body (http.MaxBytesReader).
		sreq := req.WithContext(req.Context())
		sreq.RemoteAddr = "192.0.2.1:443"
		if sreq.Body == nil {
			sreq.Body = http.NoBody
		}
		t.w.svc.handler().ServeHTTP(rec, sreq)
		resp = rec.Result()
		return nil
	})
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		return nil, err
	}
	return resp, nil
}

// canaryProvider wraps the provider's client to learn the plaintexts it is
// handed, which become canaries of the leak check.
type canaryProvider struct {
	rotate.Provider
	w *World
}

func (p canaryProvider) Create(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	res, err := p.Provider.Create(ctx, creds, req)
	if err == nil && res.Secret.SecretID != "" {
		p.w.plain[res.Secret.SecretID] = res.ClientSecret.Reveal()
		p.w.owner[res.Secret.SecretID] = creds.ClientID
	}
	return res, err
}

// repoAdapter is cmd/credrotate's: the workspace as rotate.Repo, with
// Publish an event.
type repoAdapter struct{ *gitops.Workspace }

func (r repoAdapter) Publish(ctx context.Context, req rotate.PublishRequest) (rotate.PublishResult, error) {
	var res gitops.PublishResult
	err := ctlFrom(ctx).do(Git, "push", func() error {
		var err error
		res, err = r.Workspace.Publish(ctx, gitops.PublishRequest{
			Branch:  req.Branch,
			Message: gitops.CommitMessage(req.Keys, req.Envs, req.TraceID),
			Fresh:   req.Fresh,
			Apply: func(ctx context.Context, fsys gitops.FS) error {
				return req.Apply(ctx, fsys)
			},
		})
		return err
	})
	return rotate.PublishResult{Changed: res.Changed, Created: res.Created, CommitSHA: res.CommitSHA, Attempts: res.Attempts}, err
}

func (r repoAdapter) Stat(name string) (fs.FileInfo, error) { return r.Workspace.Stat(name) }

// current reads what the workload uses now.
type current struct {
	w   *World
	key credential.ProviderKey
}

func (c current) Read(context.Context) (credential.Secret, error) {
	return credential.NewSecret(c.w.use[c.key].value), nil
}

func (c current) Describe() string { return "the mounted secret of " + string(c.key) }

// RunResult is one run as the harness saw it.
type RunResult struct {
	Name   string
	Cron   bool
	Events []Event
	Report *rotate.Report
	// Err is a failure before the plan (clone, preflight).
	Err    error
	Killed bool
	// Busy says another run held the lease: this one changed nothing.
	Busy bool
}

// run runs credrotate once against the world, the way `credrotate renew`
// does: clone, preflight (a run alert on failure), plan, apply.
func (w *World) run(ctx context.Context, ctl *runCtl, cron bool) RunResult {
	w.runs++
	res := RunResult{Name: ctl.name, Cron: cron}
	ctx = withCtl(ctx, ctl)
	trace := fmt.Sprintf("trace-%s-%d", strings.ReplaceAll(ctl.name, " ", "-"), w.runs)
	logger := logrus.New()
	logger.SetOutput(&w.logs)
	logger.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})
	log := logger.WithField("trace_id", trace)

	var ws *gitops.Workspace
	clone := func() error {
		return ctl.do(Git, "clone", func() error {
			var err error
			ws, err = gitops.Clone(ctx, gitops.Options{URL: w.repo.URL(), BaseBranch: "main", Now: w.now,
				Author: gitops.Signature{Name: "credrotate", Email: "credrotate@example.com"}})
			return err
		})
	}
	// The run lease, as `credrotate renew` takes it: before the clone, so
	// the clone shows the base branch as it is under the lease.
	pid := w.runs
	if w.live == nil {
		w.live = map[int]bool{}
	}
	w.live[pid] = true
	defer delete(w.live, pid)
	leases, err := gitops.NewLeases(gitops.LeaseOptions{URL: w.repo.URL(), Now: w.now, Hostname: "model",
		Alive: func(p int) bool { return w.live[p] }, Author: gitops.Signature{Name: "credrotate", Email: "credrotate@example.com"}})
	if err != nil {
		res.Err = err
		return finish(w, ctl, res)
	}
	var lease *gitops.Lease
	if err := ctl.do(Git, "lease", func() error {
		var err error
		lease, err = leases.Acquire(ctx, gitops.Holder{Host: "model", PID: pid, StartedBy: "cron", TraceID: trace}, 30*time.Minute)
		return err
	}); err != nil {
		res.Err, res.Busy = err, errors.Is(err, gitops.ErrLeaseHeld)
		return finish(w, ctl, res)
	}
	defer func() {
		if !ctl.dead {
			_ = lease.Release(ctx)
		}
	}()
	if err := clone(); err != nil {
		res.Err = err
		return finish(w, ctl, res)
	}
	client, err := w.svc.client(emuTransport{w}, log, w.now)
	if err != nil {
		res.Err = err
		return finish(w, ctl, res)
	}
	prov := canaryProvider{Provider: client, w: w}
	var keys []rotate.KeySpec
	for _, k := range w.keys {
		keys = append(keys, rotate.KeySpec{Key: k.key, ClientID: k.clientID, Provider: prov, Current: current{w, k.key}, Secret: k.ref})
	}
	var envs []rotate.EnvSpec
	for _, env := range Envs {
		e := rotate.EnvSpec{Name: env, Path: "overlays/" + env + "/credentials", Cert: seal.CertSource{File: w.fx.certs[env]}, Scope: seal.ScopeStrict, Namespace: "credit-" + env}
		if env == SOPSEnv {
			enc, err := w.sopsEncoder()
			if err != nil {
				res.Err = err
				return finish(w, ctl, res)
			}
			e.Cert, e.Scope, e.Encryption, e.Encoder = seal.CertSource{}, "", seal.EncryptionSOPS, enc
		}
		envs = append(envs, e)
	}
	r := &rotate.Runner{
		Log: log, TraceID: trace, Keys: keys, Envs: envs, Repo: repoAdapter{ws}, Forge: w.hub, Now: w.now,
		Settings: rotate.Settings{
			BaseBranch: "main", BranchPrefix: branchPref, Labels: []string{"credentials", "automated"},
			AutoMerge: true, MergeMethod: "squash", MergeStrategy: w.strategy, AlertLabels: []string{"credrotate-alert"},
			RenewBefore: w.renewBefore, GracePeriod: w.grace, RevokeAfter: w.revokeAfter,
			Concurrency: 1, Command: "credrotate renew",
		},
		// As `credrotate renew` does: after a run that did not finish,
		// every key is described.
		SkipQuiet: cron && lease.Previous == nil,
		AfterStep: ctl.point,
		// The proof's retries wait in planned time: a killed run's proof
		// fails at once, and real waits would stall the exploration. A
		// service whose new secrets take time to work sees that time pass.
		Sleep: func(ctx context.Context, d time.Duration) error {
			if w.svc.waitsPass() && ctx.Err() == nil && !ctl.dead {
				w.svc.advance(d)
			}
			return ctx.Err()
		},
	}
	obs, err := r.Preflight(ctx)
	if err != nil {
		res.Err = err
		if _, aerr := r.RaiseRunAlert(ctx, err); aerr != nil {
			log.WithError(aerr).Error("could not raise the alert issue")
		}
		return finish(w, ctl, res)
	}
	plan := r.Plan(obs, cron)
	res.Report = r.Apply(ctx, obs, plan)
	return finish(w, ctl, res)
}

func finish(w *World, ctl *runCtl, res RunResult) RunResult {
	res.Events, res.Killed = ctl.events, ctl.dead
	line := fmt.Sprintf("    %s at %s:", ctl.name, w.now().Format("Jan 2 15:04"))
	switch {
	case res.Killed:
		line += " killed"
	case res.Err != nil:
		line += " failed before the plan: " + res.Err.Error()
	}
	if res.Report != nil && !res.Killed {
		for _, kr := range res.Report.Results {
			line += fmt.Sprintf("\n      %s: %s -> %s: %s", kr.Key, kr.Action, kr.Outcome, kr.Reason)
			if kr.Error != "" {
				line += " [" + kr.Step + ": " + kr.Error + "]"
			}
		}
	}
	w.lines = append(w.lines, line)
	if len(w.lines) > 16 {
		w.lines = w.lines[len(w.lines)-16:]
	}
	if res.Report != nil {
		_ = json.NewEncoder(&w.reports).Encode(res.Report)
	}
	if res.Err != nil {
		w.reports.WriteString(res.Err.Error() + "\n")
	}
	return res
}

// history returns the summaries of the last n runs.
func (w *World) history(n int) string {
	l := w.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// mainManifest reads the metadata of key's manifest in env on main.
func (w *World) mainManifest(env string, key credential.ProviderKey) (credential.Metadata, []byte, bool) {
	tip, ok := w.repo.branch("main")
	if !ok {
		return credential.Metadata{}, nil, false
	}
	name := path.Join("overlays", env, "credentials", string(key)+".yaml")
	b, ok := w.repo.read(tip, name)
	if !ok {
		return credential.Metadata{}, nil, false
	}
	sum := sha256.Sum256(b)
	parsed.Lock()
	md, hit := parsed.m[sum]
	parsed.Unlock()
	if hit {
		return md, b, md.ProviderKey != ""
	}
	ms, err := seal.ParseManifests(name, b)
	if err == nil && len(ms) == 1 {
		md = ms[0].Metadata
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= 16384 {
		parsed.m = map[[32]byte]credential.Metadata{}
	}
	parsed.m[sum] = md
	parsed.Unlock()
	return md, b, md.ProviderKey != ""
}

// parsed caches manifests' metadata by content.
var parsed struct {
	sync.Mutex
	m map[[32]byte]credential.Metadata
}

// unseal decrypts a manifest with env's private key, as that cluster's
// sealed-secrets controller would.
func (w *World) unseal(env string, data []byte, dataKey string) (string, error) {
	key := env + "\x00" + dataKey + "\x00" + string(data)
	unsealed.Lock()
	v, ok := unsealed.m[key]
	unsealed.Unlock()
	if ok {
		return v, nil
	}
	v, err := w.unsealNow(env, data, dataKey)
	if err != nil {
		return "", err
	}
	unsealed.Lock()
	if unsealed.m == nil || len(unsealed.m) >= 4096 {
		unsealed.m = map[string]string{}
	}
	unsealed.m[key] = v
	unsealed.Unlock()
	return v, nil
}

// unsealed caches what a manifest decrypts to: RSA decryption is the
// costliest step of checking a scenario, and scenarios from one starting
// state share their manifests.
var unsealed struct {
	sync.Mutex
	m map[string]string
}

func (w *World) unsealNow(env string, data []byte, dataKey string) (string, error) {
	if env == SOPSEnv {
		// What kustomize-controller does: decrypt with the cluster's age
		// identity, the MAC checked.
		o, err := sopsout.Open(data, w.fx.ageIdentity)
		if err != nil {
			return "", err
		}
		v, ok := o.Value(dataKey)
		if !ok {
			return "", errors.New("no " + dataKey + " in the decrypted secret")
		}
		return v.Reveal(), nil
	}
	var ss ssv1alpha1.SealedSecret
	if err := yaml.Unmarshal(data, &ss); err != nil {
		return "", err
	}
	priv := w.fx.private[env]
	fp, err := sscrypto.PublicKeyFingerprint(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	sec, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: priv})
	if err != nil {
		return "", err
	}
	v, ok := sec.Data[dataKey]
	if !ok {
		return "", errors.New("no " + dataKey + " in the unsealed secret")
	}
	return string(v), nil
}

// rollout plays Argo CD or Flux and the sealed-secrets controller: a key
// whose prod manifest on main names a secret the workload does not use gets
// it once the lag has passed (and no hold is on). It reports what changed.
func (w *World) rollout() []string {
	var out []string
	now := w.now()
	for _, k := range w.keys {
		md, data, ok := w.mainManifest("prod", k.key)
		if !ok || md.SecretID == w.use[k.key].secretID {
			delete(w.pending, k.key)
			continue
		}
		since, seen := w.pending[k.key]
		if !seen {
			w.pending[k.key], since = now, now
		}
		if now.Before(since.Add(w.lag)) || now.Before(w.heldUntil) {
			continue
		}
		v, err := w.unseal("prod", data, k.ref.DataKey)
		if err != nil {
			continue // the controller rejects it; the workload keeps its secret
		}
		w.use[k.key] = &inUse{value: v, secretID: md.SecretID, since: now, dead: !w.svc.accepts(k.clientID, v)}
		delete(w.pending, k.key)
		out = append(out, string(k.key)+" -> "+md.SecretID)
	}
	return out
}

// advance moves the clock in steps of at most a day, checking the
// invariants and rolling out at each step.
func (w *World) advance(d time.Duration, check func(string)) {
	for d > 0 {
		s := min(d, 24*time.Hour)
		w.svc.advance(s)
		d -= s
		if check != nil {
			check("clock " + w.now().Format("Jan 2 15:04"))
		}
		w.rollout()
		w.hub.autoMerge()
	}
}

// texts is everything that left the process or was kept: logs, reports,
// pull requests, issues and every blob and commit of the repository.
func (w *World) texts() []string {
	out := []string{w.logs.String(), w.reports.String()}
	out = append(out, w.hub.texts()...)
	for _, o := range w.repo.st.Objects {
		r, err := o.Reader()
		if err != nil {
			continue
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		_ = r.Close()
		out = append(out, b.String())
	}
	return out
}

// clientInfo is the service's view of key: its secrets, and those handed
// out for it that the service removed.
func (w *World) clientInfo(k keyCfg) equifax.ClientInfo {
	var ids []string
	for id, c := range w.owner {
		if c == k.clientID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return w.svc.info(k.clientID, ids)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
