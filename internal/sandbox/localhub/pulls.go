package localhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// refreshLocked brings every open pull request up to date with the
// branches: it records their current head and base commits and, like
// GitHub, closes those whose head branch was deleted.
func (s *Server) refreshLocked(ctx context.Context) map[string]string {
	br, err := s.git.branches(ctx)
	if err != nil {
		s.logf("localhub: listing branches: %v", err)
		return map[string]string{}
	}
	now := time.Now().UTC()
	for _, is := range s.issues {
		p := is.pr
		if p == nil || is.state != "open" || p.fromFork() {
			continue
		}
		if sha, ok := br[p.head]; ok {
			if sha != p.headSHA {
				p.headSHA = sha
				is.updatedAt = now
			}
		} else {
			is.state, is.closedAt, is.updatedAt = "closed", now, now
			p.autoMerge = nil
			s.logf("localhub: pull request #%d closed: its head branch %s was deleted", is.number, p.head)
			continue
		}
		if sha, ok := br[p.base]; ok {
			p.baseSHA = sha
		}
	}
	return br
}

type prDetail struct {
	mergeable      any
	mergeableState string
	rebaseable     any
	commits        int
	additions      int
	deletions      int
	changedFiles   int
}

// detailLocked computes what only a single pull request's GET shows: whether
// it merges cleanly and its size.
func (s *Server) detailLocked(ctx context.Context, is *issue) prDetail {
	p := is.pr
	d := prDetail{mergeableState: "unknown"}
	if p.merged || is.state != "open" {
		if n, err := s.git.countBetween(ctx, p.baseSHA, p.headSHA); err == nil && !p.merged {
			d.commits = n
		}
		return d
	}
	_, err := s.git.mergeTree(ctx, p.baseSHA, p.headSHA)
	switch {
	case errors.Is(err, errConflict):
		d.mergeable, d.mergeableState, d.rebaseable = false, "dirty", false
	case err != nil:
		d.mergeableState = "unknown"
	default:
		d.mergeable, d.rebaseable = true, true
		switch {
		case p.draft:
			d.mergeableState = "draft"
		case s.requiredStateLocked(p.headSHA) != ChecksSuccess:
			d.mergeableState = "blocked"
		default:
			d.mergeableState = "clean"
		}
	}
	d.commits, _ = s.git.countBetween(ctx, p.baseSHA, p.headSHA)
	if out, err := s.git.run(ctx, "", nil, nil, "diff", "--numstat", p.baseSHA+"..."+p.headSHA); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			a, _ := strconv.Atoi(f[0])
			dl, _ := strconv.Atoi(f[1])
			d.additions += a
			d.deletions += dl
			d.changedFiles++
		}
	}
	return d
}

func (s *Server) teamJSON(u urls, slug string) map[string]any {
	api := u.api + "/orgs/" + s.opts.Owner + "/teams/" + slug
	return map[string]any{
		"id": idFor("team:" + slug), "node_id": nodeID("T", slug), "url": api, "html_url": u.web + "/orgs/" + s.opts.Owner + "/teams/" + slug,
		"name": slug, "slug": slug, "description": nil, "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "pull", "members_url": api + "/members{/member}", "repositories_url": api + "/repos",
		"type": "organization", "parent": nil,
	}
}

func (s *Server) branchJSON(r *http.Request, u urls, branch, sha string) map[string]any {
	return map[string]any{
		"label": s.opts.Owner + ":" + branch, "ref": branch, "sha": sha,
		"user": s.userJSON(u, s.opts.Owner), "repo": s.repoJSON(r, u, false),
	}
}

