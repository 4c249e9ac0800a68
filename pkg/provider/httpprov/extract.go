package httpprov

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/theory/jsonpath"
)

// maxBody caps every answer read.
const maxBody = 1 << 20

// maxDepth bounds how deeply an answer may nest; deeper is malformed.
const maxDepth = 64

// maxNodes bounds how many nodes a query may select (the secrets of a
// client).
const maxNodes = 256

// query is one compiled result query: a JSONPath and how to convert what
// it selects.
type query struct {
	src  string
	path *jsonpath.Path
	conv string // "", "unix", "unixms"
}

// compileQuery parses "JSONPATH" or "JSONPATH | unix" or "... | unixms".
// An empty src gives a nil query.
func compileQuery(src string) (*query, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	q := &query{src: src}
	expr := src
	if i := strings.LastIndex(src, "|"); i >= 0 {
		conv := strings.TrimSpace(src[i+1:])
		switch conv {
		case "unix", "unixms":
			q.conv, expr = conv, src[:i]
		}
	}
	p, err := jsonpath.Parse(strings.TrimSpace(expr))
	if err != nil {
		return nil, err
	}
	q.path = p
	return q, nil
}

// decodeAnswer decodes exactly one JSON value, refusing answers nested
// deeper than maxDepth before decoding them.
func decodeAnswer(b []byte) (any, error) {
	if err := checkDepth(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New("the answer is not JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON answer")
	}
	return normalize(v), nil
}

// normalize turns json.Number into float64 (what RFC 9535 comparisons
// need) keeping integers exact where they fit.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && i >= -(1<<53) && i <= 1<<53 {
			return float64(i)
		}
		f, err := x.Float64()
		if err != nil {
			return math.Inf(1)
		}
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
	}
	return v
}

// checkDepth scans b for nesting deeper than maxDepth without building it.
func checkDepth(b []byte) error {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("the answer nests deeper than %d levels", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// selectFirst returns the first node q selects, or false.
func (q *query) selectFirst(doc any) (any, bool) {
	if q == nil {
		return nil, false
	}
	nodes := q.path.Select(doc)
	if len(nodes) == 0 {
		return nil, false
	}
	return nodes[0], true
}

// selectAll returns every node q selects, at most maxNodes.
func (q *query) selectAll(doc any) ([]any, error) {
	nodes := q.path.Select(doc)
	if len(nodes) > maxNodes {
		return nil, fmt.Errorf("%s selects %d nodes, more than %d", q.src, len(nodes), maxNodes)
	}
	return nodes, nil
}

// str reads a string (or a number or boolean, as text). Its errors name the
// query, never the value.
func (q *query) str(doc any) (string, bool, error) {
	v, ok := q.selectFirst(doc)
	if !ok || v == nil {
		return "", false, nil
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	}
	return "", false, fmt.Errorf("%s selects a %s, not a string", q.src, typeName(v))
}

// joined reads every string q selects (at most 16), joined with "; ".
func (q *query) joined(doc any) string {
	if q == nil {
		return ""
	}
	var parts []string
	for i, v := range q.path.Select(doc) {
		if i >= 16 {
			break
		}
		if s, ok := v.(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// int reads a whole number (or a string holding one).
func (q *query) int(doc any) (int64, bool, error) {
	v, ok := q.selectFirst(doc)
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false, fmt.Errorf("%s selects a number that is not a whole number", q.src)
		}
		return int64(x), true, nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s selects a string that is not a whole number", q.src)
		}
		return n, true, nil
	}
	return 0, false, fmt.Errorf("%s selects a %s, not a number", q.src, typeName(v))
}

// time reads an RFC 3339 string, or with | unix or | unixms a number of
// seconds or milliseconds (or a string holding one).
func (q *query) time(doc any) (time.Time, bool, error) {
	if q == nil {
		return time.Time{}, false, nil
	}
	if q.conv != "" {
		n, ok, err := q.int(doc)
		if err != nil || !ok {
			return time.Time{}, ok, err
		}
		if n <= 0 || n > 1<<45 {
			return time.Time{}, false, fmt.Errorf("%s selects a time out of range", q.src)
		}
		if q.conv == "unixms" {
			return time.UnixMilli(n).UTC(), true, nil
		}
		return time.Unix(n, 0).UTC(), true, nil
	}
	s, ok, err := q.str(doc)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s selects a string that is not an RFC 3339 time", q.src)
	}
	return t.UTC(), true, nil
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}
