package localhub

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// callerKind is how a request authenticated.
type callerKind int

const (
	kindAnonymous    callerKind = iota // no credential, accepted because Token is ""
	kindToken                          // the configured token (or any, when Token is "")
	kindInstallation                   // an installation token minted through App auth
	kindApp                            // an App JWT
)

// call is one authenticated API request.
type call struct {
	kind    callerKind
	login   string
	pattern string
}

// installToken is an installation access token minted for the App.
type installToken struct {
	expires time.Time
}

// installationTokenTTL is how long installation tokens live, as on GitHub.
const installationTokenTTL = time.Hour

// credential extracts the credential of an Authorization header: "token X",
// "Bearer X", or Basic with X as the password.
func credential(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		return strings.TrimSpace(rest), true
	case "basic":
		_, pass, ok := r.BasicAuth()
		return pass, ok
	}
	return "", true
}

func looksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2 && strings.HasPrefix(tok, "eyJ")
}

// authenticate checks the request's credential and answers 401 itself when
// it is missing or wrong.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*call, bool) {
	tok, present := credential(r)
	if present && looksLikeJWT(tok) && s.opts.AppID != 0 {
		if err := s.verifyJWT(tok); err != nil {
			writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded: "+err.Error(), nil)
			return nil, false
		}
		return &call{kind: kindApp, login: s.opts.AppSlug}, true
	}
	if present && s.validInstallationToken(tok) {
		return &call{kind: kindInstallation, login: s.opts.AppSlug + "[bot]"}, true
	}
	if s.opts.Token == "" {
		if !present {
			return &call{kind: kindAnonymous, login: s.opts.User}, true
		}
		return &call{kind: kindToken, login: s.opts.User}, true
	}
	if !present {
		writeError(w, http.StatusUnauthorized, "Requires authentication", nil)
		return nil, false
	}
	if !constantTimeEqual(tok, s.opts.Token) {
		writeError(w, http.StatusUnauthorized, "Bad credentials", nil)
		return nil, false
	}
	return &call{kind: kindToken, login: s.opts.User}, true
}

func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

func (s *Server) validInstallationToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.tokens[tok]
	return ok && time.Now().Before(it.expires)
}

// verifyJWT checks an App JWT the way GitHub does: RS256, signed by the
// App's key, iss naming the App, exp at most ten minutes ahead.
func (s *Server) verifyJWT(tok string) error {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return s.opts.AppPublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(time.Minute))
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return fmt.Errorf("'exp' claim is missing")
	}
	if time.Until(exp.Time) > 11*time.Minute {
		return fmt.Errorf("'exp' claim is too far in the future (at most 10 minutes)")
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.FormatInt(s.opts.AppID, 10) {
		return fmt.Errorf("'iss' claim %q does not name this App", iss)
	}
	return nil
}

// allowed reports whether the caller holds want on the named permission and
// otherwise answers 403 the way GitHub does, naming what is missing.
func (s *Server) allowed(w http.ResponseWriter, c *call, name string, want Access) bool {
	if s.opts.Permissions.allows(name, want) {
		return true
	}
	who := "personal access token"
	if c.kind == kindInstallation {
		who = "integration"
	}
	w.Header().Set("X-Accepted-GitHub-Permissions", name+"="+string(want))
	writeError(w, http.StatusForbidden, fmt.Sprintf("Resource not accessible by %s (the token needs %s: %s)", who, name, want), nil)
	return false
}

func (s *Server) userJSON(u urls, login string) map[string]any {
	typ, html := "User", u.web+"/"+escapeLogin(login)
	if slug, ok := strings.CutSuffix(login, "[bot]"); ok {
		typ, html = "Bot", u.web+"/apps/"+slug
	}
	api := u.api + "/users/" + escapeLogin(login)
	return map[string]any{
		"login": login, "id": idFor(login), "node_id": nodeID("U", login),
		"avatar_url": u.web + "/avatars/" + escapeLogin(login), "gravatar_id": "",
		"url": api, "html_url": html,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": typ, "site_admin": false,
	}
}

// escapeLogin makes a login fit a URL path: bots' "[bot]" suffix is
// escaped, as GitHub does.
func escapeLogin(login string) string {
	return strings.NewReplacer("[", "%5B", "]", "%5D").Replace(url.PathEscape(login))
}

