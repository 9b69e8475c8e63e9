// Command openapi3 writes the OpenAPI 3.1 document of casework.v1 from the
// OpenAPI v2 document protoc-gen-openapiv2 generates and the proto image
// (`make image`). The v2 generator knows the HTTP bindings and the JSON
// mapping; the descriptors know what it cannot express: which fields are
// output-only or input-only, which calls take a request id or an etag, the
// comments that become summaries, and the ErrorReason enum. `make generate`
// runs it; its output is never edited by hand.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	v2 := flag.String("v2", "api/openapi/casework.swagger.json", "the OpenAPI v2 document")
	image := flag.String("image", "", "the proto image (a FileDescriptorSet with source info)")
	out := flag.String("o", "api/openapi/casework.openapi.json", "the OpenAPI 3.1 document to write")
	flag.Parse()
	if *image == "" {
		fmt.Fprintln(os.Stderr, "openapi3: -image is required")
		os.Exit(2)
	}
	if err := run(*v2, *image, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi3:", err)
		os.Exit(1)
	}
}

func run(v2Path, imagePath, out string) error {
	api, err := loadAPI(imagePath)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(v2Path)
	if err != nil {
		return err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		return fmt.Errorf("%s: %w", v2Path, err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return fmt.Errorf("converting to OpenAPI 3: %w", err)
	}
	if err := refine(doc, &doc2, api); err != nil {
		return err
	}
	// One space a level: the document is read by tools, and two spaces
	// took it past 2 MiB.
	body, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return err
	}
	// Validated as a reader loads it: with every reference resolved.
	loaded, err := openapi3.NewLoader().LoadFromData(body)
	if err == nil {
		err = loaded.Validate(context.Background())
	}
	if err != nil {
		return fmt.Errorf("the generated document is not valid OpenAPI 3.1: %w", err)
	}
	// The model escapes <, > and & for HTML; the document is not HTML, and
	// `Bearer <token>` should read as written.
	body = bytes.ReplaceAll(body, []byte(`\u003c`), []byte("<"))
	body = bytes.ReplaceAll(body, []byte(`\u003e`), []byte(">"))
	body = bytes.ReplaceAll(body, []byte(`\u0026`), []byte("&"))
	return os.WriteFile(out, append(body, '\n'), 0o644)
}
