package localhub

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// issueWriteAllowed reports whether the caller may write to is: a pull
// request needs pull_requests: write (or issues: write), an issue needs
// issues: write. Otherwise it answers 403.
func (s *Server) issueWriteAllowed(w http.ResponseWriter, c *call, is *issue) bool {
	if is != nil && is.pr != nil && s.opts.Permissions.allows(permPulls, AccessWrite) {
		return true
	}
	return s.allowed(w, c, permIssues, AccessWrite)
}

func (s *Server) issueJSON(r *http.Request, u urls, is *issue) map[string]any {
	api := s.repoAPIURL(u)
	n := strconv.Itoa(is.number)
	self := api + "/issues/" + n
	html := s.repoWebURL(u) + "/issues/" + n
	var reason, closedBy any
	if is.stateReason != "" {
		reason = is.stateReason
	}
	if is.closedBy != "" {
		closedBy = s.userJSON(u, is.closedBy)
	}
	m := map[string]any{
		"id": is.id, "node_id": nodeID("I", s.prKey(is.number)), "url": self, "repository_url": api,
		"labels_url": self + "/labels{/name}", "comments_url": self + "/comments", "events_url": self + "/events",
		"html_url": html, "number": is.number, "state": is.state, "state_reason": reason, "title": is.title,
		"body": is.body, "user": s.userJSON(u, is.user), "labels": s.labelsJSON(u, is.labels),
		"assignee": nil, "assignees": []any{}, "milestone": nil, "locked": false, "active_lock_reason": nil,
		"comments": len(is.comments), "closed_at": ts(is.closedAt), "created_at": ts(is.createdAt),
		"updated_at": ts(is.updatedAt), "closed_by": closedBy, "author_association": "MEMBER",
		"timeline_url": self + "/timeline",
	}
	if is.pr != nil {
		prHTML := s.repoWebURL(u) + "/pull/" + n
		m["html_url"] = prHTML
		m["node_id"] = nodeID("PR", s.prKey(is.number))
		m["draft"] = is.pr.draft
		m["pull_request"] = map[string]any{
			"url": api + "/pulls/" + n, "html_url": prHTML, "diff_url": prHTML + ".diff", "patch_url": prHTML + ".patch",
			"merged_at": ts(is.pr.mergedAt),
		}
	}
	return m
}

// listState reads a list's state filter (open by default, closed or all),
// answering GitHub's validation error for anything else.
func listState(w http.ResponseWriter, q url.Values, resource string) (string, bool) {
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		validationFailed(w, fieldError{Resource: resource, Field: "state", Code: "invalid"})
		return "", false
	}
	return state, true
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	state, ok := listState(w, q, "Issue")
	if !ok {
		return
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		for _, name := range strings.Split(l, ",") {
			if name = strings.TrimSpace(name); name != "" {
				want = append(want, name)
			}
		}
	}
	creator := q.Get("creator")
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			validationFailed(w, fieldError{Resource: "Issue", Field: "since", Code: "invalid"})
			return
		}
		since = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	var list []*issue
	for _, is := range s.issues {
		if state != "all" && is.state != state {
			continue
		}
		if creator != "" && !strings.EqualFold(creator, is.user) {
			continue
		}
		if !since.IsZero() && is.updatedAt.Before(since) {
			continue
		}
		if !hasAllLabels(is.labels, want) {
			continue
		}
		list = append(list, is)
	}
	sortIssues(list, q.Get("sort"), q.Get("direction"))
	u := s.urlsFor(r)
	out := []any{}
	for _, is := range paginate(w, r, u, list) {
		out = append(out, s.issueJSON(r, u, is))
	}
	writeJSON(w, http.StatusOK, out)
}

func hasAllLabels(have, want []string) bool {
	for _, wnt := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, wnt) }) {
			return false
		}
	}
	return true
}

// labelsField decodes "labels" as GitHub accepts it: names or {name} objects.
type labelsField []string

func (l *labelsField) add(v any) bool {
	switch x := v.(type) {
	case string:
		*l = append(*l, x)
	case map[string]any:
		name, ok := x["name"].(string)
		if !ok {
			return false
		}
		*l = append(*l, name)
	default:
		return false
	}
	return true
}

