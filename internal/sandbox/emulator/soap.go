package emulator

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/soap/wsdl"
)

// XML namespaces of the SOAP transport.
const (
	SOAPEnvNS   = "http://schemas.xmlsoap.org/soap/envelope/"
	SOAP12EnvNS = "http://www.w3.org/2003/05/soap-envelope"
	ServiceNS   = "urn:efx-emulator:security:v1"
	WSSENS      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	// PasswordTextType is the UsernameToken password type IssueToken accepts.
	PasswordTextType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	// SOAPActionPrefix prefixes every operation's soapAction.
	SOAPActionPrefix = ServiceNS + "/"
)

// soapOps maps a SOAP operation to the contract operation.
var soapOps = map[string]Op{
	"IssueToken":         OpToken,
	"GetCredentialInfo":  OpDescribe,
	"RenewClientSecret":  OpRenew,
	"RevokeClientSecret": OpRevoke,
}

// maxXMLDepth bounds element nesting in a request.
const maxXMLDepth = 32

// soapEnvelope is a decoded request envelope.
type soapEnvelope struct {
	XMLName xml.Name
	Header  *soapHeader `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body    *soapBody   `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	Other   []anyElem   `xml:",any"`
}

type soapHeader struct {
	Security *wsseSecurity `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
}

type wsseSecurity struct {
	UsernameToken *usernameToken `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd UsernameToken"`
}

type usernameToken struct {
	Username *string   `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Username"`
	Password *password `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Password"`
}

type password struct {
	Type  string `xml:"Type,attr"`
	Value string `xml:",chardata"`
}

type soapBody struct {
	ops []opElem
}

type anyElem struct {
	XMLName xml.Name
}

// opElem is the operation element of a request body, with its fields.
type opElem struct {
	XMLName xml.Name
	Fields  []fieldElem `xml:",any"`
	Text    string      `xml:",chardata"`
}

// fieldElem is one field of an operation: a simple value.
type fieldElem struct {
	XMLName  xml.Name
	Value    string    `xml:",chardata"`
	Children []anyElem `xml:",any"`
}

// UnmarshalXML collects every element of the Body, so that a second
// operation is seen rather than overwriting the first.
func (b *soapBody) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var op opElem
			if err := d.DecodeElement(&op, &t); err != nil {
				return err
			}
			b.ops = append(b.ops, op)
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text in the SOAP Body")
			}
		}
	}
}

// operation returns the one operation element in the body.
func (b *soapBody) operation() (*opElem, error) {
	if len(b.ops) != 1 {
		return nil, errors.New("the SOAP body must hold exactly one operation element")
	}
	op := &b.ops[0]
	if op.XMLName.Space != ServiceNS {
		return nil, fmt.Errorf("the operation element <%s> is not in namespace %s", op.XMLName.Local, ServiceNS)
	}
	if _, ok := soapOps[op.XMLName.Local]; !ok {
		return nil, fmt.Errorf("unknown operation element <%s>", op.XMLName.Local)
	}
	return op, nil
}

// fields returns the operation's fields by name: each in the service
// namespace, one of allowed, given once, holding text only.
func (op *opElem) fields(allowed ...string) (map[string]string, *apiError) {
	if strings.TrimSpace(op.Text) != "" {
		return nil, badRequest("text directly inside <%s>", op.XMLName.Local)
	}
	out := map[string]string{}
	for _, f := range op.Fields {
		name := f.XMLName.Local
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if f.XMLName.Space != ServiceNS || !known {
			return nil, badRequest("unexpected element <%s> in <%s>", name, op.XMLName.Local)
		}
		if _, dup := out[name]; dup {
			return nil, badRequest("element <%s> is repeated", name)
		}
		if len(f.Children) > 0 {
			return nil, badRequest("element <%s> must hold text only", name)
		}
		out[name] = strings.TrimSpace(f.Value)
	}
	return out, nil
}

