package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Benchmarks of whole calls through the handler (no network).

func benchEmulator(b *testing.B) (*Emulator, string) {
	b.Helper()
	e := New(Options{Start: testStart})
	if _, err := e.SeedClient("demo", "s3cret", testStart.Add(DefaultSecretLifetime)); err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader("grant_type=client_credentials&scope="+mgmt))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo", "s3cret")
	e.ServeHTTP(rec, req)
	return e, between(rec.Body.String(), `"access_token":"`, `"`)
}

func BenchmarkRESTToken(b *testing.B) {
	e, _ := benchEmulator(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader("grant_type=client_credentials&scope="+mgmt))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "s3cret")
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkRESTDescribe(b *testing.B) {
	e, tok := benchEmulator(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, secretsPath("demo"), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkSOAPDescribe(b *testing.B) {
	e, tok := benchEmulator(b)
	env := envelope("", `<efx:GetCredentialInfo><efx:ClientId>demo</efx:ClientId></efx:GetCredentialInfo>`)
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, SOAPPath, strings.NewReader(env))
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", SOAPActionPrefix+"GetCredentialInfo")
		req.Header.Set("Authorization", "Bearer "+tok)
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
