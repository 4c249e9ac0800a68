package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Helpers over yaml.v3 node trees. Working on nodes rather than structs is
// what keeps comments, unknown fields and key order of a file a person
// edited.

// strNode is a string value. Values that a YAML 1.1 reader (kubectl's
// sigs.k8s.io/yaml, older tools) could take for something else — "on",
// "yes", "1:20", a timestamp, a number — are double-quoted, so an
// annotation stays a string everywhere.
func strNode(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if v != "" && !isLetter(v[0]) || isYAML11Keyword(v) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// keyNode is a mapping key.
func keyNode(k string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isYAML11Keyword reports the words YAML 1.1 reads as booleans or null.
func isYAML11Keyword(v string) bool {
	switch strings.ToLower(v) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~":
		return true
	}
	return false
}

func mapNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
}

// mapGet returns the value of key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
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

// mapGetString returns the scalar value of key, or "".
func mapGetString(m *yaml.Node, key string) string {
	v := mapGet(m, key)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return ""
	}
	return v.Value
}

// mapSet replaces the value of key in place (keeping the key's comments) or
// appends the pair.
func mapSet(m *yaml.Node, key string, val *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			if old.Kind == yaml.ScalarNode && val.Kind == yaml.ScalarNode {
				val.HeadComment, val.LineComment, val.FootComment = old.HeadComment, old.LineComment, old.FootComment
			}
			m.Content[i+1] = val
			return
		}
	}
	m.Content = append(m.Content, keyNode(key), val)
}

// mapSetString sets key to a string scalar.
func mapSetString(m *yaml.Node, key, v string) { mapSet(m, key, strNode(v)) }

// mapDelete removes key from m.
func mapDelete(m *yaml.Node, key string) {
	if m == nil {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// ensureMap returns the mapping under key, creating it (or replacing an
// empty or null value) when needed.
func ensureMap(m *yaml.Node, key string) (*yaml.Node, error) {
	v := mapGet(m, key)
	switch {
	case v == nil:
		n := mapNode()
		m.Content = append(m.Content, keyNode(key), n)
		return n, nil
	case v.Kind == yaml.MappingNode:
		return v, nil
	case v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == ""):
		n := mapNode()
		mapSet(m, key, n)
		return n, nil
	default:
		return nil, fmt.Errorf("%s is not a mapping", key)
	}
}

// stringMap reads a mapping of scalars (annotations, labels) into a map,
// ignoring anything that is not a scalar pair.
func stringMap(m *yaml.Node) map[string]string {
	out := map[string]string{}
	if m == nil || m.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode {
			out[k.Value] = v.Value
		}
	}
	return out
}

// mapKeys lists the scalar keys of a mapping in file order.
func mapKeys(m *yaml.Node) []string {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	keys := make([]string, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	return keys
}

// decodeDocuments parses every YAML document of data. Empty documents (a
// file of comments, a stray "---") come back as nil entries' absence.
func decodeDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" && n.Content[0].Value == "" {
			continue
		}
		docs = append(docs, &n)
	}
}

// encodeDocument renders one document with two-space indentation and
// sequences flush with their key, as kubectl and kustomize write them.
func encodeDocument(doc *yaml.Node) ([]byte, error) {
	if b, ok := fastEncode(doc); ok {
		return b, nil
	}
	return encodeYAML(doc)
}

// encodeYAML renders doc with the yaml.v3 encoder.
func encodeYAML(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fastEncode renders the plain shapes credrotate itself writes — block
// mappings of simple string scalars, no comments, sequences or anchors —
// byte for byte as encodeYAML would, without the general encoder's cost
// (a long ciphertext scalar is copied, not scanned character by character).
// Anything else reports false and goes through yaml.v3; the tests check both
// renderings agree.
func fastEncode(doc *yaml.Node) ([]byte, bool) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || hasDecoration(doc) {
		return nil, false
	}
	buf := make([]byte, 0, 2048)
	buf, ok := appendMapping(buf, doc.Content[0], 0)
	return buf, ok
}

func hasDecoration(n *yaml.Node) bool {
	return n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" || n.Anchor != "" || n.Alias != nil
}

func appendMapping(buf []byte, m *yaml.Node, indent int) ([]byte, bool) {
	if m.Kind != yaml.MappingNode || len(m.Content) == 0 || m.Style != 0 || hasDecoration(m) ||
		(m.Tag != "" && m.Tag != "!!map") {
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Style != 0 || hasDecoration(k) || hasDecoration(v) || !plainSafe(k.Value) {
			return nil, false
		}
		for range indent {
			buf = append(buf, ' ')
		}
		buf = append(buf, k.Value...)
		buf = append(buf, ':')
		switch v.Kind {
		case yaml.MappingNode:
			buf = append(buf, '\n')
			var ok bool
			if buf, ok = appendMapping(buf, v, indent+2); !ok {
				return nil, false
			}
		case yaml.ScalarNode:
			if v.Tag != "!!str" {
				return nil, false
			}
			switch {
			case v.Style == 0 && plainSafe(v.Value):
				buf = append(buf, ' ')
				buf = append(buf, v.Value...)
			case v.Style == yaml.DoubleQuotedStyle && quoteSafe(v.Value):
				buf = append(buf, ' ', '"')
				buf = append(buf, v.Value...)
				buf = append(buf, '"')
			default:
				return nil, false
			}
			buf = append(buf, '\n')
		default:
			return nil, false
		}
	}
	return buf, true
}

// plainSafe: a string yaml.v3 writes as a plain scalar that every YAML
// reader takes for that string.
func plainSafe(v string) bool {
	if v == "" || !isLetter(v[0]) || v[len(v)-1] == ':' || isYAML11Keyword(v) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isLetter(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune("._/+=:@-", rune(c)) {
			return false
		}
	}
	return true
}

// quoteSafe: a string yaml.v3 writes double-quoted without escapes or line
// breaks.
func quoteSafe(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
