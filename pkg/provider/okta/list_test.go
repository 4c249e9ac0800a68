package okta_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/okta"
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

// TestList: every OpenID Connect app of the org, over three pages of the
// apps list, each with its secrets mapped as Describe maps them; SAML apps
// left out; never more than ListConcurrency secret reads at once.
func TestList(t *testing.T) {
	t.Parallel()
	fl := &inflight{next: http.DefaultTransport}
	o := newOrg(t, oktaemu.Options{Latency: time.Millisecond}, func(opts *okta.Options) {
		opts.HTTPClient = &http.Client{Transport: fl}
		opts.ListConcurrency = 4
	})
	const oidc, saml = 430, 15
	for i := 0; i < oidc; i++ {
		id := fmt.Sprintf("0oa%05d", i)
		if _, err := o.emu.SeedApp(id, "", o.emu.Now().Add(-time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := o.emu.SetLabel(id, fmt.Sprintf("service %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.emu.AddSecret("0oa00007", "", "INACTIVE"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < saml; i++ {
		if err := o.emu.SeedSAMLApp(fmt.Sprintf("0oasaml%02d", i), "portal"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.client.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != oidc {
		t.Fatalf("listed %d apps, want %d", len(got), oidc)
	}
	byID := map[string]provider.Listed{}
	for _, l := range got {
		byID[l.ClientID] = l
	}
	l := byID["0oa00007"]
	if l.Name != "service 7" || len(l.Secrets) != 2 || l.Secrets[0].Status != provider.StatusInactive || l.Secrets[1].Status != provider.StatusActive {
		t.Fatalf("listed %+v, want the new INACTIVE secret and the seeded ACTIVE one", l)
	}
	seeded := o.emu.Secrets("0oa00007")[0]
	for _, s := range l.Secrets {
		if s.SecretID == seeded.ID && !s.ExpiresAt.Equal(seeded.Created.Add(90*24*time.Hour)) {
			t.Errorf("expiry %s, want created + maxAge (%s)", s.ExpiresAt, seeded.Created.Add(90*24*time.Hour))
		}
	}
	calls := o.emu.Calls()
	if pages := (oidc + saml + okta.AppsPageLimit - 1) / okta.AppsPageLimit; calls["apps"] != pages || calls["list"] != oidc {
		t.Errorf("calls %v, want %d pages and %d secret lists", calls, pages, oidc)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.most > 4 || fl.most < 2 {
		t.Errorf("at most %d requests at once, want 2 to 4", fl.most)
	}
}

// TestListFailures: an error on any page or any app fails the list with
// the typed error; a next link that leaves the org or repeats a page is
// not followed; an app that went away between the calls is left out.
func TestListFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("rate limited page", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, nil)
		o.seed(t, "0oaone")
		o.emu.FailNext("apps", 429, 1)
		_, err := o.client.List(ctx)
		kind(t, err, provider.ErrRateLimited)
	})
	t.Run("failing secrets", func(t *testing.T) {
		t.Parallel()
		o := newOrg(t, oktaemu.Options{}, nil)
		o.seed(t, "0oaone")
		o.emu.FailNext("list", 503, 1)
		_, err := o.client.List(ctx)
		kind(t, err, provider.ErrTransient)
	})
	var elsewhereHits int
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		elsewhereHits++
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	for name, link := range map[string]func(self string) string{
		"next link elsewhere":            func(string) string { return "<" + elsewhere.URL + "/api/v1/apps?after=x>; rel=\"next\"" },
		"next link elsewhere on the org": func(self string) string { return "<" + self + "/api/v1/users?after=x>; rel=\"next\"" },
		"next link repeating":            func(self string) string { return "<" + self + "/api/v1/apps?after=same>; rel=\"next\"" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var self string
			c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/apps" {
					_, _ = w.Write([]byte(`[]`))
					return
				}
				w.Header().Set("Link", link(self))
				_, _ = w.Write([]byte(`[{"id":"0oax","label":"x","status":"ACTIVE","signOnMode":"OPENID_CONNECT"}]`))
			}, func(o *okta.Options) { self = o.OrgURL })
			_, err := c.List(ctx)
			kind(t, err, provider.ErrMalformedResponse)
		})
	}
	t.Run("app gone", func(t *testing.T) {
		t.Parallel()
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/apps":
				_, _ = w.Write([]byte(`[{"id":"0oagone","signOnMode":"OPENID_CONNECT"},{"id":"0oahere","signOnMode":"OPENID_CONNECT"}]`))
			case "/api/v1/apps/0oagone/credentials/secrets":
				w.WriteHeader(404)
				_, _ = w.Write([]byte(`{"errorCode":"E0000007","errorSummary":"Not found"}`))
			default:
				_, _ = w.Write([]byte(`[{"id":"ocs1","status":"ACTIVE","created":"2026-01-02T03:04:05.000Z"}]`))
			}
		}, nil)
		got, err := c.List(ctx)
		if err != nil || len(got) != 1 || got[0].ClientID != "0oahere" || len(got[0].Secrets) != 1 {
			t.Fatalf("listed %+v, %v", got, err)
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if elsewhereHits != 0 {
			t.Errorf("the other origin got %d requests", elsewhereHits)
		}
	})
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{`<https://a.okta.com/api/v1/apps?limit=200>; rel="self"`, `<https://a.okta.com/api/v1/apps?after=0oa2&limit=200>; rel="next"`}, "https://a.okta.com/api/v1/apps?after=0oa2&limit=200"},
		{[]string{`<https://a/x?limit=2>; rel="self", <https://a/x?after=b>; rel="next"`}, "https://a/x?after=b"},
		{[]string{`<https://a/x?after=c>;rel=next`}, "https://a/x?after=c"},
		{[]string{`<https://a/x?after=d>; title="n, m"; rel="prev next"`}, "https://a/x?after=d"},
		{[]string{`<https://a/x>; rel="self"`}, ""},
		{[]string{`<https://a/x; rel="next"`}, ""},
		{nil, ""},
	} {
		got, ok := okta.NextLink(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NextLink(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
