package localhub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Type       string         `json:"type"`
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (h *hub) graphql(t *testing.T, path, token, query string, vars map[string]any, data any) gqlResponse {
	t.Helper()
	var resp gqlResponse
	status, _ := h.apiCall(t, http.MethodPost, path, token, map[string]any{"query": query, "variables": vars}, &resp)
	if status != http.StatusOK {
		t.Fatalf("graphql status %d", status)
	}
	if data != nil && len(resp.Data) > 0 && string(resp.Data) != "null" {
		if err := json.Unmarshal(resp.Data, data); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

const enableAutoMerge = `mutation($id: ID!, $method: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) {
    pullRequest { number autoMergeRequest { enabledAt mergeMethod enabledBy { login } } }
  }
}`

const prQuery = `query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) { id number state merged autoMergeRequest { mergeMethod } mergeCommit { oid } headRefOid }
  }
}`

type prData struct {
	Repository struct {
		PullRequest *struct {
			ID               string
			Number           int
			State            string
			Merged           bool
			AutoMergeRequest *struct{ MergeMethod string }
			MergeCommit      *struct{ Oid string }
			HeadRefOid       string
		}
	}
}

func (h *hub) openPR(t *testing.T, branch string) *github.PullRequest {
	t.Helper()
	h.commit(t, branch, "change on "+branch, map[string]string{branch + ".txt": branch + "\n"})
	pr, _, err := h.client(testToken).PullRequests.Create(context.Background(), "acme", "gitops", &github.NewPullRequest{
		Title: ptr("PR " + branch), Head: ptr(branch), Base: ptr("main"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestAutoMergeWaitsForChecks(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken, Checks: localhub.ChecksPending})
	ctx := context.Background()
	gh := h.client(testToken)
	pr := h.openPR(t, "credrotate/run-1")
	before := h.revParse(t, "main")

	// Direct merge is refused while the required check is pending.
	_, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "squash"})
	if ge := (*github.ErrorResponse)(nil); err == nil || !asErr(err, &ge) || ge.Response.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("merge with pending checks: %v", err)
	}
	st, _, err := gh.Repositories.GetCombinedStatus(ctx, "acme", "gitops", pr.GetHead().GetSHA(), nil)
	if err != nil || st.GetState() != "pending" || st.GetSHA() != pr.GetHead().GetSHA() {
		t.Fatalf("combined status: %v %s", err, st.GetState())
	}
	runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "gitops", "credrotate/run-1", nil)
	if err != nil || runs.GetTotal() != 1 || runs.CheckRuns[0].GetStatus() != "in_progress" {
		t.Fatalf("check runs: %v %+v", err, runs)
	}

	var enabled struct {
		EnablePullRequestAutoMerge struct {
			PullRequest struct {
				Number           int
				AutoMergeRequest *struct {
					EnabledAt   string
					MergeMethod string
					EnabledBy   struct{ Login string }
				}
			}
		}
	}
	resp := h.graphql(t, "/graphql", testToken, enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "SQUASH"}, &enabled)
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	am := enabled.EnablePullRequestAutoMerge.PullRequest.AutoMergeRequest
	if am == nil || am.MergeMethod != "SQUASH" || am.EnabledAt == "" || am.EnabledBy.Login != "credrotate-bot" {
		t.Fatalf("auto-merge request = %+v", am)
	}
	var q prData
	h.graphql(t, "/api/graphql", testToken, prQuery, map[string]any{"owner": "acme", "name": "gitops", "number": pr.GetNumber()}, &q)
	if p := q.Repository.PullRequest; p == nil || p.Merged || p.State != "OPEN" || p.AutoMergeRequest == nil || p.ID != pr.GetNodeID() {
		t.Fatalf("while pending: %+v", p)
	}
	if h.revParse(t, "main") != before {
		t.Fatal("main moved while checks were pending")
	}
	rest, _, _ := gh.PullRequests.Get(ctx, "acme", "gitops", pr.GetNumber())
	if rest.GetAutoMerge().GetMergeMethod() != "squash" || rest.GetMergeableState() != "blocked" {
		t.Errorf("REST auto_merge = %+v, mergeable_state %s", rest.GetAutoMerge(), rest.GetMergeableState())
	}

	h.SetChecks(localhub.ChecksSuccess)
	h.graphql(t, "/graphql", testToken, prQuery, map[string]any{"owner": "acme", "name": "gitops", "number": pr.GetNumber()}, &q)
	p := q.Repository.PullRequest
	if p == nil || !p.Merged || p.State != "MERGED" || p.AutoMergeRequest != nil || p.MergeCommit == nil {
		t.Fatalf("after checks passed: %+v", p)
	}
	if tip := h.revParse(t, "main"); tip != p.MergeCommit.Oid || tip == before {
		t.Errorf("main = %s, merge commit %s", tip, p.MergeCommit.Oid)
	}
	if got := h.PullRequests()[0]; !got.Merged || got.MergeMethod != "squash" {
		t.Errorf("snapshot = %+v", got)
	}
	if c := h.Calls(); c.GraphQL["mutation enablePullRequestAutoMerge"] != 1 || c.API["POST /graphql"] != 3 {
		t.Errorf("calls = %+v", c)
	}
}

