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

// TestHTTPServiceRunsTheShippedDescription: the http demos' keys are http
// keys over the description this repository ships, byte for byte, and its
// OpenAPI document: equifax-rest.yaml against the Equifax emulator
// (World.Emulator), okta.yaml against the Okta emulator; each emulator
// accepts the seeded secrets. TestDemoEveryProvider runs their whole job.
func TestHTTPServiceRunsTheShippedDescription(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, description string
		files                 []string
		equifax               bool
	}{
		{"http", "equifax-rest", []string{"equifax-rest.yaml", "equifax-rest.openapi.yaml"}, true},
		{"http-okta", "okta", []string{"okta.yaml", "okta.openapi.yaml", "okta.openapi.LICENSE"}, false},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			t.Parallel()
			w, err := demo.Start(context.Background(), demo.Options{Dir: t.TempDir(), Keys: 2, Provider: tc.provider})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Close)
			if w.Service.Type() != "http" || (w.Emulator != nil) != tc.equifax {
				t.Fatalf("service %s, emulator %v", w.Service.Type(), w.Emulator)
			}
			for _, name := range tc.files {
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
			if n := strings.Count(string(cfg), "    type: http\n    description: "+tc.description+"\n"); n != len(w.Keys) {
				t.Errorf("%d of %d keys are http keys over %s:\n%s", n, len(w.Keys), tc.description, cfg)
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
		})
	}
}
