package csdl

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Target is what a resource path addresses, by OData's URL conventions
// as Graph uses them: an entity set, an entity of it (by key, as a
// segment or in parentheses, or by an alternate key), a navigation
// property, a cast to a derived type, and last, perhaps, a bound action.
type Target struct {
	// Type is the entity type addressed (full name).
	Type string
	// Collection says a collection of Type is addressed.
	Collection bool
	// Action is the bound action the path ends in, nil if none.
	Action *Action
}

// TypeName is the type of what t addresses as CheckType takes it:
// Collection(Type) for a collection.
func (t Target) TypeName() string {
	if t.Collection {
		return "Collection(" + t.Type + ")"
	}
	return t.Type
}

// Resolve resolves a resource path relative to the service root
// ("applications(appId='…')/addPassword"), percent-encoded as sent, by the
// schema: every segment must be declared.
func (s *Schema) Resolve(path string) (Target, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var cur Target
	var nav *NavProperty
	for i, raw := range segs {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return Target{}, fmt.Errorf("segment %q: %w", raw, err)
		}
		if cur.Action != nil {
			return Target{}, fmt.Errorf("segment %q follows the action %s", seg, cur.Action.Name)
		}
		name, pred, hasPred := strings.Cut(seg, "(")
		if hasPred {
			if !strings.HasSuffix(pred, ")") {
				return Target{}, fmt.Errorf("segment %q: unclosed key", seg)
			}
			pred = strings.TrimSuffix(pred, ")")
		}
		if i == 0 {
			t, ok := s.Sets[name]
			if !ok {
				return Target{}, fmt.Errorf("%q is not an entity set", name)
			}
			cur = Target{Type: t, Collection: true}
		} else {
			next, nextNav, err := s.step(cur, nav, name)
			if err != nil {
				return Target{}, err
			}
			cur, nav = next, nextNav
		}
		if hasPred {
			if !cur.Collection || cur.Action != nil {
				return Target{}, fmt.Errorf("segment %q: a key follows only a collection", seg)
			}
			if err := s.checkKey(cur.Type, pred); err != nil {
				return Target{}, fmt.Errorf("segment %q: %w", seg, err)
			}
			cur.Collection = false
		}
	}
	return cur, nil
}

// step is one segment after the first: a cast, a bound action, a
// navigation property, or, after a collection, a key.
func (s *Schema) step(cur Target, nav *NavProperty, name string) (Target, *NavProperty, error) {
	if t := s.Types[name]; t != nil {
		if !t.Entity || !s.derives(name, cur.Type) {
			return Target{}, nil, fmt.Errorf("cast to %s: not an entity type derived from %s", name, cur.Type)
		}
		if nav != nil && len(nav.Derived) > 0 && !slices.Contains(nav.Derived, name) {
			return Target{}, nil, fmt.Errorf("cast to %s: %s's derived type constraint does not list it", name, nav.Name)
		}
		cur.Type = name
		return cur, nav, nil
	}
	action, qualified := strings.CutPrefix(name, s.Namespace+".")
	if !qualified && s.Alias != "" {
		action, qualified = strings.CutPrefix(name, s.Alias+".")
	}
	// An action bound to the type or to one it derives from.
	for b := cur.Type; b != ""; {
		binding := b
		if cur.Collection {
			binding = "Collection(" + b + ")"
		}
		if a := s.Actions[action][binding]; a != nil {
			return Target{Type: cur.Type, Collection: cur.Collection, Action: a}, nil, nil
		}
		t := s.Types[b]
		if t == nil {
			break
		}
		b = t.BaseType
	}
	if qualified {
		return Target{}, nil, fmt.Errorf("%q is no type and no action bound to %s", name, cur.TypeName())
	}
	if cur.Collection {
		// Key as segment: /applications/{id}.
		cur.Collection = false
		return cur, nil, nil
	}
	t := s.Types[cur.Type]
	if t == nil {
		return Target{}, nil, fmt.Errorf("type %s is not declared", cur.Type)
	}
	np, ok := t.Nav[name]
	if !ok {
		return Target{}, nil, fmt.Errorf("%s has no navigation property or bound action %q", cur.Type, name)
	}
	typ, coll := np.Type, false
	if inner, ok := strings.CutPrefix(typ, "Collection("); ok {
		typ, coll = strings.TrimSuffix(inner, ")"), true
	}
	return Target{Type: typ, Collection: coll}, &np, nil
}

// derives says whether type name is base or derives from it.
func (s *Schema) derives(name, base string) bool {
	for n, depth := name, 0; n != "" && depth <= 16; depth++ {
		if n == base {
			return true
		}
		t := s.Types[n]
		if t == nil {
			return false
		}
		n = t.BaseType
	}
	return false
}

