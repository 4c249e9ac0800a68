package cli

import (
	"fmt"
	"io"

	"github.com/credrotate/credrotate/pkg/config"
)

// checkEmergency refuses --emergency unless it names exactly one key by hand.
func checkEmergency(f renewFlags) error {
	if !f.emergency {
		return nil
	}
	if len(f.keys) != 1 {
		return usageErrorf("--emergency needs exactly one --provider-key (got %d): name the key whose secret leaked", len(f.keys))
	}
	if f.cronMode {
		return usageErrorf("--emergency renews now and cannot be combined with --cron-mode")
	}
	return nil
}

// printConfigWarnings prints what `config validate` thinks worth a look in
// a valid configuration.
func printConfigWarnings(w io.Writer, cfg *config.Config) {
	for _, msg := range cfg.Warnings() {
		_, _ = fmt.Fprintln(w, "warning: "+msg)
	}
}
