package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/inventory"
)

// unmanagedSeed is a credential seeded in a provider's emulator beside the
// demo's keys, in the scope its provider lists: the inventory must show it
// as unmanaged with this expiry.
type unmanagedSeed struct {
	clientID, name string
	expiresAt      time.Time
	// adopt: the row carries the command that brings it under management
	// (not for another's secret on a managed client).
	adopt bool
}

// TestInventoryAgainstTheEmulator lists, for each provider against its
// emulator, the demo world's keys as managed with the expiry the emulator
// reports and the credentials seeded beside them as unmanaged with theirs,
// in each output format, and reads only.
func TestInventoryAgainstTheEmulator(t *testing.T) {
	const mgmtApp, mgmtSecret = "99999999-0000-4000-8000-000000000001", "management-secret-value-0123456789"
	cases := []struct {
		provider string
		// setup seeds the unmanaged credentials and returns them with the
		// flags that let the provider list its scope.
		setup func(t *testing.T, w *demo.World) ([]unmanagedSeed, []string)
	}{
		{"equifax", func(*testing.T, *demo.World) ([]unmanagedSeed, []string) { return nil, nil }},
		{"entra", func(t *testing.T, w *demo.World) ([]unmanagedSeed, []string) {
			emu := w.Service.(interface{ Emulator() *entraemu.Emulator }).Emulator()
			if _, err := emu.SeedApp(entraemu.SeedSpec{AppID: mgmtApp, DisplayName: "credrotate management", Password: mgmtSecret}); err != nil {
				t.Fatal(err)
			}
			for _, k := range w.Keys {
				if err := emu.AddOwner(k.ClientID, mgmtApp); err != nil {
					t.Fatal(err)
				}
			}
			end := emu.Now().Add(9 * 24 * time.Hour).Truncate(time.Second)
			if _, err := emu.SeedApp(entraemu.SeedSpec{AppID: "00000000-0000-4000-8000-00000000aaaa", DisplayName: "reporting", Owners: []string{mgmtApp}, Password: "portal-made-secret-0123456789", PasswordName: "made in the portal", PasswordEnd: end}); err != nil {
				t.Fatal(err)
			}
			// Not owned by the management application: outside its scope.
			if _, err := emu.SeedApp(entraemu.SeedSpec{AppID: "00000000-0000-4000-8000-00000000bbbb", Password: "not-ours-0123456789"}); err != nil {
				t.Fatal(err)
			}
			t.Setenv("ENTRA_MGMT_SECRET", mgmtSecret)
			return []unmanagedSeed{{clientID: "00000000-0000-4000-8000-00000000aaaa", name: "reporting", expiresAt: end, adopt: true}},
				[]string{"--set", "entra.management.clientID=" + mgmtApp, "--set", "entra.management.clientSecret.env=ENTRA_MGMT_SECRET"}
		}},
		{"okta", func(t *testing.T, w *demo.World) ([]unmanagedSeed, []string) {
			emu := w.Service.(interface{ Emulator() *oktaemu.Emulator }).Emulator()
			var out []unmanagedSeed
			for i := 0; i < 3; i++ {
				id := fmt.Sprintf("0oaother%04d", i)
				s, err := emu.SeedApp(id, "", emu.Now().Add(-time.Duration(80+i)*24*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if err := emu.SetLabel(id, fmt.Sprintf("partner portal %d", i)); err != nil {
					t.Fatal(err)
				}
				out = append(out, unmanagedSeed{clientID: id, name: fmt.Sprintf("partner portal %d", i), expiresAt: s.Created.Add(90 * 24 * time.Hour), adopt: true})
			}
			if err := emu.SeedSAMLApp("0oasaml0001", "intranet"); err != nil {
				t.Fatal(err)
			}
			return out, nil
		}},
		{"gcpkey", func(t *testing.T, w *demo.World) ([]unmanagedSeed, []string) {
			emu := w.Service.(interface{ Emulator() *gcpemu.Emulator }).Emulator()
			const other = "reports@demo-project.iam.gserviceaccount.com"
			emu.SetDisplayName(other, "reports")
			until := emu.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
			if _, _, err := emu.SeedKey(other, emu.Now().Add(-time.Hour), until); err != nil {
				t.Fatal(err)
			}
			// Another project's account: outside the scope.
			if _, _, err := emu.SeedKey("x@elsewhere-project.iam.gserviceaccount.com", emu.Now(), time.Time{}); err != nil {
				t.Fatal(err)
			}
			// A key uploaded to a managed account: listed, not credrotate's.
			created := emu.Now().Add(-time.Hour).Truncate(time.Second)
			if _, err := emu.SeedUploadedKey(w.Keys[0].ClientID, created, time.Time{}); err != nil {
				t.Fatal(err)
			}
			return []unmanagedSeed{
				{clientID: other, name: "reports", expiresAt: until, adopt: true},
				{clientID: w.Keys[0].ClientID, expiresAt: created.Add(180 * 24 * time.Hour)},
			}, []string{"--set", "gcp.project=demo-project"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			w := startDemo(t, demo.Options{Keys: 3, Provider: tc.provider})
			seeds, flags := tc.setup(t, w)
			args := append([]string{"inventory", "--config", w.ConfigPath}, flags...)
			out, stderr, code := runCmd(t, "", append(args, "-o", "json")...)
			if code != 0 {
				t.Fatalf("inventory: exit %d\n%s", code, stderr)
			}
			var inv inventory.Inventory
			if err := json.Unmarshal([]byte(out), &inv); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(inv.Rows) != len(w.Keys)+len(seeds) || len(inv.Problems) != 0 {
				t.Fatalf("%d rows, problems %v; want one per key (%d) and per unmanaged credential (%d):\n%s", len(inv.Rows), inv.Problems, len(w.Keys), len(seeds), out)
			}
			managed := 0
			for _, r := range inv.Rows {
				if !r.Managed {
					continue
				}
				managed++
				var k demo.Key
				for _, kk := range w.Keys {
					if kk.Key == r.ProviderKey {
						k = kk
					}
				}
				if r.SecretID != k.SecretID || r.ExpiresAt == nil || r.Type != tc.provider {
					t.Errorf("row %+v, want managed %s", r, k.SecretID)
					continue
				}
				want := time.Duration(*r.DaysLeft) * 24 * time.Hour
				if d := k.ExpiresIn - want; d < 0 || d > 48*time.Hour {
					t.Errorf("%s: %d days left, seeded to expire in %s", r.ProviderKey, *r.DaysLeft, k.ExpiresIn)
				}
			}
			if managed != len(w.Keys) {
				t.Errorf("%d managed rows, want %d", managed, len(w.Keys))
			}
			for _, s := range seeds {
				found := false
				for _, r := range inv.Rows {
					if r.Managed || r.ClientID != s.clientID {
						continue
					}
					found = true
					if r.ExpiresAt == nil || !r.ExpiresAt.Equal(s.expiresAt) || (s.name != "" && r.Name != s.name) || (r.Adopt != "") != s.adopt || r.ProviderKey != "" {
						t.Errorf("unmanaged row %+v, want expiry %s, name %q, adopt %v", r, s.expiresAt, s.name, s.adopt)
					}
				}
				if !found {
					t.Errorf("no unmanaged row for %s", s.clientID)
				}
			}
			for i := 1; i < len(inv.Rows); i++ {
				if inv.Rows[i].ExpiresAt.Before(*inv.Rows[i-1].ExpiresAt) {
					t.Errorf("rows not soonest first: %v then %v", inv.Rows[i-1].ExpiresAt, inv.Rows[i].ExpiresAt)
				}
			}
			if n := w.Service.Revoked(); n != 0 || (w.Emulator != nil && w.Emulator.Calls("renew") != 0) {
				t.Errorf("the inventory changed something: %d revoked", n)
			}
			for _, k := range w.Keys {
				if n := w.Service.ValidSecrets(k.ClientID); n < 1 || n > 2 {
					t.Errorf("%s: %d valid secrets after the inventory", k.Key, n)
				}
			}
			md, _, code := runCmd(t, "", append(args, "-o", "markdown")...)
			if code != 0 || !strings.HasPrefix(md, "| Type | Provider key |") || strings.Count(md, "| "+tc.provider+" |") != len(inv.Rows) {
				t.Errorf("markdown (exit %d):\n%s", code, md)
			}
			tab, _, code := runCmd(t, "", args...)
			if code != 0 || !strings.Contains(tab, string(w.Keys[0].Key)) || strings.Contains(tab, "problem") {
				t.Errorf("table (exit %d):\n%s", code, tab)
			}
		})
	}
	w := startDemo(t, demo.Options{Keys: 1})
	if _, _, code := runCmd(t, "", "inventory", "--config", w.ConfigPath, "-o", "yaml"); code != exitUsage {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
}
