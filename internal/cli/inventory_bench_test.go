package cli

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/provider"
)

// BenchmarkInventory1000 takes the inventory of a world of 1,000 clients
// with 20 ms of latency on every call, and in the same run the floor the
// inventory is held to: the provider calls it cannot do without (each
// key's describe, rotation.concurrency at a time, and, where the provider
// lists its scope, every page of the list), made straight through the
// providers with nothing else. It reports the inventory's time over that
// measured floor (x-floor) and over the latency alone (x-latency-floor:
// rounds of rotation.concurrency calls times the calls a key needs times
// the latency, plus one latency a page).
//
//   - equifax: 1,000 configured clients, each a token and a describe.
//   - entra: 1,000 configured applications and 1,000 more owned by the
//     management application, listed 100 a page ($top) with
//     @odata.nextLink: a describe per key (the management token is
//     cached) and 20 pages.
func BenchmarkInventory1000(b *testing.B) {
	const keys, latency = 1000, 20 * time.Millisecond
	for _, tc := range []struct {
		provider    string
		callsPerKey int
		pages       int
		unmanaged   int
		prepare     func(b *testing.B, w *demo.World) map[string]any
	}{
		{provider: "equifax", callsPerKey: 2},
		{provider: "entra", callsPerKey: 1, pages: 2 * keys / 100, unmanaged: keys, prepare: func(b *testing.B, w *demo.World) map[string]any {
			const mgmt = "99999999-0000-4000-8000-000000000001"
			emu := w.Service.(interface{ Emulator() *entraemu.Emulator }).Emulator()
			if _, err := emu.SeedApp(entraemu.SeedSpec{AppID: mgmt, Password: "management-secret-value-0123456789"}); err != nil {
				b.Fatal(err)
			}
			for _, k := range w.Keys {
				if err := emu.AddOwner(k.ClientID, mgmt); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < keys; i++ {
				if _, err := emu.SeedApp(entraemu.SeedSpec{AppID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), DisplayName: fmt.Sprintf("other-%04d", i), Owners: []string{mgmt}, Password: fmt.Sprintf("other-secret-%04d-0123456789", i), PasswordName: "portal"}); err != nil {
					b.Fatal(err)
				}
			}
			b.Setenv("ENTRA_MGMT_SECRET", "management-secret-value-0123456789")
			return map[string]any{"entra.management.clientID": mgmt, "entra.management.clientSecret.env": "ENTRA_MGMT_SECRET"}
		}},
	} {
		b.Run(tc.provider, func(b *testing.B) {
			w, err := demo.Start(context.Background(), demo.Options{Dir: b.TempDir(), Keys: keys, Latency: latency, Provider: tc.provider})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var overrides map[string]any
			if tc.prepare != nil {
				overrides = tc.prepare(b, w)
			}
			cfg, err := config.Load(config.LoadOptions{Path: w.ConfigPath, Environ: []string{"ENTRA_MGMT_SECRET=management-secret-value-0123456789"}, Overrides: overrides})
			if err != nil {
				b.Fatal(err)
			}
			log := logrus.NewEntry(logrus.New())
			log.Logger.SetLevel(logrus.ErrorLevel)
			var inventoryTime, floorTime time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if err := describeFloor(context.Background(), &wiring{cfg: cfg, log: log, red: redact.New()}); err != nil {
					b.Fatal(err)
				}
				floorTime += time.Since(start)
				start = time.Now()
				inv := collectInventory(context.Background(), &wiring{cfg: cfg, log: log, red: redact.New()}, time.Now())
				inventoryTime += time.Since(start)
				if len(inv.Rows) != keys+tc.unmanaged || len(inv.Problems) != 0 {
					b.Fatalf("%d rows, problems %v", len(inv.Rows), inv.Problems)
				}
			}
			n := time.Duration(b.N)
			rounds := (keys + max(1, cfg.Rotation.Concurrency) - 1) / max(1, cfg.Rotation.Concurrency)
			latencyFloor := time.Duration(rounds*tc.callsPerKey+tc.pages) * latency
			b.ReportMetric((inventoryTime / n).Seconds(), "inventory-s")
			b.ReportMetric((floorTime / n).Seconds(), "floor-s")
			b.ReportMetric(float64(inventoryTime)/float64(floorTime), "x-floor")
			b.ReportMetric(float64(inventoryTime/n)/float64(latencyFloor), "x-latency-floor")
		})
	}
}

// describeFloor makes only the calls an inventory cannot do without: each
// configured key's describe with its current secret, rotation.concurrency
// at a time, then each listing provider's list.
func describeFloor(ctx context.Context, w *wiring) error {
	cfg := w.cfg
	hc := &http.Client{Timeout: 2 * cfg.Rotation.Timeout}
	cache := map[string]provider.Provider{}
	provs := make([]provider.Provider, len(cfg.Providers))
	for i, p := range cfg.Providers {
		prov, err := w.keyProvider(p, hc, cache)
		if err != nil {
			return err
		}
		provs[i] = prov
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, cfg.Rotation.Concurrency))
	for i, p := range cfg.Providers {
		g.Go(func() error {
			src, err := currentSource(p.CurrentSecret)
			if err != nil {
				return err
			}
			secret, err := src.Read(gctx)
			if err != nil {
				return err
			}
			_, err = provs[i].Describe(gctx, provider.Client{ClientID: p.ClientID, ClientSecret: secret})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, l := range w.listers {
		if _, err := l.List(ctx); err != nil {
			return err
		}
	}
	return nil
}
