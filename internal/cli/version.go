package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// The build's version, commit and date: each main sets them (see Build) from
// what -ldflags "-X main.version=... -X main.commit=... -X main.date=..." stamps.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "credrotate %s (commit %s, built %s)\n", version, commit, date)
			return err
		},
	}
}
