package emulator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

const mgmt = DefaultManagementScope

var testStart = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

// newServer starts an emulator on an httptest server.
func newServer(t *testing.T, opts Options) (*Emulator, *httptest.Server) {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = testStart
	}
	e := New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		e.Close()
		srv.Close()
	})
	return e, srv
}

func seed(t *testing.T, e *Emulator, id, secret string) equifax.SecretInfo {
	t.Helper()
	info, err := e.SeedClient(id, secret, time.Time{})
	if err != nil {
		t.Fatalf("SeedClient(%s): %v", id, err)
	}
	return info
}

// result is one contract call's answer, transport-neutral.
type result struct {
	status int
	code   string // efxErrorCode, SOAP ErrorCode or RFC 6749 error; "" on success
	header http.Header
	body   []byte

	eligibleAt string
	retryAfter string // RetryAfterSeconds / additionalErrorDetails.retryAfterSeconds

	token     string
	scope     string
	expiresIn int64

	secretID, secret string
	prevID, prevEnds string
	prevStatus       string

	secrets map[string]string // describe: secret id -> status
}

func (r result) String() string {
	return fmt.Sprintf("status %d code %q body %.300s", r.status, r.code, r.body)
}

// transport performs contract calls over REST or SOAP.
type transport interface {
	name() string
	token(id, secret, scope string) result
	describe(bearer, clientID string) result
	renew(bearer, clientID, key string, graceSeconds int64, force bool) result
	revoke(bearer, clientID, secretID string) result
}

func do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if resp.Header.Get("efx-transaction-id") == "" {
		t.Errorf("%s %s: no efx-transaction-id", req.Method, req.URL.Path)
	}
	return resp.StatusCode, resp.Header, b
}

func newReq(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// ---- REST ----

type restT struct{ srv *httptest.Server }

func (restT) name() string { return "rest" }

func (c restT) call(method, path, bearer string, hdr map[string]string, body string) result {
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode >= 400 {
		r.code, r.eligibleAt, r.retryAfter = restErrorFields(b)
	}
	return r
}

func (c restT) token(id, secret, scope string) result {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, body: b}
	var tb struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Scope       string `json:"scope"`
		Error       string `json:"error"`
	}
	_ = json.Unmarshal(b, &tb)
	r.token, r.expiresIn, r.scope = tb.AccessToken, tb.ExpiresIn, tb.Scope
	if resp.StatusCode >= 400 {
		r.code, r.eligibleAt, r.retryAfter = restErrorFields(b)
	}
	return r
}

// restErrorFields reads an RFC 6749 or efx error body.
func restErrorFields(b []byte) (code, eligibleAt, retryAfter string) {
	var eb struct {
		Error                  string         `json:"error"`
		EfxErrorCode           string         `json:"efxErrorCode"`
		AdditionalErrorDetails map[string]any `json:"additionalErrorDetails"`
	}
	_ = json.Unmarshal(b, &eb)
	code = eb.EfxErrorCode + eb.Error
	if v, ok := eb.AdditionalErrorDetails["eligibleAt"].(string); ok {
		eligibleAt = v
	}
	if v, ok := eb.AdditionalErrorDetails["retryAfterSeconds"].(float64); ok {
		retryAfter = strconv.FormatInt(int64(v), 10)
	}
	return code, eligibleAt, retryAfter
}

func secretsPath(clientID string) string { return ClientsPath + url.PathEscape(clientID) + "/secrets" }

func (c restT) describe(bearer, clientID string) result {
	r := c.call(http.MethodGet, secretsPath(clientID), bearer, nil, "")
	if r.status == http.StatusOK {
		var info equifax.ClientInfo
		if err := json.Unmarshal(r.body, &info); err != nil {
			r.code = "undecodable: " + err.Error()
		}
		r.secrets = map[string]string{}
		for _, s := range info.Secrets {
			r.secrets[s.SecretID] = string(s.Status)
		}
	}
	return r
}

