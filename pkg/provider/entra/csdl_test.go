package entra_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	query           url.Values
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
		r.seen = append(r.seen, exchange{method: req.Method, path: req.URL.EscapedPath(), query: req.URL.Query(), reqBody: body, answer: answer, status: resp.StatusCode})
		r.mu.Unlock()
	}
	return resp, nil
}

// checkExchange holds one Graph exchange to Graph v1.0's metadata: its
// path must resolve (entity set, key or alternate key, navigation
// property, cast, bound action), its query name only what the target
// declares, its request body be the action's parameters (or none for a
// GET), and a success answer be of the target's type, or empty for an
// action returning nothing. It returns what it addressed (the action's
// name, "get" or "list") and the violations.
func checkExchange(schema *csdl.Schema, x exchange) (string, []string) {
	path, ok := strings.CutPrefix(x.path, "/v1.0/")
	if !ok {
		return "", []string{x.path + ": not under Graph's v1.0 root"}
	}
	tgt, err := schema.Resolve(path)
	if err != nil {
		return "", []string{x.path + ": " + err.Error()}
	}
	what := "get"
	switch {
	case tgt.Action != nil:
		what = tgt.Action.Name
	case tgt.Collection:
		what = "list"
	}
	var vs []string
	add := func(part string, found []string) {
		for _, v := range found {
			vs = append(vs, fmt.Sprintf("%s %s: %s", what, part, v))
		}
	}
	add("query", schema.CheckQuery(tgt, x.query))
	add("request", schema.CheckRequest(tgt, x.method, x.reqBody))
	if x.status/100 == 2 {
		add("answer", schema.CheckResponse(tgt, x.answer))
	}
	return what, vs
}

// TestBodiesMatchGraphMetadata checks every path, query and body the
// client sends to Graph and every answer the emulator gives it against
// Graph v1.0's metadata (the vendored cut of Microsoft's
// cleanMetadata.xml): 0 violations.
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
	for _, x := range rec.seen {
		what, vs := checkExchange(schema, x)
		for _, v := range vs {
			violations++
			t.Errorf("%s %s: %s", x.method, x.path, v)
		}
		checked[what]++
		if what == "removePassword" && (x.status != http.StatusNoContent || len(x.answer) != 0) {
			t.Errorf("removePassword answered %d %q, want 204 and no body", x.status, x.answer)
		}
	}
	if checked["addPassword"] != 1 || checked["removePassword"] != 1 || checked["get"] < 3 || len(checked) != 3 {
		t.Errorf("checked %v, want every operation", checked)
	}
	t.Logf("%d Graph exchanges checked against the metadata (%v), %d violations", len(rec.seen), checked, violations)
}

// TestGraphCheckBites: the check finds an answer of the wrong type from
// the emulator (a keyId that is no GUID, an endDateTime that is a
// number), a request body mistyped, and a path Graph does not declare.
func TestGraphCheckBites(t *testing.T) {
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
	c, a := w.seed(t, "csdl-bite-value", 30*day)
	w.emu.Inject(entraemu.Fault{Op: "get", Status: 200, Body: `{"id":"` + a.ObjectID + `","appId":"` + a.AppID + `","displayName":"d","passwordCredentials":[{"keyId":"key-1","endDateTime":1767225600}]}`})
	_, _ = w.prov.Describe(ctx, c)
	info, err := w.prov.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := info.Active()
	if _, err := w.prov.Create(ctx, c, provider.CreateRequest{IdempotencyKey: provider.IdempotencyKey(c.ClientID, old.SecretID)}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) < 3 {
		t.Fatalf("%d exchanges", len(rec.seen))
	}
	_, vs := checkExchange(schema, rec.seen[0])
	for _, want := range []string{"$.passwordCredentials[0].keyId: want Edm.Guid", "$.passwordCredentials[0].endDateTime: want Edm.DateTimeOffset"} {
		if !strings.Contains(strings.Join(vs, "\n"), want) {
			t.Errorf("the faulted answer: violations %q, want %q", vs, want)
		}
	}
	var add exchange
	for _, x := range rec.seen {
		if strings.HasSuffix(x.path, "/addPassword") {
			add = x
		}
	}
	if _, vs := checkExchange(schema, add); len(vs) != 0 {
		t.Fatalf("the real addPassword: %q", vs)
	}
	mistyped := add
	mistyped.reqBody = []byte(strings.Replace(string(add.reqBody), `"displayName":"`, `"displayName":["`, 1))
	mistyped.reqBody = []byte(strings.Replace(string(mistyped.reqBody), `","endDateTime"`, `"],"endDateTime"`, 1))
	if _, vs := checkExchange(schema, mistyped); !strings.Contains(strings.Join(vs, "\n"), "want Edm.String") {
		t.Errorf("a mistyped request %s: violations %q", mistyped.reqBody, vs)
	}
	misnamed := add
	misnamed.path = strings.Replace(add.path, "/addPassword", "/addPasswords", 1)
	if _, vs := checkExchange(schema, misnamed); !strings.Contains(strings.Join(vs, "\n"), `bound action "addPasswords"`) {
		t.Errorf("an undeclared path %s: violations %q", misnamed.path, vs)
	}
}
