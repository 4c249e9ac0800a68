// Package csdl reads OData CSDL (the service metadata Microsoft Graph
// publishes) and checks JSON bodies against it: every property named must
// exist on the type, and every value must be of the property's type
// (Edm.String, Edm.DateTimeOffset, Edm.Guid, Edm.Binary, Edm.Boolean,
// collections and structured types); an action's body must carry only its
// declared parameters. Instance annotations (@odata.context and the like)
// are allowed anywhere.
//
// OpenType entities (Graph's application is one) would accept undeclared
// properties in OData; the check refuses them anyway, since a property
// credrotate sends or expects that Graph does not declare is a mistake.
//
// Resolve reads a request's path by the entity sets, keys, alternate keys,
// navigation properties, casts and bound actions declared, and
// CheckQuery, CheckRequest and CheckResponse hold a request and its answer
// to what the path addresses.
//
// GraphV1 is the vendored cut of Graph's published v1.0 metadata: Cut
// copies, byte for byte, the elements GraphKeep names out of
// clean_v10_metadata/cleanMetadata.xml of microsoftgraph/msgraph-metadata
// at GraphSource's commit (cmd/cutcsdl writes it). TestCutIsMicrosofts
// makes the cut again from a copy of that file named by
// CREDROTATE_GRAPH_CSDL and compares.
package csdl

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Schema is the parsed metadata: structured types, bound actions and the
// entity container's entity sets.
type Schema struct {
	Namespace string
	Alias     string
	Types     map[string]*Type
	// Actions by name, then by binding parameter type (full name).
	Actions map[string]map[string]*Action
	// Sets are the entity sets: name to entity type (full name).
	Sets map[string]string
}

// Type is an entity or complex type with its properties, inherited ones
// included.
type Type struct {
	Name     string
	BaseType string
	Entity   bool
	Props    map[string]Property
	// Nav are the navigation properties, inherited ones included.
	Nav map[string]NavProperty
	// Key names the key's properties; AltKeys maps each single-property
	// alternate key's alias (Org.OData.Core.V1.AlternateKeys) to its
	// property.
	Key     []string
	AltKeys map[string]string
}

// Property is one declared property or parameter.
type Property struct {
	Name     string
	Type     string
	Nullable bool
}

// NavProperty is a navigation property: its type, and the derived types a
// cast on it may name when Org.OData.Validation.V1.DerivedTypeConstraint
// lists them.
type NavProperty struct {
	Name    string
	Type    string
	Derived []string
}

// Action is a bound action.
type Action struct {
	Name    string
	Binding string
	Params  map[string]Property
	Return  string
}

type xmlEdmx struct {
	Schemas []xmlSchema `xml:"DataServices>Schema"`
}

type xmlSchema struct {
	Namespace  string         `xml:"Namespace,attr"`
	Alias      string         `xml:"Alias,attr"`
	Entities   []xmlType      `xml:"EntityType"`
	Complexes  []xmlType      `xml:"ComplexType"`
	Actions    []xmlAction    `xml:"Action"`
	Containers []xmlContainer `xml:"EntityContainer"`
}

type xmlType struct {
	Name        string          `xml:"Name,attr"`
	BaseType    string          `xml:"BaseType,attr"`
	Key         []xmlProp       `xml:"Key>PropertyRef"`
	Props       []xmlProp       `xml:"Property"`
	Navs        []xmlNav        `xml:"NavigationProperty"`
	Annotations []xmlAnnotation `xml:"Annotation"`
}

type xmlProp struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

type xmlNav struct {
	Name        string          `xml:"Name,attr"`
	Type        string          `xml:"Type,attr"`
	Annotations []xmlAnnotation `xml:"Annotation"`
}

type xmlAnnotation struct {
	Term    string      `xml:"Term,attr"`
	Strings []string    `xml:"Collection>String"`
	Records []xmlRecord `xml:"Collection>Record"`
}

type xmlRecord struct {
	Values []xmlPropertyValue `xml:"PropertyValue"`
}

type xmlPropertyValue struct {
	Property     string      `xml:"Property,attr"`
	String       string      `xml:"String,attr"`
	PropertyPath string      `xml:"PropertyPath,attr"`
	Records      []xmlRecord `xml:"Collection>Record"`
}

type xmlAction struct {
	Name    string    `xml:"Name,attr"`
	IsBound string    `xml:"IsBound,attr"`
	Params  []xmlProp `xml:"Parameter"`
	Return  *xmlProp  `xml:"ReturnType"`
}

type xmlContainer struct {
	Sets []struct {
		Name       string `xml:"Name,attr"`
		EntityType string `xml:"EntityType,attr"`
	} `xml:"EntitySet"`
}

