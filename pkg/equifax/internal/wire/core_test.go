package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

var coreCreds = equifax.Credentials{ClientID: "0oa-core", ClientSecret: credential.NewSecret("core-secret")}

// fakeFetch hands out numbered tokens and counts the scopes asked for.
type fakeFetch struct {
	mu     sync.Mutex
	n      int
	scopes []string
	err    error
}

func (f *fakeFetch) fetch(_ context.Context, _ equifax.Credentials, scope string) (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, scope)
	if f.err != nil {
		return nil, f.err
	}
	f.n++
	return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", f.n), Expiry: time.Now().Add(time.Hour)}, nil
}

func TestNewCoreDefaults(t *testing.T) {
	c := NewCore(Config{}, nil)
	if c.Scope != DefaultManagementScope || c.timeout != DefaultTimeout || c.tokens.Delta != DefaultTokenExpiryDelta || c.MaxBody != DefaultMaxBodyBytes {
		t.Fatalf("defaults = scope %q timeout %v delta %v max %d", c.Scope, c.timeout, c.tokens.Delta, c.MaxBody)
	}
	if _, ok := c.HTTP.Transport.(*Transport); !ok {
		t.Fatalf("transport %T is not the recording one", c.HTTP.Transport)
	}
	c = NewCore(Config{Scope: "s", Timeout: time.Second, TokenExpiryDelta: 2 * time.Second, MaxBodyBytes: 10}, nil)
	if c.Scope != "s" || c.timeout != time.Second || c.tokens.Delta != 2*time.Second || c.MaxBody != 10 {
		t.Fatalf("set values lost: scope %q timeout %v delta %v max %d", c.Scope, c.timeout, c.tokens.Delta, c.MaxBody)
	}
}

func TestCoreTokenIsCachedForManage(t *testing.T) {
	f := &fakeFetch{}
	c := NewCore(Config{}, f.fetch)
	ctx := context.Background()
	if _, _, err := c.Token(ctx, equifax.Credentials{ClientID: "x"}, ""); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("token without a secret: %v", err)
	}
	tok, scope, err := c.Token(ctx, coreCreds, "")
	if err != nil || tok.AccessToken != "tok-1" || scope != DefaultManagementScope {
		t.Fatalf("token = %v, %q, %v", tok, scope, err)
	}
	var used []string
	err = c.Manage(ctx, OpDescribe, coreCreds, nil, func(ctx context.Context, a *Attempt, token string) error {
		if AttemptFrom(ctx) != a || a.CorrelationID == "" {
			t.Error("the attempt is not in the context")
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the attempt has no deadline")
		}
		used = append(used, token)
		return nil
	})
	if err != nil || len(used) != 1 || used[0] != "tok-1" || f.n != 1 {
		t.Fatalf("manage used %v after %d fetches: %v", used, f.n, err)
	}
}

func TestCoreManageReplacesARejectedTokenOnce(t *testing.T) {
	rejected := &equifax.Error{Op: OpDescribe, Kind: equifax.ErrUnauthorized, Code: "401.01"}
	cases := []struct {
		name    string
		errs    []error
		tokens  []string
		wantErr error
	}{
		{"accepted", []error{nil}, []string{"tok-1"}, nil},
		{"rejected then accepted", []error{rejected, nil}, []string{"tok-1", "tok-2"}, nil},
		{"rejected twice", []error{rejected, rejected, nil}, []string{"tok-1", "tok-2"}, equifax.ErrUnauthorized},
		{"other 401 kept", []error{&equifax.Error{Kind: equifax.ErrUnauthorized, Code: "401.02"}, nil}, []string{"tok-1"}, equifax.ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFetch{}
			c := NewCore(Config{Policy: Policy{MaxRetries: -1}}, f.fetch)
			var used []string
			err := c.Manage(context.Background(), OpDescribe, coreCreds, nil, func(ctx context.Context, a *Attempt, token string) error {
				err := tc.errs[len(used)]
				used = append(used, token)
				return err
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if fmt.Sprint(used) != fmt.Sprint(tc.tokens) {
				t.Fatalf("tokens used %v, want %v", used, tc.tokens)
			}
		})
	}
}

func TestCoreManageFetchFails(t *testing.T) {
	f := &fakeFetch{err: &equifax.Error{Op: OpToken, Kind: equifax.ErrUnauthorized, Code: "invalid_client"}}
	c := NewCore(Config{Scope: "mgmt"}, f.fetch)
	called := false
	err := c.Manage(context.Background(), OpRevoke, coreCreds, nil, func(context.Context, *Attempt, string) error {
		called = true
		return nil
	})
	if !errors.Is(err, equifax.ErrUnauthorized) || called {
		t.Fatalf("err = %v, called %v", err, called)
	}
	if len(f.scopes) != 1 || f.scopes[0] != "mgmt" {
		t.Fatalf("fetched for scopes %v", f.scopes)
	}
}

func TestChecks(t *testing.T) {
	cases := []struct {
		name string
		err  error
		op   string
	}{
		{"renew without creds", CheckRenew(equifax.Credentials{}, equifax.RenewRequest{IdempotencyKey: "k"}), OpRenew},
		{"renew without key", CheckRenew(coreCreds, equifax.RenewRequest{IdempotencyKey: " "}), OpRenew},
		{"renew negative grace", CheckRenew(coreCreds, equifax.RenewRequest{IdempotencyKey: "k", GracePeriod: -time.Second}), OpRenew},
		{"revoke without creds", CheckRevoke(equifax.Credentials{ClientID: "x"}, "sec-1"), OpRevoke},
		{"revoke without id", CheckRevoke(coreCreds, ""), OpRevoke},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := AsError(tc.err)
			if !ok || !errors.Is(tc.err, equifax.ErrBadRequest) || e.Op != tc.op {
				t.Fatalf("err = %v", tc.err)
			}
		})
	}
	if err := CheckRenew(coreCreds, equifax.RenewRequest{IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckRevoke(coreCreds, "sec-1"); err != nil {
		t.Fatal(err)
	}
}

func TestClean(t *testing.T) {
	if got := Clean("a\x00b\nc\x7fd\ufffde", 100); got != "abcde" {
		t.Errorf("Clean = %q", got)
	}
	if got := Clean("abcdef", 3); got != "abc" {
		t.Errorf("Clean = %q", got)
	}
}
