package provider

import "testing"

// A hint is the start of a value as a service lists it, cut at its mask
// and never longer than MaxHint: a service that lists whole values gives
// no more than their start away.
func TestHintOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ listed, want string }{
		{"DRUFXG......DreBCd", "DRUFXG"},
		{"DRUFXGF9XbLn......a3x3POBiIxDreBCdZuFs5B", "DRUFXG"},
		{"abc", "abc"},
		{"whole-secret-value-0123456789", "whole-"},
		{"...", ""},
		{"", ""},
	} {
		if got := HintOf(tc.listed); got != tc.want {
			t.Errorf("HintOf(%q) = %q, want %q", tc.listed, got, tc.want)
		}
	}
}