// alternateKeys reads Org.OData.Core.V1.AlternateKeys: alias to property,
// for the keys of one property.
func alternateKeys(as []xmlAnnotation) map[string]string {
	out := map[string]string{}
	for _, a := range as {
		if a.Term != "Org.OData.Core.V1.AlternateKeys" {
			continue
		}
		for _, key := range a.Records {
			for _, v := range key.Values {
				if v.Property != "Key" || len(v.Records) != 1 {
					continue
				}
				alias, name := "", ""
				for _, pv := range v.Records[0].Values {
					switch pv.Property {
					case "Alias":
						alias = pv.String
					case "Name":
						name = pv.PropertyPath
					}
				}
				if alias != "" && name != "" {
					out[alias] = name
				}
			}
		}
	}
	return out
}

// Parse reads a CSDL document (one microsoft.graph schema).
func Parse(r io.Reader) (*Schema, error) {
	var doc xmlEdmx
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("csdl: %w", err)
	}
	if len(doc.Schemas) == 0 {
		return nil, fmt.Errorf("csdl: no schema")
	}
	x := doc.Schemas[0]
	s := &Schema{Namespace: x.Namespace, Alias: x.Alias, Types: map[string]*Type{}, Actions: map[string]map[string]*Action{}, Sets: map[string]string{}}
	raw := map[string]xmlType{}
	entity := map[string]bool{}
	for _, t := range x.Entities {
		raw[s.full(t.Name)], entity[s.full(t.Name)] = t, true
	}
	for _, t := range x.Complexes {
		raw[s.full(t.Name)] = t
	}
	var resolve func(name string, depth int) (*Type, error)
	resolve = func(name string, depth int) (*Type, error) {
		if t, ok := s.Types[name]; ok {
			return t, nil
		}
		xt, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("csdl: type %s is not declared", name)
		}
		if depth > 16 {
			return nil, fmt.Errorf("csdl: %s derives too deep", name)
		}
		t := &Type{Name: name, BaseType: s.Full(xt.BaseType), Entity: entity[name], Props: map[string]Property{}, Nav: map[string]NavProperty{}, AltKeys: map[string]string{}}
		if xt.BaseType != "" {
			base, err := resolve(s.Full(xt.BaseType), depth+1)
			if err != nil {
				return nil, err
			}
			maps.Copy(t.Props, base.Props)
			maps.Copy(t.Nav, base.Nav)
			maps.Copy(t.AltKeys, base.AltKeys)
			t.Key = base.Key
		}
		for _, p := range xt.Props {
			t.Props[p.Name] = Property{Name: p.Name, Type: s.Full(p.Type), Nullable: p.Nullable != "false"}
		}
		for _, n := range xt.Navs {
			np := NavProperty{Name: n.Name, Type: s.Full(n.Type)}
			for _, a := range n.Annotations {
				if a.Term == "Org.OData.Validation.V1.DerivedTypeConstraint" {
					np.Derived = append(np.Derived, a.Strings...)
				}
			}
			t.Nav[n.Name] = np
		}
		if len(xt.Key) > 0 {
			t.Key = nil
			for _, k := range xt.Key {
				t.Key = append(t.Key, k.Name)
			}
		}
		maps.Copy(t.AltKeys, alternateKeys(xt.Annotations))
		s.Types[name] = t
		return t, nil
	}
	for name := range raw {
		// A type deriving from one another schema declares is left out;
		// the types it declares are still usable.
		_, _ = resolve(name, 0)
	}
	for _, a := range x.Actions {
		if a.IsBound != "true" || len(a.Params) == 0 {
			continue
		}
		act := &Action{Name: a.Name, Binding: s.Full(a.Params[0].Type), Params: map[string]Property{}}
		for _, p := range a.Params[1:] {
			act.Params[p.Name] = Property{Name: p.Name, Type: s.Full(p.Type), Nullable: p.Nullable != "false"}
		}
		if a.Return != nil {
			act.Return = s.Full(a.Return.Type)
		}
		if s.Actions[a.Name] == nil {
			s.Actions[a.Name] = map[string]*Action{}
		}
		s.Actions[a.Name][act.Binding] = act
	}
	for _, c := range x.Containers {
		for _, set := range c.Sets {
			s.Sets[set.Name] = s.Full(set.EntityType)
		}
	}
	return s, nil
}

func (s *Schema) full(name string) string { return s.Namespace + "." + name }

// Full expands the alias of a type name (graph.application ->
// microsoft.graph.application), inside Collection(...) too.
func (s *Schema) Full(name string) string {
	if inner, ok := strings.CutPrefix(name, "Collection("); ok {
		return "Collection(" + s.Full(strings.TrimSuffix(inner, ")")) + ")"
	}
	if s.Alias != "" {
		if rest, ok := strings.CutPrefix(name, s.Alias+"."); ok {
			return s.Namespace + "." + rest
		}
	}
	return name
}

