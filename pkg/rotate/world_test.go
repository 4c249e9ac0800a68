package rotate

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/seal"
)

// The tests of this package run the real planner and apply against the
// Equifax emulator (in-process, over HTTP, through the REST client) and
// small fakes of the git repository and GitHub: a base branch and rotation
// branches in memory, pull requests that merge when auto-merge is enabled
// and the checks pass, alert issues.

var certFile string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credrotate-rotate-")
	if err != nil {
		panic(err)
	}
	certFile = filepath.Join(dir, "prod.crt")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"}, NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// world is one credrotate setup: Equifax, the repository, GitHub, keys.
type world struct {
	t      *testing.T
	emu    *emulator.Emulator
	prov   *killableProvider
	repo   *memRepo
	forge  *memForge
	sealer *recordingSealer
	keys   []*wkey
	envs   []EnvSpec
	killed atomic.Bool
}

type wkey struct {
	key      credential.ProviderKey
	clientID string
	cur      *workload
}

// workload is the secret a workload holds now (its currentSecret source).
type workload struct {
	mu sync.Mutex
	v  credential.Secret
}

func (w *workload) Read(context.Context) (credential.Secret, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.v, nil
}
func (w *workload) Describe() string { return "the test workload" }
func (w *workload) set(v credential.Secret) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.v = v
}

// seedKey says how a key starts.
type seedKey struct {
	expiresIn time.Duration
	// unmanaged: no manifest names the key yet.
	unmanaged bool
}

const day = 24 * time.Hour

