package oktaemu_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
)

// TestCloneIsIndependent: a clone starts with the original's apps, secrets
// and clock, and what happens to either afterwards stays its own.
func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{APIToken: "00token-0123456789"})
	first, err := e.SeedApp("0oa1", "seeded-value-0123456789", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.Advance(time.Hour)
	c := e.Clone()
	if !c.Now().Equal(e.Now()) || !c.Accepts("0oa1", "seeded-value-0123456789") {
		t.Fatalf("the clone's clock %s (want %s) or secrets differ", c.Now(), e.Now())
	}
	created := call(t, c, "POST", "/api/v1/apps/0oa1/credentials/secrets", tok, "{}")
	if created.status != 201 {
		t.Fatalf("create on the clone: %d %v", created.status, created.body)
	}
	if n := len(e.Secrets("0oa1")); n != 1 {
		t.Errorf("a create on the clone shows on the original: %d secrets", n)
	}
	if a := call(t, e, "POST", "/api/v1/apps/0oa1/credentials/secrets/"+first.ID+"/lifecycle/deactivate", tok, ""); a.status != 400 {
		t.Errorf("the original's only secret was deactivated: %d", a.status)
	}
	if a := call(t, c, "POST", "/api/v1/apps/0oa1/credentials/secrets/"+first.ID+"/lifecycle/deactivate", tok, ""); a.status != 200 {
		t.Fatalf("deactivating on the clone: %d %v", a.status, a.body)
	}
	if s := e.Secrets("0oa1"); s[0].Status != "ACTIVE" {
		t.Errorf("a deactivation on the clone shows on the original: %s", s[0].Status)
	}
	c.Advance(24 * time.Hour)
	if e.Now().Equal(c.Now()) {
		t.Error("the clone's clock moves the original's")
	}
}

// TestFaults: a delay outlasts a client's deadline, a change whose answer
// is lost is carried out, a dropped connection reaches the client as an
// error, and a body answers as it is.
func TestFaults(t *testing.T) {
	t.Parallel()
	e := oktaemu.New(oktaemu.Options{APIToken: "00token-0123456789"})
	if _, err := e.SeedApp("0oa1", "seeded-value-0123456789", time.Time{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	do := func(ctx context.Context, method, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	const secrets = "/api/v1/apps/0oa1/credentials/secrets"

	e.Inject(oktaemu.Fault{Op: "list", Delay: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := do(ctx, "GET", secrets)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a delayed answer: %v, want the client's deadline", err)
	}

	e.Inject(oktaemu.Fault{Op: "create", AfterHandling: true, Drop: true})
	if _, err := do(context.Background(), "POST", secrets); err == nil {
		t.Error("a dropped connection gave an answer")
	}
	if n := len(e.Secrets("0oa1")); n != 2 {
		t.Errorf("the create whose answer was lost left %d secrets, want 2", n)
	}

	e.Inject(oktaemu.Fault{Op: "list", Status: 200, Body: `[{"id":`})
	e.Inject(oktaemu.Fault{Op: "list", Status: 503, Times: 2})
	for i, want := range []int{200, 503, 503, 200} {
		resp, err := do(context.Background(), "GET", secrets)
		if err != nil || resp.StatusCode != want {
			t.Errorf("list %d: %v %v, want %d", i, err, resp, want)
		}
	}
	e.Inject(oktaemu.Fault{Op: "list", Status: 500})
	e.ClearFaults()
	if resp, err := do(context.Background(), "GET", secrets); err != nil || resp.StatusCode != 200 {
		t.Errorf("a cleared fault still answers: %v %v", err, resp)
	}
}
