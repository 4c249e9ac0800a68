// Package wire holds what the REST client and the SOAP adapter share on the
// way to Equifax: the client core (options with their defaults, the token
// cache, the Token flow, the management loop that replaces a rejected token
// once, the argument checks), the retry loop (capped, jittered backoff that
// honours Retry-After), a recording HTTP transport (correlation id out,
// efx-transaction-id in, response bodies capped), the mapping of transport
// failures to typed *equifax.Error values, and URL scrubbing.
package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// Defaults shared by both transports.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxRetries     = 3
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxRetryAfter  = 2 * time.Minute
	DefaultMaxBodyBytes   = 1 << 20
	// HeaderCorrelationID carries the per-call id to the server.
	HeaderCorrelationID = "X-Correlation-ID"
	// HeaderTransactionID is Equifax's id for one request.
	HeaderTransactionID = "efx-transaction-id"
)

// ErrBodyTooLarge is returned while reading a response body past the cap.
var ErrBodyTooLarge = errors.New("response body exceeds the size limit")

// Policy is the retry policy of one client.
type Policy struct {
	// MaxRetries is the number of retries after the first attempt; zero
	// means DefaultMaxRetries and a negative value disables retries.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the exponential, jittered wait.
	InitialBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the loop waits for; a longer
	// one ends the loop with the rate-limit error, for the caller to schedule.
	MaxRetryAfter time.Duration
}

func (p Policy) withDefaults() Policy {
	switch {
	case p.MaxRetries == 0:
		p.MaxRetries = DefaultMaxRetries
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// Retries returns the effective number of retries after the first attempt.
func (p Policy) Retries() int { return p.withDefaults().MaxRetries }

// Do runs fn until it succeeds, fails with an error that is not
// equifax.Retryable, the retries are used up, or ctx ends. Between attempts
// it waits the exponential, jittered backoff, or the error's RetryAfter when
// that is longer. onRetry, if not nil, is told about each wait.
func (p Policy) Do(ctx context.Context, fn func(ctx context.Context, attempt int) error, onRetry func(attempt int, wait time.Duration, err error)) error {
	p = p.withDefaults()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialBackoff),
		backoff.WithMaxInterval(p.MaxBackoff),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMultiplier(2),
		backoff.WithMaxElapsedTime(0),
	)
	for attempt := 0; ; attempt++ {
		err := fn(ctx, attempt)
		if err == nil || !equifax.Retryable(err) || attempt >= p.MaxRetries || ctx.Err() != nil {
			return err
		}
		wait := b.NextBackOff()
		var e *equifax.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			if e.RetryAfter > p.MaxRetryAfter {
				return err
			}
			if e.RetryAfter > wait {
				wait = e.RetryAfter
			}
		}
		if onRetry != nil {
			onRetry(attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// Attempt records what one HTTP exchange carried, for logs and errors. The
// recording transport fills it in when it finds it in the request context.
type Attempt struct {
	CorrelationID string
	// ExtraHeaders are set on the outgoing request (Authorization for SOAP).
	ExtraHeaders http.Header

	mu            sync.Mutex
	status        int
	header        http.Header
	bodyTooLarge  bool
	transactionID string
}

// NewAttempt returns an Attempt with a fresh correlation id.
func NewAttempt() *Attempt { return &Attempt{CorrelationID: uuid.NewString()} }

type attemptKey struct{}

// WithAttempt returns ctx carrying a.
func WithAttempt(ctx context.Context, a *Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

// AttemptFrom returns the Attempt carried by ctx, or nil.
func AttemptFrom(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

// Status is the HTTP status of the answer, 0 when none came.
func (a *Attempt) Status() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Header is the answer's header, nil when none came.
func (a *Attempt) Header() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.header
}

// TransactionID is the answer's efx-transaction-id.
func (a *Attempt) TransactionID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.transactionID
}

// BodyTooLarge reports whether the answer's body went past the cap.
func (a *Attempt) BodyTooLarge() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bodyTooLarge
}

func (a *Attempt) record(resp *http.Response) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status = resp.StatusCode
	a.header = resp.Header.Clone()
	a.transactionID = resp.Header.Get(HeaderTransactionID)
}

func (a *Attempt) markTooLarge() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bodyTooLarge = true
}

