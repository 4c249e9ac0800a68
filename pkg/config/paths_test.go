package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverlayPathsWellFormed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want string // "" for no problem
	}{
		{"overlays/prod/credentials", ""},
		{"credentials", ""},
		{"./overlays/prod/credentials", "write it as overlays/prod/credentials"},
		{"overlays//prod/credentials", "write it as overlays/prod/credentials"},
		{"overlays/prod/credentials/", "write it as overlays/prod/credentials"},
		{"overlays/prod/../uat/credentials", `has a ".." segment`},
		{".", "is the repository root"},
		{"overlays/prod /credentials", ""},
		{" overlays/prod", "spaces or control characters"},
		{"overlays/pr\nod", "spaces or control characters"},
		// These leave the repository: validateEnvironments says so, once.
		{"/abs/overlays", ""},
		{"../elsewhere", ""},
	} {
		c := &Config{Environments: []Environment{{Name: "prod", Path: tc.path}}}
		var ps problems
		c.validatePaths(&ps)
		switch {
		case tc.want == "" && len(ps.list) != 0:
			t.Errorf("%q: unexpected problems %v", tc.path, ps.list)
		case tc.want != "" && (len(ps.list) != 1 || !strings.Contains(ps.list[0].String(), tc.want) || ps.list[0].Key != "environments[0].path"):
			t.Errorf("%q: problems %v, want one on environments[0].path saying %q", tc.path, ps.list, tc.want)
		}
	}
}

// TestProblemKeysKeepTheFileSpelling: viper lower-cases every key; the
// messages use the file's spelling, and the reference's where the file
// has none.
func TestProblemKeysKeepTheFileSpelling(t *testing.T) {
	t.Parallel()
	s := spelling{}
	s.addYAML([]byte("GitHub:\n  AutoMerge: {Strategi: x}\nequifax:\n  RenewBefore: soon\nproviders:\n  - {Key: a, CurrentSecret: {}}\n"))
	for in, want := range map[string]string{
		"github.automerge.strategi":         "GitHub.AutoMerge.Strategi",
		"equifax.renewBefore":               "equifax.RenewBefore",
		"providers[0].currentSecret":        "providers[0].CurrentSecret",
		"git.author.email":                  "git.author.email",
		"github.teamreviewers":              "GitHub.teamReviewers",
		"CREDROTATE_EQUIFAX_TYPO":           "CREDROTATE_EQUIFAX_TYPO",
		"environments[2].cert":              "environments[2].cert",
		"pullrequest.grouping":              "pullRequest.grouping",
		"equifax.enableclientsecretrenewal": "equifax.enableClientSecretRenewal",
	} {
		if got := s.respell(in); got != want {
			t.Errorf("respell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadKeepsTheFileSpelling(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "credrotate.yaml")
	bad := strings.Replace(string(good), "autoMerge: {enabled: true, method: squash, strategy: native}", "autoMerge: {enabled: true, method: squash, strategy: native, mergeWhenGreen: true}", 1)
	bad = strings.Replace(bad, "renewBefore: 336h", "renewBefore: soon", 1)
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{Path: p, Environ: []string{}})
	for _, want := range []string{"github.autoMerge.mergeWhenGreen is not a known configuration key", `equifax.renewBefore = "soon"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

func TestLoadNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(LoadOptions{Dir: dir, Environ: []string{}})
	var nf *NoFileError
	if !errors.Is(err, ErrNoFile) || !errors.As(err, &nf) || !strings.Contains(err.Error(), "no configuration file was found (looked for "+filepath.Join(dir, DefaultFile)+")") {
		t.Fatalf("err = %v", err)
	}
	if got := (&NoFileError{Looked: defaultFileShown("")}).Error(); got != "no configuration file was found (looked for ./credrotate.yaml)" {
		t.Fatalf("message %q", got)
	}
}
