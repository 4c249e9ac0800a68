package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// authMethod picks the transport credentials for opts.URL.
func authMethod(opts Options) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing git url %s: %w", RedactURL(opts.URL), err)
	}
	switch ep.Protocol {
	case "http", "https":
		if opts.Token == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: "x-access-token", Password: opts.Token}, nil
	case "ssh":
		if opts.SSHKeyFile == "" {
			return nil, errors.New("git url is ssh but git.sshKeyFile is empty: set it to a private key file")
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, opts.SSHKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("loading ssh key %s: %w", opts.SSHKeyFile, err)
		}
		var files []string
		if opts.KnownHostsFile != "" {
			files = append(files, opts.KnownHostsFile)
		}
		cb, err := gitssh.NewKnownHostsCallback(files...)
		if err != nil {
			return nil, fmt.Errorf("loading ssh known_hosts (set SSH_KNOWN_HOSTS or git known hosts file): %w", err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	default:
		return nil, nil
	}
}

// pgpSigner signs commits with an OpenPGP entity (a detached armored
// signature, as git expects in the gpgsig header).
type pgpSigner struct{ e *openpgp.Entity }

func (s pgpSigner) Sign(message io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, s.e, message, nil); err != nil {
		return nil, fmt.Errorf("signing commit: %w", err)
	}
	return buf.Bytes(), nil
}

var _ git.Signer = pgpSigner{}

// loadSigner reads an armored OpenPGP private key.
func loadSigner(file string) (git.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("parsing signing key %s: %w", file, err)
	}
	if len(el) == 0 || el[0].PrivateKey == nil {
		return nil, fmt.Errorf("signing key %s holds no private key", file)
	}
	e := el[0]
	if e.PrivateKey.Encrypted {
		return nil, fmt.Errorf("signing key %s is passphrase-protected: export it without a passphrase and protect the file instead", file)
	}
	return pgpSigner{e: e}, nil
}
