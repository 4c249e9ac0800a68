// Package rotation holds credrotate's end-to-end tests: the built binary,
// run as a child process the way a CronJob runs it, against the Equifax
// emulator, a real git server (git http-backend behind localhub) and
// localhub's GitHub API. They cover the rotation state machine, crashes at
// every step boundary, faults at every call, concurrent runs, bad input and
// secret hygiene.
package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
	"github.com/credrotate/credrotate/pkg/seal"
)

// binary is credrotate; sandbox is credrotate-sandbox (credrotate with the
// demo, the emulators and localhub), for the tests that run the demo.
var binary, sandbox string

// TestMain runs the tests against the binaries CREDROTATE_BIN and
// CREDROTATE_SANDBOX_BIN name (make test builds them once, with make
// build's flags, before any test starts), or else builds them here, so that
// `go test ./test/rotation` alone works.
func TestMain(m *testing.M) {
	dir := ""
	for _, b := range []struct {
		env, cmd string
		dst      *string
	}{
		{"CREDROTATE_BIN", "credrotate", &binary},
		{"CREDROTATE_SANDBOX_BIN", "credrotate-sandbox", &sandbox},
	} {
		if bin := os.Getenv(b.env); bin != "" {
			abs, err := filepath.Abs(bin)
			if err == nil {
				_, err = os.Stat(abs)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s=%s: %v (run make build, or unset it to build one here)\n", b.env, bin, err)
				os.Exit(1)
			}
			*b.dst = abs
			continue
		}
		if dir == "" {
			d, err := os.MkdirTemp("", "credrotate-e2e-bin-")
			if err != nil {
				panic(err)
			}
			dir = d
		}
		*b.dst = filepath.Join(dir, b.cmd)
		fmt.Fprintf(os.Stderr, "test/rotation: %s is not set; building %s (make test builds it once instead)\n", b.env, b.cmd)
		build := exec.Command("go", "build", "-trimpath", "-o", *b.dst, "github.com/credrotate/credrotate/cmd/"+b.cmd)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building "+b.cmd+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// world is a demo world with the helpers the tests share.
type world struct {
	*demo.World
	t *testing.T
	// seeded is each key's secret id when the world was made.
	seeded map[credential.ProviderKey]string
	// logs collects every run's output, for the canary checks.
	logs bytes.Buffer
}

func newWorld(t *testing.T, opts demo.Options) *world {
	t.Helper()
	opts.Dir = t.TempDir()
	w, err := demo.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ww := &world{World: w, t: t, seeded: map[credential.ProviderKey]string{}}
	for _, k := range w.Keys {
		ww.seeded[k.Key] = k.SecretID
	}
	return ww
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
	killed         bool
}

// run runs credrotate with args against the world's configuration.
func (w *world) run(env []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, "--config", w.ConfigPath, "--log-format", "json")...)
	cmd.Env = append(os.Environ(), demo.TokenEnv+"="+demo.Token)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() && st.Signal() == syscall.SIGKILL {
			res.killed = true
		}
	default:
		w.t.Fatalf("running credrotate: %v", err)
	}
	w.logs.WriteString(res.stdout + res.stderr)
	return res
}

