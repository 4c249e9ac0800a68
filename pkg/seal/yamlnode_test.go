package seal

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// docWithValue is a manifest-shaped document carrying v as a value and,
// where it can be one, as a key.
func docWithValue(v string) *yaml.Node {
	doc := newManifestDoc()
	md := mapGet(doc.Content[0], "metadata")
	setNameNamespace(md, "equifax-credentials", "credit")
	setNameNamespace(mapGet(mapGet(mapGet(doc.Content[0], "spec"), "template"), "metadata"), "equifax-credentials", "credit")
	a := mapNode()
	mapSetString(a, "credrotate.io/secret-id", v)
	mapSet(md, "annotations", a)
	mapSetString(mapGet(mapGet(doc.Content[0], "spec"), "encryptedData"), "client_secret", "AgB"+strings.Repeat("x+/=", 200))
	return doc
}

func TestFastEncodeMatchesYAML(t *testing.T) {
	for _, v := range []string{
		"sec_123", "sec-0001", "on", "Yes", "n", "123", "0x1f", "1:20", "-1", ".5", "true", "TRUE", "null", "~",
		"2027-01-01T00:00:00Z", "sha256:0123456789abcdef", "https://x.example/y", "a:", "a: b", "a b", "x#y", "a #b",
		"é", "", "a\"b", `a\b`, "a\nb", "&x", "*x", "!x", "[x]", "{x}", "x,y", strings.Repeat("A", 1000),
		strings.Repeat("word ", 40),
	} {
		doc := docWithValue(v)
		want, err := encodeYAML(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fastEncode(doc); ok && string(got) != string(want) {
			t.Errorf("value %q: fast\n%s\nyaml.v3\n%s", v, got, want)
		}
		// Either way, YAML 1.1 readers (sigs.k8s.io/yaml, as kubectl) read
		// the annotation back as the same string.
		var obj struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(want, &obj); err != nil {
			t.Errorf("value %q: sigs.k8s.io/yaml cannot read the manifest: %v\n%s", v, err, want)
		} else if got := obj.Metadata.Annotations["credrotate.io/secret-id"]; got != v {
			t.Errorf("value %q read back as %q", v, got)
		}
	}
}

func TestFastEncodeTakesManifests(t *testing.T) {
	doc := docWithValue("sec_123")
	if _, ok := fastEncode(doc); !ok {
		t.Error("a fresh manifest should take the fast path")
	}
	doc.Content[0].Content[0].HeadComment = "# a person's comment"
	if _, ok := fastEncode(doc); ok {
		t.Error("a document with comments must go through yaml.v3")
	}
}

// FuzzFastEncode: whenever the fast path takes a document, it writes what
// yaml.v3 would.
func FuzzFastEncode(f *testing.F) {
	for _, s := range []string{"sec_1", "on", "1:2", "a:b", "x y", "2027-01-01T00:00:00Z"} {
		f.Add(s, "client_secret")
	}
	f.Fuzz(func(t *testing.T, v, key string) {
		doc := docWithValue(v)
		mapSetString(mapGet(doc.Content[0], "spec"), key, v)
		got, ok := fastEncode(doc)
		if !ok {
			return
		}
		want, err := encodeYAML(doc)
		if err != nil {
			t.Fatalf("yaml.v3 cannot encode what the fast path took: %v", err)
		}
		if string(got) != string(want) {
			t.Errorf("fast\n%s\nyaml.v3\n%s", got, want)
		}
	})
}
