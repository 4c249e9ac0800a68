// Command releasetool does the release steps that are not GoReleaser's
// (make release-snapshot, make release-notes, make chart-docs):
//
//	releasetool notes VERSION          print CHANGELOG.md's section for VERSION ("Unreleased" too)
//	releasetool chart VERSION DIR      package charts/credrotate as DIR/credrotate-VERSION.tgz, lint and render it
//	releasetool dist-version DIR       print the version GoReleaser built into DIR (metadata.json)
//	releasetool chart-docs [-check]    regenerate the chart README's values table
//
// It runs from the repository's top folder.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/credrotate/credrotate/internal/chartdoc"
	"github.com/credrotate/credrotate/internal/chartpkg"
	"github.com/credrotate/credrotate/internal/releasenotes"
)

const chartDir = "charts/credrotate"

// errUsage marks a wrong command line.
var errUsage = errors.New("usage: releasetool notes VERSION | chart VERSION DIR | dist-version DIR | chart-docs [-check]")

// errStale is returned by chart-docs -check when the README is out of date.
var errStale = errors.New(chartDir + "/README.md is out of date: run make chart-docs")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "releasetool:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "notes" && len(rest) == 1:
		src, err := os.ReadFile("CHANGELOG.md")
		if err != nil {
			return err
		}
		notes, err := releasenotes.Section(src, rest[0])
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, notes)
		return err
	case cmd == "chart" && len(rest) == 2:
		path, err := chartpkg.Package(chartDir, rest[0], rest[1])
		if err != nil {
			return err
		}
		if err := chartpkg.Check(path, rest[0]); err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, path)
		return err
	case cmd == "dist-version" && len(rest) == 1:
		v, err := distVersion(rest[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, v)
		return err
	case cmd == "chart-docs" && (len(rest) == 0 || len(rest) == 1 && rest[0] == "-check"):
		return chartDocs(len(rest) == 1)
	default:
		return errUsage
	}
}

// distVersion reads the version of the release GoReleaser wrote into dist.
func distVersion(dist string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return "", err
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("%s/metadata.json: %w", dist, err)
	}
	if meta.Version == "" {
		return "", fmt.Errorf("%s/metadata.json names no version", dist)
	}
	return meta.Version, nil
}

func chartDocs(check bool) error {
	values, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		return err
	}
	readmePath := filepath.Join(chartDir, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	table, err := chartdoc.Table(values, schema)
	if err != nil {
		return err
	}
	updated, err := chartdoc.Update(readme, table)
	if err != nil {
		return err
	}
	if bytes.Equal(updated, readme) {
		return nil
	}
	if check {
		return errStale
	}
	return os.WriteFile(readmePath, updated, 0o644)
}
