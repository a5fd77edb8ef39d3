// Package spec holds the wire contract orgauth implements: the Palette v1 identity
// API, OpenAPI 2.0. Tests validate every response against it.
package spec

import _ "embed"

// PaletteIdentityV1 is the OpenAPI 2.0 document, as JSON.
//
//go:embed palette-identity-v1.json
var PaletteIdentityV1 []byte
