package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/demo"
)

type demoFlags struct {
	workdir   string
	serve     bool
	keys      int
	latency   time.Duration
	transport string
}

func newDemoCmd(a *app) *cobra.Command {
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
secret Equifax accepts.`,
		Example: `  credrotate demo
  credrotate demo --workdir /tmp/crdemo --serve      # keep the servers up afterwards
  credrotate demo --keys 100 --latency 50ms          # a bigger world`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.workdir, "workdir", "", "keep everything in this folder (default: a new temporary folder)")
	fl.BoolVar(&f.serve, "serve", false, "keep the emulator and localhub running afterwards, until interrupted")
	fl.IntVar(&f.keys, "keys", 4, "number of provider keys")
	fl.DurationVar(&f.latency, "latency", 0, "latency added to every emulator and localhub call")
	fl.StringVar(&f.transport, "transport", "rest", "Equifax transport: rest or soap")
	return cmd
}

func (a *app) demo(ctx context.Context, f demoFlags) error {
	if f.keys < 1 || f.keys > 10000 {
		return usageErrorf("--keys %d: use 1 to 10000", f.keys)
	}
	if f.transport != "rest" && f.transport != "soap" {
		return usageErrorf("--transport %q: use rest or soap", f.transport)
	}
	dir := f.workdir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "credrotate-demo-"); err != nil {
			return err
		}
	}
	out := a.stdout
	start := time.Now()
	w, err := demo.Start(ctx, demo.Options{Dir: dir, Keys: f.keys, Latency: f.latency, Transport: f.transport})
	if err != nil {
		return fmt.Errorf("starting the demo: %w", err)
	}
	defer w.Close()
	if err := os.Setenv(demo.TokenEnv, demo.Token); err != nil {
		return err
	}

	section(out, "The demo world")
	fmt.Fprintf(out, "  folder          %s\n  Equifax         %s (REST and SOAP emulator)\n  GitHub          %s/api/v3/ (localhub)\n  GitOps repo     %s (bare: %s/gitops.git)\n  config          %s\n  sealing keys    %s/keys/{prod,staging,uat}.{key,crt}\n  current secrets %s/current/<provider key> (what a mounted Secret would hold)\n",
		w.Dir, w.EmulatorURL, w.HubURL, w.GitURL, w.Dir, w.ConfigPath, w.Dir, w.Dir)
	fmt.Fprintf(out, "  provider keys   %d, expiring in:", len(w.Keys))
	for i, k := range w.Keys {
		if i == 4 {
			fmt.Fprintf(out, " ...")
			break
		}
		fmt.Fprintf(out, " %s %dd;", k.Key, int(k.ExpiresIn.Hours()/24))
	}
	fmt.Fprintln(out)

	sub := &app{stdin: strings.NewReader(""), stdout: out, stderr: a.stderr, configPath: w.ConfigPath, logLevel: "warn", logFormat: "text", red: a.red}
	if f.keys <= 8 {
		sub.logLevel = "info"
	}
	renew := func(title string) error {
		section(out, title)
		return sub.renew(ctx, renewFlags{cronMode: true, output: "table"}, "credrotate renew --cron-mode")
	}

	if err := renew("Run 1: credrotate renew --cron-mode"); err != nil {
		return err
	}
	if prs := w.Hub.PullRequests(); len(prs) > 0 {
		pr := prs[len(prs)-1]
		section(out, fmt.Sprintf("Pull request #%d (%s, merged=%v)", pr.Number, pr.Title, pr.Merged))
		fmt.Fprintln(out, indent(pr.Body))
	}

	section(out, "Rollout: Argo CD or Flux applies main, the controller decrypts, the Secret changes")
	changed, err := w.Rollout(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %d current secret(s) now hold the new value: %v\n", len(changed), changed)

	section(out, "credrotate status")
	if err := sub.status(ctx, "table"); err != nil {
		return err
	}

	w.Emulator.Advance(25 * time.Hour)
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
	revoked := 0
	for _, c := range w.Emulator.Clients() {
		for _, s := range c.Secrets {
			if s.Status == "REVOKED" {
				revoked++
			}
		}
	}
	fmt.Fprintf(out, "  PROOF PASSED: %d manifests on main decrypt with their own environment's key (and no other) to secrets Equifax accepts; %d old secrets revoked.\n", len(proofs), revoked)
	fmt.Fprintf(out, "  demo took %s\n", time.Since(start).Round(time.Millisecond))

	if !f.serve {
		fmt.Fprintf(out, "\nEverything is kept in %s (run with --serve to keep the servers up).\n", w.Dir)
		return nil
	}
	section(out, "Serving until interrupted (Ctrl-C)")
	fmt.Fprintf(out, "  export %s=%s\n  credrotate renew --config %s --provider-key %s\n  credrotate status --config %s\n  Equifax emulator: %s   localhub: %s\n",
		demo.TokenEnv, demo.Token, w.ConfigPath, w.Keys[0].Key, w.ConfigPath, w.EmulatorURL, w.HubURL)
	<-ctx.Done()
	return nil
}

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n== %s ==\n", title)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}
