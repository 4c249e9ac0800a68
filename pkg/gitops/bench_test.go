package gitops

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	benchFiles   = 20000
	benchCommits = 5000
)

// buildBigRepo writes a bare repository with benchFiles files and
// benchCommits commits on main through git fast-import: the first commit
// adds every file (in 100 folders), each later one changes four of them.
func buildBigRepo(b *testing.B, dir string) {
	b.Helper()
	runGit(b, dir, "init", "-q", "--bare", "-b", "main", "big.git")
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = filepath.Join(dir, "big.git")
	cmd.Env = gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	w := bufio.NewWriterSize(stdin, 1<<20)
	path := func(i int) string { return fmt.Sprintf("overlays/env%02d/credentials/key%05d.yaml", i%100, i) }
	content := func(i, rev int) string {
		return fmt.Sprintf("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: key%05d\n  annotations:\n    credrotate.io/secret-id: s-%d-%d\nspec:\n  encryptedData:\n    client_secret: %064x\n", i, i, rev, i*7919+rev)
	}
	data := func(s string) { fmt.Fprintf(w, "data %d\n%s\n", len(s), s) }
	for c := 0; c < benchCommits; c++ {
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\n", c+1, 1700000000+c*60)
		data(fmt.Sprintf("commit %d", c))
		if c > 0 {
			fmt.Fprintf(w, "from :%d\n", c)
		}
		if c == 0 {
			for i := 0; i < benchFiles; i++ {
				fmt.Fprintf(w, "M 100644 inline %s\n", path(i))
				data(content(i, 0))
			}
		} else {
			for k := 0; k < 4; k++ {
				i := (c*4 + k) % benchFiles
				fmt.Fprintf(w, "M 100644 inline %s\n", path(i))
				data(content(i, c))
			}
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("git fast-import: %v", err)
	}
	runGit(b, filepath.Join(dir, "big.git"), "repack", "-adq")
}

// BenchmarkClone measures Clone (go-git, shallow single-branch, in memory
// and into a folder) against `git clone --depth 1 --single-branch` of the
// base branch of a repository with 20,000 files and 5,000 commits.
func BenchmarkClone(b *testing.B) {
	dir := b.TempDir()
	buildBigRepo(b, dir)
	url := "file://" + filepath.Join(dir, "big.git")
	if n := runGit(b, dir, "--git-dir", filepath.Join(dir, "big.git"), "rev-list", "--count", "main"); n != fmt.Sprint(benchCommits) {
		b.Fatalf("built %s commits", n)
	}

	b.Run("go-git-memory", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			w, err := Clone(context.Background(), Options{URL: url})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.ReadFile("overlays/env07/credentials/key00007.yaml"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Checking 20,000 files out to disk costs more than the clone on a busy
	// disk; tmpfs (when there is one) shows the clone itself.
	roots := map[string]func(b *testing.B) string{"disk": func(b *testing.B) string { return b.TempDir() }}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		roots["tmpfs"] = func(b *testing.B) string {
			d, err := os.MkdirTemp("/dev/shm", "credrotate-bench-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	for _, where := range []string{"disk", "tmpfs"} {
		root, ok := roots[where]
		if !ok {
			continue
		}
		b.Run("go-git-dir-"+where, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Clone(context.Background(), Options{URL: url, Dir: filepath.Join(root(b), "c")}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("git-cli-"+where, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runGit(b, root(b), "clone", "-q", "--depth", "1", "--single-branch", "--branch", "main", url, "c")
			}
		})
	}
}

// BenchmarkPublishPackWindow measures a rotation's push of 3,000 fresh
// ciphertexts (1,000 keys x 3 environments, each replacing a file of the
// base) with git's default pack window (10) and with the window Clone sets
// (0): fresh ciphertext has no delta to find, so the search is pure cost.
func BenchmarkPublishPackWindow(b *testing.B) {
	const files = 3000
	path := func(i int) string { return fmt.Sprintf("overlays/env%d/credentials/key%04d.yaml", i%3, i/3) }
	sealed := func(seed, i int) string {
		buf := make([]byte, 1536)
		rnd := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		for j := range buf {
			buf[j] = byte(rnd.UintN(256))
		}
		return "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec:\n  encryptedData:\n    client_secret: " + base64.StdEncoding.EncodeToString(buf) + "\n"
	}
	base := map[string]string{}
	for i := range files {
		base[path(i)] = sealed(0, i)
	}
	r := newRemote(b, base)
	for _, window := range []uint{10, 0} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				w, err := Clone(context.Background(), Options{URL: r.URL()})
				if err != nil {
					b.Fatal(err)
				}
				cfg, err := w.repo.Config()
				if err != nil {
					b.Fatal(err)
				}
				cfg.Pack.Window = window
				if err := w.repo.SetConfig(cfg); err != nil {
					b.Fatal(err)
				}
				seed := int(window)*1000 + n + 1
				b.StartTimer()
				_, err = w.Publish(context.Background(), PublishRequest{Branch: fmt.Sprintf("credrotate/bench-%d-%d", window, n), Message: "rotate",
					Apply: func(_ context.Context, fsys FS) error {
						for i := range files {
							if err := fsys.WriteFile(path(i), []byte(sealed(seed, i)), 0o644); err != nil {
								return err
							}
						}
						return nil
					}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
