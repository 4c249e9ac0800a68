package httpprov

import (
	"context"
	"fmt"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Multi serves several clients, each with its own description's Provider,
// as one provider.Provider: the rotation builds one provider per type.
// Every Provider must declare the same rules.
type Multi struct {
	name     string
	byClient map[string]*Provider
	rules    provider.Rules
}

var _ provider.Provider = (*Multi)(nil)

// NewMulti returns a Multi over byClient (client id → its Provider).
func NewMulti(byClient map[string]*Provider) (*Multi, error) {
	m := &Multi{name: "http", byClient: byClient}
	first := true
	for id, p := range byClient {
		if first {
			m.rules, first = p.Rules(), false
			if len(byClient) == 1 {
				m.name = p.Name()
			}
			continue
		}
		if p.Rules() != m.rules {
			return nil, fmt.Errorf("client %s's description %s declares other rules than the rest; keys of type http must share rules", id, p.Name())
		}
	}
	return m, nil
}

// Name is the description's name when there is one, else "http".
func (m *Multi) Name() string { return m.name }

// Rules are the descriptions' shared rules.
func (m *Multi) Rules() provider.Rules { return m.rules }

func (m *Multi) of(op string, c provider.Client) (*Provider, error) {
	if p, ok := m.byClient[c.ClientID]; ok {
		return p, nil
	}
	return nil, &provider.Error{Provider: m.name, Op: op, Kind: provider.ErrNotFound, Err: fmt.Errorf("no description serves client %s", c.ClientID)}
}

// Describe runs the client's describe step.
func (m *Multi) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	p, err := m.of("describe", c)
	if err != nil {
		return provider.ClientInfo{}, err
	}
	return p.Describe(ctx, c)
}

// Create runs the client's create step.
func (m *Multi) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	p, err := m.of("create", c)
	if err != nil {
		return provider.Created{}, err
	}
	return p.Create(ctx, c, req)
}

// Verify runs the client's verify (or token) step with secret.
func (m *Multi) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	p, err := m.of("verify", c)
	if err != nil {
		return err
	}
	return p.Verify(ctx, c, secret)
}

// Revoke runs the client's retire and revoke steps.
func (m *Multi) Revoke(ctx context.Context, c provider.Client, secretID string) error {
	p, err := m.of("revoke", c)
	if err != nil {
		return err
	}
	return p.Revoke(ctx, c, secretID)
}
