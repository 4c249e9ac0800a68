package csdl_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
	"github.com/credrotate/credrotate/internal/testenv"
)

// typingsFile is Microsoft's TypeScript typings of Graph v1.0, generated
// from the published metadata (npm @microsoft/microsoft-graph-types, MIT,
// pinned in test/contract's lockfile).
var typingsFile = filepath.Join("..", "..", "..", "..", "test", "contract", "node_modules", "@microsoft", "microsoft-graph-types", "microsoft-graph.d.ts")

// tsInterface is one `export interface` of the typings: what it extends
// and its properties' TypeScript types.
type tsInterface struct {
	extends string
	props   map[string]string
}

var (
	tsInterfaceRE = regexp.MustCompile(`^export interface (\w+)(?: extends (\w+))? \{$`)
	tsPropRE      = regexp.MustCompile(`^    (\w+)\?: (.+);$`)
)

// parseTypings reads the typings' interfaces.
func parseTypings(b []byte) map[string]*tsInterface {
	out := map[string]*tsInterface{}
	var cur *tsInterface
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := tsInterfaceRE.FindStringSubmatch(line); m != nil {
			cur = &tsInterface{extends: m[2], props: map[string]string{}}
			out[m[1]] = cur
			continue
		}
		if line == "}" {
			cur = nil
			continue
		}
		if m := tsPropRE.FindStringSubmatch(line); m != nil && cur != nil {
			cur.props[m[1]] = m[2]
		}
	}
	return out
}

// tsName is the typings' name of a Graph type: microsoft.graph.passwordCredential
// is PasswordCredential.
func tsName(full string) string {
	short := full[strings.LastIndexByte(full, '.')+1:]
	return strings.ToUpper(short[:1]) + short[1:]
}

// tsType is the TypeScript type the typings give an EDM type.
func tsType(edm string, nullable bool) string {
	elem, coll := strings.CutPrefix(edm, "Collection(")
	elem = strings.TrimSuffix(elem, ")")
	var t string
	switch elem {
	case "Edm.String", "Edm.Guid", "Edm.DateTimeOffset", "Edm.Binary", "Edm.Date", "Edm.Duration", "Edm.TimeOfDay":
		t = "string"
	case "Edm.Boolean":
		t = "boolean"
	case "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Single", "Edm.Decimal", "Edm.Byte":
		t = "number"
	default:
		t = tsName(elem)
	}
	if coll {
		t += "[]"
	}
	if nullable {
		t = "NullableOption<" + t + ">"
	}
	return t
}

// compareWithTypings lists where ours differs from the typings: a type,
// base type, property, navigation property or a property's type or
// nullability the typings do not declare alike.
func compareWithTypings(ours *csdl.Schema, ts map[string]*tsInterface) (problems []string, compared int) {
	for full, typ := range ours.Types {
		iface := ts[tsName(full)]
		if iface == nil {
			problems = append(problems, full+": no interface "+tsName(full)+" in the typings")
			continue
		}
		base := ""
		if typ.BaseType != "" {
			base = tsName(typ.BaseType)
		}
		if iface.extends != base {
			problems = append(problems, full+": derives from "+typ.BaseType+" here, the typings' "+tsName(full)+" extends "+iface.extends)
		}
		// Inherited properties are declared on the base interfaces.
		props := map[string]string{}
		for i := iface; i != nil; i = ts[i.extends] {
			for n, t := range i.props {
				if _, ok := props[n]; !ok {
					props[n] = t
				}
			}
			if i.extends == "" {
				break
			}
		}
		for name, p := range typ.Props {
			got, ok := props[name]
			if want := tsType(p.Type, p.Nullable); !ok || got != want {
				problems = append(problems, full+"."+name+": "+p.Type+" (nullable "+boolText(p.Nullable)+", "+want+") here, "+orMissing(got)+" in the typings")
			}
			compared++
		}
		for name, n := range typ.Nav {
			// The typings declare a navigation property as a nullable
			// property of its type.
			got, ok := props[name]
			if want := tsType(n.Type, true); !ok || got != want {
				problems = append(problems, full+" navigation "+name+": "+want+" here, "+orMissing(got)+" in the typings")
			}
			compared++
		}
	}
	sort.Strings(problems)
	return problems, compared
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func orMissing(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

func typings(t *testing.T) map[string]*tsInterface {
	t.Helper()
	b, err := os.ReadFile(typingsFile)
	if err != nil {
		testenv.Require(t, "the npm package @microsoft/microsoft-graph-types ("+typingsFile+")", "npm ci --prefix test/contract (make test does it)")
	}
	ts := parseTypings(b)
	if len(ts) < 1000 {
		t.Fatalf("%d interfaces read from %s: not Graph's typings", len(ts), typingsFile)
	}
	return ts
}

// TestAgainstMicrosoftsTypings holds every type, property and navigation
// property the vendored cut declares, with its type and nullability, to
// Microsoft's own TypeScript typings of Graph v1.0, which are generated
// from the published metadata and, unlike the metadata itself, are on a
// registry this suite installs from: so the cut is checked against
// Microsoft on every run, not only where CREDROTATE_GRAPH_CSDL names a
// copy of the metadata. (The typings carry no actions: addPassword and
// removePassword are held to the published metadata by
// TestAgainstPublishedMetadata.)
func TestAgainstMicrosoftsTypings(t *testing.T) {
	t.Parallel()
	problems, compared := compareWithTypings(graph(t), typings(t))
	for _, p := range problems {
		t.Error(p)
	}
	if compared < 15 {
		t.Errorf("only %d declarations compared", compared)
	}
	t.Logf("%d declarations compared with Microsoft's Graph v1.0 typings", compared)
}

// TestTypingsCheckBites: a property renamed, retyped or made nullable in
// the cut is caught.
func TestTypingsCheckBites(t *testing.T) {
	t.Parallel()
	ts := typings(t)
	for _, tc := range []struct {
		name string
		edit func(*csdl.Type)
	}{
		{"renamed", func(pc *csdl.Type) { pc.Props["keyID"] = pc.Props["keyId"]; delete(pc.Props, "keyId") }},
		{"retyped", func(pc *csdl.Type) { p := pc.Props["endDateTime"]; p.Type = "Edm.Int64"; pc.Props["endDateTime"] = p }},
		{"nullability", func(pc *csdl.Type) { p := pc.Props["hint"]; p.Nullable = false; pc.Props["hint"] = p }},
	} {
		s := *graph(t) // the schema is shared: change a copy
		pc := *s.Types["microsoft.graph.passwordCredential"]
		pc.Props = cloneProps(pc.Props)
		tc.edit(&pc)
		s.Types = map[string]*csdl.Type{"microsoft.graph.passwordCredential": &pc}
		if problems, _ := compareWithTypings(&s, ts); len(problems) == 0 {
			t.Errorf("%s: the typings check passed a changed passwordCredential", tc.name)
		}
	}
}

func cloneProps(m map[string]csdl.Property) map[string]csdl.Property {
	out := make(map[string]csdl.Property, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