// TestAutoMergeRefusedWhenClean: as GitHub does, a pull request that could
// merge at once (no conflict, the required check passed) gets no auto-merge:
// the mutation is refused with GitHub's words, and nothing is recorded.
func TestAutoMergeRefusedWhenClean(t *testing.T) {
	h := newHub(t, localhub.Options{})
	pr := h.openPR(t, "feature")
	resp := h.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "MERGE"}, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Type != "UNPROCESSABLE" || resp.Errors[0].Message != "Pull request Pull request is in clean status" {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	if got := h.PullRequests()[0]; got.Merged || got.AutoMerge != "" {
		t.Fatalf("after the refusal: %+v", got)
	}
}

func TestAutoMergeDisable(t *testing.T) {
	h := newHub(t, localhub.Options{Checks: localhub.ChecksPending})
	pr := h.openPR(t, "feature")
	h.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "REBASE"}, nil)
	resp := h.graphql(t, "/graphql", "", `mutation($id: ID!) { disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { autoMergeRequest { mergeMethod } } } }`,
		map[string]any{"id": pr.GetNodeID()}, nil)
	if len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), `"autoMergeRequest":null`) {
		t.Fatalf("disable: %s %+v", resp.Data, resp.Errors)
	}
	h.SetChecks(localhub.ChecksSuccess)
	if got := h.PullRequests()[0]; got.Merged || got.AutoMerge != "" {
		t.Errorf("merged after disable: %+v", got)
	}
}

func TestGraphQLErrors(t *testing.T) {
	h := newHub(t, localhub.Options{Token: testToken})
	pr := h.openPR(t, "feature")
	cases := []struct {
		name, query string
		vars        map[string]any
		wantType    string
		wantMsg     string
		dataNull    bool
	}{
		{"unknown field", `{ repository(owner:"acme", name:"gitops") { nope } }`, nil, "undefinedField", "nope", true},
		{"unknown mutation", `mutation { deleteRepository(input:{}) { clientMutationId } }`, nil, "undefinedField", "deleteRepository", true},
		{"syntax", `query {`, nil, "INVALID", "", true},
		{"missing variable", prQuery, map[string]any{"owner": "acme", "name": "gitops"}, "INVALID", "number", true},
		{"unknown repository", prQuery, map[string]any{"owner": "acme", "name": "other", "number": 1}, "NOT_FOUND", "Could not resolve to a Repository", false},
		{"unknown pull request", prQuery, map[string]any{"owner": "acme", "name": "gitops", "number": 99}, "NOT_FOUND", "Could not resolve to a PullRequest with the number of 99.", false},
		{"unknown node", enableAutoMerge, map[string]any{"id": "PR_nope", "method": "MERGE"}, "NOT_FOUND", "PR_nope", false},
		{"bad enum", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "FASTFORWARD"}, "INVALID", "FASTFORWARD", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.graphql(t, "/graphql", testToken, tc.query, tc.vars, nil)
			if len(resp.Errors) == 0 {
				t.Fatalf("no errors; data %s", resp.Data)
			}
			e := resp.Errors[0]
			if e.Type != tc.wantType || !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("error = %+v, want type %s with %q", e, tc.wantType, tc.wantMsg)
			}
			if tc.dataNull != (len(resp.Data) == 0 || string(resp.Data) == "null") {
				t.Errorf("data = %s", resp.Data)
			}
		})
	}
	t.Run("needs a token", func(t *testing.T) {
		var body map[string]any
		status, _ := h.apiCall(t, http.MethodPost, "/graphql", "", map[string]any{"query": "{ viewer { login } }"}, &body)
		if status != http.StatusUnauthorized {
			t.Errorf("status %d %v", status, body)
		}
	})
	t.Run("fragments, aliases, typename", func(t *testing.T) {
		q := `query Q($n: Int!) { r: repository(owner:"acme", name:"gitops") { ...R } viewer { __typename login } }
		fragment R on Repository { nameWithOwner pullRequest(number: $n) { __typename num: number ... on PullRequest { headRefName author { ... on User { login } } } } }`
		resp := h.graphql(t, "/graphql", testToken, q, map[string]any{"n": pr.GetNumber()}, nil)
		want := `{"r":{"nameWithOwner":"acme/gitops","pullRequest":{"__typename":"PullRequest","num":1,"headRefName":"feature","author":{"login":"credrotate-bot"}}},"viewer":{"__typename":"User","login":"credrotate-bot"}}`
		if len(resp.Errors) > 0 || string(resp.Data) != want {
			t.Errorf("data = %s\nwant   %s\nerrors %+v", resp.Data, want, resp.Errors)
		}
	})
}

