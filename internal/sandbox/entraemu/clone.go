package entraemu

import (
	"maps"
	"slices"
)

// Clone returns an independent emulator with a copy of e's state: the
// applications, their passwords (values by digest) and federated
// credentials, the issued tokens, the revocation count, the knobs and the
// clock. Injected faults and call counters are not copied. A model check
// builds a starting state once and explores each continuation of it on its
// own clone.
func (e *Emulator) Clone() *Emulator {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &Emulator{
		opts: e.opts, base: e.base, wallBase: e.wallBase, advanced: e.advanced,
		apps: make(map[string]*app, len(e.apps)), byAppID: make(map[string]*app, len(e.byAppID)),
		tokens: maps.Clone(e.tokens), revoked: e.revoked, calls: map[string]int{},
	}
	for id, a := range e.apps {
		na := &app{
			App:       a.snapshot(),
			values:    maps.Clone(a.values),
			federated: slices.Clone(a.federated),
			deleted:   slices.Clone(a.deleted),
		}
		c.apps[id], c.byAppID[na.AppID] = na, na
	}
	return c
}

// Removed reports whether keyID was a password of the application of
// clientID that removePassword removed.
func (e *Emulator) Removed(clientID, keyID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byAppID[clientID]
	return ok && slices.Contains(a.deleted, keyID)
}
