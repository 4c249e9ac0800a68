package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
)

// TestCloneUnderTheLease: the lease is taken before the clone, so a run
// that waited while another run merged plans from the base branch as the
// lease found it, never from an older one that may miss a merged rotation.
func TestCloneUnderTheLease(t *testing.T) {
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
	var moved string
	wr.beforeClone = func(ctx context.Context, access func() error, _ func(context.Context, error) (string, error)) error {
		if err := access(); err != nil {
			return err
		}
		// Another run merges while this one takes the lease.
		moved, err = w.Hub.CommitFiles(ctx, cfg.Git.BaseBranch, cfg.Git.BaseBranch, "a merged rotation", map[string][]byte{"NOTE.md": []byte("moved\n")})
		return err
	}
	runner, err := wr.newRunner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := runner.Repo.(repoAdapter).BaseSHA(); moved == "" || got != moved {
		t.Fatalf("cloned %s, want the base as it was under the lease, %s", got, moved)
	}
}
