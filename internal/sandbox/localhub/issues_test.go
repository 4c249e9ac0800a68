package localhub_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

func TestAlertIssueOpenCommentClose(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	ctx := context.Background()
	gh := h.client(testToken)
	pr := h.openPR(t, "feature") // takes number 1: issues and pull requests share numbers

	is, resp, err := gh.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{
		Title: ptr("credrotate: rotation of equifax.unique_client_id failed"), Body: ptr("trace abc"),
		Labels: &[]string{"credrotate-alert"},
	})
	if err != nil || resp.StatusCode != http.StatusCreated || is.GetNumber() != pr.GetNumber()+1 {
		t.Fatalf("create: %v #%d", err, is.GetNumber())
	}
	if is.GetHTMLURL() != h.ts.URL+"/acme/gitops/issues/2" || is.IsPullRequest() {
		t.Errorf("html_url %s, pull request %v", is.GetHTMLURL(), is.IsPullRequest())
	}

	// The next run finds the open alert by label and creator.
	found, _, err := gh.Issues.ListByRepo(ctx, "acme", "gitops", &github.IssueListByRepoOptions{
		State: "open", Labels: []string{"credrotate-alert"}, Creator: "credrotate-bot",
	})
	if err != nil || len(found) != 1 || found[0].GetNumber() != 2 {
		t.Fatalf("list: %v %d", err, len(found))
	}
	none, _, err := gh.Issues.ListByRepo(ctx, "acme", "gitops", &github.IssueListByRepoOptions{Labels: []string{"credrotate-alert", "other"}})
	if err != nil || len(none) != 0 {
		t.Fatalf("list with a missing label: %v %d", err, len(none))
	}
	// Pull requests are listed as issues too, marked as such.
	all, _, err := gh.Issues.ListByRepo(ctx, "acme", "gitops", &github.IssueListByRepoOptions{State: "all"})
	if err != nil || len(all) != 2 || !all[1].IsPullRequest() {
		t.Fatalf("all issues: %v %d", err, len(all))
	}

	for _, body := range []string{"failed again (trace def)", "and again (trace ghi)"} {
		if _, _, err := gh.Issues.CreateComment(ctx, "acme", "gitops", 2, &github.IssueComment{Body: ptr(body)}); err != nil {
			t.Fatal(err)
		}
	}
	comments, _, err := gh.Issues.ListComments(ctx, "acme", "gitops", 2, nil)
	if err != nil || len(comments) != 2 || comments[1].GetBody() != "and again (trace ghi)" {
		t.Fatalf("comments: %v %d", err, len(comments))
	}

	if _, _, err := gh.Issues.ReplaceLabelsForIssue(ctx, "acme", "gitops", 2, []string{"credrotate-alert", "sev2"}); err != nil {
		t.Fatal(err)
	}
	closed, _, err := gh.Issues.Edit(ctx, "acme", "gitops", 2, &github.IssueRequest{State: ptr("closed"), StateReason: ptr("completed")})
	if err != nil || closed.GetState() != "closed" || closed.ClosedAt == nil || closed.GetComments() != 2 {
		t.Fatalf("close: %v %s", err, closed.GetState())
	}
	open, _, err := gh.Issues.ListByRepo(ctx, "acme", "gitops", &github.IssueListByRepoOptions{Labels: []string{"credrotate-alert"}})
	if err != nil || len(open) != 0 {
		t.Fatalf("open alerts after close: %v %d", err, len(open))
	}

	issues := h.Issues()
	if len(issues) != 1 || issues[0].State != "closed" || !slices.Equal(issues[0].Labels, []string{"credrotate-alert", "sev2"}) || len(issues[0].Comments) != 2 {
		t.Errorf("snapshot = %+v", issues)
	}

	t.Run("validation and not found", func(t *testing.T) {
		var e map[string]any
		if status, _ := h.apiCall(t, http.MethodPost, "/repos/acme/gitops/issues", testToken, map[string]any{"body": "no title"}, &e); status != http.StatusUnprocessableEntity || e["message"] != "Validation Failed" {
			t.Errorf("no title: %d %v", status, e)
		}
		if status, _ := h.apiCall(t, http.MethodGet, "/repos/acme/gitops/issues/99", testToken, nil, &e); status != http.StatusNotFound || e["message"] != "Not Found" || e["documentation_url"] == nil {
			t.Errorf("missing issue: %d %v", status, e)
		}
		if status, _ := h.apiCall(t, http.MethodGet, "/repos/acme/other", testToken, nil, &e); status != http.StatusNotFound {
			t.Errorf("other repository: %d", status)
		}
	})
}

