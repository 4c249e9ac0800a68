package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/forge/github"
)

// recorder is a second server, on another origin, that records every
// request it receives: where a hostile GitHub redirects to.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"login":"evil","slug":"evil","token":"ghs_evil"}`))
	}))
	t.Cleanup(rec.Close)
	return rec
}

// assertNothing fails when the recorder saw any request at all, naming any
// credential it carried.
func (rec *recorder) assertNothing(t *testing.T, secrets ...string) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.reqs {
		auth := r.Header.Get("Authorization")
		for _, s := range secrets {
			if s != "" && strings.Contains(auth, s) {
				t.Errorf("the token reached the other host: %s %s with Authorization %q", r.Method, r.URL, auth)
			}
		}
	}
	if len(rec.reqs) > 0 {
		t.Errorf("the other host received %d requests (first: %s %s); want none", len(rec.reqs), rec.reqs[0].Method, rec.reqs[0].URL)
	}
}

// heapGrowth runs f and returns how far HeapInuse rose above where it
// started, sampled while f runs. Callers do not run in parallel, so that
// other tests' allocations do not count.
func heapGrowth(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	peak.Store(base)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	f()
	close(stop)
	<-done
	runtime.ReadMemStats(&ms)
	p := max(peak.Load(), ms.HeapInuse)
	if p < base {
		return 0
	}
	return p - base
}

const heapBudget = 64 << 20

func appKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// Finding 2: a redirect to another host never carries the PAT, the App
// JWT or the installation token, and is refused with a named error.
func TestHostileRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key, pemKey := appKey(t)
	ops := []struct {
		name string
		run  func(*github.Client) error
	}{
		{"check access", func(c *github.Client) error { return c.CheckAccess(ctx) }},
		{"list open pull requests", func(c *github.Client) error { _, err := c.ListOpenPRs(ctx, "credrotate/"); return err }},
		{"ensure pull request (POST)", func(c *github.Client) error {
			_, _, err := c.EnsurePR(ctx, spec("credrotate/k", "t"))
			return err
		}},
		{"enable auto-merge (GraphQL)", func(c *github.Client) error {
			_, err := c.EnableAutoMerge(ctx, forge.PR{Number: 1, NodeID: "PR_x", HeadSHA: "abc"}, "squash")
			return err
		}},
		{"raise alert", func(c *github.Client) error {
			_, err := c.RaiseAlert(ctx, forge.Alert{Key: "run", Title: "t", Body: "b"})
			return err
		}},
	}
	for _, auth := range []string{"token", "app"} {
		for _, op := range ops {
			t.Run(auth+"/"+op.name, func(t *testing.T) {
				t.Parallel()
				evil := newRecorder(t)
				h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
				c := h.client(t, func(o *github.Options) {
					if auth == "app" {
						o.Token = ""
						o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pemKey}
					}
				})
				h.SetHostile(localhub.Hostile{RedirectTo: evil.URL})
				err := op.run(c)
				if !errors.Is(err, forge.ErrRedirectRefused) {
					t.Fatalf("err = %v, want ErrRedirectRefused", err)
				}
				if !strings.Contains(err.Error(), "another origin") {
					t.Errorf("message does not say what happened: %v", err)
				}
				evil.assertNothing(t, hubToken, "eyJ", "ghs_")
				if h.HostileServed() == 0 {
					t.Fatal("the hostile mode never answered: the test proves nothing")
				}
			})
		}
	}
}

// A redirect from https to http is refused even on the same host name.
func TestHostileRedirectDowngrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHub(t, localhub.Options{})
	tls := httptest.NewTLSServer(h.Server)
	t.Cleanup(tls.Close)
	c := h.client(t, func(o *github.Options) {
		o.APIURL = tls.URL + "/"
		o.HTTPClient = tls.Client()
	})
	if err := c.CheckAccess(ctx); err != nil {
		t.Fatalf("CheckAccess over https before the downgrade: %v", err)
	}
	plain := newRecorder(t)
	h.SetHostile(localhub.Hostile{RedirectTo: strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)})
	_, err := c.ListOpenPRs(ctx, "credrotate/")
	if !errors.Is(err, forge.ErrRedirectRefused) || !strings.Contains(err.Error(), "https to http") {
		t.Fatalf("err = %v, want a refused downgrade", err)
	}
	plain.assertNothing(t, hubToken)
}

