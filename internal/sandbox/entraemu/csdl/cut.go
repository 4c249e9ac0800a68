package csdl

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Keep names an element of a schema to copy into a cut: an element of the
// schema (EntityType, ComplexType, Action, EntityContainer) by its Name,
// and, for an Action, by the type of its binding parameter as the source
// spells it. With Children empty the whole element is kept; otherwise its
// start and end tags and only the children named, each as "Element Name"
// (or "Annotation Term" for an annotation).
type Keep struct {
	Element  string
	Name     string
	Binding  string
	Children []string
	// Why says what credrotate uses it for; it goes into the cut's header.
	Why string
}

// Source names where a published document comes from and its licence
// (the whole text, which the cut's header carries).
type Source struct {
	Repo, Path, Commit string
	// License is the licence's text; LicenseFile names its copy beside
	// the cut.
	License, LicenseFile string
}

//go:embed testdata/LICENSE.msgraph-metadata
var msgraphLicense string

// GraphSource is the published Graph v1.0 metadata the vendored cut is
// taken from.
var GraphSource = Source{
	Repo:        "https://github.com/microsoftgraph/msgraph-metadata",
	Path:        "clean_v10_metadata/cleanMetadata.xml",
	Commit:      "f54f11b60956ea7b185ca0447b2b80805836ec7b",
	License:     msgraphLicense,
	LicenseFile: "testdata/LICENSE.msgraph-metadata",
}

// GraphKeep is what the vendored cut keeps of Graph v1.0's metadata: what
// credrotate's Entra ID provider and emulator send, read and address.
var GraphKeep = []Keep{
	{Element: "ComplexType", Name: "passwordCredential", Why: "the body addPassword takes and returns, the items of passwordCredentials"},
	{Element: "EntityType", Name: "application", Why: "the application read and listed (appId, displayName, passwordCredentials) and its appId alternate key",
		Children: []string{"Property appId", "Property displayName", "Property passwordCredentials", "Annotation Org.OData.Core.V1.AlternateKeys"}},
	{Element: "EntityType", Name: "directoryObject", Why: "application's and servicePrincipal's base type"},
	{Element: "EntityType", Name: "entity", Why: "directoryObject's base type (id)"},
	{Element: "EntityType", Name: "servicePrincipal", Why: "the management identity's service principal: its appId alternate key and the ownedObjects listed",
		Children: []string{"Property appId", "NavigationProperty ownedObjects", "Annotation Org.OData.Core.V1.AlternateKeys"}},
	{Element: "Action", Name: "addPassword", Binding: "graph.application", Why: "a new password"},
	{Element: "Action", Name: "removePassword", Binding: "graph.application", Why: "a password revoked"},
	{Element: "EntityContainer", Name: "GraphService", Why: "the entity sets addressed",
		Children: []string{"EntitySet applications", "EntitySet servicePrincipals"}},
}

// node is an element of the source with the byte offsets of its parts.
type node struct {
	name     string
	attrs    map[string]string
	start    int64 // '<' of the start tag
	startEnd int64 // just past the start tag
	endStart int64 // '<' of the end tag (startEnd when self-closing)
	end      int64 // just past the element
	children []*node
}

func (n *node) key() string {
	if n.name == "Annotation" {
		return n.name + " " + n.attrs["Term"]
	}
	return n.name + " " + n.attrs["Name"]
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// readTree reads the element tree of src with each element's offsets.
func readTree(src []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(src))
	var root *node
	var stack []*node
	for {
		before := dec.InputOffset()
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: map[string]string{}, start: before, startEnd: dec.InputOffset()}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("unbalanced </%s>", t.Name.Local)
			}
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n.endStart, n.end = before, dec.InputOffset()
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("no whole document")
	}
	return root, nil
}

