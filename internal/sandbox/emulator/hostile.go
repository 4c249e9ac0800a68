package emulator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Hostile makes the emulator play a misbehaving or hostile Equifax, for
// the tests that prove a client never lets a credential out through an
// error, never carries one to another host, and stays within its memory
// and time bounds whatever the server does. The zero value is a
// well-behaved emulator. Set it with Options.Hostile, SetHostile or
// POST /__emulator/hostile.
type Hostile struct {
	// Ops limits the mode to these operations; empty means every one.
	Ops []Op `json:"ops,omitempty"`
	// QuoteCredentials makes every error and fault answer quote the
	// credentials the request carried, the way a careless gateway's
	// "client_secret X is not valid" does: the client id and secret of a
	// form body, the Authorization header (raw, and a Basic header's
	// decoded id and secret), the Bearer token, the WS-Security username
	// and password. Each quoted value is kept for Quoted.
	QuoteCredentials bool `json:"quoteCredentials,omitempty"`
	// RejectNewSecrets answers a token request authenticated with a secret
	// minted after the mode was set with 401 invalid_client: the step that
	// proves a new secret fails (and, with QuoteCredentials, quotes it).
	RejectNewSecrets bool `json:"rejectNewSecrets,omitempty"`
	// RedirectTo, when set, answers every call with RedirectStatus and a
	// Location of RedirectTo followed by the request's path and query, as
	// if the API had moved to another host.
	RedirectTo string `json:"redirectTo,omitempty"`
	// RedirectStatus is the redirect's status: 301, 302, 303, 307 or 308;
	// default 307 (which asks the client to send its body again).
	RedirectStatus int `json:"redirectStatus,omitempty"`
	// HugeBody, when positive, answers every call with HTTP HugeStatus and
	// a body of this many bytes, streamed from a small buffer (the emulator
	// never holds it), which opens like the transport's answer would.
	HugeBody int64 `json:"hugeBodyBytes,omitempty"`
	// HugeStatus is the status of a huge answer; default 200.
	HugeStatus int `json:"hugeStatus,omitempty"`
	// Drip, when positive, writes every answer's body one byte per Drip,
	// flushing each, until it is done or the client goes away.
	Drip time.Duration `json:"-"`
}

// hostileRequest is the body of POST /__emulator/hostile.
type hostileRequest struct {
	Hostile
	Drip string `json:"drip,omitempty"`
}

// Validate reports whether h names known operations and a redirect status.
func (h Hostile) Validate() error {
	for _, op := range h.Ops {
		if !op.valid() {
			return fmt.Errorf("unknown operation %q (want token, describe, renew or revoke)", op)
		}
	}
	switch h.RedirectStatus {
	case 0, http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return fmt.Errorf("redirectStatus %d is not a redirect (use 301, 302, 303, 307 or 308)", h.RedirectStatus)
	}
	if h.RedirectTo != "" {
		u, err := url.Parse(h.RedirectTo)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return errors.New("redirectTo must be an absolute http(s) URL")
		}
	}
	if h.HugeBody < 0 || h.Drip < 0 {
		return errors.New("hugeBodyBytes and drip must not be negative")
	}
	if h.HugeStatus != 0 && (h.HugeStatus < 200 || h.HugeStatus > 599) {
		return fmt.Errorf("hugeStatus %d is not an HTTP status", h.HugeStatus)
	}
	return nil
}

// active reports whether the mode does anything.
func (h Hostile) active() bool {
	return h.QuoteCredentials || h.RejectNewSecrets || h.RedirectTo != "" || h.HugeBody > 0 || h.Drip > 0
}

