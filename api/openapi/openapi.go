// Package openapi embeds the generated OpenAPI documents of casework.v1, so
// the server can serve them: the 3.1 document at /openapi.json and the v2
// one at /openapi-v2.json.
package openapi

import _ "embed"

// V3 is the OpenAPI 3.1 document that tools/openapi3 wrote beside this file.
//
//go:embed casework.openapi.json
var V3 []byte

// V2 is the OpenAPI v2 document that protoc-gen-openapiv2 wrote beside this
// file.
//
//go:embed casework.swagger.json
var V2 []byte
