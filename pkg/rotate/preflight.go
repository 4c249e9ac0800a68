package rotate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/seal"
)

// Preflight checks everything that can fail before the point of no return
// and reads the state the plan is made from. It changes nothing anywhere.
// A failure that concerns the whole run (a certificate, an overlay, the
// manifests, GitHub, a current secret) ends it here with a *StepError; a
// key that Equifax does not describe fails alone (KeyObservation.DescribeErr)
// and the other keys proceed.
func (r *Runner) Preflight(ctx context.Context) (*Observation, error) {
	obs := &Observation{
		current: map[credential.ProviderKey]credential.Secret{},
		specs:   map[credential.ProviderKey]KeySpec{},
		openPRs: map[int]forge.PR{},
	}
	fail := func(step string, err error, next string) (*Observation, error) {
		return nil, &StepError{Step: string(StepPreflight) + " " + step, Err: err, Next: next}
	}

	// Certificates of every environment.
	certOpts := r.CertOptions
	if certOpts.Now == nil {
		certOpts.Now = r.now
	}
	for _, e := range r.Envs {
		if e.Encryption == seal.EncryptionSOPS {
			if e.Encoder == nil {
				return fail("encryption", fmt.Errorf("environment %s is on sops but has no encoder", e.Name), "set environments[].sops.ageRecipients")
			}
			obs.Envs = append(obs.Envs, seal.Environment{Name: e.Name, Path: e.Path, Namespace: e.Namespace, Encryption: e.Encryption, Encoder: e.Encoder})
			continue
		}
		o := certOpts
		o.Fingerprint = e.CertFingerprint
		cert, warnings, err := seal.LoadCertificate(ctx, e.Name, e.Cert, o)
		if err != nil {
			return fail("certificates", err, "fix the certificate of environment "+e.Name+" (fetch the current one with `kubeseal --fetch-cert`)")
		}
		obs.Warnings = append(obs.Warnings, warnings...)
		obs.Envs = append(obs.Envs, seal.Environment{Name: e.Name, Path: e.Path, Cert: cert, Scope: e.Scope, Namespace: e.Namespace})
	}

	// Overlay folders exist on the base branch.
	var dirs []string
	for _, e := range r.Envs {
		fi, err := r.Repo.Stat(e.Path)
		if err != nil || !fi.IsDir() {
			return fail("overlays", fmt.Errorf("overlay folder %s of environment %s does not exist on branch %s", e.Path, e.Name, r.Settings.BaseBranch),
				"create it in the GitOps repository (with a kustomization.yaml that the overlay includes) or fix the environment's path")
		}
		dirs = append(dirs, e.Path)
	}

	// What the base branch deploys.
	manifests, err := seal.ReadManifests(ctx, r.Repo, dirs...)
	if err != nil {
		return fail("manifests", err, "fix or remove the file named above on the base branch")
	}

	byPath := make(map[string]seal.Manifest, len(manifests))
	for _, m := range manifests {
		byPath[m.Path] = m
	}
	// With concurrency 1 every call of the run is made in order, one at a
	// time: the pull requests, the alerts, then each key's description.
	// Otherwise the alerts are listed while the pull requests are, and a
	// key the manifests alone show is not quiet is described meanwhile too.
	if r.concurrency() == 1 {
		open, err := r.openRotations(ctx, obs, dirs)
		if err != nil {
			return nil, err
		}
		alerted := r.alerted(r.openAlertKeys(ctx))
		if err := r.observeKeys(ctx, obs, byPath); err != nil {
			return nil, err
		}
		attachOpen(obs, open)
		for i := range obs.Keys {
			if r.isQuiet(obs.Keys[i], alerted) {
				obs.Keys[i].Quiet = true
				continue
			}
			r.describe(ctx, obs, &obs.Keys[i])
		}
		for i := range obs.Keys {
			r.setAside(&obs.Keys[i])
		}
		r.step(StepToken)
		return obs, nil
	}

	if err := r.observeKeys(ctx, obs, byPath); err != nil {
		return nil, err
	}
	var (
		alertKeys map[string]bool
		alertsErr error
		alertsOut = make(chan struct{})
	)
	if r.SkipQuiet {
		go func() {
			defer close(alertsOut)
			alertKeys, alertsErr = r.openAlertKeys(ctx)
		}()
	} else {
		close(alertsOut)
	}
	defer func() { <-alertsOut }()

	// The describes: first every key not quiet by its manifests alone (an
	// open pull request or alert only makes a key less quiet), then, once
	// the pull requests and alerts are known, the others that are not quiet.
	dctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(dctx)
	g.SetLimit(r.concurrency())
	var now, later []int
	for i := range obs.Keys {
		if r.isQuiet(obs.Keys[i], nil) {
			later = append(later, i)
		} else {
			now = append(now, i)
		}
	}
	known := make(chan bool, 1) // true: the pull requests and alerts are known
	var alerted map[string]bool
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for _, i := range now {
			g.Go(func() error { r.describe(gctx, obs, &obs.Keys[i]); return nil })
		}
		if !<-known {
			return
		}
		for _, i := range later {
			if r.isQuiet(obs.Keys[i], alerted) {
				obs.Keys[i].Quiet = true
				continue
			}
			g.Go(func() error { r.describe(gctx, obs, &obs.Keys[i]); return nil })
		}
	}()

	open, err := r.openRotations(ctx, obs, dirs)
	if err == nil {
		<-alertsOut
		alerted = r.alerted(alertKeys, alertsErr)
		attachOpen(obs, open)
	} else {
		cancel() // the describes under way are not needed
	}
	known <- err == nil
	<-fed
	_ = g.Wait()
	cancel()
	if err != nil {
		return nil, err
	}
	for i := range obs.Keys {
		r.setAside(&obs.Keys[i])
	}
	r.step(StepToken)
	return obs, nil
}

