package model

import (
	"context"
	"errors"
	"fmt"
)

// Mode is what a scenario's fault does at its chosen event.
type Mode int

// The fault modes.
const (
	// ModeNone: the run is not disturbed.
	ModeNone Mode = iota
	// ModeKill: the call is made, then the process dies: every later call
	// of the run fails at once and its result is discarded.
	ModeKill
	// ModeFail: the call is not made and fails; for the provider (Equifax
	// or another) its API stays unavailable for the rest of the run (the
	// client's retries cannot help), for GitHub and git only this call
	// fails.
	ModeFail
	// ModeLost: the call is made but its answer is lost (a timeout on the
	// way back); for the provider its API stays unavailable for the rest
	// of the run.
	ModeLost
)

func (m Mode) String() string {
	switch m {
	case ModeKill:
		return "kill after"
	case ModeFail:
		return "fail"
	case ModeLost:
		return "lose the answer of"
	}
	return "none"
}

// Server names who answers an event.
type Server string

// The servers of a world. The provider's calls are answered by the
// server named after its type: Equifax, or "entra", "okta", "gcpkey".
const (
	Equifax Server = "equifax"
	GitHub  Server = "github"
	Git     Server = "git"
	Step    Server = "step" // a step boundary (Runner.AfterStep), no call
)

// provider reports whether s is the provider's service.
func (s Server) provider() bool { return s != GitHub && s != Git && s != Step }

// errKilled is what every call of a dead run returns.
var errKilled = errors.New("model: the process was killed")

// errInjected is an injected failure.
type errInjected struct{ what string }

func (e *errInjected) Error() string { return "model: injected failure of " + e.what }

// Timeout marks the failure as transient, as a network error would be.
func (e *errInjected) Timeout() bool { return true }

// Event is one call or step boundary of a run, in order.
type Event struct {
	N      int
	Server Server
	Name   string
}

func (e Event) String() string { return fmt.Sprintf("#%d %s %s", e.N, e.Server, e.Name) }

// runCtl watches one run: it numbers its events, injects the scenario's
// fault, pauses the run where an interleaving wants it, and checks the
// world's invariants after every event.
type runCtl struct {
	name   string
	faultN int
	mode   Mode
	dead   bool
	down   map[Server]bool
	events []Event
	// gate, when set, is called before each event; it may block (the
	// interleaving scheduler).
	gate func(ev Event)
	// check is called after every event.
	check func(where string)
}

type ctlKey struct{}

func withCtl(ctx context.Context, c *runCtl) context.Context {
	return context.WithValue(ctx, ctlKey{}, c)
}

func ctlFrom(ctx context.Context) *runCtl {
	c, _ := ctx.Value(ctlKey{}).(*runCtl)
	return c
}

// do runs one event: fn makes the call. It returns fn's error, or the
// injected one.
func (c *runCtl) do(srv Server, name string, fn func() error) error {
	if c == nil {
		return fn()
	}
	if c.dead {
		return errKilled
	}
	ev := Event{N: len(c.events), Server: srv, Name: name}
	if c.gate != nil {
		c.gate(ev)
	}
	c.events = append(c.events, ev)
	if c.down[srv] {
		return &errInjected{what: name + " (" + string(srv) + " is down)"}
	}
	hit := ev.N == c.faultN && c.mode != ModeNone
	if hit && c.mode == ModeFail {
		if srv.provider() {
			c.down[srv] = true
		}
		return &errInjected{what: name}
	}
	err := fn()
	if c.check != nil {
		c.check(c.name + " after " + ev.String())
	}
	if hit {
		switch c.mode {
		case ModeKill:
			c.dead = true
			return errKilled
		case ModeLost:
			if srv.provider() {
				c.down[srv] = true
			}
			return &errInjected{what: "the answer of " + name}
		}
	}
	return err
}

// point is a step boundary.
func (c *runCtl) point(name string) {
	_ = c.do(Step, name, func() error { return nil })
}
