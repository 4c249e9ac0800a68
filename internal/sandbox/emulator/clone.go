package emulator

// Clone returns an independent emulator with a copy of e's state: its
// clients and their secrets, the replayable renew answers, the issued
// tokens and the fake clock. Scripted faults, call counters and latency are
// not copied. Model checks build a starting state once and explore many
// continuations of it, each on its own clone.
func (e *Emulator) Clone() *Emulator {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := New(e.opts)
	c.realBase = e.realBase
	c.offset = e.offset
	c.nextPrune = e.nextPrune
	for id, cl := range e.clients {
		nc := &client{id: cl.id, lastRenewal: cl.lastRenewal, idem: make(map[string]*idemEntry, len(cl.idem))}
		for _, s := range cl.secrets {
			ns := *s
			nc.secrets = append(nc.secrets, &ns)
		}
		for k, ent := range cl.idem {
			ne := *ent
			if ent.result.previous != nil {
				p := *ent.result.previous
				ne.result.previous = &p
			}
			nc.idem[k] = &ne
		}
		c.clients[id] = nc
	}
	for k, t := range e.tokens {
		nt := *t
		nt.scopes = append([]string(nil), t.scopes...)
		c.tokens[k] = &nt
	}
	return c
}