func newWorld(t *testing.T, seeds ...seedKey) *world {
	t.Helper()
	emu := emulator.New(emulator.Options{RenewWindow: 365 * day})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	c, err := rest.New(rest.Options{BaseURL: srv.URL, MaxRetries: -1, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, emu: emu, sealer: &recordingSealer{values: map[string]credential.Secret{}}}
	w.prov = &killableProvider{Provider: equifax.AsProvider(c, emulator.DefaultManagementScope), w: w}
	w.repo = &memRepo{w: w, base: &seal.MemFS{}, branches: map[string]*branch{}}
	w.forge = &memForge{w: w, checks: "success", alerts: map[string]*alert{}}
	w.envs = []EnvSpec{{Name: "prod", Path: "overlays/prod/credentials", Cert: seal.CertSource{File: certFile}}}
	if err := w.repo.base.MkdirAll("overlays/prod/credentials", 0o755); err != nil {
		t.Fatal(err)
	}
	var items []seal.Item
	for i, s := range seeds {
		k := &wkey{key: credential.ProviderKey(fmt.Sprintf("equifax.k%d", i+1)), clientID: fmt.Sprintf("client-%d", i+1), cur: &workload{}}
		value := fmt.Sprintf("seeded-secret-%d-%d", i+1, time.Now().UnixNano())
		info, err := emu.SeedClient(k.clientID, value, emu.Now().Add(s.expiresIn))
		if err != nil {
			t.Fatal(err)
		}
		k.cur.set(credential.NewSecret(value))
		w.sealer.values[info.SecretID] = credential.NewSecret(value)
		if !s.unmanaged {
			items = append(items, seal.Item{Ref: seal.SecretRef{Name: "equifax-k" + fmt.Sprint(i+1), Namespace: "credit", DataKey: "client_secret"}, Value: credential.NewSecret(value),
				Metadata: credential.Metadata{ProviderKey: k.key, SecretID: info.SecretID, ExpiresAt: info.ExpiresAt, RotatedAt: emu.Now().Add(-60 * day)}})
		}
		w.keys = append(w.keys, k)
	}
	if len(items) > 0 {
		envs := w.sealEnvs()
		if _, err := seal.Write(context.Background(), w.repo.base, envs, items); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) sealEnvs() []seal.Environment {
	w.t.Helper()
	var out []seal.Environment
	for _, e := range w.envs {
		c, _, err := seal.LoadCertificate(context.Background(), e.Name, e.Cert, seal.LoadOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, seal.Environment{Name: e.Name, Path: e.Path, Cert: c})
	}
	return out
}

// runner builds a Runner over the world, as cmd does.
func (w *world) runner(tune ...func(*Runner)) *Runner {
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := &Runner{
		Log: log.WithField("trace_id", "test"), TraceID: "test-trace", Envs: w.envs, Repo: w.repo, Forge: w.forge,
		Settings: Settings{BaseBranch: "main", BranchPrefix: "credrotate/", AutoMerge: true, MergeMethod: "squash", MergeStrategy: "native",
			RenewBefore: 14 * day, GracePeriod: 14 * day, RevokeAfter: day, Concurrency: 4},
		Now:    w.emu.Now,
		Sealer: w.sealer,
		Sleep:  func(context.Context, time.Duration) error { return nil },
	}
	for _, k := range w.keys {
		r.Keys = append(r.Keys, KeySpec{Key: k.key, ClientID: k.clientID, Provider: w.prov, Current: k.cur, Secret: seal.SecretRef{Name: strings.ReplaceAll(string(k.key), ".", "-"), Namespace: "credit", DataKey: "client_secret"}})
	}
	for _, f := range tune {
		f(r)
	}
	return r
}

// killAt stops the run at step as SIGKILL would: the goroutine that reached
// it ends, and every later call to Equifax, git or GitHub fails.
func (w *world) killAt(step Step) func(*Runner) {
	return func(r *Runner) {
		r.OnStep = func(s Step) {
			if s == step {
				w.killed.Store(true)
				runtime.Goexit()
			}
			if w.killed.Load() {
				runtime.Goexit()
			}
		}
	}
}

// run is one run: preflight, plan, apply. It returns nil when the run was
// killed.
func (w *world) run(cron bool, tune ...func(*Runner)) *Report {
	w.t.Helper()
	r := w.runner(tune...)
	var rep *Report
	var perr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		obs, err := r.Preflight(context.Background())
		if err != nil {
			perr = err
			return
		}
		rep = r.Apply(context.Background(), obs, r.Plan(obs, cron))
	}()
	<-done
	killed := w.killed.Swap(false)
	if perr != nil && !killed {
		w.t.Fatalf("preflight: %v", perr)
	}
	if killed {
		return nil
	}
	return rep
}

// result is one key's line of a report.
func (rep *Report) result(k credential.ProviderKey) KeyResult {
	for _, kr := range rep.Results {
		if kr.Key == k {
			return kr
		}
	}
	return KeyResult{}
}

// rollout plays Argo CD: every workload gets the secret the base branch
// deploys.
func (w *world) rollout() {
	w.t.Helper()
	for _, k := range w.keys {
		if id := w.deployed(k.key); id != "" {
			v, ok := w.sealer.value(id)
			if !ok {
				w.t.Fatalf("%s: the base deploys %s, which was never sealed", k.key, id)
			}
			k.cur.set(v)
		}
	}
}

// deployed is the secret id the base branch's manifest of k carries.
func (w *world) deployed(k credential.ProviderKey) string {
	ms, err := seal.ReadManifests(context.Background(), w.repo.base, "overlays/prod/credentials")
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range ms {
		if m.Metadata.ProviderKey == k {
			return m.Metadata.SecretID
		}
	}
	return ""
}

// prKeys is what an open pull request proposes, read as a run reads it:
// from its branch's manifests.
func (w *world) prKeys(pr forge.PR) []forge.KeyState {
	w.t.Helper()
	var dirs []string
	for _, e := range w.envs {
		dirs = append(dirs, e.Path)
	}
	keys, err := (&Runner{Repo: w.repo}).branchKeys(context.Background(), pr.Branch, dirs)
	if err != nil {
		w.t.Fatalf("reading pull request #%d's branch %s: %v", pr.Number, pr.Branch, err)
	}
	return keys
}

// clientID is the client of a provider key.
func (w *world) clientID(k string) string {
	for _, wk := range w.keys {
		if string(wk.key) == k {
			return wk.clientID
		}
	}
	return ""
}

// check holds the invariants after every run: the workload's secret works,
// at most two valid secrets per client, at most one open pull request per
// key, no pull request proposes a secret that does not work.
func (w *world) check(when string) {
	w.t.Helper()
	perKey := map[string]int{}
	for _, pr := range w.forge.open() {
		if _, ok, err := forge.ParseState(pr.Body); !ok || err != nil {
			continue
		}
		for _, ks := range w.prKeys(pr) {
			perKey[ks.ProviderKey]++
			if perKey[ks.ProviderKey] > 1 {
				w.t.Errorf("%s: %s has more than one open pull request", when, ks.ProviderKey)
			}
			v, ok := w.sealer.value(ks.NewSecretID)
			if !ok || !w.emu.Accepts(w.clientID(ks.ProviderKey), v.Reveal()) {
				w.t.Errorf("%s: pull request #%d proposes %s for %s, which does not obtain a token", when, pr.Number, ks.NewSecretID, ks.ProviderKey)
			}
		}
	}
	for _, k := range w.keys {
		v, _ := k.cur.Read(context.Background())
		if !w.emu.Accepts(k.clientID, v.Reveal()) {
			w.t.Errorf("%s: the workload's secret of %s is not accepted: an outage", when, k.key)
		}
		if c, _ := w.emu.Client(k.clientID); c.ValidCount() > 2 {
			w.t.Errorf("%s: %s has %d valid secrets", when, k.key, c.ValidCount())
		}
	}
}

// killableProvider is the REST client, refusing every call once the run is
// killed.
type killableProvider struct {
	Provider
	w *world
}

func (p *killableProvider) dead() error {
	if p.w.killed.Load() {
		runtime.Goexit()
	}
	return nil
}

func (p *killableProvider) Verify(ctx context.Context, c equifax.Credentials, secret credential.Secret) error {
	_ = p.dead()
	return p.Provider.Verify(ctx, c, secret)
}
func (p *killableProvider) Describe(ctx context.Context, c equifax.Credentials) (equifax.ClientInfo, error) {
	_ = p.dead()
	return p.Provider.Describe(ctx, c)
}
func (p *killableProvider) Create(ctx context.Context, c equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	_ = p.dead()
	return p.Provider.Create(ctx, c, req)
}
func (p *killableProvider) Revoke(ctx context.Context, c equifax.Credentials, id string) error {
	_ = p.dead()
	return p.Provider.Revoke(ctx, c, id)
}

// recordingSealer seals with the seal package and remembers each sealed
// value by secret id, so that a test can play the rollout.
type recordingSealer struct {
	mu     sync.Mutex
	values map[string]credential.Secret
	calls  int
}

func (s *recordingSealer) Seal(ctx context.Context, fsys seal.FS, envs []seal.Environment, items []seal.Item) error {
	s.mu.Lock()
	s.calls++
	for _, it := range items {
		s.values[it.Metadata.SecretID] = it.Value
	}
	s.mu.Unlock()
	return SealedSecrets{}.Seal(ctx, fsys, envs, items)
}

func (s *recordingSealer) value(id string) (credential.Secret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[id]
	return v, ok
}

// memRepo is the GitOps repository: the base branch and rotation branches,
// each a snapshot of the base it was built on plus its change.
type memRepo struct {
	w        *world
	mu       sync.Mutex
	base     *seal.MemFS
	branches map[string]*branch
	pushes   int
}

type branch struct {
	fs      *seal.MemFS
	changed map[string][]byte
	// parent holds the changed paths as the base had them when the branch
	// was built ("" for a path that did not exist).
	parent map[string]string
}

func (m *memRepo) ReadFile(name string) ([]byte, error)       { return m.base.ReadFile(name) }
func (m *memRepo) ReadDir(name string) ([]fs.DirEntry, error) { return m.base.ReadDir(name) }
func (m *memRepo) Stat(name string) (fs.FileInfo, error) {
	if _, err := m.base.ReadDir(name); err != nil {
		return nil, err
	}
	return dirInfo(name), nil
}

func copyFS(src *seal.MemFS) *seal.MemFS {
	dst := &seal.MemFS{}
	for _, p := range src.Files() {
		b, _ := src.ReadFile(p)
		_ = dst.WriteFile(p, b, 0o644)
	}
	return dst
}

func (m *memRepo) Publish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	return m.publishOn(ctx, m.base, req)
}

