package cli

import "errors"

// errNoKeyChoice is a bare `renew`: without a choice of keys it renews
// nothing rather than guess between the scheduled run and renewing
// everything by hand.
var errNoKeyChoice = errors.New("renew needs to know which keys to renew, and renews nothing without it: " +
	"use --cron-mode (the scheduled run: only keys inside their renewal window), " +
	"--provider-key KEY (renew that key now; repeatable) or --all (renew every configured key now)")

// checkKeyChoice refuses a renew that does not say which keys it is for,
// and one that says two contradictory things.
func (f renewFlags) checkKeyChoice() error {
	if f.all && len(f.keys) > 0 {
		return usageErrorf("--all and --provider-key contradict each other: use --all for every configured key, or --provider-key for the named ones")
	}
	if !f.cronMode && !f.all && len(f.keys) == 0 {
		return usageError(errNoKeyChoice)
	}
	return nil
}
