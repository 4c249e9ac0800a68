package mocksafe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/conformance"
	"github.com/credrotate/credrotate/pkg/equifax/mocksafe"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/equifax/soap"
)

func restProvider(t *testing.T, cfg conformance.Config) equifax.Provider {
	p, err := rest.New(rest.Options{BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func soapProvider(t *testing.T, cfg conformance.Config) equifax.Provider {
	p, err := soap.New(soap.Options{URL: cfg.SOAPURL, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNothingReachesTheServer runs the mock-safe provider over both real
// transports against the emulator: reads reach it, renew and revoke never do.
func TestNothingReachesTheServer(t *testing.T) {
	for name, np := range map[string]conformance.NewProvider{"rest": restProvider, "soap": soapProvider} {
		t.Run(name, func(t *testing.T) {
			logger, hook := logtest.NewNullLogger()
			conformance.MockSafe(t, np, func(t *testing.T, real equifax.Provider) equifax.Provider {
				return mocksafe.New(real, mocksafe.Options{Logger: logrus.NewEntry(logger)})
			})
			checkLogs(t, hook)
		})
	}
}

func checkLogs(t *testing.T, hook *logtest.Hook) {
	t.Helper()
	entries := hook.AllEntries()
	if len(entries) == 0 {
		t.Fatal("no log lines")
	}
	for _, e := range entries {
		if e.Data["mock_safe"] != true || !strings.Contains(e.Message, mocksafe.NothingChanged) {
			t.Errorf("log line without the mock-safe marks: %q %v", e.Message, e.Data)
		}
		s, _ := e.String()
		if strings.Contains(s, mocksafe.SecretPrefix) || strings.Contains(s, "canary") {
			t.Errorf("log line leaks a secret: %s", s)
		}
	}
}

// fake is a read-only provider that fails the test on any mutating call.
type fake struct {
	t     *testing.T
	info  equifax.ClientInfo
	reads int
}

func (f *fake) Token(context.Context, equifax.Credentials, string) (equifax.Token, error) {
	f.reads++
	return equifax.Token{AccessToken: credential.NewSecret("real-token"), TokenType: "Bearer"}, nil
}

func (f *fake) Describe(context.Context, equifax.Credentials) (equifax.ClientInfo, error) {
	f.reads++
	return f.info, nil
}

func (f *fake) Renew(context.Context, equifax.Credentials, equifax.RenewRequest) (equifax.RenewResult, error) {
	f.t.Fatal("renew reached the real provider")
	return equifax.RenewResult{}, nil
}

func (f *fake) Revoke(context.Context, equifax.Credentials, string) error {
	f.t.Fatal("revoke reached the real provider")
	return nil
}

func TestRenewIsPlausibleAndReplays(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	expires := now.Add(3 * 24 * time.Hour)
	f := &fake{t: t, info: equifax.ClientInfo{ClientID: "c1", Secrets: []equifax.SecretInfo{
		{SecretID: "sec-1", Status: equifax.StatusActive, CreatedAt: now.Add(-177 * 24 * time.Hour), ExpiresAt: expires},
	}}}
	logger, hook := logtest.NewNullLogger()
	p := mocksafe.New(f, mocksafe.Options{Logger: logrus.NewEntry(logger), Now: func() time.Time { return now }})
	ctx := context.Background()
	creds := equifax.Credentials{ClientID: "c1", ClientSecret: credential.NewSecret("canary-real")}

	if _, err := p.Renew(ctx, creds, equifax.RenewRequest{}); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("renew without a key: %v", err)
	}
	req := equifax.RenewRequest{IdempotencyKey: equifax.IdempotencyKey("c1", "sec-1"), GracePeriod: 7 * 24 * time.Hour}
	res, err := p.Renew(ctx, creds, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Secret.SecretID, mocksafe.SecretIDPrefix) || !mocksafe.IsMockSecret(res.ClientSecret) ||
		res.Secret.Hint != mocksafe.Hint || !res.Secret.ExpiresAt.Equal(now.Add(mocksafe.DefaultSecretLifetime)) {
		t.Fatalf("new secret = %+v", res.Secret)
	}
	// The grace ends when the old secret expires, as at Equifax.
	if pr := res.PreviousSecret; pr == nil || pr.SecretID != "sec-1" || pr.Status != equifax.StatusRetiring || !pr.GraceEndsAt.Equal(expires) {
		t.Fatalf("previous = %+v", res.PreviousSecret)
	}
	again, err := p.Renew(ctx, creds, req)
	if err != nil || again.Secret.SecretID != res.Secret.SecretID || !again.ClientSecret.Equal(res.ClientSecret) {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	other, _ := p.Renew(ctx, creds, equifax.RenewRequest{IdempotencyKey: "another"})
	if other.Secret.SecretID == res.Secret.SecretID {
		t.Fatal("another key replayed")
	}

	// The mock secret gets a mock token and a describe, without a call.
	reads := f.reads
	mock := equifax.Credentials{ClientID: "c1", ClientSecret: res.ClientSecret}
	tok, err := p.Token(ctx, mock, "scope")
	if err != nil || !strings.HasPrefix(tok.AccessToken.Reveal(), mocksafe.TokenPrefix) {
		t.Fatalf("token = %+v, %v", tok, err)
	}
	info, err := p.Describe(ctx, mock)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := info.Active(); a.SecretID != res.Secret.SecretID || info.ValidCount() != 2 {
		t.Fatalf("describe of the mock secret = %+v", info)
	}
	if f.reads != reads {
		t.Fatal("a mock secret reached the real provider")
	}
	unknown := equifax.Credentials{ClientID: "c1", ClientSecret: credential.NewSecret(mocksafe.SecretPrefix + "from-elsewhere")}
	if _, err := p.Describe(ctx, unknown); !errors.Is(err, equifax.ErrUnauthorized) {
		t.Fatalf("describe of an unknown mock secret: %v", err)
	}

	if err := p.Revoke(ctx, creds, "sec-1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(ctx, creds, ""); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("revoke without an id: %v", err)
	}
	checkLogs(t, hook)
}
