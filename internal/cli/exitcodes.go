package cli

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/rotate"
	"github.com/credrotate/credrotate/pkg/seal"
)

// errNeedsFix marks a problem a person fixes in the configuration or the
// environment (a variable to export, a file to put in place); found before
// anything changed, it exits 2.
var errNeedsFix = errors.New("fix the configuration or the environment")

// needsFixError is a problem of the configuration or the environment, with
// the fix in its message.
type needsFixError struct{ err error }

func (e *needsFixError) Error() string        { return e.err.Error() }
func (e *needsFixError) Unwrap() error        { return e.err }
func (e *needsFixError) Is(target error) bool { return target == errNeedsFix }

// needsFixf is a needsFixError over fmt.Errorf.
func needsFixf(format string, args ...any) error {
	return &needsFixError{err: fmt.Errorf(format, args...)}
}

// errMissingToken is the error for an unset or empty token variable.
func errMissingToken(envVar, key string) error {
	return needsFixf("environment variable %s (%s) is empty: export a GitHub token with contents, pull-requests and issues write access, or configure github.app", envVar, key)
}

// needsFix reports whether err, found in preflight before anything was
// renewed or pushed, is one a person must fix in the configuration or the
// environment rather than a failure the next run may not see: a missing or
// rejected token, a missing permission, a sealing certificate that is
// expired or does not match its pin, an overlay folder or current secret
// that is not where the configuration says.
func needsFix(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errNeedsFix), errors.Is(err, forge.ErrUnauthorized), errors.Is(err, forge.ErrPermission),
		errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return true
	}
	var se *rotate.StepError
	if errors.As(err, &se) {
		switch se.Step {
		case "preflight certificates":
			// A certificate URL that did not answer may answer next time.
			return !errors.Is(err, seal.ErrCertFetch)
		case "preflight overlays", "preflight current secret":
			return true
		}
	}
	return false
}

// fixHint ends the message of an exit 2 found in preflight.
const fixHint = "\nthis is a problem of the configuration or the environment (exit 2): nothing was renewed, sealed or pushed; fix it and run again"

// preflightExit is the error of a run that stopped before renewing
// anything: exit 2 when a person must fix the configuration or the
// environment, exit 1 otherwise. msg is the full message; cause is what
// stopped the run.
func preflightExit(cause error, msg string) error {
	if needsFix(cause) {
		return &exitError{code: exitUsage, err: errors.New(msg + fixHint)}
	}
	return errors.New(msg)
}

// observeExit is preflightExit for the commands that only read (status):
// err already says which command and what to do.
func observeExit(err error) error {
	if needsFix(err) {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w%s", err, fixHint)}
	}
	return err
}

// forgeNext is the next action after GitHub refused preflight.
func forgeNext(err error) string {
	switch {
	case errors.Is(err, forge.ErrUnauthorized):
		return "GitHub rejected the token itself: export a valid token in the variable github.tokenEnv names, or fix github.app"
	case errors.Is(err, errNeedsFix):
		return "set what the message names and run again"
	case errors.Is(err, forge.ErrPermission):
		return "grant the token or GitHub App the permission named above"
	}
	return "check github.* in the configuration and that GitHub is reachable"
}
