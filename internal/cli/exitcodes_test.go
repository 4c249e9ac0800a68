package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// startDemo is a demo world for one test, with its token exported.
func startDemo(t *testing.T, opts demo.Options) *demo.World {
	t.Helper()
	opts.Dir = t.TempDir()
	w, err := demo.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	t.Setenv(demo.TokenEnv, demo.Token)
	return w
}

// TestExitCodesAsDocumented runs one case of every exit code of the
// README's table, each through the whole program.
func TestExitCodesAsDocumented(t *testing.T) {
	t.Run("0 success", func(t *testing.T) {
		w := startDemo(t, demo.Options{})
		out, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--log-level", "error")
		if code != exitOK || !strings.Contains(out, "RESULT") {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
	})
	t.Run("0 nothing to do", func(t *testing.T) {
		w := startDemo(t, demo.Options{ExpiresIn: 120 * 24 * 60 * 60 * 1e9})
		out, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--log-level", "error")
		if code != exitOK || w.Emulator.Calls(emulator.OpRenew) != 0 {
			t.Fatalf("exit %d, %d renew calls\n%s\n%s", code, w.Emulator.Calls(emulator.OpRenew), out, stderr)
		}
	})
	t.Run("1 a rotation failed", func(t *testing.T) {
		w := startDemo(t, demo.Options{})
		w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultUnavailable, Count: 50})
		out, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--log-level", "error")
		if code != exitFailure || !strings.Contains(stderr, "rotation failed") {
			t.Fatalf("exit %d, want 1\n%s\n%s", code, out, stderr)
		}
		if len(w.Hub.Issues()) == 0 {
			t.Fatal("exit 1 without an alert issue")
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *demo.World)
		args  []string
		want  []string
	}{
		{name: "2 bare renew", want: []string{"--cron-mode", "--provider-key", "--all", "renews nothing"}},
		{name: "2 --all with --provider-key", args: []string{"--all", "--provider-key", "equifax.client_001"}, want: []string{"contradict"}},
		{name: "2 unknown flag", args: []string{"--cron"}, want: []string{"unknown flag: --cron", "did you mean --cron-mode?"}},
		{
			name:  "2 missing GitHub token",
			setup: func(t *testing.T, _ *demo.World) { t.Setenv(demo.TokenEnv, "") },
			args:  []string{"--cron-mode"},
			want:  []string{demo.TokenEnv, "github.tokenEnv", "is empty", "exit 2", "nothing was renewed"},
		},
		{
			name:  "2 rejected GitHub token",
			setup: func(t *testing.T, _ *demo.World) { t.Setenv(demo.TokenEnv, "ghp_not-the-token") },
			args:  []string{"--cron-mode"},
			want:  []string{"rejected the credentials (401", "exit 2"},
		},
		{
			name: "2 bad configuration",
			setup: func(t *testing.T, w *demo.World) {
				b, err := os.ReadFile(w.ConfigPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(w.ConfigPath, []byte(strings.Replace(string(b), "renewBefore: 336h", "renewBefore: soon", 1)), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			args: []string{"--cron-mode"},
			want: []string{"rotation.renewBefore", "soon", "is not a duration"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startDemo(t, demo.Options{})
			if tc.setup != nil {
				tc.setup(t, w)
			}
			args := append([]string{"renew", "--config", w.ConfigPath, "--log-level", "error"}, tc.args...)
			out, stderr, code := runCmd(t, "", args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, out, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "missing permission") {
				t.Errorf("reported as a missing permission:\n%s", stderr)
			}
			if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
				t.Errorf("%d renew calls on an exit 2", n)
			}
			if prs := w.Hub.PullRequests(); len(prs) != 0 {
				t.Errorf("%d pull requests on an exit 2", len(prs))
			}
		})
	}
}

func TestNoConfigFound(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"renew", "--cron-mode"}, {"status"}, {"config", "validate"}} {
		_, stderr, code := runCmd(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, "no configuration file was found (looked for ./credrotate.yaml)") || !strings.Contains(stderr, "--config") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
}

func TestNearestFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"renew", "--cron"}, "did you mean --cron-mode?"},
		{[]string{"renew", "--provider-kye", "x"}, "did you mean --provider-key?"},
		{[]string{"renew", "--dryrun"}, "did you mean --dry-run?"},
		{[]string{"status", "--config-file", "x"}, "did you mean --config?"},
		{[]string{"config", "validate", "--onlin"}, "did you mean --online?"},
		{[]string{"renew", "--zzzzzzzz"}, "renew --help lists the flags"},
	} {
		_, stderr, code := runCmd(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, stderr)
		}
		if tc.want == "renew --help lists the flags" && strings.Contains(stderr, "did you mean") {
			t.Errorf("%v: a far-off flag got a suggestion:\n%s", tc.args, stderr)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"cron", "cron-mode", 5}, {"dryrun", "dry-run", 1}, {"abc", "abc", 0}} {
		if got := levenshtein(tc.a, tc.b); got != tc.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
		if got := levenshtein(tc.b, tc.a); got != tc.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.d)
		}
	}
}
