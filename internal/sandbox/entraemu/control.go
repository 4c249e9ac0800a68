package entraemu

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// ControlPrefix is where the test controls are served (loopback peers
// only), as on the Equifax emulator.
const ControlPrefix = emulator.ControlPrefix

// controlState is what GET /__emulator/state answers: the clock, the
// knobs and every application's passwords (never a value).
type controlState struct {
	Now          time.Time `json:"now"`
	Propagation  string    `json:"propagation"`
	MaxLifetime  string    `json:"maxLifetime"`
	MaxPasswords int       `json:"maxPasswords"`
	Revoked      int       `json:"revoked"`
	Apps         []App     `json:"apps"`
}

// controlRequest is what POST /__emulator/state takes: any of a clock
// advance, a propagation delay and a lifetime policy ("0s": none), as Go
// durations.
type controlRequest struct {
	Advance     string `json:"advance,omitempty"`
	Propagation string `json:"propagation,omitempty"`
	MaxLifetime string `json:"maxLifetime,omitempty"`
}

// serveControl serves GET and POST /__emulator/state.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request, reqID string) {
	now := e.Now()
	if !emulator.Loopback(r.RemoteAddr) {
		writeGraphError(w, http.StatusForbidden, "Authorization_RequestDenied", "the emulator controls answer loopback peers only", reqID, now)
		return
	}
	if strings.TrimPrefix(r.URL.Path, ControlPrefix) != "state" {
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound", "the controls are GET and POST "+ControlPrefix+"state", reqID, now)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var req controlRequest
		if err := decodeStrict(r, &req); err != nil {
			writeGraphError(w, http.StatusBadRequest, "BadRequest", "give any of advance, propagation and maxLifetime as durations: "+err.Error(), reqID, now)
			return
		}
		var ds [3]time.Duration
		for i, raw := range []string{req.Advance, req.Propagation, req.MaxLifetime} {
			if raw == "" {
				ds[i] = -1
				continue
			}
			d, err := time.ParseDuration(raw)
			if err != nil || d < 0 {
				writeGraphError(w, http.StatusBadRequest, "BadRequest", "not a duration such as 24h: "+raw, reqID, now)
				return
			}
			ds[i] = d
		}
		if ds[0] >= 0 {
			e.Advance(ds[0])
		}
		if ds[1] >= 0 {
			e.SetPropagation(ds[1])
		}
		if ds[2] >= 0 {
			e.SetMaxLifetime(ds[2])
		}
	default:
		writeGraphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "GET or POST", reqID, now)
		return
	}
	e.mu.Lock()
	st := controlState{Now: e.now(), Propagation: e.opts.Propagation.String(), MaxLifetime: e.opts.MaxLifetime.String(), MaxPasswords: e.opts.MaxPasswords, Revoked: e.revoked}
	e.mu.Unlock()
	st.Apps = e.Apps()
	b, _ := json.MarshalIndent(st, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
