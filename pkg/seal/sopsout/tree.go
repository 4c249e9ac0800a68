package sopsout

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"github.com/getsops/sops/v3"
)

var randRead = rand.Read

// keyString is a tree item's key as text ("" for a comment).
func keyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return ""
}

// get returns the value of key in b, or nil.
func get(b sops.TreeBranch, key string) any {
	for _, it := range b {
		if keyString(it.Key) == key {
			return it.Value
		}
	}
	return nil
}

// branch returns v as a mapping, or nil.
func branch(v any) sops.TreeBranch {
	b, _ := v.(sops.TreeBranch)
	return b
}

// set replaces key's value in b, or appends it.
func set(b sops.TreeBranch, key string, v any) sops.TreeBranch {
	for i, it := range b {
		if keyString(it.Key) == key {
			b[i].Value = v
			return b
		}
	}
	return append(b, sops.TreeItem{Key: key, Value: v})
}

// del removes key from b.
func del(b sops.TreeBranch, key string) sops.TreeBranch {
	return slices.DeleteFunc(b, func(it sops.TreeItem) bool { return keyString(it.Key) == key })
}

// str returns a scalar as text.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case sops.TreeBranch, []any:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// keysOf lists the keys of a mapping value, comments left out.
func keysOf(v any) []string {
	var out []string
	for _, it := range branch(v) {
		if k := keyString(it.Key); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// annotation returns metadata.annotations[key] of a Secret document.
func annotation(doc sops.TreeBranch, key string) string {
	return str(get(branch(get(branch(get(doc, "metadata")), "annotations")), key))
}

// encryptedOutside returns the path of the first value outside data and
// stringData that holds SOPS ciphertext, or "".
func encryptedOutside(doc sops.TreeBranch) string {
	var walk func(prefix string, v any) string
	walk = func(prefix string, v any) string {
		switch t := v.(type) {
		case string:
			if strings.HasPrefix(t, "ENC[") {
				return prefix
			}
		case sops.TreeBranch:
			for _, it := range t {
				k := keyString(it.Key)
				if prefix == "" && (k == "data" || k == "stringData") {
					continue
				}
				if p := walk(strings.TrimPrefix(prefix+"."+k, "."), it.Value); p != "" {
					return p
				}
			}
		case []any:
			for i, e := range t {
				if p := walk(fmt.Sprintf("%s[%d]", prefix, i), e); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk("", doc)
}
