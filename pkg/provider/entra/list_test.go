package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

func managed(o *entra.Options) {
	o.Management = entra.Management{ClientID: "mgmt-app", ClientSecret: func(context.Context) (credential.Secret, error) {
		return credential.NewSecret("management-secret-value"), nil
	}}
}

// TestList: every application the management application owns, page by
// page, each page's applications matching Graph's metadata; none it does
// not own.
func TestList(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	w := newWorld(t, entraemu.Options{}, func(o *entra.Options) {
		managed(o)
		rec.next = o.HTTPClient.Transport
		hc := *o.HTTPClient
		hc.Transport = rec
		o.HTTPClient = &hc
	})
	if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: "mgmt-app", Password: "management-secret-value"}); err != nil {
		t.Fatal(err)
	}
	const owned = 205
	for i := 0; i < owned; i++ {
		if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: fmt.Sprintf("app-%04d", i), DisplayName: fmt.Sprintf("api %d", i), Owners: []string{"mgmt-app"}, Password: fmt.Sprintf("v-%d", i), PasswordName: "portal"}); err != nil {
			t.Fatal(err)
		}
	}
	w.seed(t, "not-owned-value", 30*day)
	got, err := w.prov.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != owned {
		t.Fatalf("listed %d applications, want %d", len(got), owned)
	}
	if got[7].ClientID != "app-0007" || got[7].Name != "api 7" || len(got[7].Secrets) != 1 || got[7].Secrets[0].Status != provider.StatusActive || !got[7].Secrets[0].Foreign {
		t.Errorf("listed %+v", got[7])
	}
	schema, err := csdl.GraphV1()
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	pages := 0
	for _, x := range rec.seen {
		what, vs := checkExchange(schema, x)
		if what != "list" {
			continue
		}
		pages++
		for _, v := range vs {
			t.Errorf("page %d (%s): %s", pages, x.path, v)
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
}

// TestListNextLinkElsewhere: a next link to another origin is not
// followed, so the token goes nowhere else.
func TestListNextLinkElsewhere(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	w := newWorld(t, entraemu.Options{}, managed)
	if _, err := w.emu.SeedApp(entraemu.SeedSpec{AppID: "mgmt-app", Password: "management-secret-value"}); err != nil {
		t.Fatal(err)
	}
	w.emu.Inject(entraemu.Fault{Op: "get", Status: 200, Body: `{"value":[],"@odata.nextLink":"` + elsewhere.URL + `/v1.0/next"}`})
	_, err := w.prov.List(context.Background())
	wantKind(t, err, provider.ErrMalformedResponse)
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("the other origin got %d requests", hits)
	}
	// Self-managed: nothing to list.
	self := newWorld(t, entraemu.Options{}, nil)
	_, err = self.prov.List(context.Background())
	wantKind(t, err, provider.ErrBadRequest)
}
