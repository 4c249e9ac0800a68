package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// DefaultAlertLabel marks alert issues when an Alert names no label.
const DefaultAlertLabel = "credrotate-alert"

// alertMarker is the hidden line that ties an issue to an alert key.
func alertMarker(key string) string {
	return "<!-- credrotate:alert key=" + url.QueryEscape(key) + " -->"
}

func alertLabels(a forge.Alert) []string {
	if len(a.Labels) == 0 {
		return []string{DefaultAlertLabel}
	}
	return a.Labels
}

// findAlert finds the open alert issue for key among issues labelled label.
func (c *Client) findAlert(ctx context.Context, key, label string) (*gh.Issue, error) {
	marker := alertMarker(key)
	opts := &gh.IssueListByRepoOptions{State: "open", ListOptions: gh.ListOptions{PerPage: 100}}
	if label != "" {
		opts.Labels = []string{label}
	}
	var found *gh.Issue
	err := c.paginate("listing alert issues", func(page int) (int, *gh.Response, error) {
		opts.Page = page
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return 0, nil, err
		}
		for _, is := range issues {
			if !is.IsPullRequest() && strings.Contains(is.GetBody(), marker) {
				found = is
				return len(issues), nil, nil
			}
		}
		return len(issues), resp, nil
	})
	return found, err
}

// RaiseAlert opens the alert issue for a.Key, or, when one is open, comments
// on it with a.Body: one open issue per key.
func (c *Client) RaiseAlert(ctx context.Context, a forge.Alert) (forge.Issue, error) {
	if a.Key == "" || a.Title == "" {
		return forge.Issue{}, errors.New("raising alert: key and title are required")
	}
	labels := alertLabels(a)
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	is, err := c.findAlert(ctx, a.Key, labels[0])
	if err != nil {
		return forge.Issue{}, err
	}
	if is != nil {
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, is.GetNumber(), &gh.IssueComment{Body: gh.String(a.Body)}); err != nil {
			return forge.Issue{}, c.err(fmt.Sprintf("commenting on alert issue #%d", is.GetNumber()), err)
		}
		c.alerts.mark(a.Key, true)
		return toIssue(is), nil
	}
	body := a.Body + "\n\n" + alertMarker(a.Key) + "\n"
	is, _, err = c.gh.Issues.Create(ctx, c.owner, c.repo, &gh.IssueRequest{Title: gh.String(a.Title), Body: gh.String(body), Labels: &labels})
	if err != nil {
		return forge.Issue{}, c.err("opening alert issue for "+a.Key, err)
	}
	c.alerts.mark(a.Key, true)
	return toIssue(is), nil
}

// ResolveAlert closes the open alert issue for key with comment; nothing
// happens when none is open.
func (c *Client) ResolveAlert(ctx context.Context, key, comment string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	is, err := c.findAlert(ctx, key, "")
	if err != nil {
		return err
	}
	if is == nil {
		c.alerts.mark(key, false)
		return nil
	}
	if strings.TrimSpace(comment) != "" {
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, is.GetNumber(), &gh.IssueComment{Body: gh.String(comment)}); err != nil {
			return c.err(fmt.Sprintf("commenting on alert issue #%d", is.GetNumber()), err)
		}
	}
	if _, _, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, is.GetNumber(), &gh.IssueRequest{State: gh.String("closed"), StateReason: gh.String("completed")}); err != nil {
		return c.err(fmt.Sprintf("closing alert issue #%d", is.GetNumber()), err)
	}
	c.alerts.mark(key, false)
	return nil
}

func toIssue(is *gh.Issue) forge.Issue {
	return forge.Issue{Number: is.GetNumber(), URL: is.GetHTMLURL(), State: is.GetState()}
}
