package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/forge"
)

// TestLocalhubDashboard: one dashboard issue, found again by its marker and
// label, rewritten only in its generated part and only when that changed;
// someone else's issue with the same marker is left alone.
func TestLocalhubDashboard(t *testing.T) {
	t.Parallel()
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	foreign := h.OpenForeignIssue("mallory", "credrotate: credential dashboard", forge.DashboardBody("", "all is well, trust me"), []string{"credrotate-dashboard"})
	d := forge.Dashboard{Title: "credrotate: credential dashboard", Body: "| key | days left |\n| a | 10 |", Labels: []string{"credrotate-dashboard"}}
	first, wrote, err := c.UpdateDashboard(ctx, d)
	if err != nil || !wrote || first.Number == foreign {
		t.Fatalf("first update: %+v wrote %v, %v (the foreign issue is #%d)", first, wrote, err, foreign)
	}
	if _, wrote, err := c.UpdateDashboard(ctx, d); err != nil || wrote {
		t.Fatalf("the same content again wrote %v, %v", wrote, err)
	}
	// A person adds a note above the generated part.
	var body string
	for _, is := range h.Issues() {
		if is.Number == first.Number {
			body = is.Body
		}
	}
	edit, _ := json.Marshal(map[string]string{"body": "Owner: @platform\n\n" + body})
	req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/repos/acme/gitops/issues/%d", h.ts.URL, first.Number), bytes.NewReader(edit))
	req.Header.Set("Authorization", "token "+hubToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a person's edit: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	d.Body = "| key | days left |\n| a | 9 |"
	second, wrote, err := c.UpdateDashboard(ctx, d)
	if err != nil || !wrote || second.Number != first.Number {
		t.Fatalf("second update: %+v wrote %v, %v", second, wrote, err)
	}
	for _, is := range h.Issues() {
		switch is.Number {
		case first.Number:
			if !strings.HasPrefix(is.Body, "Owner: @platform") || !strings.Contains(is.Body, "| a | 9 |") || strings.Contains(is.Body, "| a | 10 |") {
				t.Errorf("the dashboard's body:\n%s", is.Body)
			}
		case foreign:
			if !strings.Contains(is.Body, "trust me") {
				t.Errorf("the foreign issue was rewritten:\n%s", is.Body)
			}
		}
	}
	if n := len(h.Issues()); n != 2 {
		t.Errorf("%d issues, want the dashboard and the foreign one", n)
	}
}

// TestLocalhubDashboardClosesDuplicates: two dashboards of credrotate's own
// (one left by a run from outside the lease) become one: the oldest is
// updated, the other closed with a comment that names it.
func TestLocalhubDashboardClosesDuplicates(t *testing.T) {
	t.Parallel()
	h := newHub(t, localhub.Options{})
	c := h.client(t, nil)
	ctx := context.Background()
	var numbers []int
	for range 2 {
		b, _ := json.Marshal(map[string]any{"title": "credrotate: credential dashboard", "body": forge.DashboardBody("", "old"), "labels": []string{"credrotate-dashboard"}})
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/repos/acme/gitops/issues", bytes.NewReader(b))
		req.Header.Set("Authorization", "token "+hubToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("opening a dashboard by hand: %v %v", resp, err)
		}
		var is struct{ Number int }
		_ = json.NewDecoder(resp.Body).Decode(&is)
		_ = resp.Body.Close()
		numbers = append(numbers, is.Number)
	}
	d := forge.Dashboard{Title: "credrotate: credential dashboard", Body: "| key | days left |\n| a | 10 |", Labels: []string{"credrotate-dashboard"}}
	kept, wrote, err := c.UpdateDashboard(ctx, d)
	if err != nil || !wrote || kept.Number != numbers[0] {
		t.Fatalf("update: %+v wrote %v, %v; want #%d kept", kept, wrote, err, numbers[0])
	}
	for _, is := range h.Issues() {
		switch is.Number {
		case numbers[0]:
			if is.State != "open" || !strings.Contains(is.Body, "| a | 10 |") {
				t.Errorf("the kept dashboard: %s\n%s", is.State, is.Body)
			}
		case numbers[1]:
			if is.State != "closed" || len(is.Comments) != 1 || !strings.Contains(is.Comments[0].Body, fmt.Sprintf("#%d", numbers[0])) {
				t.Errorf("the duplicate: %s, comments %+v", is.State, is.Comments)
			}
		}
	}
	// The next run finds the one dashboard and closes nothing more.
	d.Body = "| key | days left |\n| a | 9 |"
	if again, _, err := c.UpdateDashboard(ctx, d); err != nil || again.Number != numbers[0] {
		t.Fatalf("second update: %+v, %v", again, err)
	}
}
