package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// efxError is the body of every REST error outside the token endpoint.
type efxError struct {
	EfxErrorCode           string         `json:"efxErrorCode"`
	Description            string         `json:"description"`
	AdditionalErrorDetails map[string]any `json:"additionalErrorDetails"`
}

// oauthErrorBody is the RFC 6749 error body of the token endpoint.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
	Scope       string `json:"scope"`
}

// renewResponse is the REST renew's 201 body.
type renewResponse struct {
	ClientID       string          `json:"clientId"`
	Secret         newSecretJSON   `json:"secret"`
	PreviousSecret *prevSecretJSON `json:"previousSecret,omitempty"`
}

type newSecretJSON struct {
	SecretID     string         `json:"secretId"`
	ClientSecret string         `json:"clientSecret"`
	Status       equifax.Status `json:"status"`
	Hint         string         `json:"hint,omitempty"`
	CreatedAt    time.Time      `json:"createdAt"`
	ExpiresAt    time.Time      `json:"expiresAt"`
}

type prevSecretJSON struct {
	SecretID    string         `json:"secretId"`
	Status      equifax.Status `json:"status"`
	ExpiresAt   time.Time      `json:"expiresAt"`
	GraceEndsAt *time.Time     `json:"graceEndsAt,omitempty"`
}

// renewBody is the REST renew's request body.
type renewBody struct {
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
	Force              *bool  `json:"force"`
}

func jsonReply(status int, v any) *reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic("emulator: encoding JSON: " + err.Error())
	}
	rp := &reply{status: status, body: b}
	rp.set("Content-Type", "application/json")
	return rp
}

// restError renders a contract error as the REST API does.
func restError(ae *apiError) *reply {
	var rp *reply
	if ae.oauth {
		rp = jsonReply(ae.status, oauthErrorBody{Error: ae.code, ErrorDescription: ae.desc})
		rp.set("Cache-Control", "no-store")
		rp.set("Pragma", "no-cache")
		if ae.status == http.StatusUnauthorized {
			rp.set("WWW-Authenticate", `Basic realm="equifax"`)
		}
	} else {
		details := map[string]any{}
		if !ae.eligibleAt.IsZero() {
			details["eligibleAt"] = ae.eligibleAt.UTC().Format(time.RFC3339)
		}
		if ae.retryAfter > 0 {
			details["retryAfterSeconds"] = retryAfterSeconds(ae.retryAfter)
		}
		rp = jsonReply(ae.status, efxError{EfxErrorCode: ae.code, Description: ae.desc, AdditionalErrorDetails: details})
		if ae.status == http.StatusUnauthorized {
			if ae.code == errTokenMissing.code {
				rp.set("WWW-Authenticate", `Bearer realm="equifax"`)
			} else {
				rp.set("WWW-Authenticate", `Bearer realm="equifax", error="invalid_token"`)
			}
		}
	}
	if ae.retryAfter > 0 {
		rp.set("Retry-After", strconv.FormatInt(retryAfterSeconds(ae.retryAfter), 10))
	}
	if ae.allow != "" {
		rp.set("Allow", ae.allow)
	}
	rp.code = ae.code
	return rp
}

func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func methodNotAllowed(allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, code: "405.01", desc: "method not allowed", allow: allow}
}

var errNoResource = &apiError{status: http.StatusNotFound, code: "404.01", desc: "no such resource"}

// restMalformed is a 200 whose JSON body is cut short.
func restMalformed() *reply {
	rp := &reply{status: http.StatusOK, body: []byte(`{"efx":"truncated`), code: "malformed"}
	rp.set("Content-Type", "application/json")
	return rp
}

// readBody reads at most maxBody bytes; too long is an error.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errBodyTooLarge
	}
	return b, nil
}