// mustRun runs and requires exit 0.
func (w *world) mustRun(args ...string) result {
	w.t.Helper()
	res := w.run(nil, args...)
	if res.code != 0 {
		w.t.Fatalf("credrotate %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, res.code, res.stdout, lastLines(res.stderr, 30))
	}
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// due are the keys the demo seeds inside their renewal window.
func (w *world) due() []demo.Key {
	var out []demo.Key
	for _, k := range w.Keys {
		if k.ExpiresIn <= 14*24*time.Hour {
			out = append(out, k)
		}
	}
	return out
}

// checkInvariants are the safety properties that hold after every run,
// crashed or not: at most two valid secrets per client, at most one open
// pull request per key, and the base branch deploying a secret Equifax
// accepts.
// prKeys is what an open pull request proposes, read as a run reads it:
// the manifests its branch's commit changes in the bare repository.
func (w *world) prKeys(pr localhub.PR) []forge.KeyState {
	w.t.Helper()
	repo, err := git.PlainOpen(w.Hub.RepoDir())
	if err != nil {
		w.t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(pr.Head), true)
	if err != nil {
		w.t.Fatalf("pull request #%d's branch %s: %v", pr.Number, pr.Head, err)
	}
	files, err := gitops.CommitChanges(repo.Storer, ref.Hash())
	if err != nil {
		w.t.Fatalf("pull request #%d's branch %s: %v", pr.Number, pr.Head, err)
	}
	keys, err := rotate.ProposedKeys(files, nil)
	if err != nil {
		w.t.Fatalf("pull request #%d's branch %s: %v", pr.Number, pr.Head, err)
	}
	return keys
}

func (w *world) checkInvariants(when string) {
	w.t.Helper()
	for _, k := range w.Keys {
		if n := w.Service.ValidSecrets(k.ClientID); n > 2 {
			w.t.Errorf("%s: client %s has %d valid secrets", when, k.ClientID, n)
		}
	}
	perKey := map[string]int{}
	for _, pr := range w.Hub.PullRequests() {
		if pr.State != "open" {
			continue
		}
		if _, ok, err := forge.ParseState(pr.Body); err != nil || !ok {
			continue
		}
		for _, k := range w.prKeys(pr) {
			perKey[k.ProviderKey]++
			if perKey[k.ProviderKey] > 1 {
				w.t.Errorf("%s: key %s has two open pull requests", when, k.ProviderKey)
			}
		}
	}
	// prod is what the workload runs with; an environment on SOPS is
	// decrypted with its age identity (as kustomize-controller does) and
	// must deploy a valid secret too.
	envs := []string{"prod"}
	for _, env := range demo.Environments {
		if _, onSOPS := w.AgeIdentity[env]; onSOPS && env != "prod" {
			envs = append(envs, env)
		}
	}
	for _, env := range envs {
		_, onSOPS := w.AgeIdentity[env]
		for _, k := range w.Keys {
			if onSOPS {
				name := "overlays/" + env + "/credentials/" + string(k.Key) + ".yaml"
				b, err := w.MainFile(context.Background(), name)
				if err != nil {
					w.t.Errorf("%s: %v", when, err)
					continue
				}
				if ms, err := seal.ParseManifests(name, b); err != nil || len(ms) != 1 || ms[0].Encryption != seal.EncryptionSOPS {
					w.t.Errorf("%s: main's %s is not one SOPS Secret (%v)", when, name, err)
				}
			}
			s, err := w.Unseal(context.Background(), env, k.Key)
			if err != nil {
				w.t.Errorf("%s: %v", when, err)
				continue
			}
			if !w.Service.Accepts(k.ClientID, s.Reveal()) {
				w.t.Errorf("%s: main's %s deploys a secret of %s that %s does not accept", when, env, k.Key, w.Service.Title())
			}
		}
	}
}

// mainSecretID is the secret id main's prod manifest of k carries.
func (w *world) mainSecretID(k credential.ProviderKey) string {
	w.t.Helper()
	b, err := w.MainFile(context.Background(), "overlays/prod/credentials/"+string(k)+".yaml")
	if err != nil {
		w.t.Fatal(err)
	}
	ms, err := seal.ParseManifests(string(k), b)
	if err != nil || len(ms) != 1 {
		w.t.Fatalf("parsing %s: %v", k, err)
	}
	return ms[0].Metadata.SecretID
}

// finishCycle plays the rollout, runs once more to revoke the old secrets,
// and proves the end state: every due key rotated, one valid secret each,
// every manifest decrypting to a secret Equifax accepts.
func (w *world) finishCycle() {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.Rollout(ctx); err != nil {
		w.t.Fatal(err)
	}
	w.mustRun("renew", "--cron-mode")
	for _, k := range w.due() {
		if id := w.mainSecretID(k.Key); id == w.seeded[k.Key] {
			w.t.Errorf("%s was not rotated: main still deploys %s", k.Key, id)
		}
		if n := w.Service.ValidSecrets(k.ClientID); n != 1 {
			w.t.Errorf("%s: %d valid secrets after the finish, want 1 (old one revoked)", k.Key, n)
		}
	}
	if _, err := w.Prove(ctx); err != nil {
		w.t.Fatal(err)
	}
	w.checkInvariants("after the finish")
}

// report decodes a run's JSON report.
type report struct {
	TraceID string `json:"traceId"`
	Results []struct {
		ProviderKey string `json:"providerKey"`
		Action      string `json:"action"`
		Outcome     string `json:"outcome"`
		SecretID    string `json:"secretId"`
		PullRequest string `json:"pullRequest"`
		FailedStep  string `json:"failedStep"`
	} `json:"results"`
	PullRequests []string `json:"pullRequests"`
}

func parseReport(t *testing.T, stdout string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout)
	}
	return r
}