// prJSON renders a pull request as GitHub does; detail adds what only the
// single-pull GET carries.
func (s *Server) prJSON(r *http.Request, u urls, is *issue, detail bool) map[string]any {
	p := is.pr
	api := s.repoAPIURL(u)
	n := strconv.Itoa(is.number)
	self := api + "/pulls/" + n
	html := s.repoWebURL(u) + "/pull/" + n
	issueURL := api + "/issues/" + n
	reviewers := []any{}
	for _, rv := range p.reviewers {
		reviewers = append(reviewers, s.userJSON(u, rv))
	}
	teams := []any{}
	for _, t := range p.teams {
		teams = append(teams, s.teamJSON(u, t))
	}
	var auto any
	if p.autoMerge != nil {
		auto = map[string]any{
			"enabled_by": s.userJSON(u, p.autoMerge.enabledBy), "merge_method": p.autoMerge.method,
			"commit_title": p.autoMerge.commitTitle, "commit_message": p.autoMerge.commitMessage,
		}
	}
	var mergeSHA, mergedBy any
	if p.mergeCommitSHA != "" {
		mergeSHA = p.mergeCommitSHA
	}
	if p.merged {
		mergedBy = s.userJSON(u, p.mergedBy)
	}
	href := func(h string) map[string]any { return map[string]any{"href": h} }
	m := map[string]any{
		"url": self, "id": p.id, "node_id": nodeID("PR", s.prKey(is.number)), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issueURL,
		"commits_url": self + "/commits", "review_comments_url": self + "/comments",
		"review_comment_url": api + "/pulls/comments{/number}", "comments_url": issueURL + "/comments",
		"statuses_url": api + "/statuses/" + p.headSHA,
		"number":       is.number, "state": is.state, "locked": false, "title": is.title, "user": s.userJSON(u, is.user),
		"body": is.body, "labels": s.labelsJSON(u, is.labels), "milestone": nil, "active_lock_reason": nil,
		"created_at": ts(is.createdAt), "updated_at": ts(is.updatedAt), "closed_at": ts(is.closedAt),
		"merged_at": ts(p.mergedAt), "merge_commit_sha": mergeSHA, "assignee": nil, "assignees": []any{},
		"requested_reviewers": reviewers, "requested_teams": teams,
		"head": s.headJSON(r, u, is), "base": s.branchJSON(r, u, p.base, p.baseSHA),
		"_links": map[string]any{
			"self": href(self), "html": href(html), "issue": href(issueURL), "comments": href(issueURL + "/comments"),
			"review_comments": href(self + "/comments"), "review_comment": href(api + "/pulls/comments{/number}"),
			"commits": href(self + "/commits"), "statuses": href(api + "/statuses/" + p.headSHA),
		},
		"author_association": "MEMBER", "auto_merge": auto, "draft": p.draft,
	}
	if detail {
		d := s.detailLocked(r.Context(), is)
		m["merged"] = p.merged
		m["mergeable"] = d.mergeable
		m["rebaseable"] = d.rebaseable
		m["mergeable_state"] = d.mergeableState
		m["merged_by"] = mergedBy
		m["comments"] = len(is.comments)
		m["review_comments"] = 0
		m["maintainer_can_modify"] = p.maintainerCanModify
		m["commits"] = d.commits
		m["additions"] = d.additions
		m["deletions"] = d.deletions
		m["changed_files"] = d.changedFiles
	}
	return m
}

// headBranch parses a head of "branch" or "owner:branch".
func (s *Server) headBranch(head string) (string, bool) {
	owner, branch, found := strings.Cut(head, ":")
	if !found {
		return head, true
	}
	return branch, strings.EqualFold(owner, s.opts.Owner)
}

