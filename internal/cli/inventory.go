package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/inventory"
	"github.com/credrotate/credrotate/pkg/provider"
)

func newInventoryCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "List every credential the providers report, managed or not, soonest expiry first",
		Long: `inventory asks every configured provider about its keys (with their current
secrets, as a run does) and, where the provider can list its scope (Entra ID
applications, Okta apps, a Google Cloud project's service account keys), about
every other client too. It prints each valid secret with its expiry, days left
and age, whether credrotate manages it, and for one it does not manage, how to
bring it under management. Equifax's inventory is its configured clients. It
reads only: nothing is created, revoked or written.`,
		Example: `  credrotate inventory
  credrotate inventory -o markdown >> "$GITHUB_STEP_SUMMARY"
  credrotate inventory -o json | jq '.credentials[] | select(.daysLeft < 30 and .managed == false)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inventory(cmd.Context(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or markdown")
	return cmd
}

func (a *app) inventory(ctx context.Context, output string) error {
	switch output {
	case "table", "json", "markdown":
	default:
		return usageErrorf("-o %q is not a format: use table, json or markdown", output)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	log, err := a.newLogger(newTraceID())
	if err != nil {
		return err
	}
	w := &wiring{cfg: cfg, log: log, red: a.red}
	inv := collectInventory(ctx, w, time.Now())
	switch output {
	case "json":
		return inv.JSON(a.stdout)
	case "markdown":
		return inv.Markdown(a.stdout)
	}
	return inv.Table(a.stdout)
}

// collectInventory describes every configured key and lists every provider
// type that can list its scope.
func collectInventory(ctx context.Context, w *wiring, now time.Time) inventory.Inventory {
	cfg := w.cfg
	hc := &http.Client{Timeout: 2 * cfg.Rotation.Timeout}
	cache := map[string]provider.Provider{}
	managed := make([]inventory.Managed, len(cfg.Providers))
	listers := map[string]provider.Lister{}
	var types []string
	provs := make([]provider.Provider, len(cfg.Providers))
	for i, p := range cfg.Providers {
		typ := p.TypeOrDefault()
		managed[i] = inventory.Managed{Key: p.Key, Type: typ, ClientID: p.ClientID}
		prov, err := w.keyProvider(p, hc, cache)
		if err != nil {
			managed[i].Err = err
			continue
		}
		provs[i] = prov
		if _, ok := listers[typ]; !ok {
			if l, ok := w.listers[typ]; ok {
				listers[typ] = l
				types = append(types, typ)
			}
		}
	}
	// The describes run as a run's do: at most rotation.concurrency at once.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, cfg.Rotation.Concurrency))
	for i, p := range cfg.Providers {
		if provs[i] == nil {
			continue
		}
		g.Go(func() error {
			m := &managed[i]
			src, err := currentSource(p.CurrentSecret)
			if err != nil {
				m.Err = err
				return nil
			}
			secret, err := src.Read(gctx)
			if err != nil {
				m.Err = fmt.Errorf("reading the current secret (%s): %w", src.Describe(), err)
				return nil
			}
			w.red.AddSecret(secret)
			m.Info, m.Err = provs[i].Describe(gctx, provider.Client{ClientID: p.ClientID, ClientSecret: secret})
			return nil
		})
	}
	_ = g.Wait()
	var scopes []inventory.Scope
	for _, typ := range types {
		clients, err := listers[typ].List(ctx)
		scopes = append(scopes, inventory.Scope{Type: typ, Clients: clients, Err: err})
	}
	for _, typ := range config.ProviderTypes {
		if _, ok := listers[typ]; !ok {
			scopes = append(scopes, inventory.Scope{Type: typ, Unsupported: true})
		}
	}
	return inventory.Build(now, managed, scopes)
}
