package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	gosoap "github.com/hooklift/gowsdl/soap"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/internal/wire"
	"github.com/credrotate/credrotate/pkg/equifax/soap/internal/securitysoap"
)

// maxXMLDepth bounds element nesting in an answer; the contract's deepest
// answer is five levels.
const maxXMLDepth = 32

// maxDescription bounds the server text kept in an error.
const maxDescription = wire.MaxDescription

var errNotXML = errors.New("answer is not a well-formed SOAP document")

// checkXML walks the tokens of an answer once and refuses what a SOAP
// answer must not hold: a DOCTYPE (and so any entity declaration), a
// processing instruction other than the XML declaration, deep nesting, text
// or a second element outside the root, an encoding other than UTF-8.
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
			return errNotXML
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("answer holds a DOCTYPE or entity declaration")
		case xml.ProcInst:
			if t.Target != "xml" {
				return errors.New("answer holds a processing instruction")
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return errNotXML
				}
			}
			depth++
			if depth > maxXMLDepth {
				return errors.New("answer nests elements too deeply")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errNotXML
			}
		}
	}
	if roots != 1 || depth != 0 {
		return errNotXML
	}
	return nil
}

// faultEnvelope is the part of a fault answer the adapter reads.
type faultEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				SecurityFault *struct {
					ErrorCode         string `xml:"ErrorCode"`
					Description       string `xml:"Description"`
					RetryAfterSeconds string `xml:"RetryAfterSeconds"`
					EligibleAt        string `xml:"EligibleAt"`
				} `xml:"urn:efx-emulator:security:v1 SecurityFault"`
			} `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// fault is a decoded SOAP fault.
type fault struct {
	faultCode   string
	code        string
	description string
	retryAfter  time.Duration
	eligibleAt  time.Time
}

// decodeFault reads a SOAP 1.1 fault from an answer's body (gowsdl hands
// the body of any HTTP status >= 400 back as *soap.HTTPError). The body is
// checked first: no DTD, no entities, bounded depth.
func decodeFault(body []byte) (fault, error) {
	if err := checkXML(body); err != nil {
		return fault{}, err
	}
	var env faultEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return fault{}, errNotXML
	}
	if env.Body.Fault == nil {
		return fault{}, errors.New("answer holds no SOAP fault")
	}
	f := fault{faultCode: wire.Clean(env.Body.Fault.Code, 64), description: wire.Text(env.Body.Fault.String)}
	if sf := env.Body.Fault.Detail.SecurityFault; sf != nil {
		f.code = wire.Clean(strings.TrimSpace(sf.ErrorCode), 64)
		if d := wire.Text(strings.TrimSpace(sf.Description)); d != "" {
			f.description = d
		}
		if s, err := strconv.ParseInt(strings.TrimSpace(sf.RetryAfterSeconds), 10, 64); err == nil && s > 0 && s <= 86400 {
			f.retryAfter = time.Duration(s) * time.Second
		}
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(sf.EligibleAt)); err == nil {
			f.eligibleAt = t.UTC()
		}
	}
	return f, nil
}

// kind maps a fault to the contract's sentinel: by its ErrorCode, else by
// soap:Client (the caller's fault) or the HTTP status.
func (f fault) kind(status int) error {
	if f.code == "" && strings.HasSuffix(f.faultCode, "Client") {
		return equifax.ErrBadRequest
	}
	if f.code == "" && strings.HasSuffix(f.faultCode, "Server") && status < 500 {
		return equifax.ErrTransient
	}
	return equifax.KindForCode(f.code, status)
}

// decodeEnvelope decodes a success answer the way gowsdl's client does,
// after the same checks the adapter's HTTP client makes. It exists for the
// fuzz target and for tests; the adapter itself lets gowsdl decode.
func decodeEnvelope(body []byte, content any) error {
	if err := checkXML(body); err != nil {
		return err
	}
	env := gosoap.SOAPEnvelopeResponse{Body: gosoap.SOAPBodyResponse{Content: content, Fault: &gosoap.SOAPFault{}}}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&env); err != nil {
		return errNotXML
	}
	return env.Body.ErrorFromFault()
}

func xsdTime(t gosoap.XSDDateTime) time.Time {
	return t.ToGoTime().UTC()
}

func secretInfo(s *securitysoap.SecretInfo) (equifax.SecretInfo, error) {
	if s == nil {
		return equifax.SecretInfo{}, errors.New("secret missing")
	}
	if s.SecretId == "" {
		return equifax.SecretInfo{}, errors.New("secret without SecretId")
	}
	if s.Status == nil {
		return equifax.SecretInfo{}, fmt.Errorf("secret %s without Status", wire.Clean(s.SecretId, 64))
	}
	st := equifax.Status(strings.TrimSpace(string(*s.Status)))
	switch st {
	case equifax.StatusActive, equifax.StatusRetiring, equifax.StatusRevoked, equifax.StatusExpired:
	default:
		return equifax.SecretInfo{}, fmt.Errorf("secret %s has unknown status %q", wire.Clean(s.SecretId, 64), wire.Clean(string(st), 32))
	}
	out := equifax.SecretInfo{
		SecretID:  wire.Clean(strings.TrimSpace(s.SecretId), 128),
		Status:    st,
		Hint:      wire.Clean(s.Hint, 64),
		CreatedAt: xsdTime(s.CreatedAt),
		ExpiresAt: xsdTime(s.ExpiresAt),
	}
	if out.ExpiresAt.IsZero() || out.CreatedAt.IsZero() {
		return equifax.SecretInfo{}, fmt.Errorf("secret %s without a valid CreatedAt or ExpiresAt", out.SecretID)
	}
	if g := xsdTime(s.GraceEndsAt); !g.IsZero() {
		out.GraceEndsAt = &g
	}
	return out, nil
}

func clientInfo(r *securitysoap.GetCredentialInfoResponse, clientID string) (equifax.ClientInfo, error) {
	if r == nil || strings.TrimSpace(r.ClientId) != clientID {
		return equifax.ClientInfo{}, errors.New("credential info names another client")
	}
	if len(r.Secret) > 64 {
		return equifax.ClientInfo{}, fmt.Errorf("credential info lists %d secrets", len(r.Secret))
	}
	info := equifax.ClientInfo{ClientID: clientID, RenewalEligibleAt: xsdTime(r.RenewalEligibleAt), Secrets: make([]equifax.SecretInfo, 0, len(r.Secret))}
	for _, s := range r.Secret {
		si, err := secretInfo(s)
		if err != nil {
			return equifax.ClientInfo{}, err
		}
		info.Secrets = append(info.Secrets, si)
	}
	return info, nil
}