// errSOAPVersion marks an envelope of another SOAP version.
var errSOAPVersion = errors.New("only SOAP 1.1 envelopes are accepted")

// parseEnvelope decodes a SOAP 1.1 request envelope safely: no DOCTYPE, no
// entity but XML's own, bounded depth, one root element.
func parseEnvelope(body []byte) (*soapEnvelope, error) {
	if len(body) > maxBody {
		return nil, errBodyTooLarge
	}
	if err := checkXML(body); err != nil {
		return nil, err
	}
	var env soapEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the request is not well-formed XML")
	}
	if env.XMLName.Local != "Envelope" {
		return nil, errors.New("the root element is not a SOAP Envelope")
	}
	if env.XMLName.Space == SOAP12EnvNS {
		return nil, errSOAPVersion
	}
	if env.XMLName.Space != SOAPEnvNS {
		return nil, errors.New("the Envelope is not in the SOAP 1.1 namespace")
	}
	if len(env.Other) > 0 {
		return nil, fmt.Errorf("unexpected element <%s> in the Envelope", env.Other[0].XMLName.Local)
	}
	if env.Body == nil {
		return nil, errors.New("the Envelope has no Body")
	}
	return &env, nil
}

// checkXML walks the tokens once, refusing what a SOAP request must not
// hold: a DOCTYPE (and so any entity declaration), processing instructions
// other than the XML declaration, deep nesting, content outside the root.
func checkXML(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errors.New("the request is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("DOCTYPE and entity declarations are not accepted")
		case xml.ProcInst:
			if t.Target != "xml" {
				return errors.New("processing instructions are not accepted")
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return errors.New("the request has more than one root element")
				}
			}
			depth++
			if depth > maxXMLDepth {
				return errors.New("the request nests elements too deeply")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root element")
			}
		}
	}
	if roots != 1 || depth != 0 {
		return errors.New("the request is not a complete XML document")
	}
	return nil
}

// soapFault is a SOAP 1.1 fault with a SecurityFault detail.
type soapFault struct {
	XMLName     xml.Name `xml:"soap:Fault"`
	FaultCode   string   `xml:"faultcode"`
	FaultString string   `xml:"faultstring"`
	Detail      struct {
		SecurityFault securityFault
	} `xml:"detail"`
}

type securityFault struct {
	XMLName           xml.Name `xml:"urn:efx-emulator:security:v1 SecurityFault"`
	ErrorCode         string   `xml:"ErrorCode"`
	Description       string   `xml:"Description"`
	RetryAfterSeconds *int64   `xml:"RetryAfterSeconds,omitempty"`
	EligibleAt        string   `xml:"EligibleAt,omitempty"`
}

// soapReply wraps content in a SOAP 1.1 envelope.
func soapReply(status int, content any) *reply {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString(`<soap:Envelope xmlns:soap="` + SOAPEnvNS + `"><soap:Body>`)
	if err := xml.NewEncoder(&buf).Encode(content); err != nil {
		panic("emulator: encoding XML: " + err.Error())
	}
	buf.WriteString(`</soap:Body></soap:Envelope>`)
	rp := &reply{status: status, body: buf.Bytes()}
	rp.set("Content-Type", "text/xml; charset=utf-8")
	return rp
}

// soapError renders a contract error as a SOAP fault: HTTP 500, or the
// throttling and gateway statuses 429, 503 and 504.
func soapError(ae *apiError) *reply {
	f := soapFault{FaultCode: "soap:Client", FaultString: ae.desc}
	if ae.status >= 500 {
		f.FaultCode = "soap:Server"
	}
	f.Detail.SecurityFault = securityFault{ErrorCode: ae.code, Description: ae.desc}
	if ae.retryAfter > 0 {
		s := retryAfterSeconds(ae.retryAfter)
		f.Detail.SecurityFault.RetryAfterSeconds = &s
	}
	if !ae.eligibleAt.IsZero() {
		f.Detail.SecurityFault.EligibleAt = xmlTime(ae.eligibleAt)
	}
	status := http.StatusInternalServerError
	switch ae.status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusMethodNotAllowed:
		status = ae.status
	}
	rp := soapReply(status, f)
	if ae.retryAfter > 0 {
		rp.set("Retry-After", strconv.FormatInt(retryAfterSeconds(ae.retryAfter), 10))
	}
	if ae.allow != "" {
		rp.set("Allow", ae.allow)
	}
	rp.code = ae.code
	return rp
}

