package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sandboxOnly are import paths the production binary must not link: the
// emulators, localhub, the demo world, the sandbox commands and the GraphQL
// parser localhub serves with.
var sandboxOnly = regexp.MustCompile(`^github\.com/credrotate/credrotate/internal/sandbox(/|$)|^github\.com/vektah/gqlparser|/emulator$|/localhub$|/demo$`)

// TestProductionBinaryCarriesNoTestServers lists every package cmd/credrotate
// links and refuses the sandbox's; the sandbox binary must link them (so the
// check is shown to see them). It also refuses a git executable: nothing
// the production binary links starts one.
func TestProductionBinaryCarriesNoTestServers(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	deps := func(pkg string) []string {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	matching := func(pkgs []string) []string {
		var bad []string
		for _, p := range pkgs {
			if sandboxOnly.MatchString(p) {
				bad = append(bad, p)
			}
		}
		return bad
	}
	prod := deps("./cmd/credrotate")
	if bad := matching(prod); len(bad) > 0 {
		t.Errorf("cmd/credrotate links test servers (move them under internal/sandbox and register them in cmd/credrotate-sandbox): %v", bad)
	}
	sb := matching(deps("./cmd/credrotate-sandbox"))
	for _, want := range []string{"internal/sandbox/emulator", "internal/sandbox/localhub", "internal/sandbox/demo", "github.com/vektah/gqlparser/v2"} {
		found := false
		for _, p := range sb {
			found = found || strings.HasSuffix(p, want)
		}
		if !found {
			t.Errorf("cmd/credrotate-sandbox does not link %s; the check above would not see it either", want)
		}
	}

	// No package of ours that the production binary links runs git.
	runsGit := regexp.MustCompile(`exec\.Command(Context)?\([^)]*"git"`)
	for _, p := range prod {
		rel, ok := strings.CutPrefix(p, "github.com/credrotate/credrotate/")
		if !ok {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, rel, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if runsGit.Match(src) || strings.Contains(string(src), `exec.LookPath("git")`) {
				t.Errorf("%s runs a git executable, which the distroless image does not have", f)
			}
		}
	}
}
