// Package providers holds the example descriptions of the declarative http
// provider (docs/providers.md), embedded so that the sandbox's demo runs
// the very files this folder ships.
package providers

import "embed"

// Files are the descriptions and their OpenAPI documents, with the
// licence of Okta's.
//
//go:embed *.yaml okta.openapi.LICENSE
var Files embed.FS
