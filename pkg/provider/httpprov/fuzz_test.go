package httpprov

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var fuzzProgram = sync.OnceValues(func() (*program, error) {
	d, err := Load(filepath.Join("..", "..", "..", "examples", "providers", "equifax-rest.yaml"))
	if err != nil {
		return nil, err
	}
	return compile(d, nil, nil)
})

// FuzzExtract feeds answers to the Equifax description's describe and
// create readers and its error reader: they end in a value or an error,
// never a panic, and never read past the answer's caps.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		`{"clientId":"c1","renewalEligibleAt":"2030-01-01T00:00:00Z","policy":{"maxSecrets":2},"secrets":[{"secretId":"s1","status":"ACTIVE","createdAt":"2029-01-01T00:00:00Z","expiresAt":"2030-06-01T00:00:00Z"}]}`,
		`{"clientId":"c1","secret":{"clientSecret":"v","secretId":"s2","status":"ACTIVE","createdAt":"2029-01-01T00:00:00Z","expiresAt":"2030-06-01T00:00:00Z"},"previousSecret":{"secretId":"s1","status":"RETIRING","expiresAt":"2030-06-01T00:00:00Z","graceEndsAt":"2029-01-08T00:00:00Z"}}`,
		`{"efxErrorCode":"409.02","description":"not yet","additionalErrorDetails":{"eligibleAt":"2030-01-01T00:00:00Z","retryAfterSeconds":1e308}}`,
		`{"clientId":"c1","secrets":[{"secretId":1e999,"status":null}]}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"clientId":"c1","secrets":{"a":{"secretId":"x","status":"ACTIVE","expiresAt":"2030-06-01T00:00:00Z"}}}`,
		`"\u0000"`, `{"a":"\"[[[["}`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	prog, err := fuzzProgram()
	if err != nil {
		f.Fatal(err)
	}
	p := &Provider{prog: prog}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxBody {
			return
		}
		doc, err := decodeAnswer(b)
		if err != nil {
			return
		}
		info, err := p.readClientInfo(prog.steps["describe"], doc, "c1")
		if err == nil && len(info.Secrets) > maxNodes {
			t.Fatalf("%d secrets read", len(info.Secrets))
		}
		cs := prog.steps["create"]
		_, _ = p.readSecret(cs.q.secret, doc, true)
		_, _ = p.readSecret(cs.q.previous, doc, false)
		e := prog.steps["describe"].err
		for _, q := range []*query{e.code, e.message} {
			if s, _, _ := q.str(doc); len(clean(s, 64)) > 64 {
				t.Fatal("clean did not bound a string")
			}
		}
		_, _, _ = e.eligibleAt.time(doc)
		_, _, _ = e.retryAfter.int(doc)
	})
}

// FuzzRender compiles a template and renders it over a step's data: it
// parses and renders or fails, never panics, and never renders more than
// its cap.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		`{{.settings.baseURL}}/clients/{{pathescape .client.id}}/secrets`,
		`Basic {{b64enc (printf "%s:%s" (urlquery .client.id) (urlquery .client.secret))}}`,
		`{{json (dict "gracePeriodSeconds" .request.gracePeriodSeconds "force" .request.force)}}`,
		`{{json .}}`, `{{index . "client" "secret"}}`, `{{.nope}}`, `{{dict 1 2}}`, `{{dict "a"}}`,
		`{{range 1000000000}}{{end}}`, `{{define "x"}}y{{end}}{{template "x"}}`,
		`{{printf "%0999999d" 1}}`, `{{if .client}}{{.client.secret}}{{end}}`, `{{with .client}}{{.secret}}{{end}}`,
	} {
		f.Add(s, "value-Zq1")
	}
	prog, err := fuzzProgram()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, value string) {
		if len(text) > 4096 || len(value) > 4096 {
			return
		}
		// printf widths would allocate before the cap sees a byte.
		if strings.Contains(text, "printf") && strings.ContainsAny(text, "0123456789*") {
			return
		}
		tm, err := compileTemplate("fuzz", text)
		if err != nil {
			return
		}
		data := placeholderData(prog.desc, "create", map[string]string{"v": value}, []string{"api"})
		out, err := tm.render(data)
		if err == nil && len(out) > maxRendered {
			t.Fatalf("rendered %d bytes", len(out))
		}
		if err != nil && strings.Contains(err.Error(), markClientSecret) {
			t.Fatalf("a render error quotes a secret: %v", err)
		}
		if err == nil && strings.Contains(out, markClientSecret) && !tm.secret {
			t.Fatalf("%q renders the client secret but is not marked as referring to a secret", text)
		}
	})
}
