package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/seal"
)

// checkOptions tune checkConfig.
type checkOptions struct {
	// online also fetches certificate URLs, reads Kubernetes current
	// secrets and asks Equifax and GitHub, changing nothing.
	online bool
	// lookupEnv reads the environment; nil is os.LookupEnv.
	lookupEnv func(string) (string, bool)
	// now is the clock of the certificate checks; nil is time.Now.
	now func() time.Time
	// log receives what the clients log during --online; nil discards it.
	log *logrus.Entry
}

// checkReport is what checkConfig found: problems a run would stop on,
// and notes on what is fine or was not checked.
type checkReport struct {
	problems []config.Problem
	notes    []string
}

func (r *checkReport) problem(key, value, msg, fix string) {
	r.problems = append(r.problems, config.Problem{Key: key, Value: value, Message: msg, Fix: fix})
}

func (r *checkReport) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// checkConfig checks what a loaded (and so structurally valid)
// configuration points at: offline, that every certificate file exists
// and is a usable sealing certificate (RSA, not expired, matching its pin)
// and that every secret source is present; online, also the certificate
// URLs, Kubernetes secret sources, and that Equifax accepts each current
// secret and GitHub the token, with the permissions a run needs. Nothing
// is changed anywhere.
func checkConfig(ctx context.Context, cfg *config.Config, opts checkOptions) checkReport {
	if opts.lookupEnv == nil {
		opts.lookupEnv = os.LookupEnv
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		opts.log = logrus.NewEntry(l)
	}
	var r checkReport
	checkCertificates(ctx, cfg, opts, &r)
	checkSecretSources(ctx, cfg, opts, &r)
	if opts.online {
		checkServices(ctx, cfg, opts, &r)
	} else {
		r.note("not checked offline: certificate URLs, Kubernetes secret sources, Equifax and GitHub (run with --online; it changes nothing)")
	}
	return r
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func checkCertificates(ctx context.Context, cfg *config.Config, opts checkOptions, r *checkReport) {
	for i, e := range cfg.Environments {
		if e.IsSOPS() {
			// No certificate: the recipients are checked by Validate, the
			// identity file here.
			if _, err := sopsEncoder(e); err != nil {
				r.problem(fmt.Sprintf("environments[%d].sops", i), "", "("+e.Name+"): "+err.Error(), "fix sops.ageRecipients or sops.ageKeyFile")
			}
			continue
		}
		key := fmt.Sprintf("environments[%d].cert.file", i)
		value := e.Cert.File
		if e.Cert.URL != "" {
			key, value = fmt.Sprintf("environments[%d].cert.url", i), config.MaskURL(e.Cert.URL)
			if !opts.online {
				continue
			}
		}
		c, warnings, err := seal.LoadCertificate(ctx, e.Name, seal.CertSource{File: e.Cert.File, URL: e.Cert.URL},
			seal.LoadOptions{Fingerprint: e.CertFingerprint, Now: opts.now, Timeout: cfg.Rotation.Timeout})
		if err != nil {
			var ce *seal.CertError
			msg, fix := err.Error(), "check the certificate"
			if errors.As(err, &ce) {
				msg = ce.Err.Error()
				if ce.Detail != "" {
					msg += ": " + ce.Detail
				}
				if ce.Fix != "" {
					fix = ce.Fix
				}
			}
			if errors.Is(err, seal.ErrFingerprintMismatch) {
				key, value = fmt.Sprintf("environments[%d].certFingerprint", i), e.CertFingerprint
			}
			r.problem(key, value, "("+e.Name+"): "+msg, fix)
			continue
		}
		bits := 0
		if c.PublicKey != nil {
			bits = c.PublicKey.N.BitLen()
		}
		pin := "not pinned (set certFingerprint to pin it)"
		if e.CertFingerprint != "" {
			pin = "matches certFingerprint"
		}
		days := int(c.X509.NotAfter.Sub(opts.now()).Hours() / 24)
		r.note("%s certificate %s: RSA %d bits, expires %s (%d days), sha256 %s, %s",
			e.Name, c.Source, bits, c.X509.NotAfter.UTC().Format(time.DateOnly), days, c.Fingerprint, pin)
		for _, w := range warnings {
			r.note("%s certificate: %s", e.Name, w)
		}
	}
}

func checkSecretSources(ctx context.Context, cfg *config.Config, opts checkOptions, r *checkReport) {
	envSet := func(name string) bool {
		v, ok := opts.lookupEnv(name)
		return ok && strings.TrimSpace(v) != ""
	}
	readable := func(key, file, what string) {
		f, err := os.Open(file)
		if err != nil {
			r.problem(key, file, "cannot be read: "+errText(err), "put "+what+" there, or fix the path (relative paths are relative to the configuration file)")
			return
		}
		_ = f.Close()
	}
	gh := cfg.GitHub
	if gh.App.Enabled() {
		readable("github.app.privateKeyFile", gh.App.PrivateKeyFile, "the GitHub App's private key (PEM)")
	} else if !envSet(gh.TokenEnv) {
		r.problem("github.tokenEnv", gh.TokenEnv, "names an environment variable that is not set", "export "+gh.TokenEnv+" with a token that has contents, pull-requests and issues write access, or configure github.app")
	}
	g := cfg.Git
	gitHTTPS := strings.HasPrefix(g.URL, "https://") || strings.HasPrefix(g.URL, "http://")
	if gitHTTPS && !gh.App.Enabled() && g.TokenEnv != "" && g.TokenEnv != gh.TokenEnv && !envSet(g.TokenEnv) {
		r.problem("git.tokenEnv", g.TokenEnv, "names an environment variable that is not set", "export "+g.TokenEnv+" with a token that may push to "+config.MaskURL(g.URL))
	}
	if g.SSHKeyFile != "" {
		readable("git.sshKeyFile", g.SSHKeyFile, "the SSH private key")
	}
	if g.SigningKeyFile != "" {
		readable("git.signingKeyFile", g.SigningKeyFile, "the commit signing key")
	}
	if n := cfg.Notify.WebhookURLEnv; n != "" && !envSet(n) {
		r.note("notify.webhookURLEnv: %s is not set, so a run sends no notifications", n)
	}
	// The management identities of the provider types in use.
	source := func(key string, src *config.SecretSource, what string) {
		switch {
		case src == nil:
		case src.File != "":
			readable(key+".file", src.File, what)
		case src.Env != "":
			if !envSet(src.Env) {
				r.problem(key+".env", src.Env, "names an environment variable that is not set", "export "+src.Env+" with "+what)
			}
		}
	}
	if cfg.Uses(config.TypeEntra) {
		m := cfg.Entra.Management
		source("entra.management.clientSecret", m.ClientSecret, "the management application's client secret")
		if m.FederatedTokenFile != "" {
			readable("entra.management.federatedTokenFile", m.FederatedTokenFile, "the workload identity token (AKS mounts it when the pod has the azure.workload.identity/use label)")
		}
	}
	if cfg.Uses(config.TypeOkta) {
		m := cfg.Okta.Management
		source("okta.management.apiToken", m.APIToken, "the Okta API token")
		if m.ServiceApp != nil && m.ServiceApp.PrivateKeyFile != "" {
			readable("okta.management.serviceApp.privateKeyFile", m.ServiceApp.PrivateKeyFile, "the service app's private key (PEM)")
		}
	}
	if cfg.Uses(config.TypeGCPKey) && cfg.GCP.CredentialsFile != "" {
		readable("gcp.credentialsFile", cfg.GCP.CredentialsFile, "the management service account's key file, or leave it empty for Application Default Credentials")
	}
	for i, p := range cfg.Providers {
		key := fmt.Sprintf("providers[%d].currentSecret", i)
		cs := p.CurrentSecret
		switch {
		case cs.File != "":
			readable(key+".file", cs.File, "the deployed secret of "+string(p.Key)+" (a mounted Secret)")
			if _, err := os.Stat(cs.File); err != nil {
				continue
			}
		case cs.Env != "":
			if !envSet(cs.Env) {
				r.problem(key+".env", cs.Env, "names an environment variable that is not set", "export "+cs.Env+" with the deployed secret of "+string(p.Key))
				continue
			}
		case cs.Kubernetes != nil && !opts.online:
			continue
		}
		src, err := currentSource(cs)
		if err != nil {
			r.problem(key, "", errText(err), "set exactly one of file, env or kubernetes")
			continue
		}
		if _, err := src.Read(ctx); err != nil {
			r.problem(key, "", "("+string(p.Key)+"): "+errText(err), "make the deployed secret readable at "+src.Describe())
		}
	}
}

// checkServices asks each key's provider about it with its current secret
// and GitHub about the token, as preflight does; neither changes anything.
func checkServices(ctx context.Context, cfg *config.Config, opts checkOptions, r *checkReport) {
	w := &wiring{cfg: cfg, log: opts.log, red: redact.New()}
	hc := &http.Client{Timeout: 2 * cfg.Rotation.Timeout}
	providers := map[string]provider.Provider{}
	for i, p := range cfg.Providers {
		key := fmt.Sprintf("providers[%d]", i)
		src, err := currentSource(p.CurrentSecret)
		if err != nil {
			continue
		}
		secret, err := src.Read(ctx)
		if err != nil {
			continue // reported by checkSecretSources
		}
		prov, err := w.keyProvider(p, hc, providers)
		if err != nil {
			r.problem(key+".type", p.TypeOrDefault(), errText(err), describeFix(p.TypeOrDefault()))
			continue
		}
		title := provider.Title(p.TypeOrDefault())
		info, err := prov.Describe(ctx, provider.Client{ClientID: p.ClientID, ClientSecret: secret})
		if err != nil {
			r.problem(key, string(p.Key), title+" did not accept the credentials or did not answer: "+errText(err), describeFix(p.TypeOrDefault()))
			continue
		}
		if a, ok := info.Active(); ok {
			r.note("%s at %s: active secret %s expires %s", p.Key, title, a.SecretID, a.ExpiresAt.UTC().Format(time.DateOnly))
		} else {
			r.note("%s at %s: no active secret", p.Key, title)
		}
	}
	if _, err := w.forge(ctx); err != nil {
		key := "github.tokenEnv"
		if cfg.GitHub.App.Enabled() {
			key = "github.app"
		}
		r.problem(key, "", "GitHub: "+errText(err), forgeNext(err))
	} else {
		r.note("GitHub %s/%s: reachable; the credentials may push, and read pull requests and issues", cfg.GitHub.Owner, cfg.GitHub.Repo)
	}
}

// describeFix is what to check when a provider of typ cannot describe a key.
func describeFix(typ string) string {
	switch typ {
	case config.TypeEntra:
		return "check entra.tenantID, entra.graphURL, the management identity (entra.management) and the application's clientID"
	case config.TypeOkta:
		return "check okta.orgURL, the management API token or service app (okta.management) and the app's clientID"
	case config.TypeGCPKey:
		return "check gcp.endpoint, the management credentials (gcp.credentialsFile or workload identity) and the service account email in clientID"
	}
	return "check equifax.baseURL, the clientID and the deployed secret"
}

// errText is err's message; the types that hold secrets redact them in it.
func errText(err error) string { return err.Error() }
