package emulator

import (
	"errors"
	"net/http"
)

// Warmup makes newly minted secrets refuse to obtain a token for a while,
// or for good, as some providers do: Microsoft Entra ID refuses a password
// for seconds after addPassword. It applies to secrets minted after it is
// set; seeded secrets and older ones are unaffected.
type Warmup struct {
	// Refusals is how many token requests with a new secret are refused
	// (401 invalid_client) before it works.
	Refusals int `json:"refusals"`
	// Never makes new secrets never obtain a token.
	Never bool `json:"never"`
}

// warmupState is the Warmup in force and, per new secret, how many
// refusals it has left (-1: never works).
type warmupState struct {
	cfg  Warmup
	cold map[string]int
}

// SetWarmup sets how newly minted secrets behave at the token endpoint; the
// zero Warmup makes them work at once again (as the contract says).
func (e *Emulator) SetWarmup(w Warmup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.warm == nil {
		e.warm = &warmupState{cold: map[string]int{}}
	}
	e.warm.cfg = w
}

// mintedLocked records a newly minted secret under the Warmup in force.
func (e *Emulator) mintedLocked(secretID string) {
	if e.warm == nil {
		return
	}
	switch {
	case e.warm.cfg.Never:
		e.warm.cold[secretID] = -1
	case e.warm.cfg.Refusals > 0:
		e.warm.cold[secretID] = e.warm.cfg.Refusals
	}
}

// refuseColdLocked reports whether a token request with secretID is
// refused because the secret has not warmed up; it counts the refusal.
func (e *Emulator) refuseColdLocked(secretID string) bool {
	if e.warm == nil {
		return false
	}
	n, ok := e.warm.cold[secretID]
	switch {
	case !ok:
		return false
	case n < 0:
		return true
	case n == 0:
		delete(e.warm.cold, secretID)
		return false
	}
	e.warm.cold[secretID] = n - 1
	return true
}

// coldLocked reports, without counting, whether secretID would be refused.
func (e *Emulator) coldLocked(secretID string) bool {
	if e.warm == nil {
		return false
	}
	n, ok := e.warm.cold[secretID]
	return ok && n != 0
}

// warmupControl serves POST /__emulator/warmup with a Warmup as its body.
func (e *Emulator) warmupControl(r *http.Request) *reply {
	if r.Method != http.MethodPost {
		return restError(methodNotAllowed(http.MethodPost))
	}
	var w Warmup
	if err := decodeStrict(r, &w); err != nil {
		return controlError(http.StatusBadRequest, "400.01", err.Error())
	}
	if w.Refusals < 0 {
		return controlError(http.StatusBadRequest, "400.01", errors.New(`"refusals" must not be negative; use "never": true for a secret that never works`).Error())
	}
	e.SetWarmup(w)
	return &reply{status: http.StatusNoContent}
}