func soapMalformed() *reply {
	rp := &reply{status: http.StatusOK, body: []byte(`<?xml version="1.0"?><soap:Envelope xmlns:soap="` + SOAPEnvNS + `"><soap:Body><Resp`), code: "malformed"}
	rp.set("Content-Type", "text/xml; charset=utf-8")
	return rp
}

func xmlTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// soapAction returns the operation named by the SOAPAction header.
func soapAction(r *http.Request) (string, bool) {
	v := strings.TrimSpace(r.Header.Get("SOAPAction"))
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	name, ok := strings.CutPrefix(v, SOAPActionPrefix)
	if !ok {
		return "", false
	}
	_, known := soapOps[name]
	return name, known
}

func (e *Emulator) routeSOAP(r *http.Request) routed {
	rt := routed{fail: soapError, malformed: soapMalformed}
	if r.Method != http.MethodPost {
		rt.rep = soapError(methodNotAllowed(http.MethodPost))
		return rt
	}
	name, ok := soapAction(r)
	if !ok {
		rt.rep = soapError(badRequest("the SOAPAction header must name an operation: %s<Operation>", SOAPActionPrefix))
		return rt
	}
	rt.op = soapOps[name]
	rt.run = func() *reply { return e.soapCall(r, name) }
	return rt
}

func (e *Emulator) soapCall(r *http.Request, action string) *reply {
	if mt := mediaType(r); mt != "text/xml" {
		return soapError(badRequest("Content-Type must be text/xml for SOAP 1.1"))
	}
	body, err := readBody(r)
	if err != nil {
		return soapError(badRequest("request body unreadable or larger than %d bytes", maxBody))
	}
	env, err := parseEnvelope(body)
	if err != nil {
		rp := soapError(badRequest("%s", err.Error()))
		if errors.Is(err, errSOAPVersion) {
			rp = soapReply(http.StatusInternalServerError, soapFault{FaultCode: "soap:VersionMismatch", FaultString: err.Error()})
			rp.code = "VersionMismatch"
		}
		return rp
	}
	op, err := env.Body.operation()
	if err != nil {
		return soapError(badRequest("%s", err.Error()))
	}
	if name := op.XMLName.Local; name != action {
		return soapError(badRequest("the SOAPAction names %s but the body holds %s", action, name))
	}
	bearer := bearerToken(r)
	switch action {
	case "IssueToken":
		return e.soapIssueToken(env, op)
	case "GetCredentialInfo":
		return e.soapDescribe(op, bearer)
	case "RenewClientSecret":
		return e.soapRenew(r, op, bearer)
	default:
		return e.soapRevoke(op, bearer)
	}
}

type issueTokenResp struct {
	XMLName     xml.Name `xml:"urn:efx-emulator:security:v1 IssueTokenResponse"`
	AccessToken string   `xml:"AccessToken"`
	TokenType   string   `xml:"TokenType"`
	ExpiresIn   int64    `xml:"ExpiresIn"`
	IssuedAt    string   `xml:"IssuedAt"`
	Scope       string   `xml:"Scope"`
}

