package httpprov

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// OpenAPIError says that a request the provider was about to send, or an
// answer it got, does not keep the description's OpenAPI document. It
// names the step, the operation, where the mismatch is and how to fix it,
// and never quotes a value (a request or an answer may carry a secret).
type OpenAPIError struct {
	// Step is the description's step ("create").
	Step string
	// Operation is the document's operation: its operationId and
	// "METHOD /path", or the request's method and path when it matches no
	// operation.
	Operation string
	// Answer is true for an answer, false for a request.
	Answer bool
	// Status is the answer's HTTP status.
	Status int
	// Where is the part that does not match: "body /secret/secretId",
	// "header Idempotency-Key", "status", "content type".
	Where string
	// Reason is the validator's reason, without values.
	Reason string
	// Fix says what to change.
	Fix string
}

// Error reads as one sentence: what, where, why, and the fix.
func (e *OpenAPIError) Error() string {
	what := "the request"
	if e.Answer {
		what = fmt.Sprintf("the %d answer", e.Status)
	}
	where := ""
	if e.Where != "" {
		where = " at " + e.Where
	}
	return fmt.Sprintf("steps.%s: %s does not match the OpenAPI operation %s%s: %s (fix: %s)", e.Step, what, e.Operation, where, e.Reason, e.Fix)
}

// validator holds a description's OpenAPI document for checking requests
// and answers (openapi3filter).
type validator struct {
	doc  *openapi3.T
	file string
}

// route is the operation a request was matched to.
type route struct {
	op    Operation
	name  string
	input *openapi3filter.RequestValidationInput
}

func opName(op Operation, method string) string {
	if id := op.Operation.OperationID; id != "" {
		return fmt.Sprintf("%s (%s %s)", id, method, op.Path)
	}
	return method + " " + op.Path
}

// checkRequest validates r, the rendered request of step, before it is
// sent, and returns the route its answer is checked against.
func (v *validator) checkRequest(ctx context.Context, step string, r *http.Request, body []byte, secrets []string) (*route, error) {
	op, ok := FindOperation(v.doc, r.Method, r.URL.String())
	if !ok {
		return nil, &OpenAPIError{Step: step, Operation: r.Method + " " + path.Clean("/"+r.URL.EscapedPath()), Where: "url",
			Reason: "the document has no operation for this method and path",
			Fix:    fmt.Sprintf("correct steps.%s.url or .method to one of %s's operations (%s), or the base URL setting", step, v.file, operations(v.doc))}
	}
	vreq := r.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request:    vreq,
		PathParams: op.PathParams,
		Route:      &routers.Route{Spec: v.doc, Path: op.Path, PathItem: op.PathItem, Method: r.Method, Operation: op.Operation},
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate, SkipSettingDefaults: true,
			RejectWhenRequestBodyNotSpecified: true},
	}
	rt := &route{op: op, name: opName(op, r.Method), input: in}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		where, reason := explain(err)
		return nil, &OpenAPIError{Step: step, Operation: rt.name, Where: where, Reason: scrubText(clean(reason, 300), secrets), Fix: requestFix(step, where)}
	}
	return rt, nil
}

