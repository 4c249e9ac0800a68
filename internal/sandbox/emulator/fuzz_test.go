package emulator

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every parser of outside input: the SOAP envelope, the
// renew JSON body, the token form, and whole requests through the handler.

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(envelope(usernameTokenHeader("demo", "s3cret"), `<efx:IssueToken><efx:GrantType>client_credentials</efx:GrantType><efx:Scope>x</efx:Scope></efx:IssueToken>`)))
	f.Add([]byte(envelope("", `<efx:RenewClientSecret><efx:ClientId>demo</efx:ClientId><efx:Force>true</efx:Force></efx:RenewClientSecret>`)))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add([]byte(`<s:Envelope xmlns:s="` + SOAPEnvNS + `"><s:Body>text<a/></s:Body></s:Envelope>`))
	f.Add([]byte(strings.Repeat("<a>", 40)))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseEnvelope(body)
		if err != nil {
			return
		}
		if env.Body == nil {
			t.Fatal("accepted an envelope without a Body")
		}
		op, err := env.Body.operation()
		if err != nil {
			return
		}
		if _, ok := soapOps[op.XMLName.Local]; !ok || op.XMLName.Space != ServiceNS {
			t.Fatalf("accepted operation %v", op.XMLName)
		}
		fields, ae := op.fields("ClientId", "GracePeriodSeconds", "IdempotencyKey", "Force")
		if ae != nil {
			return
		}
		if p, ae := parseSOAPRenew(fields, ""); ae == nil && p.graceSet && p.grace < 0 {
			t.Fatal("accepted a negative grace period")
		}
	})
}

func FuzzParseRenewJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"gracePeriodSeconds":3600}`, `{"force":true}`, `{"x":1}`, `null`, `[]`, `{"gracePeriodSeconds":-1}`, `{"force":true}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, ae := parseRenewJSON(body)
		if ae != nil {
			if ae.status != http.StatusBadRequest || ae.code != "400.01" {
				t.Fatalf("error %+v", ae)
			}
			return
		}
		if p.grace < 0 {
			t.Fatal("negative grace accepted")
		}
	})
}

func FuzzParseTokenForm(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials&scope=x", "a=1&a=2", "%zz", "", "scope=" + strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := parseTokenForm([]byte(body))
		if err != nil {
			return
		}
		for k, v := range form {
			if len(v) != 1 {
				t.Fatalf("parameter %q accepted %d times", k, len(v))
			}
		}
	})
}

// FuzzHandler sends a fuzzed body to each endpoint; the emulator must answer
// with a status from the contract and never panic.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "application/x-www-form-urlencoded", []byte("grant_type=client_credentials&scope="+mgmt))
	f.Add(uint8(1), "application/json", []byte(`{"gracePeriodSeconds":3600}`))
	f.Add(uint8(2), "text/xml", []byte(envelope("", `<efx:GetCredentialInfo><efx:ClientId>demo</efx:ClientId></efx:GetCredentialInfo>`)))
	f.Add(uint8(3), "text/xml", []byte(envelope(usernameTokenHeader("demo", "s3cret"), `<efx:IssueToken><efx:GrantType>client_credentials</efx:GrantType><efx:Scope>`+mgmt+`</efx:Scope></efx:IssueToken>`)))
	f.Add(uint8(4), "application/json", []byte(`{"clientId":"x","secret":"y"}`))
	e := New(Options{Start: testStart})
	if _, err := e.SeedClient("demo", "s3cret", time.Time{}); err != nil {
		f.Fatal(err)
	}
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	// A real token, so the fuzzed bodies reach the parsers behind auth.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader("grant_type=client_credentials&scope="+mgmt))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo", "s3cret")
	e.ServeHTTP(rec, req)
	tok := between(rec.Body.String(), `"access_token":"`, `"`)
	if tok == "" {
		f.Fatalf("no token: %s", rec.Body.String())
	}
	targets := []struct{ method, path, action string }{
		{http.MethodPost, TokenPath, ""},
		{http.MethodPost, secretsPath("demo"), ""},
		{http.MethodPost, SOAPPath, "GetCredentialInfo"},
		{http.MethodPost, SOAPPath, "IssueToken"},
		{http.MethodPost, ControlPrefix + "faults", ""},
		{http.MethodPost, SOAPPath, "RenewClientSecret"},
	}
	allowed := map[int]bool{200: true, 201: true, 204: true, 400: true, 401: true, 403: true, 404: true, 405: true, 409: true, 422: true, 500: true, 504: true}
	f.Fuzz(func(t *testing.T, target uint8, ctype string, body []byte) {
		tg := targets[int(target)%len(targets)]
		req := httptest.NewRequest(tg.method, tg.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Idempotency-Key", "fuzz")
		if tg.action != "" {
			req.Header.Set("SOAPAction", SOAPActionPrefix+tg.action)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		e.ClearFaults()
	})
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