type createIssueRequest struct {
	Title     *string  `json:"title"`
	Body      *string  `json:"body"`
	Labels    []any    `json:"labels"`
	Assignees []string `json:"assignees"`
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permIssues, AccessWrite) {
		return
	}
	var req createIssueRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Title == nil || strings.TrimSpace(*req.Title) == "" {
		validationFailed(w, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
		return
	}
	var labels labelsField
	for _, v := range req.Labels {
		if !labels.add(v) {
			validationFailed(w, fieldError{Resource: "Label", Field: "name", Code: "invalid"})
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	is := &issue{number: len(s.issues) + 1, id: s.newID(), title: *req.Title, state: "open", user: c.login,
		createdAt: now, updatedAt: now}
	if req.Body != nil {
		is.body = *req.Body
	}
	is.labels = mergeLabels(nil, labels)
	s.issues = append(s.issues, is)
	u := s.urlsFor(r)
	w.Header().Set("Location", s.repoAPIURL(u)+"/issues/"+strconv.Itoa(is.number))
	writeJSON(w, http.StatusCreated, s.issueJSON(r, u, is))
}

// mergeLabels adds names to have, without duplicates (case-insensitive).
func mergeLabels(have []string, names []string) []string {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, n) }) {
			continue
		}
		have = append(have, n)
	}
	return have
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	is := s.pathIssue(w, r)
	if is == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.issueJSON(r, s.urlsFor(r), is))
}

type updateIssueRequest struct {
	Title       *string `json:"title"`
	Body        *string `json:"body"`
	State       *string `json:"state"`
	StateReason *string `json:"state_reason"`
	Labels      *[]any  `json:"labels"`
}

