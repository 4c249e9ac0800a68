package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The supply chain is pinned: every base image by digest, every action by
// full commit SHA (with the version it is in a comment), each job's token
// scoped to what that job needs, and the Go toolchain named exactly. These
// checks read the files operators build and run from.

var (
	imageDigestRE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	// owner/repo[/path]@<40 hex> # v1.2.3
	actionPinRE = regexp.MustCompile(`^[A-Za-z0-9._-]+/[A-Za-z0-9._/-]+@[0-9a-f]{40}$`)
	versionRE   = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
	usesRE      = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(?:#\s*(\S+))?`)
)

// unpinnedImages returns a message for each FROM line of a Dockerfile
// whose image has no digest. Stages built earlier in the file and scratch
// need none.
func unpinnedImages(name string, src []byte) []string {
	var bad []string
	stages := map[string]bool{"scratch": true}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		args := f[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") { // --platform=...
			args = args[1:]
		}
		if len(args) == 0 {
			bad = append(bad, fmt.Sprintf("%s:%d: FROM names no image", name, n))
			continue
		}
		image := args[0]
		if stages[strings.ToLower(image)] {
			continue
		}
		if !imageDigestRE.MatchString(image) {
			bad = append(bad, fmt.Sprintf("%s:%d: base image %s is not pinned by digest (use %s@sha256:<digest>)", name, n, image, image))
		}
		// A stage name is only usable after its FROM line.
		if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
			stages[strings.ToLower(args[2])] = true
		}
	}
	return bad
}

// unpinnedActions returns a message for each uses: of a workflow that is
// not a full commit SHA with its version in a comment. Local actions
// (./...) are the repository's own; docker:// images need a digest.
func unpinnedActions(name string, src []byte) []string {
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		m := usesRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ref, comment := strings.Trim(m[1], `"'`), m[2]
		switch {
		case strings.HasPrefix(ref, "./"):
		case strings.HasPrefix(ref, "docker://"):
			if !imageDigestRE.MatchString(ref) {
				bad = append(bad, fmt.Sprintf("%s:%d: %s is not pinned by digest", name, n, ref))
			}
		case !actionPinRE.MatchString(ref):
			bad = append(bad, fmt.Sprintf("%s:%d: action %s is not pinned by full commit SHA (uses: owner/repo@<40-hex sha> # vX.Y.Z)", name, n, ref))
		case !versionRE.MatchString(comment):
			bad = append(bad, fmt.Sprintf("%s:%d: action %s has no version comment (# vX.Y.Z) saying which release the SHA is", name, n, ref))
		}
	}
	return bad
}

// loosePermissions returns a message for a workflow whose top-level
// permissions grant anything, or a job that does not say what its token
// may do.
func loosePermissions(name string, src []byte) []string {
	var wf struct {
		Permissions any `json:"permissions"`
		Jobs        map[string]struct {
			Permissions any `json:"permissions"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(src, &wf); err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var bad []string
	if m, ok := wf.Permissions.(map[string]any); !ok || len(m) != 0 {
		bad = append(bad, fmt.Sprintf("%s: top-level permissions are %v; want permissions: {} and each job's own", name, wf.Permissions))
	}
	for job, j := range wf.Jobs {
		switch p := j.Permissions.(type) {
		case map[string]any:
		case nil:
			bad = append(bad, fmt.Sprintf("%s: job %s sets no permissions: its token gets the repository's default", name, job))
		default:
			bad = append(bad, fmt.Sprintf("%s: job %s has permissions %v; name each scope", name, job, p))
		}
	}
	return bad
}

// pinnedFiles are the Dockerfiles and workflows in the repository.
func pinnedFiles(t *testing.T) (dockerfiles, workflows []string) {
	t.Helper()
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if d.Name() == "node_modules" || d.Name() == ".git" || rel == filepath.Join("test", "e2e") {
				return filepath.SkipDir
			}
			return nil
		}
		base := d.Name()
		switch {
		case base == "Dockerfile" || strings.HasPrefix(base, "Dockerfile.") || strings.HasSuffix(base, ".Dockerfile"):
			dockerfiles = append(dockerfiles, rel)
		case (strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml")) &&
			(strings.Contains(rel, "github-actions") || strings.Contains(rel, filepath.Join(".github", "workflows"))):
			if src, err := os.ReadFile(path); err == nil && bytes.Contains(src, []byte("jobs:")) {
				workflows = append(workflows, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dockerfiles) == 0 || len(workflows) == 0 {
		t.Fatalf("found %d Dockerfiles and %d workflows; the walk is broken", len(dockerfiles), len(workflows))
	}
	return dockerfiles, workflows
}

func TestImagesPinnedByDigest(t *testing.T) {
	dockerfiles, _ := pinnedFiles(t)
	for _, f := range dockerfiles {
		for _, msg := range unpinnedImages(f, readFile(t, f)) {
			t.Error(msg)
		}
	}
}

func TestActionsPinnedBySHA(t *testing.T) {
	_, workflows := pinnedFiles(t)
	for _, f := range workflows {
		src := readFile(t, f)
		for _, msg := range unpinnedActions(f, src) {
			t.Error(msg)
		}
		for _, msg := range loosePermissions(f, src) {
			t.Error(msg)
		}
	}
}

// TestGoVersionPinned: go.mod names the exact toolchain, and the workflow
// sets up that same version rather than the newest of a minor line.
func TestGoVersionPinned(t *testing.T) {
	m := regexp.MustCompile(`(?m)^toolchain go(\d+\.\d+\.\d+)$`).FindSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatalf("go.mod has no exact toolchain line (toolchain go1.X.Y)")
	}
	want := string(m[1])
	_, workflows := pinnedFiles(t)
	for _, f := range workflows {
		for _, m := range regexp.MustCompile(`go-version:\s*"?([^"\s]+)"?`).FindAllStringSubmatch(string(readFile(t, f)), -1) {
			if m[1] != want {
				t.Errorf("%s: go-version %s, want %s (go.mod's toolchain)", f, m[1], want)
			}
		}
	}
}

