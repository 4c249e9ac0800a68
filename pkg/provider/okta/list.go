package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Limits of List.
const (
	// AppsPageLimit is the page size List asks for: the most Okta allows.
	AppsPageLimit = 200
	// MaxAppsPages bounds how many pages List follows (a million apps).
	MaxAppsPages = 5000
	// DefaultListConcurrency is how many apps' secrets List reads at once.
	DefaultListConcurrency = 8
)

// app is the part of an Application in GET /api/v1/apps that List reads.
type app struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	Status     string `json:"status"`
	SignOnMode string `json:"signOnMode"`
}

// List returns every OpenID Connect app of the org with its client
// secrets: GET /api/v1/apps page by page (limit=200, following the Link
// header's rel="next", only ever on the org's own origin), then each app's
// /credentials/secrets, at most ListConcurrency at once. Apps of other sign-on
// modes (SAML, bookmarks, …) have no client secrets and are left out, as
// is an app deleted between the two calls. It needs okta.apps.read.
func (c *Client) List(ctx context.Context) ([]provider.Listed, error) {
	apps, err := c.apps(ctx)
	if err != nil {
		return nil, err
	}
	return provider.ListEach(ctx, apps, c.listConc, func(ctx context.Context, a app) (provider.Listed, bool, error) {
		ss, err := c.list(ctx, OpList, a.ID)
		var pe *provider.Error
		if errors.As(err, &pe) && pe.HTTPStatus == http.StatusNotFound {
			return provider.Listed{}, false, nil
		}
		if err != nil {
			return provider.Listed{}, false, err
		}
		return provider.Listed{ClientID: a.ID, Name: a.Label, Secrets: c.infos(ss)}, true, nil
	})
}

// apps reads every OpenID Connect app, page by page.
func (c *Client) apps(ctx context.Context) ([]app, error) {
	org, err := url.Parse(c.org)
	if err != nil {
		return nil, &provider.Error{Provider: Name, Op: OpList, Kind: provider.ErrBadRequest, Err: errors.New("the org URL cannot be parsed")}
	}
	next := c.org + "/api/v1/apps?limit=" + strconv.Itoa(AppsPageLimit)
	seen := map[string]bool{}
	var out []app
	for page := 0; page < MaxAppsPages; page++ {
		var got []app
		h, err := c.manageHeader(ctx, OpList, http.MethodGet, next, nil, []int{http.StatusOK}, &got)
		if err != nil {
			return nil, err
		}
		for _, a := range got {
			if a.ID != "" && a.SignOnMode == "OPENID_CONNECT" {
				out = append(out, a)
			}
		}
		link, ok := NextLink(h.Values("Link"))
		if !ok || len(got) == 0 {
			return out, nil
		}
		// The management credentials go with the next page: only ever to
		// the org itself, and never round in a circle.
		u, err := url.Parse(link)
		if err != nil || redirect.Origin(u) != redirect.Origin(org) || u.Path != "/api/v1/apps" {
			return nil, &provider.Error{Provider: Name, Op: OpList, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
				Err: fmt.Errorf("the apps list's next link leads elsewhere (%s); not followed", redirect.Clean(u))}
		}
		if seen[u.String()] {
			return nil, &provider.Error{Provider: Name, Op: OpList, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
				Err: errors.New("the apps list's next link repeats an earlier page")}
		}
		seen[u.String()] = true
		next = u.String()
	}
	return nil, &provider.Error{Provider: Name, Op: OpList, Kind: provider.ErrMalformedResponse, HTTPStatus: http.StatusOK,
		Err: fmt.Errorf("more than %d pages of apps", MaxAppsPages)}
}

// NextLink finds the target of rel="next" in Link header values (RFC 8288:
// `<URI>; rel="next"`, several links per value separated by commas, or one
// value each, as Okta sends them).
func NextLink(values []string) (string, bool) {
	for _, v := range values {
		for v != "" {
			open := strings.IndexByte(v, '<')
			if open < 0 {
				break
			}
			end := strings.IndexByte(v[open:], '>')
			if end < 0 {
				break
			}
			target := v[open+1 : open+end]
			rest := v[open+end+1:]
			params := rest
			if i := strings.IndexByte(rest, '<'); i >= 0 {
				params = rest[:i]
			}
			v = rest[len(params):]
			for _, p := range strings.Split(params, ";") {
				name, val, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target, true
					}
				}
			}
		}
	}
	return "", false
}
