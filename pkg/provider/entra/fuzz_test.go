package entra_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
)

// FuzzHostileAnswers: whatever the token endpoint and Graph answer, every
// operation returns a value or a typed *provider.Error, never panics, and
// never puts the secret into the error.
func FuzzHostileAnswers(f *testing.F) {
	f.Add(200, `{"access_token":"t","expires_in":3600}`, 200, `{"id":"o","appId":"c","passwordCredentials":[{"keyId":"k","endDateTime":"bad","displayName":null}]}`)
	f.Add(400, `{"error":"invalid_client","error_description":"AADSTS7000215: x\r\nTrace","error_codes":[7000215]}`, 500, `<html>`)
	f.Add(200, `{"access_token":"t"}`, 429, `{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"r"}}}`)
	f.Add(200, `{"access_token":"t"}`, 200, `{"id":"o","passwordCredentials":{}}`)
	f.Add(200, `{"access_token":"t"}`, 400, `{"error":{"code":"CredentialInvalidLifetimeAsPerAppPolicy","message":"m"}}`)
	const secret = "fuzz-secret-value"
	f.Fuzz(func(t *testing.T, tokenStatus int, tokenBody string, graphStatus int, graphBody string) {
		if tokenStatus < 100 || tokenStatus > 599 || graphStatus < 100 || graphStatus > 599 || (graphStatus >= 300 && graphStatus < 400) || (tokenStatus >= 300 && tokenStatus < 400) {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/token") {
				w.WriteHeader(tokenStatus)
				_, _ = w.Write([]byte(tokenBody))
				return
			}
			w.WriteHeader(graphStatus)
			_, _ = w.Write([]byte(graphBody))
		}))
		defer srv.Close()
		p, err := entra.New(entra.Options{TenantID: "t", GraphURL: srv.URL, LoginURL: srv.URL, HTTPClient: srv.Client(), MaxRetries: -1, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		c := provider.Client{ClientID: "c", ClientSecret: credential.NewSecret(secret)}
		check := func(err error) {
			if err == nil {
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *provider.Error: %v", err, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the secret appears in %q", err)
			}
		}
		_, err = p.Describe(ctx, c)
		check(err)
		_, err = p.Create(ctx, c, provider.CreateRequest{IdempotencyKey: "k"})
		check(err)
		check(p.Verify(ctx, c, credential.NewSecret(secret)))
		check(p.Revoke(ctx, c, "k"))
	})
}
