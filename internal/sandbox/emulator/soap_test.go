package emulator

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gsoap "github.com/hooklift/gowsdl/soap"

	"github.com/credrotate/credrotate/pkg/equifax/soap/wsdl"
)

func TestSOAPRequestValidation(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	tr := soapT{srv}
	tok := mustToken(t, tr, "demo", "s3cret")
	describe := `<efx:GetCredentialInfo><efx:ClientId>demo</efx:ClientId></efx:GetCredentialInfo>`
	for _, tc := range []struct {
		name      string
		action    string
		ctype     string
		method    string
		body      string
		status    int
		faultCode string
		code      string
	}{
		{name: "well-formed", action: "GetCredentialInfo", body: envelope("", describe), status: 200},
		{name: "quoted SOAPAction", action: `"` + SOAPActionPrefix + `GetCredentialInfo"`, body: envelope("", describe), status: 200},
		{name: "no SOAPAction", action: "-", body: envelope("", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "unknown SOAPAction", action: "urn:efx-emulator:security:v1/Delete", body: envelope("", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "SOAPAction and body differ", action: "RevokeClientSecret", body: envelope("", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "SOAP 1.2 content type", action: "GetCredentialInfo", ctype: "application/soap+xml", body: envelope("", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "SOAP 1.2 envelope", action: "GetCredentialInfo",
			body:   `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + describe + `</env:Body></env:Envelope>`,
			status: 500, faultCode: "soap:VersionMismatch"},
		{name: "not an envelope", action: "GetCredentialInfo", body: `<Envelope/>`, status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "no body", action: "GetCredentialInfo", body: `<s:Envelope xmlns:s="` + SOAPEnvNS + `"/>`, status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "empty body", action: "GetCredentialInfo", body: envelope("", ""), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "two operations", action: "GetCredentialInfo", body: envelope("", describe+describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "unknown operation", action: "GetCredentialInfo", body: envelope("", `<efx:Delete/>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "operation in another namespace", action: "GetCredentialInfo", body: envelope("", `<GetCredentialInfo xmlns="urn:other"><ClientId>demo</ClientId></GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "unqualified field", action: "GetCredentialInfo", body: envelope("", `<efx:GetCredentialInfo><ClientId>demo</ClientId></efx:GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "unknown field", action: "GetCredentialInfo", body: envelope("", `<efx:GetCredentialInfo><efx:ClientId>demo</efx:ClientId><efx:Extra/></efx:GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "repeated field", action: "GetCredentialInfo", body: envelope("", `<efx:GetCredentialInfo><efx:ClientId>demo</efx:ClientId><efx:ClientId>other</efx:ClientId></efx:GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "nested field", action: "GetCredentialInfo", body: envelope("", `<efx:GetCredentialInfo><efx:ClientId><efx:x>demo</efx:x></efx:ClientId></efx:GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "text in the body", action: "GetCredentialInfo", body: envelope("", `hello`+describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "default namespace", action: "GetCredentialInfo", body: envelope("", `<GetCredentialInfo xmlns="urn:efx-emulator:security:v1"><ClientId>demo</ClientId></GetCredentialInfo>`), status: 200},
		{name: "DOCTYPE", action: "GetCredentialInfo", body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + envelope("", describe)[len(`<?xml version="1.0" encoding="UTF-8"?>`):], status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "entity reference", action: "GetCredentialInfo", body: envelope("", `<efx:GetCredentialInfo><efx:ClientId>&xxe;</efx:ClientId></efx:GetCredentialInfo>`), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "processing instruction", action: "GetCredentialInfo", body: envelope("<?evil x?>", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "deep nesting", action: "GetCredentialInfo", body: envelope(strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100), describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "trailing element", action: "GetCredentialInfo", body: envelope("", describe) + "<x/>", status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "truncated", action: "GetCredentialInfo", body: envelope("", describe)[:80], status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "too large", action: "GetCredentialInfo", body: envelope("<!--"+strings.Repeat("x", maxBody)+"-->", describe), status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "other charset", action: "GetCredentialInfo", body: `<?xml version="1.0" encoding="ISO-8859-1"?>` + envelope("", describe)[len(`<?xml version="1.0" encoding="UTF-8"?>`):], status: 500, faultCode: "soap:Client", code: "400.01"},
		{name: "GET without ?wsdl", method: http.MethodGet, status: 405, faultCode: "soap:Client", code: "405.01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := newReq(t, method, srv.URL+SOAPPath, strings.NewReader(tc.body))
			ctype := tc.ctype
			if ctype == "" {
				ctype = "text/xml; charset=utf-8"
			}
			req.Header.Set("Content-Type", ctype)
			switch {
			case tc.action == "-":
			case strings.Contains(tc.action, ":"):
				req.Header.Set("SOAPAction", tc.action)
			default:
				req.Header.Set("SOAPAction", SOAPActionPrefix+tc.action)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			status, hdr, body := do(t, req)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
			if tc.status == 200 {
				return
			}
			var sr soapResp
			if err := xml.Unmarshal(body, &sr); err != nil || sr.Body.Fault == nil {
				t.Fatalf("not a SOAP fault (%v): %s", err, body)
			}
			f := sr.Body.Fault
			if f.FaultCode != tc.faultCode || f.Detail.SecurityFault.ErrorCode != tc.code {
				t.Fatalf("fault %s / %s, want %s / %s: %s", f.FaultCode, f.Detail.SecurityFault.ErrorCode, tc.faultCode, tc.code, body)
			}
		})
	}
}

func TestSOAPIssueTokenAuthentication(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cr<e>t&")
	tr := soapT{srv}
	op := func(grant string) string {
		return `<efx:IssueToken>` + grant + `<efx:Scope>` + mgmt + `</efx:Scope></efx:IssueToken>`
	}
	grant := `<efx:GrantType>client_credentials</efx:GrantType>`
	wsse := func(inner string) string {
		return `<wsse:Security xmlns:wsse="` + WSSENS + `"><wsse:UsernameToken>` + inner + `</wsse:UsernameToken></wsse:Security>`
	}
	for _, tc := range []struct {
		name, header, body, code string
	}{
		{"password text", usernameTokenHeader("demo", "s3cr<e>t&"), op(grant), ""},
		{"password without type", wsse(`<wsse:Username>demo</wsse:Username><wsse:Password>s3cr&lt;e&gt;t&amp;</wsse:Password>`), op(grant), ""},
		{"no header", "", op(grant), "invalid_client"},
		{"no password", wsse(`<wsse:Username>demo</wsse:Username>`), op(grant), "invalid_client"},
		{"password digest", wsse(`<wsse:Username>demo</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">x</wsse:Password>`), op(grant), "invalid_client"},
		{"wrong namespace", `<Security xmlns="urn:other"><UsernameToken><Username>demo</Username><Password>s3cr&lt;e&gt;t&amp;</Password></UsernameToken></Security>`, op(grant), "invalid_client"},
		{"wrong password", usernameTokenHeader("demo", "nope"), op(grant), "invalid_client"},
		{"no grant type", usernameTokenHeader("demo", "s3cr<e>t&"), op(""), "invalid_request"},
		{"password grant", usernameTokenHeader("demo", "s3cr<e>t&"), op(`<efx:GrantType>password</efx:GrantType>`), "unsupported_grant_type"},
		{"unknown scope", usernameTokenHeader("demo", "s3cr<e>t&"), `<efx:IssueToken>` + grant + `<efx:Scope>x</efx:Scope></efx:IssueToken>`, "invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, sr := tr.post("IssueToken", "", nil, envelope(tc.header, tc.body))
			if r.code != tc.code {
				t.Fatalf("%v, want code %q", r, tc.code)
			}
			if tc.code == "" {
				tk := sr.Body.Token
				if r.status != 200 || tk == nil || tk.AccessToken == "" || tk.TokenType != "Bearer" || tk.ExpiresIn != 1800 || tk.Scope != mgmt {
					t.Fatalf("IssueToken answer %v", r)
				}
				if tk.IssuedAt != e.Now().Format(time.RFC3339) {
					t.Fatalf("IssuedAt %s, want %s", tk.IssuedAt, e.Now().Format(time.RFC3339))
				}
			} else if r.status != 500 || sr.Body.Fault.FaultCode != "soap:Client" {
				t.Fatalf("fault %v", r)
			}
		})
	}
}

func TestWSDLServedWithItsOwnAddress(t *testing.T) {
	_, srv := newServer(t, Options{})
	status, hdr, body := do(t, newReq(t, http.MethodGet, srv.URL+SOAPPath+"?wsdl", nil))
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
		t.Fatalf("GET ?wsdl: %d %s", status, hdr.Get("Content-Type"))
	}
	want := `<soap:address location="` + srv.URL + SOAPPath + `"/>`
	if !bytes.Contains(body, []byte(want)) {
		t.Fatalf("served WSDL lacks %s", want)
	}
	if bytes.Count(body, []byte("<soap:address")) != 1 {
		t.Fatal("the WSDL should have exactly one soap:address")
	}
	// Only the address differs from the committed WSDL.
	if !bytes.Equal(soapAddress.ReplaceAll(body, nil), soapAddress.ReplaceAll(wsdl.WSDL, nil)) {
		t.Fatal("the served WSDL differs from the committed one beyond its address")
	}
	checkWSDL(t, body)

	// The address follows the Host the request came in on.
	e := New(Options{})
	req := httptest.NewRequest(http.MethodGet, "http://emu.example:9443"+SOAPPath+"?WSDL", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `location="http://emu.example:9443`+SOAPPath+`"`) {
		t.Fatalf("WSDL for Host emu.example:9443: %s", rec.Body.String())
	}
	req.Host = `evil"><x`
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code == 200 {
		t.Fatal("a Host that would break the XML was served")
	}
}

// checkWSDL checks the WSDL names the four operations with the contract's
// soapActions.
func checkWSDL(t *testing.T, doc []byte) {
	t.Helper()
	var defs struct {
		TargetNamespace string `xml:"targetNamespace,attr"`
		Binding         struct {
			Operations []struct {
				Name      string `xml:"name,attr"`
				Operation struct {
					SOAPAction string `xml:"soapAction,attr"`
				} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ operation"`
			} `xml:"http://schemas.xmlsoap.org/wsdl/ operation"`
		} `xml:"http://schemas.xmlsoap.org/wsdl/ binding"`
	}
	if err := xml.Unmarshal(doc, &defs); err != nil {
		t.Fatalf("WSDL: %v", err)
	}
	if defs.TargetNamespace != ServiceNS {
		t.Errorf("targetNamespace %q", defs.TargetNamespace)
	}
	got := map[string]string{}
	for _, o := range defs.Binding.Operations {
		got[o.Name] = o.Operation.SOAPAction
	}
	for name := range soapOps {
		if got[name] != SOAPActionPrefix+name {
			t.Errorf("operation %s has soapAction %q", name, got[name])
		}
	}
	if len(got) != len(soapOps) {
		t.Errorf("operations %v", got)
	}
}

// A stock SOAP client, gowsdl's runtime, against the emulator: IssueToken
// with its WS-Security header, then GetCredentialInfo with a Bearer header.

type gIssueToken struct {
	XMLName   xml.Name `xml:"urn:efx-emulator:security:v1 IssueToken"`
	GrantType string   `xml:"GrantType"`
	Scope     string   `xml:"Scope"`
}

type gIssueTokenResponse struct {
	XMLName     xml.Name          `xml:"urn:efx-emulator:security:v1 IssueTokenResponse"`
	AccessToken string            `xml:"AccessToken"`
	ExpiresIn   int64             `xml:"ExpiresIn"`
	IssuedAt    gsoap.XSDDateTime `xml:"IssuedAt"`
}

type gGetCredentialInfo struct {
	XMLName  xml.Name `xml:"urn:efx-emulator:security:v1 GetCredentialInfo"`
	ClientID string   `xml:"ClientId"`
}

type gSecretInfo struct {
	SecretID  string            `xml:"SecretId"`
	Status    string            `xml:"Status"`
	ExpiresAt gsoap.XSDDateTime `xml:"ExpiresAt"`
}

type gGetCredentialInfoResponse struct {
	XMLName           xml.Name          `xml:"urn:efx-emulator:security:v1 GetCredentialInfoResponse"`
	ClientID          string            `xml:"ClientId"`
	RenewalEligibleAt gsoap.XSDDateTime `xml:"RenewalEligibleAt"`
	Secret            []gSecretInfo     `xml:"Secret"`
}

func TestGowsdlRuntimeClient(t *testing.T) {
	e, srv := newServer(t, Options{})
	first := seed(t, e, "demo", "s3cret")
	ctx := context.Background()

	c := gsoap.NewClient(srv.URL + SOAPPath)
	c.AddHeader(gsoap.NewWSSSecurityHeader("demo", "s3cret", "", "1"))
	var tok gIssueTokenResponse
	if err := c.CallContext(ctx, SOAPActionPrefix+"IssueToken", &gIssueToken{GrantType: "client_credentials", Scope: mgmt}, &tok); err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	if tok.AccessToken == "" || tok.ExpiresIn != 1800 || !tok.IssuedAt.ToGoTime().Equal(e.Now()) {
		t.Fatalf("IssueToken answer %+v", tok)
	}

	c2 := gsoap.NewClient(srv.URL+SOAPPath, gsoap.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok.AccessToken}))
	var info gGetCredentialInfoResponse
	if err := c2.CallContext(ctx, SOAPActionPrefix+"GetCredentialInfo", &gGetCredentialInfo{ClientID: "demo"}, &info); err != nil {
		t.Fatalf("GetCredentialInfo: %v", err)
	}
	if info.ClientID != "demo" || len(info.Secret) != 1 || info.Secret[0].SecretID != first.SecretID ||
		info.Secret[0].Status != "ACTIVE" || !info.Secret[0].ExpiresAt.ToGoTime().Equal(first.ExpiresAt) {
		t.Fatalf("GetCredentialInfo answer %+v", info)
	}

	// A fault reaches gowsdl as an HTTP error whose body holds the fault.
	err := c2.CallContext(ctx, SOAPActionPrefix+"GetCredentialInfo", &gGetCredentialInfo{ClientID: "other"}, &info)
	var he *gsoap.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 500 || !bytes.Contains(he.ResponseBody, []byte("<ErrorCode>403.01</ErrorCode>")) {
		t.Fatalf("fault: %v", err)
	}
}

func TestParseEnvelopeRejectsEntityExpansion(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		`<soap:Envelope xmlns:soap="` + SOAPEnvNS + `"><soap:Body>&lol2;</soap:Body></soap:Envelope>`
	if _, err := parseEnvelope([]byte(laughs)); err == nil {
		t.Fatal("a DOCTYPE with entities was accepted")
	}
	if _, err := parseEnvelope(bytes.Repeat([]byte("x"), maxBody+1)); !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("oversized envelope: %v", err)
	}
}

func TestWSDLOverTLSSaysHTTPS(t *testing.T) {
	e := New(Options{})
	srv := httptest.NewTLSServer(e)
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + SOAPPath + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(srv.URL, "https://") || !bytes.Contains(body, []byte(`location="`+srv.URL+SOAPPath+`"`)) {
		t.Fatalf("WSDL over TLS does not point at %s", srv.URL)
	}
}
