package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// EnableAutoMergeMutation is the GraphQL document EnableAutoMerge sends.
const EnableAutoMergeMutation = `mutation EnableAutoMerge($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!, $expectedHeadOid: GitObjectID) {
  enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId, mergeMethod: $mergeMethod, expectedHeadOid: $expectedHeadOid}) {
    pullRequest {
      number
      merged
      state
      autoMergeRequest {
        enabledAt
        mergeMethod
      }
    }
  }
}`

// GraphQLDocuments are every GraphQL document the client sends, by name, so
// that tests can validate them against GitHub's schema.
func GraphQLDocuments() map[string]string {
	return map[string]string{"EnableAutoMerge": EnableAutoMergeMutation, "Viewer": ViewerQuery}
}

func toPR(p *gh.PullRequest) forge.PR {
	out := forge.PR{
		Number:         p.GetNumber(),
		URL:            p.GetHTMLURL(),
		NodeID:         p.GetNodeID(),
		Branch:         p.GetHead().GetRef(),
		Base:           p.GetBase().GetRef(),
		HeadSHA:        p.GetHead().GetSHA(),
		Title:          p.GetTitle(),
		Body:           p.GetBody(),
		State:          p.GetState(),
		Merged:         p.GetMerged() || !p.GetMergedAt().IsZero(),
		MergeCommitSHA: p.GetMergeCommitSHA(),
		MergedAt:       p.GetMergedAt().Time,
		AutoMerge:      p.AutoMerge != nil,
		Mergeable:      p.Mergeable,
		MergeableState: p.GetMergeableState(),
	}
	if !out.Merged {
		out.MergeCommitSHA = ""
	}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	for _, u := range p.RequestedReviewers {
		out.Reviewers = append(out.Reviewers, u.GetLogin())
	}
	for _, t := range p.RequestedTeams {
		out.TeamReviewers = append(out.TeamReviewers, t.GetSlug())
	}
	return out
}