func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request, c *call) {
	var req updateIssueRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	br := s.refreshLocked(r.Context())
	is := s.pathIssue(w, r)
	if is == nil || !s.issueWriteAllowed(w, c, is) {
		return
	}
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		validationFailed(w, fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	if req.StateReason != nil {
		switch *req.StateReason {
		case "completed", "not_planned", "reopened", "duplicate":
		default:
			validationFailed(w, fieldError{Resource: "Issue", Field: "state_reason", Code: "invalid"})
			return
		}
	}
	if is.pr != nil && req.State != nil && *req.State == "open" && is.state == "closed" {
		if is.pr.merged {
			validationFailed(w, fieldError{Resource: "Issue", Code: "custom", Message: "state cannot be changed. The pull request has already been merged."})
			return
		}
		if _, ok := br[is.pr.head]; !ok || s.openPullFor(is.pr.head, is.pr.base, is.number) != nil {
			validationFailed(w, fieldError{Resource: "Issue", Code: "custom", Message: "state cannot be changed."})
			return
		}
	}
	var labels labelsField
	if req.Labels != nil {
		for _, v := range *req.Labels {
			if !labels.add(v) {
				validationFailed(w, fieldError{Resource: "Label", Field: "name", Code: "invalid"})
				return
			}
		}
	}
	now := time.Now().UTC()
	if req.Title != nil {
		is.title = *req.Title
	}
	if req.Body != nil {
		is.body = *req.Body
	}
	if req.Labels != nil {
		is.labels = mergeLabels(nil, labels)
	}
	if req.State != nil && *req.State != is.state && !(is.pr != nil && is.pr.merged) {
		is.state = *req.State
		if is.state == "closed" {
			is.closedAt, is.closedBy, is.stateReason = now, c.login, "completed"
			if is.pr != nil {
				is.pr.autoMerge = nil
			}
		} else {
			is.closedAt, is.closedBy, is.stateReason = time.Time{}, "", "reopened"
		}
	}
	if req.StateReason != nil && is.state == "closed" {
		is.stateReason = *req.StateReason
	}
	is.updatedAt = now
	writeJSON(w, http.StatusOK, s.issueJSON(r, s.urlsFor(r), is))
}

func (s *Server) commentJSON(u urls, is *issue, cm *comment) map[string]any {
	api := s.repoAPIURL(u)
	kind := "issues"
	if is.pr != nil {
		kind = "pull"
	}
	return map[string]any{
		"id": cm.id, "node_id": nodeID("IC", strconv.FormatInt(cm.id, 10)),
		"url":      api + "/issues/comments/" + strconv.FormatInt(cm.id, 10),
		"html_url": s.repoWebURL(u) + "/" + kind + "/" + strconv.Itoa(is.number) + "#issuecomment-" + strconv.FormatInt(cm.id, 10),
		"body":     cm.body, "user": s.userJSON(u, cm.user), "created_at": ts(cm.createdAt), "updated_at": ts(cm.updatedAt),
		"issue_url": api + "/issues/" + strconv.Itoa(is.number), "author_association": "MEMBER",
	}
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil {
		return
	}
	u := s.urlsFor(r)
	out := []any{}
	for _, cm := range paginate(w, r, u, is.comments) {
		out = append(out, s.commentJSON(u, is, cm))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil || !s.issueWriteAllowed(w, c, is) {
		return
	}
	if req.Body == nil || strings.TrimSpace(*req.Body) == "" {
		validationFailed(w, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	now := time.Now().UTC()
	cm := &comment{id: s.newID(), body: *req.Body, user: c.login, createdAt: now, updatedAt: now}
	is.comments = append(is.comments, cm)
	is.updatedAt = now
	u := s.urlsFor(r)
	w.Header().Set("Location", s.repoAPIURL(u)+"/issues/comments/"+strconv.FormatInt(cm.id, 10))
	writeJSON(w, http.StatusCreated, s.commentJSON(u, is, cm))
}

func (s *Server) listIssueLabels(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.labelsJSON(s.urlsFor(r), is.labels))
}

// decodeLabels reads a labels body: ["a","b"], {"labels":["a"]} or
// {"labels":[{"name":"a"}]}.
func decodeLabels(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	var raw any
	if !decodeBody(w, r, &raw) {
		return nil, false
	}
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case map[string]any:
		l, ok := x["labels"].([]any)
		if !ok {
			validationFailed(w, fieldError{Resource: "Label", Field: "labels", Code: "missing_field"})
			return nil, false
		}
		items = l
	case nil:
	default:
		validationFailed(w, fieldError{Resource: "Label", Field: "labels", Code: "invalid"})
		return nil, false
	}
	var out labelsField
	for _, v := range items {
		if !out.add(v) {
			validationFailed(w, fieldError{Resource: "Label", Field: "name", Code: "invalid"})
			return nil, false
		}
	}
	return out, true
}

// addLabels adds labels to an issue (POST); replaceLabels sets them (PUT).
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request, c *call) {
	s.setLabels(w, r, c, true)
}

func (s *Server) replaceLabels(w http.ResponseWriter, r *http.Request, c *call) {
	s.setLabels(w, r, c, false)
}

func (s *Server) setLabels(w http.ResponseWriter, r *http.Request, c *call, keep bool) {
	names, ok := decodeLabels(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil || !s.issueWriteAllowed(w, c, is) {
		return
	}
	var base []string
	if keep {
		base = is.labels
	}
	is.labels = mergeLabels(base, names)
	is.updatedAt = time.Now().UTC()
	writeJSON(w, http.StatusOK, s.labelsJSON(s.urlsFor(r), is.labels))
}

func (s *Server) clearLabels(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil || !s.issueWriteAllowed(w, c, is) {
		return
	}
	is.labels = nil
	is.updatedAt = time.Now().UTC()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.pathIssue(w, r)
	if is == nil || !s.issueWriteAllowed(w, c, is) {
		return
	}
	name := r.PathValue("name")
	i := slices.IndexFunc(is.labels, func(h string) bool { return strings.EqualFold(h, name) })
	if i < 0 {
		writeError(w, http.StatusNotFound, "Label does not exist", nil)
		return
	}
	is.labels = slices.Delete(is.labels, i, i+1)
	is.updatedAt = time.Now().UTC()
	writeJSON(w, http.StatusOK, s.labelsJSON(s.urlsFor(r), is.labels))
}

func (s *Server) listRepoLabels(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.urlsFor(r)
	var defs []*labelDef
	for _, k := range sortedKeys(s.labels) {
		defs = append(defs, s.labels[k])
	}
	out := []any{}
	for _, l := range paginate(w, r, u, defs) {
		out = append(out, s.labelJSON(u, l))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRepoLabel(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.labels[strings.ToLower(r.PathValue("name"))]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	writeJSON(w, http.StatusOK, s.labelJSON(s.urlsFor(r), l))
}

func (s *Server) createRepoLabel(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permIssues, AccessWrite) {
		return
	}
	var req struct {
		Name        string `json:"name"`
		Color       string `json:"color"`
		Description string `json:"description"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		validationFailed(w, fieldError{Resource: "Label", Field: "name", Code: "missing_field"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.labels[strings.ToLower(req.Name)]; ok {
		validationFailed(w, fieldError{Resource: "Label", Field: "name", Code: "already_exists"})
		return
	}
	l := s.labelFor(req.Name)
	if req.Color != "" {
		l.color = strings.TrimPrefix(req.Color, "#")
	}
	l.description = req.Description
	u := s.urlsFor(r)
	w.Header().Set("Location", s.repoAPIURL(u)+"/labels/"+url.PathEscape(l.name))
	writeJSON(w, http.StatusCreated, s.labelJSON(u, l))
}
