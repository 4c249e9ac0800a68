package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func baseFiles() map[string]string {
	return map[string]string{
		"README.md": "gitops\n",
		"overlays/prod/credentials/kustomization.yaml": "resources: []\n",
		"overlays/staging/credentials/old.yaml":        "old\n",
	}
}

func cloneOpts(r *remoteRepo) Options {
	return Options{
		URL:    r.URL(),
		Author: Signature{Name: "credrotate", Email: "bot@example.com"},
		Now:    fixedNow,
	}
}

func mustClone(t *testing.T, opts Options) *Workspace {
	t.Helper()
	w, err := Clone(context.Background(), opts)
	if err != nil {
		t.Fatalf("Clone: %v", err)
	}
	return w
}

func writeApply(files map[string]string) func(context.Context, FS) error {
	return func(_ context.Context, f FS) error {
		for name, data := range files {
			if err := f.WriteFile(name, []byte(data), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestCloneIsShallowSingleBranch(t *testing.T) {
	r := newRemote(t, baseFiles())
	r.commit("main", "second", map[string]string{"second.txt": "2\n"})
	r.commit("other", "other branch", map[string]string{"other.txt": "x\n"})

	for _, tc := range []struct {
		name string
		dir  bool
	}{{"memory", false}, {"dir", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := cloneOpts(r)
			if tc.dir {
				opts.Dir = filepath.Join(t.TempDir(), "clone")
			}
			w := mustClone(t, opts)
			if got, want := w.BaseSHA(), r.rev("main"); got != want {
				t.Fatalf("BaseSHA = %s, want %s", got, want)
			}
			c, err := w.repo.CommitObject(plumbing.NewHash(w.BaseSHA()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.repo.CommitObject(c.ParentHashes[0]); err == nil {
				t.Error("parent commit present: clone is not shallow")
			}
			refs, _ := w.repo.References()
			_ = refs.ForEach(func(ref *plumbing.Reference) error {
				if strings.Contains(ref.Name().String(), "other") {
					t.Errorf("clone holds %s: not single-branch", ref.Name())
				}
				return nil
			})
			data, err := w.ReadFile("overlays/prod/credentials/kustomization.yaml")
			if err != nil || string(data) != "resources: []\n" {
				t.Fatalf("ReadFile = %q, %v", data, err)
			}
			entries, err := w.ReadDir("")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, ","); got != "README.md,overlays,second.txt" {
				t.Errorf("ReadDir(root) = %s", got)
			}
			if _, err := w.Stat("nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(missing) = %v, want ErrNotExist", err)
			}
			if tc.dir {
				if _, err := os.Stat(filepath.Join(opts.Dir, "README.md")); err != nil {
					t.Errorf("clone in Dir has no files on disk: %v", err)
				}
			}
		})
	}
}

func TestFSRejectsPathsOutsideRepo(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	for _, name := range []string{"../escape", "/etc/passwd", ".git/config", "a/../../b"} {
		if err := w.WriteFile(name, []byte("x"), 0o644); !errors.Is(err, ErrOutsideRepo) {
			t.Errorf("WriteFile(%q) = %v, want ErrOutsideRepo", name, err)
		}
	}
}

func TestCloneErrors(t *testing.T) {
	t.Run("missing branch", func(t *testing.T) {
		r := newRemote(t, baseFiles())
		opts := cloneOpts(r)
		opts.BaseBranch = "nope"
		if _, err := Clone(context.Background(), opts); err == nil {
			t.Fatal("want error for a missing base branch")
		}
	})
	t.Run("non-empty dir", func(t *testing.T) {
		r := newRemote(t, baseFiles())
		opts := cloneOpts(r)
		opts.Dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(opts.Dir, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Clone(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("err = %v, want not empty", err)
		}
	})
	t.Run("token never in error", func(t *testing.T) {
		const token = "ghs_supersecrettoken123"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom for "+r.Header.Get("Authorization")+" "+token, http.StatusInternalServerError)
		}))
		t.Cleanup(srv.Close)
		for _, u := range []string{srv.URL + "/acme/gitops.git", strings.Replace(srv.URL, "http://", "http://x-access-token:"+token+"@", 1) + "/acme/gitops.git"} {
			_, err := Clone(context.Background(), Options{URL: u, Token: token})
			if err == nil {
				t.Fatal("want error")
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		}
	})
	t.Run("unauthorized", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(http.StatusUnauthorized)
		}))
		t.Cleanup(srv.Close)
		_, err := Clone(context.Background(), Options{URL: srv.URL + "/r.git", Token: "bad"})
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "auth") {
			t.Fatalf("err = %v, want an authentication error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(block); srv.Close() })
		_, err := Clone(context.Background(), Options{URL: srv.URL + "/r.git", CloneTimeout: 200 * time.Millisecond})
		var te *TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v, want *TimeoutError", err)
		}
	})
	t.Run("malformed response", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			_, _ = w.Write([]byte("this is not pkt-line"))
		}))
		t.Cleanup(srv.Close)
		if _, err := Clone(context.Background(), Options{URL: srv.URL + "/r.git"}); err == nil {
			t.Fatal("want error for a malformed advertisement")
		}
	})
	t.Run("ssh without key", func(t *testing.T) {
		_, err := Clone(context.Background(), Options{URL: "ssh://git@example.invalid/acme/gitops.git"})
		if err == nil || !strings.Contains(err.Error(), "sshKeyFile") {
			t.Fatalf("err = %v, want a hint at git.sshKeyFile", err)
		}
	})
}

