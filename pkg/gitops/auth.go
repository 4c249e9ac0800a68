package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
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
		installHTTPTransport()
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

// ErrRedirectRefused matches a git HTTPS redirect that credrotate refused to
// follow: to another origin, or from https to http. The token is never sent
// there.
var ErrRedirectRefused = errors.New("git redirect refused")

// RedirectError is a refused git redirect. It matches ErrRedirectRefused.
type RedirectError struct {
	// From and To are the origins (scheme://host[:port]) of the hop.
	From, To string
}

func (e *RedirectError) Error() string {
	if strings.HasPrefix(e.From, "https://") && strings.HasPrefix(e.To, "http://") {
		return fmt.Sprintf("the git server at %s redirected to %s: a downgrade from https to http is never followed, and no credential was sent there", e.From, e.To)
	}
	return fmt.Sprintf("the git server at %s redirected to another origin, %s: credrotate does not follow it and sent no credential there (set git.url to the repository's final address)", e.From, e.To)
}

// Is makes RedirectError match ErrRedirectRefused.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirectRefused }

var installOnce sync.Once

// installHTTPTransport replaces go-git's http and https transports, once
// per process, with one whose client refuses any redirect that leaves the
// origin of the request that started it. go-git itself (its "initial"
// policy) already strips credentials from a cross-origin hop and refuses
// a downgrade; refusing the hop outright means a hostile or misconfigured
// server is reported rather than silently followed without credentials,
// and that nothing at all, not even the request, reaches the other host.
func installHTTPTransport() {
	installOnce.Do(func() {
		hc := &http.Client{Transport: http.DefaultTransport, CheckRedirect: checkGitRedirect}
		t := githttp.NewClientWithOptions(hc, &githttp.ClientOptions{RedirectPolicy: githttp.FollowInitialRedirects})
		client.InstallProtocol("https", t)
		client.InstallProtocol("http", t)
	})
}

// checkGitRedirect follows a hop only within the first request's origin.
func checkGitRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	first := via[0].URL
	if gitOrigin(req.URL) != gitOrigin(first) {
		return &RedirectError{From: strings.ToLower(first.Scheme + "://" + first.Host), To: strings.ToLower(req.URL.Scheme + "://" + req.URL.Host)}
	}
	if len(via) >= 5 {
		return fmt.Errorf("the git server redirected %d times: %w", len(via), ErrRedirectRefused)
	}
	return nil
}

func gitOrigin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
