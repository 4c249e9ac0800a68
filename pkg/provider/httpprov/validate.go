package httpprov

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/credrotate/credrotate/pkg/provider"
)

// Problem is one thing wrong with a description: the step and field it is
// in, what is wrong, and how to fix it.
type Problem struct {
	Step    string // "token", "describe", ... or "" for the description itself
	Field   string // "url", "headers.Authorization", "result.secret.value"
	Message string
	Fix     string
}

func (p Problem) String() string {
	where := p.Field
	if p.Step != "" {
		where = "steps." + p.Step + "." + p.Field
	}
	return fmt.Sprintf("%s: %s (fix: %s)", where, p.Message, p.Fix)
}

// ValidationError lists every problem of a description.
type ValidationError struct {
	Name     string
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return fmt.Sprintf("description %s has %d problem(s):\n%s", e.Name, len(e.Problems), strings.Join(lines, "\n"))
}

// kinds are the names the error table may use.
var kinds = map[string]error{
	"unauthorized":         provider.ErrUnauthorized,
	"forbidden":            provider.ErrForbidden,
	"not_found":            provider.ErrNotFound,
	"too_many_secrets":     provider.ErrTooManySecrets,
	"not_eligible":         provider.ErrNotEligible,
	"last_secret":          provider.ErrLastSecret,
	"idempotency_conflict": provider.ErrIdempotencyConflict,
	"not_replayable":       provider.ErrNotReplayable,
	"rate_limited":         provider.ErrRateLimited,
	"transient":            provider.ErrTransient,
	"bad_request":          provider.ErrBadRequest,
	"malformed_response":   provider.ErrMalformedResponse,
}

