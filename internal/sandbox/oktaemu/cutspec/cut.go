package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Source is one of Okta's published OpenAPI descriptions and the
// operations taken from it.
type Source struct {
	// Name says which description this is in errors ("management").
	Name string
	// Path is the file's path in okta/okta-management-openapi-spec.
	Path string
	// Operations are the operations kept, each "METHOD /path".
	Operations []string
}

// Cut returns one OpenAPI document holding the operations each source
// names, the path-level parameters of their paths and every component
// they reference, transitively (schemas, parameters, responses, request
// bodies, headers, examples, and the security schemes their security
// requirements name), with the tags they carry. The first source gives
// openapi, info, servers and externalDocs. Nothing kept is changed: every
// operation and component is the source's node as it stands, in the
// source's order. A component two sources both define must be the same
// in each; a reference to nothing is an error.
func Cut(sources []Source, docs [][]byte) (*yaml.Node, error) {
	if len(sources) == 0 || len(sources) != len(docs) {
		return nil, fmt.Errorf("%d sources, %d documents", len(sources), len(docs))
	}
	out := mapping()
	paths := mapping()
	comps := map[string]*yaml.Node{} // kind -> mapping
	var kinds []string
	var tags []*yaml.Node
	tagSeen := map[string]bool{}
	for i, src := range sources {
		root, err := parse(docs[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		if i == 0 {
			for _, k := range []string{"openapi", "info", "servers", "externalDocs"} {
				if v := get(root, k); v != nil {
					add(out, k, v)
				}
			}
		}
		srcPaths := get(root, "paths")
		srcComps := get(root, "components")
		c := &collector{src: src.Name, comps: srcComps, kept: map[string]map[string]bool{}, refs: map[string][]string{}}
		usedTags := map[string]bool{}
		var keptPaths []*yaml.Node
		want := map[string]map[string]bool{} // path -> methods
		for _, opName := range src.Operations {
			method, path, ok := strings.Cut(opName, " ")
			if !ok {
				return nil, fmt.Errorf("%s: operation %q is not \"METHOD /path\"", src.Name, opName)
			}
			method = strings.ToLower(method)
			if get(get(srcPaths, path), method) == nil || !isMethod(method) {
				return nil, fmt.Errorf("%s has no operation %s", src.Name, opName)
			}
			if get(paths, path) != nil {
				return nil, fmt.Errorf("%s: path %s is in an earlier description too", src.Name, path)
			}
			if want[path] == nil {
				want[path] = map[string]bool{}
			}
			want[path][method] = true
		}
		// The source's order of paths and of the keys in each, so that
		// the document reads like the source.
		for j := 0; j+1 < len(srcPaths.Content); j += 2 {
			path, item := srcPaths.Content[j].Value, srcPaths.Content[j+1]
			if want[path] == nil {
				continue
			}
			kept := mapping()
			for k := 0; k+1 < len(item.Content); k += 2 {
				key, v := item.Content[k].Value, item.Content[k+1]
				if isMethod(key) && !want[path][key] {
					continue
				}
				kept.Content = append(kept.Content, item.Content[k], v)
				if !isMethod(key) {
					continue
				}
				for _, t := range seq(get(v, "tags")) {
					usedTags[t.Value] = true
				}
				for _, req := range seq(get(v, "security")) {
					for r := 0; r < len(req.Content); r += 2 {
						name := req.Content[r].Value
						if get(get(srcComps, "securitySchemes"), name) == nil {
							return nil, fmt.Errorf("%s: %s %s names no security scheme %s", src.Name, key, path, name)
						}
						c.keep("securitySchemes", name)
					}
				}
			}
			if err := c.walk(kept); err != nil {
				return nil, err
			}
			keptPaths = append(keptPaths, kept)
			paths.Content = append(paths.Content, srcPaths.Content[j], kept)
		}
		for _, t := range seq(get(root, "tags")) {
			name := get(t, "name")
			if name != nil && usedTags[name.Value] && !tagSeen[name.Value] {
				tagSeen[name.Value] = true
				tags = append(tags, t)
			}
		}
		renamed, err := c.rename(comps, keptPaths)
		if err != nil {
			return nil, err
		}
		// Each kind in the source's order, each name in the source's order.
		for j := 0; srcComps != nil && j+1 < len(srcComps.Content); j += 2 {
			kind := srcComps.Content[j].Value
			names := c.kept[kind]
			if len(names) == 0 {
				continue
			}
			dst := comps[kind]
			if dst == nil {
				dst = mapping()
				comps[kind] = dst
				kinds = append(kinds, kind)
			}
			section := srcComps.Content[j+1]
			for k := 0; k+1 < len(section.Content); k += 2 {
				key, v := section.Content[k], section.Content[k+1]
				if !names[key.Value] {
					continue
				}
				if to, ok := renamed[kind+"/"+key.Value]; ok {
					key = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: to}
				} else if get(dst, key.Value) != nil {
					continue // an earlier description's, the same
				}
				dst.Content = append(dst.Content, key, v)
			}
		}
	}
	if len(tags) > 0 {
		add(out, "tags", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: tags})
	}
	add(out, "paths", paths)
	cm := mapping()
	for _, k := range kinds {
		add(cm, k, comps[k])
	}
	add(out, "components", cm)
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{out}}, nil
}

