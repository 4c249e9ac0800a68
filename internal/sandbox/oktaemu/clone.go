package oktaemu

import "maps"

// Clone returns an independent emulator with a copy of e's state: the apps
// and their secrets, the service apps, the issued tokens and used client
// assertion ids, the deletion count, the rate limit's window and the
// clock. Injected faults and call counters are not copied. A model check
// builds a starting state once and explores each continuation of it on its
// own clone.
func (e *Emulator) Clone() *Emulator {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &Emulator{
		opts: e.opts, offset: e.offset, start: e.start, wallStart: e.wallStart,
		apps: make(map[string]*app, len(e.apps)), serviceApps: make(map[string]*serviceApp, len(e.serviceApps)),
		tokens: make(map[string]token, len(e.tokens)), jtis: maps.Clone(e.jtis),
		deleted: e.deleted, window: e.window, used: e.used, calls: map[string]int{},
	}
	for id, a := range e.apps {
		na := &app{id: a.id, label: a.label, signOnMode: a.signOnMode, created: a.created}
		for _, s := range a.secrets {
			ns := *s
			na.secrets = append(na.secrets, &ns)
		}
		c.apps[id] = na
	}
	for id, sa := range e.serviceApps {
		c.serviceApps[id] = &serviceApp{key: sa.key, scopes: maps.Clone(sa.scopes)}
	}
	for v, t := range e.tokens {
		c.tokens[v] = token{scopes: maps.Clone(t.scopes), expires: t.expires}
	}
	return c
}
