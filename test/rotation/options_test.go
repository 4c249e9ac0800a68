package rotation

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/forge"
)

// TestPerKeyGrouping: pullRequest.grouping perKey gives one pull request per
// renewed key.
func TestPerKeyGrouping(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	editConfig(t, w, "grouping: perRun", "grouping: perKey")
	res := w.mustRun("renew", "--cron-mode", "-o", "json")
	rep := parseReport(t, res.stdout)
	if len(rep.PullRequests) != len(w.due()) || len(w.Hub.PullRequests()) != len(w.due()) {
		t.Fatalf("want %d pull requests, got %v", len(w.due()), rep.PullRequests)
	}
	for _, pr := range w.Hub.PullRequests() {
		if !strings.HasPrefix(pr.Head, "credrotate/equifax.client_") {
			t.Errorf("per-key branch %q is not named after its key", pr.Head)
		}
	}
	w.finishCycle()
}

// TestAdopt brings a credential that has no manifests under credrotate: the
// secret comes from stdin, is proven, sealed for every environment and
// proposed; after the merge, status and renew know the key.
func TestAdopt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	const clientID, value = "0oaadopted01", "efx_adopted_secret_value_0123456789"
	info, err := w.Emulator.SeedClient(clientID, value, w.Emulator.Now().Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cur := w.Dir + "/current/equifax.adopted"
	if err := os.WriteFile(cur, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	editConfig(t, w, "environments:\n", "  - key: equifax.adopted\n    clientID: "+clientID+"\n    currentSecret: {file: current/equifax.adopted}\n    secret: {name: equifax-adopted, namespace: credit, dataKey: client_secret}\nenvironments:\n")

	cmd := exec.Command(binary, "adopt", "--provider-key", "equifax.adopted", "--config", w.ConfigPath, "-o", "json")
	cmd.Env = append(os.Environ(), demo.TokenEnv+"="+demo.Token)
	cmd.Stdin = strings.NewReader(value + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("adopt: %v\n%s", err, out)
	}
	if strings.Contains(string(out), value) {
		t.Fatal("adopt printed the secret")
	}
	if got := w.mainSecretID("equifax.adopted"); got != info.SecretID {
		t.Fatalf("main deploys %q for the adopted key, want %s", got, info.SecretID)
	}
	s, err := w.Unseal(t.Context(), "uat", "equifax.adopted")
	if err != nil || s.Reveal() != value {
		t.Fatalf("the adopted manifest does not decrypt to the secret: %v", err)
	}
	st := w.mustRun("status", "-o", "json")
	if !strings.Contains(st.stdout, info.SecretID) {
		t.Fatalf("status does not show the adopted key:\n%s", st.stdout)
	}
	// A wrong secret is refused before anything is proposed.
	cmd = exec.Command(binary, "adopt", "--provider-key", "equifax.client_003", "--config", w.ConfigPath)
	cmd.Env = append(os.Environ(), demo.TokenEnv+"="+demo.Token)
	cmd.Stdin = strings.NewReader("not-the-secret\n")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not accepted") && !strings.Contains(string(out), "does not obtain a token") && !strings.Contains(string(out), "unauthorized") {
		t.Fatalf("adopting a wrong secret: err %v\n%s", err, out)
	}
	if n := w.Emulator.Calls(emulator.OpRenew); n != 0 {
		t.Fatalf("adopt renewed %d times", n)
	}
}

// TestWebhookNotice: the optional webhook gets the trace id and the pull
// request link, and never a secret.
func TestWebhookNotice(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var texts []string
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		texts = append(texts, m["text"])
		mu.Unlock()
	}))
	defer hook.Close()
	w := newWorld(t, demo.Options{})
	editConfig(t, w, "pullRequest:\n", "notify:\n  webhookURLEnv: TEST_WEBHOOK_URL\npullRequest:\n")
	res := w.run([]string{"TEST_WEBHOOK_URL=" + hook.URL + "/services/T000/B000/XXXX"}, "renew", "--cron-mode", "-o", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, lastLines(res.stderr, 10))
	}
	rep := parseReport(t, res.stdout)
	mu.Lock()
	defer mu.Unlock()
	if len(texts) != 1 || !strings.Contains(texts[0], rep.TraceID) || !strings.Contains(texts[0], rep.PullRequests[0]) {
		t.Fatalf("webhook texts = %q, want the trace id %s and the PR link", texts, rep.TraceID)
	}
	if strings.Contains(res.stderr, "XXXX") {
		t.Error("the webhook URL, a secret, reached the logs")
	}
}

