package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// TestExpiryNoticeOncePerThreshold: a managed key whose rotation keeps
// failing with 5 days left gets one notice (the 7-day threshold), not one
// per run; once it is rotated, the notice is resolved.
func TestExpiryNoticeOncePerThreshold(t *testing.T) {
	w := startDemo(t, demo.Options{Keys: 1, ExpiresIn: 5 * 24 * time.Hour})
	w.Emulator.Script(emulator.Fault{Op: emulator.OpRenew, Kind: emulator.FaultUnavailable, Count: 100})
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
		if _, _, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath); code == 0 {
			t.Fatalf("run %d: the renew succeeded though the provider refuses it", run)
		}
		open, all, title := notices()
		if open != 1 || all != 1 || !strings.Contains(title, "expires in 4 days") && !strings.Contains(title, "expires in 5 days") {
			t.Fatalf("run %d: %d open notices of %d, title %q; want one, raised once", run, open, all, title)
		}
	}
	w.Emulator.ClearFaults()
	if _, stderr, code := runCmd(t, "", "renew", "--cron-mode", "--config", w.ConfigPath); code != 0 {
		t.Fatalf("the rotation: exit %d\n%s", code, stderr)
	}
	if open, all, _ := notices(); open != 0 || all != 1 {
		t.Fatalf("after the rotation: %d open notices of %d; want it resolved", open, all)
	}
}
