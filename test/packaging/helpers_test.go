package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the repository's top folder, found from this file's location so
// the tests work from any working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// object is one Kubernetes object from a multi-document YAML stream: its kind,
// name and namespace, and its YAML for a typed, strict decode.
type object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Source     string
	YAML       []byte
}

// splitObjects splits a multi-document YAML stream into objects, skipping
// empty documents. source names where the stream came from, for messages.
func splitObjects(t testing.TB, source string, stream []byte) []object {
	t.Helper()
	var out []object
	for i, doc := range splitDocuments(stream) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: document %d does not parse as YAML: %v\n%s", source, i, err, doc)
		}
		if meta.Kind == "" {
			t.Fatalf("%s: document %d has no kind:\n%s", source, i, doc)
		}
		out = append(out, object{
			APIVersion: meta.APIVersion, Kind: meta.Kind,
			Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace,
			Source: source, YAML: doc,
		})
	}
	return out
}

// splitDocuments splits a YAML stream at "---" lines and drops documents that
// hold only comments and blank lines.
func splitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(stream), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// decodeStrict decodes an object's YAML into a typed value and fails the test
// on any field the type does not know: a misspelt field in a template or an
// example would otherwise be dropped silently by the API server.
func decodeStrict(t testing.TB, o object, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(o.YAML, into); err != nil {
		t.Fatalf("%s: %s %q does not decode strictly into %T: %v", o.Source, o.Kind, o.Name, into, err)
	}
}

// only returns the objects of one kind.
func only(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// kinds lists the kinds of objs, sorted, for messages.
func kinds(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Kind+"/"+o.Name)
	}
	sort.Strings(ks)
	return ks
}

// readFile reads a file under the repository root.
func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
