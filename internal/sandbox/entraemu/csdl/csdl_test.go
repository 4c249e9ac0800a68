package csdl_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"regexp"
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

// TestEveryKeptElementParses: each element GraphKeep names, and each of
// its kept children, is in the schema parsed from the vendored cut.
func TestEveryKeptElementParses(t *testing.T) {
	t.Parallel()
	s := graph(t)
	n := 0
	for _, k := range csdl.GraphKeep {
		name := s.Namespace + "." + k.Name
		switch k.Element {
		case "EntityType", "ComplexType":
			typ := s.Types[name]
			if typ == nil || typ.Entity != (k.Element == "EntityType") {
				t.Errorf("%s %s: parsed %+v", k.Element, k.Name, typ)
				continue
			}
			for _, c := range k.Children {
				kind, child, _ := strings.Cut(c, " ")
				var ok bool
				switch kind {
				case "Property":
					_, ok = typ.Props[child]
				case "NavigationProperty":
					_, ok = typ.Nav[child]
				case "Annotation":
					ok = child == "Org.OData.Core.V1.AlternateKeys" && typ.AltKeys["appId"] == "appId"
				}
				if !ok {
					t.Errorf("%s %s: %s not parsed", k.Element, k.Name, c)
				}
				n++
			}
		case "Action":
			if s.Actions[k.Name][s.Full(k.Binding)] == nil {
				t.Errorf("action %s bound to %s not parsed", k.Name, k.Binding)
			}
		case "EntityContainer":
			for _, c := range k.Children {
				set := strings.TrimPrefix(c, "EntitySet ")
				if s.Sets[set] == "" || s.Types[s.Sets[set]] == nil {
					t.Errorf("entity set %s not parsed (of %q)", set, s.Sets[set])
				}
				n++
			}
		default:
			t.Errorf("GraphKeep names a %s, which the test does not know", k.Element)
		}
		n++
	}
	t.Logf("%d kept elements and children parsed", n)
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

// published reads the copy of Graph's published v1.0 metadata
// (clean_v10_metadata/cleanMetadata.xml of microsoftgraph/msgraph-metadata)
// that CREDROTATE_GRAPH_CSDL names, or skips.
func published(t *testing.T) []byte {
	t.Helper()
	path := os.Getenv("CREDROTATE_GRAPH_CSDL")
	if path == "" {
		t.Skip("CREDROTATE_GRAPH_CSDL names no copy of Graph's published v1.0 metadata")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCutIsMicrosofts: the vendored cut is what cmd/cutcsdl makes of the
// published file it names by SHA-256, byte for byte.
func TestCutIsMicrosofts(t *testing.T) {
	t.Parallel()
	src := published(t)
	vendored, err := os.ReadFile("testdata/graph-v1.0-application.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^  sha256:  ([0-9a-f]{64})$`).FindSubmatch(vendored)
	if m == nil {
		t.Fatal("the vendored cut names no sha256 of its source")
	}
	sum := sha256.Sum256(src)
	if got := hex.EncodeToString(sum[:]); got != string(m[1]) {
		t.Skipf("CREDROTATE_GRAPH_CSDL is another version (sha256 %s) than the cut's source (%s); TestAgainstPublishedMetadata compares the types", got, m[1])
	}
	cut, err := csdl.Cut(src, csdl.GraphSource, csdl.GraphKeep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cut, vendored) {
		t.Fatalf("the vendored cut is not what cutcsdl makes of the published file (%d bytes made, %d vendored); run cutcsdl again", len(cut), len(vendored))
	}
	t.Logf("%d bytes of the %d-byte published file (sha256 %s) vendored, byte for byte", len(cut), len(src), m[1])
}

// TestAgainstPublishedMetadata compares what the vendored cut declares
// with Graph's published v1.0 metadata, when CREDROTATE_GRAPH_CSDL names
// a copy of any version: every type, property, navigation property, key,
// action and entity set declared here is declared there alike.
func TestAgainstPublishedMetadata(t *testing.T) {
	t.Parallel()
	pub, err := csdl.Parse(bytes.NewReader(published(t)))
	if err != nil {
		t.Fatal(err)
	}
	ours := graph(t)
	compared := 0
	for name, typ := range ours.Types {
		pt := pub.Types[name]
		if pt == nil {
			t.Errorf("%s is not in the published metadata", name)
			continue
		}
		if typ.BaseType != pt.BaseType || typ.Entity != pt.Entity || !reflect.DeepEqual(typ.Key, pt.Key) {
			t.Errorf("%s: ours derives from %q (entity %v, key %v), published from %q (entity %v, key %v)", name, typ.BaseType, typ.Entity, typ.Key, pt.BaseType, pt.Entity, pt.Key)
		}
		for pn, p := range typ.Props {
			if pp, ok := pt.Props[pn]; !ok || pp != p {
				t.Errorf("%s.%s: ours %+v, published %+v", name, pn, p, pp)
			}
			compared++
		}
		for pn, p := range typ.Nav {
			if pp, ok := pt.Nav[pn]; !ok || !reflect.DeepEqual(pp, p) {
				t.Errorf("%s navigation %s: ours %+v, published %+v", name, pn, p, pp)
			}
			compared++
		}
		for alias, p := range typ.AltKeys {
			if pt.AltKeys[alias] != p {
				t.Errorf("%s alternate key %s: ours %q, published %q", name, alias, p, pt.AltKeys[alias])
			}
			compared++
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
			compared++
		}
	}
	for name, typ := range ours.Sets {
		if pub.Sets[name] != typ {
			t.Errorf("entity set %s: ours of %s, published of %q", name, typ, pub.Sets[name])
		}
		compared++
	}
	t.Logf("%d declarations compared with the published metadata (%d types, %d entity sets there)", compared, len(pub.Types), len(pub.Sets))
}