var errBodyTooLarge = errors.New("request body too large")

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// bearerToken returns the request's bearer token, or "" when it has none.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func (e *Emulator) routeToken(r *http.Request) routed {
	rt := routed{op: OpToken, fail: restError, malformed: restMalformed}
	if r.Method != http.MethodPost {
		rt.rep = restError(methodNotAllowed(http.MethodPost))
		return rt
	}
	if u, _, ok := r.BasicAuth(); ok {
		rt.client = unescapeCredential(u)
	}
	rt.run = func() *reply { return e.restToken(r) }
	return rt
}

// unescapeCredential undoes the form-encoding RFC 6749 section 2.3.1 asks
// clients to apply to the id and secret before Basic authentication.
func unescapeCredential(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func (e *Emulator) restToken(r *http.Request) *reply {
	fail := func(ae *apiError) *reply { return restError(ae) }
	if r.URL.RawQuery != "" {
		return fail(oauthError(http.StatusBadRequest, "invalid_request", "parameters must be sent in the request body"))
	}
	if mediaType(r) != "application/x-www-form-urlencoded" {
		return fail(oauthError(http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"))
	}
	body, err := readBody(r)
	if err != nil {
		return fail(oauthError(http.StatusBadRequest, "invalid_request", "request body unreadable or too large"))
	}
	form, err := parseTokenForm(body)
	if err != nil {
		return fail(oauthError(http.StatusBadRequest, "invalid_request", err.Error()))
	}
	var id, secretValue string
	if u, p, ok := r.BasicAuth(); ok {
		id, secretValue = unescapeCredential(u), unescapeCredential(p)
		if form.Has("client_secret") {
			return fail(oauthError(http.StatusBadRequest, "invalid_request", "use one client authentication method, not two"))
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return fail(oauthError(http.StatusBadRequest, "invalid_request", "client_id does not match the authenticated client"))
		}
	} else if r.Header.Get("Authorization") != "" {
		return fail(oauthError(http.StatusUnauthorized, "invalid_client", "unsupported client authentication scheme"))
	} else {
		id, secretValue = form.Get("client_id"), form.Get("client_secret")
		if id == "" || secretValue == "" {
			return fail(oauthError(http.StatusUnauthorized, "invalid_client", "client authentication is required"))
		}
	}
	g, ae := e.issueToken(id, secretValue, form.Get("grant_type"), form.Get("scope"))
	if ae != nil {
		rp := fail(ae)
		rp.client = id
		return rp
	}
	rp := jsonReply(http.StatusOK, tokenResponse{
		AccessToken: g.accessToken,
		TokenType:   "Bearer",
		ExpiresIn:   g.expiresIn,
		IssuedAt:    strconv.FormatInt(g.issuedAt.UnixMilli(), 10),
		Scope:       g.scope,
	})
	rp.set("Cache-Control", "no-store")
	rp.set("Pragma", "no-cache")
	rp.client = id
	return rp
}

// parseTokenForm parses a token request body; a repeated parameter is an
// error (RFC 6749 section 3.2).
func parseTokenForm(body []byte) (url.Values, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("request body is not a valid form")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, errors.New("parameter " + strconv.Quote(k) + " is repeated")
		}
	}
	return form, nil
}

// restPath splits /business/security/v1/clients/{clientId}/secrets[/{secretId}].
func restPath(r *http.Request) (clientID, secretID string, item, ok bool) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, ClientsPath) {
		return "", "", false, false
	}
	segs := strings.Split(p[len(ClientsPath):], "/")
	if len(segs) < 2 || len(segs) > 3 || segs[1] != "secrets" {
		return "", "", false, false
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return "", "", false, false
		}
		segs[i] = u
	}
	if segs[0] == "" {
		return "", "", false, false
	}
	if len(segs) == 3 {
		if segs[2] == "" {
			return "", "", false, false
		}
		return segs[0], segs[2], true, true
	}
	return segs[0], "", false, true
}