// idFor derives a stable numeric id from a name.
func idFor(name string) int64 {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int64(h%90000000) + 10000000
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) {
	if c.kind == kindApp {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", nil)
		return
	}
	if c.kind == kindInstallation {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", nil)
		return
	}
	u := s.urlsFor(r)
	body := s.userJSON(u, c.login)
	for k, v := range map[string]any{
		"name": c.login, "company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": s.created.Format(time.RFC3339), "updated_at": s.created.Format(time.RFC3339),
		"private_gists": 0, "total_private_repos": 1, "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
		"two_factor_authentication": true,
	} {
		body[k] = v
	}
	w.Header().Set("X-OAuth-Scopes", "repo")
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) appJSON(u urls) map[string]any {
	perms := map[string]any{"metadata": "read"}
	for _, p := range []string{permContents, permIssues, permPulls} {
		if a := s.opts.Permissions.level(p); a != AccessNone {
			perms[p] = string(a)
		}
	}
	return map[string]any{
		"id": s.opts.AppID, "slug": s.opts.AppSlug, "node_id": nodeID("A", s.opts.AppSlug),
		"client_id": "Iv1.localhub" + strconv.FormatInt(s.opts.AppID, 10),
		"owner":     s.userJSON(u, s.opts.Owner), "name": s.opts.AppSlug,
		"description": "credrotate rotation bot (localhub)", "external_url": u.web,
		"html_url":   u.web + "/apps/" + s.opts.AppSlug,
		"created_at": s.created.Format(time.RFC3339), "updated_at": s.created.Format(time.RFC3339),
		"permissions": perms, "events": []string{}, "installations_count": 1,
	}
}

// requireApp answers 401 unless the request carries a valid App JWT.
func (s *Server) requireApp(w http.ResponseWriter, c *call) bool {
	if s.opts.AppID == 0 {
		writeError(w, http.StatusNotFound, "Not Found: this localhub has no GitHub App configured", nil)
		return false
	}
	if c.kind != kindApp {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded: this endpoint needs an App JWT", nil)
		return false
	}
	return true
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.requireApp(w, c) {
		return
	}
	writeJSON(w, http.StatusOK, s.appJSON(s.urlsFor(r)))
}

func (s *Server) installationJSON(u urls) map[string]any {
	app := s.appJSON(u)
	return map[string]any{
		"id": s.opts.InstallationID, "account": s.userJSON(u, s.opts.Owner),
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", u.api, s.opts.InstallationID),
		"repositories_url":  u.api + "/installation/repositories",
		"html_url":          fmt.Sprintf("%s/settings/installations/%d", u.web, s.opts.InstallationID),
		"app_id":            s.opts.AppID, "app_slug": s.opts.AppSlug, "target_id": idFor(s.opts.Owner),
		"target_type": "Organization", "permissions": app["permissions"], "events": []string{},
		"repository_selection": "selected", "single_file_name": nil,
		"created_at": s.created.Format(time.RFC3339), "updated_at": s.created.Format(time.RFC3339),
		"suspended_at": nil, "suspended_by": nil,
	}
}

func (s *Server) installationID(w http.ResponseWriter, r *http.Request) bool {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id != s.opts.InstallationID {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return false
	}
	return true
}

func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.requireApp(w, c) || !s.installationID(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(s.urlsFor(r)))
}

func (s *Server) getRepoInstallation(w http.ResponseWriter, r *http.Request, c *call) {
	if !strings.EqualFold(r.PathValue("owner"), s.opts.Owner) || !strings.EqualFold(r.PathValue("repo"), s.opts.Repo) {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	if !s.requireApp(w, c) {
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(s.urlsFor(r)))
}

func (s *Server) createInstallationToken(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.requireApp(w, c) || !s.installationID(w, r) {
		return
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		writeError(w, http.StatusInternalServerError, "minting a token: "+err.Error(), nil)
		return
	}
	tok := "ghs_" + hex.EncodeToString(buf)
	exp := time.Now().Add(installationTokenTTL).UTC().Truncate(time.Second)
	s.mu.Lock()
	for t, it := range s.tokens {
		if !time.Now().Before(it.expires) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = installToken{expires: exp}
	s.mu.Unlock()
	u := s.urlsFor(r)
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": tok, "expires_at": exp.Format(time.RFC3339),
		"permissions": s.appJSON(u)["permissions"], "repository_selection": "selected",
	})
}

// ParseAppKey reads a GitHub App's key from PEM: the public key, or the
// private key (as GitHub hands it out) from which the public key is taken.
func ParseAppKey(pemData []byte) (*rsa.PublicKey, error) {
	if pub, err := jwt.ParseRSAPublicKeyFromPEM(pemData); err == nil {
		return pub, nil
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM(pemData)
	if err != nil {
		return nil, fmt.Errorf("reading the App key: not an RSA public or private key in PEM form")
	}
	return &priv.PublicKey, nil
}

// listInstallationRepos serves GET /installation/repositories, the check an
// installation token can make of itself.
func (s *Server) listInstallationRepos(w http.ResponseWriter, r *http.Request, c *call) {
	if c.kind != kindInstallation {
		writeError(w, http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"total_count": 1, "repository_selection": "selected", "repositories": []any{s.repoJSON(r, s.urlsFor(r), false)},
	})
}
