package cli

import (
	"context"
	"net/http"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/credential/source"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/forge/github"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/notify"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/rotate"
	"github.com/credrotate/credrotate/pkg/seal"
)

// wiring is what a run is built from: the configuration turned into the
// implementations the orchestrator's interfaces ask for.
type wiring struct {
	cfg     *config.Config
	log     *logrus.Entry
	traceID string
	command string
	// red is the run's redactor: every secret the run reads or mints is
	// registered with it, and the forge and notifier write through it.
	red *redact.Redactor
	// failpoint, when set, kills the process after the named step. It is
	// read from CREDROTATE_FAILPOINT and exists for the crash tests.
	failpoint string
	// emergency is renew --emergency.
	emergency bool
	// dryRun is renew --dry-run.
	dryRun bool
	// listers are the providers, by type, that can list their scope (the
	// inventory's unmanaged credentials); set by keyProvider.
	listers map[string]provider.Lister
	// gitToken is what the workspace pushes with (set by newRunner); the
	// run lease uses it too.
	gitToken string
	// beforeClone, when set, runs in newRunner once git can be reached (the
	// push token is known) and before the clone: renew takes the run lease
	// there, so that the clone is made under it and shows every rotation a
	// run before it merged. access waits for the GitHub access check, which
	// runs meanwhile, and returns its failure; raise raises the run's alert
	// issue.
	beforeClone func(ctx context.Context, access func() error, raise func(context.Context, error) (string, error)) error
}

