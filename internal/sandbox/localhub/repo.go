package localhub

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	writeJSON(w, http.StatusOK, s.repoJSON(r, s.urlsFor(r), true))
}

func (s *Server) getBranch(w http.ResponseWriter, r *http.Request, c *call) {
	name := r.PathValue("branch")
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.git.resolve(r.Context(), "refs/heads/"+name)
	if !ok {
		writeError(w, http.StatusNotFound, "Branch not found", nil)
		return
	}
	u := s.urlsFor(r)
	api := s.repoAPIURL(u)
	writeJSON(w, http.StatusOK, map[string]any{
		"name": name,
		"commit": map[string]any{
			"sha": sha, "node_id": nodeID("C", sha), "url": api + "/commits/" + sha,
			"html_url": s.repoWebURL(u) + "/commit/" + sha, "comments_url": api + "/commits/" + sha + "/comments",
		},
		"_links":         map[string]any{"self": api + "/branches/" + name, "html": s.repoWebURL(u) + "/tree/" + name},
		"protected":      false,
		"protection":     map[string]any{"enabled": false, "required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}}},
		"protection_url": api + "/branches/" + name + "/protection",
	})
}

// commitsSubresource serves /commits/{ref}/status, /statuses and
// /check-runs; a ref may itself contain slashes.
func (s *Server) commitsSubresource(w http.ResponseWriter, r *http.Request, c *call) {
	rest := r.PathValue("rest")
	for _, suffix := range []string{"/status", "/statuses", "/check-runs"} {
		if ref, ok := strings.CutSuffix(rest, suffix); ok && ref != "" {
			s.serveChecks(w, r, ref, suffix[1:])
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found", nil)
}

func (s *Server) serveChecks(w http.ResponseWriter, r *http.Request, ref, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.git.resolve(r.Context(), ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref, nil)
		return
	}
	u := s.urlsFor(r)
	api := s.repoAPIURL(u)
	now := ts(time.Now().UTC())
	latest := s.latestStatusesLocked(sha)
	statuses := []any{}
	for _, st := range latest {
		statuses = append(statuses, s.statusJSON(u, sha, st))
	}
	required := s.requiredStateLocked(sha)
	state := string(required)
	switch what {
	case "status":
		writeJSON(w, http.StatusOK, map[string]any{
			"state": combinedState(latest), "statuses": statuses, "sha": sha, "total_count": len(statuses),
			"repository": s.repoJSON(r, u, false), "commit_url": api + "/commits/" + sha,
			"url": api + "/commits/" + sha + "/status",
		})
	case "statuses":
		writeJSON(w, http.StatusOK, statuses)
	case "check-runs":
		if name := r.URL.Query().Get("check_name"); name != "" && name != checkContext {
			writeJSON(w, http.StatusOK, map[string]any{"total_count": 0, "check_runs": []any{}})
			return
		}
		runStatus, conclusion, completed := "completed", any(state), now
		if required == ChecksPending {
			runStatus, conclusion, completed = "in_progress", nil, nil
		}
		if f := r.URL.Query().Get("status"); f != "" && f != runStatus {
			writeJSON(w, http.StatusOK, map[string]any{"total_count": 0, "check_runs": []any{}})
			return
		}
		id := idFor("check:" + sha)
		writeJSON(w, http.StatusOK, map[string]any{"total_count": 1, "check_runs": []any{map[string]any{
			"id": id, "node_id": nodeID("CR", sha), "head_sha": sha, "external_id": "", "name": checkContext,
			"url": api + "/check-runs/" + sha, "html_url": s.repoWebURL(u) + "/runs/" + sha, "details_url": s.repoWebURL(u) + "/actions",
			"status": runStatus, "conclusion": conclusion, "started_at": now, "completed_at": completed,
			"output":      map[string]any{"title": "localhub/ci: " + state, "summary": "Simulated required check.", "text": nil, "annotations_count": 0, "annotations_url": api + "/check-runs/" + sha + "/annotations"},
			"check_suite": map[string]any{"id": idFor("suite:" + sha)}, "app": nil, "pull_requests": []any{},
		}}})
	}
}

func (s *Server) refJSON(u urls, ref, sha string) map[string]any {
	api := s.repoAPIURL(u)
	return map[string]any{
		"ref": ref, "node_id": nodeID("REF", ref), "url": api + "/git/" + ref,
		"object": map[string]any{"type": "commit", "sha": sha, "url": api + "/git/commits/" + sha},
	}
}

// getRef serves GET /git/ref/{ref} (exact) and GET /git/refs/{ref} (exact,
// else every ref under it, as a list).
func (s *Server) getRef(w http.ResponseWriter, r *http.Request, c *call) {
	name := "refs/" + strings.TrimPrefix(r.PathValue("ref"), "refs/")
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.git.run(r.Context(), "", nil, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "listing refs", nil)
		return
	}
	u := s.urlsFor(r)
	var matches []any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if ref == name {
			writeJSON(w, http.StatusOK, s.refJSON(u, ref, sha))
			return
		}
		if strings.HasPrefix(ref, strings.TrimSuffix(name, "/")+"/") {
			matches = append(matches, s.refJSON(u, ref, sha))
		}
	}
	if strings.Contains(s.patternOf(r), "/git/refs/") && len(matches) > 0 {
		sort.Slice(matches, func(i, j int) bool {
			return matches[i].(map[string]any)["ref"].(string) < matches[j].(map[string]any)["ref"].(string)
		})
		writeJSON(w, http.StatusOK, matches)
		return
	}
	writeError(w, http.StatusNotFound, "Not Found", nil)
}

