package github

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v60/github"
)

// tokenSource yields the credential for the next API call.
type tokenSource interface {
	Token(ctx context.Context) (string, error)
}

type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }

// authTransport sets the Authorization header from a tokenSource, on
// requests to the API's own origins only: a request to any other origin (a
// redirect that got past checkRedirect, an absolute URL from a response)
// goes without credentials.
type authTransport struct {
	src     tokenSource
	base    http.RoundTripper
	origins map[string]bool
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.origins[origin(req.URL)] {
		r := req.Clone(req.Context())
		r.Header.Del("Authorization")
		return t.base.RoundTrip(r)
	}
	tok, err := t.src.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return t.base.RoundTrip(r)
}

// retryTransport retries what GitHub asks to be retried: 429 and 403 with
// Retry-After (secondary rate limits), 403/429 with X-RateLimit-Remaining: 0
// (wait until X-RateLimit-Reset), and 5xx or network errors on idempotent
// requests. It waits no longer than maxWait for one retry; when GitHub asks
// for more, the response is returned as it is and the caller reports the
// rate limit.
type retryTransport struct {
	base       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	backoff    time.Duration
	now        func() time.Time
	logf       func(string, ...any)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(req.Context())
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.base.RoundTrip(r)
		if attempt >= t.maxRetries || req.Context().Err() != nil {
			return resp, err
		}
		canResend := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		wait, why, ok := t.decide(req, resp, err, attempt)
		if !ok || !canResend {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.logf != nil {
			t.logf("github: %s %s: %s; retrying in %s (retry %d of %d)", req.Method, req.URL.Path, why, wait.Round(time.Millisecond), attempt+1, t.maxRetries)
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// decide says whether and how long to wait before retrying.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !idempotent(req.Method) {
			return 0, "", false
		}
		return t.backoffFor(attempt), "network error", true
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			d, ok := parseRetryAfter(ra, t.now())
			if !ok || d > t.maxWait {
				return 0, "", false
			}
			return max(d, 0), fmt.Sprintf("%d with Retry-After %s", resp.StatusCode, ra), true
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
			if err != nil {
				return 0, "", false
			}
			d := time.Unix(reset, 0).Sub(t.now()) + time.Second
			if d > t.maxWait {
				return 0, "", false
			}
			return max(d, 0), fmt.Sprintf("%d rate limit exhausted until %s", resp.StatusCode, time.Unix(reset, 0).UTC().Format(time.RFC3339)), true
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return t.backoffFor(attempt), "429", true
		}
		return 0, "", false
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
		resp.StatusCode == http.StatusGatewayTimeout || resp.StatusCode == http.StatusInternalServerError:
		if !idempotent(req.Method) {
			return 0, "", false
		}
		return t.backoffFor(attempt), strconv.Itoa(resp.StatusCode), true
	}
	return 0, "", false
}

func (t *retryTransport) backoffFor(attempt int) time.Duration {
	d := t.backoff << attempt
	return min(d, t.maxWait)
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// appTokenSource mints GitHub App installation tokens: a JWT (RS256, iss =
// App id, 9 minutes) exchanged at POST /app/installations/{id}/access_tokens,
// cached until five minutes before it expires.
type appTokenSource struct {
	appID, installationID int64
	key                   *rsa.PrivateKey
	apps                  *gh.Client // authenticates with the JWT
	now                   func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (s *appTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.expires.Add(-5*time.Minute)) {
		return s.token, nil
	}
	tok, _, err := s.apps.Apps.CreateInstallationToken(ctx, s.installationID, nil)
	if err != nil {
		return "", fmt.Errorf("minting an installation token for GitHub App %d installation %d: %w", s.appID, s.installationID, describe(err))
	}
	s.token = tok.GetToken()
	s.expires = tok.GetExpiresAt().Time
	if s.expires.IsZero() {
		s.expires = s.now().Add(time.Hour)
	}
	return s.token, nil
}

// jwt signs the App's JSON Web Token.
func (s *appTokenSource) jwt() (string, error) {
	now := s.now()
	claims := jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now.Add(-60 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
		Issuer:    strconv.FormatInt(s.appID, 10),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing the GitHub App JWT: %w", err)
	}
	return signed, nil
}

type jwtSource struct{ s *appTokenSource }

func (j jwtSource) Token(context.Context) (string, error) { return j.s.jwt() }
