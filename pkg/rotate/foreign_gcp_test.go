package rotate

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider/gcpkey"
	"github.com/credrotate/credrotate/pkg/seal"
)

// TestForeignGCPKeyIsNeverCountedOrRevoked: a service account holds the key
// credrotate deploys and, newer, a key someone uploaded. A whole rotation
// against the Google Cloud provider and its emulator — renew, merge, rollout,
// revoke — never takes the uploaded key for the deployed one or for an
// orphan, never counts it, never revokes it. (Were it not marked foreign, the
// first run would find two valid keys no rotation explains and revoke the
// newer one as an orphan.)
func TestForeignGCPKeyIsNeverCountedOrRevoked(t *testing.T) {
	t.Parallel()
	g := newGCPWorld(t, 5*time.Second)
	gemu, w, k, deployedID, tune, email := g.emu, g.w, g.k, g.deployedID, g.tune, g.email
	foreign, err := gemu.SeedUploadedKey(email, gemu.Now().Add(-day), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	foreignLeft := func(when string) {
		t.Helper()
		for _, key := range gemu.Keys(email) {
			if key.ID == foreign {
				if key.Disabled || key.Deleted {
					t.Fatalf("%s: the uploaded key was disabled or deleted", when)
				}
				return
			}
		}
		t.Fatalf("%s: the uploaded key was deleted", when)
	}
	planOf := func(when string) KeyPlan {
		t.Helper()
		r := w.runner(tune)
		obs, err := r.Preflight(context.Background())
		if err != nil {
			t.Fatalf("%s: preflight: %v", when, err)
		}
		ko := obs.Keys[0]
		if len(ko.SetAside) != 1 || ko.SetAside[0].SecretID != foreign {
			t.Fatalf("%s: set aside %+v, want the uploaded key", when, ko.SetAside)
		}
		for _, s := range ko.Client.Secrets {
			if s.SecretID == foreign {
				t.Fatalf("%s: the uploaded key is among the secrets the rotation counts", when)
			}
		}
		kp := r.Plan(obs, true).Keys[0]
		if kp.RevokeSecretID == foreign || kp.CurrentSecretID == foreign {
			t.Fatalf("%s: the plan %s names the uploaded key (%+v)", when, kp.Action, kp)
		}
		return kp
	}

	if kp := planOf("before the rotation"); kp.Action != ActionRenew || kp.CurrentSecretID != deployedID {
		t.Fatalf("plan %s of %s, want renew of the deployed key: %s", kp.Action, kp.CurrentSecretID, kp.Reason)
	}
	rep := w.run(true, tune)
	if r := rep.result(k.key); r.Outcome != OutcomeMerged && r.Outcome != OutcomeProposed {
		t.Fatalf("first run: %+v", r)
	}
	foreignLeft("after the renew")
	newID := w.deployed(k.key)
	if newID == deployedID || newID == foreign || newID == "" {
		t.Fatalf("the base deploys %q after the rotation", newID)
	}
	w.rollout()
	if kp := planOf("after the rollout"); kp.RevokeSecretID != deployedID {
		t.Fatalf("plan %s revokes %q, want the rotated-away key %s: %s", kp.Action, kp.RevokeSecretID, deployedID, kp.Reason)
	}
	w.run(true, tune)
	foreignLeft("after the finish")
	if n := gemu.Revoked(); n != 1 {
		t.Fatalf("%d keys revoked, want 1 (the rotated-away one)", n)
	}
	if kp := planOf("after the cycle"); kp.Action != ActionNoop {
		t.Fatalf("plan %s after the cycle, want noop: %s", kp.Action, kp.Reason)
	}
	foreignLeft("at the end")
}

// gcpWorld is a world whose one key, gcpkey.exporter, is a Google Cloud
// service account key against the IAM emulator, due for renewal.
type gcpWorld struct {
	emu        *gcpemu.Emulator
	w          *world
	k          *wkey
	email      string
	deployedID string
	tune       func(*Runner)
}

// newGCPWorld seeds a management key and the deployed key (made 80 days
// ago, with no expiry: due at a 90-day maximum age) and seals it; timeout
// bounds each call of the provider.
func newGCPWorld(t *testing.T, timeout time.Duration) gcpWorld {
	t.Helper()
	gemu := gcpemu.New(gcpemu.Options{KeyBits: 1024})
	srv := httptest.NewServer(gemu)
	t.Cleanup(srv.Close)
	gemu.SetURL(srv.URL)
	_, mgmt, err := gemu.SeedKey("credrotate@ops.iam.gserviceaccount.com", gemu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	mgmtFile := filepath.Join(t.TempDir(), "mgmt.json")
	if err := os.WriteFile(mgmtFile, mgmt, 0o600); err != nil {
		t.Fatal(err)
	}
	const email = "exporter@app.iam.gserviceaccount.com"
	deployedID, deployedFile, err := gemu.SeedKey(email, gemu.Now().Add(-80*day), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := gcpkey.New(context.Background(), gcpkey.Options{Endpoint: srv.URL, TokenURL: srv.URL + "/token", CredentialsFile: mgmtFile,
		MaxKeyAge: 90 * day, HTTPClient: srv.Client(), Timeout: timeout, Now: gemu.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	k := &wkey{key: "gcpkey.exporter", clientID: email, cur: &workload{}}
	k.cur.set(credential.NewSecret(string(deployedFile)))
	w.keys = []*wkey{k}
	w.sealer.values[deployedID] = credential.NewSecret(string(deployedFile))
	if _, err := seal.Write(context.Background(), w.repo.base, w.sealEnvs(), []seal.Item{{
		Ref: seal.SecretRef{Name: "gcpkey-exporter", Namespace: "credit", DataKey: "client_secret"}, Value: credential.NewSecret(string(deployedFile)),
		Metadata: credential.Metadata{ProviderKey: k.key, SecretID: deployedID, ExpiresAt: gemu.Now().Add(10 * day), RotatedAt: gemu.Now().Add(-80 * day)},
	}}); err != nil {
		t.Fatal(err)
	}
	tune := func(r *Runner) {
		r.Now = gemu.Now
		r.Keys[0].Provider = prov
	}
	return gcpWorld{emu: gemu, w: w, k: k, email: email, deployedID: deployedID, tune: tune}
}