// newRunner builds the orchestrator: it clones the repository and
// connects to GitHub, so it is part of preflight.
func (w *wiring) newRunner(ctx context.Context) (*rotate.Runner, error) {
	cfg := w.cfg
	httpClient := &http.Client{Timeout: 2 * cfg.Rotation.Timeout}

	keys := make([]rotate.KeySpec, 0, len(cfg.Providers))
	providers := map[string]provider.Provider{}
	for _, p := range cfg.Providers {
		prov, err := w.keyProvider(p, httpClient, providers)
		if err != nil {
			return nil, err
		}
		cur, err := currentSource(p.CurrentSecret)
		if err != nil {
			return nil, err
		}
		cur = redactReader(cur, w.red)
		keys = append(keys, rotate.KeySpec{
			Key: p.Key, ClientID: p.ClientID, Provider: prov, Current: cur,
			Secret: seal.SecretRef{Name: p.Secret.Name, Namespace: p.Secret.Namespace, DataKey: p.Secret.DataKey},
		})
	}
	envs := make([]rotate.EnvSpec, 0, len(cfg.Environments))
	for _, e := range cfg.Environments {
		parts, err := envSpec(e)
		if err != nil {
			return nil, err
		}
		envs = append(envs, rotate.EnvSpec{
			Name: e.Name, Path: e.Path, Cert: seal.CertSource{File: e.Cert.File, URL: e.Cert.URL},
			CertFingerprint: e.CertFingerprint, Scope: seal.Scope(e.Scope), Namespace: e.Namespace,
			Encryption: parts.encryption, Encoder: parts.encoder,
		})
	}

	fg, err := w.connect(ctx)
	if err != nil {
		return nil, &rotate.StepError{Step: "preflight github", Err: err, Next: forgeNext(err)}
	}
	// GitHub's access check goes on while the lease is taken and the
	// repository cloned; its failure is reported before theirs, as if it
	// had come first.
	access := checkAccess(ctx, fg)
	gitToken := os.Getenv(cfg.Git.TokenEnv)
	if gitToken == "" && cfg.GitHub.App.Enabled() {
		// A GitHub App pushes with its installation token, which the access
		// check has fetched.
		if err := access(); err != nil {
			return nil, err
		}
		if gitToken, err = fg.GitToken(ctx); err != nil {
			return nil, &rotate.StepError{Step: "preflight github", Err: err, Next: "check the GitHub App's id, installation id and private key"}
		}
	}
	w.gitToken = gitToken
	w.red.Add(gitToken)
	if w.beforeClone != nil {
		alerter := &rotate.Runner{Log: w.log, TraceID: w.traceID, Forge: redactForge(fg, w.red), Settings: rotate.Settings{AlertLabels: cfg.GitHub.AlertLabels}}
		if err := w.beforeClone(ctx, access, alerter.RaiseRunAlert); err != nil {
			return nil, err
		}
	}
	ws, err := gitops.Clone(ctx, gitops.Options{
		URL: cfg.Git.URL, BaseBranch: cfg.Git.BaseBranch, Token: gitToken,
		SSHKeyFile: cfg.Git.SSHKeyFile, SigningKeyFile: cfg.Git.SigningKeyFile,
		Author: gitops.Signature{Name: cfg.Git.Author.Name, Email: cfg.Git.Author.Email},
	})
	if aerr := access(); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, &rotate.StepError{Step: "preflight clone", Err: err, Next: "check git.url and the push token (git.tokenEnv) or SSH key"}
	}
	// The repository's .sops.yaml decides how each SOPS file is written.
	keyNames := make([]credential.ProviderKey, 0, len(keys))
	for _, k := range keys {
		keyNames = append(keyNames, k.Key)
	}
	ruled, warnings, err := sopsRuleEncoders(repoAdapter{ws}, cfg, keyNames)
	for _, m := range warnings {
		w.log.WithField("step", "preflight").Warn(m)
	}
	if err != nil {
		return nil, &rotate.StepError{Step: "preflight sops", Err: err, Next: sopsRulesNext}
	}
	for i := range envs {
		if enc, ok := ruled[envs[i].Name]; ok {
			envs[i].Encoder = enc
		}
	}
	r := &rotate.Runner{
		Log: w.log, TraceID: w.traceID, Keys: keys, Envs: envs,
		Repo: repoAdapter{ws}, Forge: redactForge(fg, w.red),
		Settings: rotate.Settings{
			BaseBranch: cfg.Git.BaseBranch, BranchPrefix: cfg.Git.BranchPrefix, PerKey: cfg.PullRequest.Grouping == "perKey",
			Labels: cfg.GitHub.Labels, Reviewers: cfg.GitHub.Reviewers, TeamReviewers: cfg.GitHub.TeamReviewers,
			AutoMerge: cfg.GitHub.AutoMerge.Enabled, MergeMethod: cfg.GitHub.AutoMerge.Method, MergeStrategy: cfg.GitHub.AutoMerge.Strategy,
			AlertLabels: cfg.GitHub.AlertLabels,
			RenewBefore: cfg.Rotation.RenewBefore, GracePeriod: cfg.Rotation.GracePeriod, RevokeAfter: cfg.Rotation.RevokeAfter,
			Concurrency: cfg.Rotation.Concurrency, MockSafe: !cfg.Rotation.EnableClientSecretRenewal, Command: w.command,
			CriticalBefore: cfg.Rotation.CriticalBefore, CreateSettle: cfg.Rotation.CreateSettle, Emergency: w.emergency,
			RunURL: actionsRunURL(),
		},
	}
	if env := cfg.Notify.WebhookURLEnv; env != "" {
		if u := os.Getenv(env); u != "" {
			addWebhookURL(w.red, u)
			r.Notifier = redactingNotifier{n: notify.Webhook{URL: u}, red: w.red}
		}
	}
	if w.failpoint != "" {
		r.AfterStep = func(step string) {
			if step == w.failpoint {
				w.log.WithField("step", step).Warn("failpoint reached: stopping the process")
				killSelf()
			}
		}
	}
	return r, nil
}

// provider builds the Equifax client for a transport, wrapped in the
// mock-safe provider when renewal is switched off.
func (w *wiring) provider(transport string, hc *http.Client) (rotate.Provider, error) {
	cfg := w.cfg.Equifax
	log := w.log
	if !w.cfg.Rotation.EnableClientSecretRenewal {
		log = log.WithField("mock_safe", true)
	}
	var prov equifax.Provider
	switch transport {
	case "rest":
		c, err := rest.New(rest.Options{
			BaseURL: cfg.BaseURL, TokenURL: cfg.TokenURL, ManagementScope: cfg.ManagementScope,
			HTTPClient: hc, Timeout: w.cfg.Rotation.Timeout, Logger: log.WithField("transport", "rest"),
			SecretSeen: w.red.AddSecret,
		})
		if err != nil {
			return nil, usageErrorf("equifax: %v", err)
		}
		prov = c
	case "soap":
		p, err := newSOAPProvider(cfg, hc, log, w.red.AddSecret)
		if err != nil {
			return nil, err
		}
		prov = p
	default:
		return nil, usageErrorf("equifax.transport %q is not rest or soap", transport)
	}
	if !w.cfg.Rotation.EnableClientSecretRenewal {
		prov = newMockSafe(prov, w.log)
	}
	return redactProvider(equifax.AsProvider(prov, cfg.ManagementScope), w.red), nil
}

