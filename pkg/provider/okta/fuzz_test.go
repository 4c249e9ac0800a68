package okta

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// FuzzParseError: any error answer gives a typed error with a sentinel
// kind, printable text and no secret, and never panics.
func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"errorCode":"E0000001","errorSummary":"Api validation failed","errorCauses":[{"errorSummary":"You've reached the maximum number of client secrets per client."}]}`), "")
	f.Add(429, []byte(`{"errorCode":"E0000047"}`), "1767225600")
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"x"}`), "")
	f.Add(500, []byte("<html>"), "-1")
	c, err := New(Options{OrgURL: "https://acme.okta.com", APIToken: credential.NewSecret("00secret-api-token")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, reset string) {
		h := http.Header{"X-Rate-Limit-Reset": {reset}}
		e := c.parseError(OpDescribe, status, h, body, credential.NewSecret("verified-secret"))
		if e.Kind == nil {
			t.Fatal("no kind")
		}
		msg := e.Error()
		if strings.Contains(msg, "00secret-api-token") || strings.Contains(msg, "verified-secret") {
			t.Fatalf("a secret in %q", msg)
		}
		for _, r := range e.Description + e.Code + e.RequestID {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("a control character in %q", msg)
			}
		}
		if e.RetryAfter < 0 || e.RetryAfter > time.Hour {
			t.Fatalf("retry after %s", e.RetryAfter)
		}
	})
}

// FuzzSecretList: any list answer decodes to secrets whose mapping never
// panics and yields at most one ACTIVE secret.
func FuzzSecretList(f *testing.F) {
	f.Add([]byte(`[{"id":"a","status":"ACTIVE","created":"2026-01-01T00:00:00.000Z"},{"id":"b","status":"ACTIVE","created":"2026-01-02T00:00:00.000Z"},{"id":"c","status":"INACTIVE"}]`))
	f.Add([]byte(`[{"id":"a","status":"ACTIVE","client_secret":"DRUFXGF9XbLn......a3x3POBiIxDreBCdZuFs5B"}]`))
	c, err := New(Options{OrgURL: "https://acme.okta.com", APIToken: credential.NewSecret("00secret-api-token")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ss []secret
		if json.Unmarshal(body, &ss) != nil {
			return
		}
		active := 0
		for _, s := range c.infos(ss) {
			if s.Status == "ACTIVE" {
				active++
			}
		}
		if active > 1 {
			t.Fatalf("%d ACTIVE secrets", active)
		}
		for _, s := range ss {
			_ = s.shown()
		}
	})
}

// FuzzNextLink: any Link header gives an answer or none, never a panic, and
// the answer is always text that stood between < and > in the header.
func FuzzNextLink(f *testing.F) {
	f.Add(`<https://a.okta.com/api/v1/apps?after=x&limit=200>; rel="next"`)
	f.Add(`<a>; rel="self", <b>; rel=next`)
	f.Add(`<<>>;;rel="`)
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := NextLink([]string{v})
		if ok && !strings.Contains(v, "<"+got+">") {
			t.Fatalf("NextLink(%q) = %q, not a bracketed target", v, got)
		}
	})
}
