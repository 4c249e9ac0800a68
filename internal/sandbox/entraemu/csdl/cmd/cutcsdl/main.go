// Command cutcsdl writes the vendored cut of Microsoft Graph's v1.0
// metadata (internal/sandbox/entraemu/csdl/testdata/graph-v1.0-application.xml)
// from a copy of the published file, clean_v10_metadata/cleanMetadata.xml
// of github.com/microsoftgraph/msgraph-metadata: the elements csdl.GraphKeep
// names, each copied byte for byte.
//
//	go run ./internal/sandbox/entraemu/csdl/cmd/cutcsdl -in cleanMetadata.xml \
//	  -out internal/sandbox/entraemu/csdl/testdata/graph-v1.0-application.xml
//
// -commit names the source's commit when the copy is of another one than
// csdl.GraphSource's.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cutcsdl:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cutcsdl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "-", "the published cleanMetadata.xml (- for standard input)")
	out := fs.String("out", "-", "where to write the cut (- for standard output)")
	commit := fs.String("commit", csdl.GraphSource.Commit, "the msgraph-metadata commit the copy is of")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("no arguments are taken, only -in, -out and -commit")
	}
	var src []byte
	var err error
	if *in == "-" {
		src, err = io.ReadAll(stdin)
	} else {
		src, err = os.ReadFile(*in)
	}
	if err != nil {
		return err
	}
	from := csdl.GraphSource
	from.Commit = *commit
	cut, err := csdl.Cut(src, from, csdl.GraphKeep)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = stdout.Write(cut)
		return err
	}
	return os.WriteFile(*out, cut, 0o644)
}
