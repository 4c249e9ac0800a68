package localhub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

func TestConcurrentRequests(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	ctx := context.Background()
	const workers = 6
	for i := 0; i < workers; i++ {
		h.commit(t, fmt.Sprintf("feature-%d", i), "change", map[string]string{fmt.Sprintf("file-%d.txt", i): "x\n"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			gh := h.client(testToken)
			pr, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{
				Title: ptr(fmt.Sprintf("PR %d", i)), Head: ptr(fmt.Sprintf("feature-%d", i)), Base: ptr("main"),
			})
			if err != nil {
				errs <- err
				return
			}
			if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "gitops", pr.GetNumber(), []string{"automated"}); err != nil {
				errs <- err
			}
			if _, _, err := gh.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr(fmt.Sprintf("issue %d", i))}); err != nil {
				errs <- err
			}
			if _, _, err := gh.PullRequests.List(ctx, "acme", "gitops", nil); err != nil {
				errs <- err
			}
			method := []string{"merge", "squash", "rebase"}[i%3]
			if _, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method}); err != nil {
				errs <- fmt.Errorf("merging #%d (%s): %w", pr.GetNumber(), method, err)
			}
		}(i)
	}
	// Pushes over smart HTTP at the same time.
	for i := 0; i < 3; i++ {
		work := filepath.Join(t.TempDir(), "w")
		gitRun(t, "", "clone", "--quiet", h.GitURL(h.ts.URL), work)
		wg.Add(1)
		go func(i int, work string) {
			defer wg.Done()
			if out, err := gitTry(work, "commit", "--allow-empty", "-m", "push"); err != nil {
				errs <- fmt.Errorf("commit: %v: %s", err, out)
				return
			}
			if out, err := gitTry(work, "push", authURL(t, h.GitURL(h.ts.URL), testToken), fmt.Sprintf("HEAD:refs/heads/pushed-%d", i)); err != nil {
				errs <- fmt.Errorf("push: %v: %s", err, out)
			}
		}(i, work)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var numbers []int
	for _, pr := range h.PullRequests() {
		numbers = append(numbers, pr.Number)
		if !pr.Merged {
			t.Errorf("#%d not merged", pr.Number)
		}
	}
	for _, is := range h.Issues() {
		numbers = append(numbers, is.Number)
	}
	sort.Ints(numbers)
	for i, n := range numbers {
		if n != i+1 {
			t.Fatalf("numbers = %v", numbers)
		}
	}
	files := gitRun(t, "", "--git-dir", h.dir, "ls-tree", "--name-only", "main")
	for i := 0; i < workers; i++ {
		if !strings.Contains(files, fmt.Sprintf("file-%d.txt", i)) {
			t.Errorf("main lacks file-%d.txt:\n%s", i, files)
		}
	}
	for i := 0; i < 3; i++ {
		if h.BranchSHA(ctx, fmt.Sprintf("pushed-%d", i)) == "" {
			t.Errorf("pushed-%d missing", i)
		}
	}
	if c := h.Calls(); c.GitPushes != 3 || c.API["PUT /repos/{owner}/{repo}/pulls/{number}/merge"] != workers {
		t.Errorf("calls = %+v", c)
	}
}

func TestLatency(t *testing.T) {
	h := newHub(t, localhub.Options{})
	h.SetLatency(30 * time.Millisecond)
	start := time.Now()
	if _, _, err := h.client("").Repositories.Get(context.Background(), "acme", "gitops"); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the call cannot be faster than the latency added.
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("call took %s with 30ms latency", d)
	}
}
