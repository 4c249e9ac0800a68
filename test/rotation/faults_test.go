package rotation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

// fastTimeouts keeps stalled calls short.
var fastTimeouts = []string{"CREDROTATE_EQUIFAX_TIMEOUT=2s"}

var faultKinds = []emulator.FaultKind{
	emulator.FaultRateLimit, emulator.FaultServerError, emulator.FaultUnavailable,
	emulator.FaultGatewayTimeout, emulator.FaultStall, emulator.FaultMalformed, emulator.FaultDropResponse,
}

// settle runs after a faulted run: either the faulted run succeeded, or it
// failed cleanly (exit 1, an alert issue with its trace id, the deployed
// secrets untouched) and the next run succeeds. Either way the cycle then
// finishes with every invariant.
func (w *world) settle(res result, what string) {
	w.t.Helper()
	switch res.code {
	case 0:
	case 1:
		if !w.hasAlert() {
			w.t.Errorf("%s: the run failed without an alert issue:\n%s", what, lastLines(res.stderr, 10))
		}
		w.checkInvariants(what + " (failed run)")
		w.mustRun("renew", "--cron-mode")
	default:
		w.t.Fatalf("%s: exit %d (killed=%v)\n%s", what, res.code, res.killed, lastLines(res.stderr, 20))
	}
	w.checkInvariants(what)
}

func (w *world) hasAlert() bool {
	for _, is := range w.Hub.Issues() {
		if strings.Contains(is.Body, "trace id") {
			return true
		}
	}
	return false
}

// TestEquifaxFaultsInPreflight: 429, 5xx, a stall, a malformed body or a lost
// answer on the token and describe calls.
func TestEquifaxFaultsInPreflight(t *testing.T) {
	t.Parallel()
	for _, op := range []emulator.Op{emulator.OpToken, emulator.OpDescribe} {
		t.Run(string(op), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{})
			for _, kind := range faultKinds {
				w.Emulator.Script(emulator.Fault{Op: op, Kind: kind, Stall: 5 * time.Second})
				res := w.run(fastTimeouts, "renew", "--cron-mode")
				w.Emulator.ClearFaults()
				w.settle(res, string(op)+" "+string(kind))
			}
			w.finishCycle()
		})
	}
}

// TestEquifaxFaultsOnRenew: every fault on the renew call itself, where a
// lost answer would mint a secret nobody holds unless the retry replays it.
func TestEquifaxFaultsOnRenew(t *testing.T) {
	t.Parallel()
	for _, kind := range faultKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{})
			w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: kind, Stall: 5 * time.Second})
			res := w.run(fastTimeouts, "renew", "--cron-mode")
			w.settle(res, "renew "+string(kind))
			w.finishCycle()
		})
	}
}

// TestEquifaxFaultsOnRevoke: faults when finishing.
func TestEquifaxFaultsOnRevoke(t *testing.T) {
	t.Parallel()
	for _, kind := range []emulator.FaultKind{emulator.FaultServerError, emulator.FaultStall, emulator.FaultMalformed, emulator.FaultDropResponse} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, demo.Options{})
			w.mustRun("renew", "--cron-mode")
			if _, err := w.Rollout(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.Emulator.Script(emulator.Fault{Op: emulator.OpRevoke, Kind: kind, Stall: 5 * time.Second})
			res := w.run(fastTimeouts, "renew", "--cron-mode")
			w.settle(res, "revoke "+string(kind))
			w.finishCycle()
		})
	}
}

// TestEquifaxDownFailsCleanly: retries run out; the run fails with an alert
// that names the step, nothing is renewed, and the next run succeeds and
// closes the alert.
func TestEquifaxDownFailsCleanly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultUnavailable, Count: 50})
	res := w.run(nil, "renew", "--cron-mode")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1", res.code)
	}
	for _, k := range w.due() {
		if id := w.mainSecretID(k.Key); id != w.seeded[k.Key] {
			t.Errorf("%s changed on main after a failed renew", k.Key)
		}
	}
	open := 0
	for _, is := range w.Hub.Issues() {
		if is.State == "open" {
			open++
			if !strings.Contains(is.Body, "| step | renew |") || !strings.Contains(is.Body, "next run retries") {
				t.Errorf("alert body lacks the step or the next action:\n%s", is.Body)
			}
		}
	}
	if open != len(w.due()) {
		t.Fatalf("%d open alerts, want one per failing key (%d)", open, len(w.due()))
	}
	w.Emulator.ClearFaults()
	w.mustRun("renew", "--cron-mode")
	for _, is := range w.Hub.Issues() {
		if is.State != "closed" {
			t.Errorf("alert #%d still open after a successful run", is.Number)
		}
	}
	// A repeat failure comments on the alert instead of opening another.
	w.finishCycle()
}

// TestGitHubFaults: 5xx and rate limits from GitHub are retried; a GitHub
// that stays down fails the run in preflight, before anything is renewed.
func TestGitHubFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t, demo.Options{})
	w.Hub.FailNext(1, localhub.Fault{Status: 502})
	res := w.run(nil, "renew", "--cron-mode", "--dry-run")
	if res.code != 0 {
		t.Fatalf("a single 502 was not retried: %s", lastLines(res.stderr, 10))
	}
	w.Hub.FailNext(1, localhub.Fault{Status: 429, RetryAfter: time.Second})
	w.Hub.FailNext(1, localhub.Fault{Status: 403, RetryAfter: time.Second, Message: "You have exceeded a secondary rate limit"})
	res = w.run(nil, "renew", "--cron-mode")
	w.settle(res, "github rate limits")

	w2 := newWorld(t, demo.Options{})
	w2.Hub.FailNext(100, localhub.Fault{Status: 503})
	res = w2.run(nil, "renew", "--cron-mode")
	if res.code != 1 || !strings.Contains(res.stderr, "nothing was renewed") {
		t.Fatalf("exit %d, want 1 with 'nothing was renewed':\n%s", res.code, lastLines(res.stderr, 10))
	}
	if n := w2.Emulator.Calls(emulator.OpRenew); n != 0 {
		t.Fatalf("%d renews with GitHub down", n)
	}
	w2.Hub.FailNext(0, localhub.Fault{})
	w2.mustRun("renew", "--cron-mode")
	w2.finishCycle()
	w.finishCycle()
}
