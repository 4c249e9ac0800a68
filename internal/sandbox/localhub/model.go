package localhub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// issue is an issue or, when pr is set, a pull request; both share numbers.
type issue struct {
	number      int
	id          int64
	title, body string
	state       string // open | closed
	stateReason string
	user        string
	labels      []string
	comments    []*comment
	createdAt   time.Time
	updatedAt   time.Time
	closedAt    time.Time
	closedBy    string
	pr          *pull
}

// pull is what a pull request has beyond its issue.
type pull struct {
	id                  int64
	head, base          string
	headSHA, baseSHA    string // last known; frozen once merged or closed
	draft               bool
	maintainerCanModify bool
	merged              bool
	mergedAt            time.Time
	mergedBy            string
	mergeCommitSHA      string
	mergeMethod         string
	reviewers           []string
	teams               []string
	autoMerge           *autoMerge
	// fork is the full name of the head repository when it is not this
	// one; forkGone is set when that fork was deleted (GitHub then answers
	// head.repo: null). Fork heads are not branches of this repository.
	fork     string
	forkGone bool
}

// fromFork reports whether the pull request's head lives outside this
// repository (in a fork, or in a fork that is gone).
func (p *pull) fromFork() bool { return p.fork != "" || p.forkGone }

// autoMerge is an enabled auto-merge request.
type autoMerge struct {
	method        string // merge | squash | rebase
	enabledAt     time.Time
	enabledBy     string
	commitTitle   string
	commitMessage string
	expectedHead  string
}

// comment is an issue comment.
type comment struct {
	id        int64
	body      string
	user      string
	createdAt time.Time
	updatedAt time.Time
}

// labelDef is a repository label.
type labelDef struct {
	id          int64
	name        string
	color       string
	description string
}

// PR is a snapshot of a pull request, for assertions in tests.
type PR struct {
	Number         int
	NodeID         string
	Title, Body    string
	State          string // open | closed
	User           string
	Head, Base     string
	HeadSHA        string
	Draft          bool
	Merged         bool
	MergedAt       time.Time
	MergeCommitSHA string
	MergeMethod    string
	Labels         []string
	Reviewers      []string
	TeamReviewers  []string
	// AutoMerge is the enabled auto-merge method, "" when not enabled.
	AutoMerge string
	Comments  []Comment
}

// Issue is a snapshot of an issue (pull requests excluded), for assertions
// in tests.
type Issue struct {
	Number      int
	Title, Body string
	State       string // open | closed
	User        string
	Labels      []string
	Comments    []Comment
}

// Comment is a snapshot of an issue or pull-request comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// PullRequests returns a snapshot of every pull request, by number.
func (s *Server) PullRequests() []PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PR
	for _, is := range s.issues {
		if is.pr == nil {
			continue
		}
		p := is.pr
		pr := PR{
			Number: is.number, NodeID: nodeID("PR", s.prKey(is.number)), Title: is.title, Body: is.body,
			State: is.state, User: is.user, Head: p.head, Base: p.base, HeadSHA: p.headSHA, Draft: p.draft,
			Merged: p.merged, MergedAt: p.mergedAt, MergeCommitSHA: p.mergeCommitSHA, MergeMethod: p.mergeMethod,
			Labels: clone(is.labels), Reviewers: clone(p.reviewers), TeamReviewers: clone(p.teams),
			Comments: snapshotComments(is.comments),
		}
		if p.autoMerge != nil {
			pr.AutoMerge = p.autoMerge.method
		}
		out = append(out, pr)
	}
	return out
}

// Issues returns a snapshot of every issue that is not a pull request.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, is := range s.issues {
		if is.pr != nil {
			continue
		}
		out = append(out, Issue{
			Number: is.number, Title: is.title, Body: is.body, State: is.state, User: is.user,
			Labels: clone(is.labels), Comments: snapshotComments(is.comments),
		})
	}
	return out
}

func snapshotComments(cs []*comment) []Comment {
	var out []Comment
	for _, c := range cs {
		out = append(out, Comment{ID: c.id, User: c.user, Body: c.body})
	}
	return out
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) prKey(n int) string {
	return s.opts.Owner + "/" + s.opts.Repo + "#" + strconv.Itoa(n)
}

// nodeID makes a GraphQL global id the way GitHub's read: a type prefix and
// an opaque part.
func nodeID(kind, key string) string {
	return kind + "_" + base64.RawURLEncoding.EncodeToString([]byte("localhub:"+key))
}

