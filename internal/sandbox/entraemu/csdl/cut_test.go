package csdl_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
)

const source = "\ufeff" + `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="n" Alias="a" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <ComplexType Name="c">
        <Property Name="x"   Type="Edm.String" />
      </ComplexType>
      <EntityType Name="big" OpenType="true">
        <Key>
          <PropertyRef Name="id" />
        </Key>
        <Property Name="id" Type="Edm.String" Nullable="false" />
        <Property Name="unused" Type="Edm.Int32" />
        <NavigationProperty Name="ns" Type="Collection(a.big)">
          <Annotation Term="T.one" />
        </NavigationProperty>
        <Property Name="kept" Type="a.c" />
      </EntityType>
      <Action Name="go" IsBound="true">
        <Parameter Name="bindingParameter" Type="a.c" />
      </Action>
      <Action Name="go" IsBound="true">
        <Parameter Name="bindingParameter" Type="a.big" />
        <Parameter Name="p" Type="Edm.String" />
      </Action>
    </Schema>
    <Schema Namespace="other" />
  </edmx:DataServices>
</edmx:Edmx>`

// TestCut: the cut copies what it keeps byte for byte (odd spacing
// included), in the source's order, and refuses to leave out silently
// what it was told to keep.
func TestCut(t *testing.T) {
	t.Parallel()
	from := csdl.Source{Repo: "r", Path: "p", Commit: "c", License: "L", LicenseFile: "f"}
	keep := []csdl.Keep{
		{Element: "Action", Name: "go", Binding: "a.big"},
		{Element: "EntityType", Name: "big", Children: []string{"Property kept", "NavigationProperty ns", "Property id"}},
		{Element: "ComplexType", Name: "c"},
	}
	got, err := csdl.Cut([]byte(source), from, keep)
	if err != nil {
		t.Fatal(err)
	}
	body := string(got[strings.Index(string(got), "-->\n")+4:])
	want := `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="n" Alias="a" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <ComplexType Name="c">
        <Property Name="x"   Type="Edm.String" />
      </ComplexType>
      <EntityType Name="big" OpenType="true">
        <Property Name="id" Type="Edm.String" Nullable="false" />
        <NavigationProperty Name="ns" Type="Collection(a.big)">
          <Annotation Term="T.one" />
        </NavigationProperty>
        <Property Name="kept" Type="a.c" />
      </EntityType>
      <Action Name="go" IsBound="true">
        <Parameter Name="bindingParameter" Type="a.big" />
        <Parameter Name="p" Type="Edm.String" />
      </Action>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`
	if body != want {
		t.Errorf("cut:\n%s\nwant:\n%s", body, want)
	}
	for _, h := range []string{"commit:  c\n", "sha256:  ", "    L\n", "EntityType big, only Property kept, NavigationProperty ns, Property id"} {
		if !strings.Contains(string(got), h) {
			t.Errorf("header has no %q:\n%s", h, got)
		}
	}
	if _, err := csdl.Parse(bytes.NewReader(got)); err != nil {
		t.Errorf("the cut does not parse: %v", err)
	}

	for name, k := range map[string]csdl.Keep{
		"missing type":    {Element: "EntityType", Name: "nope"},
		"missing binding": {Element: "Action", Name: "go", Binding: "a.nope"},
		"missing child":   {Element: "EntityType", Name: "big", Children: []string{"Property nope"}},
	} {
		if _, err := csdl.Cut([]byte(source), from, []csdl.Keep{k}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := csdl.Cut([]byte(strings.Replace(source, "\n      <ComplexType", " <ComplexType", 1)), from, keep); err == nil {
		t.Error("an element sharing its line: no error")
	}
}

// TestVendoredIsACut: with no copy of the published file, the vendored
// cut still holds exactly what GraphKeep names (cut again from itself it
// is unchanged but for its source's sha256), its header names
// GraphSource, and it carries the licence vendored beside it.
func TestVendoredIsACut(t *testing.T) {
	t.Parallel()
	vendored, err := os.ReadFile("testdata/graph-v1.0-application.xml")
	if err != nil {
		t.Fatal(err)
	}
	again, err := csdl.Cut(vendored, csdl.GraphSource, csdl.GraphKeep)
	if err != nil {
		t.Fatal(err)
	}
	sha := regexp.MustCompile(`(?m)^  sha256:  [0-9a-f]{64}$`)
	if a, b := sha.ReplaceAll(again, nil), sha.ReplaceAll(vendored, nil); !bytes.Equal(a, b) {
		t.Errorf("the vendored cut holds other than GraphKeep names, or another header:\n%s", vendored)
	}
	license, err := os.ReadFile("testdata/LICENSE.msgraph-metadata")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(license), "MIT License") || string(license) != csdl.GraphSource.License {
		t.Error("the licence vendored is not the one the header carries")
	}
	for _, l := range strings.Split(strings.TrimSpace(string(license)), "\n") {
		if !bytes.Contains(vendored, []byte(strings.TrimRight("    "+l, " ")+"\n")) {
			t.Errorf("the header lacks the licence's line %q", l)
		}
	}
}

func FuzzCut(f *testing.F) {
	f.Add(source)
	f.Add(`<edmx:Edmx><edmx:DataServices><Schema><EntityType Name="big"/></Schema></edmx:DataServices></edmx:Edmx>`)
	keep := []csdl.Keep{{Element: "EntityType", Name: "big", Children: []string{"Property id"}}, {Element: "ComplexType", Name: "c"}}
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := csdl.Cut([]byte(doc), csdl.Source{}, keep)
		if err == nil {
			if _, err := csdl.Cut(out, csdl.Source{}, keep); err != nil {
				t.Errorf("a cut does not cut again: %v", err)
			}
		}
	})
}
