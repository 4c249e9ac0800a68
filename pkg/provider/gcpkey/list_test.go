package gcpkey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/gcpkey"
)

// inflight counts the requests under way and remembers the most at once.
type inflight struct {
	next http.RoundTripper
	mu   sync.Mutex
	now  int
	most int
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.now++
	f.most = max(f.most, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return f.next.RoundTrip(r)
}

// lister is a provider for w's emulator that lists project, with mod
// applied to its options.
func (w *world) lister(t *testing.T, project string, mod func(*gcpkey.Options)) *gcpkey.Provider {
	t.Helper()
	opts := gcpkey.Options{Endpoint: w.srv.URL, TokenURL: w.srv.URL + "/token", CredentialsFile: w.mgmtFile, MaxKeyAge: 90 * 24 * time.Hour,
		HTTPClient: w.srv.Client(), Timeout: 5 * time.Second, Now: w.emu.Now, Project: project}
	if mod != nil {
		mod(&opts)
	}
	p, err := gcpkey.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestList: every service account of the project, over three pages of
// serviceAccounts.list, with its user-managed keys, an uploaded one marked
// foreign; none of another project's; never more than ListConcurrency key
// lists at once.
func TestList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	const project, accounts = "inventory-proj", 230
	expiry := map[string]time.Time{}
	for i := 0; i < accounts; i++ {
		email := fmt.Sprintf("sa-%03d@%s.iam.gserviceaccount.com", i, project)
		w.emu.SetDisplayName(email, fmt.Sprintf("service %d", i))
		if i%10 == 0 {
			until := w.emu.Now().Add(time.Duration(i+1) * 24 * time.Hour)
			id, _, err := w.emu.SeedKey(email, w.emu.Now().Add(-time.Duration(i)*time.Hour), until)
			if err != nil {
				t.Fatal(err)
			}
			expiry[id] = until.UTC().Truncate(time.Second)
		}
	}
	uploaded, err := w.emu.SeedUploadedKey("sa-010@"+project+".iam.gserviceaccount.com", w.emu.Now().Add(-time.Minute), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	fl := &inflight{next: w.srv.Client().Transport}
	p := w.lister(t, project, func(o *gcpkey.Options) {
		o.HTTPClient = &http.Client{Transport: fl}
		o.ListConcurrency = 3
	})
	got, err := p.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != accounts {
		t.Fatalf("listed %d service accounts, want %d (the other projects' left out)", len(got), accounts)
	}
	byID := map[string]provider.Listed{}
	keys := 0
	for _, l := range got {
		byID[l.ClientID] = l
		keys += len(l.Secrets)
	}
	if keys != accounts/10+1 {
		t.Errorf("%d keys listed, want %d", keys, accounts/10+1)
	}
	l := byID["sa-010@"+project+".iam.gserviceaccount.com"]
	if l.Name != "service 10" || len(l.Secrets) != 2 {
		t.Fatalf("listed %+v", l)
	}
	for _, s := range l.Secrets {
		switch {
		case s.SecretID == uploaded && (!s.Foreign || s.Status != provider.StatusRetiring):
			t.Errorf("the uploaded key is %+v, want foreign and not ACTIVE", s)
		case s.SecretID != uploaded && (s.Foreign || s.Status != provider.StatusActive || !s.ExpiresAt.Equal(expiry[s.SecretID])):
			t.Errorf("the generated key is %+v, want ACTIVE, credrotate's, expiring in 11 days", s)
		}
	}
	if n, want := w.emu.Calls("accounts"), (accounts+gcpkey.AccountsPageSize-1)/gcpkey.AccountsPageSize; n != want {
		t.Errorf("%d serviceAccounts.list calls, want %d pages", n, want)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.most > 3 || fl.most < 2 {
		t.Errorf("at most %d requests at once, want 2 to 3", fl.most)
	}
}

// TestForeignKeys: a key whose public half was uploaded is foreign — the
// newest Google-generated key is ACTIVE even when the uploaded one is newer
// — unless the deployed key file names it.
func TestForeignKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, gcpemu.Options{})
	ctx := context.Background()
	uploaded, err := w.emu.SeedUploadedKey(w.email, w.emu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := w.p.Describe(ctx, w.client())
	if err != nil {
		t.Fatal(err)
	}
	up, _ := info.Find(uploaded)
	mine, _ := info.Find(w.firstID)
	if !up.Foreign || up.Status != provider.StatusRetiring || mine.Foreign || mine.Status != provider.StatusActive {
		t.Fatalf("uploaded %+v, generated %+v; want the uploaded key foreign and the generated one ACTIVE", up, mine)
	}
	// Only the uploaded key left working: it is ACTIVE, still foreign.
	w.emu.Disable(w.email, w.firstID)
	info, err = w.p.Describe(ctx, w.client())
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := info.Find(uploaded); !up.Foreign || up.Status != provider.StatusActive {
		t.Fatalf("uploaded %+v, want ACTIVE and foreign", up)
	}
	// A deployed key file naming the uploaded key makes it credrotate's.
	file := fmt.Sprintf(`{"type":"service_account","private_key_id":%q,"private_key":"(not read by Describe)","client_email":%q}`, uploaded, w.email)
	c := w.client()
	c.ClientSecret = secretOf(file)
	info, err = w.p.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if up, _ := info.Find(uploaded); up.Foreign {
		t.Fatalf("the deployed uploaded key is foreign: %+v", up)
	}
}

// TestListFailures: no project is a typed refusal; a failing page or key
// list fails the list; a page token given twice is not followed round in
// a circle.
func TestListFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, gcpemu.Options{})
	_, err := w.p.List(ctx)
	wantKind(t, err, provider.ErrBadRequest)

	p := w.lister(t, "app", nil)
	w.emu.Fail("accounts", 503, "", nil)
	_, err = p.List(ctx)
	wantKind(t, err, provider.ErrTransient)
	w.emu.Fail("list", 403, "", nil)
	_, err = p.List(ctx)
	wantKind(t, err, provider.ErrForbidden)
	if got, err := p.List(ctx); err != nil || len(got) != 1 || got[0].ClientID != w.email {
		t.Fatalf("listed %+v, %v; want the one account of project app", got, err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"accounts":[{"email":"a@p.iam.gserviceaccount.com"}],"nextPageToken":"same"}`))
	}))
	t.Cleanup(srv.Close)
	loop, err := gcpkey.New(ctx, gcpkey.Options{Endpoint: srv.URL, TokenSource: staticToken{}, HTTPClient: srv.Client(), Timeout: 5 * time.Second, Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = loop.List(ctx)
	wantKind(t, err, provider.ErrMalformedResponse)
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func secretOf(s string) credential.Secret { return credential.NewSecret(s) }