// parseNodeID is the inverse of nodeID.
func parseNodeID(id string) (kind, key string, ok bool) {
	kind, enc, found := strings.Cut(id, "_")
	if !found {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !strings.HasPrefix(string(raw), "localhub:") {
		return "", "", false
	}
	return kind, strings.TrimPrefix(string(raw), "localhub:"), true
}

// issueByNumber returns issue n, or nil.
func (s *Server) issueByNumber(n int) *issue {
	if n < 1 || n > len(s.issues) {
		return nil
	}
	return s.issues[n-1]
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) labelFor(name string) *labelDef {
	if l, ok := s.labels[strings.ToLower(name)]; ok {
		return l
	}
	l := &labelDef{id: s.newID(), name: name, color: labelColor(name)}
	s.labels[strings.ToLower(name)] = l
	return l
}

// labelColor picks a stable colour for a label created on first use.
func labelColor(name string) string {
	return fmt.Sprintf("%06x", idFor(name)&0xffffff)
}

func (s *Server) labelJSON(u urls, l *labelDef) map[string]any {
	// An empty description rather than null: the simple pull-request
	// schema does not allow null there.
	return map[string]any{
		"id": l.id, "node_id": nodeID("LA", l.name), "name": l.name, "color": l.color,
		"description": l.description, "default": false,
		"url": s.repoAPIURL(u) + "/labels/" + url.PathEscape(l.name),
	}
}

func (s *Server) labelsJSON(u urls, names []string) []any {
	out := []any{}
	for _, n := range names {
		out = append(out, s.labelJSON(u, s.labelFor(n)))
	}
	return out
}

func (s *Server) repoAPIURL(u urls) string {
	return u.api + "/repos/" + s.opts.Owner + "/" + s.opts.Repo
}

func (s *Server) repoWebURL(u urls) string {
	return u.web + "/" + s.opts.Owner + "/" + s.opts.Repo
}

// GitURL returns the smart-HTTP clone URL of the repository on base (such
// as an httptest server's URL).
func (s *Server) GitURL(base string) string {
	return strings.TrimSuffix(base, "/") + "/" + s.opts.Owner + "/" + s.opts.Repo + ".git"
}

// defaultBranch is the branch HEAD names, or the configured default. It is
// read once and remembered: pushes do not move a bare repository's HEAD, and
// a pull-request list renders the repository many times.
func (s *Server) defaultBranch(r *http.Request) string {
	if s.head == "" {
		s.head = s.git.headBranch(r.Context())
	}
	if s.head != "" {
		return s.head
	}
	return s.opts.DefaultBranch
}

func (s *Server) repoJSON(r *http.Request, u urls, full bool) map[string]any {
	api := s.repoAPIURL(u)
	web := s.repoWebURL(u)
	host := strings.TrimPrefix(strings.TrimPrefix(u.web, "http://"), "https://")
	push := s.opts.Permissions.allows(permContents, AccessWrite)
	openCount := 0
	for _, is := range s.issues {
		if is.state == "open" {
			openCount++
		}
	}
	m := map[string]any{
		"id": idFor(s.opts.Owner + "/" + s.opts.Repo), "node_id": nodeID("R", s.opts.Owner+"/"+s.opts.Repo),
		"name": s.opts.Repo, "full_name": s.opts.Owner + "/" + s.opts.Repo, "owner": s.userJSON(u, s.opts.Owner),
		"private": true, "visibility": "private", "html_url": web, "description": "GitOps repository served by localhub",
		"fork": false, "url": api,
		"archive_url":       api + "/{archive_format}{/ref}",
		"assignees_url":     api + "/assignees{/user}",
		"blobs_url":         api + "/git/blobs{/sha}",
		"branches_url":      api + "/branches{/branch}",
		"collaborators_url": api + "/collaborators{/collaborator}",
		"comments_url":      api + "/comments{/number}",
		"commits_url":       api + "/commits{/sha}",
		"compare_url":       api + "/compare/{base}...{head}",
		"contents_url":      api + "/contents/{+path}",
		"contributors_url":  api + "/contributors",
		"deployments_url":   api + "/deployments",
		"downloads_url":     api + "/downloads",
		"events_url":        api + "/events",
		"forks_url":         api + "/forks",
		"git_commits_url":   api + "/git/commits{/sha}",
		"git_refs_url":      api + "/git/refs{/sha}",
		"git_tags_url":      api + "/git/tags{/sha}",
		"hooks_url":         api + "/hooks",
		"issue_comment_url": api + "/issues/comments{/number}",
		"issue_events_url":  api + "/issues/events{/number}",
		"issues_url":        api + "/issues{/number}",
		"keys_url":          api + "/keys{/key_id}",
		"labels_url":        api + "/labels{/name}",
		"languages_url":     api + "/languages",
		"merges_url":        api + "/merges",
		"milestones_url":    api + "/milestones{/number}",
		"notifications_url": api + "/notifications{?since,all,participating}",
		"pulls_url":         api + "/pulls{/number}",
		"releases_url":      api + "/releases{/id}",
		"stargazers_url":    api + "/stargazers",
		"statuses_url":      api + "/statuses/{sha}",
		"subscribers_url":   api + "/subscribers",
		"subscription_url":  api + "/subscription",
		"tags_url":          api + "/tags",
		"teams_url":         api + "/teams",
		"trees_url":         api + "/git/trees{/sha}",
		"clone_url":         s.GitURL(u.web),
		"git_url":           "git://" + host + "/" + s.opts.Owner + "/" + s.opts.Repo + ".git",
		"ssh_url":           "git@" + host + ":" + s.opts.Owner + "/" + s.opts.Repo + ".git",
		"svn_url":           web, "mirror_url": nil, "homepage": nil, "language": nil,
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "size": 0,
		"default_branch": s.defaultBranch(r), "open_issues": openCount, "open_issues_count": openCount,
		"is_template": false, "topics": []string{}, "has_issues": true, "has_projects": false, "has_wiki": false,
		"has_pages": false, "has_downloads": false, "has_discussions": false, "archived": false, "disabled": false,
		"license": nil, "pushed_at": ts(s.pushedAtOrCreated()), "created_at": ts(s.created), "updated_at": ts(s.pushedAtOrCreated()),
		"permissions":        map[string]any{"admin": false, "maintain": false, "push": push, "triage": push, "pull": true},
		"allow_rebase_merge": true, "allow_squash_merge": true, "allow_merge_commit": true, "allow_auto_merge": true,
		"delete_branch_on_merge": false, "allow_update_branch": true, "allow_forking": false,
		"web_commit_signoff_required": false, "use_squash_pr_title_as_default": true,
		"squash_merge_commit_title": "PR_TITLE", "squash_merge_commit_message": "COMMIT_MESSAGES",
		"merge_commit_title": "MERGE_MESSAGE", "merge_commit_message": "PR_TITLE",
	}
	if full {
		m["network_count"] = 0
		m["subscribers_count"] = 0
	}
	return m
}

func (s *Server) pushedAtOrCreated() time.Time {
	if s.pushedAt.IsZero() {
		return s.created
	}
	return s.pushedAt
}

// writeJSON writes v with GitHub's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"encoding response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fieldError is one entry of a GitHub validation error's "errors".
type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

const docsURL = "https://docs.github.com/rest"

// writeError writes an error body shaped like GitHub's.
func writeError(w http.ResponseWriter, status int, msg string, errs []fieldError) {
	body := map[string]any{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

// validationFailed writes GitHub's 422 "Validation Failed".
func validationFailed(w http.ResponseWriter, errs ...fieldError) {
	writeError(w, http.StatusUnprocessableEntity, "Validation Failed", errs)
}

// decodeBody reads a JSON request body into v, answering 400 like GitHub
// when it is not JSON.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body == nil || r.ContentLength == 0 {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", nil)
		return false
	}
	return true
}

// paginate cuts items to the page the request asks for (per_page, page)
// and sets a Link header like GitHub's.
func paginate[T any](w http.ResponseWriter, r *http.Request, u urls, items []T) []T {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max((len(items)+per-1)/per, 1)
	link := func(p int, rel string) string {
		q2 := r.URL.Query()
		q2.Set("page", strconv.Itoa(p))
		q2.Set("per_page", strconv.Itoa(per))
		prefix, _ := r.Context().Value(prefixKey{}).(string)
		return fmt.Sprintf(`<%s%s%s?%s>; rel="%s"`, u.web, prefix, r.URL.Path, q2.Encode(), rel)
	}
	var links []string
	if endlessNext(r) {
		// A hostile GitHub: every page has a next one, and it is the first
		// page again.
		w.Header().Set("Link", link(page+1, "next"))
		return items[:min(per, len(items))]
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := (page - 1) * per
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+per, len(items))]
}

// pathIssue returns the issue or pull request the {number} path value
// names; it answers 404 itself when there is none.
func (s *Server) pathIssue(w http.ResponseWriter, r *http.Request) *issue {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return nil
	}
	is := s.issueByNumber(n)
	if is == nil {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return nil
	}
	return is
}
