package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

const management = `openapi: 3.0.3
info: {title: management, version: "1"}
servers: [{url: "https://{yourOktaDomain}", variables: {yourOktaDomain: {default: subdomain.okta.com}}}]
tags:
  - {name: Secrets, description: the secrets}
  - {name: Unused}
paths:
  /secrets/{id}:
    parameters:
      - $ref: '#/components/parameters/id'
    get:
      tags: [Secrets]
      security: [{apiToken: []}]
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Secret'}
              examples:
                one: {$ref: '#/components/examples/one'}
        '429': {$ref: '#/components/responses/TooMany'}
    delete:
      responses:
        '204': {description: gone}
  /unused:
    get:
      responses:
        '200': {$ref: '#/components/responses/Unused'}
components:
  examples:
    one: {value: {id: ocs1}}
  parameters:
    id: {name: id, in: path, required: true, schema: {type: string}}
  responses:
    TooMany:
      description: Too Many Requests
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Unused: {description: unused}
  schemas:
    Secret:
      type: object
      properties:
        id: {type: string}
        kind: {$ref: '#/components/schemas/Kind'}
      discriminator:
        propertyName: kind
        mapping:
          a: '#/components/schemas/KindA'
          b: KindB
    Kind: {type: string, enum: [a, b]}
    KindA: {type: object}
    KindB: {type: object}
    Error:
      type: object
      properties:
        errorCode: {type: string, description: management's}
    Unused: {type: object}
  securitySchemes:
    apiToken: {type: apiKey, in: header, name: Authorization}
    oauth2: {type: http, scheme: bearer}
`

const oauth = `openapi: 3.0.3
info: {title: oauth, version: "1"}
tags:
  - {name: Secrets, description: oauth's own}
  - {name: Token}
paths:
  /token:
    post:
      tags: [Token, Secrets]
      security: [{basic: []}, {apiToken: []}]
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Token'}
        '429': {$ref: '#/components/responses/TooMany'}
components:
  responses:
    TooMany:
      description: Too Many Requests
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Token:
      type: object
      properties:
        kind: {$ref: '#/components/schemas/Kind'}
    Kind: {type: string, enum: [a, b]}
    Error:
      type: object
      properties:
        errorCode: {type: string, description: oauth's}
  securitySchemes:
    apiToken: {type: apiKey, in: header, name: Authorization}
    basic: {type: http, scheme: basic}
`

var testSources = []Source{
	{Name: "management", Operations: []string{"GET /secrets/{id}"}},
	{Name: "oauth", Operations: []string{"POST /token"}},
}

