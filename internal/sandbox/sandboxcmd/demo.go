package sandboxcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
)

type demoFlags struct {
	workdir    string
	serve      bool
	keys       int
	latency    time.Duration
	transport  string
	provider   string
	encryption string
}

func newDemoCmd(a *cli.App) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on embedded defaults, on loopback",
		Long: `demo shows the whole job in one process with no Equifax account, cluster or
GitHub token. It starts the Equifax emulator with provider keys whose secrets
expire at different times (two of every four inside the renewal window), a bare
GitOps repository with sealing key pairs for prod, staging and uat, and
localhub (a GitHub-compatible server over that repository). Then it runs
renew --cron-mode (plan, renewal, sealing, pull request, auto-merge), plays
the rollout, runs status, advances Equifax's clock and runs again to finish the
rotations (old secrets revoked) and to show a no-op, and finally proves the
result: every manifest on main decrypts with its own environment's key to a
secret Equifax accepts.

The runs' logs go to demo.log in the demo's folder, unless --log-level is
given: then they go to stderr at that level. Without --workdir the demo works
in a temporary folder that is removed at the end (kept if the demo fails).`,
		Example: `  credrotate-sandbox demo
  credrotate-sandbox demo --provider entra                   # Entra ID application passwords (also okta, gcpkey, http, http-okta)
  credrotate-sandbox demo --workdir /tmp/crdemo --serve      # keep the servers up afterwards
  credrotate-sandbox demo --keys 100 --latency 50ms          # a bigger world`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a, f, cmd.Flags().Changed("log-level"))
		},
	}
	cmd.AddCommand(newDemoRolloutCmd(a))
	fl := cmd.Flags()
	fl.StringVar(&f.workdir, "workdir", "", "keep everything in this folder (default: a new temporary folder)")
	fl.BoolVar(&f.serve, "serve", false, "keep the emulator and localhub running afterwards, until interrupted")
	fl.IntVar(&f.keys, "keys", 4, "number of provider keys")
	fl.DurationVar(&f.latency, "latency", 0, "latency added to every emulator and localhub call")
	fl.StringVar(&f.transport, "transport", "rest", "Equifax transport: rest or soap")
	fl.StringVar(&f.provider, "provider", "equifax", "the keys' provider: equifax, entra, okta, gcpkey, http (the Equifax emulator through examples/providers/equifax-rest.yaml) or http-okta (the Okta emulator through examples/providers/okta.yaml)")
	fl.StringVar(&f.encryption, "encryption", "sealedSecrets", "the environments' encryption: sealedSecrets or sops for all, or per environment (staging=sops)")
	return cmd
}