func TestPublishCreatesBranch(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	msg := CommitMessage([]string{"equifax.a"}, []string{"prod", "staging"}, "trace-1")
	res, err := w.Publish(context.Background(), PublishRequest{
		Branch:  "credrotate/run-1",
		Message: msg,
		Apply: func(ctx context.Context, f FS) error {
			if err := f.WriteFile("overlays/prod/credentials/equifax.a.yaml", []byte("sealed-prod\n"), 0o644); err != nil {
				return err
			}
			return f.Remove("overlays/staging/credentials/old.yaml")
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if !res.Changed || !res.Pushed || res.Attempts != 1 || res.BaseSHA != r.rev("main") {
		t.Fatalf("result = %+v", res)
	}
	if got := r.rev("credrotate/run-1"); got != res.CommitSHA {
		t.Fatalf("remote branch = %s, want %s", got, res.CommitSHA)
	}
	if got := r.rev("credrotate/run-1^"); got != r.rev("main") {
		t.Errorf("parent = %s, want base %s", got, r.rev("main"))
	}
	if got := r.show("credrotate/run-1", "overlays/prod/credentials/equifax.a.yaml"); got != "sealed-prod" {
		t.Errorf("file = %q", got)
	}
	files := runGit(t, r.bare, "ls-tree", "-r", "--name-only", "credrotate/run-1")
	if strings.Contains(files, "old.yaml") {
		t.Errorf("removed file still in the commit:\n%s", files)
	}
	if got := runGit(t, r.bare, "log", "-1", "--format=%an <%ae>|%at", "credrotate/run-1"); got != fmt.Sprintf("credrotate <bot@example.com>|%d", fixedNow().Unix()) {
		t.Errorf("author = %s", got)
	}
	if got := runGit(t, r.bare, "log", "-1", "--format=%B", "credrotate/run-1"); got != strings.TrimSpace(msg) {
		t.Errorf("message = %q", got)
	}
	if res.ObjectsPushed == 0 {
		t.Error("ObjectsPushed = 0")
	}
	// git itself is happy with what go-git pushed from a shallow clone.
	runGit(t, r.bare, "fsck", "--no-dangling")
}

func TestPublishNothingChanged(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	res, err := w.Publish(context.Background(), PublishRequest{
		Branch: "credrotate/x", Message: "m",
		Apply: writeApply(map[string]string{"README.md": "gitops\n"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Pushed || res.CommitSHA != "" {
		t.Fatalf("result = %+v, want unchanged", res)
	}
	if r.hasBranch("credrotate/x") {
		t.Fatal("branch pushed although nothing changed")
	}
}

func TestPublishRewritesOwnBranch(t *testing.T) {
	r := newRemote(t, baseFiles())
	// a previous run's branch, on an older base
	r.commit("credrotate/k", "old rotation", map[string]string{"overlays/prod/credentials/k.yaml": "v1\n"})
	r.commit("main", "unrelated", map[string]string{"docs.md": "d\n"})

	w := mustClone(t, cloneOpts(r))
	req := PublishRequest{Branch: "credrotate/k", Message: "rotate k",
		Apply: writeApply(map[string]string{"overlays/prod/credentials/k.yaml": "v2\n"})}
	res, err := w.Publish(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || r.rev("credrotate/k") != res.CommitSHA || r.rev("credrotate/k^") != r.rev("main") {
		t.Fatalf("branch not rewritten onto the base: %+v", res)
	}

	// The same change on the same base again: nothing to push.
	w2 := mustClone(t, cloneOpts(r))
	res2, err := w2.Publish(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Changed || res2.Pushed || res2.CommitSHA != res.CommitSHA {
		t.Fatalf("re-run = %+v, want unchanged branch %s", res2, res.CommitSHA)
	}
}

func TestPublishRetriesWhenBaseMoves(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	calls := 0
	res, err := w.Publish(context.Background(), PublishRequest{
		Branch: "credrotate/race", Message: "rotate",
		Apply: func(ctx context.Context, f FS) error {
			calls++
			if calls == 1 {
				// someone merges into the base while we work
				r.commit("main", "concurrent merge", map[string]string{"concurrent.txt": "c\n"})
			}
			data, err := f.ReadFile("README.md")
			if err != nil {
				return err
			}
			return f.WriteFile("overlays/prod/credentials/k.yaml", append([]byte("built on: "), data...), 0o644)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || calls != 2 {
		t.Fatalf("attempts = %d, apply calls = %d, want 2", res.Attempts, calls)
	}
	if res.BaseSHA != r.rev("main") || w.BaseSHA() != r.rev("main") {
		t.Fatalf("base = %s, want the moved base %s", res.BaseSHA, r.rev("main"))
	}
	if r.rev("credrotate/race^") != r.rev("main") {
		t.Fatal("branch not rebuilt on the moved base")
	}
	if got := r.show("credrotate/race", "concurrent.txt"); got != "c" {
		t.Errorf("rebuilt branch lacks the concurrent change: %q", got)
	}
	runGit(t, r.bare, "fsck", "--no-dangling")
}

func TestPublishLeaseRejectsConcurrentBranchUpdate(t *testing.T) {
	r := newRemote(t, baseFiles())
	r.commit("credrotate/k", "earlier run", map[string]string{"k.yaml": "v1\n"})
	w := mustClone(t, cloneOpts(r))
	var sneaked string
	w.beforePush = func(attempt int) {
		if attempt == 1 {
			// another run updates the branch after we looked at it
			sneaked = r.commit("credrotate/k", "concurrent run", map[string]string{"k.yaml": "other\n"})
		}
	}
	res, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/k", Message: "rotate",
		Apply: writeApply(map[string]string{"k.yaml": "v2\n"})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2 (the first push must be refused by the lease)", res.Attempts)
	}
	if got := r.rev("credrotate/k"); got != res.CommitSHA || got == sneaked {
		t.Fatalf("branch = %s, want ours %s", got, res.CommitSHA)
	}
}

func TestPublishGivesUp(t *testing.T) {
	r := newRemote(t, baseFiles())
	opts := cloneOpts(r)
	opts.MaxAttempts = 2
	w := mustClone(t, opts)
	n := 0
	_, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/busy", Message: "m",
		Apply: func(ctx context.Context, f FS) error {
			n++
			r.commit("main", fmt.Sprintf("busy %d", n), map[string]string{"busy.txt": fmt.Sprint(n)})
			return f.WriteFile("k.yaml", []byte("x"), 0o644)
		}})
	if !errors.Is(err, ErrPublishConflict) {
		t.Fatalf("err = %v, want ErrPublishConflict", err)
	}
	if n != 2 {
		t.Fatalf("apply calls = %d, want 2", n)
	}
	if r.hasBranch("credrotate/busy") {
		t.Fatal("branch pushed although the base kept moving")
	}
}

func TestPublishApplyError(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	boom := errors.New("sealing failed")
	_, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/e", Message: "m",
		Apply: func(context.Context, FS) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	for _, req := range []PublishRequest{
		{Branch: "", Message: "m", Apply: writeApply(nil)},
		{Branch: "main", Message: "m", Apply: writeApply(nil)},
		{Branch: "b", Message: " ", Apply: writeApply(nil)},
		{Branch: "b", Message: "m"},
	} {
		if _, err := w.Publish(context.Background(), req); err == nil {
			t.Errorf("Publish(%+v) = nil error", req)
		}
	}
}

func TestReadBranchFile(t *testing.T) {
	r := newRemote(t, baseFiles())
	r.commit("credrotate/k", "rotation", map[string]string{"overlays/prod/credentials/k.yaml": "on branch\n"})
	w := mustClone(t, cloneOpts(r))
	data, err := w.ReadBranchFile(context.Background(), "credrotate/k", "overlays/prod/credentials/k.yaml")
	if err != nil || string(data) != "on branch\n" {
		t.Fatalf("ReadBranchFile = %q, %v", data, err)
	}
	if _, err := w.ReadBranchFile(context.Background(), "credrotate/k", "nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := w.ReadBranchFile(context.Background(), "nope", "x"); !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("missing branch: %v", err)
	}
	// the workspace still publishes on its base afterwards
	res, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/k", Message: "m",
		Apply: writeApply(map[string]string{"x.yaml": "x"})})
	if err != nil || !res.Pushed || r.rev("credrotate/k^") != r.rev("main") {
		t.Fatalf("Publish after ReadBranchFile: %+v, %v", res, err)
	}
}

func TestSignedCommit(t *testing.T) {
	e, err := openpgp.NewEntity("credrotate", "", "bot@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	aw, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(aw, nil); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	pw, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(pw); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	keyFile := filepath.Join(t.TempDir(), "signing.asc")
	if err := os.WriteFile(keyFile, priv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	r := newRemote(t, baseFiles())
	opts := cloneOpts(r)
	opts.SigningKeyFile = keyFile
	w := mustClone(t, opts)
	res, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/s", Message: "signed",
		Apply: writeApply(map[string]string{"k.yaml": "x"})})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.repo.CommitObject(plumbing.NewHash(res.CommitSHA))
	if err != nil {
		t.Fatal(err)
	}
	if c.PGPSignature == "" {
		t.Fatal("commit is not signed")
	}
	if _, err := c.Verify(pub.String()); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if raw := runGit(t, r.bare, "cat-file", "commit", res.CommitSHA); !strings.Contains(raw, "gpgsig -----BEGIN PGP SIGNATURE-----") {
		t.Fatalf("pushed commit has no gpgsig header:\n%s", raw)
	}

	t.Run("bad key file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.asc")
		_ = os.WriteFile(bad, []byte("not a key"), 0o600)
		opts := cloneOpts(r)
		opts.SigningKeyFile = bad
		if _, err := Clone(context.Background(), opts); err == nil {
			t.Fatal("want error for a bad signing key")
		}
	})
}

func TestCommitMessage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		keys, envs []string
		trace      string
		want       string
	}{
		{"one key", []string{"equifax.a"}, []string{"uat", "prod", "prod"}, "t1",
			"credrotate: rotate equifax.a\n\nProvider-Keys: equifax.a\nEnvironments: prod, uat\nCredrotate-Trace-Id: t1\n"},
		{"few keys", []string{"b", "a"}, nil, "t2",
			"credrotate: rotate a, b\n\nProvider-Keys: a, b\nCredrotate-Trace-Id: t2\n"},
		{"many keys", []string{"equifax.first_long_key", "equifax.second_long_key", "equifax.third_long_key"}, []string{"prod"}, "",
			"credrotate: rotate 3 credentials\n\nProvider-Keys: equifax.first_long_key, equifax.second_long_key, equifax.third_long_key\nEnvironments: prod\n"},
		{"newline injection", []string{"a\nb"}, nil, "x\nSigned-off-by: evil", "credrotate: rotate a b\n\nProvider-Keys: a b\nCredrotate-Trace-Id: x Signed-off-by: evil\n"},
		{"nothing", nil, nil, "", "credrotate: update sealed credentials\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CommitMessage(tc.keys, tc.envs, tc.trace); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestPublishBranchCreatedMeanwhile(t *testing.T) {
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	w.beforePush = func(attempt int) {
		if attempt == 1 {
			// another run creates the branch after we saw it absent
			r.commit("credrotate/new", "concurrent run", map[string]string{"k.yaml": "theirs\n"})
		}
	}
	res, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/new", Message: "rotate",
		Apply: writeApply(map[string]string{"k.yaml": "ours\n"})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || r.rev("credrotate/new") != res.CommitSHA || r.show("credrotate/new", "k.yaml") != "ours" {
		t.Fatalf("result %+v; branch %s", res, r.rev("credrotate/new"))
	}
}

// TestCloneSearchesNoDeltas: the clone's pack window is 0, so a push of
// fresh ciphertext spends no time looking for deltas it cannot find.
func TestCloneSearchesNoDeltas(t *testing.T) {
	t.Parallel()
	r := newRemote(t, baseFiles())
	for _, dir := range []bool{false, true} {
		opts := cloneOpts(r)
		if dir {
			opts.Dir = filepath.Join(t.TempDir(), "clone")
		}
		w := mustClone(t, opts)
		cfg, err := w.repo.Config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Pack.Window != 0 {
			t.Errorf("dir=%v: pack window %d, want 0", dir, cfg.Pack.Window)
		}
	}
}

// TestPublishFresh: with the hint that the branch is absent, the first
// attempt creates it in one push, and every way the hint can be wrong (the
// branch is there, holds this very change, or the base moved) ends as a
// publish without the hint would.
func TestPublishFresh(t *testing.T) {
	t.Parallel()
	const branch = "credrotate/k"
	change := writeApply(map[string]string{"overlays/prod/credentials/k.yaml": "v2\n"})
	for _, tc := range []struct {
		name    string
		before  func(r *remoteRepo) // after the clone, before Publish
		created bool
		pushed  bool
		tries   int
	}{
		{name: "absent", created: true, pushed: true, tries: 1},
		{name: "left by a crashed run", before: func(r *remoteRepo) {
			r.commit(branch, "older rotation", map[string]string{"overlays/prod/credentials/k.yaml": "v1\n"})
		}, pushed: true, tries: 1},
		{name: "base moved", before: func(r *remoteRepo) {
			r.commit("main", "concurrent merge", map[string]string{"concurrent.txt": "c\n"})
		}, created: true, pushed: true, tries: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRemote(t, baseFiles())
			w := mustClone(t, cloneOpts(r))
			if tc.before != nil {
				tc.before(r)
			}
			res, err := w.Publish(context.Background(), PublishRequest{Branch: branch, Message: "rotate k", Fresh: true, Apply: change})
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != tc.created || res.Pushed != tc.pushed || res.Attempts != tc.tries {
				t.Fatalf("result %+v, want created=%v pushed=%v attempts=%d", res, tc.created, tc.pushed, tc.tries)
			}
			if r.rev(branch) != res.CommitSHA || r.rev(branch+"^") != r.rev("main") || r.show(branch, "overlays/prod/credentials/k.yaml") != "v2" {
				t.Fatalf("branch %s (parent %s), want %s on main %s", r.rev(branch), r.rev(branch+"^"), res.CommitSHA, r.rev("main"))
			}
			runGit(t, r.bare, "fsck", "--no-dangling")

			// The same change again, still hinted: the branch already holds
			// it, and nothing is pushed.
			again, err := mustClone(t, cloneOpts(r)).Publish(context.Background(), PublishRequest{Branch: branch, Message: "rotate k", Fresh: true, Apply: change})
			if err != nil {
				t.Fatal(err)
			}
			if again.Pushed || again.Created || again.CommitSHA != res.CommitSHA {
				t.Fatalf("re-run %+v, want the branch %s left as it is", again, res.CommitSHA)
			}
		})
	}
}
