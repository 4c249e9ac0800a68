package entraemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client assertion constants of the workload identity federation flow.
const (
	AssertionType     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	AssertionAudience = "api://AzureADTokenExchange"
)

// serveToken is the v2.0 token endpoint: POST /{tenant}/oauth2/v2.0/token.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request, reqID string) {
	now := e.Now()
	if f := e.takeFault("token"); e.applyFault(w, r, "token", reqID, f) {
		return
	}
	e.count("token")
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if !strings.EqualFold(tenant, e.opts.TenantID) {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant), 90002, reqID, now)
		return
	}
	if r.Method != http.MethodPost {
		writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561, reqID, now)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.", 900144, reqID, now)
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", gt), 70003, reqID, now)
		return
	}
	if !graphScope(f.Get("scope")) {
		writeTokenError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")), 1002012, reqID, now)
		return
	}
	clientID := f.Get("client_id")
	e.mu.Lock()
	a, ok := e.byAppID[clientID]
	e.mu.Unlock()
	if !ok {
		writeTokenError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", clientID, e.opts.TenantID), 700016, reqID, now)
		return
	}
	secret, assertion := f.Get("client_secret"), f.Get("client_assertion")
	switch {
	case secret != "" && assertion != "":
		writeTokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", 700025, reqID, now)
		return
	case secret != "":
		e.mu.Lock()
		_, st := e.match(a, secret)
		e.mu.Unlock()
		switch st {
		case matchExpired:
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000222: The provided client secret keys for app '%s' are expired.", clientID), 7000222, reqID, now)
			return
		case matchOK:
		default:
			// A password still replicating is refused exactly like a
			// wrong one.
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID), 7000215, reqID, now)
			return
		}
	case assertion != "":
		if f.Get("client_assertion_type") != AssertionType {
			writeTokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS700024: client_assertion_type must be "+AssertionType+".", 700024, reqID, now)
			return
		}
		if msg, code := e.checkAssertion(a, assertion, now); msg != "" {
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", msg, code, reqID, now)
			return
		}
	default:
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", 7000218, reqID, now)
		return
	}
	tok := newOpaque("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.emu.")
	e.mu.Lock()
	e.tokens[tok] = token{appID: clientID, expires: now.Add(e.opts.TokenLifetime)}
	e.mu.Unlock()
	e.logf("entra token %s", clientID)
	secs := int(e.opts.TokenLifetime/time.Second) - 1
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

// graphScope says whether a client-credentials scope asks for Graph: its
// .default scope, with perhaps the OpenID Connect scopes that the
// identity platform ignores in this flow (MSAL adds openid,
// offline_access and profile to every request).
func graphScope(scope string) bool {
	graph := 0
	for _, s := range strings.Fields(scope) {
		switch s {
		case GraphScope:
			graph++
		case "openid", "offline_access", "profile", "email":
		default:
			return false
		}
	}
	return graph == 1
}

// serveOpenIDConfiguration answers GET /{tenant}/v2.0/.well-known/openid-configuration,
// the tenant's OpenID Connect discovery document, with the endpoints on
// the emulator's own origin (MSAL reads it before asking for a token).
func (e *Emulator) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request, reqID string) {
	now := e.Now()
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/v2.0/.well-known/openid-configuration")
	if !strings.EqualFold(tenant, e.opts.TenantID) {
		writeTokenError(w, http.StatusBadRequest, "invalid_tenant", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant), 90002, reqID, now)
		return
	}
	if r.Method != http.MethodGet {
		writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts GET requests.", 900561, reqID, now)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
	})
}

// checkAssertion verifies a federated client assertion: signed by the key
// of a federated credential of a whose issuer and subject it names, for
// the token exchange audience, within its time range.
func (e *Emulator) checkAssertion(a *app, raw string, now time.Time) (string, int) {
	e.mu.Lock()
	feds := append([]Federated(nil), a.federated...)
	e.mu.Unlock()
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil {
		return "AADSTS50027: JWT token is invalid or malformed.", 50027
	}
	for _, fed := range feds {
		if fed.Issuer != claims.Issuer || fed.Subject != claims.Subject {
			continue
		}
		var verified jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(raw, &verified, func(*jwt.Token) (any, error) { return fed.Key, nil },
			jwt.WithValidMethods([]string{"RS256", "ES256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired())
		switch {
		case err != nil && strings.Contains(err.Error(), "expired"):
			return "AADSTS700024: Client assertion is not within its valid time range.", 700024
		case err != nil:
			return "AADSTS700211: No matching federated identity record found for presented assertion issuer '" + claims.Issuer + "'.", 700211
		case !slices.Contains(verified.Audience, AssertionAudience):
			return "AADSTS700212: No matching federated identity record found for presented assertion audience.", 700212
		}
		return "", 0
	}
	return "AADSTS700213: No matching federated identity record found for presented assertion subject '" + claims.Subject + "'.", 700213
}

func (e *Emulator) count(op string) {
	e.mu.Lock()
	e.calls[op]++
	e.mu.Unlock()
}

// writeTokenError answers as the identity platform does.
func writeTokenError(w http.ResponseWriter, status int, code, desc string, aadsts int, reqID string, now time.Time) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc + "\r\nTrace ID: " + reqID + "\r\nCorrelation ID: " + reqID + "\r\nTimestamp: " + now.Format("2006-01-02 15:04:05Z"),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          reqID,
		"correlation_id":    reqID,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