func (c restT) renew(bearer, clientID, key string, grace int64, force bool) result {
	body := map[string]any{}
	if grace != 0 {
		body["gracePeriodSeconds"] = grace
	}
	if force {
		body["force"] = true
	}
	b, _ := json.Marshal(body)
	hdr := map[string]string{}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	r := c.call(http.MethodPost, secretsPath(clientID), bearer, hdr, string(b))
	if r.status == http.StatusCreated {
		var rb renewResponse
		if err := json.Unmarshal(r.body, &rb); err != nil {
			r.code = "undecodable: " + err.Error()
		}
		r.secretID, r.secret = rb.Secret.SecretID, rb.Secret.ClientSecret
		if p := rb.PreviousSecret; p != nil {
			r.prevID, r.prevStatus = p.SecretID, string(p.Status)
			if p.GraceEndsAt != nil {
				r.prevEnds = p.GraceEndsAt.Format(time.RFC3339)
			}
		}
	}
	return r
}

func (c restT) revoke(bearer, clientID, secretID string) result {
	return c.call(http.MethodDelete, secretsPath(clientID)+"/"+url.PathEscape(secretID), bearer, nil, "")
}

// ---- SOAP ----

type soapT struct{ srv *httptest.Server }

func (soapT) name() string { return "soap" }

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func envelope(header, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:efx="urn:efx-emulator:security:v1">` +
		`<soapenv:Header>` + header + `</soapenv:Header><soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
}

func usernameTokenHeader(id, secret string) string {
	return `<wsse:Security xmlns:wsse="` + WSSENS + `" soapenv:mustUnderstand="1"><wsse:UsernameToken>` +
		`<wsse:Username>` + xmlEscape(id) + `</wsse:Username>` +
		`<wsse:Password Type="` + PasswordTextType + `">` + xmlEscape(secret) + `</wsse:Password>` +
		`</wsse:UsernameToken></wsse:Security>`
}

