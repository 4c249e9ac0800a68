package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummariseRealRun feeds testsum the -json stream of a real `go test`
// over a throwaway module with a passing test, an environment skip, a
// -short style skip and, in a second run, a failing test.
func TestSummariseRealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go test")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "internal", "testenv", "_testsum-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	src := `package x

import (
	"os"
	"testing"

	"github.com/credrotate/credrotate/internal/testenv"
)

func TestPass(t *testing.T) {}
func TestNeedsFrob(t *testing.T) { testenv.Require(t, "frobnicator", "apt-get install frobnicator") }
func TestShortSkip(t *testing.T) { t.Skip("-short: slow") }
func TestMaybeFail(t *testing.T) {
	if os.Getenv("X_FAIL") == "1" {
		t.Log("the reason it failed")
		t.Fatal("boom")
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(fail string) (string, summary) {
		cmd := exec.Command("go", "test", "-json", "-count=1", "./"+filepath.Base(dir))
		cmd.Dir = filepath.Dir(dir)
		cmd.Env = append(os.Environ(), "X_FAIL="+fail, "CI=")
		stream, _ := cmd.Output()
		var out bytes.Buffer
		s, err := summarise(bytes.NewReader(stream), &out)
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), s
	}

	out, s := run("0")
	if s.failed {
		t.Errorf("a passing run is reported failed:\n%s", out)
	}
	if len(s.skips) != 1 || !strings.HasSuffix(s.skips[0].name, ".TestNeedsFrob") {
		t.Errorf("skips = %+v, want only TestNeedsFrob (a -short style skip is not an environment skip)", s.skips)
	}
	for _, want := range []string{"ok  \t", "1 skipped: ", "TestNeedsFrob", "apt-get install frobnicator"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== RUN") || strings.Contains(out, "TestPass") {
		t.Errorf("output carries per-test noise:\n%s", out)
	}

	out, s = run("1")
	if !s.failed {
		t.Errorf("a failing run is not reported failed:\n%s", out)
	}
	for _, want := range []string{"the reason it failed", "boom", "--- FAIL: TestMaybeFail", "FAIL\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSummariseNoSkips(t *testing.T) {
	t.Parallel()
	in := `{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
not json at all
`
	var out bytes.Buffer
	s, err := summarise(strings.NewReader(in), &out)
	if err != nil || s.failed || len(s.skips) != 0 {
		t.Fatalf("%+v %v", s, err)
	}
	if strings.Contains(out.String(), "skipped") || !strings.Contains(out.String(), "not json at all") || !strings.Contains(out.String(), "ok  \tp") {
		t.Fatalf("output:\n%s", out.String())
	}
}
