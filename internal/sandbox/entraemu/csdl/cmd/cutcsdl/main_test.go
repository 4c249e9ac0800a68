package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRun: cutcsdl cuts the vendored cut again to itself (but for the
// source's sha256), to a file or standard output, and refuses a document
// without what it keeps.
func TestRun(t *testing.T) {
	t.Parallel()
	vendored, err := os.ReadFile("../../testdata/graph-v1.0-application.xml")
	if err != nil {
		t.Fatal(err)
	}
	sha := regexp.MustCompile(`(?m)^  sha256:  [0-9a-f]{64}$`)
	var stdout, stderr bytes.Buffer
	if err := run(nil, bytes.NewReader(vendored), &stdout, &stderr); err != nil {
		t.Fatal(err, stderr.String())
	}
	if !bytes.Equal(sha.ReplaceAll(stdout.Bytes(), nil), sha.ReplaceAll(vendored, nil)) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
	if err := os.WriteFile(in, vendored, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-in", in, "-out", out, "-commit", "0123"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(written, []byte("  commit:  0123\n")) {
		t.Errorf("written %q, %v", written, err)
	}
	small := `<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="microsoft.graph"></Schema></edmx:DataServices></edmx:Edmx>`
	if err := run(nil, strings.NewReader(small), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "is not in the source") {
		t.Errorf("a document without Graph's types: %v", err)
	}
	if err := run([]string{"extra"}, nil, &stdout, &stderr); err == nil {
		t.Error("an argument: no error")
	}
	if err := run([]string{"-in", filepath.Join(dir, "nope")}, nil, &stdout, &stderr); err == nil {
		t.Error("a missing input: no error")
	}
}
