// Package openapi embeds the generated OpenAPI v2 document of casework.v1, so
// the server can serve it at /openapi.json.
package openapi

import _ "embed"

// JSON is the OpenAPI document that protoc-gen-openapiv2 wrote beside this file.
//
//go:embed casework.swagger.json
var JSON []byte
