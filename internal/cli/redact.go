package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/notify"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// The run's redactor is made in run() and is the one way out of the
// process for text: stdout and stderr (reports, JSON, the logs, which write
// to stderr), the final error, the forge (pull request and issue titles,
// bodies and comments), the webhook and the metrics file all pass through
// it. Secret values are registered where they come in: the secret readers
// and providers are wrapped here, the Equifax clients report each access
// token, and the wiring registers the GitHub token, the git token and the
// webhook URL. A value registered once is masked in everything written
// after it.

// newApp returns the app of one process run, its streams masked by a new
// redactor.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	red := redact.New()
	return &app{stdin: stdin, stdout: red.Writer(stdout), stderr: red.Writer(stderr), red: red}
}

// maskError masks err's message with the run's redactor; errors.Is and
// errors.As still see through it. The already-reported silent failure is
// kept as it is.
func (a *app) maskError(err error) error {
	if err == nil || err == errSilentFailure {
		return err
	}
	return a.red.Error(err)
}

// addWebhookURL registers a webhook URL, and its path on its own: the path
// is the credential, and a message could quote it without the host.
func addWebhookURL(red *redact.Redactor, raw string) {
	red.Add(raw)
	if u, err := url.Parse(raw); err == nil {
		red.Add(strings.TrimPrefix(u.Path, "/"))
		red.Add(u.RawQuery)
	}
}

// redactingForge masks every title, body and comment credrotate sends to
// the forge. The other calls pass through.
type redactingForge struct {
	rotate.Forge
	red *redact.Redactor
}

func redactForge(f rotate.Forge, red *redact.Redactor) rotate.Forge {
	return redactingForge{Forge: f, red: red}
}

func (f redactingForge) EnsurePR(ctx context.Context, spec forge.PRSpec) (forge.PR, bool, error) {
	spec.Title, spec.Body = f.red.String(spec.Title), f.red.String(spec.Body)
	return f.Forge.EnsurePR(ctx, spec)
}

func (f redactingForge) ClosePR(ctx context.Context, pr forge.PR, comment string) error {
	return f.Forge.ClosePR(ctx, pr, f.red.String(comment))
}

// ClosePRKeepBranch passes the optional branch-keeping close through, so
// the redacting wrapper does not hide it from the runner.
func (f redactingForge) ClosePRKeepBranch(ctx context.Context, pr forge.PR, comment string) error {
	if c, ok := f.Forge.(rotate.BranchKeepingCloser); ok {
		return c.ClosePRKeepBranch(ctx, pr, f.red.String(comment))
	}
	return errors.New("the forge cannot close a pull request without deleting its branch")
}

func (f redactingForge) RaiseAlert(ctx context.Context, al forge.Alert) (forge.Issue, error) {
	al.Title, al.Body = f.red.String(al.Title), f.red.String(al.Body)
	return f.Forge.RaiseAlert(ctx, al)
}

func (f redactingForge) ResolveAlert(ctx context.Context, key, comment string) error {
	return f.Forge.ResolveAlert(ctx, key, f.red.String(comment))
}

// redactingProvider registers every secret that passes through a provider:
// the credentials of each call (with their Basic-header forms), the secrets
// a create mints or replays, and the secrets it proves. Access tokens are
// registered by the clients themselves (their SecretSeen hook).
type redactingProvider struct {
	p   rotate.Provider
	red *redact.Redactor
}

func redactProvider(p rotate.Provider, red *redact.Redactor) rotate.Provider {
	return redactingProvider{p: p, red: red}
}

func (p redactingProvider) creds(c provider.Client) { p.red.AddBasic(c.ClientID, c.ClientSecret) }

func (p redactingProvider) Name() string          { return p.p.Name() }
func (p redactingProvider) Rules() provider.Rules { return p.p.Rules() }

func (p redactingProvider) Describe(ctx context.Context, c provider.Client) (provider.ClientInfo, error) {
	p.creds(c)
	return p.p.Describe(ctx, c)
}

func (p redactingProvider) Create(ctx context.Context, c provider.Client, req provider.CreateRequest) (provider.Created, error) {
	p.creds(c)
	res, err := p.p.Create(ctx, c, req)
	p.red.AddBasic(c.ClientID, res.ClientSecret)
	return res, err
}

func (p redactingProvider) Verify(ctx context.Context, c provider.Client, secret credential.Secret) error {
	p.creds(c)
	p.red.AddBasic(c.ClientID, secret)
	return p.p.Verify(ctx, c, secret)
}

func (p redactingProvider) Revoke(ctx context.Context, c provider.Client, secretID string) error {
	p.creds(c)
	return p.p.Revoke(ctx, c, secretID)
}

// redactingReader registers the current secret the moment it is read.
type redactingReader struct {
	rotate.SecretReader
	red *redact.Redactor
}

func redactReader(r rotate.SecretReader, red *redact.Redactor) rotate.SecretReader {
	return redactingReader{SecretReader: r, red: red}
}

func (r redactingReader) Read(ctx context.Context) (credential.Secret, error) {
	s, err := r.SecretReader.Read(ctx)
	r.red.AddSecret(s)
	return s, err
}

// redactingNotifier masks the webhook notice.
type redactingNotifier struct {
	n   rotate.Notifier
	red *redact.Redactor
}

func (n redactingNotifier) Notify(ctx context.Context, e notify.Event) error {
	e.Summary = n.red.Strings(append([]string(nil), e.Summary...))
	e.PRURL, e.AlertURL = n.red.String(e.PRURL), n.red.String(e.AlertURL)
	return n.n.Notify(ctx, e)
}

// writeTextfile writes reg's metrics to path the way the node exporter's
// textfile collector wants it (a temporary file renamed over the old one),
// masked by red.
func writeTextfile(path string, reg *prometheus.Registry, red *redact.Redactor) error {
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(red.Bytes(buf.Bytes())); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// commandLineArgs renders args for the pull request with the value of every
// --set left out: configuration overrides can carry anything, a secret
// included, and the pull request body is public to everyone who can read
// the repository.
func commandLineArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			out = append(out, args[i:]...)
			return out
		case a == "--set":
			out = append(out, a)
			if i+1 < len(args) {
				i++
				out = append(out, redactSetValue(args[i]))
			}
		case strings.HasPrefix(a, "--set="):
			out = append(out, "--set="+redactSetValue(strings.TrimPrefix(a, "--set=")))
		default:
			out = append(out, a)
		}
	}
	return out
}

// redactSetValue keeps the key of a KEY=VALUE override and hides the value.
func redactSetValue(kv string) string {
	k, _, ok := strings.Cut(kv, "=")
	if !ok {
		return credential.Redacted
	}
	return k + "=" + credential.Redacted
}

// UpdateDashboard passes the optional dashboard update through, masked.
func (f redactingForge) UpdateDashboard(ctx context.Context, d forge.Dashboard) (forge.Issue, bool, error) {
	u, ok := f.Forge.(rotate.DashboardUpdater)
	if !ok {
		return forge.Issue{}, false, errors.New("the forge cannot keep a dashboard issue")
	}
	d.Title, d.Body = f.red.String(d.Title), f.red.String(d.Body)
	return u.UpdateDashboard(ctx, d)
}
