package gcpemu

import "maps"

// Clone returns an independent emulator with a copy of e's state: the
// service accounts and their keys (the private keys, never changed, are
// shared), the issued tokens, the deletion count, its URL and the clock.
// Injected faults and call counters are not copied. A model check builds a
// starting state once and explores each continuation of it on its own
// clone.
func (e *Emulator) Clone() *Emulator {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &Emulator{
		opts: e.opts, offset: e.offset, url: e.url, revoked: e.revoked, seq: e.seq,
		accounts: make(map[string]*account, len(e.accounts)), tokens: maps.Clone(e.tokens), calls: map[string]int{},
	}
	for email, a := range e.accounts {
		na := *a
		na.keys = make([]*key, 0, len(a.keys))
		for _, k := range a.keys {
			nk := *k
			na.keys = append(na.keys, &nk)
		}
		c.accounts[email] = &na
	}
	return c
}
