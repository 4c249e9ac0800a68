package inventory

import (
	"testing"
	"time"
)

func TestNoticesOncePerThreshold(t *testing.T) {
	t.Parallel()
	thresholds := []int{30, 14, 7, 3}
	renewBefore := 14 * day
	un := Credential{ID: "entra/app-2/k9", Label: "entra app-2", ExpiresAt: now.Add(20 * day)}
	mine := Credential{ID: "entra/app-1/k1", Label: "entra.billing", ExpiresAt: now.Add(10 * day), Managed: true}

	raise, resolve := Notices(now, []Credential{un, mine}, thresholds, renewBefore, map[string]bool{})
	if len(raise) != 1 || raise[0].Key != NoticeKey(un.ID, 30) || len(resolve) != 0 {
		t.Fatalf("day 0: raise %+v, resolve %v; want the unmanaged one at 30 days, and nothing for the managed one (its rotation is due at 14 days)", raise, resolve)
	}
	open := map[string]bool{raise[0].Key: true, "credrotate:equifax.a": true}
	if raise, resolve := Notices(now.Add(day), []Credential{un, mine}, thresholds, renewBefore, open); len(raise) != 0 || len(resolve) != 0 {
		t.Fatalf("the next day: raise %+v, resolve %v; a notice is raised once", raise, resolve)
	}
	// Six days later: the unmanaged one crosses 14 days; the managed one 7
	// days (its rotation is late).
	raise, resolve = Notices(now.Add(6*day+time.Hour), []Credential{un, mine}, thresholds, renewBefore, open)
	if len(raise) != 2 || len(resolve) != 0 {
		t.Fatalf("day 6: raise %+v, resolve %v", raise, resolve)
	}
	for _, n := range raise {
		switch n.Credential.ID {
		case un.ID:
			if n.Days != 14 || len(n.Supersedes) != 1 || n.Supersedes[0] != NoticeKey(un.ID, 30) {
				t.Errorf("unmanaged: %+v", n)
			}
		case mine.ID:
			if n.Days != 7 || n.DaysLeft != 3 {
				t.Errorf("managed: %+v", n)
			}
		}
	}
	// The managed key is rotated: its notice is resolved; the alert of
	// another kind is left alone.
	open = map[string]bool{NoticeKey(un.ID, 14): true, NoticeKey(mine.ID, 7): true, "credrotate:equifax.a": true}
	mine.ExpiresAt = now.Add(180 * day)
	raise, resolve = Notices(now.Add(7*day), []Credential{un, mine}, thresholds, renewBefore, open)
	if len(raise) != 0 || len(resolve) != 1 || resolve[0] != NoticeKey(mine.ID, 7) {
		t.Fatalf("after the rotation: raise %+v, resolve %v", raise, resolve)
	}
}
