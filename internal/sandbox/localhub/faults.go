package localhub

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure the next API calls answer with instead of serving,
// to test how a client copes with GitHub's bad days.
type Fault struct {
	// Status is the HTTP status: 429 or 403 for a secondary rate limit
	// (with Retry-After), 5xx for a server error.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header, in seconds.
	RetryAfter time.Duration
	// Message replaces the default message.
	Message string
}

// secondaryRateLimitDocs is the documentation URL GitHub sends with a
// secondary rate limit, by which clients (go-github) recognise one.
const secondaryRateLimitDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

// FailNext makes the next n API calls (REST or GraphQL) answer with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for i := 0; i < n; i++ {
		s.faults = append(s.faults, f)
	}
}

// takeFault answers the call with the next queued fault, if any.
func (s *Server) takeFault(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.faults) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	s.mu.Unlock()
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	msg := f.Message
	switch {
	case f.Status == http.StatusTooManyRequests || f.Status == http.StatusForbidden:
		if msg == "" {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		}
		writeJSON(w, f.Status, map[string]any{"message": msg, "documentation_url": secondaryRateLimitDocs})
	default:
		if msg == "" {
			msg = fmt.Sprintf("Server Error (%d, injected by localhub)", f.Status)
		}
		writeError(w, f.Status, msg, nil)
	}
	return true
}
