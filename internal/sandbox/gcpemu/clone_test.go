package gcpemu_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
)

// TestCloneIsIndependent: a clone starts with the original's accounts,
// keys and clock, and a change to either stays its own.
func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	emu, _ := serve(t, gcpemu.Options{Now: func() time.Time { return t0 }})
	const sa = "a@p.iam.gserviceaccount.com"
	id, file, err := emu.SeedKey(sa, emu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	emu.Advance(time.Hour)
	c := emu.Clone()
	if !c.Now().Equal(emu.Now()) || !c.Accepts(sa, string(file)) {
		t.Fatal("the clone's clock or keys differ from the original's")
	}
	c.Disable(sa, id)
	if !emu.Accepts(sa, string(file)) || c.Accepts(sa, string(file)) {
		t.Error("disabling a key on the clone is not the clone's own")
	}
	if _, _, err := c.SeedKey(sa, c.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, m := len(emu.Keys(sa)), len(c.Keys(sa)); n != 1 || m != 2 {
		t.Errorf("%d keys on the original, %d on the clone; want 1 and 2", n, m)
	}
}

// TestFaults: a delay outlasts the client's deadline, a create whose
// answer is lost is carried out, and an injected 429 answers with Google's
// error body.
func TestFaults(t *testing.T) {
	t.Parallel()
	emu, srv := serve(t, gcpemu.Options{})
	const sa = "a@p.iam.gserviceaccount.com"
	_, file, err := emu.SeedKey(sa, emu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := tokenFor(t, srv, file)
	if err != nil {
		t.Fatal(err)
	}
	keys := srv.URL + "/v1/projects/p/serviceAccounts/" + sa + "/keys"
	do := func(ctx context.Context, method string) (*http.Response, string, error) {
		req, _ := http.NewRequestWithContext(ctx, method, keys, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String(), nil
	}

	emu.Inject(gcpemu.Fault{Op: "list", Delay: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, _, err = do(ctx, "GET")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a delayed answer: %v, want the client's deadline", err)
	}

	emu.Inject(gcpemu.Fault{Op: "create", AfterHandling: true, Drop: true})
	if _, _, err := do(context.Background(), "POST"); err == nil {
		t.Error("a dropped connection gave an answer")
	}
	if n := len(emu.Keys(sa)); n != 2 {
		t.Errorf("the create whose answer was lost left %d keys, want 2", n)
	}

	emu.Inject(gcpemu.Fault{Op: "list", Status: 429, Times: 2})
	for i := range 2 {
		resp, body, err := do(context.Background(), "GET")
		if err != nil || resp.StatusCode != 429 || !strings.Contains(body, `"status":"RESOURCE_EXHAUSTED"`) {
			t.Errorf("list %d: %v %v %s", i, err, resp, body)
		}
	}
	if resp, _, err := do(context.Background(), "GET"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the faults: %v %v", err, resp)
	}
}
