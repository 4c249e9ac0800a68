package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/inventory"
)

// TestInventoryAgainstTheEmulator lists the demo world's keys with the
// expiry the provider's emulator reports, in each output format, and reads
// only.
func TestInventoryAgainstTheEmulator(t *testing.T) {
	w := startDemo(t, demo.Options{Keys: 3})
	out, stderr, code := runCmd(t, "", "inventory", "--config", w.ConfigPath, "-o", "json")
	if code != 0 {
		t.Fatalf("inventory: exit %d\n%s", code, stderr)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(inv.Rows) != len(w.Keys) || len(inv.Problems) != 0 {
		t.Fatalf("%d rows, problems %v; want one per key (%d)", len(inv.Rows), inv.Problems, len(w.Keys))
	}
	for _, r := range inv.Rows {
		var k demo.Key
		for _, kk := range w.Keys {
			if kk.Key == r.ProviderKey {
				k = kk
			}
		}
		if !r.Managed || r.SecretID != k.SecretID || r.ExpiresAt == nil {
			t.Errorf("row %+v, want managed %s", r, k.SecretID)
			continue
		}
		want := time.Duration(*r.DaysLeft) * 24 * time.Hour
		if d := k.ExpiresIn - want; d < 0 || d > 48*time.Hour {
			t.Errorf("%s: %d days left, seeded to expire in %s", r.ProviderKey, *r.DaysLeft, k.ExpiresIn)
		}
	}
	for i := 1; i < len(inv.Rows); i++ {
		if inv.Rows[i].ExpiresAt.Before(*inv.Rows[i-1].ExpiresAt) {
			t.Errorf("rows not soonest first: %v then %v", inv.Rows[i-1].ExpiresAt, inv.Rows[i].ExpiresAt)
		}
	}
	if n := w.Service.Revoked(); n != 0 || w.Emulator.Calls("renew") != 0 {
		t.Errorf("the inventory changed something: %d revoked", n)
	}
	md, _, code := runCmd(t, "", "inventory", "--config", w.ConfigPath, "-o", "markdown")
	if code != 0 || !strings.HasPrefix(md, "| Type | Provider key |") || strings.Count(md, "| equifax |") != len(w.Keys) {
		t.Errorf("markdown (exit %d):\n%s", code, md)
	}
	tab, _, code := runCmd(t, "", "inventory", "--config", w.ConfigPath)
	if code != 0 || !strings.Contains(tab, string(w.Keys[0].Key)) || strings.Contains(tab, "problem") {
		t.Errorf("table (exit %d):\n%s", code, tab)
	}
	if _, _, code := runCmd(t, "", "inventory", "--config", w.ConfigPath, "-o", "yaml"); code != exitUsage {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
}
