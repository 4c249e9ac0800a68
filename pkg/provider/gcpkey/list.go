package gcpkey

import (
	"context"
	"errors"
	"fmt"

	iam "google.golang.org/api/iam/v1"

	"github.com/credrotate/credrotate/pkg/provider"
)

// Limits of List.
const (
	// AccountsPageSize is the page size List asks serviceAccounts.list for:
	// the most Google gives.
	AccountsPageSize = 100
	// MaxAccountsPages bounds how many pages List follows (Google allows
	// 100 service accounts a project by default, a raised quota some
	// thousands).
	MaxAccountsPages = 1000
)

// List returns every service account of Options.Project with its
// user-managed keys: serviceAccounts.list page by page (pageSize 100,
// following nextPageToken), then keys.list with keyTypes=USER_MANAGED for
// each account, at most ListConcurrency at once. An account deleted between
// the two calls is left out. It needs iam.serviceAccounts.list and
// iam.serviceAccountKeys.list on the project (roles/iam.serviceAccountKeyAdmin
// has both).
func (p *Provider) List(ctx context.Context) ([]provider.Listed, error) {
	if p.opts.Project == "" {
		return nil, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrBadRequest, Description: "no project to list: set gcp.project to the project whose service accounts the inventory lists"}
	}
	accounts, err := p.accounts(ctx)
	if err != nil {
		return nil, err
	}
	return provider.ListEach(ctx, accounts, p.opts.ListConcurrency, func(ctx context.Context, a *iam.ServiceAccount) (provider.Listed, bool, error) {
		keys, err := p.list(ctx, "list", a.Email)
		if errors.Is(err, provider.ErrNotFound) {
			return provider.Listed{}, false, nil
		}
		if err != nil {
			return provider.Listed{}, false, err
		}
		return provider.Listed{ClientID: a.Email, Name: a.DisplayName, Secrets: p.info(a.Email, keys, "").Secrets}, true, nil
	})
}

// accounts reads every service account of the project, page by page.
func (p *Provider) accounts(ctx context.Context) ([]*iam.ServiceAccount, error) {
	var out []*iam.ServiceAccount
	token := ""
	seen := map[string]bool{}
	for page := 0; page < MaxAccountsPages; page++ {
		cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		call := p.svc.Projects.ServiceAccounts.List("projects/" + p.opts.Project).PageSize(AccountsPageSize).Context(cctx)
		if token != "" {
			call = call.PageToken(token)
		}
		resp, err := call.Do()
		cancel()
		if err != nil {
			return nil, p.wrap("list", err)
		}
		for _, a := range resp.Accounts {
			if a != nil && a.Email != "" {
				out = append(out, a)
			}
		}
		if resp.NextPageToken == "" {
			return out, nil
		}
		if seen[resp.NextPageToken] {
			return nil, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrMalformedResponse, Description: "serviceAccounts.list gave a page token it gave before"}
		}
		seen[resp.NextPageToken] = true
		token = resp.NextPageToken
	}
	return nil, &provider.Error{Provider: Name, Op: "list", Kind: provider.ErrMalformedResponse, Description: fmt.Sprintf("more than %d pages of service accounts", MaxAccountsPages)}
}
