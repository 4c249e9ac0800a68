package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
)

type sealFlags struct {
	key       string
	repoDir   string
	secretID  string
	expiresAt string
}

func newSealCmd(a *app) *cobra.Command {
	var f sealFlags
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Seal a secret (stdin) into a local checkout, without committing",
		Long: `seal is the manual fallback for a secret a person got from the provider's
portal: it reads the secret from stdin (without echo on a terminal), seals it
with every configured environment's certificate into
<environment path>/<provider key>.yaml of the checkout in --repo-dir, and
prints the files it wrote. It does not commit, push or talk to Equifax:
review the diff, commit and open the pull request yourself.

An existing manifest keeps its other keys, labels and annotations; only the
provider's data key and the credrotate.io annotations change. A new manifest
is added to its folder's kustomization.yaml.`,
		Example: `  credrotate seal --provider-key equifax.unique_client_id --repo-dir ~/src/gitops \
    --secret-id sec_123 --expires-at 2027-03-01T00:00:00Z < secret.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.seal(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "provider-key", "", "the configured provider key the secret belongs to (required)")
	fl.StringVar(&f.repoDir, "repo-dir", "", "the GitOps checkout to write into (required)")
	fl.StringVar(&f.secretID, "secret-id", "", "the provider's id of the secret, for the credrotate.io/secret-id annotation (omitted: the annotation is removed, as the old one named the old secret)")
	fl.StringVar(&f.expiresAt, "expires-at", "", "when the secret expires (RFC 3339), for the credrotate.io/expires-at annotation (omitted: the annotation is removed)")
	return cmd
}

func (a *app) seal(ctx context.Context, f sealFlags) error {
	if f.key == "" {
		return usageErrorf("--provider-key is required: name the configured provider key the secret belongs to")
	}
	if f.repoDir == "" {
		return usageErrorf("--repo-dir is required: the GitOps checkout to write the manifests into")
	}
	var expiresAt time.Time
	if f.expiresAt != "" {
		t, err := time.Parse(time.RFC3339, f.expiresAt)
		if err != nil {
			return usageErrorf("--expires-at %q is not an RFC 3339 time: write it as 2027-03-01T00:00:00Z", f.expiresAt)
		}
		expiresAt = t
	}
	if st, err := os.Stat(f.repoDir); err != nil || !st.IsDir() {
		return usageErrorf("--repo-dir %q is not a folder: point it at a checkout of the GitOps repository", f.repoDir)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if err := selectKeys(cfg, []string{f.key}); err != nil {
		return err
	}
	p := cfg.Providers[0]

	// Every certificate is checked before the secret is read, so a person
	// is not asked for it in vain.
	envs, err := sealEnvironments(ctx, cfg, a)
	if err != nil {
		return err
	}

	value, err := readStdinSecret(a.stdin, a.stderr, "client secret for "+f.key)
	if err != nil {
		return usageError(err)
	}
	a.red.AddSecret(value)
	fsys, err := seal.OpenDirFS(f.repoDir)
	if err != nil {
		return err
	}
	defer fsys.Close()
	ruled, warnings, err := sopsRuleEncoders(fsys, cfg, []credential.ProviderKey{p.Key})
	for _, m := range warnings {
		fmt.Fprintln(a.stderr, "warning: "+m)
	}
	if err != nil {
		return usageError(fmt.Errorf("seal: nothing written: %w", err))
	}
	for i := range envs {
		if enc, ok := ruled[envs[i].Name]; ok {
			envs[i].Encoder = enc
		}
	}
	item := seal.Item{
		Ref:   seal.SecretRef{Name: p.Secret.Name, Namespace: p.Secret.Namespace, DataKey: p.Secret.DataKey},
		Value: value,
		Metadata: credential.Metadata{
			ProviderKey: p.Key,
			SecretID:    f.secretID,
			ExpiresAt:   expiresAt,
			RotatedAt:   time.Now().UTC().Truncate(time.Second),
			TraceID:     newTraceID(),
		},
	}
	written, err := seal.Write(ctx, fsys, envs, []seal.Item{item})
	for _, w := range written {
		fmt.Fprintln(a.stdout, w.Path)
	}
	if err != nil {
		if errors.Is(err, seal.ErrInvalidInput) || errors.Is(err, seal.ErrOverlayMismatch) || errors.Is(err, seal.ErrPathEscapes) {
			return usageError(fmt.Errorf("seal: %w", err))
		}
		return fmt.Errorf("seal: %w", err)
	}
	fmt.Fprintf(a.stderr, "sealed %s (%s) for %d environments; review the diff in %s, commit and open a pull request\n",
		p.Key, item.Value.Fingerprint(), len(envs), f.repoDir)
	return nil
}

// sealEnvironments loads and checks every environment's certificate,
// printing warnings to stderr.
func sealEnvironments(ctx context.Context, cfg *config.Config, a *app) ([]seal.Environment, error) {
	envs := make([]seal.Environment, 0, len(cfg.Environments))
	var errs []error
	for _, e := range cfg.Environments {
		if e.IsSOPS() {
			parts, err := envSpec(e)
			if err != nil {
				return nil, err
			}
			envs = append(envs, seal.Environment{Name: e.Name, Path: e.Path, Namespace: e.Namespace, Encryption: parts.encryption, Encoder: parts.encoder})
			continue
		}
		cert, warnings, err := seal.LoadCertificate(ctx, e.Name, seal.CertSource{File: e.Cert.File, URL: e.Cert.URL},
			seal.LoadOptions{Fingerprint: e.CertFingerprint})
		for _, w := range warnings {
			fmt.Fprintln(a.stderr, "warning: "+w)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		scope, err := seal.ParseScope(e.Scope)
		if err != nil {
			return nil, usageErrorf("environments %s: %v", e.Name, err)
		}
		envs = append(envs, seal.Environment{Name: e.Name, Path: e.Path, Cert: cert, Scope: scope, Namespace: e.Namespace})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("seal: nothing written: %w", errors.Join(errs...))
	}
	return envs, nil
}

// The checkout on disk is written through the same interface as the git
// workspace.
var _ seal.FS = (*seal.DirFS)(nil)