// publishOn builds the branch on from (the base as the run cloned it).
func (m *memRepo) publishOn(ctx context.Context, from *seal.MemFS, req PublishRequest) (PublishResult, error) {
	if m.w.killed.Load() {
		runtime.Goexit()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fsys := copyFS(from)
	if err := req.Apply(ctx, fsys); err != nil {
		return PublishResult{}, err
	}
	if m.w.killed.Load() {
		runtime.Goexit() // killed between the commit and the push
	}
	ch, parent := map[string][]byte{}, map[string]string{}
	for _, p := range fsys.Files() {
		nb, _ := fsys.ReadFile(p)
		ob, err := from.ReadFile(p)
		if err != nil || string(ob) != string(nb) {
			ch[p], parent[p] = nb, string(ob)
		}
	}
	m.branches[req.Branch] = &branch{fs: fsys, changed: ch, parent: parent}
	m.pushes++
	return PublishResult{Changed: len(ch) > 0, CommitSHA: fmt.Sprintf("sha-%d", m.pushes), Attempts: 1}, nil
}

// BranchChanges implements Repo: the YAML files the branch changes.
func (m *memRepo) BranchChanges(ctx context.Context, name string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.branches[name]
	if b == nil {
		return nil, fmt.Errorf("branch %s: %w", name, fs.ErrNotExist)
	}
	out := map[string][]byte{}
	for p, data := range b.changed {
		if strings.HasSuffix(p, ".yaml") {
			out[p] = data
		}
	}
	return out, nil
}

// merge lands a branch's change on the base; false when it conflicts (the
// base changed a file the branch changes since the branch was built: GitHub
// shows such a pull request as dirty and does not merge it).
func (m *memRepo) merge(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.branches[name]
	if b == nil {
		return false
	}
	for p := range b.changed {
		now, _ := m.base.ReadFile(p)
		if string(now) != b.parent[p] {
			return false
		}
	}
	for p, data := range b.changed {
		_ = m.base.WriteFile(p, data, 0o644)
	}
	return true
}

// clone is the repository as a run clones it now: reads see this base even
// when another run merges meanwhile, and the branch is built on it.
func (m *memRepo) clone() *repoClone {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &repoClone{origin: m, base: copyFS(m.base)}
}

type repoClone struct {
	origin *memRepo
	base   *seal.MemFS
}

func (c *repoClone) ReadFile(name string) ([]byte, error)       { return c.base.ReadFile(name) }
func (c *repoClone) ReadDir(name string) ([]fs.DirEntry, error) { return c.base.ReadDir(name) }
func (c *repoClone) Stat(name string) (fs.FileInfo, error) {
	if _, err := c.base.ReadDir(name); err != nil {
		return nil, err
	}
	return dirInfo(name), nil
}
func (c *repoClone) Publish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	return c.origin.publishOn(ctx, c.base, req)
}
func (c *repoClone) BranchChanges(ctx context.Context, name string) (map[string][]byte, error) {
	return c.origin.BranchChanges(ctx, name)
}

