package localhub_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

func TestPullRequestCreateFindUpdate(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	ctx := context.Background()
	gh := h.client(testToken)
	headSHA := h.commit(t, "credrotate/run-1", "Rotate equifax.unique_client_id", map[string]string{"overlays/prod/credentials/x.yaml": "sealed: 1\n"})

	pr, resp, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{
		Title: ptr("Rotate credentials"), Head: ptr("credrotate/run-1"), Base: ptr("main"), Body: ptr("body v1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || pr.GetNumber() != 1 || pr.GetState() != "open" {
		t.Fatalf("created %d #%d %s", resp.StatusCode, pr.GetNumber(), pr.GetState())
	}
	if got, want := pr.GetHTMLURL(), h.ts.URL+"/acme/gitops/pull/1"; got != want {
		t.Errorf("html_url = %s, want %s", got, want)
	}
	if pr.GetHead().GetSHA() != headSHA || pr.GetBase().GetSHA() != h.revParse(t, "main") {
		t.Errorf("head/base sha = %s/%s", pr.GetHead().GetSHA(), pr.GetBase().GetSHA())
	}
	if pr.GetHead().GetLabel() != "acme:credrotate/run-1" || pr.GetHead().GetRepo().GetFullName() != "acme/gitops" {
		t.Errorf("head = %+v", pr.GetHead())
	}
	if !strings.HasPrefix(pr.GetNodeID(), "PR_") || pr.GetMergeableState() != "clean" || !pr.GetMergeable() {
		t.Errorf("node_id %q mergeable %v %q", pr.GetNodeID(), pr.GetMergeable(), pr.GetMergeableState())
	}

	t.Run("duplicate is refused like GitHub", func(t *testing.T) {
		_, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{
			Title: ptr("again"), Head: ptr("acme:credrotate/run-1"), Base: ptr("main"),
		})
		var ge *github.ErrorResponse
		if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("err = %v", err)
		}
		if len(ge.Errors) != 1 || !strings.Contains(ge.Errors[0].Message, "A pull request already exists for acme:credrotate/run-1") {
			t.Errorf("errors = %+v", ge.Errors)
		}
	})
	t.Run("validation", func(t *testing.T) {
		h.commit(t, "empty", "nothing", map[string]string{})
		cases := []struct{ name, head, base, want string }{
			{"head equals base", "main", "main", "No commits between main and main"},
			{"missing head", "nope", "main", "head"},
			{"missing base", "credrotate/run-1", "nope", "base"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr(tc.head), Base: ptr(tc.base)})
				var ge *github.ErrorResponse
				if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusUnprocessableEntity || len(ge.Errors) == 0 {
					t.Fatalf("err = %v", err)
				}
				if e := ge.Errors[0]; e.Message != tc.want && e.Field != tc.want {
					t.Errorf("error = %+v, want %q", e, tc.want)
				}
			})
		}
	})
	t.Run("find by head", func(t *testing.T) {
		for _, head := range []string{"acme:credrotate/run-1", "credrotate/run-1"} {
			list, _, err := gh.PullRequests.List(ctx, "acme", "gitops", &github.PullRequestListOptions{State: "open", Head: head, Base: "main"})
			if err != nil || len(list) != 1 || list[0].GetNumber() != 1 {
				t.Fatalf("list head=%s: %v %d", head, err, len(list))
			}
		}
		list, _, err := gh.PullRequests.List(ctx, "acme", "gitops", &github.PullRequestListOptions{Head: "acme:other"})
		if err != nil || len(list) != 0 {
			t.Fatalf("other head: %v %d", err, len(list))
		}
	})
	t.Run("update", func(t *testing.T) {
		up, _, err := gh.PullRequests.Edit(ctx, "acme", "gitops", 1, &github.PullRequest{Title: ptr("Rotate credentials (2 keys)"), Body: ptr("body v2")})
		if err != nil || up.GetTitle() != "Rotate credentials (2 keys)" || up.GetBody() != "body v2" {
			t.Fatalf("edit: %v %q", err, up.GetTitle())
		}
	})
	t.Run("labels and reviewers", func(t *testing.T) {
		if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "gitops", 1, []string{"credentials", "automated"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "gitops", 1, []string{"automated"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.PullRequests.RequestReviewers(ctx, "acme", "gitops", 1, github.ReviewersRequest{Reviewers: []string{"alice"}, TeamReviewers: []string{"platform"}}); err != nil {
			t.Fatal(err)
		}
		got, _, err := gh.PullRequests.Get(ctx, "acme", "gitops", 1)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, l := range got.Labels {
			labels = append(labels, l.GetName())
		}
		if !slices.Equal(labels, []string{"credentials", "automated"}) {
			t.Errorf("labels = %v", labels)
		}
		if len(got.RequestedReviewers) != 1 || got.RequestedReviewers[0].GetLogin() != "alice" || len(got.RequestedTeams) != 1 || got.RequestedTeams[0].GetSlug() != "platform" {
			t.Errorf("reviewers = %v teams = %v", got.RequestedReviewers, got.RequestedTeams)
		}
		_, _, err = gh.PullRequests.RequestReviewers(ctx, "acme", "gitops", 1, github.ReviewersRequest{Reviewers: []string{"credrotate-bot"}})
		if ge := (*github.ErrorResponse)(nil); !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("review from author: %v", err)
		}
		reviews, _, err := gh.PullRequests.ListReviews(ctx, "acme", "gitops", 1, nil)
		if err != nil || len(reviews) != 0 {
			t.Errorf("reviews: %v %d", err, len(reviews))
		}
	})
	t.Run("close and reopen", func(t *testing.T) {
		closed, _, err := gh.PullRequests.Edit(ctx, "acme", "gitops", 1, &github.PullRequest{State: ptr("closed")})
		if err != nil || closed.GetState() != "closed" || closed.GetMerged() {
			t.Fatalf("close: %v %s", err, closed.GetState())
		}
		// With #1 closed, a new pull request for the branch is allowed, and #1
		// can no longer be reopened beside it.
		pr2, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("Rotate again"), Head: ptr("credrotate/run-1"), Base: ptr("main")})
		if err != nil || pr2.GetNumber() != 2 {
			t.Fatalf("create #2: %v", err)
		}
		_, _, err = gh.PullRequests.Edit(ctx, "acme", "gitops", 1, &github.PullRequest{State: ptr("open")})
		if ge := (*github.ErrorResponse)(nil); !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("reopen beside #2: %v", err)
		}
	})
	t.Run("deleting the head branch closes the pull request", func(t *testing.T) {
		if _, err := gh.Git.DeleteRef(ctx, "acme", "gitops", "heads/credrotate/run-1"); err != nil {
			t.Fatal(err)
		}
		got, _, err := gh.PullRequests.Get(ctx, "acme", "gitops", 2)
		if err != nil || got.GetState() != "closed" {
			t.Fatalf("after delete: %v %s", err, got.GetState())
		}
		if _, err := gh.Git.DeleteRef(ctx, "acme", "gitops", "heads/credrotate/run-1"); err == nil {
			t.Error("deleting a missing ref succeeded")
		}
	})
	prs := h.PullRequests()
	if len(prs) != 2 || prs[0].Title != "Rotate credentials (2 keys)" || !slices.Equal(prs[0].Reviewers, []string{"alice"}) {
		t.Errorf("snapshot = %+v", prs)
	}
}

