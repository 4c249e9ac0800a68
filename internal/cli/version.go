package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// The build's version, commit and date: each main sets them (see Build) from
// what -ldflags "-X main.version=... -X main.commit=... -X main.date=..." stamps.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// keyModules are the libraries whose versions decide how credrotate talks to
// GitHub, seals, commits, reads its configuration, speaks SOAP and logs: the
// ones a bug report needs. version prints the version each was built with,
// from the binary's build information.
var keyModules = []string{
	"github.com/google/go-github/v60",
	"github.com/bitnami-labs/sealed-secrets",
	"github.com/go-git/go-git/v5",
	"github.com/spf13/viper",
	"github.com/hooklift/gowsdl",
	"github.com/sirupsen/logrus",
}

// versionInfo is what `credrotate version -o json` prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// Modules maps each of keyModules to the version the binary was built
	// with; a module the binary does not link is absent.
	Modules map[string]string `json:"modules"`
}

// buildVersionInfo reads the stamped variables and the build information.
// readBuildInfo is debug.ReadBuildInfo outside tests.
func buildVersionInfo(readBuildInfo func() (*debug.BuildInfo, bool)) versionInfo {
	info := versionInfo{
		Version:   version,
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Modules:   map[string]string{},
	}
	bi, ok := readBuildInfo()
	if !ok {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	want := make(map[string]bool, len(keyModules))
	for _, m := range keyModules {
		want[m] = true
	}
	for _, dep := range bi.Deps {
		if dep == nil || !want[dep.Path] {
			continue
		}
		v := dep.Version
		if dep.Replace != nil {
			v = dep.Replace.Version
			if v == "" {
				v = "(replaced by " + dep.Replace.Path + ")"
			}
		}
		info.Modules[dep.Path] = v
	}
	return info
}

func newVersionCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and key library versions",
		Long: `version prints what this binary is: the release version, the commit and date
it was built from, the Go version, and the versions of the libraries that
decide how it talks to GitHub, seals, commits, reads its configuration,
speaks SOAP and logs (from the binary's build information). Quote it in a
bug report.`,
		Example: `  credrotate version
  credrotate version -o json | jq -r .version`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return printVersion(a.stdout, output, buildVersionInfo(debug.ReadBuildInfo))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func printVersion(w io.Writer, output string, info versionInfo) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	case "table", "":
	default:
		return usageErrorf("unknown output format %q: use table or json", output)
	}
	if _, err := fmt.Fprintf(w, "credrotate %s (commit %s, built %s)\n", info.Version, info.Commit, info.Date); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "  %-40s %s\n  %-40s %s\n", "go", info.GoVersion, "platform", info.Platform); err != nil {
		return err
	}
	for _, m := range keyModules {
		v, ok := info.Modules[m]
		if !ok {
			v = "(not linked)"
		}
		if _, err := fmt.Fprintf(w, "  %-40s %s\n", m, v); err != nil {
			return err
		}
	}
	return nil
}
