package rotation

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// addKey seeds a new client at the emulator and configures it as a provider
// key with no manifest yet (state unmanaged), the way a person adds one.
func (w *world) addKey(key, clientID string, expiresIn time.Duration) equifax.SecretInfo {
	w.t.Helper()
	value := "efx_fresh_" + strings.Repeat("k", 24)
	info, err := w.Emulator.SeedClient(clientID, value, w.Emulator.Now().Add(expiresIn))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.Dir+"/current/"+key, []byte(value+"\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	editConfig(w.t, w, "environments:\n", "  - key: "+key+"\n    clientID: "+clientID+"\n    currentSecret: {file: current/"+key+"}\n    secret: {name: "+strings.ReplaceAll(key, ".", "-")+", namespace: credit, dataKey: client_secret}\nenvironments:\n")
	return info
}

// TestUnmanagedKeyKilledAfterMint is situation 1 of issue 12: the first
// rotation of a key that no manifest names yet is SIGKILLed right after the
// mint. The next run recognises the minted secret (the workload's is the
// RETIRING one), recovers it by replay and proposes it; after the rollout
// the workload's old secret is revoked, never before.
func TestUnmanagedKeyKilledAfterMint(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	const key, clientID = "equifax.fresh", "0oafresh0001"
	seeded := w.addKey(key, clientID, 10*24*time.Hour)
	res := w.run([]string{"CREDROTATE_FAILPOINT=renew"}, "renew", "--provider-key", key)
	if !res.killed {
		t.Fatalf("the run was not killed after the mint (exit %d):\n%s", res.code, lastLines(res.stderr, 20))
	}
	info, _ := w.Emulator.Client(clientID)
	minted, _ := info.Active()
	if minted.SecretID == seeded.SecretID || info.ValidCount() != 2 {
		t.Fatalf("nothing was minted: %+v", info.Secrets)
	}
	renews := w.Emulator.Calls(emulator.OpRenew)

	res = w.mustRun("renew", "--provider-key", key, "-o", "json")
	rep := parseReport(t, res.stdout)
	if len(rep.Results) != 1 || rep.Results[0].Action != "recover" || rep.Results[0].SecretID != minted.SecretID {
		t.Fatalf("the re-run did not recover %s:\n%s", minted.SecretID, res.stdout)
	}
	if got := w.Emulator.Calls(emulator.OpRenew); got != renews+1 {
		t.Errorf("renew calls %d -> %d: the recovery must be one replay", renews, got)
	}
	if got := w.mainSecretID(key); got != minted.SecretID {
		t.Fatalf("main deploys %q for %s, want the recovered %s", got, key, minted.SecretID)
	}
	s, err := w.Unseal(t.Context(), "prod", key)
	if err != nil || !w.Emulator.Accepts(clientID, s.Reveal()) {
		t.Fatalf("the sealed secret of %s is not accepted: %v", key, err)
	}
	// The workload still holds the seeded secret: not revoked yet.
	res = w.mustRun("renew", "--provider-key", key, "-o", "json")
	if info, _ := w.Emulator.Client(clientID); info.ValidCount() != 2 {
		t.Fatalf("the workload's secret was revoked before the rollout:\n%s", res.stdout)
	}
	if err := os.WriteFile(w.Dir+"/current/"+key, []byte(s.Reveal()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = w.mustRun("renew", "--provider-key", key, "-o", "json")
	if r := parseReport(t, res.stdout).Results[0]; r.Outcome != "finished" {
		t.Fatalf("after the rollout: %+v", r)
	}
	if s, _ := w.Emulator.Client(clientID); s.ValidCount() != 1 {
		t.Fatalf("%d valid secrets after the finish", s.ValidCount())
	}
	w.checkInvariants("after the cycle")
}

// TestRenewAnswerLost is situation 5 of issue 12: a key renewed by hand far
// from its window, Equifax minting but its answer never arriving. The alert
// tells the truth, and the next scheduled run describes the key (it is not
// quiet: its alert is open) and recovers the minted secret.
func TestRenewAnswerLost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	far := w.Keys[len(w.Keys)-1] // 120 days
	w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultDropResponse, Count: 20})
	res := w.run(fastTimeouts, "renew", "--provider-key", string(far.Key))
	w.Emulator.ClearFaults()
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, lastLines(res.stderr, 10))
	}
	if info, _ := w.Emulator.Client(far.ClientID); info.ValidCount() != 2 {
		t.Fatalf("the fault did not mint: %+v", info.Secrets)
	}
	var body string
	for _, is := range w.Hub.Issues() {
		if is.State == "open" && strings.Contains(is.Body, string(far.Key)) {
			body = is.Body
		}
	}
	if !strings.Contains(body, "may have been minted") || !strings.Contains(body, "grace period until") || strings.Contains(body, "untouched") {
		t.Fatalf("the alert does not tell the truth:\n%s", body)
	}
	res = w.mustRun("renew", "--cron-mode", "-o", "json")
	found := false
	for _, r := range parseReport(t, res.stdout).Results {
		if r.ProviderKey == string(far.Key) {
			found = true
			if r.Action != "recover" || (r.Outcome != "merged" && r.Outcome != "proposed") {
				t.Fatalf("the scheduled run after the lost answer: %+v", r)
			}
		}
	}
	if !found {
		t.Fatalf("no result for %s:\n%s", far.Key, res.stdout)
	}
	w.checkInvariants("after the recovery")
	w.finishCycle()
}