func TestMergeMethodsMoveTheBaseBranch(t *testing.T) {
	for _, method := range []string{"merge", "squash", "rebase"} {
		t.Run(method, func(t *testing.T) {
			h := newHub(t, localhub.Options{})
			ctx := context.Background()
			gh := h.client("")
			h.commit(t, "feature", "first change", map[string]string{"a.txt": "a\n"})
			head := h.commit(t, "feature", "second change", map[string]string{"b.txt": "b\n"})
			// The base moves on meanwhile, so no method can fast-forward.
			baseBefore := h.commit(t, "main", "unrelated change on main", map[string]string{"c.txt": "c\n"})
			pr, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("Feature"), Head: ptr("feature"), Base: ptr("main")})
			if err != nil {
				t.Fatal(err)
			}

			_, _, err = gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method, SHA: baseBefore})
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusConflict {
				t.Fatalf("merge with a stale sha: %v", err)
			}

			res, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method, SHA: head})
			if err != nil || !res.GetMerged() {
				t.Fatalf("merge: %v %+v", err, res)
			}
			tip := h.revParse(t, "main")
			if res.GetSHA() != tip || tip == baseBefore {
				t.Fatalf("main = %s, merge sha %s, before %s", tip, res.GetSHA(), baseBefore)
			}
			parents := strings.Fields(gitRun(t, "", "--git-dir", h.dir, "rev-list", "--parents", "-n", "1", "main"))[1:]
			files := gitRun(t, "", "--git-dir", h.dir, "ls-tree", "--name-only", "main")
			if !strings.Contains(files, "a.txt") || !strings.Contains(files, "b.txt") || !strings.Contains(files, "c.txt") {
				t.Errorf("tree of main: %s", files)
			}
			count := strings.TrimSpace(gitRun(t, "", "--git-dir", h.dir, "rev-list", "--count", baseBefore+"..main"))
			switch method {
			case "merge":
				if !slices.Equal(parents, []string{baseBefore, head}) || count != "3" {
					t.Errorf("merge commit parents %v, %s new commits", parents, count)
				}
			case "squash":
				msg := gitRun(t, "", "--git-dir", h.dir, "log", "-1", "--format=%B", "main")
				if !slices.Equal(parents, []string{baseBefore}) || count != "1" || !strings.HasPrefix(msg, "Feature (#1)") {
					t.Errorf("squash parents %v, %s new commits, message %q", parents, count, msg)
				}
			case "rebase":
				subjects := gitRun(t, "", "--git-dir", h.dir, "log", "--format=%s", baseBefore+"..main")
				if !slices.Equal(parents, []string{h.revParse(t, "main~1")}) || count != "2" || subjects != "second change\nfirst change\n" {
					t.Errorf("rebase parents %v, %s new commits: %q", parents, count, subjects)
				}
			}
			got, _, err := gh.PullRequests.Get(ctx, "acme", "gitops", pr.GetNumber())
			if err != nil || !got.GetMerged() || got.GetState() != "closed" || got.GetMergeCommitSHA() != tip || got.MergedAt == nil {
				t.Errorf("after merge: %v merged=%v state=%s sha=%s", err, got.GetMerged(), got.GetState(), got.GetMergeCommitSHA())
			}
			if merged, _, err := gh.PullRequests.IsMerged(ctx, "acme", "gitops", pr.GetNumber()); err != nil || !merged {
				t.Errorf("IsMerged = %v, %v", merged, err)
			}
			if _, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method}); err == nil {
				t.Error("merging twice succeeded")
			}
		})
	}
}

