package rest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wiretest"
)

func hostileJSON() []string {
	return []string{
		"",
		"null",
		"{}",
		"[]",
		`{"efxErrorCode":"409.02","additionalErrorDetails":{"eligibleAt":"not a time","retryAfterSeconds":1e308}}`,
		`{"efxErrorCode":"` + strings.Repeat("9", 10000) + `"}`,
		strings.Repeat("[", 100000),
		strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		`{"clientId":"0oa-test","secrets":[` + strings.Repeat(`{"secretId":"x","status":"ACTIVE","expiresAt":"2026-01-01T00:00:00Z"},`, 100) + `{}]}`,
		`{"clientId":"0oa-test","secrets":[{"secretId":"x","status":"ACTIVE","expiresAt":"2026-01-01T00:00:00Z","clientSecret":"leak"}]}`,
		"\xff\xfe\x00garbage",
		describeBody,
		renewBody201,
		describeBody + describeBody,
	}
}

func FuzzParseError(f *testing.F) {
	for _, s := range hostileJSON() {
		f.Add(429, s, "12")
	}
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string) {
		h := http.Header{"Retry-After": {retryAfter}}
		e := parseError("describe", status, h, []byte(body), time.Now())
		if e == nil || e.Kind == nil {
			t.Fatal("no typed error")
		}
		if e.RetryAfter < 0 || e.RetryAfter > 24*time.Hour || len(e.Description) > maxDescription || len(e.Code) > 64 {
			t.Fatalf("unbounded error fields: %+v", e)
		}
		_ = e.Error()
	})
}

func FuzzDecodeClientInfo(f *testing.F) {
	for _, s := range hostileJSON() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		info, err := decodeClientInfo([]byte(body), wiretest.ClientID)
		if err != nil {
			return
		}
		if info.ClientID != wiretest.ClientID {
			t.Fatalf("accepted another client: %q", info.ClientID)
		}
		for _, s := range info.Secrets {
			if s.SecretID == "" || s.ExpiresAt.IsZero() {
				t.Fatalf("accepted an incomplete secret: %+v", s)
			}
		}
	})
}

func FuzzDecodeRenew(f *testing.F) {
	for _, s := range hostileJSON() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		res, err := decodeRenew([]byte(body), wiretest.ClientID)
		if err != nil {
			if errors.Is(err, equifax.ErrMalformedResponse) {
				t.Fatal("decoder errors are wrapped by the caller")
			}
			// A decode error must never quote the body (the plaintext).
			if len(body) > 8 && strings.Contains(err.Error(), body) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		if res.ClientSecret.IsZero() || res.Secret.SecretID == "" || res.Secret.CreatedAt.IsZero() {
			t.Fatalf("accepted an incomplete renew: %+v", res)
		}
	})
}