// checkKey checks a key predicate: 'value', or alias='value' for an
// alternate key (or name='value' for the key's own property).
func (s *Schema) checkKey(typ, pred string) error {
	t := s.Types[typ]
	if t == nil {
		return fmt.Errorf("type %s is not declared", typ)
	}
	prop := ""
	name, value, named := strings.Cut(pred, "=")
	if !named || strings.HasPrefix(pred, "'") {
		if len(t.Key) != 1 {
			return fmt.Errorf("%s has no single-property key", typ)
		}
		prop, value = t.Key[0], pred
	} else {
		var ok bool
		if prop, ok = t.AltKeys[name]; !ok {
			if len(t.Key) != 1 || t.Key[0] != name {
				return fmt.Errorf("%s has no key or alternate key %q", typ, name)
			}
			prop = name
		}
	}
	p, ok := t.Props[prop]
	if !ok {
		return fmt.Errorf("%s's key property %q is not declared", typ, prop)
	}
	if p.Type == "Edm.String" && !quoted(value) {
		return fmt.Errorf("key %s: want a quoted Edm.String literal ('' for a quote), got %s", prop, value)
	}
	return nil
}

// quoted says whether v is an OData string literal: in single quotes,
// each quote inside doubled.
func quoted(v string) bool {
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return false
	}
	return !strings.Contains(strings.ReplaceAll(v[1:len(v)-1], "''", ""), "'")
}

// CheckQuery checks a request's query against its target: each $select
// item a property of the type addressed, $top a count on a collection;
// other system query options than these and $skiptoken are refused, as
// credrotate uses no other.
func (s *Schema) CheckQuery(t Target, q url.Values) []string {
	var out []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	typ := s.Types[t.Type]
	for _, k := range keys {
		v := q.Get(k)
		switch k {
		case "$select":
			if t.Action != nil || typ == nil {
				out = append(out, "$select on what selects nothing")
				continue
			}
			for _, f := range strings.Split(v, ",") {
				if _, ok := typ.Props[f]; !ok {
					if _, ok := typ.Nav[f]; !ok {
						out = append(out, fmt.Sprintf("$select: %s has no property %q", t.Type, f))
					}
				}
			}
		case "$top":
			if n, err := strconv.Atoi(v); err != nil || n < 0 || !t.Collection || t.Action != nil {
				out = append(out, fmt.Sprintf("$top=%s: want a count, on a collection", v))
			}
		case "$skiptoken":
			if !t.Collection || t.Action != nil {
				out = append(out, "$skiptoken on what is not a collection")
			}
		default:
			if strings.HasPrefix(k, "$") {
				out = append(out, fmt.Sprintf("%s: not a query option credrotate uses", k))
			}
		}
	}
	return out
}

// CheckRequest checks a request to target t: a POST with the action's
// parameters for an action, a GET with no body otherwise.
func (s *Schema) CheckRequest(t Target, method string, body []byte) []string {
	if t.Action != nil {
		if method != "POST" {
			return []string{fmt.Sprintf("%s %s: an action is invoked with POST", method, t.Action.Name)}
		}
		return s.CheckAction(t.Action.Name, t.Action.Binding, body)
	}
	if method != "GET" {
		return []string{fmt.Sprintf("%s on %s: credrotate only reads it", method, t.TypeName())}
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return []string{"GET with a body"}
	}
	return nil
}

// CheckResponse checks a success answer from target t: the action's
// return type, or no body when it returns none; the entity addressed; a
// collection as {"value": […]} with only annotations beside it
// (@odata.nextLink and the like).
func (s *Schema) CheckResponse(t Target, body []byte) []string {
	if t.Action != nil {
		if t.Action.Return == "" {
			if len(bytes.TrimSpace(body)) > 0 {
				return []string{fmt.Sprintf("$: %s returns nothing, got a body", t.Action.Name)}
			}
			return nil
		}
		return s.CheckType(t.Action.Return, body)
	}
	if !t.Collection {
		return s.CheckType(t.Type, body)
	}
	v, err := decode(body)
	if err != nil {
		return []string{"$: not JSON: " + err.Error()}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{"$: a collection is answered as an object with value"}
	}
	var out []string
	if _, ok := obj["value"]; !ok {
		out = append(out, "$: a collection's answer has no value")
	}
	for _, k := range sortedKeys(obj) {
		switch {
		case k == "value":
			s.checkValue(t.TypeName(), obj[k], "$.value", false, &out)
		case !isAnnotation(k):
			out = append(out, fmt.Sprintf("$.%s: a collection's answer has only value and annotations", k))
		}
	}
	return out
}