// Cut copies out of a published CSDL document (src) the elements keep
// names, each byte for byte as the source has it, one to a line with its
// indentation, in the source's order, inside the source's own Edmx,
// DataServices and first Schema tags; an XML comment naming the source
// (with src's SHA-256) and what is kept heads it. An element named but
// missing is an error, so a change upstream is loud.
func Cut(src []byte, from Source, keep []Keep) ([]byte, error) {
	body := bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	root, err := readTree(body)
	if err != nil {
		return nil, fmt.Errorf("csdl: %w", err)
	}
	ds := root.child("DataServices")
	if root.name != "Edmx" || ds == nil || ds.child("Schema") == nil {
		return nil, fmt.Errorf("csdl: not an Edmx document with a schema")
	}
	schema := ds.child("Schema")
	line := func(from, to int64) ([]byte, error) {
		i := int64(bytes.LastIndexByte(body[:from], '\n') + 1)
		if len(bytes.TrimLeft(body[i:from], " \t")) != 0 {
			return nil, fmt.Errorf("csdl: the element at byte %d is not on a line of its own", from)
		}
		return append(append([]byte{}, body[i:to]...), '\n'), nil
	}
	var out bytes.Buffer
	out.WriteString(header(src, from, keep))
	out.Write(body[root.start:schema.startEnd])
	out.WriteByte('\n')
	found := make([]bool, len(keep))
	for _, c := range schema.children {
		for i, k := range keep {
			if c.name != k.Element || c.attrs["Name"] != k.Name {
				continue
			}
			if k.Binding != "" {
				if p := c.child("Parameter"); p == nil || p.attrs["Type"] != k.Binding {
					continue
				}
			}
			if found[i] {
				return nil, fmt.Errorf("csdl: %s %s is declared twice", k.Element, k.Name)
			}
			found[i] = true
			if err := emit(&out, c, k, line); err != nil {
				return nil, err
			}
		}
	}
	for i, k := range keep {
		if !found[i] {
			return nil, fmt.Errorf("csdl: %s %s %s is not in the source", k.Element, k.Name, k.Binding)
		}
	}
	for _, n := range []*node{schema, ds, root} {
		b, err := line(n.endStart, n.end)
		if err != nil {
			return nil, err
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func emit(out *bytes.Buffer, c *node, k Keep, line func(from, to int64) ([]byte, error)) error {
	if len(k.Children) == 0 {
		b, err := line(c.start, c.end)
		out.Write(b)
		return err
	}
	parts := [][2]int64{{c.start, c.startEnd}}
	for _, want := range k.Children {
		var hit *node
		for _, cc := range c.children {
			if cc.key() == want {
				if hit != nil {
					return fmt.Errorf("csdl: %s %s has two %s", k.Element, k.Name, want)
				}
				hit = cc
			}
		}
		if hit == nil {
			return fmt.Errorf("csdl: %s %s has no %s", k.Element, k.Name, want)
		}
		parts = append(parts, [2]int64{hit.start, hit.end})
	}
	// In the source's order.
	slices.SortFunc(parts[1:], func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	parts = append(parts, [2]int64{c.endStart, c.end})
	for _, p := range parts {
		b, err := line(p[0], p[1])
		if err != nil {
			return err
		}
		out.Write(b)
	}
	return nil
}

// header is the XML comment that opens a cut.
func header(src []byte, from Source, keep []Keep) string {
	sum := sha256.Sum256(src)
	var b strings.Builder
	b.WriteString("<!--\n")
	b.WriteString("  Code generated by internal/sandbox/entraemu/csdl/cmd/cutcsdl. DO NOT EDIT.\n\n")
	b.WriteString("  A cut of a published OData CSDL document: every element below is\n")
	b.WriteString("  copied byte for byte, each line as the source has it.\n\n")
	fmt.Fprintf(&b, "  source:  %s\n", from.Repo)
	fmt.Fprintf(&b, "  path:    %s\n", from.Path)
	fmt.Fprintf(&b, "  commit:  %s\n", from.Commit)
	fmt.Fprintf(&b, "  sha256:  %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "\n  The source's licence (also %s):\n\n", from.LicenseFile)
	for _, l := range strings.Split(strings.TrimSpace(from.License), "\n") {
		b.WriteString(strings.TrimRight("    "+l, " ") + "\n")
	}
	b.WriteString("\n")
	b.WriteString("  Kept, of the first schema (the source's other schemas are left out):\n")
	for _, k := range keep {
		what := k.Element + " " + k.Name
		if k.Binding != "" {
			what += " bound to " + k.Binding
		}
		if len(k.Children) == 0 {
			fmt.Fprintf(&b, "  - %s, whole: %s\n", what, k.Why)
		} else {
			fmt.Fprintf(&b, "  - %s, only %s: %s\n", what, strings.Join(k.Children, ", "), k.Why)
		}
	}
	b.WriteString("\n  Made again, from a copy of the source file, with\n")
	b.WriteString("    go run ./internal/sandbox/entraemu/csdl/cmd/cutcsdl -in cleanMetadata.xml \\\n")
	b.WriteString("      -out internal/sandbox/entraemu/csdl/testdata/graph-v1.0-application.xml\n")
	b.WriteString("  and checked against it by\n")
	b.WriteString("    CREDROTATE_GRAPH_CSDL=cleanMetadata.xml go test ./internal/sandbox/entraemu/csdl\n")
	b.WriteString("-->\n")
	return b.String()
}
