package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/mocksafe"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/notify"
)

// TestCommandLineHidesSetValues: the pull request body shows which keys a
// run overrode, never the values (finding 7).
func TestCommandLineHidesSetValues(t *testing.T) {
	t.Parallel()
	got := commandLine([]string{"--set", "equifax.clientSecret=hunter2hunter2", "renew", "--set=github.token=ghp_abcdefgh", "--provider-key", "equifax.a", "--set", "novalue"})
	want := "credrotate --set equifax.clientSecret=[REDACTED] renew --set=github.token=[REDACTED] --provider-key equifax.a --set [REDACTED]"
	if got != want {
		t.Fatalf("commandLine = %q\nwant          %q", got, want)
	}
	if strings.Contains(got, "hunter2") || strings.Contains(got, "ghp_") {
		t.Fatal("a --set value reached the command line")
	}
	if got := commandLine([]string{"renew", "--cron-mode"}); got != "credrotate renew --cron-mode" {
		t.Fatalf("plain command changed: %q", got)
	}
}

// TestStreamsAndErrorsAreMasked: what a command writes to stdout and
// stderr, and the error run returns (which main prints), go through the
// run's redactor.
func TestStreamsAndErrorsAreMasked(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &errb)
	a.red.Add("canary-0123456789")
	_, _ = a.stdout.Write([]byte(`{"error": "client_secret canary-0123456789 is not valid"}`))
	_, _ = a.stderr.Write([]byte("level=warn error=\"Y2FuYXJ5LTAxMjM0NTY3ODk=\"\n"))
	err := a.maskError(usageErrorf("bad: %s", "canary-0123456789"))
	for _, s := range []string{out.String(), errb.String(), err.Error()} {
		if strings.Contains(s, "canary-0123456789") || strings.Contains(s, "Y2FuYXJ5LTAxMjM0NTY3ODk") || !strings.Contains(s, credential.Redacted) {
			t.Errorf("not masked: %q", s)
		}
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("masking lost the exit code: %v", err)
	}
	if a.maskError(errSilentFailure) != errSilentFailure {
		t.Fatal("the silent failure must stay itself")
	}
}

// TestProviderRegistersSecrets: every secret that passes through the
// provider decorator (credentials, Basic headers, access tokens, minted
// secrets) is masked afterwards. It runs over the mock-safe provider on
// the emulator, as a run with renewal switched off does.
func TestProviderRegistersSecrets(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Options{})
	const current = "current-secret-value-0001"
	if _, err := emu.SeedClient("0oaredact", current, emu.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	red := redact.New()
	c, err := rest.New(rest.Options{BaseURL: srv.URL, SecretSeen: red.AddSecret})
	if err != nil {
		t.Fatal(err)
	}
	p := redactProvider(equifax.AsProvider(mocksafe.New(c, mocksafe.Options{}), ""), red)
	creds := equifax.Credentials{ClientID: "0oaredact", ClientSecret: credential.NewSecret(current)}
	tok, err := c.Token(context.Background(), creds, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(context.Background(), creds, creds.ClientSecret); err != nil {
		t.Fatal(err)
	}
	res, err := p.Create(context.Background(), creds, equifax.RenewRequest{IdempotencyKey: "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"current": current, "token": tok.AccessToken.Reveal(), "minted": res.ClientSecret.Reveal()} {
		if got := red.String("x " + v + " y"); strings.Contains(got, v) {
			t.Errorf("the %s secret is not masked: %q", name, got)
		}
	}
}

func TestNotifierAndMetricsAreMasked(t *testing.T) {
	t.Parallel()
	red := redact.New()
	red.Add("leaky-secret-id-123")
	var got notify.Event
	n := redactingNotifier{n: notifierFunc(func(_ context.Context, e notify.Event) error { got = e; return nil }), red: red}
	if err := n.Notify(context.Background(), notify.Event{Summary: []string{"k: renewed leaky-secret-id-123"}, PRURL: "http://x/leaky-secret-id-123"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.Text(), "leaky") {
		t.Errorf("notice not masked: %s", got.Text())
	}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x", Help: "h"}, []string{"secret_id"})
	reg.MustRegister(g)
	g.WithLabelValues("leaky-secret-id-123").Set(1)
	path := filepath.Join(t.TempDir(), "m.prom")
	if err := writeTextfile(path, reg, red); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.Contains(string(b), "leaky") || !strings.Contains(string(b), "x{secret_id=") {
		t.Fatalf("metrics %q (%v)", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

type notifierFunc func(context.Context, notify.Event) error

func (f notifierFunc) Notify(ctx context.Context, e notify.Event) error { return f(ctx, e) }
