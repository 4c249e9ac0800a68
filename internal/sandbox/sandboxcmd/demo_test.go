package sandboxcmd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// normalise replaces what differs from run to run in the demo's output —
// folders, ports, times, trace and secret ids, fingerprints, durations, the
// binary's path — by placeholders of the same width, so columns stay
// aligned.
func normalise(out, dir, exe string) string {
	out = strings.ReplaceAll(out, exe, "BIN")
	out = strings.ReplaceAll(out, dir, "DIR")
	for _, r := range []struct {
		re   *regexp.Regexp
		with func(string) string
	}{
		{regexp.MustCompile(`127\.0\.0\.1:\d+`), func(string) string { return "127.0.0.1:PORT" }},
		{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), func(string) string { return "YYYY-MM-DDTHH:MM:SSZ" }},
		{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`), func(string) string { return "YYYY-MM-DD HH:MM UTC" }},
		{regexp.MustCompile(`\b\d{4}-\d\d-\d\d\b`), func(string) string { return "YYYY-MM-DD" }},
		{regexp.MustCompile(`\b[0-9a-f]{16}\b`), func(s string) string { return strings.Repeat("x", len(s)) }},
		{regexp.MustCompile(`sec-[0-9a-f]{16}`), func(string) string { return "sec-XXXXXXXXXXXXXXXX" }},
		{regexp.MustCompile(`demo took \d+s`), func(string) string { return "demo took Ns" }},
		// Days left in the status table: the clock moves while the demo runs.
		{regexp.MustCompile(`YYYY-MM-DD  +\d+ `), func(s string) string { return regexp.MustCompile(`\d`).ReplaceAllString(s, "N") }},
	} {
		out = r.re.ReplaceAllStringFunc(out, r.with)
	}
	return out
}

// TestDemoGolden runs the demo at the default level and compares what a
// person reads with testdata/demo.golden: the tables, the rendered pull
// request, the rollout, status and the proof, and no log line. Rewrite it
// with go test -run TestDemoGolden ./cmd/credrotate -args -update.
func TestDemoGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, stderr, code := runCmd(t, "", "demo", "--workdir", dir)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	if stderr != "" {
		t.Errorf("the demo wrote to stderr at the default level:\n%s", stderr)
	}
	for _, logMark := range []string{"level=", `"level":`, "trace_id=", "Enumerating objects", "Counting objects", "credrotate:state", "<!--", "**"} {
		if strings.Contains(out, logMark) {
			t.Errorf("the output carries %q (a log line, git progress or raw markdown)", logMark)
		}
	}
	logs, err := os.ReadFile(filepath.Join(dir, "demo.log"))
	if err != nil || !strings.Contains(string(logs), "level=info") {
		t.Errorf("the logs did not go to demo.log: %v\n%s", err, logs)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got := normalise(out, dir, exe)
	golden := filepath.Join("testdata", "demo.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("the demo's output differs from %s (rerun with -update if the change is meant):\n%s", golden, lineDiff(string(want), got))
	}

	// With --log-level the logs come back to stderr.
	_, stderr, code = runCmd(t, "", "demo", "--workdir", filepath.Join(t.TempDir(), "loud"), "--keys", "1", "--log-level", "info")
	if code != 0 || !strings.Contains(stderr, "level=info") && !strings.Contains(stderr, `"level":"info"`) {
		t.Errorf("--log-level info: exit %d, stderr has no log lines:\n%s", code, stderr)
	}
}

// TestDemoCleansUp: without --workdir the temporary folder goes, and the
// run lock of the demo's repository with it.
func TestDemoCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, stderr, code := runCmd(t, "", "demo", "--keys", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind in the temporary folder: %s", e.Name())
	}
	if !strings.Contains(out, "temporary folder is removed") {
		t.Errorf("the output does not say the folder is removed:\n%s", out)
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