// TestSupersede: the secret an open pull request carries is revoked at
// Equifax before it merges. The next run renews afresh, opens a new pull
// request and closes the stale one with a link to it.
func TestSupersede(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{Checks: localhub.ChecksPending})
	// Equifax allows one renewal per five minutes: start its clock behind.
	w.Emulator.SetNow(time.Now().Add(-10 * time.Minute))
	k := w.due()[0]
	w.mustRun("renew", "--cron-mode", "--provider-key", string(k.Key))
	prs := w.Hub.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("want one PR, got %d", len(prs))
	}
	proposed := w.prKeys(prs[0])
	old, err := os.ReadFile(w.CurrentFile(k.Key))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rest.New(rest.Options{BaseURL: w.EmulatorURL})
	if err != nil {
		t.Fatal(err)
	}
	creds := equifax.Credentials{ClientID: k.ClientID, ClientSecret: credential.NewSecret(strings.TrimSpace(string(old)))}
	if err := c.Revoke(t.Context(), creds, proposed[0].NewSecretID); err != nil {
		t.Fatal(err)
	}
	w.Emulator.Advance(10 * time.Minute)

	res := w.mustRun("renew", "--cron-mode", "--provider-key", string(k.Key), "-o", "json")
	rep := parseReport(t, res.stdout)
	if len(rep.PullRequests) != 1 {
		t.Fatalf("the re-run opened %v", rep.PullRequests)
	}
	prs = w.Hub.PullRequests()
	if len(prs) != 2 || prs[0].State != "closed" || prs[1].State != "open" {
		t.Fatalf("want the stale PR closed and a new one open: %+v", prs)
	}
	linked := false
	for _, c := range prs[0].Comments {
		linked = linked || strings.Contains(c.Body, rep.PullRequests[0])
	}
	if !linked {
		t.Errorf("the stale PR's comments do not link the new one: %+v", prs[0].Comments)
	}
	w.checkInvariants("after the supersede")
}

// TestManyKeysOnePullRequest: a run that renews many keys proposes them
// in one pull request whose body stays under GitHub's limit; the next run
// reads every key's state back from the branch's manifests and resumes
// them all, renewing none again.
func TestManyKeysOnePullRequest(t *testing.T) {
	t.Parallel()
	const n = 150
	w := newWorld(t, demo.Options{Keys: n, AllDue: true, Checks: localhub.ChecksPending})
	rep := parseReport(t, w.mustRun("renew", "--cron-mode", "-o", "json").stdout)
	prs := w.Hub.PullRequests()
	if len(rep.PullRequests) != 1 || len(prs) != 1 {
		t.Fatalf("want 1 pull request for %d keys, got %v", n, rep.PullRequests)
	}
	if len(prs[0].Body) > forge.MaxBodySize {
		t.Fatalf("body %d characters, over GitHub's %d", len(prs[0].Body), forge.MaxBodySize)
	}
	if keys := w.prKeys(prs[0]); len(keys) != n {
		t.Fatalf("the branch proposes %d keys, want %d", len(keys), n)
	}
	renews := w.Emulator.Calls(emulator.OpRenew)
	again := parseReport(t, w.mustRun("renew", "--cron-mode", "-o", "json").stdout)
	resumed := 0
	for _, r := range again.Results {
		if r.Action == "resume" {
			resumed++
		}
	}
	if resumed != n || w.Emulator.Calls(emulator.OpRenew) != renews || len(w.Hub.PullRequests()) != 1 {
		t.Fatalf("second run: %d of %d keys resumed, %d renews more, %d pull requests", resumed, n, w.Emulator.Calls(emulator.OpRenew)-renews, len(w.Hub.PullRequests()))
	}
	w.Hub.SetChecks(localhub.ChecksSuccess)
	w.mustRun("renew", "--cron-mode")
	if pr := w.Hub.PullRequests()[0]; !pr.Merged {
		t.Fatalf("the pull request was not merged: %+v", pr.State)
	}
	w.finishCycle()
}
