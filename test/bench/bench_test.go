package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConcurrencyOf: the floor uses the concurrency credrotate's loader
// reads from the world's file, under either spelling or by default.
func TestConcurrencyOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		name, file string
		want       int
	}{
		{"rotation", "rotation:\n  concurrency: 5\n", 5},
		{"older spelling", "equifax:\n  concurrency: 3\n", 3},
		{"default", "rotation:\n  timeout: 10s\n", 16},
		{"does not load", "rotation: [", 1},
	} {
		p := filepath.Join(dir, c.name+".yaml")
		if err := os.WriteFile(p, []byte(c.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := concurrencyOf(p); got != c.want {
			t.Errorf("%s: concurrencyOf = %d, want %d", c.name, got, c.want)
		}
	}
	if got, want := concurrencyOf(filepath.Join(dir, "missing.yaml")), 1; got != want {
		t.Errorf("missing file: concurrencyOf = %d, want %d", got, want)
	}
}
