// Package redirect is the redirect policy of credrotate's outbound clients
// that carry credentials or fetch what secrets are sealed with: the Equifax
// REST (with its x/oauth2 token call) and SOAP clients, the sealing
// certificate fetch and the webhook.
//
// Go's http.Client follows redirects on its own. It drops Authorization on a
// hop to another domain, but not on a hop from https to http on the same
// host; a transport that sets headers itself (as the Equifax clients' does)
// sets them again on every hop; and on 307 and 308 it sends the request
// body again, which for a token or a SOAP IssueToken call holds the client
// secret. The rule here is simpler than picking those cases apart: a
// redirect is followed only within the origin (scheme, host and port) of
// the first request, never from https to http, and never when it would send
// a request body again. Anything else ends the call with a *RefusedError,
// matched with errors.Is(err, ErrRefused), before a byte goes to the new
// location.
package redirect

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MaxHops is how many redirects within one origin are followed.
const MaxHops = 5

// ErrRefused is what every refused redirect matches with errors.Is.
var ErrRefused = errors.New("redirect refused")

// RefusedError says which redirect was refused and why. Its URLs are
// reduced to scheme, host and path: a hostile Location could carry a query
// or user information worth hiding.
type RefusedError struct {
	// From and To are the redirect's source and target.
	From, To string
	// Status is the redirect's HTTP status (301, 302, 303, 307, 308).
	Status int
	// Reason says which rule refused it.
	Reason string
}

// Error names the hop, the status and the rule.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("redirect refused (HTTP %d from %s to %s): %s", e.Status, e.From, e.To, e.Reason)
}

// Is matches ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// The reasons of a RefusedError.
const (
	ReasonOtherOrigin = "it leads to another origin, and credentials are never sent to another host or scheme"
	ReasonDowngrade   = "it leads from https to plain http"
	ReasonResendBody  = "it would send the request body, which may hold a secret, again"
	ReasonTooMany     = "too many redirects"
)

// Check is an http.Client CheckRedirect implementing the policy.
func Check(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	first, prev := via[0], via[len(via)-1]
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	refuse := func(reason string) error {
		return &RefusedError{From: Clean(prev.URL), To: Clean(req.URL), Status: status, Reason: reason}
	}
	switch {
	case strings.EqualFold(prev.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https"):
		return refuse(ReasonDowngrade)
	case Origin(req.URL) != Origin(first.URL):
		return refuse(ReasonOtherOrigin)
	case (status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect) && hasBody(first):
		return refuse(ReasonResendBody)
	case len(via) > MaxHops:
		return refuse(ReasonTooMany)
	}
	return nil
}

func hasBody(r *http.Request) bool {
	return r.GetBody != nil || (r.Body != nil && r.Body != http.NoBody) || r.ContentLength > 0
}

// Client returns a shallow copy of c (a new client when c is nil) whose
// CheckRedirect applies Check first and then c's own CheckRedirect, if any.
func Client(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = Chain(out.CheckRedirect)
	return &out
}

// Chain returns a CheckRedirect that applies Check, then next (when not
// nil).
func Chain(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if err := Check(req, via); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// Origin is u's scheme, host and port, lower-cased, with the scheme's
// default port filled in.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Clean renders u without user information, query or fragment.
func Clean(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}