func kindNames() string {
	var n []string
	for k := range kinds {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// Markers stand in for secrets when templates are rendered at validation,
// so that a secret reaching a URL is seen whatever the template did to it.
const (
	markClientSecret = "zzCLIENTSECRETzz"
	markNewSecret    = "zzNEWSECRETzz"
	markToken        = "zzACCESSTOKENzz"
	markSource       = "zzSOURCESECRETzz"
)

// placeholderData is what a step's templates see at validation: every
// variable that step may use, with stand-ins.
func placeholderData(d *Description, step string, settings map[string]string, secretNames []string) map[string]any {
	s := map[string]any{}
	for k, v := range d.Settings {
		s[k] = v
	}
	for k, v := range settings {
		s[k] = v
	}
	secrets := map[string]any{}
	for _, n := range secretNames {
		secrets[n] = markSource + n
	}
	data := map[string]any{
		"settings": s,
		"secrets":  secrets,
		"client":   map[string]any{"id": "client-id", "secret": markClientSecret},
	}
	if d.Steps.Token != nil && step != "token" {
		data["token"] = map[string]any{"accessToken": markToken, "tokenType": "Bearer", "scope": "scope"}
	}
	switch step {
	case "create":
		data["request"] = map[string]any{"idempotencyKey": "credrotate-0123", "gracePeriodSeconds": int64(3600), "force": true, "expiresAt": "2030-01-01T00:00:00Z"}
	case "verify":
		data["new"] = map[string]any{"secret": markNewSecret}
	case "retire", "revoke":
		data["secretId"] = "secret-id"
	}
	return data
}

// Validate checks d without running it: every required step is there, every
// template parses and refers only to variables the step has, no URL carries
// a secret, every JSONPath parses, every kind and status is known. settings
// and secretNames are what the configuration adds.
func Validate(d *Description, settings map[string]string, secretNames []string) error {
	_, err := compile(d, settings, secretNames)
	return err
}

// compile validates d and compiles its steps.
func compile(d *Description, settings map[string]string, secretNames []string) (*program, error) {
	var ps []Problem
	add := func(step, field, msg, fix string) {
		ps = append(ps, Problem{Step: step, Field: field, Message: msg, Fix: fix})
	}
	if d.Name == "" {
		add("", "name", "is missing", "name the service, e.g. name: equifax-rest")
	}
	for _, req := range []struct {
		name string
		step *Step
		fix  string
	}{
		{"describe", d.Steps.Describe, "declare steps.describe: the call that lists a client's secrets"},
		{"create", d.Steps.Create, "declare steps.create: the call that mints a new secret"},
		{"revoke", d.Steps.Revoke, "declare steps.revoke: the call that removes a secret"},
	} {
		if req.step == nil {
			add(req.name, "", "is a required step and is missing", req.fix)
		}
	}
	if d.Steps.Verify == nil && d.Steps.Token == nil {
		add("verify", "", "is missing and there is no token step to prove a secret with", "declare steps.verify, or steps.token (run with the new secret)")
	}
	rev := provider.Revocation(d.Rules.Revocation)
	switch rev {
	case "", provider.RevokeOneStep:
	case provider.RevokeDeactivateThenDelete:
		if d.Steps.Retire == nil {
			add("retire", "", "is required with rules.revocation: deactivate-then-delete", "declare steps.retire: the call that deactivates a secret")
		}
	default:
		add("", "rules.revocation", fmt.Sprintf("%q is not a revocation", d.Rules.Revocation), "use one-step or deactivate-then-delete")
	}
	if d.Rules.MaxValid < 0 {
		add("", "rules.maxValid", "is negative", "use 0 (no known limit) or the service's limit, e.g. 2")
	}
	codes := map[string]error{}
	for code, k := range d.Errors {
		kind, ok := kinds[k]
		if !ok {
			add("", "errors."+code, fmt.Sprintf("%q is not a kind", k), "use one of "+kindNames())
			continue
		}
		codes[code] = kind
	}
	statuses := map[string]provider.Status{}
	for from, to := range d.Statuses {
		st := provider.Status(strings.ToUpper(to))
		switch st {
		case provider.StatusActive, provider.StatusRetiring, provider.StatusInactive, provider.StatusRevoked, provider.StatusExpired:
			statuses[from] = st
		default:
			add("", "statuses."+from, fmt.Sprintf("%q is not a status", to), "map it to ACTIVE, RETIRING, INACTIVE, REVOKED or EXPIRED")
		}
	}
	prog := &program{desc: d, codes: codes, statuses: statuses, steps: map[string]*cstep{}}
	for i, m := range d.ErrorMatches {
		field := fmt.Sprintf("errorMatches[%d]", i)
		kind, ok := kinds[m.Kind]
		if !ok {
			add("", field+".kind", fmt.Sprintf("%q is not a kind", m.Kind), "use one of "+kindNames())
		}
		if strings.TrimSpace(m.Contains) == "" {
			add("", field+".contains", "is missing", "give a text of the service's message for this failure, e.g. maximum number of client secrets")
		}
		prog.matches = append(prog.matches, errorMatch{code: m.Code, contains: strings.ToLower(m.Contains), kind: kind})
	}
	if d.Rules.MaxAge < 0 {
		add("", "rules.maxAge", "is negative", "give the age at which a secret counts as expired, e.g. 2160h, or leave it out")
	}
	if d.Rules.NewestActive && (d.Steps.Describe == nil || d.Steps.Describe.Result.Each.CreatedAt == "") {
		add("describe", "result.each.createdAt", "is missing while rules.newestActive is true", "read each secret's creation time, e.g. createdAt: $.created")
	}
	defErr, eps := compileErrorSpec("", d.Error)
	ps = append(ps, eps...)
	if d.Steps.Create != nil && d.Rules.Replays && d.Steps.Create.IdempotencyHeader == "" {
		add("create", "idempotencyHeader", "is missing while rules.replays is true", "name the header that carries the idempotency key, e.g. Idempotency-Key")
	}
	if h := resetHeaderOf(d.Retry); h != "" && !validHeaderName(h) {
		add("", "retry.resetHeader", fmt.Sprintf("%q is not a header name", clean(h, 64)), "name the header that gives when a rate limit resets, e.g. X-Rate-Limit-Reset")
	}
	for _, ns := range d.steps() {
		if h := resetHeaderOf(ns.step.Retry); h != "" && !validHeaderName(h) {
			add(ns.name, "retry.resetHeader", fmt.Sprintf("%q is not a header name", clean(h, 64)), "name the header that gives when a rate limit resets, e.g. X-Rate-Limit-Reset")
		}
		cs, sps := compileStep(d, ns.name, ns.step, settings, secretNames)
		ps = append(ps, sps...)
		if cs == nil {
			continue
		}
		if cs.err == nil {
			cs.err = defErr
		}
		cs.retry = retryPolicy(d.Retry, ns.step.Retry)
		prog.steps[ns.name] = cs
	}
	if d.OpenAPI != "" && len(ps) == 0 {
		doc, err := loadOpenAPI(d)
		if err != nil {
			add("", "openapi", err.Error(), "give the path (relative to the description) of the API's OpenAPI 3 document, or remove openapi")
		} else {
			prog.openapi = doc
			ps = append(ps, checkOpenAPI(d, doc, prog, settings, secretNames)...)
		}
	}
	if len(ps) > 0 {
		return nil, &ValidationError{Name: d.Name, Problems: ps}
	}
	return prog, nil
}

// compileStep compiles one step's templates and queries.
func compileStep(d *Description, name string, s *Step, settings map[string]string, secretNames []string) (*cstep, []Problem) {
	var ps []Problem
	add := func(field, msg, fix string) {
		ps = append(ps, Problem{Step: name, Field: field, Message: msg, Fix: fix})
	}
	cs := &cstep{name: name, step: s, method: s.method(), success: s.successCodes(), idemHeader: s.IdempotencyHeader}
	if s.URL == "" {
		add("url", "is missing", "give the call's URL, e.g. {{.settings.baseURL}}/v1/clients/{{pathescape .client.id}}/secrets")
	}
	switch cs.method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		add("method", fmt.Sprintf("%q is not a method credrotate sends", s.Method), "use GET, POST, PUT, PATCH or DELETE")
	}
	for _, c := range cs.success {
		if c < 200 || c > 299 {
			add("successCodes", fmt.Sprintf("%d is not a 2xx status", c), "list the statuses of a successful answer, e.g. [200] or [201, 200]")
		}
	}
	data := placeholderData(d, name, settings, secretNames)
	check := func(field, text string) (tmpl, bool) {
		t, err := compileTemplate(name+"."+field, text)
		if err != nil {
			add(field, "does not parse: "+strings.TrimPrefix(err.Error(), "template: "), "write a Go text/template, e.g. {{.settings.baseURL}}")
			return tmpl{}, false
		}
		if _, err := t.render(data); err != nil {
			add(field, err.Error(), "use only .settings, .client.id, .client.secret, .secrets.NAME"+stepVars(d, name)+" (and settings the configuration or description declares)")
			return tmpl{}, false
		}
		return t, true
	}
	if s.URL != "" {
		if t, ok := check("url", s.URL); ok {
			cs.tmpl.url = t
			rendered, _ := t.render(data)
			if t.secret || carriesMarker(rendered) {
				add("url", "puts a secret into the URL, where logs, proxies and browsers keep it", "send the secret in a header (Authorization) or the body, never in the URL's query or path")
			} else if u, err := url.Parse(rendered); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add("url", "does not render to an http(s) URL", "start it with a base URL setting, e.g. {{.settings.baseURL}}/path")
			}
		}
	}
	cs.tmpl.headers = map[string]tmpl{}
	for h, v := range s.Headers {
		if t, ok := check("headers."+h, v); ok {
			cs.tmpl.headers[h] = t
		}
	}
	if s.Body != "" {
		if t, ok := check("body", s.Body); ok {
			cs.tmpl.body = &t
		}
	}
	if name != "create" && s.IdempotencyHeader != "" {
		add("idempotencyHeader", "is only for the create step", "remove it")
	}
	q := func(field, src string) *query {
		qq, err := compileQuery(src)
		if err != nil {
			add("result."+field, "is not an RFC 9535 JSONPath: "+err.Error(), "write a query such as $.secrets[*] or $.secret.secretId")
		}
		return qq
	}
	r := s.Result
	switch name {
	case "token":
		if r.AccessToken == "" {
			add("result.accessToken", "is missing", "point it at the access token, e.g. $.access_token")
		}
		cs.q.accessToken, cs.q.tokenType, cs.q.expiresIn, cs.q.issuedAt, cs.q.scope =
			q("accessToken", r.AccessToken), q("tokenType", r.TokenType), q("expiresIn", r.ExpiresIn), q("issuedAt", r.IssuedAt), q("scope", r.Scope)
	case "describe":
		if r.Secrets == "" {
			add("result.secrets", "is missing", "select every secret, e.g. $.secrets[*]")
		}
		if r.Each.ID == "" || r.Each.Status == "" {
			add("result.each", "needs id and status", "read each secret's id and status relative to it, e.g. id: $.secretId, status: $.status")
		}
		cs.q.clientID, cs.q.eligibleAt, cs.q.secrets = q("clientId", r.ClientID), q("renewalEligibleAt", r.RenewalEligibleAt), q("secrets", r.Secrets)
		if src := strings.TrimSpace(r.Secrets); strings.HasSuffix(src, "[*]") && cs.q.secrets != nil {
			// The list itself must be there: an answer without it is
			// malformed, not a client without secrets.
			cs.q.container, _ = compileQuery(strings.TrimSuffix(src, "[*]"))
		}
		cs.q.maxSecrets, cs.q.lifetime = q("policy.maxSecrets", r.Policy.MaxSecrets), q("policy.secretLifetimeSeconds", r.Policy.SecretLifetimeSeconds)
		cs.q.defGrace, cs.q.maxGrace = q("policy.defaultGracePeriodSeconds", r.Policy.DefaultGracePeriodSeconds), q("policy.maxGracePeriodSeconds", r.Policy.MaxGracePeriodSeconds)
		cs.q.each = compileSecretFields(q, "each", r.Each)
		if r.Each.Value != "" {
			add("result.each.value", "reads a secret value from a describe answer", "remove it: describe lists metadata only")
		}
	case "create":
		if r.Secret.Value == "" || r.Secret.ID == "" {
			add("result.secret", "needs value and id", "read the new secret's value and id, e.g. value: $.secret.clientSecret, id: $.secret.secretId")
		}
		cs.q.secret = compileSecretFields(q, "secret", r.Secret)
		cs.q.previous = compileSecretFields(q, "previous", r.Previous)
		if r.Previous.Value != "" {
			add("result.previous.value", "reads the previous secret's value", "remove it")
		}
	}
	if s.Error != nil {
		e, eps := compileErrorSpec(name, *s.Error)
		ps = append(ps, eps...)
		cs.err = e
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return cs, nil
}

func stepVars(d *Description, name string) string {
	var v []string
	if d.Steps.Token != nil && name != "token" {
		v = append(v, ".token.accessToken", ".token.tokenType", ".token.scope")
	}
	switch name {
	case "create":
		v = append(v, ".request.idempotencyKey", ".request.gracePeriodSeconds", ".request.force", ".request.expiresAt")
	case "verify":
		v = append(v, ".new.secret")
	case "retire", "revoke":
		v = append(v, ".secretId")
	}
	if len(v) == 0 {
		return ""
	}
	return ", " + strings.Join(v, ", ")
}

// carriesMarker reports whether a rendered URL holds a secret stand-in,
// as it is or base64-encoded.
func carriesMarker(s string) bool {
	if u, err := url.PathUnescape(s); err == nil {
		s += " " + u
	}
	for _, m := range []string{markClientSecret, markNewSecret, markToken, markSource} {
		if strings.Contains(s, m) {
			return true
		}
		enc := base64.StdEncoding.EncodeToString([]byte(m))
		if strings.Contains(s, enc[:len(enc)-4]) || strings.Contains(s, base64.URLEncoding.EncodeToString([]byte(m))[:8]) {
			return true
		}
	}
	return false
}

func compileSecretFields(q func(field, src string) *query, prefix string, f SecretFields) secretQueries {
	return secretQueries{
		value: q(prefix+".value", f.Value), id: q(prefix+".id", f.ID), status: q(prefix+".status", f.Status),
		hint: q(prefix+".hint", f.Hint), name: q(prefix+".name", f.Name), createdAt: q(prefix+".createdAt", f.CreatedAt),
		expiresAt: q(prefix+".expiresAt", f.ExpiresAt), graceEndsAt: q(prefix+".graceEndsAt", f.GraceEndsAt), revokedAt: q(prefix+".revokedAt", f.RevokedAt),
	}
}

func compileErrorSpec(step string, e ErrorSpec) (*errorQueries, []Problem) {
	var ps []Problem
	q := func(field, src string) *query {
		qq, err := compileQuery(src)
		if err != nil {
			ps = append(ps, Problem{Step: step, Field: "error." + field, Message: "is not an RFC 9535 JSONPath: " + err.Error(), Fix: "write a query such as $.error or $['error','efxErrorCode']"})
		}
		return qq
	}
	out := &errorQueries{code: q("code", e.Code), message: q("message", e.Message), eligibleAt: q("eligibleAt", e.EligibleAt), retryAfter: q("retryAfter", e.RetryAfter)}
	return out, ps
}

func resetHeaderOf(r *RetrySpec) string {
	if r == nil {
		return ""
	}
	return r.ResetHeader
}

// validHeaderName reports whether h is an HTTP header field name (a token,
// RFC 9110 section 5.1).
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range []byte(h) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
