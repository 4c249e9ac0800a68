package mocksafe

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

// service is a provider that records every call and fails any that would
// change something.
type service struct {
	rules provider.Rules
	info  provider.ClientInfo
	calls []string
}

func (s *service) Name() string          { return "svc" }
func (s *service) Rules() provider.Rules { return s.rules }
func (s *service) Describe(_ context.Context, c provider.Client) (provider.ClientInfo, error) {
	s.calls = append(s.calls, "describe")
	return s.info, nil
}
func (s *service) Create(context.Context, provider.Client, provider.CreateRequest) (provider.Created, error) {
	s.calls = append(s.calls, "create")
	return provider.Created{}, errors.New("a mutation reached the service")
}
func (s *service) Verify(_ context.Context, _ provider.Client, secret credential.Secret) error {
	s.calls = append(s.calls, "verify")
	if secret.Reveal() != "real" {
		return &provider.Error{Provider: "svc", Op: "verify", Kind: provider.ErrUnauthorized}
	}
	return nil
}
func (s *service) Revoke(context.Context, provider.Client, string) error {
	s.calls = append(s.calls, "revoke")
	return errors.New("a mutation reached the service")
}

func TestNothingChangesAtTheService(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	for _, retires := range []bool{false, true} {
		svc := &service{
			rules: provider.Rules{RetiresOnCreate: retires},
			info: provider.ClientInfo{ClientID: "app", Secrets: []provider.SecretInfo{
				{SecretID: "old", Status: provider.StatusActive, CreatedAt: t0.Add(-80 * 24 * time.Hour), ExpiresAt: t0.Add(10 * 24 * time.Hour)},
			}},
		}
		p := New(svc, Options{Now: func() time.Time { return t0 }})
		if p.Name() != "svc" || p.Rules() != svc.rules {
			t.Fatalf("name %q, rules %+v: not the service's", p.Name(), p.Rules())
		}
		c := provider.Client{ClientID: "app", ClientSecret: credential.NewSecret("real")}
		ctx := context.Background()
		res, err := p.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k", GracePeriod: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if !IsMockSecret(res.ClientSecret) || res.Secret.Status != provider.StatusActive {
			t.Errorf("created %+v is not a mock ACTIVE secret", res.Secret)
		}
		again, err := p.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k"})
		if err != nil || again.Secret.SecretID != res.Secret.SecretID {
			t.Errorf("the same key did not replay: %v %+v", err, again.Secret)
		}
		if (res.PreviousSecret != nil) != retires {
			t.Errorf("retires on create %v: previous %+v", retires, res.PreviousSecret)
		}
		if retires && (res.PreviousSecret.GraceEndsAt == nil || !res.PreviousSecret.GraceEndsAt.Equal(t0.Add(48*time.Hour))) {
			t.Errorf("the retired secret's grace is %v", res.PreviousSecret.GraceEndsAt)
		}
		info, err := p.Describe(ctx, provider.Client{ClientID: "app", ClientSecret: res.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := info.Active(); !ok || a.SecretID != res.Secret.SecretID || info.ValidCount() != 2 {
			t.Errorf("describe with the mock secret: %+v", info)
		}
		if err := p.Verify(ctx, c, res.ClientSecret); err != nil {
			t.Errorf("the mock secret is not accepted: %v", err)
		}
		if err := p.Verify(ctx, c, credential.NewSecret("wrong")); !errors.Is(err, provider.ErrUnauthorized) {
			t.Errorf("a wrong real secret passed: %v", err)
		}
		if err := p.Revoke(ctx, c, "old"); err != nil {
			t.Errorf("revoke: %v", err)
		}
		if err := p.Revoke(ctx, c, ""); !errors.Is(err, provider.ErrBadRequest) {
			t.Errorf("revoke of no id: %v", err)
		}
		for _, call := range svc.calls {
			if call == "create" || call == "revoke" {
				t.Errorf("retires %v: the service was asked to %s", retires, call)
			}
		}
		if _, err := p.Describe(ctx, provider.Client{ClientID: "other", ClientSecret: res.ClientSecret}); !errors.Is(err, provider.ErrUnauthorized) {
			t.Errorf("a mock secret described another client: %v", err)
		}
	}
}
