package entraemu_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
)

// msalToken asks the emulator for a Graph token as Microsoft's own
// library does (MSAL for Go: tenant discovery, then the client credentials
// grant with the secret), each time with a new client so nothing comes
// from MSAL's cache.
func msalToken(t *testing.T, srv *httptest.Server, tenant, clientID, secret string) (string, error) {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(srv.URL+"/"+tenant, clientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.AcquireTokenByCredential(context.Background(), []string{entraemu.GraphScope})
	return res.AccessToken, err
}

// TestMSAL: MSAL for Go, Microsoft's confidential client library, gets a
// Graph token from the emulator with a valid secret, and the token works
// on Graph; it is refused a wrong secret with the identity platform's
// AADSTS7000215, and a new password until it has propagated.
func TestMSAL(t *testing.T) {
	t.Parallel()
	e := entraemu.New(entraemu.Options{Propagation: 10 * time.Second})
	srv := httptest.NewTLSServer(e)
	t.Cleanup(srv.Close)
	a, err := e.SeedApp(entraemu.SeedSpec{DisplayName: "api", Password: "first-value", PasswordName: "first"})
	if err != nil {
		t.Fatal(err)
	}
	graph := func(method, path, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tok, err := msalToken(t, srv, e.Tenant(), a.AppID, "first-value")
	if err != nil {
		t.Fatalf("MSAL with the valid secret: %v", err)
	}
	if st, body := graph("GET", "/v1.0/applications/"+a.ObjectID, tok, ""); st != 200 {
		t.Fatalf("Graph with MSAL's token: %d %s", st, body)
	}

	_, err = msalToken(t, srv, e.Tenant(), a.AppID, "wrong-value")
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Resp.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("MSAL with a wrong secret: %v", err)
	}

	st, body := graph("POST", "/v1.0/applications/"+a.ObjectID+"/addPassword", tok, `{"passwordCredential":{"displayName":"second"}}`)
	if st != 200 {
		t.Fatalf("addPassword: %d %s", st, body)
	}
	secret := body[strings.Index(body, `"secretText":"`)+len(`"secretText":"`):]
	secret = secret[:strings.IndexByte(secret, '"')]
	if _, err := msalToken(t, srv, e.Tenant(), a.AppID, secret); err == nil {
		t.Error("MSAL got a token with a password not yet propagated")
	}
	e.Advance(10 * time.Second)
	if _, err := msalToken(t, srv, e.Tenant(), a.AppID, secret); err != nil {
		t.Errorf("MSAL with the propagated password: %v", err)
	}
	if n := e.Calls("token"); n < 4 {
		t.Errorf("%d token requests reached the emulator", n)
	}
}
