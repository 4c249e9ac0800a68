package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// TestProviderTest runs `provider test` for an http key described by
// examples/providers/equifax-rest.yaml against the Equifax emulator: the
// token and describe steps run, what they extracted is printed, secrets
// masked, and nothing is created.
func TestProviderTest(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Options{Logf: t.Logf})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	const secret = "canary-http-Zx81"
	seeded, err := emu.SeedClient("client-a", secret, emu.Now().Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	desc, err := filepath.Abs(filepath.Join("..", "..", "examples", "providers", "equifax-rest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "current"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join("..", "..", "pkg", "config", "testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(good), "providers:\n", `http:
  descriptions:
    - name: equifax-rest
      file: `+desc+`
      settings:
        - {name: baseurl, value: `+srv.URL+`}
providers:
  - key: http.client_a
    type: http
    description: equifax-rest
    clientID: client-a
    currentSecret: {file: current}
    secret: {name: client-a, namespace: credit, dataKey: client_secret}
`, 1)
	path := filepath.Join(dir, "credrotate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, "", "provider", "test", "--config", path, "--provider-key", "http.client_a")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	for _, want := range []string{"step token: ok", "accessToken: [REDACTED]", "step describe: ok", "id " + seeded.SecretID + ", status ACTIVE", "secrets: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, secret) {
		t.Fatal("the secret was printed")
	}
	if n := emu.Calls(emulator.OpRenew) + emu.Calls(emulator.OpRevoke); n != 0 {
		t.Fatalf("%d mutating calls", n)
	}

	_, stderr, code = runCmd(t, "", "provider", "test", "--config", path, "--provider-key", "nope")
	if code != exitUsage || !strings.Contains(stderr, "no such key") {
		t.Fatalf("unknown key: exit %d, %s", code, stderr)
	}
}
