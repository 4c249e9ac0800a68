// Package cli is the credrotate command line: every command of the
// production binary (cmd/credrotate), and the hooks the sandbox binary
// (cmd/credrotate-sandbox) adds its commands through, so that the
// production binary links no emulator, no local GitHub and no demo world.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
)

// Command makes one extra top-level command for an App.
type Command func(a *App) *cobra.Command

// App is what every command of one invocation shares: the streams and the
// global flags.
type App = app

// Stdout is where the command writes its results.
func (a *App) Stdout() io.Writer { return a.stdout }

// Stderr is where the command writes logs and diagnostics.
func (a *App) Stderr() io.Writer { return a.stderr }

// LogLevel and LogFormat are the global --log-level and --log-format.
func (a *App) LogLevel() string { return a.logLevel }

// LogFormat is the global --log-format.
func (a *App) LogFormat() string { return a.logFormat }

// Build records the version, commit and date stamped into the binary.
func Build(v, c, d string) { version, commit, date = v, c, d }

// Run is the whole program, testable with buffers: it parses args, runs the
// command (the production commands and extra) and returns an error whose
// exit code ExitCode knows.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, extra ...Command) error {
	return runWith(ctx, args, stdin, stdout, stderr, extra)
}

// ExitCode maps Run's error to the process's exit code, printing it to
// stderr.
func ExitCode(err error, stderr io.Writer) int { return exitCode(err, stderr) }

// UsageErrorf is an error of the command line (exit code 2).
func UsageErrorf(format string, args ...any) error { return usageErrorf(format, args...) }

// UsageError marks err as an error of the command line (exit code 2).
func UsageError(err error) error { return usageError(err) }

// LockPath is the machine-wide run lock of the GitOps repository at url.
func LockPath(url, baseBranch string) string {
	return lockPath(&config.Config{Git: config.Git{URL: url, BaseBranch: baseBranch}})
}
