package github

import (
	"fmt"
	"net/http"
	"testing"
)

func TestOpenAlertKeys(t *testing.T) {
	c, mux := setup(t, nil)
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") != "open" {
			t.Errorf("state = %q", r.URL.Query().Get("state"))
		}
		fmt.Fprintf(w, `[{"number":1,"body":"x\n%s\n"},{"number":2,"body":"%s","pull_request":{"url":"u"}},{"number":3,"body":"no marker"}]`,
			alertMarker("credrotate:equifax.a"), alertMarker("credrotate:pr-only"))
	})
	keys, err := c.OpenAlertKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !keys["credrotate:equifax.a"] {
		t.Fatalf("keys = %v", keys)
	}
}
