package localhub

import "net/http"

func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"type": "NOT_IMPLEMENTED", "message": "GraphQL is not served yet"}}})
}