func runDemo(ctx context.Context, a *cli.App, f demoFlags, logLevelSet bool) (err error) {
	if f.keys < 1 || f.keys > 10000 {
		return cli.UsageErrorf("--keys %d: use 1 to 10000", f.keys)
	}
	if f.transport != "rest" && f.transport != "soap" {
		return cli.UsageErrorf("--transport %q: use rest or soap", f.transport)
	}
	if !slices.Contains(demo.Providers(), f.provider) {
		return cli.UsageErrorf("--provider %q: use one of %s", f.provider, strings.Join(demo.Providers(), ", "))
	}
	sopsEnvs, err := demo.ParseEncryption(f.encryption)
	if err != nil {
		return cli.UsageErrorf("--encryption: %v", err)
	}
	dir, temporary := f.workdir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "credrotate-demo-"); err != nil {
			return err
		}
		temporary = true
	}
	out := a.Stdout()
	start := time.Now()
	w, err := demo.Start(ctx, demo.Options{Dir: dir, Keys: f.keys, Latency: f.latency, Transport: f.transport, Provider: f.provider, SOPS: sopsEnvs})
	if err != nil {
		if temporary {
			_ = os.RemoveAll(dir)
		}
		return fmt.Errorf("starting the demo: %w", err)
	}
	defer w.Close()
	// The run lock lives in the system's temporary folder; the demo's
	// repository is gone once the demo is, and so is its lock.
	defer func() { _ = os.Remove(cli.LockPath(w.GitURL, "main")) }()
	if err := os.Setenv(demo.TokenEnv, demo.Token); err != nil {
		return err
	}

	// The runs log to a file unless --log-level asks for them here.
	sub := subRun{config: w.ConfigPath, stdout: out, stderr: a.Stderr(), logLevel: a.LogLevel(), logFormat: a.LogFormat()}
	logPath := ""
	if !logLevelSet {
		logPath = filepath.Join(w.Dir, "demo.log")
		lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer func() { _ = lf.Close() }()
		sub.stderr, sub.logLevel, sub.logFormat = lf, "info", "text"
		if f.keys > 8 {
			sub.logLevel = "warn"
		}
	}
	defer func() {
		switch {
		case err != nil && logPath != "":
			err = fmt.Errorf("%w\nthe runs' logs: %s", err, logPath)
		case err == nil && temporary:
			_ = os.RemoveAll(w.Dir)
		}
	}()
	exe := executable()

	section(out, "The demo world")
	emuLine := "Equifax         %s (REST and SOAP emulator)"
	if w.Service.Type() != "equifax" {
		emuLine = fmt.Sprintf("%-15s %%s (emulator)", w.Service.Title())
	}
	fmt.Fprintf(out, "  folder          %s\n  "+emuLine+"\n  GitHub          %s/api/v3/ (localhub)\n  GitOps repo     %s (bare: %s/gitops.git)\n  config          %s\n  sealing keys    %s/keys/{prod,staging,uat}.{key,crt}\n  current secrets %s/current/<provider key> (what a mounted Secret would hold)\n",
		w.Dir, w.EmulatorURL, w.HubURL, w.GitURL, w.Dir, w.ConfigPath, w.Dir, w.Dir)
	if logPath != "" {
		fmt.Fprintf(out, "  logs            %s (--log-level info shows them here instead)\n", logPath)
	}
	fmt.Fprintf(out, "  provider keys   %d, expiring in:", len(w.Keys))
	for i, k := range w.Keys {
		if i == 4 {
			fmt.Fprintf(out, " ...")
			break
		}
		fmt.Fprintf(out, " %s %dd;", k.Key, int(k.ExpiresIn.Hours()/24))
	}
	fmt.Fprintln(out)

	renew := func(title string) error {
		section(out, title)
		return sub.run(ctx, "renew", "--cron-mode")
	}

	if err := renew("Run 1: credrotate renew --cron-mode"); err != nil {
		return err
	}
	if prs := w.Hub.PullRequests(); len(prs) > 0 {
		pr := prs[len(prs)-1]
		state := "open"
		if pr.Merged {
			state = "merged (auto-merge)"
		}
		section(out, fmt.Sprintf("Pull request #%d: %s", pr.Number, pr.Title))
		fmt.Fprintf(out, "  %s, %s/%s/%s/pull/%d\n\n", state, w.HubURL, w.Hub.Owner(), w.Hub.Repo(), pr.Number)
		fmt.Fprintln(out, indent(renderMarkdown(pr.Body)))
	}

	section(out, "Rollout: Argo CD or Flux applies main, the controller decrypts, the Secret changes")
	changed, err := w.Rollout(ctx)
	if err != nil {
		return err
	}
	printRollout(out, changed)

	section(out, "credrotate status")
	if err := sub.run(ctx, "status"); err != nil {
		return err
	}

	w.Service.Advance(25 * time.Hour)
	if err := renew("Run 2, a day later: finish the rotations (revoke the old secrets)"); err != nil {
		return err
	}
	if err := renew("Run 3: nothing to do"); err != nil {
		return err
	}

	section(out, "Proof")
	proofs, err := w.Prove(ctx)
	if err != nil {
		fmt.Fprintf(out, "  PROOF FAILED: %v\n", err)
		return fmt.Errorf("the demo's proof failed: %w", err)
	}
	revoked := w.Service.Revoked()
	fmt.Fprintf(out, "  PROOF PASSED: %d manifests on main decrypt with their own environment's key (and no other) to secrets %s accepts; %d old secrets revoked.\n", len(proofs), w.Service.Title(), revoked)
	fmt.Fprintf(out, "  demo took %s\n", time.Since(start).Round(time.Second))

	if !f.serve {
		if temporary {
			fmt.Fprintf(out, "\nThe demo's temporary folder is removed. To keep the world and drive it by hand:\n  $ %s demo --workdir DIR --serve\n", exe)
		} else {
			fmt.Fprintf(out, "\nEverything is kept in %s. To drive a world by hand, keep the servers up:\n  $ %s demo --workdir ANOTHER-DIR --serve\n", w.Dir, exe)
		}
		return nil
	}
	key := handKey(w)
	section(out, "Serving until interrupted (Ctrl-C); in another terminal, try")
	// The localhub token is the demo's published constant (the README and
	// the configuration's comment show it), not a secret; the runs above
	// registered it with the run's redactor, which would mask the one hint
	// that lets the commands below reach localhub.
	fmt.Fprintf(redact.Unwrap(out), "  $ export %s=%s\n", demo.TokenEnv, demo.Token)
	fmt.Fprintf(out, "  $ %s status --config %s\n", exe, w.ConfigPath)
	fmt.Fprintf(out, "  $ %s renew --config %s --provider-key %s   # renew one key now, by hand: a pull request that auto-merges\n", exe, w.ConfigPath, key)
	fmt.Fprintf(out, "  $ %s demo rollout --workdir %s   # play the rollout: main's prod manifest reaches current/%s\n", exe, w.Dir, key)
	if w.Emulator != nil {
		fmt.Fprintf(out, "  $ curl -fsS -X POST %s%sclock -d '{\"advance\":\"25h\"}'   # a day passes at Equifax\n", w.EmulatorURL, emulator.ControlPrefix)
	}
	fmt.Fprintf(out, "  $ %s renew --config %s --cron-mode   # the rollout is seen: the old secret of %s is revoked\n", exe, w.ConfigPath, key)
	fmt.Fprintf(out, "  %s emulator: %s (controls under %s)   localhub: %s\n", w.Service.Title(), w.EmulatorURL, emulator.ControlPrefix, w.HubURL)
	<-ctx.Done()
	return nil
}