// TestUnprovenSecretIsNeverProposed: Equifax mints secrets that never
// obtain a token. Nothing is sealed or proposed, the minted secrets are
// revoked, the deployed ones stay in place, and the run fails with an alert.
func TestUnprovenSecretIsNeverProposed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	w.Emulator.SetWarmup(emulator.Warmup{Never: true})
	res := w.run(nil, "renew", "--cron-mode", "-o", "json")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, lastLines(res.stderr, 10))
	}
	if n := len(w.Hub.PullRequests()); n != 0 || w.Hub.Calls().GitPushes != 0 {
		t.Fatalf("an unproven secret was pushed or proposed (%d pull requests)", n)
	}
	for _, k := range w.due() {
		if info, _ := w.Emulator.Client(k.ClientID); info.ValidCount() != 1 {
			t.Errorf("%s: the unproven secret was not revoked: %+v", k.Key, info.Secrets)
		}
		if id := w.mainSecretID(k.Key); id != w.seeded[k.Key] {
			t.Errorf("%s: main changed", k.Key)
		}
	}
	w.checkInvariants("after unproven secrets")
	w.Emulator.SetWarmup(emulator.Warmup{})
	w.Emulator.Advance(10 * time.Minute)
	w.mustRun("renew", "--cron-mode")
	w.finishCycle()
}

// TestEmergencyRenew: --emergency renews a key far from its window now, and
// labels and marks its pull request.
func TestEmergencyRenew(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{Checks: localhub.ChecksPending})
	far := w.Keys[len(w.Keys)-1]
	res := w.mustRun("renew", "--provider-key", string(far.Key), "--emergency", "-o", "json")
	if r := parseReport(t, res.stdout); len(r.Results) != 1 || r.Results[0].Action != "renew" || len(r.PullRequests) != 1 {
		t.Fatalf("emergency renew:\n%s", res.stdout)
	}
	prs := w.Hub.PullRequests()
	if len(prs) != 1 || !strings.HasPrefix(prs[0].Title, "[emergency]") || !strings.Contains(strings.Join(prs[0].Labels, ","), "emergency") || !strings.Contains(prs[0].Body, "Emergency rotation") {
		t.Fatalf("the pull request is not marked: %+v", prs)
	}
	if keys := w.prKeys(prs[0]); len(keys) != 1 || !keys[0].Emergency {
		t.Fatalf("the branch's manifests do not keep the emergency: %+v", keys)
	}
	if res := w.run(nil, "renew", "--emergency", "--cron-mode"); res.code != 2 {
		t.Fatalf("--emergency without --provider-key: exit %d, want 2", res.code)
	}
}