// Encode writes doc as YAML, indented by two spaces, after header (each
// line of it a comment).
func Encode(header string, doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# " + l + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// collector finds the components a source's kept nodes reference.
type collector struct {
	src   string
	comps *yaml.Node
	kept  map[string]map[string]bool
	// refs are the components each kept one ("kind/name") references
	// directly; from is the one being walked.
	refs map[string][]string
	from string
}

// keep marks components/kind/name kept and reports whether it was new.
func (c *collector) keep(kind, name string) bool {
	if c.kept[kind] == nil {
		c.kept[kind] = map[string]bool{}
	}
	if c.kept[kind][name] {
		return false
	}
	c.kept[kind][name] = true
	return true
}

// walk follows every $ref and discriminator mapping under n.
func (c *collector) walk(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch {
			case k == "$ref" && v.Kind == yaml.ScalarNode:
				if err := c.ref(v.Value); err != nil {
					return err
				}
			case k == "discriminator" && v.Kind == yaml.MappingNode:
				for _, m := range pairs(get(v, "mapping")) {
					ref := m.Value
					if !strings.HasPrefix(ref, "#") {
						ref = "#/components/schemas/" + ref
					}
					if err := c.ref(ref); err != nil {
						return err
					}
				}
			}
			if err := c.walk(v); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, x := range n.Content {
			if err := c.walk(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// ref keeps the component ref points into, and what it references.
func (c *collector) ref(ref string) error {
	rest, ok := strings.CutPrefix(ref, "#/components/")
	if !ok {
		return fmt.Errorf("%s: reference %q is not to a component", c.src, ref)
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return fmt.Errorf("%s: reference %q names no component", c.src, ref)
	}
	kind, name := unescape(parts[0]), unescape(parts[1])
	v := get(get(c.comps, kind), name)
	if v == nil {
		return fmt.Errorf("%s: reference %q is to nothing", c.src, ref)
	}
	if c.from != "" {
		c.refs[c.from] = append(c.refs[c.from], kind+"/"+name)
	}
	if !c.keep(kind, name) {
		return nil
	}
	from := c.from
	c.from = kind + "/" + name
	defer func() { c.from = from }()
	return c.walk(v)
}

// rename gives every kept component that an earlier description (comps)
// defines differently, or that references one so renamed, a name of its
// own (Name_source), and points this description's references (in its kept
// paths and components) at it. It returns the new names by "kind/name".
func (c *collector) rename(comps map[string]*yaml.Node, paths []*yaml.Node) (map[string]string, error) {
	renamed := map[string]string{}
	for kind, names := range c.kept {
		for name := range names {
			if prev := get(comps[kind], name); prev != nil && !sameNode(prev, get(get(c.comps, kind), name)) {
				renamed[kind+"/"+name] = ""
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for kind, names := range c.kept {
			for name := range names {
				k := kind + "/" + name
				if _, done := renamed[k]; done || get(comps[kind], name) == nil {
					continue
				}
				for _, r := range c.refs[k] {
					if _, ok := renamed[r]; ok {
						renamed[k], changed = "", true
						break
					}
				}
			}
		}
	}
	if len(renamed) == 0 {
		return nil, nil
	}
	for k := range renamed {
		kind, name, _ := strings.Cut(k, "/")
		to := name + "_" + c.src
		if get(comps[kind], to) != nil || get(get(c.comps, kind), to) != nil {
			return nil, fmt.Errorf("%s: cannot rename components/%s/%s to %s: the name is taken", c.src, kind, name, to)
		}
		renamed[k] = to
	}
	nodes := append([]*yaml.Node(nil), paths...)
	for kind, names := range c.kept {
		for name := range names {
			nodes = append(nodes, get(get(c.comps, kind), name))
		}
	}
	for _, n := range nodes {
		rewriteRefs(n, renamed)
	}
	return renamed, nil
}

// rewriteRefs points every $ref and discriminator mapping under n that
// names a renamed component ("kind/name") at its new name.
func rewriteRefs(n *yaml.Node, renamed map[string]string) {
	redo := func(v *yaml.Node, bare bool) {
		ref := v.Value
		if bare && !strings.HasPrefix(ref, "#") {
			if to, ok := renamed["schemas/"+ref]; ok {
				v.Value = to
			}
			return
		}
		rest, ok := strings.CutPrefix(ref, "#/components/")
		if !ok {
			return
		}
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 2 {
			return
		}
		if to, ok := renamed[unescape(parts[0])+"/"+unescape(parts[1])]; ok {
			parts[1] = strings.ReplaceAll(strings.ReplaceAll(to, "~", "~0"), "/", "~1")
			v.Value = "#/components/" + strings.Join(parts, "/")
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch {
			case k == "$ref" && v.Kind == yaml.ScalarNode:
				redo(v, false)
			case k == "discriminator" && v.Kind == yaml.MappingNode:
				for _, m := range pairs(get(v, "mapping")) {
					redo(m, true)
				}
			}
			rewriteRefs(v, renamed)
		}
	case yaml.SequenceNode:
		for _, x := range n.Content {
			rewriteRefs(x, renamed)
		}
	}
}

// unescape undoes JSON Pointer's escapes (RFC 6901).
func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func parse(doc []byte) (*yaml.Node, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	root := n.Content[0]
	if v := get(root, "openapi"); v == nil || !strings.HasPrefix(v.Value, "3.") {
		return nil, fmt.Errorf("not an OpenAPI 3 description")
	}
	return root, nil
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// get is m's value for key, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// seq is a sequence's items, or nothing.
func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// pairs is a mapping's values, or nothing.
func pairs(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var vs []*yaml.Node
	for i := 1; i < len(n.Content); i += 2 {
		vs = append(vs, n.Content[i])
	}
	return vs
}

// sameNode reports whether a and b hold the same YAML value.
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode && a.ShortTag() != b.ShortTag() {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func isMethod(k string) bool { return slices.Contains(methods, k) }
