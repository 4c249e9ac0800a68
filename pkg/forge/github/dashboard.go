package github

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// UpdateDashboard keeps the repository's dashboard issue up to date: it finds
// the open issue labelled d.Labels[0] that carries the dashboard marker and
// that credrotate's identity opened (anyone else's is left alone), rewrites
// its generated part (keeping what people wrote around it) when that
// changed, or opens the issue when there is none. It reports whether it
// wrote anything.
func (c *Client) UpdateDashboard(ctx context.Context, d forge.Dashboard) (forge.Issue, bool, error) {
	if d.Title == "" || len(d.Labels) == 0 {
		return forge.Issue{}, false, errors.New("updating the dashboard: a title and a label are required")
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return forge.Issue{}, false, err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// The author is checked here rather than with creator=, which does not
	// take an App's bot login.
	opts := &gh.IssueListByRepoOptions{State: "open", Labels: d.Labels[:1], ListOptions: gh.ListOptions{PerPage: 100}}
	var found *gh.Issue
	var dups []*gh.Issue
	err = c.paginate("listing the dashboard issue", func(page int) (int, *gh.Response, error) {
		opts.Page = page
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return 0, nil, err
		}
		for _, is := range issues {
			if !is.IsPullRequest() && strings.EqualFold(is.GetUser().GetLogin(), me) && strings.Contains(is.GetBody(), forge.DashboardMarker) {
				switch {
				case found == nil:
					found = is
				case is.GetNumber() < found.GetNumber():
					dups, found = append(dups, found), is
				default:
					dups = append(dups, is)
				}
			}
		}
		return len(issues), resp, nil
	})
	if err != nil {
		return forge.Issue{}, false, err
	}
	// Runs hold the lease while they write the dashboard, so a second one
	// comes only from outside that (an older version, a run killed between
	// creating it and reading it back elsewhere): the oldest is kept, the
	// others closed as its duplicates.
	for _, d := range dups {
		comment := fmt.Sprintf("Closed by credrotate: a duplicate of the dashboard #%d, which is kept up to date.", found.GetNumber())
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, d.GetNumber(), &gh.IssueComment{Body: gh.String(comment)}); err != nil {
			return forge.Issue{}, false, c.err(fmt.Sprintf("commenting on the duplicate dashboard #%d", d.GetNumber()), err)
		}
		if _, _, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, d.GetNumber(), &gh.IssueRequest{State: gh.String("closed"), StateReason: gh.String("not_planned")}); err != nil {
			return forge.Issue{}, false, c.err(fmt.Sprintf("closing the duplicate dashboard #%d", d.GetNumber()), err)
		}
	}
	if found == nil {
		body := forge.DashboardBody("", d.Body)
		is, _, err := c.gh.Issues.Create(ctx, c.owner, c.repo, &gh.IssueRequest{Title: gh.String(d.Title), Body: gh.String(body), Labels: &d.Labels})
		if err != nil {
			return forge.Issue{}, false, c.err("opening the dashboard issue", err)
		}
		return toIssue(is), true, nil
	}
	body := forge.DashboardBody(found.GetBody(), d.Body)
	if body == found.GetBody() {
		return toIssue(found), false, nil
	}
	is, _, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, found.GetNumber(), &gh.IssueRequest{Body: gh.String(body)})
	if err != nil {
		return forge.Issue{}, false, c.err(fmt.Sprintf("updating the dashboard issue #%d", found.GetNumber()), err)
	}
	return toIssue(is), true, nil
}
