// Package sandboxcmd holds the commands only the sandbox binary
// (cmd/credrotate-sandbox) has: the demo world, the Equifax emulator and
// localhub.
package sandboxcmd

import "github.com/credrotate/credrotate/internal/cli"

// Commands are the sandbox's top-level commands.
var Commands = []cli.Command{newEmulatorCmd, newLocalhubCmd, newDemoCmd}
