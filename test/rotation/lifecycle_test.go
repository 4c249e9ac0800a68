package rotation

import (
	"context"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// TestRenewNoopFinish walks the whole state machine: renew what is due in one
// pull request, a second run right after changes nothing, the rollout is
// seen, the old secrets are revoked, and a last run is a no-op.
func TestRenewNoopFinish(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	res := w.mustRun("renew", "--cron-mode", "-o", "json")
	rep := parseReport(t, res.stdout)
	if len(rep.PullRequests) != 1 {
		t.Fatalf("want one pull request for the run, got %v", rep.PullRequests)
	}
	outcomes := map[string]string{}
	for _, r := range rep.Results {
		outcomes[r.ProviderKey] = r.Outcome
	}
	for _, k := range w.Keys {
		want := "noop"
		if k.ExpiresIn <= 14*24*60*60*1e9 {
			want = "proposed"
		}
		if got := outcomes[string(k.Key)]; got != want && !(want == "proposed" && got == "merged") {
			t.Errorf("%s: outcome %s, want %s", k.Key, got, want)
		}
	}
	prs := w.Hub.PullRequests()
	if len(prs) != 1 || !prs[0].Merged || prs[0].MergeMethod != "squash" {
		t.Fatalf("the pull request did not auto-merge with squash: %+v", prs)
	}
	if got := strings.Join(prs[0].Labels, ","); got != "credentials,automated" {
		t.Errorf("labels = %s", got)
	}
	w.checkInvariants("after the renew")
	renews := w.Emulator.Calls(emulator.OpRenew)

	// Right after: the rollout is not seen yet; nothing changes, no PR.
	res = w.mustRun("renew", "--cron-mode", "-o", "json")
	for _, r := range parseReport(t, res.stdout).Results {
		if r.Outcome != "noop" {
			t.Errorf("second run: %s %s, want noop", r.ProviderKey, r.Outcome)
		}
	}
	if n := len(w.Hub.PullRequests()); n != 1 || w.Emulator.Calls(emulator.OpRenew) != renews || w.Emulator.Calls(emulator.OpRevoke) != 0 {
		t.Fatalf("the second run changed something: %d PRs, %d renews, %d revokes", n, w.Emulator.Calls(emulator.OpRenew), w.Emulator.Calls(emulator.OpRevoke))
	}

	w.finishCycle()
	if got := w.Emulator.Calls(emulator.OpRevoke); got != len(w.due()) {
		t.Errorf("revokes = %d, want %d", got, len(w.due()))
	}
	before := w.Hub.Calls().GitPushes
	describes := w.Emulator.Calls(emulator.OpDescribe)
	res = w.mustRun("renew", "--cron-mode", "-o", "json")
	// The keys far from their window and long deployed are not asked about.
	if got := w.Emulator.Calls(emulator.OpDescribe) - describes; got != len(w.due()) {
		t.Errorf("the no-op run described %d keys at Equifax, want only the %d rotated in this test", got, len(w.due()))
	}
	for _, r := range parseReport(t, res.stdout).Results {
		if r.Outcome != "noop" {
			t.Errorf("last run: %s %s, want noop", r.ProviderKey, r.Outcome)
		}
	}
	if w.Hub.Calls().GitPushes != before || len(w.Hub.PullRequests()) != 1 {
		t.Error("the no-op run pushed or opened a pull request")
	}
}

// TestResume: while the pull request waits for its checks, the next run
// resumes it and never renews again; once checks pass it merges.
func TestResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{Checks: localhub.ChecksPending})
	w.mustRun("renew", "--cron-mode")
	prs := w.Hub.PullRequests()
	if len(prs) != 1 || prs[0].Merged || prs[0].AutoMerge == "" {
		t.Fatalf("want one open PR with auto-merge enabled: %+v", prs)
	}
	renews := w.Emulator.Calls(emulator.OpRenew)
	res := w.mustRun("renew", "--cron-mode", "-o", "json")
	for _, r := range parseReport(t, res.stdout).Results {
		if r.SecretID == "" {
			continue
		}
		if r.Action == "renew" {
			t.Errorf("%s renewed again while its rotation was proposed", r.ProviderKey)
		}
	}
	dueResumed := 0
	for _, r := range parseReport(t, res.stdout).Results {
		if r.Action == "resume" && r.Outcome == "resumed" {
			dueResumed++
		}
	}
	if dueResumed != len(w.due()) || w.Emulator.Calls(emulator.OpRenew) != renews || len(w.Hub.PullRequests()) != 1 {
		t.Fatalf("resume: %d resumed, renews %d -> %d, %d PRs", dueResumed, renews, w.Emulator.Calls(emulator.OpRenew), len(w.Hub.PullRequests()))
	}
	// Manual runs resume too, and say so.
	res = w.mustRun("renew", "--provider-key", string(w.due()[0].Key))
	if !strings.Contains(res.stdout, "resume") {
		t.Errorf("a manual run of a key in flight does not say it resumes:\n%s", res.stdout)
	}
	w.Hub.SetChecks(localhub.ChecksSuccess)
	if pr := w.Hub.PullRequests()[0]; !pr.Merged {
		t.Fatal("auto-merge did not merge once the checks passed")
	}
	w.finishCycle()
}

