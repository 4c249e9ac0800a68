package rotation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
)

// The fault matrix of every provider besides Equifax (faults_test.go): the
// faults each emulator shows as its service's API does, at describe, at
// create, at revoke (each step of a two-step revoke), and the service down.
// The invariants are Equifax's: after a faulted run either it succeeded or
// it failed cleanly (exit 1, an alert issue, the deployed secrets
// untouched), the next run succeeds, and the cycle then finishes with one
// valid secret per key.

// providerFaultKind is one way a service's API misbehaves.
type providerFaultKind string

// The fault kinds of the matrix.
const (
	// pfRateLimit answers 429 as the service does (Graph with
	// Retry-After, Okta E0000047 with X-Rate-Limit-Reset, Google
	// RESOURCE_EXHAUSTED).
	pfRateLimit providerFaultKind = "rate-limit"
	// pfServerError answers 500 with the service's error body.
	pfServerError providerFaultKind = "server-error"
	// pfUnavailable answers 503 (Graph with Retry-After).
	pfUnavailable providerFaultKind = "unavailable"
	// pfStall holds the answer until the client gives up.
	pfStall providerFaultKind = "stall"
	// pfMalformed answers 200 with a body that does not parse.
	pfMalformed providerFaultKind = "malformed"
	// pfDrop carries the call out, then closes the connection unanswered.
	pfDrop providerFaultKind = "drop-response"
)

var providerFaultKinds = []providerFaultKind{pfRateLimit, pfServerError, pfUnavailable, pfStall, pfMalformed, pfDrop}

// providerFaultTimeouts keep a stalled call short; a stall holds its answer
// for faultStall, longer than any of them, and then carries the call out.
// An unanswered create is waited for createSettle after the client gave
// up: longer than the rest of the stall.
var providerFaultTimeouts = []string{"CREDROTATE_ROTATION_TIMEOUT=2s", "CREDROTATE_EQUIFAX_TIMEOUT=2s", "CREDROTATE_ROTATION_CREATESETTLE=" + createSettle.String()}

const createSettle = 5 * time.Second

const faultStall = 5 * time.Second

// faultSites are a provider's operations in each phase of a run, named as
// its emulator names them: what Preflight calls (a management token,
// describe), the create, and each step of a revoke.
type faultSites struct{ preflight, create, revoke []string }

var oktaSites = faultSites{preflight: []string{"list"}, create: []string{"create"}, revoke: []string{"deactivate", "delete"}}

var sitesOf = map[string]faultSites{
	// Self-managed: the application's own token, then its passwords
	// (describe is a GET of the application).
	"entra": {preflight: []string{"token", "get"}, create: []string{"addPassword"}, revoke: []string{"removePassword"}},
	// An API token needs no token request; describe lists the app's
	// secrets; a revoke deactivates, then deletes.
	"okta": oktaSites,
	// okta.yaml against the same emulator: the same operations.
	"http-okta": oktaSites,
	// The management identity's token (a signed JWT exchanged at the
	// token endpoint), then the keys list; a revoke disables, then
	// deletes.
	"gcpkey": {preflight: []string{"token", "list"}, create: []string{"create"}, revoke: []string{"disable", "delete"}},
	// The http provider over the Equifax description: the Equifax
	// emulator's operations.
	"http": {preflight: []string{string(emulator.OpToken), string(emulator.OpDescribe)}, create: []string{string(emulator.OpRenew)}, revoke: []string{string(emulator.OpRevoke)}},
}

// faulter puts faults on the operations of one provider's emulator.
type faulter struct {
	faultSites
	inject func(op string, k providerFaultKind, times int)
	clear  func()
}