func (e *Emulator) soapIssueToken(env *soapEnvelope, op *opElem) *reply {
	req, ae := op.fields("GrantType", "Scope")
	if ae != nil {
		return soapError(ae)
	}
	var ut *usernameToken
	if env.Header != nil && env.Header.Security != nil {
		ut = env.Header.Security.UsernameToken
	}
	if ut == nil || ut.Username == nil || ut.Password == nil {
		return soapError(oauthError(http.StatusUnauthorized, "invalid_client", "a WS-Security UsernameToken is required"))
	}
	if t := strings.TrimSpace(ut.Password.Type); t != "" && t != PasswordTextType {
		return soapError(oauthError(http.StatusUnauthorized, "invalid_client", "only PasswordText UsernameTokens are accepted"))
	}
	id := strings.TrimSpace(*ut.Username)
	g, ae := e.issueToken(id, ut.Password.Value, req["GrantType"], req["Scope"])
	if ae != nil {
		rp := soapError(ae)
		rp.client = id
		return rp
	}
	rp := soapReply(http.StatusOK, issueTokenResp{
		AccessToken: g.accessToken,
		TokenType:   "Bearer",
		ExpiresIn:   g.expiresIn,
		IssuedAt:    xmlTime(g.issuedAt),
		Scope:       g.scope,
	})
	rp.set("Cache-Control", "no-store")
	rp.client = id
	return rp
}

type secretInfoXML struct {
	SecretID    string `xml:"SecretId"`
	Status      string `xml:"Status"`
	Hint        string `xml:"Hint,omitempty"`
	CreatedAt   string `xml:"CreatedAt"`
	ExpiresAt   string `xml:"ExpiresAt"`
	GraceEndsAt string `xml:"GraceEndsAt,omitempty"`
}

func toSecretXML(s equifax.SecretInfo) secretInfoXML {
	x := secretInfoXML{
		SecretID:  s.SecretID,
		Status:    string(s.Status),
		Hint:      s.Hint,
		CreatedAt: xmlTime(s.CreatedAt),
		ExpiresAt: xmlTime(s.ExpiresAt),
	}
	if s.GraceEndsAt != nil {
		x.GraceEndsAt = xmlTime(*s.GraceEndsAt)
	}
	return x
}

type getCredInfoResp struct {
	XMLName           xml.Name        `xml:"urn:efx-emulator:security:v1 GetCredentialInfoResponse"`
	ClientID          string          `xml:"ClientId"`
	RenewalEligibleAt string          `xml:"RenewalEligibleAt"`
	Secret            []secretInfoXML `xml:"Secret"`
}

func (e *Emulator) soapDescribe(op *opElem, bearer string) *reply {
	req, ae := op.fields("ClientId")
	if ae != nil {
		return soapError(ae)
	}
	clientID := req["ClientId"]
	info, ae := e.describe(bearer, clientID)
	if ae != nil {
		return withClient(soapError(ae), clientID)
	}
	resp := getCredInfoResp{ClientID: info.ClientID, RenewalEligibleAt: xmlTime(info.RenewalEligibleAt)}
	for _, s := range info.Secrets {
		resp.Secret = append(resp.Secret, toSecretXML(s))
	}
	return withClient(soapReply(http.StatusOK, resp), clientID)
}

func withClient(rp *reply, clientID string) *reply {
	rp.client = clientID
	return rp
}

type renewSecretResp struct {
	XMLName        xml.Name       `xml:"urn:efx-emulator:security:v1 RenewClientSecretResponse"`
	ClientID       string         `xml:"ClientId"`
	NewSecret      secretInfoXML  `xml:"NewSecret"`
	ClientSecret   string         `xml:"ClientSecret"`
	PreviousSecret *secretInfoXML `xml:"PreviousSecret,omitempty"`
}

