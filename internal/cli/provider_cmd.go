package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

func newProviderCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provider",
		Short: "Work with provider descriptions",
	}
	var key string
	test := &cobra.Command{
		Use:   "test",
		Short: "Run a key's token and describe steps and print what they extracted",
		Long: `test runs the read-only steps of an http key's description (token, when
declared, then describe) against the configured endpoint with the key's
current secret, and prints what each step extracted, secrets masked. Nothing
is created, verified or revoked: it is how a description is debugged.`,
		Example: `  credrotate provider test --config credrotate.yaml --provider-key http.client_a`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return usageErrorf("--provider-key is required: name the key to test, e.g. --provider-key http.client_a")
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			var k *config.Provider
			for i := range cfg.Providers {
				if string(cfg.Providers[i].Key) == key {
					k = &cfg.Providers[i]
				}
			}
			if k == nil {
				return usageErrorf("--provider-key %s: no such key in the configuration", key)
			}
			if k.TypeOrDefault() != config.TypeHTTP {
				return usageErrorf("--provider-key %s: is of type %s; provider test runs http descriptions", key, k.TypeOrDefault())
			}
			var secrets []credential.Secret
			seen := func(s credential.Secret) { secrets = append(secrets, s) }
			p, err := buildHTTPDescription(cfg, k.Description, &http.Client{}, seen, true)
			if err != nil {
				return usageErrorf("providers %s: %v", key, err)
			}
			r, err := currentSource(k.CurrentSecret)
			if err != nil {
				return err
			}
			cur, err := r.Read(cmd.Context())
			if err != nil {
				return fmt.Errorf("reading the current secret of %s: %w", key, err)
			}
			c := provider.Client{ClientID: k.ClientID, ClientSecret: cur}
			out := a.stdout
			fmt.Fprintf(out, "provider test %s: description %s, client %s\n", key, k.Description, k.ClientID)
			if p.HasToken() {
				tok, err := p.Token(cmd.Context(), c, nil)
				if err != nil {
					fmt.Fprintf(out, "step token: failed: %v\n", err)
					return err
				}
				fmt.Fprintf(out, "step token: ok\n  accessToken: %s (fingerprint %s)\n  tokenType: %s\n  scope: %s\n  issuedAt: %s\n  expiresAt: %s\n",
					tok.AccessToken, tok.AccessToken.Fingerprint(), tok.TokenType, tok.Scope, ts(tok.IssuedAt), ts(tok.ExpiresAt))
			}
			info, err := p.Describe(cmd.Context(), c)
			if err != nil {
				fmt.Fprintf(out, "step describe: failed: %v\n", err)
				return err
			}
			printClientInfo(out, info)
			return nil
		},
	}
	test.Flags().StringVar(&key, "provider-key", "", "the http key whose description to test")
	cmd.AddCommand(test)
	return cmd
}

func printClientInfo(out io.Writer, info provider.ClientInfo) {
	fmt.Fprintf(out, "step describe: ok\n  clientId: %s\n  renewalEligibleAt: %s\n  policy: maxSecrets %d, lifetime %ds, default grace %ds, max grace %ds\n  secrets: %d\n",
		info.ClientID, ts(info.RenewalEligibleAt), info.Policy.MaxSecrets, info.Policy.SecretLifetimeSeconds,
		info.Policy.DefaultGracePeriodSeconds, info.Policy.MaxGracePeriodSeconds, len(info.Secrets))
	for _, s := range info.Secrets {
		line := []string{"id " + s.SecretID, "status " + string(s.Status), "created " + ts(s.CreatedAt), "expires " + ts(s.ExpiresAt)}
		if s.GraceEndsAt != nil {
			line = append(line, "grace ends "+ts(*s.GraceEndsAt))
		}
		if s.Hint != "" {
			line = append(line, "hint "+s.Hint)
		}
		fmt.Fprintf(out, "    - %s\n", strings.Join(line, ", "))
	}
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
