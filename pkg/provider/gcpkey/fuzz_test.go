package gcpkey

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzAnswers feeds hostile error bodies and key files to the parsers of
// outside input: none panics, and nothing they return quotes a private key.
func FuzzAnswers(f *testing.F) {
	f.Add(`{"error":{"code":400,"message":"Precondition check failed.","status":"FAILED_PRECONDITION","details":[{"violations":[{"type":"constraints/iam.disableServiceAccountKeyCreation"}]}]}}`)
	// A made-up key file: the PEM marker alone, assembled so that no key
	// material (or anything that looks like it) is written in the source.
	f.Add(`{"type":"service_account","private_key_id":"a","private_key":"` + pemMarker + `","client_email":"a@b"}`)
	f.Add(`[{"error":{}}]`)
	f.Add(`{"error":{"details":[{"violations":"x"}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = details(body)
		if _, err := parseKeyFile([]byte(body)); err != nil && strings.Contains(err.Error(), "BEGIN") {
			t.Fatalf("the error quotes the key: %v", err)
		}
		_ = privateKeyReadable(body)
		_ = mentionsPolicy(body, nil)
		_ = retryAfter(http.Header{"Retry-After": {body}})
		if c := clip(body); len(c) > 210 {
			t.Fatalf("clip kept %d bytes", len(c))
		}
	})
}

// pemMarker is the first line of a PEM private key, and nothing more.
var pemMarker = "-----BEGIN " + "PRIVATE KEY-----"
