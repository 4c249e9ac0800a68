package entraemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Graph's JSON date-time format, as it writes them.
const graphTime = "2006-01-02T15:04:05Z"

// serveGraph serves /v1.0/applications/{id}, /v1.0/applications(appId='…')
// and their addPassword and removePassword actions.
func (e *Emulator) serveGraph(w http.ResponseWriter, r *http.Request, reqID string) {
	now := e.Now()
	rest := strings.TrimPrefix(r.URL.Path, "/v1.0/")
	action := ""
	for _, a := range []string{"/addPassword", "/removePassword", "/microsoft.graph.addPassword", "/microsoft.graph.removePassword"} {
		if strings.HasSuffix(rest, a) {
			action = strings.TrimPrefix(a, "/microsoft.graph.")
			action = strings.TrimPrefix(action, "/")
			rest = strings.TrimSuffix(rest, a)
		}
	}
	op := action
	if op == "" {
		op = "get"
	}
	f := e.takeFault(op)
	if f != nil && !f.AfterHandling && e.applyFault(w, r, op, reqID, f) {
		return
	}
	e.count(op)
	caller, msg := e.bearer(r)
	if msg != "" {
		writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", msg, reqID, now)
		return
	}
	if owner, ok := ownedObjectsOf(rest); ok && action == "" {
		if r.Method != http.MethodGet {
			writeGraphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.", reqID, now)
			return
		}
		e.listOwned(w, r, caller, owner, reqID, now)
		return
	}
	var target *app
	e.mu.Lock()
	switch {
	case strings.HasPrefix(rest, "applications(appId='") && strings.HasSuffix(rest, "')"):
		id, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(rest, "applications(appId='"), "')"))
		target = e.byAppID[id]
	case strings.HasPrefix(rest, "applications/") && !strings.Contains(strings.TrimPrefix(rest, "applications/"), "/"):
		target = e.apps[strings.TrimPrefix(rest, "applications/")]
	default:
		e.mu.Unlock()
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest+"'.", reqID, now)
		return
	}
	allowed := target != nil && (target.AppID == caller || slices.Contains(target.Owners, caller))
	e.mu.Unlock()
	switch {
	case target == nil:
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", rest), reqID, now)
		return
	case !allowed:
		writeGraphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", reqID, now)
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		e.getApp(w, r, target)
	case action == "addPassword" && r.Method == http.MethodPost:
		if !e.addPasswordAction(w, r, target, reqID, now, f) {
			return
		}
	case action == "removePassword" && r.Method == http.MethodPost:
		if !e.removePasswordAction(w, r, target, reqID, now, f) {
			return
		}
	default:
		writeGraphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.", reqID, now)
	}
}

// bearer returns the caller's client id, or why its token is refused.
func (e *Emulator) bearer(r *http.Request) (string, string) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", "Access token is empty."
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tokens[tok]
	switch {
	case !ok:
		return "", "Access token validation failure. Invalid audience."
	case !e.now().Before(t.expires):
		return "", "Lifetime validation failed, the token is expired."
	}
	return t.appID, ""
}

// wirePassword is a passwordCredential as Graph writes it.
type wirePassword struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         string  `json:"endDateTime"`
	Hint                string  `json:"hint"`
	KeyID               string  `json:"keyId"`
	SecretText          *string `json:"secretText"`
	StartDateTime       string  `json:"startDateTime"`
}

func toWire(p Password) wirePassword {
	var name *string
	if p.DisplayName != "" {
		n := p.DisplayName
		name = &n
	}
	return wirePassword{DisplayName: name, EndDateTime: p.EndDateTime.UTC().Format(graphTime), Hint: p.Hint, KeyID: p.KeyID, StartDateTime: p.StartDateTime.UTC().Format(graphTime)}
}

