package localhub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// newBenchHub is newHub for benchmarks.
func newBenchHub(b *testing.B, opts localhub.Options) *hub {
	b.Helper()
	opts.RepoDir = filepath.Join(b.TempDir(), "gitops.git")
	opts.Init = true
	opts.RateLimit = 1 << 30
	s, err := localhub.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	h := &hub{Server: s, dir: opts.RepoDir}
	h.ts = newTestServer(b, s)
	if _, err := s.CommitFiles(context.Background(), "main", "", "init", map[string][]byte{"README.md": []byte("x\n")}); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkGetPull measures GET /pulls/{n}, which merges the head into the
// base in memory (git merge-tree) to report mergeable.
func BenchmarkGetPull(b *testing.B) {
	h := newBenchHub(b, localhub.Options{})
	ctx := context.Background()
	if _, err := h.CommitFiles(ctx, "feature", "main", "x", map[string][]byte{"f": []byte("f\n")}); err != nil {
		b.Fatal(err)
	}
	gh := h.client("")
	if _, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr("feature"), Base: ptr("main")}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := gh.PullRequests.Get(ctx, "acme", "gitops", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPulls measures a page of 30 open pull requests.
func BenchmarkListPulls(b *testing.B) {
	h := newBenchHub(b, localhub.Options{})
	ctx := context.Background()
	gh := h.client("")
	for i := 0; i < 30; i++ {
		br := fmt.Sprintf("feature-%d", i)
		if _, err := h.CommitFiles(ctx, br, "main", "x", map[string][]byte{br: []byte("f\n")}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr(br), Base: ptr("main")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if list, _, err := gh.PullRequests.List(ctx, "acme", "gitops", nil); err != nil || len(list) != 30 {
			b.Fatal(err, len(list))
		}
	}
}

// BenchmarkMerge measures PUT /pulls/{n}/merge for each method, the base
// branch moving every time.
func BenchmarkMerge(b *testing.B) {
	for _, method := range []string{"merge", "squash", "rebase"} {
		b.Run(method, func(b *testing.B) {
			h := newBenchHub(b, localhub.Options{})
			ctx := context.Background()
			gh := h.client("")
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				br := fmt.Sprintf("feature-%d", i)
				if _, err := h.CommitFiles(ctx, br, "main", "x", map[string][]byte{br: []byte("f\n")}); err != nil {
					b.Fatal(err)
				}
				pr, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr(br), Base: ptr("main")})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClone measures a shallow single-branch clone of a 1,000-file
// repository with the git CLI, over localhub's smart HTTP and, for
// comparison, straight from the bare repository (file://).
func BenchmarkClone(b *testing.B) {
	h := newBenchHub(b, localhub.Options{})
	files := map[string][]byte{}
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("overlays/env-%d/credentials/key-%d.yaml", i%10, i)] = []byte(fmt.Sprintf("sealed: %d\n", i))
	}
	if _, err := h.CommitFiles(context.Background(), "main", "", "many files", files); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, url string }{
		{"smart-http", h.GitURL(h.ts.URL)},
		{"file", "file://" + h.dir},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "c")
				if out, err := gitTry("", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", "main", tc.url, dir); err != nil {
					b.Fatal(err, out)
				}
			}
		})
	}
}

// BenchmarkGetRepo is the cost of one plain API call (GET /repos/{o}/{r}),
// which reads the branches once.
func BenchmarkGetRepo(b *testing.B) {
	h := newBenchHub(b, localhub.Options{})
	gh := h.client("")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := gh.Repositories.Get(ctx, "acme", "gitops"); err != nil {
			b.Fatal(err)
		}
	}
}
