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
	err := c.paginate("listing alert issues", func(page int) (int, *gh.Response, error) {
		opts.Page = page
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return 0, nil, err
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
		return len(issues), resp, nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}
