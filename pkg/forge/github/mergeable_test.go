package github

import (
	"fmt"
	"net/http"
	"testing"
)

// GetPR carries GitHub's mergeable and mergeable_state, so that a rotation
// pull request conflicting with its base is seen; "not computed yet" is
// neither conflicting nor clean.
func TestGetPRMergeability(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, nil)
	answers := map[int]string{
		1: `"mergeable":false,"mergeable_state":"dirty"`,
		2: `"mergeable":true,"mergeable_state":"blocked"`,
		3: `"mergeable":null,"mergeable_state":"unknown"`,
	}
	for n, extra := range answers {
		mux.HandleFunc(fmt.Sprintf("/repos/o/r/pulls/%d", n), func(w http.ResponseWriter, r *http.Request) {
			b := prJSON(n, "credrotate/x")
			fmt.Fprint(w, b[:len(b)-1]+","+extra+"}")
		})
	}
	for n, want := range map[int]bool{1: true, 2: false, 3: false} {
		pr, err := c.GetPR(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Conflicting() != want || pr.MergeableState == "" {
			t.Errorf("#%d: Conflicting() = %v, want %v (mergeable %v, state %q)", n, pr.Conflicting(), want, pr.Mergeable, pr.MergeableState)
		}
	}
}
