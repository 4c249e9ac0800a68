package entra_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

// exchange is one Graph request and its answer, as sent and received.
type exchange struct {
	method, path    string
	reqBody, answer []byte
	status          int
}

// recorder is a transport that keeps every Graph exchange.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if strings.HasPrefix(req.URL.Path, "/v1.0/") {
		r.mu.Lock()
		r.seen = append(r.seen, exchange{method: req.Method, path: req.URL.Path, reqBody: body, answer: answer, status: resp.StatusCode})
		r.mu.Unlock()
	}
	return resp, nil
}

// TestBodiesMatchGraphMetadata checks every body the client sends to Graph
// and every answer the emulator gives it against Graph v1.0's metadata
// (the application and passwordCredential types, the addPassword and
// removePassword actions): 0 violations.
func TestBodiesMatchGraphMetadata(t *testing.T) {
	t.Parallel()
	schema, err := csdl.GraphV1()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	w := newWorld(t, entraemu.Options{Propagation: -1}, func(o *entra.Options) {
		rec.next = o.HTTPClient.Transport
		hc := *o.HTTPClient
		hc.Transport = rec
		o.HTTPClient = &hc
	})
	ctx := context.Background()
	c, _ := w.seed(t, "csdl-secret-value", 30*day)
	info, err := w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := info.Active()
	created, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(c.ClientID, old.SecretID)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.prov.Verify(ctx, c, created.ClientSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := w.prov.Describe(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := w.prov.Revoke(ctx, c, old.SecretID); err != nil {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	checked := map[string]int{}
	violations := 0
	report := func(what string, vs []string) {
		for _, v := range vs {
			violations++
			t.Errorf("%s: %s", what, v)
		}
	}
	for _, x := range rec.seen {
		switch {
		case x.method == http.MethodPost && strings.HasSuffix(x.path, "/addPassword"):
			report("addPassword request", schema.CheckAction("addPassword", "graph.application", x.reqBody))
			report("addPassword answer", schema.CheckType(schema.Return("addPassword", "graph.application"), x.answer))
			checked["addPassword"]++
		case x.method == http.MethodPost && strings.HasSuffix(x.path, "/removePassword"):
			report("removePassword request", schema.CheckAction("removePassword", "graph.application", x.reqBody))
			if x.status != http.StatusNoContent || len(x.answer) != 0 {
				t.Errorf("removePassword answered %d %q, want 204 and no body", x.status, x.answer)
			}
			checked["removePassword"]++
		case x.method == http.MethodGet:
			report("application answer", schema.CheckType("graph.application", x.answer))
			checked["get"]++
		default:
			t.Errorf("unexpected Graph request %s %s", x.method, x.path)
		}
	}
	if checked["addPassword"] != 1 || checked["removePassword"] != 1 || checked["get"] < 3 {
		t.Errorf("checked %v, want every operation", checked)
	}
	t.Logf("%d Graph exchanges checked against the metadata, %d violations", len(rec.seen), violations)
}
