package csdl_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
)

func graph(t *testing.T) *csdl.Schema {
	t.Helper()
	s, err := csdl.GraphV1()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVendoredMetadata(t *testing.T) {
	t.Parallel()
	s := graph(t)
	app := s.Types["microsoft.graph.application"]
	if app == nil || !app.Entity {
		t.Fatal("no application entity type")
	}
	for name, typ := range map[string]string{"id": "Edm.String", "appId": "Edm.String", "displayName": "Edm.String", "passwordCredentials": "Collection(microsoft.graph.passwordCredential)"} {
		if got := app.Props[name].Type; got != typ {
			t.Errorf("application.%s: %q, want %q", name, got, typ)
		}
	}
	if got := s.Return("addPassword", "graph.application"); got != "microsoft.graph.passwordCredential" {
		t.Errorf("addPassword returns %q", got)
	}
	if p := s.Actions["removePassword"]["microsoft.graph.application"].Params["keyId"]; p.Type != "Edm.Guid" || p.Nullable {
		t.Errorf("removePassword keyId: %+v", p)
	}
}

// TestCheckerRejects: the checker finds each kind of mistake.
func TestCheckerRejects(t *testing.T) {
	t.Parallel()
	s := graph(t)
	cases := []struct {
		name, action, typ, body, want string
	}{
		{"good add", "addPassword", "", `{"passwordCredential":{"displayName":"credrotate k","endDateTime":"2027-01-02T03:04:05Z"}}`, ""},
		{"good remove", "removePassword", "", `{"keyId":"8e1c7f0a-4b1d-4a55-9f3c-2d5e6f7a8b9c"}`, ""},
		{"misspelt property", "addPassword", "", `{"passwordCredential":{"displayname":"x"}}`, `has no property "displayname"`},
		{"unknown parameter", "addPassword", "", `{"passwordCredential":{},"lifetime":"P90D"}`, `has no parameter "lifetime"`},
		{"date not a date", "addPassword", "", `{"passwordCredential":{"endDateTime":"next year"}}`, "want Edm.DateTimeOffset"},
		{"date a number", "addPassword", "", `{"passwordCredential":{"endDateTime":1767225600}}`, "want Edm.DateTimeOffset"},
		{"guid not a guid", "removePassword", "", `{"keyId":"key-1"}`, "want Edm.Guid"},
		{"guid missing", "removePassword", "", `{}`, `parameter "keyId" is required`},
		{"guid null", "removePassword", "", `{"keyId":null}`, "not nullable"},
		{"binary not base64", "", "graph.passwordCredential", `{"customKeyIdentifier":"***"}`, "want Edm.Binary"},
		{"string a number", "", "graph.application", `{"id":"x","appId":42}`, "want Edm.String"},
		{"collection an object", "", "graph.application", `{"id":"x","passwordCredentials":{}}`, "want an array"},
		{"null where not nullable", "", "graph.application", `{"id":null}`, "not nullable"},
		{"annotations allowed", "", "graph.application", `{"@odata.context":"x","id":"x"}`, ""},
		{"not JSON", "", "graph.application", `{`, "not JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			if tc.action != "" {
				got = s.CheckAction(tc.action, "graph.application", []byte(tc.body))
			} else {
				got = s.CheckType(tc.typ, []byte(tc.body))
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("violations %q, want none", got)
			case tc.want != "" && (len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tc.want)):
				t.Errorf("violations %q, want one with %q", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="n" Alias="a"><EntityType Name="t" BaseType="a.t"><Property Name="p" Type="Edm.String"/></EntityType></Schema></edmx:DataServices></edmx:Edmx>`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := csdl.Parse(strings.NewReader(doc))
		if err == nil {
			_ = s.CheckType("a.t", []byte(`{"p":"x"}`))
		}
	})
}

// TestAgainstPublishedMetadata compares the vendored part with Graph's
// published v1.0 metadata (cleanMetadata.xml), when
// CREDROTATE_GRAPH_CSDL names a copy: every type, property and action
// parameter declared here is declared there alike.
func TestAgainstPublishedMetadata(t *testing.T) {
	t.Parallel()
	path := os.Getenv("CREDROTATE_GRAPH_CSDL")
	if path == "" {
		t.Skip("CREDROTATE_GRAPH_CSDL names no copy of Graph's published v1.0 metadata")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pub, err := csdl.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	ours := graph(t)
	for name, typ := range ours.Types {
		pt := pub.Types[name]
		if pt == nil {
			t.Errorf("%s is not in the published metadata", name)
			continue
		}
		for pn, p := range typ.Props {
			if pp, ok := pt.Props[pn]; !ok || pp != p {
				t.Errorf("%s.%s: ours %+v, published %+v", name, pn, p, pp)
			}
		}
	}
	for name, byBinding := range ours.Actions {
		for binding, a := range byBinding {
			pa := pub.Actions[name][binding]
			if pa == nil {
				t.Errorf("action %s on %s is not in the published metadata", name, binding)
				continue
			}
			if !reflect.DeepEqual(a, pa) {
				t.Errorf("action %s on %s: ours %+v, published %+v", name, binding, a, pa)
			}
		}
	}
}