// Transport is an http.RoundTripper that sends the attempt's correlation id
// and extra headers, records the answer's status and headers, and caps the
// answer's body at MaxBody bytes (reading past it fails with ErrBodyTooLarge).
type Transport struct {
	Base    http.RoundTripper
	MaxBody int64
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	a := AttemptFrom(req.Context())
	if a != nil {
		req = req.Clone(req.Context())
		req.Header.Set(HeaderCorrelationID, a.CorrelationID)
		for k, vs := range a.ExtraHeaders {
			req.Header.Del(k)
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if a != nil {
		a.record(resp)
	}
	max := t.MaxBody
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	resp.Body = &cappedBody{rc: resp.Body, left: max, a: a}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
	a    *Attempt
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		if c.a != nil {
			c.a.markTooLarge()
		}
		return n - 1, ErrBodyTooLarge
	}
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// HTTPClient returns a copy of c (or of a default client when c is nil)
// whose transport is wrapped in a recording Transport and whose redirects
// follow the redirect package's policy: within the first request's origin
// only, never from https to http, never resending a body. The recording
// transport sets Authorization on every hop, and a token or IssueToken body
// holds the client secret, so no other redirect is safe to follow.
func HTTPClient(c *http.Client, maxBody int64) *http.Client {
	out := redirect.Client(c)
	out.Transport = &Transport{Base: out.Transport, MaxBody: maxBody}
	return out
}

// ReadBody reads a capped body whole; past the cap it fails with ErrBodyTooLarge.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// FailedCall turns an error from sending a request or reading its answer
// into a typed error: a timeout, a refused or dropped connection or a 5xx
// read failure is ErrTransient; an oversized body or a redirect the policy
// refuses (a *redirect.RefusedError in the chain) ErrMalformedResponse. URLs
// in the cause are scrubbed. ctx is the attempt's context.
func FailedCall(ctx context.Context, op string, a *Attempt, err error) *equifax.Error {
	e := &equifax.Error{Op: op, Kind: equifax.ErrTransient, Err: ScrubError(err)}
	if a != nil {
		e.HTTPStatus = a.Status()
		e.TransactionID = a.TransactionID()
	}
	var re *redirect.RefusedError
	switch {
	case errors.As(err, &re):
		// Not worth retrying: the server will redirect again.
		e.Kind = equifax.ErrMalformedResponse
		e.Err = re
		return e
	case errors.Is(err, ErrBodyTooLarge) || (a != nil && a.BodyTooLarge()):
		e.Kind = equifax.ErrMalformedResponse
		e.Err = ErrBodyTooLarge
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Description = "no answer in time"
		if ctx.Err() != nil {
			e.Err = ctx.Err()
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		e.Description = "no answer in time"
	}
	return e
}

// ScrubError rewrites the URL of a *url.Error so that no user info or
// query string (which could carry credentials) reaches an error message.
func ScrubError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: ScrubURL(ue.URL), Err: ue.Err}
	}
	return err
}

// ScrubURL drops the user info, query and fragment of raw.
func ScrubURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// RetryAfter parses a Retry-After header: delta seconds or an HTTP date.
func RetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > 86400 {
			s = 86400
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ValidateBaseURL checks that raw is an absolute http(s) URL.
func ValidateBaseURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a URL", name, ScrubURL(raw))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q must be an absolute http or https URL", name, ScrubURL(raw))
	}
	return u, nil
}

// Log is the optional logger of one call: op, client id, correlation id,
// and per attempt the efx-transaction-id. It never holds a secret or token.
type Log struct {
	entry *logrus.Entry
}

// NewLog returns a Log for one call; entry may be nil (no logging).
func NewLog(entry *logrus.Entry, transport, op, clientID string, extra logrus.Fields) Log {
	if entry == nil {
		return Log{}
	}
	f := logrus.Fields{"transport": transport, "op": op, "client_id": clientID}
	for k, v := range extra {
		f[k] = v
	}
	return Log{entry: entry.WithFields(f)}
}

// Attempt logs the outcome of one attempt.
func (l Log) Attempt(a *Attempt, attempt int, took time.Duration, err error) {
	if l.entry == nil {
		return
	}
	f := logrus.Fields{
		"correlation_id":     a.CorrelationID,
		"efx_transaction_id": a.TransactionID(),
		"attempt":            attempt + 1,
		"http_status":        a.Status(),
		"duration_ms":        took.Milliseconds(),
	}
	entry := l.entry.WithFields(f)
	if err == nil {
		// Per-call detail: at debug, so a run with many keys stays readable.
		entry.Debug("equifax call succeeded")
		return
	}
	entry = entry.WithField("error", err.Error())
	if equifax.Retryable(err) {
		entry.Warn("equifax call failed, may retry")
		return
	}
	entry.Warn("equifax call failed")
}

// Retry logs a wait before the next attempt.
func (l Log) Retry(attempt int, wait time.Duration, err error) {
	if l.entry == nil {
		return
	}
	l.entry.WithFields(logrus.Fields{"attempt": attempt + 1, "wait_ms": wait.Milliseconds(), "error": err.Error()}).Info("retrying equifax call")
}

// Info logs a line of the call.
func (l Log) Info(msg string, fields logrus.Fields) {
	if l.entry == nil {
		return
	}
	l.entry.WithFields(fields).Info(msg)
}