func TestAutoMergeWaitsForAConflictToBeResolved(t *testing.T) {
	h := newHub(t, localhub.Options{})
	h.commit(t, "feature", "branch edit", map[string]string{"README.md": "branch\n"})
	h.commit(t, "main", "main edit", map[string]string{"README.md": "main\n"})
	pr, _, err := h.client("").PullRequests.Create(context.Background(), "acme", "gitops", &github.NewPullRequest{Title: ptr("x"), Head: ptr("feature"), Base: ptr("main")})
	if err != nil {
		t.Fatal(err)
	}
	const withExpected = `mutation($id: ID!, $oid: GitObjectID) {
	  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH, expectedHeadOid: $oid}) { pullRequest { number } }
	}`
	resp := h.graphql(t, "/graphql", "", withExpected, map[string]any{"id": pr.GetNodeID(), "oid": strings.Repeat("0", 40)}, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Type != "UNPROCESSABLE" {
		t.Fatalf("stale expectedHeadOid: %+v", resp.Errors)
	}
	resp = h.graphql(t, "/graphql", "", withExpected, map[string]any{"id": pr.GetNodeID(), "oid": pr.GetHead().GetSHA()}, nil)
	if len(resp.Errors) > 0 {
		t.Fatalf("enable: %+v", resp.Errors)
	}
	if got := h.PullRequests()[0]; got.Merged || got.AutoMerge != "squash" {
		t.Fatalf("a conflicting pull request merged: %+v", got)
	}
	// Resolving the conflict on the branch lets auto-merge go through; the
	// expected head no longer matches, so it waits (as GitHub's does).
	h.commit(t, "feature", "resolve", map[string]string{"README.md": "main\n"})
	if got := h.PullRequests()[0]; got.Merged {
		t.Fatalf("merged a head other than the expected one: %+v", got)
	}
	// Enabling it again is refused now that the pull request is clean; it
	// merges directly.
	resp = h.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "SQUASH"}, nil)
	if len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Message, "clean status") {
		t.Fatalf("re-enable on a clean pull request: %+v", resp.Errors)
	}
	if _, _, err := h.client("").PullRequests.Merge(context.Background(), "acme", "gitops", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "squash"}); err != nil {
		t.Fatal(err)
	}
	if got := h.PullRequests()[0]; !got.Merged || got.MergeCommitSHA != h.revParse(t, "main") {
		t.Fatalf("after the conflict was resolved: %+v", got)
	}
}

func TestPostedStatusesDecideTheRequiredCheck(t *testing.T) {
	h := newHub(t, localhub.Options{})
	ctx := context.Background()
	gh := h.client("")
	pr := h.openPR(t, "feature")
	head := pr.GetHead().GetSHA()
	post := func(state, context string) {
		t.Helper()
		if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "gitops", head, &github.RepoStatus{State: ptr(state), Context: ptr(context)}); err != nil {
			t.Fatal(err)
		}
	}
	post("pending", "localhub/ci")
	post("failure", "lint") // not required: shows in the combined state only
	st, _, err := gh.Repositories.GetCombinedStatus(ctx, "acme", "gitops", head, nil)
	if err != nil || st.GetState() != "failure" || st.GetTotalCount() != 2 || st.Statuses[0].GetContext() != "localhub/ci" || st.Statuses[0].GetState() != "pending" {
		t.Fatalf("combined: %v %+v", err, st)
	}
	if _, _, err := gh.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", nil); err == nil {
		t.Fatal("merged while the required check was pending")
	}
	resp := h.graphql(t, "/graphql", "", enableAutoMerge, map[string]any{"id": pr.GetNodeID(), "method": "MERGE"}, nil)
	if len(resp.Errors) > 0 || h.PullRequests()[0].Merged {
		t.Fatalf("enable: %+v merged=%v", resp.Errors, h.PullRequests()[0].Merged)
	}
	post("success", "localhub/ci")
	if got := h.PullRequests()[0]; !got.Merged {
		t.Fatalf("not merged after the required check passed: %+v", got)
	}
	_, _, err = gh.Repositories.CreateStatus(ctx, "acme", "gitops", head, &github.RepoStatus{State: ptr("green")})
	if ge := (*github.ErrorResponse)(nil); !asErr(err, &ge) || ge.Response.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad state: %v", err)
	}
}