func (h Hostile) applies(op Op) bool {
	if !h.active() {
		return false
	}
	if len(h.Ops) == 0 {
		return true
	}
	for _, o := range h.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// hostileState is the mode and what it has seen.
type hostileState struct {
	h Hostile
	// known are the secret ids that existed when the mode was set.
	known map[string]bool
	// quoted are the credential values quoted in answers.
	quoted map[string]bool
}

// SetHostile switches the hostile mode to h (the zero value switches it
// off). It panics on an invalid h, a bug in the test that sets it; the
// HTTP control validates instead.
func (e *Emulator) SetHostile(h Hostile) {
	if err := h.Validate(); err != nil {
		panic("emulator: " + err.Error())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setHostileLocked(h)
}

func (e *Emulator) setHostileLocked(h Hostile) {
	known := map[string]bool{}
	for _, c := range e.clients {
		for _, s := range c.secrets {
			known[s.id] = true
		}
	}
	h.Ops = append([]Op(nil), h.Ops...)
	quoted := map[string]bool{}
	if e.hostile != nil {
		quoted = e.hostile.quoted
	}
	e.hostile = &hostileState{h: h, known: known, quoted: quoted}
}

// Quoted returns every credential value the hostile mode has quoted in an
// answer so far, sorted: what a test must then find nowhere.
func (e *Emulator) Quoted() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hostile == nil {
		return nil
	}
	out := make([]string, 0, len(e.hostile.quoted))
	for v := range e.hostile.quoted {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// hostileFor returns the mode when it applies to op.
func (e *Emulator) hostileFor(op Op) (Hostile, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hostile == nil || !e.hostile.h.applies(op) {
		return Hostile{}, false
	}
	return e.hostile.h, true
}

// presented is what a request carried that a careless server might quote.
type presented struct {
	clientID, secret string
	authorization    string
	bearer           string
}

var (
	wsseUsername = regexp.MustCompile(`<(?:[A-Za-z0-9_-]+:)?Username(?:\s[^>]*)?>([^<]*)<`)
	wssePassword = regexp.MustCompile(`<(?:[A-Za-z0-9_-]+:)?Password(?:\s[^>]*)?>([^<]*)<`)
)

// capture reads the request's body (restoring it for the handlers) and
// picks out the credentials it and the headers carry.
func capture(r *http.Request) presented {
	var p presented
	if r.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		r.Body = io.NopCloser(bytes.NewReader(b))
		if form, err := url.ParseQuery(string(b)); err == nil && strings.Contains(mediaType(r), "form") {
			p.clientID, p.secret = form.Get("client_id"), form.Get("client_secret")
		}
		if m := wssePassword.FindSubmatch(b); m != nil {
			p.secret = html.UnescapeString(string(m[1]))
		}
		if m := wsseUsername.FindSubmatch(b); m != nil {
			p.clientID = strings.TrimSpace(html.UnescapeString(string(m[1])))
		}
	}
	p.authorization = r.Header.Get("Authorization")
	if u, pw, ok := r.BasicAuth(); ok {
		p.clientID, p.secret = unescapeCredential(u), unescapeCredential(pw)
	}
	p.bearer = bearerToken(r)
	return p
}

// quote renders what p carried, and records each value.
func (e *Emulator) quote(p presented) string {
	var parts []string
	var values []string
	if p.clientID != "" {
		parts = append(parts, fmt.Sprintf("client_id %q", p.clientID))
	}
	if p.secret != "" {
		parts = append(parts, fmt.Sprintf("client_secret %q is not valid", p.secret))
		values = append(values, p.secret)
	}
	if p.bearer != "" {
		parts = append(parts, fmt.Sprintf("Bearer token %q was rejected", p.bearer))
		values = append(values, p.bearer)
	} else if p.authorization != "" {
		parts = append(parts, fmt.Sprintf("Authorization header %q", p.authorization))
		if scheme, v, ok := strings.Cut(p.authorization, " "); ok && strings.EqualFold(scheme, "Basic") {
			values = append(values, strings.TrimSpace(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	e.mu.Lock()
	if e.hostile != nil {
		for _, v := range values {
			e.hostile.quoted[v] = true
		}
	}
	e.mu.Unlock()
	return "(" + strings.Join(parts, "; ") + ")"
}

// rejectNew answers a token request authenticated with a secret minted
// after the mode was set; nil when the request is not one.
func (e *Emulator) rejectNew(rt routed, p presented) *reply {
	if rt.op != OpToken || p.secret == "" {
		return nil
	}
	e.mu.Lock()
	s, ok := e.authenticateLocked(p.clientID, p.secret)
	reject := ok && e.hostile != nil && !e.hostile.known[s.id]
	e.mu.Unlock()
	if !reject {
		return nil
	}
	rp := rt.fail(oauthError(http.StatusUnauthorized, "invalid_client", "client authentication failed"))
	rp.client = p.clientID
	rp.code = "invalid_client (hostile)"
	return rp
}

// withQuote rewrites an error answer so that its description, error
// description, faultstring and SecurityFault Description end with q.
func withQuote(rp *reply, q string) *reply {
	if rp.status < 400 || q == "" || len(rp.body) == 0 {
		return rp
	}
	out := *rp
	if bytes.HasPrefix(bytes.TrimSpace(rp.body), []byte("<")) {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(" "+q))
		b := bytes.ReplaceAll(rp.body, []byte("</faultstring>"), append(append([]byte{}, esc.Bytes()...), "</faultstring>"...))
		b = bytes.ReplaceAll(b, []byte("</Description>"), append(append([]byte{}, esc.Bytes()...), "</Description>"...))
		out.body = b
	} else {
		var m map[string]any
		if json.Unmarshal(rp.body, &m) != nil {
			return rp
		}
		for _, k := range []string{"description", "error_description"} {
			if v, ok := m[k].(string); ok {
				m[k] = v + " " + q
			}
		}
		if _, ok := m["error"]; ok {
			if _, has := m["error_description"]; !has {
				m["error_description"] = q
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return rp
		}
		out.body = b
	}
	out.header = rp.header.Clone()
	if out.header != nil {
		out.header.Del("Content-Length")
	}
	return &out
}

// serveHostile plays the hostile part of a contract call. It reports
// whether it answered the call itself; otherwise finish, if not nil, turns
// the emulator's own answer into the hostile one before it is written.
func (e *Emulator) serveHostile(w http.ResponseWriter, r *http.Request, rt routed) (done bool, finish func(*reply) *reply) {
	h, ok := e.hostileFor(rt.op)
	if !ok || rt.run == nil {
		return false, nil
	}
	var p presented
	if h.QuoteCredentials || h.RejectNewSecrets {
		p = capture(r)
	}
	switch {
	case h.RedirectTo != "":
		e.count(rt.op)
		status := h.RedirectStatus
		if status == 0 {
			status = http.StatusTemporaryRedirect
		}
		loc := strings.TrimSuffix(h.RedirectTo, "/") + r.URL.RequestURI()
		rp := &reply{status: status, client: rt.client, code: "redirect (hostile)"}
		rp.set("Location", loc)
		writeReply(w, rp)
		return true, nil
	case h.HugeBody > 0:
		e.count(rt.op)
		e.writeHuge(w, r, h)
		return true, nil
	}
	return false, func(rp *reply) *reply {
		if h.RejectNewSecrets {
			if rej := e.rejectNew(rt, p); rej != nil {
				rp = rej
			}
		}
		if h.QuoteCredentials {
			rp = withQuote(rp, e.quote(p))
		}
		if h.Drip > 0 {
			e.writeDrip(w, r, rp, h.Drip)
			return nil
		}
		return rp
	}
}

func (e *Emulator) count(op Op) {
	e.mu.Lock()
	e.calls[op]++
	e.mu.Unlock()
}

// hugeChunk is what a huge answer repeats.
var hugeChunk = bytes.Repeat([]byte("0123456789abcdef"), 4096)

// writeHuge streams h.HugeBody bytes without ever holding them.
func (e *Emulator) writeHuge(w http.ResponseWriter, r *http.Request, h Hostile) {
	status := h.HugeStatus
	if status == 0 {
		status = http.StatusOK
	}
	var head []byte
	if r.URL.Path == SOAPPath {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		head = []byte(`<?xml version="1.0"?><soap:Envelope xmlns:soap="` + SOAPEnvNS + `"><soap:Body><x>`)
	} else {
		w.Header().Set("Content-Type", "application/json")
		head = []byte(`{"efxErrorCode":"500.01","description":"`)
	}
	w.Header().Set("Content-Length", strconv.FormatInt(h.HugeBody, 10))
	w.WriteHeader(status)
	left := h.HugeBody
	if int64(len(head)) > left {
		head = head[:left]
	}
	n, err := w.Write(head)
	left -= int64(n)
	for left > 0 && err == nil && r.Context().Err() == nil {
		chunk := hugeChunk
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		n, err = w.Write(chunk)
		left -= int64(n)
	}
}

// writeDrip writes rp one body byte at a time, every d.
func (e *Emulator) writeDrip(w http.ResponseWriter, r *http.Request, rp *reply, d time.Duration) {
	for k, vs := range rp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rp.body)))
	w.WriteHeader(rp.status)
	fl, _ := w.(http.Flusher)
	for i := range rp.body {
		if !e.sleepCtx(r.Context(), d) {
			return
		}
		if _, err := w.Write(rp.body[i : i+1]); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// controlHostile serves /__emulator/hostile: POST sets the mode (JSON
// Hostile, with "drip" as a duration), DELETE switches it off, GET shows it
// with the number of values quoted so far (never the values).
func (e *Emulator) controlHostile(r *http.Request) *reply {
	switch r.Method {
	case http.MethodDelete:
		e.SetHostile(Hostile{})
		return &reply{status: http.StatusNoContent}
	case http.MethodGet:
		e.mu.Lock()
		var h Hostile
		n := 0
		if e.hostile != nil {
			h, n = e.hostile.h, len(e.hostile.quoted)
		}
		e.mu.Unlock()
		return jsonReply(http.StatusOK, struct {
			hostileRequest
			Quoted int `json:"quoted"`
		}{hostileRequest{Hostile: h, Drip: durationString(h.Drip)}, n})
	case http.MethodPost:
		var req hostileRequest
		if err := decodeStrict(r, &req); err != nil {
			return controlError(http.StatusBadRequest, "400.01", err.Error())
		}
		h := req.Hostile
		if req.Drip != "" {
			d, err := time.ParseDuration(req.Drip)
			if err != nil {
				return controlError(http.StatusBadRequest, "400.01", `"drip" must be a duration such as "100ms"`)
			}
			h.Drip = d
		}
		if err := h.Validate(); err != nil {
			return controlError(http.StatusBadRequest, "400.01", err.Error())
		}
		e.SetHostile(h)
		return &reply{status: http.StatusNoContent}
	}
	return restError(methodNotAllowed("GET, POST, DELETE"))
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
