// Package testenv is what a test does when the machine lacks something it
// needs (a program, an npm package, a built tool): under CI (the CI
// environment variable set) the test fails, since CI promises to install
// everything; elsewhere it skips with a marked line that `make test` counts
// and lists at the end ("N skipped: ..."), so a short run is never mistaken
// for a full one. Skips for -short are not environment skips and do not go
// through here.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Marker starts the message of every environment skip; test/testsum
// counts the lines that carry it.
const Marker = "ENVIRONMENT SKIP:"

// CI reports whether the tests run under CI, where nothing may be skipped
// for want of a tool: CI is set to anything but "", "0" or "false".
func CI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "", "0", "false":
		return false
	}
	return true
}

// Require reports that what is missing and how to install it: a failure
// under CI, otherwise a skip with the Marker.
func Require(t testing.TB, what, howToInstall string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s is missing, and CI is set, so this test may not skip; install it: %s", what, howToInstall)
	}
	t.Skipf("%s %s is missing; install it: %s", Marker, what, howToInstall)
}

// LookPath returns the path of program name, or Requires it.
func LookPath(t testing.TB, name, howToInstall string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Require(t, name, howToInstall)
	}
	return p
}

// File returns path if it exists, or Requires what it is.
func File(t testing.TB, path, what, howToInstall string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Require(t, what+" ("+path+")", howToInstall)
	}
	return path
}
