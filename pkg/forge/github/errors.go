package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// PermissionError reports a call the credentials may not make. It matches
// forge.ErrPermission.
type PermissionError struct {
	// Op is what credrotate tried ("creating pull request").
	Op string
	// Permission names what is missing, as GitHub Apps and fine-grained
	// tokens name it ("pull_requests=write"), when GitHub said.
	Permission string
	// Message is GitHub's message.
	Message string
}

func (e *PermissionError) Error() string {
	perm := e.Permission
	if perm == "" {
		perm = "the permission this call needs"
	}
	return fmt.Sprintf("%s: GitHub refused (%s): the token lacks %s; grant it to the token or GitHub App (fine-grained token or App: repository permissions contents=write, pull_requests=write, issues=write; classic token: the repo scope)",
		e.Op, strings.TrimSpace(e.Message), perm)
}

// Is makes PermissionError match forge.ErrPermission.
func (e *PermissionError) Is(target error) bool { return target == forge.ErrPermission }

// RateLimitError reports that GitHub's rate limit stopped a call after the
// allowed retries. It matches forge.ErrRateLimited.
type RateLimitError struct {
	Op string
	// Reset is when GitHub said the limit resets (zero when unknown).
	Reset time.Time
	// Err is go-github's *RateLimitError or *AbuseRateLimitError.
	Err error
}

func (e *RateLimitError) Error() string {
	when := "later"
	if !e.Reset.IsZero() {
		when = "after " + e.Reset.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s: GitHub rate limit exceeded; try again %s: %v", e.Op, when, e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// Is makes RateLimitError match forge.ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == forge.ErrRateLimited }

// Temporary marks the error as worth retrying later.
func (e *RateLimitError) Temporary() bool { return true }

// wrapErr adds op to a go-github error and turns the errors an operator acts
// on into typed ones: missing permissions, rate limits, bad credentials, not
// found.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return &RateLimitError{Op: op, Reset: rl.Rate.Reset.Time, Err: err}
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) {
		var reset time.Time
		if ab.RetryAfter != nil {
			reset = time.Now().Add(*ab.RetryAfter)
		}
		return &RateLimitError{Op: op, Reset: reset, Err: err}
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: GitHub rejected the credentials (401 %s): the token is wrong, expired or revoked; export a valid one in the variable github.tokenEnv names, or check the GitHub App settings: %w", op, er.Message, forge.ErrUnauthorized)
		case http.StatusForbidden:
			return &PermissionError{Op: op, Permission: er.Response.Header.Get("X-Accepted-GitHub-Permissions"), Message: er.Message}
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w (404 %s; a token that cannot see the repository also gets 404)", op, forge.ErrNotFound, er.Message)
		}
	}
	return fmt.Errorf("%s: %w", op, describe(err))
}

// describe is err, with nothing added; a hook to keep error text free of
// credentials (go-github's messages carry URLs, never the Authorization
// header).
func describe(err error) error { return err }

// statusOf returns the HTTP status of a go-github error, or 0.
func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// messageOf returns GitHub's message and its errors' messages, lower-case.
func messageOf(err error) string {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) {
		return strings.ToLower(err.Error())
	}
	parts := []string{er.Message}
	for _, e := range er.Errors {
		parts = append(parts, e.Message, e.Code)
	}
	return strings.ToLower(strings.Join(parts, " "))
}
