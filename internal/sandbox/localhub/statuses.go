package localhub

import (
	"net/http"
	"time"
)

// commitStatus is a status posted to a commit (POST /statuses/{sha}).
type commitStatus struct {
	id          int64
	state       string // error | failure | pending | success
	context     string
	description string
	targetURL   string
	creator     string
	createdAt   time.Time
}

// modeOf maps a commit status state to a check mode.
func modeOf(state string) CheckMode {
	switch state {
	case "success":
		return ChecksSuccess
	case "pending":
		return ChecksPending
	}
	return ChecksFailure
}

// requiredStateLocked is the state of the required check on sha: the
// latest status posted for it with the context "localhub/ci", else the
// server's check mode.
func (s *Server) requiredStateLocked(sha string) CheckMode {
	list := s.statuses[sha]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].context == checkContext {
			return modeOf(list[i].state)
		}
	}
	return s.checks
}

// latestStatusesLocked returns the latest status of every context on sha,
// the required check first (made up from the check mode when none was
// posted).
func (s *Server) latestStatusesLocked(sha string) []*commitStatus {
	seen := map[string]bool{}
	var out []*commitStatus
	list := s.statuses[sha]
	for i := len(list) - 1; i >= 0; i-- {
		if !seen[list[i].context] {
			seen[list[i].context] = true
			out = append(out, list[i])
		}
	}
	if !seen[checkContext] {
		out = append(out, &commitStatus{
			id: idFor("status:" + sha), state: string(s.checks), context: checkContext,
			description: "simulated required check: " + string(s.checks), creator: "localhub", createdAt: s.created,
		})
	}
	// The required check first, the others newest first.
	for i, st := range out {
		if st.context == checkContext && i > 0 {
			copy(out[1:i+1], out[0:i])
			out[0] = st
			break
		}
	}
	return out
}

// combinedState is GitHub's combined state: failure if any status failed
// or errored, else pending if any is pending, else success.
func combinedState(list []*commitStatus) string {
	state := "success"
	for _, st := range list {
		switch st.state {
		case "failure", "error":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

func (s *Server) statusJSON(u urls, sha string, st *commitStatus) map[string]any {
	api := s.repoAPIURL(u)
	target := any(nil)
	if st.targetURL != "" {
		target = st.targetURL
	} else if st.context == checkContext {
		target = s.repoWebURL(u) + "/actions"
	}
	desc := any(nil)
	if st.description != "" {
		desc = st.description
	}
	return map[string]any{
		"id": st.id, "node_id": nodeID("SC", sha+"/"+st.context), "state": st.state, "context": st.context,
		"description": desc, "target_url": target, "avatar_url": u.web + "/avatars/" + escapeLogin(st.creator),
		"url": api + "/statuses/" + sha, "created_at": ts(st.createdAt), "updated_at": ts(st.createdAt),
		"required": st.context == checkContext, "creator": s.userJSON(u, st.creator),
	}
}

// createStatus serves POST /statuses/{sha}, GitHub's way for CI to report:
// a status with the context "localhub/ci" decides the required check for
// that commit, overriding the server's check mode.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.allowed(w, c, permContents, AccessWrite) {
		return
	}
	var req struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	switch req.State {
	case "error", "failure", "pending", "success":
	default:
		validationFailed(w, fieldError{Resource: "Status", Field: "state", Code: "custom",
			Message: "state is not included in the list"})
		return
	}
	if req.Context == "" {
		req.Context = "default"
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.git.resolve(ctx, r.PathValue("sha"))
	if !ok {
		validationFailed(w, fieldError{Resource: "Status", Field: "sha", Code: "custom", Message: "No commit found for SHA: " + r.PathValue("sha")})
		return
	}
	st := &commitStatus{id: s.newID(), state: req.State, context: req.Context, description: req.Description,
		targetURL: req.TargetURL, creator: c.login, createdAt: time.Now().UTC()}
	if s.statuses == nil {
		s.statuses = map[string][]*commitStatus{}
	}
	s.statuses[sha] = append(s.statuses[sha], st)
	s.runAutoMergeLocked(ctx)
	u := s.urlsFor(r)
	writeJSON(w, http.StatusCreated, s.statusJSON(u, sha, st))
}
