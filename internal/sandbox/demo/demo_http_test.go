package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
)

// TestHTTPServiceRunsTheShippedDescription: the http demo's keys are http
// keys over the description this repository ships, byte for byte, and its
// OpenAPI document, against the Equifax emulator (World.Emulator), which
// accepts the seeded secrets. TestDemoEveryProvider runs its whole job.
func TestHTTPServiceRunsTheShippedDescription(t *testing.T) {
	t.Parallel()
	w, err := demo.Start(context.Background(), demo.Options{Dir: t.TempDir(), Keys: 2, Provider: "http"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	if w.Service.Type() != "http" || w.Emulator == nil {
		t.Fatalf("service %s, emulator %v", w.Service.Type(), w.Emulator)
	}
	for _, name := range []string{"equifax-rest.yaml", "equifax-rest.openapi.yaml"} {
		used, err := os.ReadFile(filepath.Join(w.Dir, "providers", name))
		if err != nil {
			t.Fatal(err)
		}
		shipped, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "providers", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(used, shipped) {
			t.Errorf("the demo runs another %s than examples/providers ships", name)
		}
	}
	cfg, err := os.ReadFile(w.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(cfg), "    type: http\n    description: equifax-rest\n"); n != len(w.Keys) {
		t.Errorf("%d of %d keys are http keys over equifax-rest:\n%s", n, len(w.Keys), cfg)
	}
	for _, k := range w.Keys {
		b, err := os.ReadFile(w.CurrentFile(k.Key))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(k.Key), "http.") || !w.Service.Accepts(k.ClientID, strings.TrimSpace(string(b))) {
			t.Errorf("%s: not an http key the emulator accepts", k.Key)
		}
	}
}
