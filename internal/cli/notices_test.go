package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// TestExpiryNoticeOncePerThreshold: a managed key whose rotation waits for
// a merge nobody does, with 5 days left, gets one notice (the 7-day
// threshold), not one per run; a key whose rotation fails has its own alert
// and no notice besides.
func TestExpiryNoticeOncePerThreshold(t *testing.T) {
	w := startDemo(t, demo.Options{Keys: 1, ExpiresIn: 5 * 24 * time.Hour})
	notices := func() (open, all int, title string) {
		for _, is := range w.Hub.Issues() {
			if strings.Contains(is.Body, "credrotate:alert key=expiry%3A") {
				all++
				if is.State == "open" {
					open++
					title = is.Title
				}
			}
		}
		return
	}
	for run := 1; run <= 2; run++ {
		if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath, "--set", "github.autoMerge.enabled=false"); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", run, code, stderr)
		}
		open, all, title := notices()
		if open != 1 || all != 1 || !strings.Contains(title, "expires in 4 days") && !strings.Contains(title, "expires in 5 days") {
			t.Fatalf("run %d: %d open notices of %d, title %q; want one, raised once", run, open, all, title)
		}
	}

	failing := startDemo(t, demo.Options{Keys: 1, ExpiresIn: 5 * 24 * time.Hour})
	failing.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultUnavailable, Count: 100})
	if _, _, code := runCmd(t, "", "renew", "--cron-mode", "--config", failing.ConfigPath); code == 0 {
		t.Fatal("the renew succeeded though the provider refuses it")
	}
	for _, is := range failing.Hub.Issues() {
		if strings.Contains(is.Body, "credrotate:alert key=expiry%3A") {
			t.Errorf("a failing key got an expiry notice besides its alert: %q", is.Title)
		}
	}
}
