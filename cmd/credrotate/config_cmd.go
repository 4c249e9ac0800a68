package main

import (
	"errors"
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
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check a configuration file and print it with secrets masked",
		Long: `validate loads the configuration exactly as a run would (the file, then
CREDROTATE_* environment variables), checks it, and prints the effective
configuration with every secret-bearing value masked, followed by where each
secret would be read from and whether it is present. With problems, it lists
all of them, each with the key, the bad value and the fix, and exits 2.`,
		Example: `  credrotate config validate --config credrotate.yaml
  CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false credrotate config validate`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			out, err := cfg.Masked(nil)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(out)
			return err
		},
	})
	return cmd
}
