package rotate

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

var t0 = time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)

func secret(id string, st equifax.Status, created, expires time.Time) equifax.SecretInfo {
	return equifax.SecretInfo{SecretID: id, Status: st, CreatedAt: created, ExpiresAt: expires}
}

func deployed(id, fp string, rotated time.Time) []Deployed {
	var ds []Deployed
	for _, env := range []string{"prod", "staging", "uat"} {
		ds = append(ds, Deployed{Env: env, SecretID: id, Fingerprint: fp, RotatedAt: rotated})
	}
	return ds
}

func TestPlanKey(t *testing.T) {
	day := 24 * time.Hour
	old := secret("s-old", equifax.StatusActive, t0.Add(-170*day), t0.Add(10*day))
	fresh := secret("s-old", equifax.StatusActive, t0.Add(-10*day), t0.Add(170*day))
	retiring := secret("s-old", equifax.StatusRetiring, t0.Add(-170*day), t0.Add(10*day))
	newActive := secret("s-new", equifax.StatusActive, t0.Add(-time.Hour), t0.Add(180*day))
	revoked := secret("s-old", equifax.StatusRevoked, t0.Add(-170*day), t0.Add(10*day))
	opts := PlanOptions{CronMode: true, RenewBefore: 14 * day, RevokeAfter: day, Now: t0}
	manual := opts
	manual.CronMode = false

	for _, tc := range []struct {
		name       string
		obs        KeyObservation
		opts       PlanOptions
		wantState  State
		wantAction Action
		wantReason string
	}{
		{"inside window", KeyObservation{Deployed: deployed("s-old", "fp-old", t0.Add(-170*day)), Client: client(old)}, opts, StateCurrent, ActionRenew, "inside the 336h0m0s renewal window"},
		{"outside window cron", KeyObservation{Deployed: deployed("s-old", "fp-old", t0), Client: client(fresh)}, opts, StateCurrent, ActionNoop, "renewal window opens"},
		{"outside window manual", KeyObservation{Deployed: deployed("s-old", "fp-old", t0), Client: client(fresh)}, manual, StateCurrent, ActionRenew, "requested by hand"},
		{"no manifest yet", KeyObservation{Client: client(old)}, opts, StateNew, ActionRenew, "renewal window"},
		{"no manifest no active", KeyObservation{Client: client(revoked)}, opts, StateNew, ActionBlocked, "no ACTIVE secret"},
		{"minted", KeyObservation{Deployed: deployed("s-old", "fp-old", t0.Add(-170*day)), Client: client(retiring, newActive)}, opts, StateMinted, ActionRecover, "replaying the renew"},
		{"minted and old revoked", KeyObservation{Deployed: deployed("s-old", "fp-old", t0.Add(-170*day)), Client: client(revoked, newActive)}, opts, StateMinted, ActionRecover, "REVOKED"},
		{"proposed", KeyObservation{Deployed: deployed("s-old", "fp-old", t0.Add(-170*day)), Client: client(retiring, newActive), Open: &OpenRotation{Number: 7, NewSecretID: "s-new"}}, opts, StateProposed, ActionResume, "pull request #7"},
		{"proposed but its secret is gone", KeyObservation{Deployed: deployed("s-old", "fp-old", t0.Add(-170*day)), Client: client(old), Open: &OpenRotation{Number: 7, NewSecretID: "s-gone"}}, opts, StateCurrent, ActionRenew, "renewal window"},
		{"merged, rollout observed", KeyObservation{Deployed: deployed("s-new", "fp-new", t0.Add(-time.Hour)), Client: client(retiring, newActive), CurrentFingerprint: "fp-new"}, opts, StateMerged, ActionFinish, "rollout of s-new is observed"},
		{"merged, waiting", KeyObservation{Deployed: deployed("s-new", "fp-new", t0.Add(-time.Hour)), Client: client(retiring, newActive), CurrentFingerprint: "fp-old"}, opts, StateMerged, ActionNoop, "waiting for the rollout"},
		{"merged, rollout never seen", KeyObservation{Deployed: deployed("s-new", "fp-new", t0.Add(-2*day)), Client: client(retiring, newActive), CurrentFingerprint: "fp-old"}, opts, StateMerged, ActionBlocked, "is not revoked"},
		{"deployed secret revoked", KeyObservation{Deployed: deployed("s-old", "fp-old", t0), Client: client(revoked)}, opts, StateBroken, ActionBlocked, "credrotate adopt"},
		{"environments disagree", KeyObservation{Deployed: append(deployed("s-old", "fp", t0)[:2], Deployed{Env: "uat", SecretID: "s-x"}), Client: client(old)}, opts, StateBroken, ActionBlocked, "different secret ids"},
		{"not eligible yet", KeyObservation{Deployed: deployed("s-old", "fp-old", t0), Client: equifax.ClientInfo{RenewalEligibleAt: t0.Add(20 * day), Secrets: []equifax.SecretInfo{fresh}}}, manual, StateCurrent, ActionNoop, "allows the next renewal from"},
		{"retiring alone", KeyObservation{Deployed: deployed("s-old", "fp-old", t0), Client: client(retiring)}, opts, StateCurrent, ActionRenew, "RETIRING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.obs.Key, tc.obs.ClientID = "equifax.k", "client-k"
			got := MakePlan([]KeyObservation{tc.obs}, tc.opts).Keys[0]
			if got.State != tc.wantState || got.Action != tc.wantAction || !strings.Contains(got.Reason, tc.wantReason) {
				t.Fatalf("got %s/%s %q, want %s/%s containing %q", got.State, got.Action, got.Reason, tc.wantState, tc.wantAction, tc.wantReason)
			}
		})
	}
}

