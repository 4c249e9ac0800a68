package httpprov_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

// openAPIChecker is an http.RoundTripper that validates every request the
// provider sends, and every well-formed answer it gets, against the
// description's OpenAPI document (kin-openapi's openapi3filter).
type openAPIChecker struct {
	t    *testing.T
	doc  *openapi3.T
	base http.RoundTripper
}

func (c *openAPIChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	op, ok := httpprov.FindOperation(c.doc, req.Method, req.URL.String())
	if !ok {
		c.t.Errorf("%s %s matches no operation of the OpenAPI document", req.Method, req.URL.Path)
		return c.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request:    vreq,
		PathParams: op.PathParams,
		Route:      &routers.Route{Spec: c.doc, Path: op.Path, PathItem: op.PathItem, Method: req.Method, Operation: op.Operation},
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		c.t.Errorf("request %s %s does not match %s: %v", req.Method, op.Path, op.Operation.OperationID, err)
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 2<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	// The suite breaks answers on purpose (a malformed body); only
	// well-formed JSON answers, and empty ones, are held to the document.
	if len(rb) > 0 && (!json.Valid(rb) || !strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		return resp, nil
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	rin.SetBodyBytes(rb)
	if err := openapi3filter.ValidateResponse(req.Context(), rin); err != nil {
		c.t.Errorf("answer %d to %s does not match the document: %v", resp.StatusCode, op.Operation.OperationID, err)
	}
	return resp, nil
}