// faultsOf returns the faulter of w's provider, the demo provider typ.
func faultsOf(t *testing.T, w *world, typ string) faulter {
	t.Helper()
	switch svc := w.Service.(type) {
	case interface{ Emulator() *entraemu.Emulator }:
		emu := svc.Emulator()
		return faulter{faultSites: sitesOf[typ],
			inject: func(op string, k providerFaultKind, times int) {
				f := entraemu.Fault{Op: op, Times: times}
				switch k {
				case pfRateLimit:
					f.Status, f.RetryAfter = 429, "1"
				case pfServerError:
					f.Status = 500
				case pfUnavailable:
					f.Status, f.RetryAfter = 503, "1"
				case pfStall:
					f.Delay = faultStall
				case pfMalformed:
					f.Status, f.Body = 200, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#applications`
				case pfDrop:
					f.AfterHandling, f.Drop = true, true
				}
				emu.Inject(f)
			},
			clear: emu.ClearFaults,
		}
	case interface{ Emulator() *oktaemu.Emulator }:
		emu := svc.Emulator()
		return faulter{faultSites: sitesOf[typ],
			inject: func(op string, k providerFaultKind, times int) {
				f := oktaemu.Fault{Op: op, Times: times}
				switch k {
				case pfRateLimit:
					f.Status = 429
				case pfServerError:
					f.Status = 500
				case pfUnavailable:
					f.Status = 503
				case pfStall:
					f.Delay = faultStall
				case pfMalformed:
					f.Status, f.Body = 200, `[{"id":"ocs`
				case pfDrop:
					f.AfterHandling, f.Drop = true, true
				}
				emu.Inject(f)
			},
			clear: emu.ClearFaults,
		}
	case interface{ Emulator() *gcpemu.Emulator }:
		emu := svc.Emulator()
		return faulter{faultSites: sitesOf[typ],
			inject: func(op string, k providerFaultKind, times int) {
				f := gcpemu.Fault{Op: op, Times: times}
				switch k {
				case pfRateLimit:
					f.Status = 429
				case pfServerError:
					f.Status = 500
				case pfUnavailable:
					f.Status = 503
				case pfStall:
					f.Delay = faultStall
				case pfMalformed:
					f.Status, f.Body = 200, `{"keys":[{"name":`
				case pfDrop:
					f.AfterHandling, f.Drop = true, true
				}
				emu.Inject(f)
			},
			clear: emu.ClearFaults,
		}
	}
	if w.Emulator != nil {
		emu := w.Emulator
		return faulter{faultSites: sitesOf[typ],
			inject: func(op string, k providerFaultKind, times int) {
				kind := map[providerFaultKind]emulator.FaultKind{
					pfRateLimit: emulator.FaultRateLimit, pfServerError: emulator.FaultServerError, pfUnavailable: emulator.FaultUnavailable,
					pfStall: emulator.FaultStall, pfMalformed: emulator.FaultMalformed, pfDrop: emulator.FaultDropResponse,
				}[k]
				emu.Script(emulator.Fault{Op: emulator.Op(op), Kind: kind, Count: times, Stall: faultStall})
			},
			clear: emu.ClearFaults,
		}
	}
	t.Fatalf("%s: no fault hooks for this provider's emulator", w.Service.Type())
	return faulter{}
}

// settleNamed is settle, and a failed run's open alerts name what failed:
// each due key when the failure was the key's own (create, revoke).
func (w *world) settleNamed(res result, what string, keyed bool) {
	w.t.Helper()
	if res.code == 1 && keyed {
		w.alertsNameDueKeys(what)
	}
	w.settle(res, what)
}

// alertsNameDueKeys checks that some open alert names each key whose
// rotation the fault stopped.
func (w *world) alertsNameDueKeys(what string) {
	w.t.Helper()
	var open []string
	for _, is := range w.Hub.Issues() {
		if is.State == "open" {
			open = append(open, is.Title+"\n"+is.Body)
		}
	}
	for _, k := range w.due() {
		named := false
		for _, text := range open {
			if strings.Contains(text, string(k.Key)) {
				named = true
			}
		}
		// A key the faulted run rotated anyway needs no alert.
		if !named && w.mainSecretID(k.Key) == w.seeded[k.Key] && !w.hasOpenPR(k) {
			w.t.Errorf("%s: the run failed and no open alert names %s (%d open)", what, k.Key, len(open))
		}
	}
}

// hasOpenPR reports whether a pull request proposing k is open.
func (w *world) hasOpenPR(k demo.Key) bool {
	for _, pr := range w.Hub.PullRequests() {
		if pr.State == "open" && strings.Contains(pr.Body, string(k.Key)) {
			return true
		}
	}
	return false
}

