package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/credential/redact"
)

// app is what every command shares: the streams, the global flags and the
// logger and configuration built from them.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	configPath string
	logLevel   string
	logFormat  string
	// sets are --set KEY=VALUE overrides of configuration keys.
	sets []string

	// args are the program's arguments, for the command line a pull
	// request records.
	args []string

	// started is set once a command's own code runs.
	started bool

	// red masks every secret of the run in everything that leaves the
	// process (see redact.go); nil masks nothing.
	red *redact.Redactor
}

// run is the whole program, testable with buffers: it parses args, runs the
// command and returns an error whose exit code exitCode knows.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runWith(ctx, args, stdin, stdout, stderr, nil)
}

// runWith is run with extra top-level commands.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, extra []Command) error {
	a := newApp(stdin, stdout, stderr)
	a.args = args
	root := newRootCmd(a, extra...)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := a.maskError(root.ExecuteContext(ctx))
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		// Anything cobra reports before a command runs (an unknown command)
		// is a usage error.
		if !a.started {
			return usageError(err)
		}
		return err
	}
	return nil
}

func newRootCmd(a *app, extra ...Command) *cobra.Command {
	root := &cobra.Command{
		Use:   "credrotate",
		Short: "Renew expiring API client secrets and propose them as sealed GitOps pull requests",
		Long: `credrotate renews third-party API client secrets (Equifax first) before they
expire, proves the new secret works, seals it into a Bitnami SealedSecret for
every environment overlay, commits it and opens (or auto-merges) a GitHub pull
request, so that Argo CD or Flux rolls it out. A later run sees the rollout and
revokes the old secret.

Exit codes: 0 success or nothing to do, 1 a rotation failed (an alert was
raised), 2 a usage or configuration error (nothing was touched), 3 another
run holds the repository's lease (nothing was touched).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.started = true
			// Check the global flags before any command does work.
			_, err := a.newLogger("")
			return err
		},
	}
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default: credrotate.yaml in the working directory, if present)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
	pf.StringArrayVar(&a.sets, "set", nil, "override a configuration key, e.g. --set equifax.enableClientSecretRenewal=false (repeatable; beats the file and CREDROTATE_* variables)")

	root.AddCommand(
		newRenewCmd(a),
		newStatusCmd(a),
		newAdoptCmd(a),
		newSealCmd(a),
		newInventoryCmd(a),
		newConfigCmd(a),
		newProviderCmd(a),
		newVersionCmd(a),
	)
	for _, c := range extra {
		root.AddCommand(c(a))
	}
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors.
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		check = cobra.NoArgs
	}
	return func(cmd *cobra.Command, args []string) error {
		return usageError(check(cmd, args))
	}
}
