package gitops

import "github.com/credrotate/credrotate/pkg/seal"

// The sealing step writes straight through the workspace, and through the
// FS that Publish hands to Apply.
var (
	_ seal.FS = (*Workspace)(nil)
	_ seal.FS = FS(nil)
)
