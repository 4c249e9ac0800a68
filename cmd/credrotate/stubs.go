package main

// Commands whose capability is not built yet. Each one says so and exits 2;
// the file that implements a command removes its stub from here.

import "github.com/spf13/cobra"

func stubCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short + " (not available yet)",
		RunE:  func(*cobra.Command, []string) error { return notAvailable(use) },
		// Accept any flags so the message is the one a person sees.
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
	}
}

func newSealCmd(*app) *cobra.Command {
	return stubCmd("seal", "Seal a secret (stdin) into a local checkout, without committing")
}