func TestPlanIsPure(t *testing.T) {
	obs := []KeyObservation{{Key: "a", Deployed: deployed("s-old", "fp", t0), Client: client(secret("s-old", equifax.StatusActive, t0, t0.Add(time.Hour)))}}
	opts := PlanOptions{CronMode: true, RenewBefore: 24 * time.Hour, Now: t0}
	a, b := MakePlan(obs, opts), MakePlan(obs, opts)
	if !reflect.DeepEqual(a.Keys[0], b.Keys[0]) || !a.Changes() || a.Count(ActionRenew) != 1 {
		t.Fatalf("plans differ or are wrong: %+v %+v", a, b)
	}
}

func client(ss ...equifax.SecretInfo) equifax.ClientInfo {
	return equifax.ClientInfo{ClientID: "client-k", Secrets: ss}
}

func TestPlanQuietKey(t *testing.T) {
	d := deployed("s-old", "fp", t0.Add(-60*24*time.Hour))
	for i := range d {
		d[i].ExpiresAt = t0.Add(90 * 24 * time.Hour)
	}
	kp := MakePlan([]KeyObservation{{Key: "a", Deployed: d, Environments: 3, Quiet: true}}, PlanOptions{CronMode: true, RenewBefore: 14 * 24 * time.Hour, Now: t0}).Keys[0]
	if kp.Action != ActionNoop || kp.CurrentSecretID != "s-old" || !strings.Contains(kp.Reason, "the provider not asked") {
		t.Fatalf("quiet key: %+v", kp)
	}
}

func TestRunnerQuiet(t *testing.T) {
	r := &Runner{Now: func() time.Time { return t0 }, Settings: Settings{RenewBefore: 14 * 24 * time.Hour, GracePeriod: 7 * 24 * time.Hour}}
	far := func(rotatedAgo time.Duration, expiresIn time.Duration, fp string) KeyObservation {
		d := deployed("s-1", "fp", t0.Add(-rotatedAgo))
		for i := range d {
			d[i].ExpiresAt = t0.Add(expiresIn)
		}
		return KeyObservation{Key: "a", Deployed: d, Environments: 3, CurrentFingerprint: fp}
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		ko    KeyObservation
		quiet bool
	}{
		{"steady", far(60*day, 90*day, "fp"), true},
		{"rotated within grace", far(3*day, 170*day, "fp"), false},
		{"near its window", far(60*day, 15*day, "fp"), false},
		{"rollout differs", far(60*day, 90*day, "other"), false},
		{"open PR", func() KeyObservation { k := far(60*day, 90*day, "fp"); k.Open = &OpenRotation{Number: 1}; return k }(), false},
		{"missing an environment", func() KeyObservation { k := far(60*day, 90*day, "fp"); k.Deployed = k.Deployed[:2]; return k }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.quiet(tc.ko); got != tc.quiet {
				t.Fatalf("quiet = %v, want %v", got, tc.quiet)
			}
		})
	}
}
