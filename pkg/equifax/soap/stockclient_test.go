package soap_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/testenv"
)

// TestStockSOAPClient points a SOAP client that no one here wrote
// (node-soap) at the WSDL the emulator serves: IssueToken with a
// UsernameToken, then GetCredentialInfo with the Bearer token. It needs
// node and `npm ci --prefix pkg/equifax/soap/testdata/stock-client`, and
// skips without them.
func TestStockSOAPClient(t *testing.T) {
	dir := filepath.Join("testdata", "stock-client")
	node := testenv.LookPath(t, "node", "apt-get install nodejs npm")
	testenv.File(t, filepath.Join(dir, "node_modules", "soap"), "node-soap", "npm ci --prefix pkg/equifax/soap/testdata/stock-client (make test does it)")
	emu := emulator.New(emulator.Options{Logf: t.Logf})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	const secret = "canary-stock-Vb3"
	seeded, err := emu.SeedClient("stock-client", secret, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js", srv.URL+emulator.SOAPPath+"?wsdl", "stock-client", secret, emulator.DefaultManagementScope)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.js: %v\n%s", err, stderr.String())
	}
	var got struct {
		TokenType string `json:"tokenType"`
		ExpiresIn int    `json:"expiresIn"`
		Scope     string `json:"scope"`
		ClientID  string `json:"clientId"`
		Secrets   []struct {
			SecretID string `json:"secretId"`
			Status   string `json:"status"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if got.TokenType != "Bearer" || got.ExpiresIn != 1800 || !strings.Contains(got.Scope, emulator.DefaultManagementScope) {
		t.Errorf("token = %+v", got)
	}
	if got.ClientID != "stock-client" || len(got.Secrets) != 1 || got.Secrets[0].SecretID != seeded.SecretID || got.Secrets[0].Status != "ACTIVE" {
		t.Errorf("credential info = %+v", got)
	}
	if n, m := emu.Calls(emulator.OpToken), emu.Calls(emulator.OpDescribe); n != 1 || m != 1 {
		t.Errorf("calls: token %d, describe %d; want 1 and 1", n, m)
	}
	if strings.Contains(string(out), secret) {
		t.Error("the client printed the secret")
	}
}