// TestPinningChecksCatchMistakes shows each check rejects what it is for.
func TestPinningChecksCatchMistakes(t *testing.T) {
	docker := []struct{ name, src string }{
		{"tag only", "FROM golang:1.26-bookworm AS build\n"},
		{"latest", "FROM --platform=$BUILDPLATFORM alpine\n"},
		{"short digest", "FROM alpine@sha256:abc\n"},
		{"final stage tag only", "FROM golang:1.26@sha256:" + strings.Repeat("a", 64) + " AS build\nFROM build AS test\nFROM gcr.io/distroless/static-debian12:nonroot\n"},
	}
	for _, tc := range docker {
		if len(unpinnedImages("Dockerfile", []byte(tc.src))) == 0 {
			t.Errorf("Dockerfile %s: accepted", tc.name)
		}
	}
	good := "FROM golang:1.26@sha256:" + strings.Repeat("a", 64) + " AS build\nFROM build AS test\nFROM scratch\n"
	if bad := unpinnedImages("Dockerfile", []byte(good)); len(bad) > 0 {
		t.Errorf("a pinned Dockerfile is rejected: %v", bad)
	}

	sha := strings.Repeat("0", 40)
	for _, tc := range []struct{ name, line string }{
		{"major tag", "      - uses: actions/checkout@v4"},
		{"branch", "        uses: actions/setup-go@main"},
		{"short sha", "        uses: actions/checkout@11d5960"},
		{"no version comment", "        uses: actions/checkout@" + sha},
		{"docker tag", "        uses: docker://alpine:3"},
	} {
		if len(unpinnedActions("wf.yml", []byte(tc.line+"\n"))) == 0 {
			t.Errorf("workflow %s: accepted", tc.name)
		}
	}
	if bad := unpinnedActions("wf.yml", []byte("      - uses: actions/checkout@"+sha+" # v4.4.0\n      - uses: ./local\n")); len(bad) > 0 {
		t.Errorf("a pinned workflow is rejected: %v", bad)
	}

	for _, tc := range []struct{ name, src string }{
		{"top-level write", "permissions:\n  contents: write\njobs:\n  a:\n    permissions: {contents: read}\n"},
		{"no top-level", "jobs:\n  a:\n    permissions: {contents: read}\n"},
		{"job without permissions", "permissions: {}\njobs:\n  a:\n    runs-on: x\n"},
		{"job write-all", "permissions: {}\njobs:\n  a:\n    permissions: write-all\n"},
	} {
		if len(loosePermissions("wf.yml", []byte(tc.src))) == 0 {
			t.Errorf("permissions %s: accepted", tc.name)
		}
	}
}
