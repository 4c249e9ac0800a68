// Package sopscmd builds and runs the sops command from the module go.mod
// pins, for tests that hold what credrotate writes to SOPS's own reading of
// it.
package sopscmd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds the sops command into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "sops")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/getsops/sops/v3/cmd/sops").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building sops: %v\n%s", err, out)
	}
	return bin, nil
}

// Run runs bin with args in dir (a fresh folder when dir is ""), with only
// the age identity key available to it and nothing of this machine's sops
// configuration.
func Run(t *testing.T, bin, dir, key string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	home := t.TempDir()
	keyFile := filepath.Join(home, "keys.txt")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = home
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "SOPS_AGE_KEY_FILE=" + keyFile, "PATH=/usr/bin:/bin"}
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}
