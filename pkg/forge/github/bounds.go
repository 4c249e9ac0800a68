package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/forge"
)

// Bounds on what one server answer may cost. GitHub's own answers stay far
// below them; a hostile or broken server (or something that is not GitHub's
// API at all) meets them and gets a named error instead of the run's memory
// or time.
const (
	// DefaultMaxResponseBytes caps every response body (REST, GraphQL and
	// the App token exchange).
	DefaultMaxResponseBytes = 10 << 20
	// DefaultMaxPages caps the pages one paginated list may take.
	DefaultMaxPages = 50
	// DefaultMaxItems caps the items one paginated list may return, over all
	// its pages.
	DefaultMaxItems = 5000
	// DefaultTimeout is the per-request timeout: the whole answer, body
	// included, must arrive within it, so a slow drip ends.
	DefaultTimeout = 30 * time.Second
)

// ResponseTooLargeError reports a response body over the size cap. It
// matches forge.ErrResponseTooLarge.
type ResponseTooLargeError struct {
	// Method and Path name the request (no query, no host credentials).
	Method, Path string
	// Limit is the cap in bytes.
	Limit int64
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("GitHub's answer to %s %s is larger than %s: it was not decoded (is github.apiURL GitHub's API?)",
		e.Method, e.Path, formatBytes(e.Limit))
}

// Is makes ResponseTooLargeError match forge.ErrResponseTooLarge.
func (e *ResponseTooLargeError) Is(target error) bool { return target == forge.ErrResponseTooLarge }

// ListTooLongError reports a paginated list that went past the page or item
// cap. It matches forge.ErrTooManyPages.
type ListTooLongError struct {
	Op                 string
	Pages, Items       int
	MaxPages, MaxItems int
	// Loop is set when rel="next" pointed back at a page already read.
	Loop bool
}

func (e *ListTooLongError) Error() string {
	if e.Loop {
		return fmt.Sprintf("%s: GitHub's rel=\"next\" link points back at page %d: the list never ends; nothing was acted on", e.Op, e.Pages)
	}
	return fmt.Sprintf("%s: the list went on past %d pages or %d items (read %d pages, %d items): an endless rel=\"next\" or a repository with more open items than credrotate reads; nothing was acted on",
		e.Op, e.MaxPages, e.MaxItems, e.Pages, e.Items)
}

// Is makes ListTooLongError match forge.ErrTooManyPages.
func (e *ListTooLongError) Is(target error) bool { return target == forge.ErrTooManyPages }

// RedirectError reports a redirect the client refused to follow. It
// matches forge.ErrRedirectRefused.
type RedirectError struct {
	// From and To are the origins (scheme://host[:port]) of the hop.
	From, To string
}

func (e *RedirectError) Error() string {
	if strings.HasPrefix(e.From, "https://") && strings.HasPrefix(e.To, "http://") {
		return fmt.Sprintf("GitHub at %s redirected to %s: a downgrade from https to http is never followed, and no credential was sent there", e.From, e.To)
	}
	return fmt.Sprintf("GitHub at %s redirected to another origin, %s: credrotate follows redirects only within the API's own origin and sent no credential there (point github.apiURL at the final address)", e.From, e.To)
}

// Is makes RedirectError match forge.ErrRedirectRefused.
func (e *RedirectError) Is(target error) bool { return target == forge.ErrRedirectRefused }

// origin is scheme://host:port with the default port made explicit, the
// unit credentials are bound to.
func origin(u *url.URL) string { return redirect.Origin(u) }

// printableOrigin is origin without the default port, for messages.
func printableOrigin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// checkRedirect is the API clients' redirect policy: a hop is followed only
// when it stays within the origin of the request that started the chain (so
// a renamed repository's 301 to /repositories/{id} still works). Another
// host, another port, and above all https to http are refused. GitHub's API
// itself redirects across origins only for downloads (archives, release
// assets, logs), which credrotate never asks for.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	first := via[0].URL
	if origin(req.URL) != origin(first) {
		return &RedirectError{From: printableOrigin(first), To: printableOrigin(req.URL)}
	}
	if len(via) >= 5 {
		return fmt.Errorf("GitHub at %s redirected %d times: %w", printableOrigin(first), len(via), forge.ErrRedirectRefused)
	}
	return nil
}

// limitTransport caps every response body at max bytes. A body that goes
// past the cap fails its read with a ResponseTooLargeError, so a decoder
// stops there with a named error rather than decoding a truncated
// document or holding the whole answer.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	tooLarge := &ResponseTooLargeError{Method: req.Method, Path: req.URL.Path, Limit: t.max}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, tooLarge
	}
	resp.Body = &cappedBody{rc: resp.Body, max: t.max, tooLarge: tooLarge}
	return resp, nil
}

type cappedBody struct {
	rc       io.ReadCloser
	n, max   int64
	tooLarge error
	err      error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read at most one byte past the cap: that byte proves the body is too
	// large without reading any more of it.
	if room := b.max - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.err = b.tooLarge
		return 0, b.err
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// timedOut reports whether err is a per-request timeout (the client's
// Timeout, or a deadline that ended a read).
func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// paginate reads a paginated list through fetch, one page at a time,
// starting at page 1 (page 0 asks for the first page). fetch returns how
// many items the page held. It stops with a ListTooLongError at the page or
// item cap, or when rel="next" goes backwards, and wraps fetch's error with
// op.
func (c *Client) paginate(op string, fetch func(page int) (int, *gh.Response, error)) error {
	page, items := 0, 0
	for pages := 1; ; pages++ {
		n, resp, err := fetch(page)
		if err != nil {
			return c.err(op, err)
		}
		items += n
		if items > c.maxItems {
			return &ListTooLongError{Op: op, Pages: pages, Items: items, MaxPages: c.maxPages, MaxItems: c.maxItems}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil
		}
		cur := max(page, 1)
		if resp.NextPage <= cur {
			return &ListTooLongError{Op: op, Pages: cur, Items: items, MaxPages: c.maxPages, MaxItems: c.maxItems, Loop: true}
		}
		if pages >= c.maxPages {
			return &ListTooLongError{Op: op, Pages: pages, Items: items, MaxPages: c.maxPages, MaxItems: c.maxItems}
		}
		page = resp.NextPage
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