func (e *Emulator) routeREST(r *http.Request) routed {
	rt := routed{fail: restError, malformed: restMalformed}
	clientID, secretID, item, ok := restPath(r)
	if !ok {
		rt.rep = restError(errNoResource)
		return rt
	}
	rt.client = clientID
	bearer := bearerToken(r)
	switch {
	case !item && r.Method == http.MethodGet:
		rt.op = OpDescribe
		rt.run = func() *reply {
			info, ae := e.describe(bearer, clientID)
			if ae != nil {
				return restError(ae)
			}
			return jsonReply(http.StatusOK, info)
		}
	case !item && r.Method == http.MethodPost:
		rt.op = OpRenew
		rt.run = func() *reply { return e.restRenew(r, bearer, clientID) }
	case item && r.Method == http.MethodDelete:
		rt.op = OpRevoke
		rt.run = func() *reply {
			if _, ae := e.revoke(bearer, clientID, secretID); ae != nil {
				return restError(ae)
			}
			return &reply{status: http.StatusNoContent}
		}
	case item:
		rt.rep = restError(methodNotAllowed(http.MethodDelete))
	default:
		rt.rep = restError(methodNotAllowed("GET, POST"))
	}
	return rt
}

func (e *Emulator) restRenew(r *http.Request, bearer, clientID string) *reply {
	// Authenticate before looking at the request, as a gateway would.
	if ae := e.authorize(bearer, clientID); ae != nil {
		return restError(ae)
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return restError(badRequest("the Idempotency-Key header is required"))
	}
	body, err := readBody(r)
	if err != nil {
		return restError(badRequest("request body unreadable or larger than %d bytes", maxBody))
	}
	if len(bytes.TrimSpace(body)) > 0 && mediaType(r) != "application/json" {
		return restError(badRequest("Content-Type must be application/json"))
	}
	p, ae := parseRenewJSON(body)
	if ae != nil {
		return restError(ae)
	}
	p.idempotencyKey = key
	res, replayed, ae := e.renew(bearer, clientID, p)
	if ae != nil {
		return restError(ae)
	}
	rp := jsonReply(http.StatusCreated, restRenewBody(res))
	rp.set("Location", ClientsPath+url.PathEscape(clientID)+"/secrets/"+url.PathEscape(res.secret.SecretID))
	rp.set("Cache-Control", "no-store")
	if replayed {
		rp.set("Idempotent-Replayed", "true")
	}
	return rp
}

func restRenewBody(res renewResult) renewResponse {
	out := renewResponse{
		ClientID: res.clientID,
		Secret: newSecretJSON{
			SecretID:     res.secret.SecretID,
			ClientSecret: res.value,
			Status:       res.secret.Status,
			Hint:         res.secret.Hint,
			CreatedAt:    res.secret.CreatedAt,
			ExpiresAt:    res.secret.ExpiresAt,
		},
	}
	if p := res.previous; p != nil {
		out.PreviousSecret = &prevSecretJSON{SecretID: p.SecretID, Status: p.Status, ExpiresAt: p.ExpiresAt, GraceEndsAt: p.GraceEndsAt}
	}
	return out
}

// parseRenewJSON parses a renew body: empty, or one JSON object with only the
// known fields.
func parseRenewJSON(body []byte) (renewParams, *apiError) {
	var p renewParams
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var rb renewBody
	if err := dec.Decode(&rb); err != nil {
		return p, badRequest("request body is not a valid renew request: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, badRequest("request body holds more than one JSON value")
	}
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return p, badRequest("request body must be a JSON object")
	}
	if rb.GracePeriodSeconds != nil {
		g := *rb.GracePeriodSeconds
		if g < 0 || g > int64((1<<62)/time.Second) {
			return p, badRequest("gracePeriodSeconds is out of range")
		}
		p.grace, p.graceSet = time.Duration(g)*time.Second, true
	}
	if rb.Force != nil {
		p.force = *rb.Force
	}
	return p, nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "wrong type for field " + strconv.Quote(te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return "invalid JSON"
}

// authorize checks a bearer token for a management call on clientID.
func (e *Emulator) authorize(bearer, clientID string) *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ae := e.authorizeLocked(bearer, clientID)
	return ae
}
