package equifax

import (
	"context"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

// AsProvider presents an Equifax client (REST, SOAP or mock-safe) as the
// provider contract the rotation speaks: Create is a renew, which retires the
// previous secret with a grace period; Verify obtains a token with the
// management scope.
func AsProvider(p Provider, managementScope string) provider.Provider {
	return contract{p: p, scope: managementScope}
}

// Unwrap returns the Equifax client behind a provider made by AsProvider.
func Unwrap(p provider.Provider) (Provider, bool) {
	c, ok := p.(contract)
	return c.p, ok
}

type contract struct {
	p     Provider
	scope string
}

// Rules are Equifax's: two valid secrets at most, the lifetime set by the
// client's policy, the previous secret retired on renew and replayed by
// Idempotency-Key for 24 hours, revoked in one call, usable at once, and a
// force that lifts the eligibility rule.
var Rules = provider.Rules{
	MaxValid: 2, ReportsExpiry: true, RetiresOnCreate: true, Replays: true,
	Revocation: provider.RevokeOneStep, Force: true,
}

func (c contract) Name() string          { return "equifax" }
func (c contract) Rules() provider.Rules { return Rules }

func (c contract) Describe(ctx context.Context, cl provider.Client) (provider.ClientInfo, error) {
	return c.p.Describe(ctx, cl)
}

func (c contract) Create(ctx context.Context, cl provider.Client, req provider.CreateRequest) (provider.Created, error) {
	return c.p.Renew(ctx, cl, req)
}

func (c contract) Verify(ctx context.Context, cl provider.Client, secret credential.Secret) error {
	_, err := c.p.Token(ctx, Credentials{ClientID: cl.ClientID, ClientSecret: secret}, c.scope)
	return err
}

func (c contract) Revoke(ctx context.Context, cl provider.Client, secretID string) error {
	return c.p.Revoke(ctx, cl, secretID)
}
