package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/config"
)

// TestChecksReadTheManagementIdentities: config validate looks at where each
// provider type's management credential is read from, as it does for the
// current secrets.
func TestChecksReadTheManagementIdentities(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.LoadOptions{Path: "../../examples/configs/entra.yaml", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var r checkReport
	checkSecretSources(context.Background(), cfg, checkOptions{lookupEnv: func(string) (string, bool) { return "", false }}, &r)
	found := false
	for _, p := range r.problems {
		if strings.HasPrefix(p.Key, "entra.management.clientSecret") {
			found = true
			if !strings.Contains(p.Fix, "client secret") {
				t.Errorf("the fix does not say what belongs there: %+v", p)
			}
		}
	}
	if !found {
		t.Errorf("no problem for the unreadable management secret: %+v", r.problems)
	}
}