//go:embed testdata/graph-v1.0-application.xml
var graphV1 []byte

var (
	graphOnce   sync.Once
	graphSchema *Schema
	graphErr    error
)

// GraphV1 is the vendored cut of Graph v1.0's metadata
// (testdata/graph-v1.0-application.xml, written by cmd/cutcsdl).
func GraphV1() (*Schema, error) {
	graphOnce.Do(func() { graphSchema, graphErr = Parse(bytes.NewReader(graphV1)) })
	return graphSchema, graphErr
}

// CheckType checks a JSON document against type typeName (a structured
// type or a collection of one) and returns the violations, each naming its
// JSON path.
func (s *Schema) CheckType(typeName string, body []byte) []string {
	v, err := decode(body)
	if err != nil {
		return []string{"$: not JSON: " + err.Error()}
	}
	var out []string
	s.checkValue(s.Full(typeName), v, "$", true, &out)
	return out
}

// CheckAction checks the body of a request to action bound to binding
// (graph.application): an object of the action's parameters.
func (s *Schema) CheckAction(action, binding string, body []byte) []string {
	a := s.Actions[action][s.Full(binding)]
	if a == nil {
		return []string{fmt.Sprintf("action %s bound to %s is not declared", action, binding)}
	}
	v, err := decode(body)
	if err != nil {
		return []string{"$: not JSON: " + err.Error()}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{"$: an action's parameters are a JSON object"}
	}
	var out []string
	for _, k := range sortedKeys(obj) {
		if isAnnotation(k) {
			continue
		}
		p, ok := a.Params[k]
		if !ok {
			out = append(out, fmt.Sprintf("$.%s: %s has no parameter %q", k, action, k))
			continue
		}
		s.checkValue(p.Type, obj[k], "$."+k, p.Nullable, &out)
	}
	for name, p := range a.Params {
		if _, ok := obj[name]; !ok && !p.Nullable {
			out = append(out, fmt.Sprintf("$: %s's parameter %q is required", action, name))
		}
	}
	sort.Strings(out)
	return out
}

// Return is the return type of action bound to binding, "" if none.
func (s *Schema) Return(action, binding string) string {
	if a := s.Actions[action][s.Full(binding)]; a != nil {
		return a.Return
	}
	return ""
}

func decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func isAnnotation(k string) bool { return strings.Contains(k, "@") }

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Schema) checkValue(typ string, v any, path string, nullable bool, out *[]string) {
	bad := func(format string, args ...any) { *out = append(*out, path+": "+fmt.Sprintf(format, args...)) }
	if v == nil {
		if !nullable {
			bad("null, but %s is not nullable", typ)
		}
		return
	}
	if inner, ok := strings.CutPrefix(typ, "Collection("); ok {
		inner = strings.TrimSuffix(inner, ")")
		arr, ok := v.([]any)
		if !ok {
			bad("want an array of %s, got %T", inner, v)
			return
		}
		for i, e := range arr {
			s.checkValue(inner, e, fmt.Sprintf("%s[%d]", path, i), false, out)
		}
		return
	}
	str, isStr := v.(string)
	switch typ {
	case "Edm.String":
		if !isStr {
			bad("want Edm.String, got %T", v)
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			bad("want Edm.Boolean, got %T", v)
		}
	case "Edm.DateTimeOffset":
		if _, err := time.Parse(time.RFC3339Nano, str); !isStr || err != nil {
			bad("want Edm.DateTimeOffset, got %v", v)
		}
	case "Edm.Guid":
		if _, err := uuid.Parse(str); !isStr || err != nil || len(str) != 36 {
			bad("want Edm.Guid, got %v", v)
		}
	case "Edm.Binary":
		if _, err := base64.StdEncoding.DecodeString(str); !isStr || err != nil {
			if _, err2 := base64.RawURLEncoding.DecodeString(str); !isStr || err2 != nil {
				bad("want Edm.Binary (base64), got %v", v)
			}
		}
	case "Edm.Int32", "Edm.Int64":
		if _, ok := v.(json.Number); !ok {
			bad("want %s, got %T", typ, v)
		}
	default:
		t, ok := s.Types[typ]
		if !ok {
			bad("type %s is not in the vendored metadata", typ)
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a %s object, got %T", typ, v)
			return
		}
		for _, k := range sortedKeys(obj) {
			if isAnnotation(k) {
				continue
			}
			p, ok := t.Props[k]
			if !ok {
				bad("%s has no property %q", typ, k)
				continue
			}
			s.checkValue(p.Type, obj[k], path+"."+k, p.Nullable, out)
		}
	}
}
