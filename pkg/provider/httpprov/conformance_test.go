package httpprov_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/conformance"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

// equifaxDescription is examples/providers/equifax-rest.yaml, read once.
var equifaxDescription = sync.OnceValues(func() (*httpprov.Description, error) {
	return httpprov.Load(filepath.Join("..", "..", "..", "examples", "providers", "equifax-rest.yaml"))
})

// newEquifax builds the declarative provider from the Equifax description
// for the conformance suite's emulator.
func newEquifax(t *testing.T, cfg conformance.Config) equifax.Provider {
	d, err := equifaxDescription()
	if err != nil {
		t.Fatal(err)
	}
	retries := cfg.MaxRetries
	p, err := httpprov.New(d, httpprov.Options{
		Settings:        map[string]string{"baseURL": cfg.BaseURL, "scope": cfg.ManagementScope},
		HTTPClient:      cfg.HTTPClient,
		ValidateOpenAPI: true,
		Timeout:         cfg.Timeout,
		Retry: &httpprov.RetrySpec{MaxRetries: &retries, InitialBackoff: httpprov.Duration(cfg.InitialBackoff),
			MaxBackoff: httpprov.Duration(cfg.MaxBackoff)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.OpenAPI() == nil {
		t.Fatal("the Equifax description has no OpenAPI document")
	}
	return equifaxAdapter{p: p}
}

// equifaxAdapter presents the declarative provider as an equifax.Provider,
// the contract the conformance suite checks: Token runs the token step
// (with the scope as a setting), Renew is Create, and errors are
// equifax.Errors.
type equifaxAdapter struct{ p *httpprov.Provider }

func (a equifaxAdapter) Token(ctx context.Context, creds equifax.Credentials, scope string) (equifax.Token, error) {
	var settings map[string]string
	if scope != "" {
		settings = map[string]string{"scope": scope}
	}
	tok, err := a.p.Token(ctx, creds, settings)
	if err != nil {
		return equifax.Token{}, toEquifax(err)
	}
	return equifax.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Scope: tok.Scope, IssuedAt: tok.IssuedAt, ExpiresAt: tok.ExpiresAt}, nil
}

func (a equifaxAdapter) Describe(ctx context.Context, creds equifax.Credentials) (equifax.ClientInfo, error) {
	info, err := a.p.Describe(ctx, creds)
	return info, toEquifax(err)
}

func (a equifaxAdapter) Renew(ctx context.Context, creds equifax.Credentials, req equifax.RenewRequest) (equifax.RenewResult, error) {
	res, err := a.p.Create(ctx, creds, req)
	return res, toEquifax(err)
}

func (a equifaxAdapter) Revoke(ctx context.Context, creds equifax.Credentials, secretID string) error {
	return toEquifax(a.p.Revoke(ctx, creds, secretID))
}

func toEquifax(err error) error {
	var pe *provider.Error
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	op := pe.Op
	if op == "create" {
		op = "renew"
	}
	return &equifax.Error{Op: op, Kind: pe.Kind, Code: pe.Code, HTTPStatus: pe.HTTPStatus, Description: pe.Description,
		RetryAfter: pe.RetryAfter, EligibleAt: pe.EligibleAt, TransactionID: pe.RequestID, Err: pe.Err}
}

func TestEquifaxConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, newEquifax)
}
