package sopsout

import (
	"crypto/rand"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

var randRead = rand.Read

// annotation returns metadata.annotations[key] of a Secret document.
func annotation(root *yaml.Node, key string) string {
	return scalarString(mapGet(mapGet(mapGet(root, "metadata"), "annotations"), key))
}

// encryptedOutside returns the path of the first value outside data and
// stringData that holds SOPS ciphertext, or "".
func encryptedOutside(root *yaml.Node) string {
	var visit func(prefix string, n *yaml.Node) string
	visit = func(prefix string, n *yaml.Node) string {
		switch n.Kind {
		case yaml.ScalarNode:
			if strings.HasPrefix(n.Value, "ENC[") {
				return prefix
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if prefix == "" && (k == "data" || k == "stringData" || k == metadataKey) {
					continue
				}
				if p := visit(strings.TrimPrefix(prefix+"."+k, "."), n.Content[i+1]); p != "" {
					return p
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if p := visit(fmt.Sprintf("%s[%d]", prefix, i), c); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return visit("", root)
}
