package rotation

import (
	"context"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/forge"
)

// TestHostileGitHubEndlessNext: a GitHub whose list of pull requests never
// ends stops the real binary in preflight with a named error, an alert
// issue and exit 1, before anything is renewed; once GitHub behaves, the
// next run goes through.
func TestHostileGitHubEndlessNext(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	w.Hub.SetHostile(localhub.Hostile{EndlessNext: true, Path: "/pulls"})
	res := w.run(nil, "renew", "--cron-mode")
	w.Hub.SetHostile(localhub.Hostile{})
	if res.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", res.code, lastLines(res.stderr, 20))
	}
	if !strings.Contains(res.stderr, `rel=\"next\"`) && !strings.Contains(res.stderr, `rel="next"`) {
		t.Errorf("the error does not name the endless list:\n%s", lastLines(res.stderr, 10))
	}
	if w.Hub.HostileServed() == 0 {
		t.Fatal("the hostile mode never answered: the test proves nothing")
	}
	if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
		t.Fatalf("%d renews although the open pull requests could not be read", n)
	}
	if !w.hasAlert() {
		t.Error("no alert issue for the failed run")
	}
	w.settle(res, "endless rel=next")
	w.finishCycle()
}

// TestHostileGitHubDeletedForkPR: a stranger's pull request from a fork
// that is now deleted, on a credrotate/ branch, with a state marker naming
// the deployed secret, is reported and left alone; the run renews and opens
// its own pull request.
func TestHostileGitHubDeletedForkPR(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	k := w.due()[0]
	body := forge.RenderBody(forge.RotationState{TraceID: "mallory", Keys: []forge.KeyState{
		{ProviderKey: string(k.Key), NewSecretID: w.seeded[k.Key], OldSecretID: w.seeded[k.Key]},
	}})
	n, err := w.Hub.OpenForeignPR(context.Background(), localhub.ForeignPR{
		Branch: "credrotate/" + string(k.Key), Title: "credrotate: rotate " + string(k.Key), Body: body, ForkGone: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := w.mustRun("renew", "--cron-mode")
	if !strings.Contains(res.stderr, "deleted fork") {
		t.Errorf("the run does not report the foreign pull request:\n%s", lastLines(res.stderr, 20))
	}
	var foreign localhub.PR
	var ours []localhub.PR
	for _, p := range w.Hub.PullRequests() {
		if p.Number == n {
			foreign = p
		} else {
			ours = append(ours, p) // open, or already auto-merged
		}
	}
	if foreign.State != "open" || foreign.Merged || foreign.AutoMerge != "" || len(foreign.Labels) != 0 || len(foreign.Comments) != 0 || foreign.Body != body {
		t.Fatalf("the foreign pull request was acted on: %+v", foreign)
	}
	if len(ours) != 1 || w.Emulator.Calls(emulator.OpRenew) == 0 {
		t.Fatalf("%d pull requests of credrotate's own, %d renews: the foreign pull request was taken for a rotation in flight",
			len(ours), w.Emulator.Calls(emulator.OpRenew))
	}
	if _, ok, err := forge.ParseState(ours[0].Body); err != nil || !ok {
		t.Fatalf("credrotate's pull request has no state: %v", err)
	}
	for _, ks := range w.prKeys(ours[0]) {
		if ks.ProviderKey == string(k.Key) && ks.NewSecretID == w.seeded[k.Key] {
			t.Fatalf("credrotate's pull request carries the stranger's secret id %s", ks.NewSecretID)
		}
	}
}
