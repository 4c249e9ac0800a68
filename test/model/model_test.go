package model

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeFixture()
	os.Exit(code)
}

// TestModel is the exhaustive model check (see the package doc).
//
// CREDROTATE_MODEL_QUICK=1 explores a sample (one key, every fourth pause
// point of the interleavings), which is also what runs under the race
// detector (`make test`), unless CREDROTATE_MODEL_FULL=1.
func TestModel(t *testing.T) {
	t.Parallel()
	opts := Options{}
	quick := os.Getenv("CREDROTATE_MODEL_QUICK") != ""
	if raceEnabled && os.Getenv("CREDROTATE_MODEL_FULL") == "" {
		quick = true
		t.Log("under the race detector: exploring the sample; run `go test ./test/model/` (or set CREDROTATE_MODEL_FULL=1) for every scenario")
	}
	if quick {
		opts.Keys, opts.InterleaveKeys, opts.InterleaveStride = []int{1}, []int{1}, 4
		opts.States = statesFor("native")
	}
	res, err := Explore(opts)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("model check: %d scenarios (%d run, the others the same schedule as one run), %d runs, %d with violations, in %s\n", res.Scenarios, res.Explored, res.Runs, res.Failed, res.Elapsed.Round(time.Millisecond))
	if len(res.Violations) > 0 {
		t.Errorf("the rotation broke its invariants: %s", res.Summary(2))
		return
	}
	t.Logf("model check: %s", res.Summary(2))
}

// knownGaps are the violations the model check finds against the
// providers that cannot replay a create (Entra ID, Okta, Google Cloud),
// which the rotation's planner does not handle yet. TestModelEveryProvider
// counts them and reports them; any other violation fails it. Every safety
// invariant (no outage, no secret in use revoked, at most two valid
// secrets, at most one pull request, no leak) holds without exception.
var knownGaps = []struct {
	inv   Invariant
	state string
	why   string
}{
	{Converges, "current, manual run", "a manual run killed after its create leaves the minted secret valid; the key's manifests say it is not due, so scheduled runs do not ask the provider (manifests only) and nothing finds the orphan until the key is due"},
	{AlertsWhenStuck, "current, manual run", "the same: the killed run could not raise its alert, and no later run looks"},
	{Converges, "unmanaged (no manifest yet)", "a first rotation disturbed after its create leaves two valid secrets and no manifest; the orphan cannot be replayed nor told from the deployed secret, so it is held with an open alert until a person adopts one"},
	{Converges, "unmanaged, manual run (renew --provider-key)", "as for the scheduled first rotation"},
}

// knownGap returns why v is a known gap against prov, or "".
func knownGap(prov string, v Violation) string {
	for _, g := range knownGaps {
		if v.Invariant == g.inv && strings.HasPrefix(v.Group, strconv.Quote(g.state+" ["+prov+"]")) {
			return g.why
		}
	}
	return ""
}

// TestModelEveryProvider is the model check against every other provider's
// emulator (Entra ID, Okta, Google Cloud service account keys), on a
// reduced space that keeps every crash point and every two-run
// interleaving: one key, pull requests landed by auto-merge, every starting
// state, a fault of each mode at every event and every pair of pause
// points. CREDROTATE_MODEL_QUICK=1, and the race detector, sample every
// fourth pause point instead. The known gaps (knownGaps) are reported, not
// failed.
func TestModelEveryProvider(t *testing.T) {
	t.Parallel()
	quick := os.Getenv("CREDROTATE_MODEL_QUICK") != "" || raceEnabled && os.Getenv("CREDROTATE_MODEL_FULL") == ""
	for _, prov := range Providers {
		if prov == "equifax" {
			continue // TestModel
		}
		t.Run(prov, func(t *testing.T) {
			t.Parallel()
			opts := Options{Keys: []int{1}, InterleaveKeys: []int{1}, InterleaveStride: 1, States: statesOn(prov, "native")}
			if quick {
				opts.InterleaveStride = 4
			}
			res, err := Explore(opts)
			if err != nil {
				t.Fatal(err)
			}
			var unknown []Violation
			known := map[string]int{}
			for _, v := range res.Violations {
				if why := knownGap(prov, v); why != "" {
					known[string(v.Invariant)+": "+why]++
					continue
				}
				unknown = append(unknown, v)
			}
			fmt.Printf("model check (%s): %d scenarios (%d run, the others the same schedule as one run), %d runs, %d with violations (%d violations, %d of them known gaps), in %s\n", prov, res.Scenarios, res.Explored, res.Runs, res.Failed, len(res.Violations), len(res.Violations)-len(unknown), res.Elapsed.Round(time.Millisecond))
			for _, g := range sortedKeys(known) {
				t.Logf("known gap, %d scenarios: %s", known[g], g)
			}
			if len(unknown) > 0 {
				res.Violations = unknown
				t.Errorf("the rotation against %s broke its invariants: %s", prov, res.Summary(2))
			}
		})
	}
}
