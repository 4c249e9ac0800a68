package localhub

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzGraphQL sends arbitrary documents and variables to the GraphQL
// endpoint: it must always answer with JSON, never panic.
func FuzzGraphQL(f *testing.F) {
	s, err := New(Options{RepoDir: filepath.Join(f.TempDir(), "r.git"), Init: true, RateLimit: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct{ q, vars string }{
		{`{ viewer { login } }`, `{}`},
		{`query($o:String!,$n:String!,$x:Int!){repository(owner:$o,name:$n){pullRequest(number:$x){id state}}}`, `{"o":"acme","n":"gitops","x":1}`},
		{`mutation($id:ID!){enablePullRequestAutoMerge(input:{pullRequestId:$id,mergeMethod:SQUASH}){pullRequest{number}}}`, `{"id":"PR_bG9jYWxodWI6YWNtZS9naXRvcHMjMQ"}`},
		{`{ node(id:"R_x") { ... on Repository { name } } }`, `null`},
		{`{ a: rateLimit { cost } b: __typename }`, `{"x":[1,2]}`},
	} {
		f.Add(seed.q, seed.vars)
	}
	f.Fuzz(func(t *testing.T, query, vars string) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": json.RawMessage(validJSONOr(vars, "{}"))})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body)))
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("not JSON: %q", rec.Body)
		}
	})
}

func validJSONOr(s, fallback string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	return fallback
}

// FuzzNodeID checks that node ids round-trip and that any string parses
// without panicking.
func FuzzNodeID(f *testing.F) {
	f.Add("PR", "acme/gitops#1")
	f.Add("R", "")
	f.Fuzz(func(t *testing.T, kind, key string) {
		if strings.Contains(kind, "_") {
			return
		}
		k, v, ok := parseNodeID(nodeID(kind, key))
		if !ok || k != kind || v != key {
			t.Fatalf("round trip of %q %q: %q %q %v", kind, key, k, v, ok)
		}
		_, _, _ = parseNodeID(key)
	})
}

// FuzzGitPath checks the smart-HTTP path parser on arbitrary paths.
func FuzzGitPath(f *testing.F) {
	for _, p := range []string{"/acme/gitops.git/info/refs", "/acme/gitops/git-upload-pack", "/acme/gitops.git", "//", "/a/b.git/../../etc"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		owner, repo, rest, ok := gitPathParts(p)
		if ok && (strings.Contains(owner, "/") || strings.Contains(repo, "/") || rest == "") {
			t.Fatalf("%q -> %q %q %q", p, owner, repo, rest)
		}
	})
}
