package httpprov

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/theory/jsonpath/spec"
)

// loadOpenAPI reads and validates the description's OpenAPI document.
func loadOpenAPI(d *Description) (*openapi3.T, error) {
	p := d.OpenAPI
	if !filepath.IsAbs(p) && d.dir != "" {
		p = filepath.Join(d.dir, p)
	}
	l := openapi3.NewLoader()
	// Read the file itself each time (kin-openapi's default reader caches
	// every URI for the process, so an edited document would not be seen),
	// and never over the network.
	l.ReadFromURIFunc = openapi3.ReadFromFile
	doc, err := l.LoadFromFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d.OpenAPI, err)
	}
	// Examples are documentation, not contract: requests and answers are
	// held to the schemas. Published descriptions carry examples their own
	// schemas refuse (Okta's gives an object's example as "ACTIVE"), and a
	// user cannot fix the vendor's document.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", d.OpenAPI, err)
	}
	return doc, nil
}

// Operation is an OpenAPI operation a rendered request matches.
type Operation struct {
	Path       string
	PathItem   *openapi3.PathItem
	Operation  *openapi3.Operation
	PathParams map[string]string
}

// FindOperation returns the operation of doc that method and rawURL match:
// the URL's path, less a server's base path, against each path template.
func FindOperation(doc *openapi3.T, method, rawURL string) (Operation, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Operation{}, false
	}
	bases := []string{""}
	for _, s := range doc.Servers {
		if su, err := url.Parse(s.URL); err == nil && strings.Trim(su.Path, "/") != "" {
			bases = append(bases, "/"+strings.Trim(su.Path, "/"))
		}
	}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, base := range bases {
		p := u.EscapedPath()
		if !strings.HasPrefix(p, base) {
			continue
		}
		p = strings.TrimPrefix(p, base)
		for _, tmpl := range keys {
			re, names := pathPattern(tmpl)
			m := re.FindStringSubmatch(p)
			if m == nil {
				continue
			}
			item := paths[tmpl]
			op := item.GetOperation(strings.ToUpper(method))
			if op == nil {
				continue
			}
			params := map[string]string{}
			for i, n := range names {
				v, _ := url.PathUnescape(m[i+1])
				params[n] = v
			}
			return Operation{Path: tmpl, PathItem: item, Operation: op, PathParams: params}, true
		}
	}
	return Operation{}, false
}

var paramRe = regexp.MustCompile(`\{([^}/]+)\}`)

func pathPattern(tmpl string) (*regexp.Regexp, []string) {
	var names []string
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range paramRe.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
		b.WriteString("([^/]+)")
		names = append(names, tmpl[m[2]:m[3]])
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String()), names
}

// successSchema is the JSON schema of op's first success answer, if any.
func successSchema(op *openapi3.Operation, codes []int) *openapi3.Schema {
	if op.Responses == nil {
		return nil
	}
	for _, c := range codes {
		r := op.Responses.Status(c)
		if r == nil || r.Value == nil {
			continue
		}
		for mt, m := range r.Value.Content {
			if strings.Contains(mt, "json") && m.Schema != nil && m.Schema.Value != nil {
				return m.Schema.Value
			}
		}
	}
	return nil
}

