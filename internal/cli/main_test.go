package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/credential"
)

// runCmd runs the program with args and returns stdout, stderr and the exit code.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := runCmd(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "credrotate ") || !strings.Contains(out, "commit") {
		t.Fatalf("version: code %d, out %q", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"version", "extra"},
		{"--no-such-flag"},
		{"config", "validate", "--config", "/nonexistent/credrotate.yaml"},
		{"config", "validate", "--config", "../../pkg/config/testdata/five-mistakes.yaml"},
		{"config", "validate", "--config", "../../pkg/config/testdata/good.yaml", "--log-level", "loud"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runCmd(t, "", args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if stderr == "" {
				t.Fatal("no message on stderr")
			}
		})
	}
}

func TestConfigValidateGood(t *testing.T) {
	out, stderr, code := runCmd(t, "", "config", "validate", "--config", goodFixture(t, "value", nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "equifax.unique_client_id") || !strings.Contains(out, "Secret values are never printed") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestConfigSetOverrides(t *testing.T) {
	good := goodFixture(t, "value", nil)
	out, stderr, code := runCmd(t, "", "config", "validate", "--config", good, "--set", "equifax.concurrency=3", "--set", "equifax.enableClientSecretRenewal=false")
	if code != 0 || !strings.Contains(out, "concurrency: 3") || !strings.Contains(out, "enableClientSecretRenewal: false") {
		t.Fatalf("exit %d, out:\n%s\n%s", code, out, stderr)
	}
	_, stderr, code = runCmd(t, "", "config", "validate", "--config", good, "--set", "equifax.concurency=3")
	if code != exitUsage || !strings.Contains(stderr, "equifax.concurency is not a known configuration key") {
		t.Fatalf("a misspelt --set key: exit %d\n%s", code, stderr)
	}
}

func TestConfigValidateNamesAllFive(t *testing.T) {
	_, stderr, code := runCmd(t, "", "config", "validate", "--config", "../../pkg/config/testdata/five-mistakes.yaml")
	if code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	for _, key := range []string{"github.autoMerge.strategy", "equifax.renewBefore", "equifax.concurrencyy", "providers[0].currentSecret", "providers[1].key", "environments[0].cert"} {
		if !strings.Contains(stderr, key) {
			t.Errorf("stderr does not name %s:\n%s", key, stderr)
		}
	}
}

// TestCanaryNeverPrinted pushes one canary secret through every path a
// secret could leak by: the configuration (an environment variable it names
// and a current-secret file), log fields in both formats, errors and the
// printed configuration. It fails if any of the Secret type's redactions is
// removed.
func TestCanaryNeverPrinted(t *testing.T) {
	const canary = "CANARY-7f3a9c-never-print-me"
	cfgFile := goodFixture(t, canary, nil)
	t.Setenv("GITHUB_TOKEN", canary)

	var all bytes.Buffer
	out, stderr, code := runCmd(t, "", "config", "validate", "--config", cfgFile)
	if code != 0 {
		t.Fatalf("config validate: %d %s", code, stderr)
	}
	all.WriteString(out + stderr)

	secret := credential.NewSecret(canary)
	type renewed struct {
		ID     string
		Secret credential.Secret
	}
	for _, format := range []string{"json", "text"} {
		var logs bytes.Buffer
		a := &app{stderr: &logs, logLevel: "debug", logFormat: format}
		log, err := a.newLogger("trace-1")
		if err != nil {
			t.Fatal(err)
		}
		wrapped := fmt.Errorf("renewing equifax.x: %w", fmt.Errorf("server said no to %v", secret))
		log.WithField("secret", secret).
			WithField("result", renewed{ID: "s-1", Secret: secret}).
			WithField("ptr", &secret).
			WithError(wrapped).
			Error("renew failed")
		log.Infof("new secret %s (%q, %+v, %#v)", secret, secret, renewed{Secret: secret}, secret)
		if !strings.Contains(logs.String(), "trace-1") {
			t.Errorf("%s logs lack the trace id: %s", format, logs.String())
		}
		if !strings.Contains(logs.String(), credential.Redacted) {
			t.Errorf("%s logs do not show the redaction: %s", format, logs.String())
		}
		all.Write(logs.Bytes())
	}
	if strings.Contains(all.String(), canary) {
		t.Fatalf("the canary secret leaked:\n%s", all.String())
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(nil, io.Discard) != 0 {
		t.Fatal("nil is not 0")
	}
	if exitCode(errors.New("boom"), io.Discard) != exitFailure {
		t.Fatal("plain error is not 1")
	}
	if exitCode(fmt.Errorf("wrapped: %w", usageErrorf("bad")), io.Discard) != exitUsage {
		t.Fatal("wrapped usage error is not 2")
	}
}
