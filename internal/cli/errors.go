package cli

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes, as documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // a rotation failed; an alert was raised
	exitUsage   = 2 // usage or configuration error; nothing was touched
	exitBusy    = 3 // another run holds the repository (its lease or this machine's lock); nothing was touched
)

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or configuration problem (exit 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// usageErrorf is usageError over fmt.Errorf.
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// silentFailure is an exit 1 whose cause was already reported.
var errSilentFailure = &exitError{code: exitFailure, err: errors.New("failed")}

// exitCode maps err to a process exit code, printing it to stderr unless it
// was already reported.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if err == errSilentFailure {
		return exitFailure
	}
	fmt.Fprintln(stderr, "credrotate: "+err.Error())
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}