// schemaAt follows q's segments through s: the schema q selects, ok false
// when q cannot match any answer s allows, and a nil schema when the
// schema says too little to follow further (q may match).
func schemaAt(s *openapi3.Schema, q *query) (*openapi3.Schema, bool, string) {
	if q == nil || s == nil {
		return s, true, ""
	}
	cur := s
	for _, seg := range q.path.Query().Segments() {
		if cur == nil || seg.IsDescendant() || len(cur.AllOf)+len(cur.AnyOf)+len(cur.OneOf) > 0 {
			return nil, true, ""
		}
		sels := seg.Selectors()
		if len(sels) != 1 {
			// A union: follow its first name that the schema has.
			for _, sel := range sels {
				if n, ok := sel.(spec.Name); ok {
					if p, ok := cur.Properties[string(n)]; ok && p.Value != nil {
						cur = p.Value
						goto next
					}
				}
			}
			return nil, true, ""
		}
		switch sel := sels[0].(type) {
		case spec.Name:
			if cur.Type != nil && !cur.Type.Is("object") {
				return nil, false, fmt.Sprintf("%q is read from a value of type %s", string(sel), strings.Join(cur.Type.Slice(), "/"))
			}
			p, ok := cur.Properties[string(sel)]
			if !ok {
				if len(cur.Properties) > 0 || (cur.AdditionalProperties.Has != nil && !*cur.AdditionalProperties.Has) {
					return nil, false, fmt.Sprintf("the schema has no property %q (it has %s)", string(sel), propNames(cur))
				}
				return nil, true, ""
			}
			cur = p.Value
		case spec.Index, spec.WildcardSelector, *spec.WildcardSelector, *spec.SliceSelector, spec.SliceSelector, *spec.FilterSelector:
			if cur.Type != nil && cur.Type.Is("array") && cur.Items != nil {
				cur = cur.Items.Value
				continue
			}
			if cur.Type != nil && !cur.Type.Is("object") {
				return nil, false, fmt.Sprintf("%s selects elements of a %s", sel, strings.Join(cur.Type.Slice(), "/"))
			}
			return nil, true, ""
		default:
			return nil, true, ""
		}
	next:
	}
	return cur, true, ""
}

func propNames(s *openapi3.Schema) string {
	n := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// checkOpenAPI checks every step against doc: its rendered request matches
// an operation, and each result query can match that operation's success
// schema.
func checkOpenAPI(d *Description, doc *openapi3.T, prog *program, settings map[string]string, secretNames []string) []Problem {
	var ps []Problem
	for _, ns := range d.steps() {
		cs := prog.steps[ns.name]
		if cs == nil {
			continue
		}
		data := placeholderData(d, ns.name, settings, secretNames)
		u, err := cs.tmpl.url.render(data)
		if err != nil {
			continue
		}
		op, ok := FindOperation(doc, cs.method, u)
		if !ok {
			ps = append(ps, Problem{Step: ns.name, Field: "url", Message: fmt.Sprintf("%s %s matches no operation of %s", cs.method, redactURL(u), d.OpenAPI),
				Fix: "correct the method or path to one of the document's operations (" + operations(doc) + ")"})
			continue
		}
		schema := successSchema(op.Operation, cs.success)
		if schema == nil {
			continue
		}
		check := func(field string, root *openapi3.Schema, q *query) *openapi3.Schema {
			at, ok, why := schemaAt(root, q)
			if !ok {
				ps = append(ps, Problem{Step: ns.name, Field: "result." + field, Message: fmt.Sprintf("%s cannot match the %s answer's schema: %s", q.src, op.Operation.OperationID, why),
					Fix: "point it at a field the schema declares"})
			}
			return at
		}
		q := cs.q
		switch ns.name {
		case "token":
			check("accessToken", schema, q.accessToken)
			check("tokenType", schema, q.tokenType)
			check("expiresIn", schema, q.expiresIn)
			check("issuedAt", schema, q.issuedAt)
			check("scope", schema, q.scope)
		case "describe":
			check("clientId", schema, q.clientID)
			check("renewalEligibleAt", schema, q.eligibleAt)
			check("policy.maxSecrets", schema, q.maxSecrets)
			item := check("secrets", schema, q.secrets)
			checkSecret(check, "each", item, q.each)
		case "create":
			checkSecret(check, "secret", schema, q.secret)
			checkSecret(check, "previous", schema, q.previous)
		}
	}
	return ps
}

func checkSecret(check func(string, *openapi3.Schema, *query) *openapi3.Schema, prefix string, root *openapi3.Schema, s secretQueries) {
	if root == nil {
		return
	}
	for _, f := range []struct {
		n string
		q *query
	}{{"value", s.value}, {"id", s.id}, {"status", s.status}, {"hint", s.hint}, {"name", s.name}, {"createdAt", s.createdAt},
		{"expiresAt", s.expiresAt}, {"graceEndsAt", s.graceEndsAt}, {"revokedAt", s.revokedAt}} {
		if f.q != nil {
			check(prefix+"."+f.n, root, f.q)
		}
	}
}

func operations(doc *openapi3.T) string {
	var out []string
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			out = append(out, m+" "+p)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "(the URL)"
	}
	pu.RawQuery = ""
	return pu.String()
}