func cutDoc(t *testing.T, sources []Source, docs ...string) map[string]any {
	t.Helper()
	bs := make([][]byte, len(docs))
	for i, d := range docs {
		bs[i] = []byte(d)
	}
	n, err := Cut(sources, bs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode("a header", n)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("# a header\nopenapi: 3.0.3\n")) {
		t.Errorf("the cut opens with %q", b[:min(len(b), 40)])
	}
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(b)
	if err != nil {
		t.Fatalf("the cut does not load: %v\n%s", err, b)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the cut is not valid: %v\n%s", err, b)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func at(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

func TestCutKeepsWhatIsReferenced(t *testing.T) {
	m := cutDoc(t, testSources, management, oauth)
	for _, c := range []struct {
		what string
		got  any
		want []string
	}{
		{"paths", m["paths"], []string{"/secrets/{id}", "/token"}},
		{"the operations of /secrets/{id}", at(m, "paths", "/secrets/{id}"), []string{"get", "parameters"}},
		{"schemas", at(m, "components", "schemas"), []string{"Error", "Error_oauth", "Kind", "KindA", "KindB", "Secret", "Token"}},
		{"responses", at(m, "components", "responses"), []string{"TooMany", "TooMany_oauth"}},
		{"parameters", at(m, "components", "parameters"), []string{"id"}},
		{"examples", at(m, "components", "examples"), []string{"one"}},
		{"security schemes", at(m, "components", "securitySchemes"), []string{"apiToken", "basic"}},
	} {
		if got := keys(c.got); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	// The management description's components stand as they are; the
	// OAuth one's that differ are renamed, and so are the references to
	// them (TooMany is the same text in both, but its Error is not).
	if got := at(m, "components", "schemas", "Error", "properties", "errorCode", "description"); got != "management's" {
		t.Errorf("Error is %v's", got)
	}
	if got := at(m, "components", "schemas", "Error_oauth", "properties", "errorCode", "description"); got != "oauth's" {
		t.Errorf("Error_oauth is %v's", got)
	}
	if got := at(m, "components", "responses", "TooMany_oauth", "content", "application/json", "schema", "$ref"); got != "#/components/schemas/Error_oauth" {
		t.Errorf("TooMany_oauth's schema is %v", got)
	}
	if got := at(m, "paths", "/token", "post", "responses", "429", "$ref"); got != "#/components/responses/TooMany_oauth" {
		t.Errorf("the token operation's 429 is %v", got)
	}
	if got := at(m, "paths", "/secrets/{id}", "get", "responses", "429", "$ref"); got != "#/components/responses/TooMany" {
		t.Errorf("the secrets operation's 429 is %v", got)
	}
	// Tags: those the kept operations carry, the first description's
	// where both have one.
	var tags []string
	for _, tg := range m["tags"].([]any) {
		tm := tg.(map[string]any)
		tags = append(tags, tm["name"].(string)+": "+strings.TrimSpace(func() string { s, _ := tm["description"].(string); return s }()))
	}
	if want := []string{"Secrets: the secrets", "Token: "}; !slices.Equal(tags, want) {
		t.Errorf("tags %q, want %q", tags, want)
	}
	if at(m, "info", "title") != "management" || m["servers"] == nil {
		t.Errorf("info and servers are not the first description's: %v %v", m["info"], m["servers"])
	}
}

func TestCutKeepsTextAsItIs(t *testing.T) {
	src := "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\npaths:\n  /a:\n    get:\n      description: |-\n        Two lines,\n        kept: as written.\n      responses:\n        '200': {description: OK}\n"
	n, err := Cut([]Source{{Name: "t", Operations: []string{"GET /a"}}}, [][]byte{[]byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode("h", n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "      description: |-\n        Two lines,\n        kept: as written.\n") {
		t.Errorf("the description changed:\n%s", b)
	}
}

func TestCutRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		sources []Source
		docs    []string
		want    string
	}{
		"unknown operation": {[]Source{{Name: "m", Operations: []string{"PUT /secrets/{id}"}}}, []string{management}, "no operation PUT /secrets/{id}"},
		"bad operation":     {[]Source{{Name: "m", Operations: []string{"/secrets/{id}"}}}, []string{management}, "is not"},
		"dangling ref": {[]Source{{Name: "m", Operations: []string{"GET /secrets/{id}"}}},
			[]string{strings.Replace(management, "    Kind: {type: string, enum: [a, b]}\n", "", 1)}, "reference \"#/components/schemas/Kind\" is to nothing"},
		"unknown security scheme": {[]Source{{Name: "m", Operations: []string{"GET /secrets/{id}"}}},
			[]string{strings.Replace(management, "apiToken: {type", "other: {type", 1)}, "no security scheme apiToken"},
		"a path twice": {[]Source{{Name: "m", Operations: []string{"GET /secrets/{id}"}}, {Name: "n", Operations: []string{"DELETE /secrets/{id}"}}},
			[]string{management, management}, "in an earlier description"},
		"swagger 2.0": {[]Source{{Name: "m", Operations: []string{"GET /a"}}}, []string{"swagger: '2.0'\npaths: {}\n"}, "not an OpenAPI 3"},
	} {
		t.Run(name, func(t *testing.T) {
			bs := make([][]byte, len(c.docs))
			for i, d := range c.docs {
				bs[i] = []byte(d)
			}
			_, err := Cut(c.sources, bs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestVendoredCut: the cut credrotate ships is a valid OpenAPI document
// (kin-openapi's loader resolves every reference), holds exactly the
// operations Sources names, and names its source commit.
func TestVendoredCut(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "examples", "providers", "okta.openapi.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Okta's examples are not all valid against Okta's schemas (the
	// Application schema's universalLogout example is "ACTIVE"); the
	// schemas are what requests and answers are held to.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, s := range Sources {
		want = append(want, s.Operations...)
	}
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			got = append(got, m+" "+p)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("operations %v, want %v", got, want)
	}
	// The header is the one Render writes for the commit it names.
	_, rest, ok := strings.Cut(string(raw), "#   commit ")
	commit, _, _ := strings.Cut(rest, "\n")
	if !ok || !commitRe.MatchString(commit) {
		t.Fatalf("the header names no commit")
	}
	var h bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(Header(commit), "\n"), "\n") {
		h.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	if !bytes.HasPrefix(raw, h.Bytes()) {
		t.Errorf("the header is not Header(%s): run cutspec again", commit)
	}
	lic, err := os.ReadFile(filepath.Join(filepath.Dir(path), "okta.openapi.LICENSE"))
	if err != nil {
		t.Fatalf("the licence is not beside the cut: %v", err)
	}
	if !bytes.Contains(lic, []byte("commit "+commit)) || !bytes.Contains(lic, []byte("Apache License")) {
		t.Errorf("okta.openapi.LICENSE does not name commit %s and the Apache License", commit)
	}
}

func TestRunNeedsRepoAndCommit(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{nil, {"-repo", "x"}, {"-repo", "x", "-commit", "HEAD"}} {
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