func TestPagination(t *testing.T) {
	h := newHub(t, localhub.Options{})
	ctx := context.Background()
	gh := h.client("")
	for i := 0; i < 5; i++ {
		if _, _, err := gh.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr("issue")}); err != nil {
			t.Fatal(err)
		}
	}
	var numbers []int
	opts := &github.IssueListByRepoOptions{Direction: "asc", ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := gh.Issues.ListByRepo(ctx, "acme", "gitops", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range page {
			numbers = append(numbers, is.GetNumber())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if !slices.Equal(numbers, []int{1, 2, 3, 4, 5}) {
		t.Errorf("numbers = %v", numbers)
	}
}

func TestWebPages(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	pr := h.openPR(t, "credrotate/run-1")
	if _, _, err := h.client(testToken).Issues.Create(context.Background(), "acme", "gitops", &github.IssueRequest{Title: ptr("an <alert>")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url, want string
		status    int
	}{
		{pr.GetHTMLURL(), "credrotate/run-1", http.StatusOK},
		{h.ts.URL + "/acme/gitops/issues/2", "an &lt;alert&gt;", http.StatusOK},
		{h.ts.URL + "/acme/gitops", "pull request", http.StatusOK},
		{h.ts.URL + "/acme/gitops/pull/2", "", http.StatusNotFound},
		{h.ts.URL + "/acme/gitops/issues/9", "", http.StatusNotFound},
	}
	for _, tc := range cases {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %q", tc.url, resp.StatusCode, body)
		}
	}
}

func TestStateFileSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	opts := localhub.Options{RepoDir: filepath.Join(dir, "gitops.git"), Init: true, StateFile: filepath.Join(dir, "state.json"), Checks: localhub.ChecksPending}
	h := newHub(t, opts)
	ctx := context.Background()
	pr := h.openPR(t, "credrotate/run-1")
	gh := h.client("")
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "gitops", pr.GetNumber(), []string{"automated"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr("alert"), Labels: &[]string{"credrotate-alert"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "gitops", 2, &github.IssueComment{Body: ptr("again")}); err != nil {
		t.Fatal(err)
	}
	h.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "SQUASH"}, nil)
	before := h.PullRequests()

	// A second server over the same repository and state file carries on.
	opts.Init = false
	h2 := newHub(t, opts)
	after := h2.PullRequests()
	if len(after) != 1 || after[0].Title != before[0].Title || after[0].AutoMerge != "squash" || !slices.Equal(after[0].Labels, []string{"automated"}) {
		t.Fatalf("pull requests after restart = %+v", after)
	}
	if is := h2.Issues(); len(is) != 1 || len(is[0].Comments) != 1 || is[0].Labels[0] != "credrotate-alert" {
		t.Fatalf("issues after restart = %+v", is)
	}
	next, _, err := h2.client("").Issues.Create(ctx, "acme", "gitops", &github.IssueRequest{Title: ptr("next")})
	if err != nil || next.GetNumber() != 3 {
		t.Fatalf("numbering after restart: %v #%d", err, next.GetNumber())
	}
	h2.SetChecks(localhub.ChecksSuccess)
	if got := h2.PullRequests()[0]; !got.Merged {
		t.Errorf("auto-merge did not survive the restart: %+v", got)
	}
}