// soapResp is a decoded SOAP answer, response or fault.
type soapResp struct {
	XMLName xml.Name
	Body    struct {
		Fault *struct {
			FaultCode string `xml:"faultcode"`
			Detail    struct {
				SecurityFault struct {
					ErrorCode         string `xml:"ErrorCode"`
					Description       string `xml:"Description"`
					RetryAfterSeconds string `xml:"RetryAfterSeconds"`
					EligibleAt        string `xml:"EligibleAt"`
				} `xml:"urn:efx-emulator:security:v1 SecurityFault"`
			} `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		Token *struct {
			AccessToken string `xml:"AccessToken"`
			TokenType   string `xml:"TokenType"`
			ExpiresIn   int64  `xml:"ExpiresIn"`
			IssuedAt    string `xml:"IssuedAt"`
			Scope       string `xml:"Scope"`
		} `xml:"urn:efx-emulator:security:v1 IssueTokenResponse"`
		Info *struct {
			ClientID string          `xml:"ClientId"`
			Secret   []secretInfoXML `xml:"Secret"`
		} `xml:"urn:efx-emulator:security:v1 GetCredentialInfoResponse"`
		Renew *struct {
			NewSecret      secretInfoXML  `xml:"NewSecret"`
			ClientSecret   string         `xml:"ClientSecret"`
			PreviousSecret *secretInfoXML `xml:"PreviousSecret"`
		} `xml:"urn:efx-emulator:security:v1 RenewClientSecretResponse"`
		Revoke *struct {
			Secret secretInfoXML `xml:"Secret"`
		} `xml:"urn:efx-emulator:security:v1 RevokeClientSecretResponse"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// post sends a raw SOAP request.
func (c soapT) post(action, bearer string, hdr map[string]string, env string) (result, soapResp) {
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+SOAPPath, strings.NewReader(env))
	req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	if action != "" {
		req.Header.Set("SOAPAction", SOAPActionPrefix+action)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, body: b}
	var sr soapResp
	if err := xml.Unmarshal(b, &sr); err != nil && resp.StatusCode == http.StatusOK {
		r.code = "undecodable: " + err.Error()
	}
	if f := sr.Body.Fault; f != nil {
		r.code = f.Detail.SecurityFault.ErrorCode
		r.eligibleAt = f.Detail.SecurityFault.EligibleAt
		r.retryAfter = f.Detail.SecurityFault.RetryAfterSeconds
	}
	return r, sr
}

func (c soapT) token(id, secret, scope string) result {
	r, sr := c.post("IssueToken", "", nil, envelope(usernameTokenHeader(id, secret),
		`<efx:IssueToken><efx:GrantType>client_credentials</efx:GrantType><efx:Scope>`+xmlEscape(scope)+`</efx:Scope></efx:IssueToken>`))
	if t := sr.Body.Token; t != nil {
		r.token, r.expiresIn, r.scope = t.AccessToken, t.ExpiresIn, t.Scope
	}
	return r
}

func (c soapT) describe(bearer, clientID string) result {
	r, sr := c.post("GetCredentialInfo", bearer, nil, envelope("",
		`<efx:GetCredentialInfo><efx:ClientId>`+xmlEscape(clientID)+`</efx:ClientId></efx:GetCredentialInfo>`))
	if i := sr.Body.Info; i != nil {
		r.secrets = map[string]string{}
		for _, s := range i.Secret {
			r.secrets[s.SecretID] = s.Status
		}
	}
	return r
}

func (c soapT) renew(bearer, clientID, key string, grace int64, force bool) result {
	body := `<efx:RenewClientSecret><efx:ClientId>` + xmlEscape(clientID) + `</efx:ClientId>`
	if grace != 0 {
		body += `<efx:GracePeriodSeconds>` + strconv.FormatInt(grace, 10) + `</efx:GracePeriodSeconds>`
	}
	if key != "" {
		body += `<efx:IdempotencyKey>` + xmlEscape(key) + `</efx:IdempotencyKey>`
	}
	if force {
		body += `<efx:Force>true</efx:Force>`
	}
	body += `</efx:RenewClientSecret>`
	r, sr := c.post("RenewClientSecret", bearer, nil, envelope("", body))
	if rn := sr.Body.Renew; rn != nil {
		r.secretID, r.secret = rn.NewSecret.SecretID, rn.ClientSecret
		if p := rn.PreviousSecret; p != nil {
			r.prevID, r.prevStatus, r.prevEnds = p.SecretID, p.Status, p.GraceEndsAt
		}
	}
	return r
}

func (c soapT) revoke(bearer, clientID, secretID string) result {
	r, _ := c.post("RevokeClientSecret", bearer, nil, envelope("",
		`<efx:RevokeClientSecret><efx:ClientId>`+xmlEscape(clientID)+`</efx:ClientId><efx:SecretId>`+xmlEscape(secretID)+`</efx:SecretId></efx:RevokeClientSecret>`))
	return r
}

// mustToken obtains a management token or fails the test.
func mustToken(t *testing.T, tr transport, id, secret string) string {
	t.Helper()
	r := tr.token(id, secret, mgmt)
	if r.token == "" {
		t.Fatalf("%s token for %s: %v", tr.name(), id, r)
	}
	return r.token
}

// wantCode checks a result's contract code and the HTTP status the
// transport should use for it.
func wantCode(t *testing.T, tr transport, r result, code string, restStatus int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: got %v, want code %q", tr.name(), r, code)
	}
	want := restStatus
	if tr.name() == "soap" && code != "" {
		switch restStatus {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			want = http.StatusInternalServerError
		}
	}
	if tr.name() == "soap" && code == "" {
		want = http.StatusOK
	}
	if r.status != want {
		t.Fatalf("%s: got %v, want HTTP %d", tr.name(), r, want)
	}
}

// okStatus is the success status of an operation per transport.
func okStatus(tr transport, rest int) int {
	if tr.name() == "soap" {
		return http.StatusOK
	}
	return rest
}