// Even a request the client is made to send to another origin (an
// absolute URL, a redirect past the policy) goes without credentials.
func TestTokenOnlyOnTheAPIOrigin(t *testing.T) {
	t.Parallel()
	h := newHub(t, localhub.Options{})
	evil := newRecorder(t)
	c := h.client(t, nil)
	if _, err := c.ListOpenPRs(context.Background(), "credrotate/"); err != nil {
		t.Fatal(err)
	}
	resp, err := github.HTTPClientForTest(c).Get(evil.URL + "/repos/acme/gitops/pulls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	evil.mu.Lock()
	defer evil.mu.Unlock()
	if len(evil.reqs) != 1 {
		t.Fatalf("recorder saw %d requests, want 1", len(evil.reqs))
	}
	if auth := evil.reqs[0].Header.Get("Authorization"); auth != "" {
		t.Fatalf("Authorization %q sent to another origin", auth)
	}
}

// Finding 4: an endless rel="next" ends with a named error at the page
// cap, for every paginated list, in bounded memory.
func TestHostileEndlessNext(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, localhub.Options{})
	c := h.client(t, func(o *github.Options) { o.MaxPages = 20 })
	h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
	pr, _, err := c.EnsurePR(ctx, spec("credrotate/k", "rotate"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RaiseAlert(ctx, forge.Alert{Key: "other", Title: "t", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	h.SetHostile(localhub.Hostile{EndlessNext: true})
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"open pull requests", func() error { _, err := c.ListOpenPRs(ctx, "credrotate/"); return err }},
		{"alert keys", func() error { _, err := c.OpenAlertKeys(ctx); return err }},
		{"alert lookup", func() error { return c.ResolveAlert(ctx, "run", "done") }},
		{"check runs", func() error { _, err := c.MergeIfGreen(ctx, pr, "squash"); return err }},
	} {
		t.Run(op.name, func(t *testing.T) {
			before := h.Calls().APITotal
			var err error
			grew := heapGrowth(func() { err = op.run() })
			var lt *github.ListTooLongError
			if !errors.Is(err, forge.ErrTooManyPages) || !errors.As(err, &lt) {
				t.Fatalf("err = %v, want ErrTooManyPages", err)
			}
			if calls := h.Calls().APITotal - before; calls > 20+3 {
				t.Errorf("%d calls for one list, want at most the page cap (20) and a few more", calls)
			}
			if grew > heapBudget {
				t.Errorf("heap grew by %d MiB, want < %d MiB", grew>>20, heapBudget>>20)
			}
			t.Logf("%v (heap +%d KiB)", err, grew>>10)
		})
	}
	if got := h.pr(t, pr.Number); got.Merged {
		t.Error("merged although the check runs could not be read")
	}
}

// Finding 4: a 512 MiB answer is cut at the size cap with a named error
// and bounded heap, with and without a Content-Length, over REST and
// GraphQL and the App token exchange.
func TestHostileHugeBody(t *testing.T) {
	ctx := context.Background()
	key, pemKey := appKey(t)
	const huge = 512 << 20
	for _, tc := range []struct {
		name     string
		declared bool
		app      bool
		run      func(*github.Client) error
	}{
		{"list pull requests, streamed", false, false, func(c *github.Client) error { _, err := c.ListOpenPRs(ctx, "credrotate/"); return err }},
		{"list pull requests, declared", true, false, func(c *github.Client) error { _, err := c.ListOpenPRs(ctx, "credrotate/"); return err }},
		{"GraphQL auto-merge", false, false, func(c *github.Client) error {
			_, err := c.EnableAutoMerge(ctx, forge.PR{Number: 1, NodeID: "PR_x", HeadSHA: "abc"}, "squash")
			return err
		}},
		{"App installation token", false, true, func(c *github.Client) error { _, err := c.GitToken(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
			c := h.client(t, func(o *github.Options) {
				o.MaxRetries = -1
				if tc.app {
					o.Token = ""
					o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pemKey}
				}
			})
			h.SetHostile(localhub.Hostile{HugeBody: huge, HugeBodyDeclared: tc.declared})
			var err error
			grew := heapGrowth(func() { err = tc.run(c) })
			if !errors.Is(err, forge.ErrResponseTooLarge) {
				t.Fatalf("err = %v, want ErrResponseTooLarge", err)
			}
			if grew > heapBudget {
				t.Errorf("heap grew by %d MiB while the server sent up to %d MiB, want < %d MiB", grew>>20, huge>>20, heapBudget>>20)
			}
			t.Logf("%v (heap +%d KiB)", err, grew>>10)
		})
	}
}

// Finding 4: a server that drips its answer a byte at a time is cut off
// by the per-request timeout with a named error.
func TestHostileSlowDrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHub(t, localhub.Options{})
	h.commit(t, "credrotate/k", "rotate", map[string]string{"k.yaml": "v1\n"})
	if _, _, err := h.client(t, nil).EnsurePR(ctx, spec("credrotate/k", "rotate")); err != nil {
		t.Fatal(err)
	}
	c := h.client(t, func(o *github.Options) {
		o.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
		o.MaxRetries = -1
	})
	h.SetHostile(localhub.Hostile{Drip: 20 * time.Millisecond})
	_, err := c.ListOpenPRs(ctx, "credrotate/")
	if !errors.Is(err, forge.ErrSlowResponse) {
		t.Fatalf("err = %v, want ErrSlowResponse", err)
	}
	if strings.Contains(err.Error(), hubToken) {
		t.Fatalf("error carries the token: %v", err)
	}
}

// Finding 3: a pull request from a deleted fork, from a live fork, or by
// another account, on a credrotate/ branch and with a valid state marker,
// is not credrotate's: it is listed as foreign with no body, never found,
// merged, or has its branch deleted.
func TestForeignPullRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key, pemKey := appKey(t)
	body := forge.RenderBody(forge.RotationState{TraceID: "mallory", Keys: []forge.KeyState{{ProviderKey: "equifax.a", NewSecretID: "public-secret-id"}}})
	for _, auth := range []string{"token", "app"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
			c := h.client(t, func(o *github.Options) {
				if auth == "app" {
					o.Token = ""
					o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pemKey}
				}
			})
			h.commit(t, "credrotate/ours", "rotate", map[string]string{"k.yaml": "v1\n"})
			ours, _, err := c.EnsurePR(ctx, spec("credrotate/ours", "ours"))
			if err != nil {
				t.Fatal(err)
			}
			h.commit(t, "credrotate/insider", "rotate", map[string]string{"k.yaml": "v2\n"})
			foreignPRs := map[int]string{}
			for _, f := range []localhub.ForeignPR{
				{Branch: "credrotate/deleted", Title: "deleted fork", Body: body, ForkGone: true},
				{Branch: "credrotate/fork", Title: "live fork", Body: body, Fork: "mallory/gitops"},
				{Branch: "credrotate/insider", Title: "another account", Body: body, User: "insider"},
			} {
				n, err := h.OpenForeignPR(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				foreignPRs[n] = f.Title
			}
			if auth == "app" {
				// A pull request by the token's user is not the App's.
				h.commit(t, "credrotate/pat", "rotate", map[string]string{"k.yaml": "v3\n"})
				n, err := h.OpenForeignPR(ctx, localhub.ForeignPR{Branch: "credrotate/pat", Title: "the PAT's user", Body: body, User: "credrotate-bot"})
				if err != nil {
					t.Fatal(err)
				}
				foreignPRs[n] = "the PAT's user"
			}

			list, err := c.ListOpenPRs(ctx, "credrotate/")
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, p := range list {
				switch {
				case p.Number == ours.Number:
					if p.Foreign != "" || p.Body == "" {
						t.Errorf("our pull request listed as foreign: %+v", p)
					}
				case foreignPRs[p.Number] != "":
					seen++
					if p.Foreign == "" || p.Body != "" {
						t.Errorf("%s (#%d) listed as credrotate's: foreign=%q body=%q", foreignPRs[p.Number], p.Number, p.Foreign, p.Body)
					}
					if _, found, _ := forge.ParseState(p.Body); found {
						t.Errorf("%s: a state marker is readable from it", foreignPRs[p.Number])
					}
					t.Logf("#%d %s: %s", p.Number, foreignPRs[p.Number], p.Foreign)
				}
			}
			if seen != len(foreignPRs) {
				t.Errorf("listed %d of %d foreign pull requests", seen, len(foreignPRs))
			}
			if got, err := c.FindOpenPR(ctx, "credrotate/insider"); err != nil || got != nil {
				t.Errorf("FindOpenPR found another account's pull request: %+v, %v", got, err)
			}
			for n, what := range foreignPRs {
				_, err := c.MergeIfGreen(ctx, forge.PR{Number: n}, "squash")
				if !errors.Is(err, forge.ErrNotOurs) {
					t.Errorf("MergeIfGreen(%s) = %v, want ErrNotOurs", what, err)
				}
				if h.pr(t, n).Merged {
					t.Errorf("%s was merged", what)
				}
			}
			if h.BranchSHA(ctx, "credrotate/insider") == "" {
				t.Error("another account's branch was deleted")
			}
		})
	}
}

// A static token that GET /user does not answer (an installation token,
// like the Actions GITHUB_TOKEN) is identified through GraphQL's viewer.
func TestIdentityOfAnInstallationToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key, pemKey := appKey(t)
	h := newHub(t, localhub.Options{AppID: 42, AppPublicKey: &key.PublicKey, InstallationID: 7})
	app := h.client(t, func(o *github.Options) {
		o.Token = ""
		o.App = &github.AppAuth{ID: 42, InstallationID: 7, PrivateKeyPEM: pemKey}
	})
	tok, err := app.GitToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := h.client(t, func(o *github.Options) { o.Token = tok })
	for _, cl := range []*github.Client{app, c} {
		if login, err := cl.Identity(ctx); err != nil || login != "credrotate[bot]" {
			t.Errorf("Identity = %q, %v; want credrotate[bot]", login, err)
		}
	}
	plain := h.client(t, nil)
	if login, err := plain.Identity(ctx); err != nil || login != "credrotate-bot" {
		t.Errorf("Identity of the token = %q, %v; want credrotate-bot", login, err)
	}
}
