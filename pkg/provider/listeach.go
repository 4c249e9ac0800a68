package provider

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// ListEach describes every item of a listing, at most limit at once, and
// returns the results in the items' order. describe returns false for an
// item to leave out (one deleted between the listing and its describe);
// the first error stops the rest and is returned.
func ListEach[T any](ctx context.Context, items []T, limit int, describe func(ctx context.Context, item T) (Listed, bool, error)) ([]Listed, error) {
	out := make([]Listed, len(items))
	keep := make([]bool, len(items))
	g, gctx := errgroup.WithContext(ctx)
	if limit > 0 {
		g.SetLimit(limit)
	}
	for i, it := range items {
		g.Go(func() error {
			l, ok, err := describe(gctx, it)
			out[i], keep[i] = l, ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, l := range out {
		if keep[i] {
			kept = append(kept, l)
		}
	}
	return kept, nil
}