func (s *Server) openPullFor(head, base string, except int) *issue {
	for _, is := range s.issues {
		if is.pr != nil && is.state == "open" && is.number != except && is.pr.head == head && is.pr.base == base && !is.pr.fromFork() {
			return is
		}
	}
	return nil
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	state, ok := listState(w, q, "PullRequest")
	if !ok {
		return
	}
	head, headOK := "", true
	if h := q.Get("head"); h != "" {
		head, headOK = s.headBranch(h)
	}
	base := q.Get("base")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	var list []*issue
	for _, is := range s.issues {
		if is.pr == nil || (state != "all" && is.state != state) {
			continue
		}
		if !headOK || (head != "" && (is.pr.head != head || is.pr.fromFork())) || (base != "" && is.pr.base != base) {
			continue
		}
		list = append(list, is)
	}
	sortIssues(list, q.Get("sort"), q.Get("direction"))
	u := s.urlsFor(r)
	out := []any{}
	for _, is := range paginate(w, r, u, list) {
		out = append(out, s.prJSON(r, u, is, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// sortIssues orders issues as GitHub's list endpoints do: by creation, most
// recent first, unless asked otherwise.
func sortIssues(list []*issue, by, direction string) {
	asc := direction == "asc"
	key := func(is *issue) time.Time { return is.createdAt }
	switch by {
	case "updated":
		key = func(is *issue) time.Time { return is.updatedAt }
	case "long-running":
		asc = direction != "desc"
	case "comments", "popularity":
		sort.SliceStable(list, func(i, j int) bool {
			if asc {
				return len(list[i].comments) < len(list[j].comments)
			}
			return len(list[i].comments) > len(list[j].comments)
		})
		return
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := key(list[i]), key(list[j])
		if a.Equal(b) {
			if asc {
				return list[i].number < list[j].number
			}
			return list[i].number > list[j].number
		}
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
}

type createPullRequest struct {
	Title               *string `json:"title"`
	Head                *string `json:"head"`
	Base                *string `json:"base"`
	Body                *string `json:"body"`
	Draft               *bool   `json:"draft"`
	MaintainerCanModify *bool   `json:"maintainer_can_modify"`
	Issue               *int    `json:"issue"`
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permPulls, AccessWrite) {
		return
	}
	var req createPullRequest
	if !decodeBody(w, r, &req) {
		return
	}
	var missing []fieldError
	if req.Title == nil || strings.TrimSpace(*req.Title) == "" {
		missing = append(missing, fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if req.Head == nil || *req.Head == "" {
		missing = append(missing, fieldError{Resource: "PullRequest", Field: "head", Code: "missing_field"})
	}
	if req.Base == nil || *req.Base == "" {
		missing = append(missing, fieldError{Resource: "PullRequest", Field: "base", Code: "missing_field"})
	}
	if len(missing) > 0 {
		validationFailed(w, missing...)
		return
	}
	head, ok := s.headBranch(*req.Head)
	base := *req.Base
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	br := s.refreshLocked(ctx)
	headSHA, headExists := br[head]
	baseSHA, baseExists := br[base]
	switch {
	case !ok || !headExists:
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
		return
	case !baseExists:
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	}
	if dup := s.openPullFor(head, base, 0); dup != nil {
		validationFailed(w, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, head)})
		return
	}
	if n, err := s.git.countBetween(ctx, baseSHA, headSHA); err != nil || n == 0 || head == base {
		validationFailed(w, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", base, head)})
		return
	}
	now := time.Now().UTC()
	is := &issue{
		number: len(s.issues) + 1, id: s.newID(), title: *req.Title, state: "open", user: c.login,
		createdAt: now, updatedAt: now,
		pr: &pull{id: s.newID(), head: head, base: base, headSHA: headSHA, baseSHA: baseSHA, maintainerCanModify: true},
	}
	if req.Body != nil {
		is.body = *req.Body
	}
	if req.Draft != nil {
		is.pr.draft = *req.Draft
	}
	if req.MaintainerCanModify != nil {
		is.pr.maintainerCanModify = *req.MaintainerCanModify
	}
	s.issues = append(s.issues, is)
	u := s.urlsFor(r)
	w.Header().Set("Location", s.repoAPIURL(u)+"/pulls/"+strconv.Itoa(is.number))
	writeJSON(w, http.StatusCreated, s.prJSON(r, u, is, true))
}

// pathPull is pathIssue for pull requests only.
func (s *Server) pathPull(w http.ResponseWriter, r *http.Request) *issue {
	is := s.pathIssue(w, r)
	if is != nil && is.pr == nil {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return nil
	}
	return is
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.prJSON(r, s.urlsFor(r), is, true))
}

type updatePullRequest struct {
	Title               *string `json:"title"`
	Body                *string `json:"body"`
	State               *string `json:"state"`
	Base                *string `json:"base"`
	MaintainerCanModify *bool   `json:"maintainer_can_modify"`
}

func (s *Server) updatePull(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permPulls, AccessWrite) {
		return
	}
	var req updatePullRequest
	if !decodeBody(w, r, &req) {
		return
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	br := s.refreshLocked(ctx)
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	p := is.pr
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		return
	}
	if req.Base != nil {
		if _, ok := br[*req.Base]; !ok {
			validationFailed(w, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
			return
		}
		if p.merged || is.state != "open" {
			validationFailed(w, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid",
				Message: "Cannot change the base branch of a closed pull request."})
			return
		}
	}
	if req.State != nil && *req.State == "open" && is.state == "closed" {
		if p.merged {
			validationFailed(w, fieldError{Resource: "PullRequest", Code: "custom", Message: "state cannot be changed. The pull request has already been merged."})
			return
		}
		if _, ok := br[p.head]; !ok {
			validationFailed(w, fieldError{Resource: "PullRequest", Code: "custom", Message: "state cannot be changed. The " + p.head + " branch has been deleted."})
			return
		}
		base := p.base
		if req.Base != nil {
			base = *req.Base
		}
		if s.openPullFor(p.head, base, is.number) != nil {
			validationFailed(w, fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, p.head)})
			return
		}
	}
	now := time.Now().UTC()
	if req.Title != nil {
		is.title = *req.Title
	}
	if req.Body != nil {
		is.body = *req.Body
	}
	if req.Base != nil {
		p.base = *req.Base
		p.baseSHA = br[p.base]
	}
	if req.MaintainerCanModify != nil {
		p.maintainerCanModify = *req.MaintainerCanModify
	}
	if req.State != nil && *req.State != is.state && !p.merged {
		is.state = *req.State
		if is.state == "closed" {
			is.closedAt, is.closedBy = now, c.login
			p.autoMerge = nil
		} else {
			is.closedAt, is.closedBy = time.Time{}, ""
			p.headSHA = br[p.head]
		}
	}
	is.updatedAt = now
	writeJSON(w, http.StatusOK, s.prJSON(r, s.urlsFor(r), is, true))
}

func (s *Server) isMerged(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	if !is.pr.merged {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type mergeRequest struct {
	CommitTitle   *string `json:"commit_title"`
	CommitMessage *string `json:"commit_message"`
	SHA           string  `json:"sha"`
	MergeMethod   string  `json:"merge_method"`
}

// mergeError is a merge GitHub would refuse, with its status and message.
type mergeError struct {
	status int
	msg    string
}

func (e *mergeError) Error() string { return e.msg }

func (s *Server) mergePull(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permContents, AccessWrite) {
		return
	}
	var req mergeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.MergeMethod == "" {
		req.MergeMethod = "merge"
	}
	if req.MergeMethod != "merge" && req.MergeMethod != "squash" && req.MergeMethod != "rebase" {
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "merge_method", Code: "invalid"})
		return
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(ctx)
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	sha, err := s.mergeLocked(ctx, is, req.MergeMethod, req.CommitTitle, req.CommitMessage, req.SHA, c.login)
	if err != nil {
		var me *mergeError
		if errors.As(err, &me) {
			writeError(w, me.status, me.msg, nil)
			return
		}
		writeError(w, http.StatusInternalServerError, "merging: "+err.Error(), nil)
		return
	}
	s.runAutoMergeLocked(ctx)
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// checkContext is the name of the simulated required check.
const checkContext = "localhub/ci"

// mergeLocked merges pull request is with method, moving its base branch
// in the repository, and returns the new tip of the base branch.
func (s *Server) mergeLocked(ctx context.Context, is *issue, method string, title, message *string, expectSHA, by string) (string, error) {
	p := is.pr
	switch {
	case p.merged:
		return "", &mergeError{http.StatusMethodNotAllowed, "Pull Request is not mergeable: it is already merged"}
	case is.state != "open":
		return "", &mergeError{http.StatusMethodNotAllowed, "Pull Request is not mergeable: it is closed"}
	case p.draft:
		return "", &mergeError{http.StatusMethodNotAllowed, "Pull Request is still a draft"}
	case expectSHA != "" && expectSHA != p.headSHA:
		return "", &mergeError{http.StatusConflict, "Head branch was modified. Review and try the merge again."}
	case s.requiredStateLocked(p.headSHA) == ChecksPending:
		return "", &mergeError{http.StatusMethodNotAllowed, fmt.Sprintf("Required status check %q is in progress.", checkContext)}
	case s.requiredStateLocked(p.headSHA) == ChecksFailure:
		return "", &mergeError{http.StatusMethodNotAllowed, fmt.Sprintf("Required status check %q is failing.", checkContext)}
	}
	now := time.Now().UTC()
	author := signature{name: by, email: by + "@users.noreply.localhub", when: now}
	committer := signature{name: "GitHub", email: "noreply@github.com", when: now}
	base, head := p.baseSHA, p.headSHA
	var tip string
	switch method {
	case "merge", "squash":
		tree, err := s.git.mergeTree(ctx, base, head)
		if errors.Is(err, errConflict) {
			return "", &mergeError{http.StatusMethodNotAllowed, "Pull Request is not mergeable"}
		}
		if err != nil {
			return "", err
		}
		var subject, body string
		parents := []string{base, head}
		if method == "merge" {
			subject = fmt.Sprintf("Merge pull request #%d from %s/%s", is.number, s.opts.Owner, p.head)
			body = is.title
		} else {
			parents = []string{base}
			subject = fmt.Sprintf("%s (#%d)", is.title, is.number)
			subs, err := s.git.subjects(ctx, base, head)
			if err != nil {
				return "", err
			}
			for i := range subs {
				subs[i] = "* " + subs[i]
			}
			body = strings.Join(subs, "\n\n")
		}
		if title != nil && *title != "" {
			subject = *title
		}
		if message != nil {
			body = *message
		}
		msg := subject + "\n"
		if body != "" {
			msg += "\n" + body + "\n"
		}
		tip, err = s.git.commitTree(ctx, tree, parents, msg, author, committer)
		if err != nil {
			return "", err
		}
	case "rebase":
		var err error
		tip, err = s.git.rebase(ctx, base, base, head, committer)
		if errors.Is(err, errConflict) {
			return "", &mergeError{http.StatusMethodNotAllowed, "This branch can't be rebased"}
		}
		if err != nil {
			return "", err
		}
	default:
		return "", &mergeError{http.StatusUnprocessableEntity, "Invalid merge_method " + method}
	}
	if err := s.git.updateRef(ctx, "refs/heads/"+p.base, tip, base); err != nil {
		return "", &mergeError{http.StatusConflict, "Base branch was modified. Review and try the merge again."}
	}
	is.state, is.closedAt, is.updatedAt, is.closedBy = "closed", now, now, by
	p.merged, p.mergedAt, p.mergedBy, p.mergeCommitSHA, p.mergeMethod = true, now, by, tip, method
	p.autoMerge = nil
	s.pushedAt = now
	s.logf("localhub: merged pull request #%d (%s) into %s at %s", is.number, method, p.base, tip[:12])
	return tip, nil
}

// runAutoMergeLocked merges every open pull request whose auto-merge is
// enabled, when the required checks pass and it merges cleanly.
func (s *Server) runAutoMergeLocked(ctx context.Context) {
	for {
		progressed := false
		s.refreshLocked(ctx)
		for _, is := range s.issues {
			if is.pr == nil || is.state != "open" || is.pr.autoMerge == nil || is.pr.draft {
				continue
			}
			am := is.pr.autoMerge
			if (am.expectedHead != "" && am.expectedHead != is.pr.headSHA) || s.requiredStateLocked(is.pr.headSHA) != ChecksSuccess {
				continue
			}
			var title, msg *string
			if am.commitTitle != "" {
				title = &am.commitTitle
			}
			if am.commitMessage != "" {
				msg = &am.commitMessage
			}
			if _, err := s.mergeLocked(ctx, is, am.method, title, msg, "", am.enabledBy); err != nil {
				s.logf("localhub: auto-merge of #%d waits: %v", is.number, err)
				continue
			}
			progressed = true
		}
		if !progressed {
			return
		}
	}
}

func (s *Server) listReviewers(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	u := s.urlsFor(r)
	users, teams := []any{}, []any{}
	for _, rv := range is.pr.reviewers {
		users = append(users, s.userJSON(u, rv))
	}
	for _, t := range is.pr.teams {
		teams = append(teams, s.teamJSON(u, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "teams": teams})
}

type reviewersRequest struct {
	Reviewers     []string `json:"reviewers"`
	TeamReviewers []string `json:"team_reviewers"`
}

func (s *Server) requestReviewers(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permPulls, AccessWrite) {
		return
	}
	var req reviewersRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	for _, rv := range req.Reviewers {
		if strings.EqualFold(rv, is.user) {
			writeError(w, http.StatusUnprocessableEntity, "Review cannot be requested from pull request author.", nil)
			return
		}
	}
	if is.state != "open" {
		writeError(w, http.StatusUnprocessableEntity, "Reviews cannot be requested on a closed pull request.", nil)
		return
	}
	for _, rv := range req.Reviewers {
		if !slices.ContainsFunc(is.pr.reviewers, func(x string) bool { return strings.EqualFold(x, rv) }) {
			is.pr.reviewers = append(is.pr.reviewers, rv)
		}
	}
	for _, t := range req.TeamReviewers {
		if !slices.ContainsFunc(is.pr.teams, func(x string) bool { return strings.EqualFold(x, t) }) {
			is.pr.teams = append(is.pr.teams, t)
		}
	}
	is.updatedAt = time.Now().UTC()
	writeJSON(w, http.StatusCreated, s.prJSON(r, s.urlsFor(r), is, false))
}

func (s *Server) removeReviewers(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permPulls, AccessWrite) {
		return
	}
	var req reviewersRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathPull(w, r)
	if is == nil {
		return
	}
	is.pr.reviewers = slices.DeleteFunc(is.pr.reviewers, func(x string) bool {
		return slices.ContainsFunc(req.Reviewers, func(y string) bool { return strings.EqualFold(x, y) })
	})
	is.pr.teams = slices.DeleteFunc(is.pr.teams, func(x string) bool {
		return slices.ContainsFunc(req.TeamReviewers, func(y string) bool { return strings.EqualFold(x, y) })
	})
	writeJSON(w, http.StatusOK, s.prJSON(r, s.urlsFor(r), is, false))
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pathPull(w, r) == nil {
		return
	}
	writeJSON(w, http.StatusOK, []any{})
}
