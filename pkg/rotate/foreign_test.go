package rotate

import (
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// TestForeignSecretsAreLeftAlone: an Entra application can hold passwords
// credrotate did not make (another workload's). Unless a manifest, a pull
// request or the workload's own secret refers to one, it is set aside: not
// counted as an orphan, never revoked, never taken for the deployed secret.
func TestForeignSecretsAreLeftAlone(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	opts := PlanOptions{CronMode: true, RenewBefore: 14 * 24 * time.Hour, RevokeAfter: 24 * time.Hour, Now: now}
	mine := equifax.SecretInfo{SecretID: "k-mine", Status: equifax.StatusRetiring, CreatedAt: now.Add(-300 * 24 * time.Hour), ExpiresAt: now.Add(5 * 24 * time.Hour)}
	theirs := equifax.SecretInfo{SecretID: "k-theirs", Status: equifax.StatusActive, CreatedAt: now.Add(-10 * 24 * time.Hour), ExpiresAt: now.Add(300 * 24 * time.Hour), Foreign: true}

	// A first rotation: no manifest; the workload's secret is told by its hint.
	ko := KeyObservation{Key: "entra.app", ClientID: "app", Environments: 3, HintMatches: []string{"k-mine"},
		Client: equifax.ClientInfo{ClientID: "app", Secrets: []equifax.SecretInfo{mine, theirs}}}
	before := Classify(ko, opts)
	if before.State != StateMinted {
		t.Fatalf("without setting aside, the other workload's secret is taken for an orphan (state %s); the test would show nothing", before.State)
	}
	setForeignAside(&ko)
	if len(ko.SetAside) != 1 || ko.SetAside[0].SecretID != "k-theirs" {
		t.Fatalf("set aside %+v, want k-theirs", ko.SetAside)
	}
	c := Classify(ko, opts)
	if c.State != StateNew || c.InUse.SecretID != "k-mine" {
		t.Fatalf("state %s, in use %s; want new with k-mine", c.State, c.InUse.SecretID)
	}
	kp := Decide(c, opts)
	if kp.Action != ActionRenew || kp.RevokeSecretID == "k-theirs" {
		t.Fatalf("plan %s (revoke %q); want renew, never touching k-theirs", kp.Action, kp.RevokeSecretID)
	}

	// A foreign secret a manifest names is the deployed one: kept.
	deployed := KeyObservation{Key: "entra.app", ClientID: "app", Environments: 1,
		Deployed: []Deployed{{Env: "prod", SecretID: "k-theirs", ExpiresAt: theirs.ExpiresAt}},
		Client:   equifax.ClientInfo{ClientID: "app", Secrets: []equifax.SecretInfo{theirs}}}
	setForeignAside(&deployed)
	if len(deployed.SetAside) != 0 || len(deployed.Client.Secrets) != 1 {
		t.Fatalf("a deployed foreign secret was set aside: %+v", deployed.SetAside)
	}

	// One an open pull request names (its new or its old secret) is kept.
	pr := KeyObservation{Key: "entra.app", ClientID: "app", Environments: 1, Open: &OpenRotation{Number: 7, NewSecretID: "k-new", OldSecretID: "k-theirs"},
		Client: equifax.ClientInfo{ClientID: "app", Secrets: []equifax.SecretInfo{theirs, {SecretID: "k-new", Status: equifax.StatusActive}}}}
	setForeignAside(&pr)
	if len(pr.SetAside) != 0 {
		t.Fatalf("a foreign secret an open pull request names was set aside: %+v", pr.SetAside)
	}
}
