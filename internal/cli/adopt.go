package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/rotate"
)

func newAdoptCmd(a *app) *cobra.Command {
	var key, secretID, output string
	cmd := &cobra.Command{
		Use:   "adopt",
		Short: "Seal an existing secret (stdin) into all overlays, through a pull request",
		Long: `adopt brings a credential you already have under credrotate: it reads the
client secret from stdin (without echo on a terminal), proves it with a token,
looks up its id and expiry at Equifax, seals it for every environment and
proposes the manifests in a pull request. After it merges, scheduled runs
renew the key before it expires.`,
		Example: `  credrotate adopt --provider-key equifax.unique_client_id < secret.txt
  pbpaste | credrotate adopt --provider-key equifax.unique_client_id --secret-id sec_123`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.adopt(cmd.Context(), key, secretID, output)
		},
	}
	cmd.Flags().StringVar(&key, "provider-key", "", "the provider key to adopt (required)")
	cmd.Flags().StringVar(&secretID, "secret-id", "", "the Equifax id of the secret, when the client has two valid secrets")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func (a *app) adopt(ctx context.Context, key, secretID, output string) error {
	if key == "" {
		return usageErrorf("--provider-key is required: name the configured provider key to adopt")
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultRunTimeout)
	defer cancel()
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if err := selectKeys(cfg, []string{key}); err != nil {
		return err
	}
	value, err := readStdinSecret(a.stdin, a.stderr, "client secret for "+key)
	if err != nil {
		return usageError(err)
	}
	a.red.AddSecret(value)
	runner, obs, release, err := a.observeLocked(ctx, "adopt", output, cfg, func(r *rotate.Runner) {
		for i := range r.Keys {
			r.Keys[i].Current = rotate.StaticSecret{Value: value, Name: "standard input"}
		}
	})
	if err != nil {
		return err
	}
	defer release()
	rep := runner.Adopt(ctx, obs, credential.ProviderKey(key), secretID)
	if err := printReport(a.stdout, output, rep); err != nil {
		return err
	}
	if rep.Failed() {
		return &exitError{code: exitFailure, err: fmt.Errorf("adopt failed (trace %s)", rep.TraceID)}
	}
	return nil
}
