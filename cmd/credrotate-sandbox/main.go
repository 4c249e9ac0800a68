// Command credrotate-sandbox is credrotate with its test servers: every
// command of credrotate, plus the demo world (demo), the Equifax emulator
// (emulator) and a local GitHub-API-compatible server (localhub). It is for
// trying credrotate and for its tests; production runs credrotate, which
// links none of these.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/sandboxcmd"
)

// Stamped with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	cli.Build(version, commit, date)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, sandboxcmd.Commands...)
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}