// TestFaultMatrixEveryProvider plays each provider's faults at every phase
// of a rotation against its emulator, through the production binary.
func TestFaultMatrixEveryProvider(t *testing.T) {
	t.Parallel()
	for _, typ := range otherProviders(t) {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			fx, ok := sitesOf[typ]
			if !ok {
				t.Fatalf("no fault sites for provider type %s", typ)
			}
			kinds := providerFaultKinds
			if typ == "http" {
				// The Equifax emulator and its faults are covered in depth
				// by the Equifax matrix; here the http client meets the
				// faults that matter most to it.
				kinds = []providerFaultKind{pfServerError, pfStall, pfDrop}
			}

			t.Run("preflight", func(t *testing.T) {
				t.Parallel()
				for _, op := range fx.preflight {
					t.Run(op, func(t *testing.T) {
						t.Parallel()
						w := newWorld(t, demo.Options{Provider: typ})
						f := faultsOf(t, w, typ)
						for _, k := range kinds {
							f.inject(op, k, 1)
							res := w.run(providerFaultTimeouts, "renew", "--cron-mode")
							f.clear()
							w.settle(res, op+" "+string(k))
						}
						w.finishCycle()
					})
				}
			})

			for _, op := range fx.create {
				for _, k := range kinds {
					t.Run("create/"+op+"/"+string(k), func(t *testing.T) {
						t.Parallel()
						w := newWorld(t, demo.Options{Provider: typ})
						f := faultsOf(t, w, typ)
						f.inject(op, k, 1)
						res := w.run(providerFaultTimeouts, "renew", "--cron-mode")
						f.clear()
						w.settleNamed(res, op+" "+string(k), true)
						w.finishCycle()
					})
				}
			}

			revokeKinds := []providerFaultKind{pfServerError, pfStall, pfDrop}
			if typ != "http" {
				revokeKinds = append(revokeKinds, pfMalformed)
			}
			for _, op := range fx.revoke {
				for _, k := range revokeKinds {
					t.Run("revoke/"+op+"/"+string(k), func(t *testing.T) {
						t.Parallel()
						w := newWorld(t, demo.Options{Provider: typ})
						f := faultsOf(t, w, typ)
						w.mustRun("renew", "--cron-mode")
						if _, err := w.Rollout(context.Background()); err != nil {
							t.Fatal(err)
						}
						f.inject(op, k, 1)
						res := w.run(providerFaultTimeouts, "renew", "--cron-mode")
						f.clear()
						w.settleNamed(res, op+" "+string(k), false)
						w.finishCycle()
					})
				}
			}

			t.Run("down", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, demo.Options{Provider: typ})
				f := faultsOf(t, w, typ)
				w.providerDownFailsCleanly(f)
			})
		})
	}
}

// providerDownFailsCleanly: the create keeps answering 503 until the
// retries run out; the run fails with an alert per due key that names the
// step and the next action, nothing is renewed on main, and the next run
// succeeds and closes the alerts.
func (w *world) providerDownFailsCleanly(f faulter) {
	t := w.t
	for _, op := range f.create {
		f.inject(op, pfUnavailable, 50)
	}
	res := w.run(nil, "renew", "--cron-mode")
	if res.code != 1 {
		t.Fatalf("exit %d with %s down, want 1:\n%s", res.code, w.Service.Title(), lastLines(res.stderr, 20))
	}
	w.checkInvariants("with the service down")
	for _, k := range w.due() {
		if id := w.mainSecretID(k.Key); id != w.seeded[k.Key] {
			t.Errorf("%s changed on main after a failed create", k.Key)
		}
		if n := w.Service.ValidSecrets(k.ClientID); n != 1 {
			t.Errorf("%s: %d valid secrets after a refused create, want the 1 seeded", k.Key, n)
		}
	}
	open := 0
	for _, is := range w.Hub.Issues() {
		if is.State != "open" {
			continue
		}
		open++
		if !strings.Contains(is.Body, "| step | renew |") || !strings.Contains(is.Body, "next run retries") {
			t.Errorf("alert body lacks the step or the next action:\n%s", is.Body)
		}
	}
	if open != len(w.due()) {
		t.Fatalf("%d open alerts, want one per failing key (%d)", open, len(w.due()))
	}
	w.alertsNameDueKeys(fmt.Sprintf("%s down", w.Service.Title()))
	f.clear()
	w.mustRun("renew", "--cron-mode")
	for _, is := range w.Hub.Issues() {
		if is.State != "closed" {
			t.Errorf("alert #%d still open after a successful run", is.Number)
		}
	}
	w.finishCycle()
}
