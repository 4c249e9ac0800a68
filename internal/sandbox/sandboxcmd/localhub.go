package sandboxcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// localhubFlags are the flags of `credrotate-sandbox localhub`.
type localhubFlags struct {
	listen, repoDir, owner, repoName string
	token, tokenEnv                  string
	init                             bool
	checks                           string
	latency                          time.Duration
	appID, installationID            int64
	appKeyFile                       string
	stateFile                        string
	ephemeral                        bool
}

func newLocalhubCmd(a *cli.App) *cobra.Command {
	var f localhubFlags
	cmd := &cobra.Command{
		Use:   "localhub",
		Short: "Serve a local GitHub-API-compatible server over a bare repository",
		Long: `Serve a local GitHub in the foreground over one bare git repository: the part
of GitHub's REST API (/ and /api/v3/) and GraphQL API (/graphql) that
credrotate uses, and the repository itself over git smart HTTP. Pull requests
join real branches; merging really moves the base branch; auto-merge waits for
the simulated required checks (--checks). Issues, comments, labels and
reviewers are kept in --state (a JSON file in the repository by default),
so they survive a restart. One line per call goes to
stderr; credentials never do. SIGINT or SIGTERM stops it.

With --token (or --token-env), API calls and git pushes need that token
(git: as the password of any user, as with GitHub's x-access-token).`,
		Example: `  credrotate-sandbox localhub --listen 127.0.0.1:8788 --repo /tmp/gitops.git --init
  git clone http://127.0.0.1:8788/acme/gitops.git`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.repoDir == "" {
				return cli.UsageErrorf("--repo is required: the path of a bare git repository (add --init to create it)")
			}
			if f.latency < 0 {
				return cli.UsageErrorf("--latency must not be negative")
			}
			checks := localhub.CheckMode(f.checks)
			switch checks {
			case localhub.ChecksSuccess, localhub.ChecksPending, localhub.ChecksFailure:
			default:
				return cli.UsageErrorf("--checks %q is not a check state: use success, pending or failure", f.checks)
			}
			token := f.token
			if f.tokenEnv != "" {
				if token != "" {
					return cli.UsageErrorf("--token and --token-env exclude each other")
				}
				v, ok := os.LookupEnv(f.tokenEnv)
				if !ok || v == "" {
					return cli.UsageErrorf("--token-env %s: the environment variable is not set", f.tokenEnv)
				}
				token = v
			}
			if f.ephemeral && f.stateFile != "" {
				return cli.UsageErrorf("--state and --ephemeral exclude each other")
			}
			if (f.appID != 0) != (f.appKeyFile != "") {
				return cli.UsageErrorf("--app-id and --app-key-file go together: the App's id and its key (public, or the private key GitHub issued)")
			}
			return runLocalhub(cmd.Context(), a, f, checks, token)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8788", "address to listen on")
	fl.StringVar(&f.repoDir, "repo", "", "path of the bare git repository to serve (required)")
	fl.StringVar(&f.owner, "owner", "acme", "repository owner")
	fl.StringVar(&f.repoName, "repo-name", "gitops", "repository name")
	fl.StringVar(&f.token, "token", "", "token required on API calls and git pushes (default: accept any)")
	fl.StringVar(&f.tokenEnv, "token-env", "", "read the required token from this environment variable")
	fl.BoolVar(&f.init, "init", false, "create the bare repository if it does not exist")
	fl.StringVar(&f.checks, "checks", "success", "state of the simulated required checks: success, pending or failure")
	fl.DurationVar(&f.latency, "latency", 0, "latency added to every API and git call, such as 50ms")
	fl.StringVar(&f.stateFile, "state", "", "file that keeps pull requests, issues and labels across restarts (default: localhub-state.json in the repository)")
	fl.BoolVar(&f.ephemeral, "ephemeral", false, "keep pull requests, issues and labels in memory only")
	fl.Int64Var(&f.appID, "app-id", 0, "accept GitHub App auth: JWTs issued by this App id")
	fl.StringVar(&f.appKeyFile, "app-key-file", "", "PEM file with the App's public key (or its private key)")
	fl.Int64Var(&f.installationID, "installation-id", 1, "the App installation whose access tokens localhub mints")
	return cmd
}

func runLocalhub(ctx context.Context, a *cli.App, f localhubFlags, checks localhub.CheckMode, token string) error {
	if _, err := os.Stat(f.repoDir); errors.Is(err, os.ErrNotExist) && !f.init {
		return cli.UsageErrorf("--repo %s does not exist: create it with git init --bare, or add --init", f.repoDir)
	}
	opts := localhub.Options{
		RepoDir: f.repoDir, Init: f.init, Owner: f.owner, Repo: f.repoName, Token: token,
		Checks: checks, Latency: f.latency,
	}
	if !f.ephemeral {
		opts.StateFile = f.stateFile
		if opts.StateFile == "" {
			opts.StateFile = filepath.Join(f.repoDir, "localhub-state.json")
		}
	}
	if f.appID != 0 {
		pemData, err := os.ReadFile(f.appKeyFile)
		if err != nil {
			return cli.UsageErrorf("--app-key-file: %v", err)
		}
		key, err := localhub.ParseAppKey(pemData)
		if err != nil {
			return cli.UsageErrorf("--app-key-file %s: %v", f.appKeyFile, err)
		}
		opts.AppID, opts.AppPublicKey, opts.InstallationID = f.appID, key, f.installationID
	}
	logw := &callLog{w: a.Stderr()}
	opts.Logf = logw.printf
	hub, err := localhub.New(opts)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", f.listen, err)
	}
	base := "http://" + displayAddr(ln.Addr())
	out := &strings.Builder{}
	fmt.Fprintf(out, "localhub serving %s/%s from %s on %s\n", hub.Owner(), hub.Repo(), hub.RepoDir(), base)
	fmt.Fprintf(out, "  API URL:     %s/  (also %s/api/v3/)\n", base, base)
	fmt.Fprintf(out, "  GraphQL URL: %s/graphql\n", base)
	fmt.Fprintf(out, "  git URL:     %s\n", hub.GitURL(base))
	fmt.Fprintf(out, "  web URL:     %s/%s/%s\n", base, hub.Owner(), hub.Repo())
	if token != "" {
		fmt.Fprintf(out, "  auth:        token required (API: Authorization header; git push: as password)\n")
	} else {
		fmt.Fprintf(out, "  auth:        any credential accepted\n")
	}
	if f.appID != 0 {
		fmt.Fprintf(out, "  GitHub App:  id %d, installation %d (POST %s/app/installations/%d/access_tokens)\n", f.appID, f.installationID, base, f.installationID)
	}
	fmt.Fprintf(out, "  checks:      %s\n", checks)
	if opts.StateFile != "" {
		fmt.Fprintf(out, "  state:       %s\n", opts.StateFile)
	} else {
		fmt.Fprintf(out, "  state:       in memory only\n")
	}
	if _, err := io.WriteString(a.Stdout(), out.String()); err != nil {
		_ = ln.Close()
		return err
	}

	return serveUntilDone(ctx, ln, hub, "localhub", 10*time.Second, func() { logw.printf("localhub: stopping") })
}
