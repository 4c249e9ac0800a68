package sandboxcmd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/cli"
)

// exitUsage is the exit code of a command-line mistake.
const exitUsage = 2

// run is the sandbox binary's program.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, stdin, stdout, stderr, Commands...)
}

func exitCode(err error, stderr io.Writer) int { return cli.ExitCode(err, stderr) }

// runCmd runs the sandbox program with args and returns stdout, stderr and
// the exit code.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}
