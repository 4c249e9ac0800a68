package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/credrotate/credrotate/pkg/credential"
)

// maxStdinSecret caps what is read as a secret from stdin.
const maxStdinSecret = 64 << 10

// readStdinSecret reads a secret from stdin: without echo when stdin is a
// terminal (prompting on stderr), else the whole input less one trailing
// newline.
func readStdinSecret(stdin io.Reader, stderr io.Writer, what string) (credential.Secret, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Enter the %s (input is hidden): ", what)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return credential.Secret{}, fmt.Errorf("reading the %s: %w", what, err)
		}
		return nonEmpty(string(b), what)
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxStdinSecret+1))
	if err != nil {
		return credential.Secret{}, fmt.Errorf("reading the %s from stdin: %w", what, err)
	}
	if len(b) > maxStdinSecret {
		return credential.Secret{}, fmt.Errorf("stdin holds more than %d bytes: pipe only the %s", maxStdinSecret, what)
	}
	return nonEmpty(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), what)
}

func nonEmpty(s, what string) (credential.Secret, error) {
	if s == "" {
		return credential.Secret{}, errors.New("no " + what + " on stdin: pipe it in, e.g. `credrotate adopt ... < secret.txt`")
	}
	return credential.NewSecret(s), nil
}
