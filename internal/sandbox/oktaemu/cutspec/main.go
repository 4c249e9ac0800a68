// Command cutspec cuts Okta's published OpenAPI descriptions
// (github.com/okta/okta-management-openapi-spec) down to the operations
// credrotate's Okta provider, its emulator and
// examples/providers/okta.yaml use, and writes the cut, with a header
// naming its source, to examples/providers/okta.openapi.yaml:
//
//	git clone https://github.com/okta/okta-management-openapi-spec /tmp/okta-spec
//	go run ./internal/sandbox/oktaemu/cutspec -repo /tmp/okta-spec -commit "$(git -C /tmp/okta-spec rev-parse HEAD)"
//
// The same source commit always gives the same file.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cutspec:", err)
		os.Exit(1)
	}
}

// Upstream is where Okta publishes the descriptions.
const Upstream = "https://github.com/okta/okta-management-openapi-spec"

// Sources are the descriptions cut and what is kept of each.
var Sources = []Source{
	{Name: "management", Path: "dist/current/management-minimal.yaml", Operations: []string{
		"GET /api/v1/apps", // the inventory's list of every app
		"GET /api/v1/apps/{appId}/credentials/secrets",
		"POST /api/v1/apps/{appId}/credentials/secrets",
		"DELETE /api/v1/apps/{appId}/credentials/secrets/{secretId}",
		"POST /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/deactivate",
	}},
	{Name: "oauth", Path: "dist/current/oauth-minimal.yaml", Operations: []string{
		"POST /oauth2/v1/token",                         // a service app's management token (private_key_jwt)
		"POST /oauth2/{authorizationServerId}/v1/token", // the proof of a new secret (client_secret_basic)
	}},
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cutspec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", "", "a clone of "+Upstream+" (bare or not)")
	commit := fs.String("commit", "", "the commit of -repo to cut (40 hex digits)")
	out := fs.String("o", "examples/providers/okta.openapi.yaml", "the file written; - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *repo == "" || !commitRe.MatchString(*commit) {
		fs.Usage()
		return errors.New("-repo and -commit (40 hex digits) are needed")
	}
	docs := make([][]byte, len(Sources))
	for i, s := range Sources {
		b, err := gitShow(ctx, *repo, *commit, s.Path)
		if err != nil {
			return err
		}
		docs[i] = b
	}
	b, err := Render(*commit, docs)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cutspec: %s (%d bytes) from %s at %s\n", *out, len(b), Upstream, *commit)
	return nil
}

// Render cuts docs (the files of Sources at commit, in order) and returns
// the file with its header.
func Render(commit string, docs [][]byte) ([]byte, error) {
	doc, err := Cut(Sources, docs)
	if err != nil {
		return nil, err
	}
	return Encode(Header(commit), doc)
}

// Header is the comment the cut opens with.
func Header(commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Okta's own OpenAPI descriptions, cut down to what credrotate uses.

Source: %s
  commit %s
`, Upstream, commit)
	for _, s := range Sources {
		fmt.Fprintf(&b, "  %s:\n", s.Path)
		for _, op := range s.Operations {
			fmt.Fprintf(&b, "    %s\n", op)
		}
	}
	b.WriteString(`
Licence: Apache-2.0, as the descriptions' info.license and the
repository's README say; its text is okta.openapi.LICENSE beside this
file. Published by Okta (Okta Developer Team, devex-public@okta.com).

Changes: only the operations above are kept, with their paths'
parameters, the tags they carry and the components (schemas, parameters,
responses, examples, security schemes) they reference, transitively; each
is Okta's text unchanged. The two token operations come from the OAuth 2.0
description (oauth-minimal.yaml) and are merged into the management one
(management-minimal.yaml), whose openapi, info, servers and externalDocs
head the file. Where the OAuth 2.0 description defines a component of the
same name differently (or one that references such a component), its
component is kept as Name_oauth and its references point there: that
renaming is the only change to Okta's text.

Do not edit: internal/sandbox/oktaemu/cutspec makes this file
(docs/providers.md says how to refresh it).
`)
	return b.String()
}

// gitShow reads path at commit from the git repository dir.
func gitShow(ctx context.Context, dir, commit, path string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "show", commit+":"+path)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s from %s: %w: %s", path, commit, dir, err, strings.TrimSpace(stderr.String()))
	}
	return b, nil
}