// TestManualRenewAndDryRun: a dry run changes nothing; --provider-key renews
// a key outside its window now.
func TestManualRenewAndDryRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	notDue := w.Keys[len(w.Keys)-1]
	res := w.mustRun("renew", "--dry-run", "-o", "json", "--provider-key", string(notDue.Key))
	if !strings.Contains(res.stdout, `"action": "renew"`) || !strings.Contains(res.stdout, "requested by hand") {
		t.Fatalf("a dry run of a manual renewal should plan it:\n%s", res.stdout)
	}
	res = w.mustRun("renew", "--dry-run", "--cron-mode", "-o", "json")
	if !strings.Contains(res.stdout, `"action": "renew"`) {
		t.Fatalf("dry run shows no renew:\n%s", res.stdout)
	}
	if w.Emulator.Calls(emulator.OpRenew) != 0 || len(w.Hub.PullRequests()) != 0 || w.Hub.Calls().GitPushes != 0 {
		t.Fatal("the dry run changed something")
	}
	due := w.due()[1]
	w.mustRun("renew", "--provider-key", string(due.Key))
	if id := w.mainSecretID(due.Key); id == w.seeded[due.Key] {
		t.Fatal("manual renew did not rotate the key")
	}
	if id := w.mainSecretID(w.due()[0].Key); id != w.seeded[w.due()[0].Key] {
		t.Fatal("manual renew of one key rotated another")
	}
	st := w.mustRun("status", "-o", "json")
	if !strings.Contains(st.stdout, string(due.Key)) || !strings.Contains(st.stdout, `"state": "merged"`) {
		t.Fatalf("status does not show the merged rotation:\n%s", st.stdout)
	}
	if _, err := w.Prove(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestMockSafe: with equifax.enableClientSecretRenewal=false the whole
// pipeline runs, nothing is changed at Equifax, and the pull request is
// marked and left unmerged.
func TestMockSafe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	res := w.run([]string{"CREDROTATE_EQUIFAX_ENABLECLIENTSECRETRENEWAL=false"}, "renew", "--cron-mode")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, lastLines(res.stderr, 20))
	}
	if r, v := w.Emulator.Calls(emulator.OpRenew), w.Emulator.Calls(emulator.OpRevoke); r != 0 || v != 0 {
		t.Fatalf("mock-safe run called renew %d and revoke %d times", r, v)
	}
	prs := w.Hub.PullRequests()
	if len(prs) != 1 || prs[0].Merged || prs[0].AutoMerge != "" || !strings.HasPrefix(prs[0].Title, "[mock-safe") {
		t.Fatalf("want one unmerged, marked pull request: %+v", prs)
	}
	if !strings.Contains(res.stderr, `"mock_safe":true`) {
		t.Error("the logs do not say mock-safe")
	}
	for _, k := range w.due() {
		if id := w.mainSecretID(k.Key); id != w.seeded[k.Key] {
			t.Errorf("%s changed on main in a mock-safe run", k.Key)
		}
	}
}

// TestSOAPTransport runs a whole cycle over SOAP.
func TestSOAPTransport(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{Transport: "soap"})
	w.mustRun("renew", "--cron-mode")
	if w.Emulator.Calls(emulator.OpRenew) != len(w.due()) {
		t.Fatalf("renew calls = %d", w.Emulator.Calls(emulator.OpRenew))
	}
	w.finishCycle()
}
