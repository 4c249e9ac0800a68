package forge

import (
	"strings"
	"testing"
)

func TestDashboardBodyKeepsWhatPeopleWrote(t *testing.T) {
	t.Parallel()
	first := DashboardBody("", "| key | days |\n| a | 3 |")
	if !strings.HasPrefix(first, DashboardMarker) || !strings.Contains(first, "| a | 3 |") {
		t.Fatalf("a new dashboard:\n%s", first)
	}
	edited := "Owner: @platform-team\n\n" + first + "\nNotes: billing's key is retired in March.\n"
	second := DashboardBody(edited, "| key | days |\n| a | 2 |")
	for _, want := range []string{"Owner: @platform-team", "Notes: billing's key is retired in March.", "| a | 2 |", DashboardMarker} {
		if !strings.Contains(second, want) {
			t.Errorf("the update lost %q:\n%s", want, second)
		}
	}
	if strings.Contains(second, "| a | 3 |") {
		t.Errorf("the old generated part stayed:\n%s", second)
	}
	if DashboardBody(second, "| key | days |\n| a | 2 |") != second {
		t.Error("an update with the same content changed the body")
	}
	broken := DashboardBody("someone deleted the markers", "x")
	if !strings.Contains(broken, "someone deleted the markers") || !strings.Contains(broken, dashboardStart+"\nx\n"+dashboardEnd) || !strings.HasPrefix(broken, DashboardMarker) {
		t.Errorf("a body without markers:\n%s", broken)
	}
}