// currentSource turns a currentSecret configuration into a reader.
func currentSource(s config.SecretSource) (rotate.SecretReader, error) {
	switch {
	case s.File != "":
		return source.File(s.File), nil
	case s.Env != "":
		return source.Env(s.Env), nil
	case s.Kubernetes != nil:
		return newKubeSource(*s.Kubernetes)
	}
	return nil, usageErrorf("a currentSecret has no source")
}

// forge connects to GitHub (or localhub) with a token or as an App, and
// checks the access credrotate needs.
func (w *wiring) forge(ctx context.Context) (*github.Client, error) {
	c, err := w.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.CheckAccess(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// checkAccess starts fg's access check and returns what waits for its
// result: nil, or the check's failure as the preflight's GitHub step. The
// check runs once, whoever waits.
func checkAccess(ctx context.Context, fg *github.Client) func() error {
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		if cerr := fg.CheckAccess(ctx); cerr != nil {
			err = &rotate.StepError{Step: "preflight github", Err: cerr, Next: forgeNext(cerr)}
		}
	}()
	return func() error {
		<-done
		return err
	}
}

// connect makes the GitHub (or localhub) client, with a token or as an
// App, without calling GitHub.
func (w *wiring) connect(ctx context.Context) (*github.Client, error) {
	gh := w.cfg.GitHub
	opts := github.Options{APIURL: gh.APIURL, Owner: gh.Owner, Repo: gh.Repo,
		Logf: w.log.WithField("step", "github").Warnf}
	if gh.App.Enabled() {
		key, err := os.ReadFile(gh.App.PrivateKeyFile)
		if err != nil {
			return nil, needsFixf("reading the GitHub App private key (github.app.privateKeyFile): %w", err)
		}
		opts.App = &github.AppAuth{ID: gh.App.ID, InstallationID: gh.App.InstallationID, PrivateKeyPEM: key}
	} else {
		opts.Token = os.Getenv(gh.TokenEnv)
		w.red.Add(opts.Token)
		if opts.Token == "" {
			return nil, errMissingToken(gh.TokenEnv, "github.tokenEnv")
		}
	}
	return github.New(ctx, opts)
}

// repoAdapter gives the orchestrator the workspace it needs.
type repoAdapter struct{ *gitops.Workspace }

func (r repoAdapter) Publish(ctx context.Context, req rotate.PublishRequest) (rotate.PublishResult, error) {
	res, err := r.Workspace.Publish(ctx, gitops.PublishRequest{
		Branch:  req.Branch,
		Message: gitops.CommitMessage(req.Keys, req.Envs, req.TraceID),
		Fresh:   req.Fresh,
		Apply: func(ctx context.Context, fsys gitops.FS) error {
			return req.Apply(ctx, fsys)
		},
	})
	return rotate.PublishResult{Changed: res.Changed, Created: res.Created, CommitSHA: res.CommitSHA, Attempts: res.Attempts}, err
}

// commandLine is the run's command as the pull request shows it, without
// the values of --set overrides.
// fromCommand drops the global flags given before the command's name: the
// command line shown is the command and what follows it.
func fromCommand(args []string, name string) []string {
	for i, a := range args {
		if a == name {
			return args[i:]
		}
	}
	return args
}

func commandLine(args []string) string {
	return strings.TrimSpace("credrotate " + strings.Join(commandLineArgs(args), " "))
}

// The GitHub client closes a duplicate pull request without deleting the
// branch the kept one merges from.
var _ rotate.BranchKeepingCloser = (*github.Client)(nil)