// openAlertKeys lists the open alert issues when quiet keys are skipped
// (only then do they matter to the preflight).
func (r *Runner) openAlertKeys(ctx context.Context) (map[string]bool, error) {
	if !r.SkipQuiet {
		return nil, nil
	}
	return r.Forge.OpenAlertKeys(ctx)
}

// alerted is the keys with an open alert issue. Without the list nothing
// is known to be quiet: every key is described.
func (r *Runner) alerted(keys map[string]bool, err error) map[string]bool {
	if r.SkipQuiet && err != nil {
		r.Log.WithError(err).Warn("could not list the open alert issues; every key is described at Equifax")
		return map[string]bool{runAlertKey: true}
	}
	return keys
}

// isQuiet reports whether ko is skipped as quiet: SkipQuiet, no open alert
// for it or for the run (alerted), and its manifests show nothing can be
// due. With alerted nil it answers from the manifests alone, which an open
// pull request or alert can only make less quiet.
func (r *Runner) isQuiet(ko KeyObservation, alerted map[string]bool) bool {
	return r.SkipQuiet && !alerted[runAlertKey] && !alerted[alertKey(ko.Key)] && r.quiet(ko)
}

// openRotations reads the open rotation pull requests and what each
// proposes, by key, and records them in obs.
func (r *Runner) openRotations(ctx context.Context, obs *Observation, dirs []string) (map[credential.ProviderKey][]OpenRotation, error) {
	fail := func(err error, next string) (map[credential.ProviderKey][]OpenRotation, error) {
		return nil, &StepError{Step: string(StepPreflight) + " pull requests", Err: err, Next: next}
	}
	prs, err := r.Forge.ListOpenPRs(ctx, r.Settings.BranchPrefix)
	if err != nil {
		return fail(err, "check the GitHub token's access to the repository")
	}
	open := map[credential.ProviderKey][]OpenRotation{}
	for _, pr := range prs {
		st, ok, err := forge.ParseState(pr.Body)
		if err != nil || !ok {
			obs.Warnings = append(obs.Warnings, fmt.Sprintf("pull request #%d on %s has no readable credrotate state marker; it is left alone", pr.Number, pr.Branch))
			continue
		}
		keys := st.Keys
		if st.Version >= 2 {
			// The marker identifies the run; what the pull request
			// proposes is what its branch's commit changes.
			keys, err = r.branchKeys(ctx, pr.Branch, dirs)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				obs.Warnings = append(obs.Warnings, fmt.Sprintf("pull request #%d: its branch %s is gone; it is left alone", pr.Number, pr.Branch))
				continue
			case errors.Is(err, errUnreadableBranch):
				obs.Warnings = append(obs.Warnings, fmt.Sprintf("pull request #%d on %s: %v; it is left alone", pr.Number, pr.Branch, err))
				continue
			case err != nil:
				return fail(fmt.Errorf("reading rotation branch %s of pull request #%d: %w", pr.Branch, pr.Number, err), "check the git remote is reachable; nothing was changed")
			}
		}
		if pr.MergeableState == "" && pr.Mergeable == nil {
			// Lists do not carry mergeability: read the pull request itself,
			// so that one conflicting with the base branch is seen.
			if full, err := r.Forge.GetPR(ctx, pr.Number); err == nil {
				pr.Mergeable, pr.MergeableState = full.Mergeable, full.MergeableState
			} else {
				r.Log.WithError(err).Warnf("could not read whether pull request #%d conflicts with the base branch; it is resumed", pr.Number)
			}
		}
		obs.openPRs[pr.Number] = pr
		for _, ks := range keys {
			k := credential.ProviderKey(ks.ProviderKey)
			open[k] = append(open[k], OpenRotation{Number: pr.Number, URL: pr.URL, Branch: pr.Branch, NewSecretID: ks.NewSecretID, OldSecretID: ks.OldSecretID, Fingerprint: ks.Fingerprint, ExpiresAt: ks.ExpiresAt, Emergency: ks.Emergency, Conflicting: pr.Conflicting()})
		}
	}
	return open, nil
}