func (s *Server) patternOf(r *http.Request) string { return r.Pattern }

func validRefName(ref string) bool {
	return strings.HasPrefix(ref, "refs/") && !strings.Contains(ref, "..") && !strings.ContainsAny(ref, " ~^:?*[\\") &&
		!strings.HasSuffix(ref, "/") && !strings.HasSuffix(ref, ".lock")
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permContents, AccessWrite) {
		return
	}
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !validRefName(req.Ref) || strings.Count(req.Ref, "/") < 2 {
		validationFailed(w, fieldError{Resource: "Reference", Field: "ref", Code: "invalid", Message: "Reference name is invalid"})
		return
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.git.resolve(ctx, req.SHA)
	if !ok || len(req.SHA) < 40 {
		validationFailed(w, fieldError{Resource: "Reference", Field: "sha", Code: "invalid", Message: "Object does not exist"})
		return
	}
	if _, exists := s.git.resolve(ctx, req.Ref); exists {
		validationFailed(w, fieldError{Resource: "Reference", Field: "ref", Code: "already_exists", Message: "Reference already exists"})
		return
	}
	if err := s.git.updateRef(ctx, req.Ref, sha, ""); err != nil {
		validationFailed(w, fieldError{Resource: "Reference", Field: "ref", Code: "already_exists", Message: "Reference already exists"})
		return
	}
	s.pushedAt = time.Now().UTC()
	s.runAutoMergeLocked(ctx)
	writeJSON(w, http.StatusCreated, s.refJSON(s.urlsFor(r), req.Ref, sha))
}

func (s *Server) updateRef(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permContents, AccessWrite) {
		return
	}
	var req struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ref := "refs/" + strings.TrimPrefix(r.PathValue("ref"), "refs/")
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.git.resolve(ctx, ref)
	if !ok {
		validationFailed(w, fieldError{Resource: "Reference", Code: "custom", Message: "Reference does not exist"})
		return
	}
	sha, ok := s.git.resolve(ctx, req.SHA)
	if !ok {
		validationFailed(w, fieldError{Resource: "Reference", Field: "sha", Code: "invalid", Message: "Object does not exist"})
		return
	}
	if !req.Force {
		if _, err := s.git.run(ctx, "", nil, nil, "merge-base", "--is-ancestor", old, sha); err != nil {
			validationFailed(w, fieldError{Resource: "Reference", Code: "custom", Message: "Update is not a fast forward"})
			return
		}
	}
	if err := s.git.updateRef(ctx, ref, sha, old); err != nil {
		writeError(w, http.StatusConflict, "Reference update failed: "+err.Error(), nil)
		return
	}
	s.pushedAt = time.Now().UTC()
	s.runAutoMergeLocked(ctx)
	writeJSON(w, http.StatusOK, s.refJSON(s.urlsFor(r), ref, sha))
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permContents, AccessWrite) {
		return
	}
	ref := "refs/" + strings.TrimPrefix(r.PathValue("ref"), "refs/")
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.git.resolve(ctx, ref)
	if !ok || !validRefName(ref) {
		validationFailed(w, fieldError{Resource: "Reference", Code: "custom", Message: "Reference does not exist"})
		return
	}
	if b, isBranch := strings.CutPrefix(ref, "refs/heads/"); isBranch && b == s.git.headBranch(ctx) {
		validationFailed(w, fieldError{Resource: "Reference", Code: "custom", Message: "Cannot delete the default branch"})
		return
	}
	if err := s.git.deleteRef(ctx, ref, old); err != nil {
		writeError(w, http.StatusConflict, "Reference update failed", nil)
		return
	}
	s.refreshLocked(ctx)
	w.WriteHeader(http.StatusNoContent)
}
