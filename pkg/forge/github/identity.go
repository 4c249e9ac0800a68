package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// ViewerQuery is the GraphQL document that names the token's account when
// GET /user is not open to it (installation tokens, such as the Actions
// GITHUB_TOKEN or one minted by actions/create-github-app-token).
const ViewerQuery = `query Viewer {
  viewer {
    login
  }
}`

type identityCache struct {
	mu    sync.Mutex
	login string
}

// Identity returns the login credrotate acts as on GitHub: the token's
// user (GET /user, or GraphQL's viewer for installation tokens), or, for a
// GitHub App, its bot "<slug>[bot]" (GET /app). Pull requests are
// credrotate's only when this login opened them. It is read once.
func (c *Client) Identity(ctx context.Context) (string, error) {
	c.identity.mu.Lock()
	defer c.identity.mu.Unlock()
	if c.identity.login != "" {
		return c.identity.login, nil
	}
	const why = " (to tell credrotate's pull requests from anyone else's)"
	var login string
	if c.app != nil {
		app, _, err := c.app.apps.Apps.Get(ctx, "")
		if err != nil {
			return "", c.err("reading the GitHub App (GET /app)"+why, err)
		}
		if app.GetSlug() == "" {
			return "", errors.New("reading the GitHub App (GET /app)" + why + ": GitHub named no slug")
		}
		login = app.GetSlug() + "[bot]"
	} else {
		u, _, err := c.gh.Users.Get(ctx, "")
		switch {
		case err == nil:
			login = u.GetLogin()
		case statusOf(err) == http.StatusForbidden:
			var out struct {
				Viewer struct {
					Login string `json:"login"`
				} `json:"viewer"`
			}
			if err := c.graphQL(ctx, ViewerQuery, nil, &out); err != nil {
				return "", c.err("reading the token's account (GraphQL viewer)"+why, err)
			}
			login = out.Viewer.Login
		default:
			return "", c.err("reading the token's account (GET /user)"+why, err)
		}
		if login == "" {
			return "", errors.New("reading the token's account" + why + ": GitHub named no login")
		}
	}
	c.identity.login = login
	return login, nil
}

// owned says whether p is credrotate's: its head is a branch of the
// configured repository (present: a deleted fork's pull request has no head
// repository) and the identity credrotate runs as opened it. When it is
// not, why says what is wrong.
func (c *Client) owned(ctx context.Context, p *gh.PullRequest) (ok bool, why string, err error) {
	full := p.GetHead().GetRepo().GetFullName()
	switch {
	case p.GetHead().GetRepo() == nil || full == "":
		return false, "its head repository is gone (a pull request from a deleted fork)", nil
	case !strings.EqualFold(full, c.owner+"/"+c.repo):
		return false, fmt.Sprintf("its head is in %s, not %s/%s (a fork)", full, c.owner, c.repo), nil
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return false, "", err
	}
	if author := p.GetUser().GetLogin(); !strings.EqualFold(author, me) {
		if author == "" {
			author = "an unnamed account"
		}
		return false, fmt.Sprintf("it was opened by %s, not by %s, the account credrotate runs as", author, me), nil
	}
	return true, "", nil
}

// foreign is the forge.PR of a pull request that is not credrotate's: it
// carries the reason and no body, so that no rotation state is ever read
// from it, and the run reports it and leaves it alone.
func foreign(p *gh.PullRequest, why string) forge.PR {
	pr := toPR(p)
	pr.Body = ""
	pr.Foreign = why
	return pr
}
