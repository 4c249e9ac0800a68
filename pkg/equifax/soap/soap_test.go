package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wiretest"
)

const envOpen = `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`
const envClose = `</soap:Body></soap:Envelope>`

func tokenAnswer() string {
	return envOpen + `<IssueTokenResponse xmlns="urn:efx-emulator:security:v1"><AccessToken>` + wiretest.Token + `</AccessToken><TokenType>Bearer</TokenType><ExpiresIn>1800</ExpiresIn><IssuedAt>2026-01-01T00:00:00Z</IssuedAt><Scope>` + DefaultManagementScope + `</Scope></IssueTokenResponse>` + envClose
}

const infoAnswer = envOpen + `<GetCredentialInfoResponse xmlns="urn:efx-emulator:security:v1"><ClientId>0oa-test</ClientId><RenewalEligibleAt>2026-01-01T00:00:00Z</RenewalEligibleAt>` +
	`<Secret><SecretId>sec-1</SecretId><Status>ACTIVE</Status><Hint>can</Hint><CreatedAt>2025-07-01T00:00:00Z</CreatedAt><ExpiresAt>2026-01-31T00:00:00Z</ExpiresAt></Secret>` +
	`</GetCredentialInfoResponse>` + envClose

const renewAnswer = envOpen + `<RenewClientSecretResponse xmlns="urn:efx-emulator:security:v1"><ClientId>0oa-test</ClientId>` +
	`<NewSecret><SecretId>sec-2</SecretId><Status>ACTIVE</Status><CreatedAt>2026-01-01T00:00:00Z</CreatedAt><ExpiresAt>2026-06-30T00:00:00Z</ExpiresAt></NewSecret>` +
	`<ClientSecret>new-canary-Pq8</ClientSecret>` +
	`<PreviousSecret><SecretId>sec-1</SecretId><Status>RETIRING</Status><CreatedAt>2025-07-01T00:00:00Z</CreatedAt><ExpiresAt>2026-01-31T00:00:00Z</ExpiresAt><GraceEndsAt>2026-01-08T00:00:00Z</GraceEndsAt></PreviousSecret>` +
	`</RenewClientSecretResponse>` + envClose

func faultXML(code, desc, extra string) string {
	return envOpen + `<soap:Fault><faultcode>soap:Client</faultcode><faultstring>` + desc + `</faultstring><detail><SecurityFault xmlns="urn:efx-emulator:security:v1"><ErrorCode>` + code + `</ErrorCode><Description>` + desc + `</Description>` + extra + `</SecurityFault></detail></soap:Fault>` + envClose
}

type answer = wiretest.Answer

type request struct {
	action string
	header http.Header
	body   string
}

// fakeSOAP answers by operation (the SOAPAction's last part): scripted
// answers first, then a default success.
type fakeSOAP struct {
	mu       sync.Mutex
	scripts  map[string][]answer
	requests []request
}

