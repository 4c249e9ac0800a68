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