type dirInfo string

func (d dirInfo) Name() string       { return string(d) }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

// memForge is GitHub: pull requests and alert issues.
type memForge struct {
	w      *world
	mu     sync.Mutex
	prs    []*memPR
	alerts map[string]*alert
	// checks is "success" or "pending": a pull request with auto-merge
	// merges at once when they pass.
	checks string
	// failAutoMerge makes the next N EnableAutoMerge calls answer 502.
	failAutoMerge  int
	autoMergeCalls int
}

type memPR struct {
	forge.PR
	comments []string
}

type alert struct {
	title, body string
	open        bool
	raised      int
}

func (f *memForge) alive() {
	if f.w.killed.Load() {
		runtime.Goexit()
	}
}

func (f *memForge) open() []forge.PR {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []forge.PR
	for _, p := range f.prs {
		if p.Open() {
			out = append(out, p.PR)
		}
	}
	return out
}

func (f *memForge) ListOpenPRs(_ context.Context, prefix string) ([]forge.PR, error) {
	f.alive()
	var out []forge.PR
	for _, p := range f.open() {
		if strings.HasPrefix(p.Branch, prefix) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *memForge) EnsurePR(_ context.Context, spec forge.PRSpec) (forge.PR, bool, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.prs {
		if p.Open() && p.Branch == spec.Branch {
			p.Title, p.Body, p.Labels = spec.Title, spec.Body, spec.Labels
			return p.PR, false, nil
		}
	}
	return f.createLocked(spec), true, nil
}

func (f *memForge) createLocked(spec forge.PRSpec) forge.PR {
	n := len(f.prs) + 1
	p := &memPR{PR: forge.PR{Number: n, URL: fmt.Sprintf("https://github.test/acme/gitops/pull/%d", n), NodeID: fmt.Sprint("PR_", n), Branch: spec.Branch, Base: spec.Base, Title: spec.Title, Body: spec.Body, State: "open", Labels: spec.Labels}}
	f.prs = append(f.prs, p)
	return p.PR
}

// duplicate opens a second pull request from the branch of pr, as two
// overlapping runs on two machines did.
func (f *memForge) duplicate(number int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	src := f.prs[number-1]
	f.createLocked(forge.PRSpec{Branch: src.Branch, Base: src.Base, Title: src.Title, Body: src.Body, Labels: src.Labels})
}

func (f *memForge) get(n int) *memPR {
	if n < 1 || n > len(f.prs) {
		return nil
	}
	return f.prs[n-1]
}

func (f *memForge) EnableAutoMerge(_ context.Context, pr forge.PR, _ string) (bool, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.autoMergeCalls++
	if f.failAutoMerge > 0 {
		f.failAutoMerge--
		return false, fmt.Errorf("enabling auto-merge of #%d: 502 Bad Gateway", pr.Number)
	}
	p := f.get(pr.Number)
	if p == nil || !p.Open() {
		return false, fmt.Errorf("#%d: %w", pr.Number, forge.ErrNotMergeable)
	}
	p.AutoMerge = true
	if f.checks == "success" {
		f.mergeLocked(p)
	}
	return p.Merged, nil
}

func (f *memForge) mergeLocked(p *memPR) {
	if f.w.repo.merge(p.Branch) {
		p.Merged, p.State = true, "closed"
	}
}

// setChecks sets the checks; passing checks merge the pull requests with
// auto-merge enabled.
func (f *memForge) setChecks(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = c
	if c == "success" {
		for _, p := range f.prs {
			if p.Open() && p.AutoMerge {
				f.mergeLocked(p)
			}
		}
	}
}

func (f *memForge) MergeIfGreen(_ context.Context, pr forge.PR, _ string) (bool, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.get(pr.Number)
	if p == nil || !p.Open() || f.checks != "success" {
		return false, nil
	}
	f.mergeLocked(p)
	return true, nil
}

func (f *memForge) ClosePR(_ context.Context, pr forge.PR, comment string) error {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.get(pr.Number)
	if p == nil {
		return forge.ErrNotFound
	}
	p.comments = append(p.comments, comment)
	p.State = "closed"
	// GitHub deletes the branch, which closes every pull request from it.
	for _, o := range f.prs {
		if o.Open() && o.Branch == p.Branch {
			o.State = "closed"
		}
	}
	return nil
}

func (f *memForge) GetPR(_ context.Context, n int) (forge.PR, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.get(n); p != nil {
		return p.PR, nil
	}
	return forge.PR{}, forge.ErrNotFound
}

func (f *memForge) RaiseAlert(_ context.Context, a forge.Alert) (forge.Issue, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	al := f.alerts[a.Key]
	if al == nil {
		al = &alert{}
		f.alerts[a.Key] = al
	}
	al.title, al.body, al.open = a.Title, a.Body, true
	al.raised++
	return forge.Issue{Number: len(f.alerts), URL: "https://github.test/acme/gitops/issues/" + a.Key, State: "open"}, nil
}

func (f *memForge) ResolveAlert(_ context.Context, key, _ string) error {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	if al := f.alerts[key]; al != nil {
		al.open = false
	}
	return nil
}

func (f *memForge) OpenAlertKeys(context.Context) (map[string]bool, error) {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k, a := range f.alerts {
		if a.open {
			out[k] = true
		}
	}
	return out, nil
}

// openAlert is the open alert issue of k, if any.
func (f *memForge) openAlert(k credential.ProviderKey) *alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.alerts[alertKey(k)]; a != nil && a.open {
		c := *a
		return &c
	}
	return nil
}

func (f *memForge) prCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.prs)
}

var (
	_ Provider = (*killableProvider)(nil)
	_ Repo     = (*memRepo)(nil)
	_ Forge    = (*memForge)(nil)
	_ Sealer   = (*recordingSealer)(nil)
	_ Repo     = (*repoClone)(nil)
)

// ClosePRKeepBranch closes a pull request and keeps its branch.
func (f *memForge) ClosePRKeepBranch(_ context.Context, pr forge.PR, comment string) error {
	f.alive()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.get(pr.Number)
	if p == nil {
		return forge.ErrNotFound
	}
	p.comments = append(p.comments, comment)
	p.State = "closed"
	return nil
}

// alertFor is an alert issue of key k, as a failed run raises it.
func alertFor(k credential.ProviderKey) forge.Alert {
	return forge.Alert{Key: alertKey(k), Title: "credrotate: rotation of " + string(k) + " needs attention", Body: "a failed run"}
}