func TestConflictingMergeIsRefused(t *testing.T) {
	for _, method := range []string{"merge", "squash", "rebase"} {
		t.Run(method, func(t *testing.T) {
			h := newHub(t, localhub.Options{})
			ctx := context.Background()
			gh := h.client("")
			h.commit(t, "feature", "change readme on the branch", map[string]string{"README.md": "branch\n"})
			before := h.commit(t, "main", "change readme on main", map[string]string{"README.md": "main\n"})
			pr, _, err := gh.PullRequests.Create(ctx, "acme", "gitops", &github.NewPullRequest{Title: ptr("Conflict"), Head: ptr("feature"), Base: ptr("main")})
			if err != nil {
				t.Fatal(err)
			}
			if pr.GetMergeable() || pr.GetMergeableState() != "dirty" {
				t.Errorf("mergeable = %v %s", pr.GetMergeable(), pr.GetMergeableState())
			}
			_, _, err = gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: method})
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("err = %v", err)
			}
			if tip := h.revParse(t, "main"); tip != before {
				t.Errorf("main moved to %s", tip)
			}
			if wt := gitRun(t, "", "--git-dir", h.dir, "worktree", "list"); strings.Count(wt, "\n") > 1 {
				t.Errorf("worktrees left behind: %s", wt)
			}
		})
	}
}

func TestRefsWithEscapedSlashes(t *testing.T) {
	h := newHub(t, localhub.Options{})
	sha := h.commit(t, "credrotate/run-1", "x", map[string]string{"x": "x"})
	for _, path := range []string{
		"/repos/acme/gitops/git/ref/heads/credrotate/run-1",
		"/repos/acme/gitops/git/ref/heads%2Fcredrotate%2Frun-1",
		"/api/v3/repos/acme/gitops/git/ref/heads%2Fcredrotate%2Frun-1",
		"/api/v3/repos/acme/gitops/git/refs/heads/credrotate/run-1",
	} {
		var ref struct {
			Ref    string
			Object struct{ SHA string }
		}
		if status, _ := h.apiCall(t, http.MethodGet, path, "", nil, &ref); status != http.StatusOK || ref.Ref != "refs/heads/credrotate/run-1" || ref.Object.SHA != sha {
			t.Errorf("%s: %d %+v", path, status, ref)
		}
	}
	var list []map[string]any
	if status, _ := h.apiCall(t, http.MethodGet, "/repos/acme/gitops/git/refs/heads/credrotate", "", nil, &list); status != http.StatusOK || len(list) != 1 {
		t.Errorf("prefix match: %d %v", status, list)
	}
	if status, _ := h.apiCall(t, http.MethodGet, "/repos/acme/gitops/git/ref/heads/credrotate", "", nil, nil); status != http.StatusNotFound {
		t.Errorf("exact endpoint matched a prefix: %d", status)
	}
	if status, _ := h.apiCall(t, http.MethodDelete, "/repos/acme/gitops/git/refs/heads%2Fcredrotate%2Frun-1", "", nil, nil); status != http.StatusNoContent || h.BranchSHA(context.Background(), "credrotate/run-1") != "" {
		t.Errorf("delete with escaped slashes: %d", status)
	}
}