func newFake(t *testing.T) (*fakeSOAP, *httptest.Server) {
	f := &fakeSOAP{scripts: map[string][]answer{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeSOAP) script(op string, as ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[op] = append(f.scripts[op], as...)
}

func (f *fakeSOAP) got(op string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.action == op {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeSOAP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	action := r.Header.Get("SOAPAction")
	op := action[strings.LastIndex(action, "/")+1:]
	f.mu.Lock()
	f.requests = append(f.requests, request{action: op, header: r.Header.Clone(), body: string(b)})
	var a answer
	if s := f.scripts[op]; len(s) > 0 {
		a, f.scripts[op] = s[0], s[1:]
	} else {
		a = map[string]answer{
			"IssueToken":         {Body: tokenAnswer()},
			"GetCredentialInfo":  {Body: infoAnswer},
			"RenewClientSecret":  {Body: renewAnswer},
			"RevokeClientSecret": {Body: envOpen + `<RevokeClientSecretResponse xmlns="urn:efx-emulator:security:v1"><Secret><SecretId>sec-1</SecretId><Status>REVOKED</Status><CreatedAt>2025-07-01T00:00:00Z</CreatedAt><ExpiresAt>2026-01-31T00:00:00Z</ExpiresAt></Secret></RevokeClientSecretResponse>` + envClose},
		}[op]
	}
	f.mu.Unlock()
	w.Header().Set("efx-transaction-id", "tx-"+uuid.NewString()[:8])
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	a.Write(w, r)
}

func newClient(t *testing.T, srv *httptest.Server, mod func(*Options)) (*Client, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	opts := Options{URL: srv.URL + "/business/security/soap/v1", Timeout: 2 * time.Second, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: logrus.NewEntry(logger)}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, hook
}

func TestWireFormat(t *testing.T) {
	f, srv := newFake(t)
	c, hook := newClient(t, srv, nil)
	ctx := context.Background()
	tok, err := c.Token(ctx, wiretest.Creds, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken.Reveal() != wiretest.Token || tok.Scope != DefaultManagementScope || !tok.IssuedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		time.Until(tok.ExpiresAt) < 29*time.Minute {
		t.Fatalf("token = %+v", tok)
	}
	info, err := c.Describe(ctx, wiretest.Creds)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := info.Active(); !ok || a.SecretID != "sec-1" || info.RenewalEligibleAt.IsZero() {
		t.Fatalf("info = %+v", info)
	}
	res, err := c.Renew(ctx, wiretest.Creds, equifax.RenewRequest{IdempotencyKey: "key-1", GracePeriod: time.Hour, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.ClientSecret.Reveal() != "new-canary-Pq8" || res.PreviousSecret == nil || res.PreviousSecret.GraceEndsAt == nil {
		t.Fatalf("renew = %+v", res)
	}
	if err := c.Revoke(ctx, wiretest.Creds, "sec-1"); err != nil {
		t.Fatal(err)
	}

	// IssueToken: a UsernameToken with PasswordText, no Authorization.
	it := f.got("IssueToken")[0]
	var env struct {
		Header struct {
			Security struct {
				UsernameToken struct {
					Username string `xml:"Username"`
					Password struct {
						Type  string `xml:"Type,attr"`
						Value string `xml:",chardata"`
					} `xml:"Password"`
				} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd UsernameToken"`
			} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
		Body struct {
			Issue struct {
				GrantType string `xml:"urn:efx-emulator:security:v1 GrantType"`
				Scope     string `xml:"urn:efx-emulator:security:v1 Scope"`
			} `xml:"urn:efx-emulator:security:v1 IssueToken"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal([]byte(it.body), &env); err != nil {
		t.Fatal(err)
	}
	ut := env.Header.Security.UsernameToken
	if ut.Username != wiretest.ClientID || ut.Password.Value != wiretest.Secret || !strings.HasSuffix(ut.Password.Type, "#PasswordText") {
		t.Fatalf("UsernameToken = %+v in %s", ut, it.body)
	}
	if env.Body.Issue.GrantType != "client_credentials" || env.Body.Issue.Scope != DefaultManagementScope {
		t.Fatalf("IssueToken body = %+v", env.Body.Issue)
	}
	if it.header.Get("Authorization") != "" {
		t.Fatal("IssueToken sent an Authorization header")
	}
	// Management calls: Bearer, correlation id, no UsernameToken.
	for _, op := range []string{"GetCredentialInfo", "RenewClientSecret", "RevokeClientSecret"} {
		r := f.got(op)[0]
		if r.header.Get("Authorization") != "Bearer "+wiretest.Token {
			t.Errorf("%s Authorization = %q", op, r.header.Get("Authorization"))
		}
		if _, err := uuid.Parse(r.header.Get("X-Correlation-ID")); err != nil {
			t.Errorf("%s X-Correlation-ID = %q", op, r.header.Get("X-Correlation-ID"))
		}
		if r.header.Get("SOAPAction") != "urn:efx-emulator:security:v1/"+op {
			t.Errorf("%s SOAPAction = %q", op, r.header.Get("SOAPAction"))
		}
		if strings.Contains(r.body, wiretest.Secret) || strings.Contains(r.body, "UsernameToken") {
			t.Errorf("%s carries the client secret: %s", op, r.body)
		}
	}
	rb := f.got("RenewClientSecret")[0].body
	for _, want := range []string{"<IdempotencyKey>key-1</IdempotencyKey>", "<GracePeriodSeconds>3600</GracePeriodSeconds>", "<Force>true</Force>"} {
		if !strings.Contains(rb, want) {
			t.Errorf("renew body lacks %s: %s", want, rb)
		}
	}
	if n := len(f.got("IssueToken")); n != 1 {
		t.Errorf("IssueToken called %d times, want 1 (cached)", n)
	}
	wiretest.AssertNoSecrets(t, hook, nil)
	for _, e := range hook.AllEntries() {
		if e.Data["correlation_id"] == "" || e.Data["efx_transaction_id"] == "" || e.Data["op"] == "" || e.Data["client_id"] != wiretest.ClientID {
			t.Errorf("log line lacks fields: %v", e.Data)
		}
	}
}

const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` +
	`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetCredentialInfoResponse xmlns="urn:efx-emulator:security:v1"><ClientId>&lol3;</ClientId></GetCredentialInfoResponse></soap:Body></soap:Envelope>`

func TestAnswers(t *testing.T) {
	eligible := `<EligibleAt>2026-03-01T00:00:00Z</EligibleAt>`
	cases := []struct {
		name     string
		op       string
		ans      answer
		kind     error
		code     string
		attempts int
	}{
		{"invalid client", "IssueToken", answer{Status: 500, Body: faultXML("invalid_client", "client authentication failed", "")}, equifax.ErrUnauthorized, "invalid_client", 1},
		{"expired token twice", "GetCredentialInfo", answer{Status: 500, Body: faultXML("401.01", "expired", "")}, equifax.ErrUnauthorized, "401.01", 2},
		{"forbidden", "GetCredentialInfo", answer{Status: 500, Body: faultXML("403.01", "scope", "")}, equifax.ErrForbidden, "403.01", 1},
		{"not found", "RevokeClientSecret", answer{Status: 500, Body: faultXML("404.01", "unknown", "")}, equifax.ErrNotFound, "404.01", 1},
		{"two secrets", "RenewClientSecret", answer{Status: 500, Body: faultXML("409.01", "two", "")}, equifax.ErrTooManySecrets, "409.01", 1},
		{"not eligible", "RenewClientSecret", answer{Status: 500, Body: faultXML("409.02", "wait", eligible)}, equifax.ErrNotEligible, "409.02", 1},
		{"last secret", "RevokeClientSecret", answer{Status: 500, Body: faultXML("409.03", "last", "")}, equifax.ErrLastSecret, "409.03", 1},
		{"key reused", "RenewClientSecret", answer{Status: 500, Body: faultXML("422.01", "other body", "")}, equifax.ErrIdempotencyConflict, "422.01", 1},
		{"rate limited", "GetCredentialInfo", answer{Status: 429, Body: faultXML("429.01", "slow down", "<RetryAfterSeconds>0</RetryAfterSeconds>")}, equifax.ErrRateLimited, "429.01", 4},
		{"server fault", "RenewClientSecret", answer{Status: 500, Body: strings.Replace(faultXML("500.01", "oops", ""), "soap:Client", "soap:Server", 1)}, equifax.ErrTransient, "500.01", 4},
		{"gateway html", "RevokeClientSecret", answer{Status: 502, Body: "<html><body>bad gateway</html>"}, equifax.ErrTransient, "", 4},
		{"fault without detail", "GetCredentialInfo", answer{Status: 500, Body: envOpen + `<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad</faultstring></soap:Fault>` + envClose}, equifax.ErrBadRequest, "", 1},
		{"fault in a 200", "GetCredentialInfo", answer{Status: 200, Body: faultXML("403.01", "scope", "")}, equifax.ErrForbidden, "403.01", 1},
		{"billion laughs answer", "GetCredentialInfo", answer{Body: billionLaughs}, equifax.ErrMalformedResponse, "", 1},
		{"billion laughs fault", "GetCredentialInfo", answer{Status: 500, Body: billionLaughs}, equifax.ErrTransient, "", 4},
		{"garbage", "IssueToken", answer{Body: "\x00\xffnot xml"}, equifax.ErrMalformedResponse, "", 1},
		{"deep nesting", "GetCredentialInfo", answer{Body: envOpen + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + envClose}, equifax.ErrMalformedResponse, "", 1},
		{"huge answer", "GetCredentialInfo", answer{Body: envOpen + "<x>" + strings.Repeat("a", 2<<20) + "</x>" + envClose}, equifax.ErrMalformedResponse, "", 1},
		{"huge fault", "GetCredentialInfo", answer{Status: 503, Body: strings.Repeat("a", 2<<20)}, equifax.ErrTransient, "", 4},
		{"wrong client", "GetCredentialInfo", answer{Body: strings.Replace(infoAnswer, "0oa-test", "other", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"bad time", "GetCredentialInfo", answer{Body: strings.Replace(infoAnswer, "2026-01-31T00:00:00Z", "soon", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"renew without plaintext", "RenewClientSecret", answer{Body: strings.Replace(renewAnswer, "<ClientSecret>new-canary-Pq8</ClientSecret>", "", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"token without expiry", "IssueToken", answer{Body: strings.Replace(tokenAnswer(), "<ExpiresIn>1800</ExpiresIn>", "", 1)}, equifax.ErrMalformedResponse, "", 1},
		{"empty body", "RevokeClientSecret", answer{}, equifax.ErrMalformedResponse, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			for range tc.attempts {
				f.script(tc.op, tc.ans)
			}
			c, hook := newClient(t, srv, nil)
			err := run(c, tc.op)
			var e *equifax.Error
			if !errors.As(err, &e) || !errors.Is(err, tc.kind) || e.Code != tc.code {
				t.Fatalf("err = %v; want kind %v code %q", err, tc.kind, tc.code)
			}
			if n := len(f.got(tc.op)); n != tc.attempts {
				t.Fatalf("%s sent %d times, want %d", tc.op, n, tc.attempts)
			}
			if e.TransactionID == "" {
				t.Errorf("no efx-transaction-id in %v", err)
			}
			if tc.code == "409.02" && !e.EligibleAt.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("EligibleAt = %v", e.EligibleAt)
			}
			wiretest.AssertNoSecrets(t, hook, err)
		})
	}
}

func run(c *Client, op string) error {
	ctx := context.Background()
	switch op {
	case "IssueToken":
		_, err := c.Token(ctx, wiretest.Creds, "")
		return err
	case "GetCredentialInfo":
		_, err := c.Describe(ctx, wiretest.Creds)
		return err
	case "RenewClientSecret":
		_, err := c.Renew(ctx, wiretest.Creds, equifax.RenewRequest{IdempotencyKey: "k"})
		return err
	case "RevokeClientSecret":
		return c.Revoke(ctx, wiretest.Creds, "sec-1")
	}
	panic(op)
}

func TestRetryAfterHeader(t *testing.T) {
	f, srv := newFake(t)
	f.script("GetCredentialInfo", answer{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: faultXML("429.01", "slow down", "")})
	c, _ := newClient(t, srv, nil)
	start := time.Now()
	if _, err := c.Describe(context.Background(), wiretest.Creds); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("retried after %v, before Retry-After", took)
	}
	// Retry-After from the fault's detail when the header is missing.
	f.script("GetCredentialInfo", answer{Status: 429, Body: faultXML("429.01", "slow down", "<RetryAfterSeconds>600</RetryAfterSeconds>")})
	c2, _ := newClient(t, srv, func(o *Options) { o.MaxRetries = -1 })
	_, err := c2.Describe(context.Background(), wiretest.Creds)
	var e *equifax.Error
	if !errors.As(err, &e) || e.RetryAfter != 10*time.Minute {
		t.Fatalf("err = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	f, srv := newFake(t)
	f.script("GetCredentialInfo", answer{Delay: 10 * time.Second})
	c, _ := newClient(t, srv, func(o *Options) { o.Timeout = 200 * time.Millisecond; o.MaxRetries = -1 })
	_, err := c.Describe(context.Background(), wiretest.Creds)
	var e *equifax.Error
	if !errors.As(err, &e) || !errors.Is(err, equifax.ErrTransient) || e.HTTPStatus != 0 {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionRefusedIsScrubbed(t *testing.T) {
	c, err := New(Options{URL: "http://user:hunter2@" + wiretest.ClosedAddr(t) + "/soap?apikey=sekrit", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background(), wiretest.Creds, "")
	if !errors.Is(err, equifax.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	wiretest.AssertScrubbed(t, err, "hunter2", "sekrit")
}

func TestRenewNeedsAKey(t *testing.T) {
	f, srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	if _, err := c.Renew(context.Background(), wiretest.Creds, equifax.RenewRequest{}); !errors.Is(err, equifax.ErrBadRequest) {
		t.Fatalf("err = %v", err)
	}
	if len(f.got("RenewClientSecret")) != 0 {
		t.Fatal("a renew without a key was sent")
	}
}
