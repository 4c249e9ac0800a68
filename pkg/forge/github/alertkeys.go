package github

import (
	"context"
	"net/url"
	"regexp"

	gh "github.com/google/go-github/v60/github"
)

var alertMarkerRE = regexp.MustCompile(`<!-- credrotate:alert key=([^ ]+) -->`)

// OpenAlertKeys returns the keys of every open alert issue, in one listing,
// so that a run closes alerts without a call per provider key.
func (c *Client) OpenAlertKeys(ctx context.Context) (map[string]bool, error) {
	keys := map[string]bool{}
	opts := &gh.IssueListByRepoOptions{State: "open", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.err("listing alert issues", err)
		}
		for _, is := range issues {
			if is.IsPullRequest() {
				continue
			}
			for _, m := range alertMarkerRE.FindAllStringSubmatch(is.GetBody(), -1) {
				if k, err := url.QueryUnescape(m[1]); err == nil {
					keys[k] = true
				}
			}
		}
		if resp.NextPage == 0 {
			return keys, nil
		}
		opts.Page = resp.NextPage
	}
}
