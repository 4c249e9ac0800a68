package rotation

import (
	"context"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential/source"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/forge/github"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
	"github.com/credrotate/credrotate/pkg/seal"
)

// racingRepo is the git workspace with a person pushing to the base branch
// while the run seals: the first time the change is applied, another commit
// lands on main.
type racingRepo struct {
	*gitops.Workspace
	race     func()
	attempts int
}

func (r *racingRepo) Publish(ctx context.Context, req rotate.PublishRequest) (rotate.PublishResult, error) {
	res, err := r.Workspace.Publish(ctx, gitops.PublishRequest{
		Branch:  req.Branch,
		Message: gitops.CommitMessage(req.Keys, req.Envs, req.TraceID),
		Apply: func(ctx context.Context, fsys gitops.FS) error {
			if r.race != nil {
				r.race()
				r.race = nil
			}
			return req.Apply(ctx, fsys)
		},
	})
	r.attempts = res.Attempts
	return rotate.PublishResult{Changed: res.Changed, CommitSHA: res.CommitSHA, Attempts: res.Attempts}, err
}

// TestPushRacedByABaseCommit: while the run seals, a person commits to main
// — to another file and to the very manifest being rotated (a label). The
// publish sees the base move, rebuilds the change on the new base, and the
// merged result keeps both the person's edits and the rotation.
func TestPushRacedByABaseCommit(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	ctx := context.Background()
	cfg, err := config.Load(config.LoadOptions{Path: w.ConfigPath, Environ: []string{demo.TokenEnv + "=" + demo.Token}})
	if err != nil {
		t.Fatal(err)
	}
	target := "overlays/staging/credentials/" + string(w.due()[0].Key) + ".yaml"
	ws, err := gitops.Clone(ctx, gitops.Options{URL: cfg.Git.URL, BaseBranch: "main", Token: demo.Token, Author: gitops.Signature{Name: "credrotate", Email: "credrotate@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	repo := &racingRepo{Workspace: ws, race: func() {
		orig, err := w.MainFile(ctx, target)
		if err != nil {
			t.Error(err)
			return
		}
		edited := strings.Replace(string(orig), "metadata:\n", "metadata:\n  labels:\n    team: credit\n", 1)
		if _, err := w.Hub.CommitFiles(ctx, "main", "", "a person's commit during the run", map[string][]byte{
			"NOTES.md": []byte("pushed while credrotate was sealing\n"),
			target:     []byte(edited),
		}); err != nil {
			t.Error(err)
		}
	}}
	fg, err := github.New(ctx, github.Options{APIURL: cfg.GitHub.APIURL, Owner: cfg.GitHub.Owner, Repo: cfg.GitHub.Repo, Token: demo.Token})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := rest.New(rest.Options{BaseURL: cfg.Equifax.BaseURL, TokenURL: cfg.Equifax.TokenURL})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(&w.logs)
	r := &rotate.Runner{Log: log.WithField("trace_id", "race"), TraceID: "race", Repo: repo, Forge: fg,
		Settings: rotate.Settings{BaseBranch: "main", BranchPrefix: "credrotate/", AutoMerge: true, MergeMethod: "squash", MergeStrategy: "native",
			RenewBefore: cfg.Rotation.RenewBefore, GracePeriod: cfg.Rotation.GracePeriod, RevokeAfter: cfg.Rotation.RevokeAfter, Concurrency: 4}}
	for _, p := range cfg.Providers {
		r.Keys = append(r.Keys, rotate.KeySpec{Key: p.Key, ClientID: p.ClientID, Provider: equifax.AsProvider(prov, cfg.Equifax.ManagementScope), Current: source.File(p.CurrentSecret.File),
			Secret: seal.SecretRef{Name: p.Secret.Name, Namespace: p.Secret.Namespace, DataKey: p.Secret.DataKey}})
	}
	for _, e := range cfg.Environments {
		r.Envs = append(r.Envs, rotate.EnvSpec{Name: e.Name, Path: e.Path, Cert: seal.CertSource{File: e.Cert.File}, Scope: seal.Scope(e.Scope), Namespace: e.Namespace})
	}
	obs, err := r.Preflight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Apply(ctx, obs, r.Plan(obs, true))
	if rep.Failed() {
		t.Fatalf("the raced run failed: %+v", rep.Results)
	}
	if repo.attempts < 2 {
		t.Fatalf("publish took %d attempt(s); the moved base was not noticed", repo.attempts)
	}
	if _, err := w.MainFile(ctx, "NOTES.md"); err != nil {
		t.Fatal("the person's commit was lost")
	}
	merged, err := w.MainFile(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(merged), "team: credit") {
		t.Fatalf("the person's label on the rotated manifest was lost:\n%s", merged)
	}
	if id := w.mainSecretID(w.due()[0].Key); id == w.seeded[w.due()[0].Key] {
		t.Fatal("the rotation did not land")
	}
	if _, err := w.Prove(ctx); err != nil {
		t.Fatal(err)
	}
}