// observeKeys reads each key's current secret and what the base branch
// deploys of it into obs.Keys.
func (r *Runner) observeKeys(ctx context.Context, obs *Observation, byPath map[string]seal.Manifest) error {
	obs.Keys = make([]KeyObservation, len(r.Keys))
	obs.index = make(map[credential.ProviderKey]int, len(r.Keys))
	for i, k := range r.Keys {
		sec, err := k.Current.Read(ctx)
		if err != nil {
			return &StepError{Step: string(StepPreflight) + " current secret", Err: fmt.Errorf("%s: %w", k.Key, err), Next: "make the current secret of " + string(k.Key) + " readable at " + k.Current.Describe()}
		}
		obs.current[k.Key] = sec
		obs.specs[k.Key] = k
		ko := KeyObservation{Key: k.Key, ClientID: k.ClientID, Service: serviceName(k.Provider), Environments: len(r.Envs), CurrentFingerprint: sec.Fingerprint()}
		for _, e := range obs.Envs {
			if m, ok := byPath[e.ManifestPath(k.Key)]; ok && m.Metadata.ProviderKey == k.Key {
				ko.Deployed = append(ko.Deployed, Deployed{Env: e.Name, Path: m.Path, SecretID: m.Metadata.SecretID, Fingerprint: m.Metadata.Fingerprint, ExpiresAt: m.Metadata.ExpiresAt, RotatedAt: m.Metadata.RotatedAt})
			}
		}
		obs.Keys[i] = ko
		obs.index[k.Key] = i
	}
	return nil
}

// attachOpen records each key's open rotations: the newest as Open, the
// others (duplicates) as Others.
func attachOpen(obs *Observation, open map[credential.ProviderKey][]OpenRotation) {
	for i := range obs.Keys {
		ko := &obs.Keys[i]
		if prs := open[ko.Key]; len(prs) > 0 {
			sort.Slice(prs, func(i, j int) bool { return prs[i].Number > prs[j].Number })
			first := prs[0]
			ko.Open, ko.Others = &first, prs[1:]
		}
	}
}

