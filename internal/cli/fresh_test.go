package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
)

// TestFreshAfterLease: a run that cloned before another run moved the base
// branch, and then got the lease, plans from a fresh clone, never from the
// one that may miss a merged rotation.
func TestFreshAfterLease(t *testing.T) {
	ctx := context.Background()
	w := startDemo(t, demo.Options{})
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	a.configPath, a.logLevel = w.ConfigPath, "error"
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	log, err := a.newLogger("trace-fresh")
	if err != nil {
		t.Fatal(err)
	}
	wr := &wiring{cfg: cfg, log: log, traceID: "trace-fresh", red: a.red}
	runner, err := wr.newRunner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cloned := runner.Repo.(repoAdapter).BaseSHA()

	// Nothing moved: the same runner.
	same, err := freshAfterLease(ctx, wr, runner)
	if err != nil || same != runner {
		t.Fatalf("unmoved base: runner replaced (%v)", err)
	}

	// Another run merged in between.
	moved, err := w.Hub.CommitFiles(ctx, cfg.Git.BaseBranch, cfg.Git.BaseBranch, "a merged rotation", map[string][]byte{"NOTE.md": []byte("moved\n")})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := freshAfterLease(ctx, wr, runner)
	if err != nil {
		t.Fatal(err)
	}
	got := fresh.Repo.(repoAdapter).BaseSHA()
	if fresh == runner || got == cloned || got != moved {
		t.Fatalf("after the base moved: clone at %s (was %s), want %s", got, cloned, moved)
	}
}
