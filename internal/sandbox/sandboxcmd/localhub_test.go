package sandboxcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalhubUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"localhub"},
		{"localhub", "--repo", filepath.Join(dir, "missing.git")},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--checks", "green"},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--latency", "-1s"},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--token", "a", "--token-env", "HOME"},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--token-env", "CREDROTATE_TEST_UNSET_VARIABLE"},
		{"localhub", "extra"},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--app-id", "5"},
		{"localhub", "--repo", filepath.Join(dir, "x.git"), "--init", "--app-id", "5", "--app-key-file", filepath.Join(dir, "nokey.pem")},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runCmd(t, "", args...)
			if code != exitUsage || stderr == "" {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
		})
	}
}

func TestLocalhubCommandServesAndStops(t *testing.T) {
	const token = "cmd-test-token-123"
	t.Setenv("LOCALHUB_TEST_TOKEN", token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	repo := filepath.Join(t.TempDir(), "gitops.git")
	var stdout, stderr emuSyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"localhub", "--listen", "127.0.0.1:0", "--repo", repo, "--init", "--token-env", "LOCALHUB_TEST_TOKEN"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	var apiURL, gitURL string
	for apiURL == "" || gitURL == "" {
		select {
		case err := <-done:
			t.Fatalf("localhub stopped: %v\n%s", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "API URL:"); ok {
				apiURL = strings.Fields(v)[0]
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "git URL:"); ok {
				gitURL = strings.TrimSpace(v)
			}
		}
	}
	if !strings.Contains(stdout.String(), "GraphQL URL:") {
		t.Errorf("banner:\n%s", stdout.String())
	}

	// Push a first commit over smart HTTP with the token, as a person would.
	work := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "--quiet", "--initial-branch=main")
	git("commit", "--quiet", "--allow-empty", "-m", "first")
	git("push", "--quiet", strings.Replace(gitURL, "http://", "http://x-access-token:"+token+"@", 1), "HEAD:refs/heads/main")
	if out := git("ls-remote", gitURL); !strings.Contains(out, "refs/heads/main") {
		t.Fatalf("ls-remote: %s", out)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stopping: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("localhub did not stop")
	}
	if logs := stderr.String(); !strings.Contains(logs, "git-receive-pack -> 200") || strings.Contains(logs, token) {
		t.Errorf("logs:\n%s", logs)
	}
	if strings.Contains(stdout.String(), token) {
		t.Error("the banner prints the token")
	}
}
