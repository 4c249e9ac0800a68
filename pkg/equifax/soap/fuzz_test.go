package soap

import (
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wiretest"
	"github.com/credrotate/credrotate/pkg/equifax/soap/internal/securitysoap"
)

func hostileXML() []string {
	return []string{
		"",
		"<",
		billionLaughs,
		`<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>`,
		`<?xml-stylesheet href="x"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>`,
		strings.Repeat("<a>", 50000),
		envOpen + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + envClose,
		envOpen + "&unknown;" + envClose,
		`<?xml version="1.0" encoding="ISO-8859-1"?><x/>`,
		faultXML("409.02", "wait", "<EligibleAt>2026-03-01T00:00:00Z</EligibleAt><RetryAfterSeconds>99999999999</RetryAfterSeconds>"),
		faultXML(strings.Repeat("9", 5000), strings.Repeat("d", 5000), ""),
		tokenAnswer(),
		infoAnswer,
		renewAnswer,
		infoAnswer + infoAnswer,
		envOpen + `<a/><b/>` + envClose,
		"\xff\xfe<\x00x\x00/>",
	}
}

func FuzzDecodeFault(f *testing.F) {
	for _, s := range hostileXML() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		flt, err := decodeFault([]byte(body))
		if err != nil {
			return
		}
		if len(flt.code) > 64 || len(flt.description) > maxDescription || flt.retryAfter < 0 || flt.retryAfter > 24*time.Hour {
			t.Fatalf("unbounded fault: %+v", flt)
		}
		if k := flt.kind(500); k == nil {
			t.Fatal("no kind")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range hostileXML() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		b := []byte(body)
		var tok securitysoap.IssueTokenResponse
		if decodeEnvelope(b, &tok) == nil {
			if ot, err := oauthToken(&tok, time.Now()); err == nil && (ot.AccessToken == "" || ot.Expiry.IsZero()) {
				t.Fatalf("accepted an incomplete token")
			}
		}
		var info securitysoap.GetCredentialInfoResponse
		if decodeEnvelope(b, &info) == nil {
			if ci, err := clientInfo(&info, wiretest.ClientID); err == nil {
				for _, s := range ci.Secrets {
					if s.SecretID == "" || s.ExpiresAt.IsZero() || !s.Status.Valid() && s.Status != equifax.StatusRevoked && s.Status != equifax.StatusExpired {
						t.Fatalf("accepted an incomplete secret: %+v", s)
					}
				}
			}
		}
		var rn securitysoap.RenewClientSecretResponse
		if decodeEnvelope(b, &rn) == nil {
			res, err := renewResult(&rn, wiretest.ClientID)
			if err == nil && (res.ClientSecret.IsZero() || res.Secret.SecretID == "") {
				t.Fatalf("accepted an incomplete renew: %+v", res)
			}
			if err != nil && rn.ClientSecret != "" && len(rn.ClientSecret) > 8 && strings.Contains(err.Error(), rn.ClientSecret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		}
	})
}