// handKey is the key the --serve hints renew by hand: one the demo's runs
// left alone, so that renewing it does something.
func handKey(w *demo.World) credential.ProviderKey {
	for _, k := range w.Keys {
		if k.ExpiresIn > 14*24*time.Hour {
			return k.Key
		}
	}
	return w.Keys[len(w.Keys)-1].Key
}

func newDemoRolloutCmd(a *cli.App) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Play the rollout of a demo kept with --workdir: main's prod manifests reach current/",
		Long: `rollout does by hand what Argo CD or Flux and the sealed-secrets controller
do in a cluster, for a demo kept in --workdir (while it serves, or after): each
key's prod SealedSecret on main is decrypted with the demo's prod key and
written to current/<provider key>, the file a mounted Secret would change.`,
		Example: `  credrotate-sandbox demo rollout --workdir /tmp/crdemo`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return cli.UsageErrorf("--workdir is required: the folder of a demo started with --workdir")
			}
			changed, err := demo.RolloutDir(cmd.Context(), dir)
			if err != nil {
				return cli.UsageError(err)
			}
			printRollout(a.Stdout(), changed)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "workdir", "", "the demo's folder")
	return cmd
}

func printRollout(out io.Writer, changed []credential.ProviderKey) {
	if len(changed) == 0 {
		fmt.Fprintln(out, "  nothing changed: every current secret already holds what main says")
		return
	}
	fmt.Fprintf(out, "  %d current secret(s) now hold the new value: %v\n", len(changed), changed)
}

// subRun runs a credrotate command in this process against the demo's
// configuration, as a person would from the shell.
type subRun struct {
	config              string
	stdout, stderr      io.Writer
	logLevel, logFormat string
}

func (s subRun) run(ctx context.Context, args ...string) error {
	full := append([]string{"--config", s.config, "--log-level", s.logLevel, "--log-format", s.logFormat}, args...)
	return cli.Run(ctx, full, strings.NewReader(""), s.stdout, s.stderr)
}

// executable is the path of the binary that is running, for hints a
// person can paste.
func executable() string {
	p, err := os.Executable()
	if err != nil {
		return "credrotate"
	}
	return p
}

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag     = regexp.MustCompile(`</?(sub|sup|details|summary|br)\s*/?>`)
	bold        = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	heading     = regexp.MustCompile(`(?m)^#{1,6} +`)
	blankLines  = regexp.MustCompile(`\n{3,}`)
)

// renderMarkdown is a pull request body as GitHub shows it, near enough
// for a terminal: no hidden comments (credrotate's state marker), no
// tags, no emphasis or code marks; tables stay as they are.
func renderMarkdown(s string) string {
	s = htmlComment.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "<br>", " ")
	s = strings.ReplaceAll(s, "> [!IMPORTANT]\n", "")
	s = strings.ReplaceAll(s, "> [!WARNING]\n", "")
	s = strings.ReplaceAll(s, "> [!CAUTION]\n", "")
	s = htmlTag.ReplaceAllString(s, "")
	s = bold.ReplaceAllString(s, "$1")
	s = heading.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "`", "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n== %s ==\n", title)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}
