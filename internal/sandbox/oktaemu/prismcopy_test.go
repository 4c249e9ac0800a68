package oktaemu_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// prismCopy writes a copy of the OpenAPI description at src into dir that
// means the same but that Prism checks in full, and returns its path. Two
// things in Okta's descriptions keep Prism from checking what they say:
//
//   - A $ref with siblings (Okta writes `$ref: ...` next to `readOnly: true`
//     and `nullable: false`). OpenAPI 3.0 says the siblings SHALL be
//     ignored; Prism's validator (Ajv) instead refuses a nullable without a
//     type, and then validates no answer of that operation at all, and says
//     nothing. The copy drops the siblings.
//   - Security schemes of `type: http, scheme: postBody` (client_secret_post,
//     client_secret_jwt and private_key_jwt on the token endpoints: the
//     credentials are form fields). postBody is no HTTP authentication
//     scheme, so Prism refuses every request that uses one. The copy lets
//     such requests through as if anonymous ({}); their form fields are
//     still held to the request body's schema.
func prismCopy(src, dir string) (string, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("parsing %s: %w", src, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return "", fmt.Errorf("%s is not a YAML document", src)
	}
	root := doc.Content[0]
	dropRefSiblings(root)
	postBody := map[string]bool{}
	schemes := value(value(root, "components"), "securitySchemes")
	for i := 0; schemes != nil && i+1 < len(schemes.Content); i += 2 {
		s := schemes.Content[i+1]
		if t, sc := value(s, "type"), value(s, "scheme"); t != nil && t.Value == "http" && sc != nil && strings.EqualFold(sc.Value, "postBody") {
			postBody[schemes.Content[i].Value] = true
		}
	}
	paths := value(root, "paths")
	for i := 0; paths != nil && i+1 < len(paths.Content); i += 2 {
		item := paths.Content[i+1]
		for j := 0; j+1 < len(item.Content); j += 2 {
			sec := value(item.Content[j+1], "security")
			if sec == nil || sec.Kind != yaml.SequenceNode {
				continue
			}
			kept := sec.Content[:0:0]
			anonymous := false
			for _, req := range sec.Content {
				if len(req.Content) == 2 && postBody[req.Content[0].Value] {
					anonymous = true
					continue
				}
				kept = append(kept, req)
			}
			if anonymous {
				kept = append(kept, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
			}
			sec.Content = kept
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "okta-openapi-for-prism.yaml")
	return path, os.WriteFile(path, b.Bytes(), 0o600)
}

// dropRefSiblings removes every key next to a $ref (a string) under n.
func dropRefSiblings(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		if ref := value(n, "$ref"); ref != nil && ref.Kind == yaml.ScalarNode {
			n.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "$ref"}, ref}
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			dropRefSiblings(n.Content[i])
		}
	case yaml.SequenceNode:
		for _, x := range n.Content {
			dropRefSiblings(x)
		}
	}
}

// value is mapping m's value for key, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
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

func TestPrismCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.yaml")
	in := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /token:
    post:
      security:
        - basic: []
        - jwt: []
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  _links:
                    $ref: '#/components/schemas/L'
                    readOnly: true
                    nullable: false
components:
  schemas:
    L: {type: object}
  securitySchemes:
    basic: {type: http, scheme: basic}
    jwt: {type: http, scheme: postBody}
`
	if err := os.WriteFile(src, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := prismCopy(src, dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	var got struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string `yaml:"security"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]map[string]any `yaml:"properties"`
					} `yaml:"schema"`
				} `yaml:"content"`
			} `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	op := got.Paths["/token"]["post"]
	if s := fmt.Sprint(op.Security); s != "[map[basic:[]] map[]]" {
		t.Errorf("security = %s, want basic or anonymous", s)
	}
	if l := op.Responses["200"].Content["application/json"].Schema.Properties["_links"]; len(l) != 1 || l["$ref"] != "#/components/schemas/L" {
		t.Errorf("_links = %v, want the $ref alone", l)
	}
}
