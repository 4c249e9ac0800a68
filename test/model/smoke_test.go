package model

import (
	"context"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	w, err := newWorld(2, 10*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	t0 := time.Now()
	for i := 0; i < 3; i++ {
		ctl := &runCtl{name: "run", faultN: -1, down: map[Server]bool{}}
		res := w.run(context.Background(), ctl, true)
		t.Logf("run %d: err=%v events=%d", i, res.Err, len(res.Events))
		if res.Report != nil {
			for _, kr := range res.Report.Results {
				t.Logf("  %s %s %s %s %s", kr.Key, kr.Action, kr.Outcome, kr.Reason, kr.Error)
			}
		}
		t.Logf("rollout: %v", w.rollout())
		w.advance(2*time.Hour, nil)
	}
	t.Logf("3 runs in %s", time.Since(t0))
	c := w.clone()
	t1 := time.Now()
	for i := 0; i < 20; i++ {
		ctl := &runCtl{name: "run", faultN: -1, down: map[Server]bool{}}
		c.run(context.Background(), ctl, true)
	}
	t.Logf("20 noop runs in %s", time.Since(t1))
}