// ListOpenPRs lists the open pull requests whose head branch starts with
// branchPrefix. Those that are credrotate's (see owned) come as they are;
// any other on the prefix (from a fork, a deleted fork, or opened by
// another account) comes with Foreign set and no Body, so that no state is
// read from it, and is logged: the run reports it and leaves it alone. The
// list is bounded by the page and item caps.
func (c *Client) ListOpenPRs(ctx context.Context, branchPrefix string) ([]forge.PR, error) {
	var out []forge.PR
	opts := &gh.PullRequestListOptions{State: "open", Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 100}}
	err := c.paginate("listing open pull requests", func(page int) (int, *gh.Response, error) {
		opts.Page = page
		prs, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.repo, opts)
		if err != nil {
			return 0, nil, err
		}
		for _, p := range prs {
			if !strings.HasPrefix(p.GetHead().GetRef(), branchPrefix) {
				continue
			}
			ok, why, err := c.owned(ctx, p)
			if err != nil {
				return 0, nil, err
			}
			if !ok {
				c.logf("github: pull request #%d on %s is not credrotate's: %s; it is left alone (never resumed, merged, labelled or closed)",
					p.GetNumber(), p.GetHead().GetRef(), why)
				out = append(out, foreign(p, why))
				continue
			}
			out = append(out, toPR(p))
		}
		return len(prs), resp, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindOpenPR returns credrotate's open pull request from branch, or nil.
func (c *Client) FindOpenPR(ctx context.Context, branch string) (*forge.PR, error) {
	p, err := c.findOpen(ctx, branch)
	if err != nil || p == nil {
		return nil, err
	}
	pr := toPR(p)
	return &pr, nil
}

func (c *Client) findOpen(ctx context.Context, branch string) (*gh.PullRequest, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, c.owner, c.repo, &gh.PullRequestListOptions{
		State: "open", Head: c.owner + ":" + branch, ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return nil, c.err("finding the open pull request for "+branch, err)
	}
	for _, p := range prs {
		if p.GetHead().GetRef() != branch {
			continue
		}
		ok, why, err := c.owned(ctx, p)
		if err != nil {
			return nil, err
		}
		if ok {
			return p, nil
		}
		c.logf("github: pull request #%d on %s is not credrotate's: %s; it is left alone", p.GetNumber(), branch, why)
	}
	return nil, nil
}

// GetPR reads a pull request.
func (c *Client) GetPR(ctx context.Context, number int) (forge.PR, error) {
	p, _, err := c.gh.PullRequests.Get(ctx, c.owner, c.repo, number)
	if err != nil {
		return forge.PR{}, c.err(fmt.Sprintf("reading pull request #%d", number), err)
	}
	return toPR(p), nil
}

// EnsurePR makes sure one open pull request from spec.Branch exists with
// spec's title, body and base, carrying spec's labels and reviewers. It
// updates the open one rather than opening a second; created is true when it
// opened one. Labels are only added (never removed); reviewers are requested
// once: not again after they reviewed, and never the author. A reviewer
// GitHub refuses (not a collaborator) is logged, not fatal.
func (c *Client) EnsurePR(ctx context.Context, spec forge.PRSpec) (forge.PR, bool, error) {
	if spec.Branch == "" || spec.Base == "" || spec.Title == "" {
		return forge.PR{}, false, errors.New("ensuring pull request: branch, base and title are required")
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	var (
		p   *gh.PullRequest
		err error
	)
	if !spec.NewBranch {
		if p, err = c.findOpen(ctx, spec.Branch); err != nil {
			return forge.PR{}, false, err
		}
	}
	created := false
	if p == nil {
		p, _, err = c.gh.PullRequests.Create(ctx, c.owner, c.repo, &gh.NewPullRequest{
			Title: gh.String(spec.Title), Head: gh.String(spec.Branch), Base: gh.String(spec.Base), Body: gh.String(spec.Body),
		})
		switch {
		case err == nil:
			created = true
		case statusOf(err) == http.StatusUnprocessableEntity && strings.Contains(messageOf(err), "already exists"):
			// opened meanwhile (or our create was retried): use that one
			if p, err = c.findOpen(ctx, spec.Branch); err != nil {
				return forge.PR{}, false, err
			}
			if p == nil {
				return forge.PR{}, false, fmt.Errorf("creating pull request for %s: GitHub says one exists but none is open", spec.Branch)
			}
		default:
			return forge.PR{}, false, c.err("creating pull request for "+spec.Branch, err)
		}
	}
	if !created && (p.GetTitle() != spec.Title || p.GetBody() != spec.Body || p.GetBase().GetRef() != spec.Base) {
		edit := &gh.PullRequest{Title: gh.String(spec.Title), Body: gh.String(spec.Body)}
		if p.GetBase().GetRef() != spec.Base {
			edit.Base = &gh.PullRequestBranch{Ref: gh.String(spec.Base)}
		}
		if p, _, err = c.gh.PullRequests.Edit(ctx, c.owner, c.repo, p.GetNumber(), edit); err != nil {
			return forge.PR{}, false, c.err(fmt.Sprintf("updating pull request #%d", p.GetNumber()), err)
		}
	}
	n := p.GetNumber()

	have := map[string]bool{}
	for _, l := range p.Labels {
		have[strings.ToLower(l.GetName())] = true
	}
	var add []string
	for _, l := range spec.Labels {
		if l != "" && !have[strings.ToLower(l)] {
			have[strings.ToLower(l)] = true
			add = append(add, l)
		}
	}
	if len(add) > 0 {
		labels, err := c.addLabels(ctx, n, add)
		if err != nil {
			return forge.PR{}, false, c.err(fmt.Sprintf("labelling pull request #%d", n), err)
		}
		p.Labels = labels
	}

	if err := c.requestReviewers(ctx, p, spec, created); err != nil {
		return forge.PR{}, false, err
	}
	if created {
		// The answers to the create, the labels and the review request
		// describe the new pull request whole.
		return toPR(p), true, nil
	}
	if p, _, err = c.gh.PullRequests.Get(ctx, c.owner, c.repo, n); err != nil {
		return forge.PR{}, false, c.err(fmt.Sprintf("reading pull request #%d", n), err)
	}
	return toPR(p), created, nil
}

// deleteBranch deletes refs/heads/<branch>. The ref is one path parameter
// in GitHub's description, so its slashes are escaped (%2F); go-github's
// DeleteRef sends them raw, as extra path segments.
func (c *Client) deleteBranch(ctx context.Context, branch string) error {
	u := fmt.Sprintf("repos/%v/%v/git/refs/%s", c.owner, c.repo, url.PathEscape("heads/"+branch))
	req, err := c.gh.NewRequest(http.MethodDelete, u, nil)
	if err != nil {
		return err
	}
	_, err = c.gh.Do(ctx, req, nil)
	return err
}

// addLabels adds labels to an issue or pull request. It sends the object
// form {"labels": [...]}, the one GitHub's OpenAPI description documents;
// go-github v60's AddLabelsToIssue sends a bare array, which the description
// no longer lists.
func (c *Client) addLabels(ctx context.Context, number int, labels []string) ([]*gh.Label, error) {
	u := fmt.Sprintf("repos/%v/%v/issues/%d/labels", c.owner, c.repo, number)
	req, err := c.gh.NewRequest(http.MethodPost, u, struct {
		Labels []string `json:"labels"`
	}{labels})
	if err != nil {
		return nil, err
	}
	var out []*gh.Label
	if _, err := c.gh.Do(ctx, req, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) requestReviewers(ctx context.Context, p *gh.PullRequest, spec forge.PRSpec, created bool) error {
	if len(spec.Reviewers) == 0 && len(spec.TeamReviewers) == 0 {
		return nil
	}
	asked := map[string]bool{strings.ToLower(p.GetUser().GetLogin()): true}
	for _, u := range p.RequestedReviewers {
		asked[strings.ToLower(u.GetLogin())] = true
	}
	teams := map[string]bool{}
	for _, t := range p.RequestedTeams {
		teams[strings.ToLower(t.GetSlug())] = true
	}
	if !created {
		reviews, _, err := c.gh.PullRequests.ListReviews(ctx, c.owner, c.repo, p.GetNumber(), &gh.ListOptions{PerPage: 100})
		if err != nil {
			return c.err(fmt.Sprintf("listing reviews of pull request #%d", p.GetNumber()), err)
		}
		for _, r := range reviews {
			asked[strings.ToLower(r.GetUser().GetLogin())] = true
		}
	}
	var req gh.ReviewersRequest
	for _, u := range spec.Reviewers {
		if u != "" && !asked[strings.ToLower(u)] {
			asked[strings.ToLower(u)] = true
			req.Reviewers = append(req.Reviewers, u)
		}
	}
	for _, t := range spec.TeamReviewers {
		slug := t
		if _, s, ok := strings.Cut(t, "/"); ok {
			slug = s
		}
		if slug != "" && !teams[strings.ToLower(slug)] {
			teams[strings.ToLower(slug)] = true
			req.TeamReviewers = append(req.TeamReviewers, slug)
		}
	}
	if len(req.Reviewers) == 0 && len(req.TeamReviewers) == 0 {
		return nil
	}
	got, _, err := c.gh.PullRequests.RequestReviewers(ctx, c.owner, c.repo, p.GetNumber(), req)
	if err == nil && got != nil {
		p.RequestedReviewers, p.RequestedTeams = got.RequestedReviewers, got.RequestedTeams
	}
	if err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity {
			c.logf("github: requesting reviewers %v teams %v on pull request #%d refused: %s (check github.reviewers: they must be collaborators)",
				req.Reviewers, req.TeamReviewers, p.GetNumber(), messageOf(err))
			return nil
		}
		return c.err(fmt.Sprintf("requesting reviewers on pull request #%d", p.GetNumber()), err)
	}
	return nil
}

// mergeMethod maps a configured method to REST's and GraphQL's spelling.
func mergeMethod(method string) (rest, graphql string, err error) {
	switch strings.ToLower(method) {
	case "", "squash":
		return "squash", "SQUASH", nil
	case "merge":
		return "merge", "MERGE", nil
	case "rebase":
		return "rebase", "REBASE", nil
	}
	return "", "", fmt.Errorf("merge method %q: use merge, squash or rebase", method)
}

// EnableAutoMerge turns on GitHub's auto-merge for pr with method (merge,
// squash or rebase), pinned to pr.HeadSHA when known. GitHub then merges
// once the branch protection's required checks pass. When GitHub refuses
// because the pull request is already mergeable ("clean status"), it is
// merged directly through MergeIfGreen. merged reports whether the pull
// request is merged by then, as GitHub's answer says (it merges at once
// when the required checks have already passed).
func (c *Client) EnableAutoMerge(ctx context.Context, pr forge.PR, method string) (merged bool, err error) {
	restMethod, gqlMethod, err := mergeMethod(method)
	if err != nil {
		return false, err
	}
	if pr.NodeID == "" {
		if pr, err = c.GetPR(ctx, pr.Number); err != nil {
			return false, err
		}
	}
	vars := map[string]any{"pullRequestId": pr.NodeID, "mergeMethod": gqlMethod}
	if pr.HeadSHA != "" {
		vars["expectedHeadOid"] = pr.HeadSHA
	}
	var out struct {
		Enable struct {
			PullRequest struct {
				Merged bool   `json:"merged"`
				State  string `json:"state"`
			} `json:"pullRequest"`
		} `json:"enablePullRequestAutoMerge"`
	}
	c.writeMu.Lock()
	err = c.graphQL(ctx, EnableAutoMergeMutation, vars, &out)
	c.writeMu.Unlock()
	if err == nil {
		p := out.Enable.PullRequest
		return p.Merged || p.State == "MERGED", nil
	}
	var ge *GraphQLErrors
	if errors.As(err, &ge) {
		switch {
		case ge.has("", "clean status") && pr.HeadSHA != "":
			// Clean is GitHub's word for mergeable with every status
			// passing: there is nothing to wait for, so it merges now,
			// pinned to the head the pull request was opened with.
			return c.mergeAt(ctx, pr.Number, pr.HeadSHA, restMethod)
		case ge.has("", "clean status"):
			merged, err := c.MergeIfGreen(ctx, pr, method)
			if err != nil {
				return false, err
			}
			if !merged {
				c.logf("github: pull request #%d is mergeable but its checks are not green yet; auto-merge could not be enabled", pr.Number)
			}
			return merged, nil
		case ge.has("", "auto merge is not allowed") || ge.has("", "auto-merge is not allowed"):
			return false, fmt.Errorf("enabling auto-merge on pull request #%d: %w: turn on \"Allow auto-merge\" in the repository settings, or set github.autoMerge.strategy: direct", pr.Number, err)
		case ge.has("", "already merged"):
			return true, nil
		case ge.has("", "head sha didn't match") || ge.has("", "expected head"):
			return false, fmt.Errorf("enabling auto-merge on pull request #%d: %w: %v", pr.Number, forge.ErrHeadMoved, err)
		case ge.has("RATE_LIMITED", ""):
			return false, &RateLimitError{Op: fmt.Sprintf("enabling auto-merge on pull request #%d", pr.Number), Err: err}
		case ge.has("FORBIDDEN", ""):
			return false, &PermissionError{Op: fmt.Sprintf("enabling auto-merge on pull request #%d", pr.Number), Permission: "pull_requests=write", Message: err.Error()}
		}
		return false, fmt.Errorf("enabling auto-merge on pull request #%d: %w", pr.Number, err)
	}
	return false, c.err(fmt.Sprintf("enabling auto-merge on pull request #%d", pr.Number), err)
}

// MergeIfGreen merges pr (strategy direct) when every commit status and
// check run on its head is successful, pinned to pr.HeadSHA: if the head
// moved, GitHub refuses and the error matches forge.ErrHeadMoved. Pending
// checks return (false, nil); a failed check forge.ErrChecksFailed. An
// already merged pull request returns (true, nil).
func (c *Client) MergeIfGreen(ctx context.Context, pr forge.PR, method string) (bool, error) {
	restMethod, _, err := mergeMethod(method)
	if err != nil {
		return false, err
	}
	p, _, err := c.gh.PullRequests.Get(ctx, c.owner, c.repo, pr.Number)
	if err != nil {
		return false, c.err(fmt.Sprintf("reading pull request #%d", pr.Number), err)
	}
	if ok, why, err := c.owned(ctx, p); err != nil {
		return false, err
	} else if !ok {
		return false, fmt.Errorf("merging pull request #%d: %w: %s", pr.Number, forge.ErrNotOurs, why)
	}
	cur := toPR(p)
	switch {
	case cur.Merged:
		return true, nil
	case !cur.Open():
		return false, fmt.Errorf("merging pull request #%d: %w: it is closed", pr.Number, forge.ErrNotMergeable)
	case pr.HeadSHA != "" && cur.HeadSHA != pr.HeadSHA:
		return false, fmt.Errorf("merging pull request #%d: %w: expected %s, found %s", pr.Number, forge.ErrHeadMoved, pr.HeadSHA, cur.HeadSHA)
	}
	head := cur.HeadSHA
	green, err := c.checksGreen(ctx, pr.Number, head)
	if err != nil || !green {
		return false, err
	}
	return c.mergeAt(ctx, pr.Number, head, restMethod)
}

// mergeAt merges pull request number if its head is still head.
func (c *Client) mergeAt(ctx context.Context, number int, head, restMethod string) (bool, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	res, _, err := c.gh.PullRequests.Merge(ctx, c.owner, c.repo, number, "", &gh.PullRequestOptions{SHA: head, MergeMethod: restMethod})
	if err != nil {
		switch statusOf(err) {
		case http.StatusConflict:
			return false, fmt.Errorf("merging pull request #%d: %w: %s", number, forge.ErrHeadMoved, messageOf(err))
		case http.StatusMethodNotAllowed:
			return false, fmt.Errorf("merging pull request #%d: %w: %s", number, forge.ErrNotMergeable, messageOf(err))
		}
		return false, c.err(fmt.Sprintf("merging pull request #%d", number), err)
	}
	return res.GetMerged(), nil
}

// checksGreen reads the combined status and the check runs of sha.
func (c *Client) checksGreen(ctx context.Context, number int, sha string) (bool, error) {
	st, _, err := c.gh.Repositories.GetCombinedStatus(ctx, c.owner, c.repo, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return false, c.err(fmt.Sprintf("reading commit status of pull request #%d", number), err)
	}
	pending := false
	// With no statuses at all GitHub reports "pending"; only real statuses count.
	if st.GetTotalCount() > 0 || len(st.Statuses) > 0 {
		switch st.GetState() {
		case "success":
		case "pending":
			pending = true
		default:
			return false, fmt.Errorf("pull request #%d: %w: commit status is %s", number, forge.ErrChecksFailed, st.GetState())
		}
	}
	opts := &gh.ListCheckRunsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	var failed error
	err = c.paginate(fmt.Sprintf("reading check runs of pull request #%d", number), func(page int) (int, *gh.Response, error) {
		opts.Page = page
		runs, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, c.owner, c.repo, sha, opts)
		if err != nil {
			return 0, nil, err
		}
		for _, r := range runs.CheckRuns {
			if r.GetStatus() != "completed" {
				pending = true
				continue
			}
			if !slices.Contains([]string{"success", "neutral", "skipped"}, r.GetConclusion()) {
				failed = fmt.Errorf("pull request #%d: %w: check %q concluded %s", number, forge.ErrChecksFailed, r.GetName(), r.GetConclusion())
				return len(runs.CheckRuns), nil, nil
			}
		}
		return len(runs.CheckRuns), resp, nil
	})
	if err != nil {
		return false, err
	}
	if failed != nil {
		return false, failed
	}
	return !pending, nil
}

// ClosePR closes a superseded pull request: a comment (with a link to the
// pull request that replaces it), close, and delete its branch.
func (c *Client) ClosePR(ctx context.Context, pr forge.PR, comment string) error {
	return c.closePR(ctx, pr, comment, true)
}

// ClosePRKeepBranch closes a pull request like ClosePR but keeps its
// branch: another open pull request may merge from the same branch.
func (c *Client) ClosePRKeepBranch(ctx context.Context, pr forge.PR, comment string) error {
	return c.closePR(ctx, pr, comment, false)
}

func (c *Client) closePR(ctx context.Context, pr forge.PR, comment string, deleteBranch bool) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if strings.TrimSpace(comment) != "" {
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, pr.Number, &gh.IssueComment{Body: gh.String(comment)}); err != nil {
			return c.err(fmt.Sprintf("commenting on pull request #%d", pr.Number), err)
		}
	}
	p, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.repo, pr.Number, &gh.PullRequest{State: gh.String("closed")})
	if err != nil {
		return c.err(fmt.Sprintf("closing pull request #%d", pr.Number), err)
	}
	branch := p.GetHead().GetRef()
	if branch == "" {
		branch = pr.Branch
	}
	if branch == "" || !deleteBranch {
		return nil
	}
	if ok, _, err := c.owned(ctx, p); err != nil || !ok {
		return err // a branch credrotate does not own is never deleted
	}
	if err := c.deleteBranch(ctx, branch); err != nil {
		if s := statusOf(err); s == http.StatusUnprocessableEntity || s == http.StatusNotFound {
			return nil // already gone
		}
		return c.err(fmt.Sprintf("deleting branch %s of pull request #%d", branch, pr.Number), err)
	}
	return nil
}
