package github

import (
	"context"
	"maps"
	"net/url"
	"regexp"
	"sync"

	gh "github.com/google/go-github/v60/github"
)

var alertMarkerRE = regexp.MustCompile(`<!-- credrotate:alert key=([^ ]+) -->`)

// alertCache holds the open alert keys once listed. A run lists them once:
// the preflight, the alerts at the end and the dashboard all read the same
// listing, which the client's own RaiseAlert and ResolveAlert keep true. An
// alert a person opens or closes while a run goes on is seen by the next
// run.
type alertCache struct {
	mu     sync.Mutex
	listed bool
	keys   map[string]bool
}

// mark records that key's alert is open (or no longer open) after this
// client raised (or resolved) it.
func (a *alertCache) mark(key string, open bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.listed {
		return
	}
	if open {
		a.keys[key] = true
	} else {
		delete(a.keys, key)
	}
}

// OpenAlertKeys returns the keys of every open alert issue, in one listing
// per client (later calls answer from it, with this client's own raises and
// resolves applied), so that a run closes alerts without a call per
// provider key. The map returned is the caller's.
func (c *Client) OpenAlertKeys(ctx context.Context) (map[string]bool, error) {
	c.alerts.mu.Lock()
	defer c.alerts.mu.Unlock()
	if c.alerts.listed {
		return maps.Clone(c.alerts.keys), nil
	}
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
	c.alerts.listed, c.alerts.keys = true, keys
	return maps.Clone(keys), nil
}
