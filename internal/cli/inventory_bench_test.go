package cli

import (
	"context"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential/redact"
)

// BenchmarkInventory1000 lists a world of 1,000 Equifax clients with 20 ms
// of latency on every call and reports the time against the floor: each key
// needs a token and a describe, rotation.concurrency at a time.
func BenchmarkInventory1000(b *testing.B) {
	const keys, latency = 1000, 20 * time.Millisecond
	w, err := demo.Start(context.Background(), demo.Options{Dir: b.TempDir(), Keys: keys, Latency: latency})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	cfg, err := config.Load(config.LoadOptions{Path: w.ConfigPath, Environ: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	log := logrus.NewEntry(logrus.New())
	log.Logger.SetLevel(logrus.ErrorLevel)
	b.ResetTimer()
	for b.Loop() {
		inv := collectInventory(context.Background(), &wiring{cfg: cfg, log: log, red: redact.New()}, time.Now())
		if len(inv.Rows) != keys || len(inv.Problems) != 0 {
			b.Fatalf("%d rows, problems %v", len(inv.Rows), inv.Problems)
		}
	}
	floor := time.Duration(keys/max(1, cfg.Rotation.Concurrency)) * 2 * latency
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(floor), "x-floor")
}
