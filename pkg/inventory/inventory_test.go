package inventory

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/provider"
)

var now = time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

func secret(id string, st provider.Status, age, left time.Duration) provider.SecretInfo {
	return provider.SecretInfo{SecretID: id, Status: st, CreatedAt: now.Add(-age), ExpiresAt: now.Add(left)}
}

const day = 24 * time.Hour

func TestBuildManagedAndUnmanaged(t *testing.T) {
	t.Parallel()
	managed := []Managed{
		{Key: "entra.billing", Type: "entra", ClientID: "app-1", Info: provider.ClientInfo{Secrets: []provider.SecretInfo{
			secret("k1", provider.StatusActive, 100*day, 80*day),
			secret("k0", provider.StatusRevoked, 400*day, -10*day),
			{SecretID: "kf", Status: provider.StatusActive, Foreign: true, ExpiresAt: now.Add(3 * day)},
		}}},
		{Key: "equifax.c1", Type: "equifax", ClientID: "0oa1", Err: errors.New("equifax describe: unauthorized")},
	}
	scopes := []Scope{
		{Type: "entra", Clients: []provider.Listed{
			{ClientID: "app-1", Name: "billing", Secrets: []provider.SecretInfo{secret("k1", provider.StatusActive, 100*day, 80*day)}},
			{ClientID: "app-2", Name: "payroll|x", Secrets: []provider.SecretInfo{secret("k9", provider.StatusActive, 700*day, 5*day+time.Hour)}},
		}},
		{Type: "okta", Err: errors.New("okta list: forbidden")},
		{Type: "equifax", Unsupported: true},
	}
	inv := Build(now, managed, scopes)
	if len(inv.Rows) != 4 {
		t.Fatalf("%d rows, want 4 (kf, k9, k1, the unreadable key): %+v", len(inv.Rows), inv.Rows)
	}
	if r := inv.Rows[0]; r.SecretID != "kf" || r.Managed || r.ProviderKey != "" || r.Adopt != "" || r.ClientID != "app-1" || !strings.Contains(r.Name, "entra.billing") || *r.DaysLeft != 3 {
		t.Errorf("the foreign secret of a managed client is %+v, want an unmanaged row with nothing to adopt", r)
	}
	first := inv.Rows[1]
	if first.SecretID != "k9" || first.Managed || *first.DaysLeft != 5 || *first.AgeDays != 700 || !strings.Contains(first.Adopt, "credrotate adopt --provider-key entra.app-2") {
		t.Errorf("the soonest listed row is %+v", first)
	}
	if r := inv.Rows[2]; r.SecretID != "k1" || !r.Managed || r.ProviderKey != "entra.billing" {
		t.Errorf("the managed row is %+v (a listed client that is configured must not appear twice)", r)
	}
	if r := inv.Rows[3]; r.Error == "" || r.ProviderKey != "equifax.c1" {
		t.Errorf("the key that could not be read is %+v", r)
	}
	if len(inv.Problems) != 2 {
		t.Errorf("problems %v, want the unreadable key and the failed okta listing", inv.Problems)
	}
	if n := inv.Expiring(14 * day); n != 2 {
		t.Errorf("expiring within 14 days: %d, want 2", n)
	}

	var md, tab, js bytes.Buffer
	if err := inv.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `payroll\|x`) || strings.Count(md.String(), "\n| ") != 5 {
		t.Errorf("markdown does not escape a name's pipe or has the wrong rows:\n%s", md.String())
	}
	if err := inv.Table(&tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "app-2 (payroll|x)") || !strings.Contains(tab.String(), "problem: listing okta") {
		t.Errorf("table:\n%s", tab.String())
	}
	if err := inv.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"daysLeft": 5`) || !strings.Contains(js.String(), `"managed": false`) {
		t.Errorf("json:\n%s", js.String())
	}
}

func TestBuildWithoutExpirySortsLast(t *testing.T) {
	t.Parallel()
	inv := Build(now, nil, []Scope{{Type: "gcpkey", Clients: []provider.Listed{{ClientID: "sa@p.iam.gserviceaccount.com", Secrets: []provider.SecretInfo{
		{SecretID: "never", Status: provider.StatusActive, CreatedAt: now.Add(-day)},
		secret("soon", provider.StatusActive, day, 2*day),
	}}}}})
	if len(inv.Rows) != 2 || inv.Rows[0].SecretID != "soon" || inv.Rows[1].DaysLeft != nil {
		t.Fatalf("rows %+v", inv.Rows)
	}
}
