package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRequire runs Require in a child test process with and without CI and
// checks the child's verdict: a marked skip without CI, a failure with it.
func TestRequire(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Require(t, "frobnicator", "apt-get install frobnicator")
		t.Fatal("Require returned")
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestRequire"},
		{"false", false, "--- SKIP: TestRequire"},
		{"true", true, "--- FAIL: TestRequire"},
		{"1", true, "--- FAIL: TestRequire"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequire$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail {
			t.Errorf("CI=%q: err %v, want failure %v\n%s", tc.ci, err, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "frobnicator") || !strings.Contains(string(out), "apt-get install frobnicator") {
			t.Errorf("CI=%q: output lacks %q, the tool or the fix:\n%s", tc.ci, tc.want, out)
		}
		if !tc.wantFail && !strings.Contains(string(out), Marker) {
			t.Errorf("CI=%q: the skip lacks the marker:\n%s", tc.ci, out)
		}
	}
}

func TestLookPathFound(t *testing.T) {
	t.Parallel()
	if os.Getenv("TESTENV_CHILD") == "1" {
		return
	}
	if p := LookPath(t, "go", "install Go"); p == "" {
		t.Fatal("go not found")
	}
}
