package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
)

func newStatusCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every provider key x environment: secret id, expiry, days left, state, PR",
		Long: `status reads the GitOps repository's base branch, the open credrotate pull
requests and Equifax's metadata, and shows every provider key in every
environment: the secret id deployed, its fingerprint, expiry and days left, the
state of its rotation with the reason for it (why it waits, what would move
it), what the next scheduled run would do, and the open pull request. It also
shows the run lease (refs/credrotate/lease on the remote): free, or which run
holds it, since when and until when. It changes nothing.`,
		Example: `  credrotate status
  credrotate status -o json | jq '.keys[] | select(.daysLeft < 14)'
  credrotate status -o json | jq .lease`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.status(cmd.Context(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func (a *app) status(ctx context.Context, output string) error {
	if output != "table" && output != "json" {
		return usageErrorf("-o %q is not a format: use table or json", output)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	w, runner, obs, err := a.observeWith(ctx, "status", cfg, nil)
	if err != nil {
		return err
	}
	st := statusReport{Lease: readLease(ctx, w), Keys: runner.Status(obs)}
	if output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(a.stdout, "LEASE %s: %s\n\n", gitops.LeaseRef, st.Lease.Summary)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER KEY\tENV\tSECRET ID\tFINGERPRINT\tEXPIRES\tDAYS LEFT\tSTATE\tNEXT\tPULL REQUEST\tREASON")
	for _, r := range st.Keys {
		exp := "-"
		if !r.ExpiresAt.IsZero() {
			exp = r.ExpiresAt.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Key, r.Env, orDash(r.SecretID), orDash(r.Fingerprint), exp, r.DaysLeft, r.State, r.Next, orDash(r.PR), orDash(r.Note))
	}
	return tw.Flush()
}

// observeWith builds a runner for cfg and runs its preflight, for the
// commands that read the state without rotating (a command that writes uses
// observeLocked). adjust, if set, changes the runner before preflight. It
// also returns the wiring the runner was built from.
func (a *app) observeWith(ctx context.Context, command string, cfg *config.Config, adjust func(*rotate.Runner)) (*wiring, *rotate.Runner, *rotate.Observation, error) {
	traceID := newTraceID()
	log, err := a.newLogger(traceID)
	if err != nil {
		return nil, nil, nil, err
	}
	w := &wiring{cfg: cfg, log: log, traceID: traceID, command: commandLine(os.Args[1:]), red: a.red}
	runner, err := w.newRunner(ctx)
	if err != nil {
		return nil, nil, nil, observeExit(fmt.Errorf("%s: %w%s", command, err, nextAction(err)))
	}
	if adjust != nil {
		adjust(runner)
	}
	obs, err := runner.Preflight(ctx)
	if err != nil {
		return nil, nil, nil, observeExit(fmt.Errorf("%s: %w%s", command, err, nextAction(err)))
	}
	return w, runner, obs, nil
}

// readLease reads the run lease for status. A lease that cannot be read is
// shown with the reason, not fatal: the keys' state is still worth seeing.
func readLease(ctx context.Context, w *wiring) leaseStatus {
	leases, err := w.leases()
	if err != nil {
		return leaseStatus{State: "unknown", Summary: "unknown: " + err.Error()}
	}
	st, err := leases.Read(ctx)
	return describeLease(st, err, time.Now())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