// describe reads ko's client at its provider (a token and the describe),
// with the current secret. A failure is ko's alone. It touches only what
// the description sets (Client, HintMatches, DescribeErr, DescribeNext), so
// it may run while the open rotations are attached.
func (r *Runner) describe(ctx context.Context, obs *Observation, ko *KeyObservation) {
	spec := obs.specs[ko.Key]
	cur := obs.current[ko.Key]
	info, err := spec.Provider.Describe(ctx, equifax.Credentials{ClientID: spec.ClientID, ClientSecret: cur})
	if err != nil {
		svc := serviceName(spec.Provider)
		next := "check the " + svc + " client and its current secret; the next run describes it again"
		if errors.Is(err, equifax.ErrUnauthorized) {
			next = "the credentials for " + string(ko.Key) + " are not accepted by " + svc + ": check " + spec.Current.Describe() + " holds the deployed secret, and the management identity where the provider has one"
		} else if equifax.Retryable(err) {
			next = svc + " did not answer for this key; the other keys went ahead, and the next run describes it again"
		}
		ko.DescribeErr, ko.DescribeNext = err, next
		r.Log.WithFields(map[string]any{"provider_key": ko.Key, "step": string(StepDescribe)}).WithError(err).Error("describing the key at " + svc + " failed; the other keys proceed")
		return
	}
	ko.Client = info
	for _, s := range info.Secrets {
		switch {
		case !s.Status.Valid():
		case info.CallerSecretID != "":
			// The value names its secret: that one and no other.
			if s.SecretID == info.CallerSecretID {
				ko.HintMatches = append(ko.HintMatches, s.SecretID)
			}
		case s.Hint != "" && strings.HasPrefix(cur.Reveal(), s.Hint):
			ko.HintMatches = append(ko.HintMatches, s.SecretID)
		}
	}
}

// setAside sets a described key's foreign secrets aside (see
// setForeignAside), once its open rotations are known.
func (r *Runner) setAside(ko *KeyObservation) {
	if ko.Quiet || ko.DescribeErr != nil {
		return
	}
	setForeignAside(ko)
	if n := len(ko.SetAside); n > 0 {
		r.Log.WithFields(map[string]any{"provider_key": ko.Key, "step": string(StepDescribe), "set_aside": n}).
			Infof("%d secret(s) of client %s were not made by credrotate and nothing it manages refers to them; they are left alone", n, ko.ClientID)
	}
}

// errUnreadableBranch marks a rotation branch whose change credrotate
// cannot read back.
var errUnreadableBranch = errors.New("the rotation branch's change is unreadable")

// branchKeys reads what an open rotation proposes from its branch: the
// credrotate manifests its commit adds or changes in the environments'
// folders, one KeyState per provider key (the new secret, the one it
// replaces, fingerprint, expiry, emergency, from the annotations).
func (r *Runner) branchKeys(ctx context.Context, branch string, dirs []string) ([]forge.KeyState, error) {
	files, err := r.Repo.BranchChanges(ctx, branch)
	if err != nil {
		return nil, err
	}
	return ProposedKeys(files, dirs)
}

