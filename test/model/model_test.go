package model

import (
	"fmt"
	"os"
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

// TestModelEveryProvider is the model check against every other provider's
// emulator (Entra ID, Okta, Google Cloud service account keys), on a
// reduced space that keeps every crash point and every two-run
// interleaving: one key, pull requests landed by auto-merge, every starting
// state, a fault of each mode at every event and every pair of pause
// points. CREDROTATE_MODEL_QUICK=1, and the race detector, sample every
// fourth pause point instead. Every violation fails it.
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
			fmt.Printf("model check (%s): %d scenarios (%d run, the others the same schedule as one run), %d runs, %d with violations (%d violations), in %s\n", prov, res.Scenarios, res.Explored, res.Runs, res.Failed, len(res.Violations), res.Elapsed.Round(time.Millisecond))
			if len(res.Violations) > 0 {
				t.Errorf("the rotation against %s broke its invariants: %s", prov, res.Summary(2))
			}
		})
	}
}