func (e *Emulator) getApp(w http.ResponseWriter, r *http.Request, a *app) {
	all := []string{"id", "appId", "displayName", "passwordCredentials"}
	sel := all
	if s := r.URL.Query().Get("$select"); s != "" {
		sel = strings.Split(s, ",")
	}
	e.mu.Lock()
	snap := a.snapshot()
	e.mu.Unlock()
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications(" + strings.Join(sel, ",") + ")/$entity"}
	for _, f := range sel {
		switch f {
		case "id":
			out["id"] = snap.ObjectID
		case "appId":
			out["appId"] = snap.AppID
		case "displayName":
			out["displayName"] = snap.DisplayName
		case "passwordCredentials":
			pcs := make([]wirePassword, 0, len(snap.Passwords))
			for _, p := range snap.Passwords {
				pcs = append(pcs, toWire(p))
			}
			out["passwordCredentials"] = pcs
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeStrict decodes one JSON object, refusing unknown members as Graph
// refuses parameters an action does not declare.
func decodeStrict(r *http.Request, v any) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return err
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (e *Emulator) addPasswordAction(w http.ResponseWriter, r *http.Request, a *app, reqID string, now time.Time, f *Fault) bool {
	var body struct {
		PasswordCredential *struct {
			DisplayName   *string `json:"displayName"`
			EndDateTime   *string `json:"endDateTime"`
			StartDateTime *string `json:"startDateTime"`
		} `json:"passwordCredential"`
	}
	if err := decodeStrict(r, &body); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error(), reqID, now)
		return false
	}
	start, end := now, now.Add(2*365*24*time.Hour)
	name := ""
	if pc := body.PasswordCredential; pc != nil {
		if pc.DisplayName != nil {
			name = *pc.DisplayName
		}
		for _, d := range []struct {
			raw *string
			to  *time.Time
		}{{pc.StartDateTime, &start}, {pc.EndDateTime, &end}} {
			if d.raw == nil {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, *d.raw)
			if err != nil {
				writeGraphError(w, http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+*d.raw+"' to the expected type 'Edm.DateTimeOffset'.", reqID, now)
				return false
			}
			*d.to = t.UTC()
		}
	}
	if !end.After(start) {
		writeGraphError(w, http.StatusBadRequest, "Request_BadRequest", "The credential's end date must be after its start date.", reqID, now)
		return false
	}
	e.mu.Lock()
	if max := e.opts.MaxLifetime; max > 0 && end.Sub(start) > max {
		e.mu.Unlock()
		writeGraphError(w, http.StatusBadRequest, "CredentialInvalidLifetimeAsPerAppPolicy", "Credential lifetime exceeds the max value allowed as per assigned policy.", reqID, now)
		return false
	}
	if len(a.Passwords) >= e.opts.MaxPasswords {
		e.mu.Unlock()
		writeGraphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("The application has reached the maximum number of password credentials (%d).", e.opts.MaxPasswords), reqID, now)
		return false
	}
	value := newSecretText()
	p := e.addPassword(a, name, value, start, end, now.Add(e.opts.Propagation))
	e.mu.Unlock()
	e.logf("entra addPassword %s %s", a.AppID, p.KeyID)
	if f != nil && f.AfterHandling && e.applyFault(w, r, "addPassword", reqID, f) {
		return false
	}
	out := toWire(p)
	out.SecretText = &value
	writeJSON(w, http.StatusOK, struct {
		Context string `json:"@odata.context"`
		wirePassword
	}{"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential", out})
	return true
}

func (e *Emulator) removePasswordAction(w http.ResponseWriter, r *http.Request, a *app, reqID string, now time.Time, f *Fault) bool {
	var body struct {
		KeyID *string `json:"keyId"`
	}
	if err := decodeStrict(r, &body); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error(), reqID, now)
		return false
	}
	if body.KeyID == nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Value cannot be null. Parameter name: keyId", reqID, now)
		return false
	}
	if _, err := uuid.Parse(*body.KeyID); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+*body.KeyID+"' to the expected type 'Edm.Guid'.", reqID, now)
		return false
	}
	e.mu.Lock()
	i := slices.IndexFunc(a.Passwords, func(p Password) bool { return p.KeyID == *body.KeyID })
	if i < 0 {
		e.mu.Unlock()
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound", "No password credential found with keyId "+*body.KeyID+".", reqID, now)
		return false
	}
	a.Passwords = slices.Delete(a.Passwords, i, i+1)
	delete(a.values, *body.KeyID)
	a.deleted = append(a.deleted, *body.KeyID)
	e.revoked++
	e.mu.Unlock()
	e.logf("entra removePassword %s %s", a.AppID, *body.KeyID)
	if f != nil && f.AfterHandling && e.applyFault(w, r, "removePassword", reqID, f) {
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// writeGraphError answers with Graph's error body.
func writeGraphError(w http.ResponseWriter, status int, code, message, reqID string, now time.Time) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"innerError": map[string]string{
			"date":              now.UTC().Format("2006-01-02T15:04:05"),
			"request-id":        reqID,
			"client-request-id": reqID,
		},
	}})
}

// ownedObjectsOf recognises servicePrincipals(appId='…')/ownedObjects/microsoft.graph.application.
func ownedObjectsOf(rest string) (string, bool) {
	const pre, suf = "servicePrincipals(appId='", "')/ownedObjects/microsoft.graph.application"
	if !strings.HasPrefix(rest, pre) || !strings.HasSuffix(rest, suf) {
		return "", false
	}
	id, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(rest, pre), suf))
	return id, err == nil
}

// listOwned answers the applications owner owns, a page ($top, default 100)
// at a time with @odata.nextLink. Only owner itself may ask.
func (e *Emulator) listOwned(w http.ResponseWriter, r *http.Request, caller, owner, reqID string, now time.Time) {
	if caller != owner {
		writeGraphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", reqID, now)
		return
	}
	top, skip := 100, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && v > 0 && v <= 999 {
		top = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("$skiptoken")); err == nil && v > 0 {
		skip = v
	}
	e.mu.Lock()
	var owned []App
	for _, a := range e.apps {
		if slices.Contains(a.Owners, owner) {
			owned = append(owned, a.snapshot())
		}
	}
	e.mu.Unlock()
	slices.SortFunc(owned, func(a, b App) int { return strings.Compare(a.AppID, b.AppID) })
	page := []map[string]any{}
	for i := skip; i < len(owned) && i < skip+top; i++ {
		a := owned[i]
		pcs := make([]wirePassword, 0, len(a.Passwords))
		for _, p := range a.Passwords {
			pcs = append(pcs, toWire(p))
		}
		page = append(page, map[string]any{"@odata.type": "#microsoft.graph.application", "id": a.ObjectID, "appId": a.AppID, "displayName": a.DisplayName, "passwordCredentials": pcs})
	}
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications(id,appId,displayName,passwordCredentials)", "value": page}
	if skip+top < len(owned) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(skip+top))
		q.Set("$top", strconv.Itoa(top))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		out["@odata.nextLink"] = scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}
