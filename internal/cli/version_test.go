package cli

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCmd(t, "", "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var info versionInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if info.Version != version || info.Commit != commit || info.Date != date {
		t.Errorf("stamped fields %+v, want %s %s %s", info, version, commit, date)
	}
	if info.GoVersion != runtime.Version() {
		t.Errorf("goVersion %q, want %q", info.GoVersion, runtime.Version())
	}
	if info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("platform %q", info.Platform)
	}
}

func TestVersionUnknownOutput(t *testing.T) {
	t.Parallel()
	if _, _, code := runCmd(t, "", "version", "-o", "yaml"); code != exitUsage {
		t.Fatalf("version -o yaml: exit %d, want %d", code, exitUsage)
	}
}

func TestVersionModulesFromBuildInfo(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Deps: []*debug.Module{
			{Path: "github.com/google/go-github/v60", Version: "v60.0.0"},
			{Path: "github.com/spf13/viper", Version: "v1.21.0", Replace: &debug.Module{Path: "example.com/viper", Version: "v1.21.1"}},
			{Path: "github.com/sirupsen/logrus", Version: "v1.10.2", Replace: &debug.Module{Path: "../logrus"}},
			{Path: "github.com/unrelated/module", Version: "v9.9.9"},
			nil,
		},
	}
	info := buildVersionInfo(func() (*debug.BuildInfo, bool) { return bi, true })
	want := map[string]string{
		"github.com/google/go-github/v60": "v60.0.0",
		"github.com/spf13/viper":          "v1.21.1",
		"github.com/sirupsen/logrus":      "(replaced by ../logrus)",
	}
	if len(info.Modules) != len(want) {
		t.Errorf("modules %v, want %v", info.Modules, want)
	}
	for m, v := range want {
		if info.Modules[m] != v {
			t.Errorf("%s: %q, want %q", m, info.Modules[m], v)
		}
	}
	if info.GoVersion != "go1.99.1" {
		t.Errorf("goVersion %q", info.GoVersion)
	}
	var b strings.Builder
	if err := printVersion(&b, "table", info); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"github.com/google/go-github/v60", "v60.0.0", "github.com/go-git/go-git/v5", "(not linked)", "go1.99.1"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, b.String())
		}
	}
	none := buildVersionInfo(func() (*debug.BuildInfo, bool) { return nil, false })
	if len(none.Modules) != 0 || none.GoVersion != runtime.Version() {
		t.Errorf("without build info: %+v", none)
	}
}
