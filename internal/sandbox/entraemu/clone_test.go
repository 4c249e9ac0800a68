package entraemu_test

import (
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
)

// TestCloneIsIndependent: a clone starts with the original's applications,
// passwords and clock, and a change to either stays its own.
func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	s := start(t, entraemu.Options{Propagation: -1})
	s.emu.Advance(time.Hour)
	c := s.emu.Clone()
	if !c.Now().Equal(s.emu.Now()) || !c.Accepts(s.app.AppID, "first-value") {
		t.Fatal("the clone's clock or passwords differ from the original's")
	}
	if _, err := c.SeedApp(entraemu.SeedSpec{DisplayName: "other", Password: "other-value"}); err != nil {
		t.Fatal(err)
	}
	if n, m := len(s.emu.Apps()), len(c.Apps()); n != 1 || m != 2 {
		t.Errorf("%d applications on the original, %d on the clone; want 1 and 2", n, m)
	}
	if err := c.AddOwner(s.app.AppID, "someone"); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.emu.AppByClientID(s.app.AppID); len(a.Owners) != 0 {
		t.Errorf("an owner added on the clone shows on the original: %v", a.Owners)
	}
	c.Advance(24 * time.Hour)
	if c.Now().Equal(s.emu.Now()) {
		t.Error("the clone's clock moves the original's")
	}
}