// checkAnswer validates an answer to the request rt was matched for.
func (v *validator) checkAnswer(ctx context.Context, step string, rt *route, resp *http.Response, body []byte, secrets []string) error {
	in := &openapi3filter.ResponseValidationInput{RequestValidationInput: rt.input, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	in.SetBodyBytes(body)
	err := openapi3filter.ValidateResponse(ctx, in)
	if err == nil {
		return nil
	}
	where, reason := explain(err)
	fix := fmt.Sprintf("if the service is right, correct %s's %s answer; if the document is right, the service at this base URL is not the API it describes", v.file, rt.name)
	return &OpenAPIError{Step: step, Operation: rt.name, Answer: true, Status: resp.StatusCode, Where: where, Reason: scrubText(clean(reason, 300), secrets), Fix: fix}
}

func requestFix(step, where string) string {
	switch {
	case strings.HasPrefix(where, "body"):
		return fmt.Sprintf("change steps.%s.body so that it renders what the operation's request body declares", step)
	case strings.HasPrefix(where, "header"):
		return fmt.Sprintf("set the header in steps.%s.headers (or idempotencyHeader) as the operation declares it", step)
	case strings.HasPrefix(where, "credentials"):
		return fmt.Sprintf("send the credentials the operation's security scheme names in steps.%s.headers", step)
	case where == "content type":
		return fmt.Sprintf("set a Content-Type header in steps.%s.headers that the operation's request body declares", step)
	}
	return fmt.Sprintf("change steps.%s to send what the operation declares", step)
}

// explain turns a validator error into where it is and why, from the
// validator's typed errors only: their reasons never quote a value.
func explain(err error) (string, string) {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		return explain(me[0])
	}
	var se *openapi3.SchemaError
	pointer := ""
	reason := ""
	if errors.As(err, &se) {
		if p := se.JSONPointer(); len(p) > 0 {
			pointer = "/" + strings.Join(p, "/")
		}
		reason = se.Reason
		if reason == "" {
			reason = fmt.Sprintf("does not match the schema's %q", se.SchemaField)
		}
	}
	var sre *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sre) {
		return "credentials", "the request carries none of the credentials the operation's security requirements name (" + securityNames(sre.SecurityRequirements) + ")"
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		switch {
		case re.Parameter != nil:
			where := fmt.Sprintf("%s %s", re.Parameter.In, re.Parameter.Name)
			if reason == "" {
				reason = re.Reason
			}
			return where + pointer, reason
		case re.RequestBody != nil:
			if strings.Contains(re.Reason, "header Content-Type") {
				return "content type", re.Reason
			}
			if reason == "" {
				reason = re.Reason
			}
			return strings.TrimSpace("body " + pointer), reason
		}
		if reason == "" {
			reason = re.Reason
		}
		return "request", reason
	}
	var rse *openapi3filter.ResponseError
	if errors.As(err, &rse) {
		switch {
		case rse.Reason == "status is not supported":
			return "status", "the operation declares no answer with this status"
		case strings.Contains(rse.Reason, "header Content-Type"):
			return "content type", rse.Reason
		case strings.HasPrefix(rse.Reason, "response header"):
			return "header", rse.Reason
		case strings.Contains(rse.Reason, "decode response body"):
			return "body", "the body is not what its content type says (undecodable)"
		}
		if reason == "" {
			reason = rse.Reason
		}
		return strings.TrimSpace("body " + pointer), reason
	}
	if reason != "" {
		return pointer, reason
	}
	return "", "the validator refused it"
}

func securityNames(reqs openapi3.SecurityRequirements) string {
	var n []string
	for _, r := range reqs {
		for k := range r {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// errNoCredentials is what authenticate says of a request without the
// credentials a security scheme names.
var errNoCredentials = errors.New("the credentials are missing")

// authenticate checks that a request carries the credentials a security
// scheme names (an API key header, an Authorization header of the
// scheme), never whether they are right: the service decides that.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	r := in.RequestValidationInput.Request
	if s == nil {
		return nil
	}
	auth := r.Header.Get("Authorization")
	switch s.Type {
	case "apiKey":
		switch s.In {
		case "header":
			v := r.Header.Get(s.Name)
			if v == "" {
				return errNoCredentials
			}
		case "query":
			if r.URL.Query().Get(s.Name) == "" {
				return errNoCredentials
			}
		case "cookie":
			if _, err := r.Cookie(s.Name); err != nil {
				return errNoCredentials
			}
		}
	case "http":
		if strings.EqualFold(s.Scheme, "postBody") {
			// Okta's documents name client credentials sent in the form
			// body this way (client_secret_post, client_secret_jwt,
			// private_key_jwt).
			if !bodyCredentials(r) {
				return errNoCredentials
			}
			break
		}
		if !strings.HasPrefix(strings.ToLower(auth), strings.ToLower(s.Scheme)+" ") {
			return errNoCredentials
		}
	case "oauth2", "openIdConnect":
		if !strings.HasPrefix(strings.ToLower(auth), "bearer ") {
			return errNoCredentials
		}
	}
	return nil
}

// bodyCredentials reports whether a form body carries client credentials:
// a client_secret, or a client_assertion of the JWT bearer type. The body
// is read and put back for the body's own validation.
func bodyCredentials(r *http.Request) bool {
	if r.Body == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRendered+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return false
	}
	return form.Get("client_secret") != "" ||
		form.Get("client_assertion") != "" && form.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
}