// ProposedKeys reads what a rotation branch proposes from the files its
// commit changes (Repo.BranchChanges): the credrotate manifests among them
// in dirs (none, "" or "." for all), one KeyState per provider key. A manifest
// that does not parse, or two that disagree on a key's new secret, are an
// error: the branch is not credrotate's to read.
func ProposedKeys(files map[string][]byte, dirs []string) ([]forge.KeyState, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		if len(dirs) == 0 {
			paths = append(paths, p)
		}
		for _, d := range dirs {
			if d == "" || d == "." || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
				paths = append(paths, p)
				break
			}
		}
	}
	sort.Strings(paths)
	var out []forge.KeyState
	index := map[credential.ProviderKey]int{}
	for _, p := range paths {
		ms, err := seal.ParseManifests(p, files[p])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnreadableBranch, err)
		}
		for _, m := range ms {
			md := m.Metadata
			if i, ok := index[md.ProviderKey]; ok {
				if out[i].NewSecretID != md.SecretID {
					return nil, fmt.Errorf("%w: %s carries secret %s for %s, another file %s", errUnreadableBranch, p, md.SecretID, md.ProviderKey, out[i].NewSecretID)
				}
				continue
			}
			if md.SecretID == "" {
				return nil, fmt.Errorf("%w: %s has no %s", errUnreadableBranch, p, seal.AnnotationSecretID)
			}
			index[md.ProviderKey] = len(out)
			out = append(out, forge.KeyState{ProviderKey: string(md.ProviderKey), NewSecretID: md.SecretID, OldSecretID: md.PreviousSecretID,
				Fingerprint: md.Fingerprint, ExpiresAt: md.ExpiresAt, Emergency: md.Emergency})
		}
	}
	return out, nil
}

// setForeignAside moves the foreign secrets nothing of credrotate's refers
// to (a manifest, an open pull request, the workload's secret by its hint)
// out of the client's metadata, into SetAside.
func setForeignAside(ko *KeyObservation) {
	referenced := map[string]bool{}
	for _, d := range ko.Deployed {
		referenced[d.SecretID] = true
	}
	for _, pr := range append([]OpenRotation{}, ko.Others...) {
		referenced[pr.NewSecretID], referenced[pr.OldSecretID] = true, true
	}
	if ko.Open != nil {
		referenced[ko.Open.NewSecretID], referenced[ko.Open.OldSecretID] = true, true
	}
	for _, id := range ko.HintMatches {
		referenced[id] = true
	}
	kept := ko.Client.Secrets[:0:0]
	for _, s := range ko.Client.Secrets {
		if s.Foreign && !referenced[s.SecretID] {
			ko.SetAside = append(ko.SetAside, s)
			continue
		}
		kept = append(kept, s)
	}
	ko.Client.Secrets = kept
}

// quietMargin keeps a quiet key a day away from anything that could fall due.
const quietMargin = 24 * time.Hour

// quiet reports whether the manifests alone show that nothing can be due for
// a key (see SkipQuiet). A key with a rotation in flight is never quiet: an
// open pull request, a rotation within the grace period, a workload that does
// not hold the deployed secret. (An open alert issue, a failed last run, is
// checked by the caller.)
func (r *Runner) quiet(ko KeyObservation) bool {
	if ko.Open != nil || len(ko.Others) > 0 || len(ko.Deployed) != ko.Environments || ko.Environments == 0 {
		return false
	}
	if _, ok := deployedSecretID(ko.Deployed); !ok {
		return false
	}
	now := r.now()
	for _, d := range ko.Deployed {
		switch {
		case d.Fingerprint == "" || d.Fingerprint != ko.CurrentFingerprint,
			d.ExpiresAt.IsZero() || !now.Before(d.ExpiresAt.Add(-r.Settings.RenewBefore-quietMargin)),
			d.RotatedAt.IsZero() || now.Sub(d.RotatedAt) < r.Settings.GracePeriod+quietMargin:
			return false
		}
	}
	return true
}

// client returns the Equifax metadata observed for key.
func (o *Observation) client(key credential.ProviderKey) equifax.ClientInfo {
	if i, ok := o.index[key]; ok {
		return o.Keys[i].Client
	}
	return equifax.ClientInfo{}
}

func (r *Runner) concurrency() int {
	if r.Settings.Concurrency < 1 {
		return 1
	}
	return r.Settings.Concurrency
}

// alertKey is the alert issue's key of one provider key.
func alertKey(k credential.ProviderKey) string { return "credrotate:" + string(k) }
