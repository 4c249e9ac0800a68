package cli

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/spf13/cobra"
)

// loadConfig reads the configuration named by --config (or credrotate.yaml in
// the working directory) and the CREDROTATE_* environment, and validates it.
// Every problem is a usage error (exit 2): nothing has been touched yet.
func (a *app) loadConfig() (*config.Config, error) {
	overrides := map[string]any{}
	for _, kv := range a.sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--set %q: write KEY=VALUE, e.g. --set equifax.concurrency=4", kv)
		}
		overrides[k] = v
	}
	cfg, err := config.Load(config.LoadOptions{Path: a.configPath, Overrides: overrides})
	if errors.Is(err, config.ErrNoFile) {
		return nil, usageErrorf("%w: name one with --config FILE, or run credrotate in the folder that holds %s", err, config.DefaultFile)
	}
	if err != nil {
		// Every problem with the configuration is a usage error: nothing
		// has been touched yet.
		return nil, usageError(err)
	}
	return cfg, nil
}

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration file",
	}
	var online bool
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check a configuration file and print it with secrets masked",
		Long: `validate loads the configuration exactly as a run would (the file, then
CREDROTATE_* environment variables), checks it, and prints the effective
configuration with every secret-bearing value masked, followed by where each
secret would be read from and whether it is present. With problems, it lists
all of them, each with the key, the bad value and the fix, and exits 2.

Offline it also checks what the file points at: every certificate file exists
and is a usable sealing certificate (RSA, not expired, matching its
certFingerprint pin), overlay paths are clean and relative, and every secret
source is present (files readable, environment variables set). --online also
fetches certificate URLs, reads Kubernetes secret sources, asks Equifax about
each key with its current secret and checks that GitHub accepts the token
with the permissions a run needs; it changes nothing anywhere.`,
		Example: `  credrotate config validate --config credrotate.yaml
  credrotate config validate --online
  CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false credrotate config validate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.validateConfig(cmd.Context(), online)
		},
	}
	validate.Flags().BoolVar(&online, "online", false, "also fetch certificate URLs and ask Equifax and GitHub (changes nothing)")
	cmd.AddCommand(validate)
	return cmd
}

// validateConfig is `config validate`: the configuration, then what it
// points at (checkConfig); every problem is listed and exits 2.
func (a *app) validateConfig(ctx context.Context, online bool) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	out, err := cfg.Masked(nil)
	if err != nil {
		return err
	}
	printConfigWarnings(a.stderr, cfg)
	opts := checkOptions{online: online}
	if online {
		if opts.log, err = a.newLogger(newTraceID()); err != nil {
			return err
		}
	}
	rep := checkConfig(ctx, cfg, opts)
	var b strings.Builder
	b.Write(out)
	b.WriteString("# Checked:\n")
	for _, n := range rep.notes {
		b.WriteString("#   " + n + "\n")
	}
	if _, err := io.WriteString(a.stdout, b.String()); err != nil {
		return err
	}
	if len(rep.problems) > 0 {
		for i := range rep.problems {
			rep.problems[i].Key = cfg.Spelling(rep.problems[i].Key)
		}
		return usageError(&config.ValidationError{File: cfg.File, Problems: rep.problems})
	}
	return nil
}