// parseSOAPRenew turns RenewClientSecret fields into renew parameters;
// headerKey is the HTTP Idempotency-Key header, accepted as well.
func parseSOAPRenew(req map[string]string, headerKey string) (renewParams, *apiError) {
	var p renewParams
	if v, ok := req["GracePeriodSeconds"]; ok {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil || g < 0 || g > int64((1<<62)/time.Second) {
			return p, badRequest("GracePeriodSeconds must be a non-negative number of seconds")
		}
		p.grace, p.graceSet = time.Duration(g)*time.Second, true
	}
	if v, ok := req["Force"]; ok {
		switch v {
		case "true", "1":
			p.force = true
		case "false", "0":
		default:
			return p, badRequest("Force must be an xs:boolean")
		}
	}
	p.idempotencyKey = req["IdempotencyKey"]
	if headerKey != "" {
		if p.idempotencyKey != "" && p.idempotencyKey != headerKey {
			return p, badRequest("the IdempotencyKey element and the Idempotency-Key header differ")
		}
		p.idempotencyKey = headerKey
	}
	return p, nil
}

func (e *Emulator) soapRenew(r *http.Request, op *opElem, bearer string) *reply {
	req, ae := op.fields("ClientId", "GracePeriodSeconds", "IdempotencyKey", "Force")
	if ae != nil {
		return soapError(ae)
	}
	clientID := req["ClientId"]
	if ae := e.authorize(bearer, clientID); ae != nil {
		return withClient(soapError(ae), clientID)
	}
	p, ae := parseSOAPRenew(req, r.Header.Get("Idempotency-Key"))
	if ae != nil {
		return withClient(soapError(ae), clientID)
	}
	res, _, ae := e.renew(bearer, clientID, p)
	if ae != nil {
		return withClient(soapError(ae), clientID)
	}
	resp := renewSecretResp{ClientID: res.clientID, NewSecret: toSecretXML(res.secret), ClientSecret: res.value}
	if res.previous != nil {
		ps := toSecretXML(*res.previous)
		resp.PreviousSecret = &ps
	}
	rp := soapReply(http.StatusOK, resp)
	rp.set("Cache-Control", "no-store")
	return withClient(rp, clientID)
}

type revokeSecretResp struct {
	XMLName xml.Name      `xml:"urn:efx-emulator:security:v1 RevokeClientSecretResponse"`
	Secret  secretInfoXML `xml:"Secret"`
}

func (e *Emulator) soapRevoke(op *opElem, bearer string) *reply {
	req, ae := op.fields("ClientId", "SecretId")
	if ae != nil {
		return soapError(ae)
	}
	clientID, secretID := req["ClientId"], req["SecretId"]
	if ae := e.authorize(bearer, clientID); ae != nil {
		return withClient(soapError(ae), clientID)
	}
	if secretID == "" {
		return withClient(soapError(badRequest("SecretId is required")), clientID)
	}
	info, ae := e.revoke(bearer, clientID, secretID)
	if ae != nil {
		return withClient(soapError(ae), clientID)
	}
	return withClient(soapReply(http.StatusOK, revokeSecretResp{Secret: toSecretXML(info)}), clientID)
}

func isWSDLQuery(q string) bool { return strings.EqualFold(q, "wsdl") }

var soapAddress = regexp.MustCompile(`(<soap:address\s+location=")[^"]*(")`)

// WSDLFor returns the WSDL with its soap:address set to base (scheme and
// host, such as "http://127.0.0.1:8089") + the SOAP path.
func WSDLFor(base string) []byte {
	var loc bytes.Buffer
	_ = xml.EscapeText(&loc, []byte(strings.TrimSuffix(base, "/")+SOAPPath))
	// Literal replacement: the address must not be read as a template.
	return soapAddress.ReplaceAllFunc(wsdl.WSDL, func(m []byte) []byte {
		sub := soapAddress.FindSubmatch(m)
		return append(append(append([]byte{}, sub[1]...), loc.Bytes()...), sub[2]...)
	})
}

func (e *Emulator) serveWSDL(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "\"<>&' /\\") {
		writeReply(w, soapError(badRequest("the request has no usable Host")))
		return
	}
	rp := &reply{status: http.StatusOK, body: WSDLFor(scheme + "://" + host)}
	rp.set("Content-Type", "text/xml; charset=utf-8")
	writeReply(w, rp)
}
