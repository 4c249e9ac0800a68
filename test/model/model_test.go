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
// CREDROTATE_MODEL_QUICK=1 explores a small sample.
func TestModel(t *testing.T) {
	t.Parallel()
	opts := Options{}
	if os.Getenv("CREDROTATE_MODEL_QUICK") != "" {
		opts.Keys, opts.InterleaveKeys, opts.InterleaveStride = []int{1}, []int{1}, 4
	}
	res, err := Explore(opts)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("model check: %d scenarios, %d runs, %d with violations, in %s\n", res.Scenarios, res.Runs, res.Failed, res.Elapsed.Round(time.Millisecond))
	if len(res.Violations) > 0 {
		t.Errorf("the rotation broke its invariants: %s", res.Summary(2))
		return
	}
	t.Logf("model check: %s", res.Summary(2))
}
