package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// TestConcurrentRuns: two runs started at the same moment on one machine;
// exactly one renews. The other either finds this machine's run lock held
// and exits 3 ("busy"), its JSON answer and message naming the lock and
// saying it changed nothing, or (when the first is already done) runs after
// it, finds nothing to do and exits 0. There is one pull request.
func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	var wg sync.WaitGroup
	results := make([]result, 2)
	start := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = w.run(nil, "renew", "--cron-mode", "-o", "json")
		}()
	}
	close(start)
	wg.Wait()
	renewed := 0
	for _, r := range results {
		switch r.code {
		case 0:
			if strings.Contains(r.stdout, `"action": "renew"`) {
				renewed++
			}
		case 3:
			var busy struct {
				Outcome string `json:"outcome"`
				Error   string `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &busy); err != nil {
				t.Fatalf("the busy run's answer is not JSON: %v\n%s", err, r.stdout)
			}
			if busy.Outcome != "busy" {
				t.Errorf("the busy run's outcome is %q, want busy", busy.Outcome)
			}
			msg := lastLines(r.stderr, 3)
			for _, want := range []string{"another credrotate run", "in progress on this machine", ".lock", "this run changed nothing"} {
				if !strings.Contains(busy.Error, want) || !strings.Contains(msg, want) {
					t.Errorf("the busy run does not say %q:\n%s\n%s", want, r.stdout, msg)
				}
			}
		default:
			t.Fatalf("a run failed: exit %d\n%s", r.code, lastLines(r.stderr, 20))
		}
	}
	if renewed != 1 {
		t.Fatalf("%d runs renewed, want exactly 1:\n%s\n---\n%s", renewed, results[0].stdout, results[1].stdout)
	}
	if got := w.Emulator.Calls(emulator.OpRenew); got != len(w.due()) {
		t.Errorf("%d renew calls, want %d", got, len(w.due()))
	}
	if n := len(w.Hub.PullRequests()); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
	w.checkInvariants("after two concurrent runs")
	w.finishCycle()
}

// TestBadInputStopsBeforeRenewing: every kind of bad input ends the run in
// preflight with a message that says what to fix, and nothing is renewed.
func TestBadInputStopsBeforeRenewing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  demo.Options
		spoil func(t *testing.T, w *world)
		code  int
		want  []string
	}{
		{
			name: "missing current secret",
			spoil: func(t *testing.T, w *world) {
				if err := os.Remove(w.CurrentFile(w.Keys[0].Key)); err != nil {
					t.Fatal(err)
				}
			},
			code: 2, want: []string{"current secret", string(w0key), "no such file", "exit 2"},
		},
		{
			name: "expired certificate",
			spoil: func(t *testing.T, w *world) {
				writeExpiredCert(t, filepath.Join(w.Dir, "keys", "prod.crt"))
			},
			code: 2, want: []string{"prod", "expired", "exit 2"},
		},
		{
			name: "overlay folder missing",
			spoil: func(t *testing.T, w *world) {
				editConfig(t, w, "path: overlays/uat/credentials", "path: overlays/qa/credentials")
			},
			code: 2, want: []string{"overlays/qa/credentials", "does not exist", "uat", "exit 2"},
		},
		{
			name: "manifest that does not parse",
			spoil: func(t *testing.T, w *world) {
				_, err := w.Hub.CommitFiles(context.Background(), "main", "", "a person's edit", map[string][]byte{
					"overlays/prod/credentials/" + string(w.Keys[1].Key) + ".yaml": []byte("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    credrotate.io/provider-key: [unclosed\n"),
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			code: 1, want: []string{"overlays/prod/credentials/" + string(w1key) + ".yaml"},
		},
		{
			name: "token without push rights",
			opts: demo.Options{HubPermissions: localhub.Permissions{Contents: localhub.AccessRead}},
			code: 2, want: []string{"push", "exit 2"},
		},
		{
			name: "bad configuration",
			spoil: func(t *testing.T, w *world) {
				editConfig(t, w, "renewBefore: 336h", "renewBefore: soon")
			},
			code: 2, want: []string{"rotation.renewBefore", "soon", "is not a duration"},
		},
		{
			name: "unknown provider key",
			code: 2, want: []string{"--provider-key", "equifax.nope", "is not configured"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.opts)
			if tc.spoil != nil {
				tc.spoil(t, w)
			}
			args := []string{"renew", "--cron-mode"}
			if tc.name == "unknown provider key" {
				args = []string{"renew", "--provider-key", "equifax.nope"}
			}
			res := w.run(nil, args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", res.code, tc.code, lastLines(res.stderr, 10))
			}
			msg := lastLines(res.stderr, 5)
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("the message does not say %q:\n%s", want, msg)
				}
			}
			if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
				t.Errorf("%d renews despite bad input", n)
			}
			if n := len(w.Hub.PullRequests()); n != 0 {
				t.Errorf("%d pull requests despite bad input", n)
			}
		})
	}
}

// The demo's key names, for messages built before a world exists.
const (
	w0key = "equifax.client_001"
	w1key = "equifax.client_002"
)

func editConfig(t *testing.T, w *world, from, to string) {
	t.Helper()
	b, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(from)) {
		t.Fatalf("the config has no %q", from)
	}
	if err := os.WriteFile(w.ConfigPath, bytes.Replace(b, []byte(from), []byte(to), 1), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeExpiredCert(t *testing.T, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"}, NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCanaryNowhere runs the whole pipeline — renew, a failure, the rollout
// and the finish — and then looks for every secret that existed (the seeded
// ones and the renewed ones) in everything a secret must never reach: the
// logs and output of every run, pull request and issue bodies and comments,
// commit messages, every object in the git repository, and the metrics file.
func TestCanaryNowhere(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	var secrets []string
	readCurrent := func() {
		for _, k := range w.Keys {
			b, err := os.ReadFile(w.CurrentFile(k.Key))
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, strings.TrimSpace(string(b)))
		}
	}
	readCurrent()
	metrics := filepath.Join(t.TempDir(), "credrotate.prom")
	w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultDropResponse})
	w.mustRun("renew", "--cron-mode", "--metrics-file", metrics, "--log-level", "debug")
	if _, err := w.Rollout(context.Background()); err != nil {
		t.Fatal(err)
	}
	readCurrent()
	w.Emulator.Script(emulator.Fault{Op: emulator.OpRevoke, Kind: emulator.FaultUnavailable, Count: 50})
	w.run(nil, "renew", "--cron-mode", "--log-level", "debug")
	w.Emulator.ClearFaults()
	w.mustRun("renew", "--cron-mode", "--metrics-file", metrics, "--log-level", "debug")
	w.mustRun("status", "-o", "json")

	var hay bytes.Buffer
	hay.Write(w.logs.Bytes())
	for _, pr := range w.Hub.PullRequests() {
		hay.WriteString(pr.Title + pr.Body)
		for _, c := range pr.Comments {
			hay.WriteString(c.Body)
		}
	}
	for _, is := range w.Hub.Issues() {
		hay.WriteString(is.Title + is.Body)
		for _, c := range is.Comments {
			hay.WriteString(c.Body)
		}
	}
	m, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(m, []byte("credrotate_secret_expiry_timestamp_seconds")) {
		t.Fatalf("metrics file lacks the expiry gauge:\n%s", m)
	}
	hay.Write(m)
	objects, err := exec.Command("git", "--git-dir", w.Hub.RepoDir(), "cat-file", "--batch-all-objects", "--batch").Output()
	if err != nil {
		t.Fatal(err)
	}
	hay.Write(objects)
	cfg, _ := os.ReadFile(w.ConfigPath)
	hay.Write(cfg)
	tmp, _ := os.ReadDir(os.TempDir())
	for _, e := range tmp {
		hay.WriteString(e.Name())
	}
	if len(secrets) != 2*len(w.Keys) || hay.Len() < 10000 {
		t.Fatalf("the test looked at too little: %d secrets, %d bytes", len(secrets), hay.Len())
	}
	for _, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("implausible secret %q", s)
		}
		if bytes.Contains(hay.Bytes(), []byte(s)) {
			t.Fatalf("a secret (fingerprint of length %d) leaked into logs, bodies, commits, git objects or metrics", len(s))
		}
	}
}

// TestPreflightFailureReportsJSON: with -o json a run that stops in
// preflight still prints a machine-readable report.
func TestPreflightFailureReportsJSON(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	if err := os.Remove(w.CurrentFile(w.Keys[0].Key)); err != nil {
		t.Fatal(err)
	}
	res := w.run(nil, "renew", "--cron-mode", "-o", "json")
	if res.code != 2 || !strings.Contains(res.stdout, `"outcome": "failed"`) || !strings.Contains(res.stdout, `"failedStep": "preflight current secret"`) || !strings.Contains(res.stdout, `"alert": "http`) {
		t.Fatalf("exit %d, stdout:\n%s", res.code, res.stdout)
	}
}
