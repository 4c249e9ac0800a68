package forge

import (
	"strings"
	"testing"
)

// TestTitleAndBodyFromOneState: the title, the body and the marker are
// written from one RotationState, and what marks a pull request (an
// emergency, a mock-safe run) survives the round trip through the marker.
func TestTitleAndBodyFromOneState(t *testing.T) {
	t.Parallel()
	base := RotationState{TraceID: "t1", Keys: []KeyState{{ProviderKey: "equifax.b", NewSecretID: "s2"}, {ProviderKey: "equifax.a", NewSecretID: "s1"}}}
	for _, tc := range []struct {
		name      string
		state     func(RotationState) RotationState
		title     string
		bodyHas   string
		emergency bool
	}{
		{"plain", func(s RotationState) RotationState { return s }, "credrotate: rotate equifax.a, equifax.b", "rotates 2 client secrets", false},
		{"emergency", func(s RotationState) RotationState {
			s.Keys = append([]KeyState(nil), s.Keys...)
			s.Keys[1].Emergency = true
			return s
		}, "[emergency] credrotate: rotate equifax.a, equifax.b", "Emergency rotation", true},
		{"mock-safe", func(s RotationState) RotationState { s.MockSafe = true; return s }, "[mock-safe, do not merge] credrotate: rotate equifax.a, equifax.b", "do not merge", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.state(base)
			if got := RenderTitle(s); got != tc.title {
				t.Errorf("title %q, want %q", got, tc.title)
			}
			body := RenderBody(s)
			if !strings.Contains(body, tc.bodyHas) {
				t.Errorf("body lacks %q:\n%s", tc.bodyHas, body)
			}
			back, ok, err := ParseState(body)
			// an emergency is each key's (its manifests on the branch
			// say so); the marker keeps the run's identity
			if !ok || err != nil || back.Emergency() || back.MockSafe != s.MockSafe || s.Emergency() != tc.emergency {
				t.Fatalf("round trip: %+v %v %v", back, ok, err)
			}
		})
	}
	many := RotationState{}
	for i := 0; i < 20; i++ {
		many.Keys = append(many.Keys, KeyState{ProviderKey: "equifax.client_" + strings.Repeat("x", 10) + string(rune('a'+i)), NewSecretID: "s"})
	}
	if got := RenderTitle(many); got != "credrotate: rotate 20 credentials" {
		t.Errorf("long title: %q", got)
	}
}
