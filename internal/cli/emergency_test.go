package cli

import (
	"strings"
	"testing"
)

// TestEmergencyNeedsOneKey: --emergency without exactly one --provider-key,
// or with --cron-mode, is a usage error, before the configuration is read.
func TestEmergencyNeedsOneKey(t *testing.T) {
	t.Parallel()
	good := "../../pkg/config/testdata/good.yaml"
	for _, args := range [][]string{
		{"renew", "--emergency", "--config", good},
		{"renew", "--emergency", "--provider-key", "a", "--provider-key", "b", "--config", good},
		{"renew", "--emergency", "--cron-mode", "--provider-key", "equifax.unique_client_id", "--config", good},
	} {
		_, stderr, code := runCmd(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, "--emergency") {
			t.Errorf("%v: exit %d, want 2 with a message about --emergency; stderr: %s", args, code, stderr)
		}
	}
}

// TestConfigValidateWarnsAboutShortGrace: a week of grace on a weekly
// schedule is valid but warned about.
func TestConfigValidateWarnsAboutShortGrace(t *testing.T) {
	_, stderr, code := runCmd(t, "", "config", "validate", "--config", goodFixture(t, "value", nil))
	if code != 0 || !strings.Contains(stderr, "warning: rotation.gracePeriod") {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
}
