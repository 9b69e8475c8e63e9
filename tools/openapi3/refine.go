package main

import (
	"fmt"
	pathpkg "path"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const schemaRef = "#/components/schemas/"

// refine turns the converted document into the one we publish.
func refine(doc *openapi3.T, doc2 *openapi2.T, api *protoAPI) error {
	doc.OpenAPI = "3.1.0"
	// Relative: the document is served by the server it describes.
	doc.Servers = openapi3.Servers{{URL: "/", Description: "The server that serves this document at /openapi.json."}}
	if doc.Info.License != nil {
		// 3.1 lets a license be named without a URL by an SPDX reference.
		doc.Info.License.Identifier = "LicenseRef-Proprietary"
	}
	bearer := doc2.SecurityDefinitions["bearer"]
	if bearer == nil {
		return fmt.Errorf("the v2 document has no bearer security definition")
	}
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{"bearer": {Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer", Description: bearer.Description,
	}}}

	schemas := doc.Components.Schemas
	names := map[string]bool{}
	for n := range schemas {
		names[n] = true
	}
	decls := api.schemaNames(names)
	for n, d := range decls {
		if md, ok := d.(protoreflect.MessageDescriptor); ok {
			applyFields(schemas[n].Value, md)
		}
	}
	addErrorSchemas(schemas, api)
	doc.Components.Headers = responseHeaders()
	ex := &exampler{schemas: schemas, decls: decls, api: api, written: map[*openapi3.Schema]map[string]any{}}
	for _, s := range schemas {
		// One written in the proto (openapiv2_schema) wins, in 3.1's form.
		if x, ok := s.Value.Example.(map[string]any); ok {
			ex.written[s.Value] = x
			s.Value.Examples, s.Value.Example = []any{x}, nil
		}
	}

	paths := openapi3.NewPaths()
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		path, renames := readablePath(path, api)
		for method, op := range item.Operations() {
			m := api.methods[op.OperationID]
			if m == nil {
				// protoc-gen-openapiv2 numbers a method's additional
				// bindings (BatchGetHouseholds2 is its POST form).
				m = api.methods[strings.TrimRight(op.OperationID, "0123456789")]
			}
			if m == nil {
				return fmt.Errorf("%s %s: operation %q is no method of %s", method, path, op.OperationID, pkg)
			}
			for _, p := range op.Parameters {
				if to, ok := renames[p.Value.Name]; ok && p.Value.In == "path" {
					p.Value.Name = to
				}
			}
			op.Parameters = dropLiteralParams(op.Parameters, path)
			if err := refineOperation(op, method, path, m, ex); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		paths.Set(path, item)
	}
	doc.Paths = paths
	if err := addUploads(doc, api, ex); err != nil {
		return err
	}
	// Every file answer is described as binary above; a streamed one
	// (DownloadAttachment) left HttpBody behind as a schema no one uses.
	delete(schemas, "HttpBody")

	for n, s := range schemas {
		if s.Value == nil || !s.Value.Type.Is("object") || len(s.Value.Properties) == 0 {
			continue
		}
		// A schema's example is checked against the schema alone, with no
		// request or answer to leave fields out for: it shows every field.
		if len(s.Value.Examples) == 0 {
			s.Value.Examples = []any{ex.example(&openapi3.SchemaRef{Ref: schemaRef + n}, both, 0)}
		}
	}
	return nil
}

// applyFields marks output-only fields readOnly and input-only ones (a
// webhook's secret) writeOnly. A property that is a $ref carries the marks
// beside an allOf, as 3.1 allows.
func applyFields(s *openapi3.Schema, md protoreflect.MessageDescriptor) {
	if s == nil {
		return
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		prop := s.Properties[fd.JSONName()]
		if prop == nil {
			continue
		}
		b := behaviors(fd)
		ro, wo := b[annotations.FieldBehavior_OUTPUT_ONLY], b[annotations.FieldBehavior_INPUT_ONLY]
		if !ro && !wo {
			continue
		}
		if prop.Ref != "" {
			prop = &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{{Ref: prop.Ref}}, Description: comment(fd)}}
			s.Properties[fd.JSONName()] = prop
		}
		// A required field that is writeOnly is required in requests only,
		// and one that is readOnly in answers only (OpenAPI 3.1, 4.8.24).
		prop.Value.ReadOnly, prop.Value.WriteOnly = ro, wo
	}
}

var slashedParam = regexp.MustCompile(`([A-Za-z]+)/\{([A-Za-z]+)\}`)

// readablePath names each path variable as the resource pattern does
// ("policies/{policy}"); the v2 generator singularises by dropping an "s"
// ("{policie}"). It returns the renamed parameters.
func readablePath(path string, api *protoAPI) (string, map[string]string) {
	renames := map[string]string{}
	path = slashedParam.ReplaceAllStringFunc(path, func(seg string) string {
		m := slashedParam.FindStringSubmatch(seg)
		pattern, ok := api.collections[m[1]]
		if !ok {
			return seg
		}
		parts := strings.Split(pattern, "/")
		want := strings.Trim(parts[len(parts)-1], "{}")
		want = lowerCamel(want)
		if want != m[2] {
			renames[m[2]] = want
		}
		return m[1] + "/{" + want + "}"
	})
	return path, renames
}

func lowerCamel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// refineOperation gives an operation its words, its PATCH body's real
// requirements, its examples and the errors and headers it can answer.
func refineOperation(op *openapi3.Operation, method, path string, m protoreflect.MethodDescriptor, ex *exampler) error {
	op.Summary, op.Description = words(m)
	kind := kindOf(m, path)

	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return fmt.Errorf("a request body that is not JSON")
		}
		if mt.Schema.Ref == "" {
			applyFields(mt.Schema.Value, bodyMessage(m))
			// An inline body copies the resource's example, fields taken
			// from the path included; the body's own example follows.
			mt.Schema.Value.Example = nil
		}
		if kind.update {
			patchBody(mt.Schema, ex.schemas)
		}
		mt.Example = ex.example(mt.Schema, write, 0)
	}
	if ok := op.Responses.Value("200"); ok != nil && ok.Value != nil {
		ok.Value.Description = ptr(answerWords(m))
		if m.Output().FullName() == httpBody {
			// The answer is the body itself (a file), not JSON.
			ok.Value.Description = ptr("The file itself, as " + fileMediaType(path) + ".")
			ok.Value.Content = openapi3.Content{fileMediaType(path): &openapi3.MediaType{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{
				Type: &openapi3.Types{openapi3.TypeString}, Format: "binary",
			}}}}
		}
		if mt := ok.Value.Content.Get("application/json"); mt != nil {
			mt.Example = ex.example(mt.Schema, read, 0)
		}
		ok.Value.Headers = openapi3.Headers{"X-Request-Id": {Ref: "#/components/headers/X-Request-Id"}}
		if kind.requestID {
			ok.Value.Headers["Idempotent-Replay"] = &openapi3.HeaderRef{Ref: "#/components/headers/Idempotent-Replay"}
			ok.Value.Headers["Grpc-Metadata-Idempotent-Replay"] = &openapi3.HeaderRef{Ref: "#/components/headers/Grpc-Metadata-Idempotent-Replay"}
		}
	}
	for _, code := range op.Responses.Keys() {
		if code != "200" {
			op.Responses.Delete(code)
		}
	}
	for _, e := range errorResponses(kind, op.RequestBody != nil) {
		op.Responses.Set(e.code, &openapi3.ResponseRef{Value: e.response()})
	}
	return nil
}

// httpBody is the message a method answers with to send a file as is.
const httpBody = "google.api.HttpBody"

// fileMediaTypes are the media types of the files methods answer with, by
// the path's extension: a fixed table, as the system's differs by machine.
var fileMediaTypes = map[string]string{
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".csv":  "text/csv",
	".pdf":  "application/pdf",
}

// fileMediaType is the media type of the file a path serves.
func fileMediaType(path string) string {
	if t, ok := fileMediaTypes[pathpkg.Ext(path)]; ok {
		return t
	}
	return "application/octet-stream"
}

// patchBody makes an update's body require what the server requires: the
// etag, which it compares, and none of the fields a create requires, since
// an update changes only the fields it names.
func patchBody(ref *openapi3.SchemaRef, schemas openapi3.Schemas) {
	s := ref.Value
	if ref.Ref != "" {
		s = schemas[strings.TrimPrefix(ref.Ref, schemaRef)].Value
	}
	s.Required = nil
	if etag := s.Properties["etag"]; etag != nil {
		etag.Value.ReadOnly = false
		etag.Value.Description = "The etag of the resource as last read; a stale one is refused with 409 ETAG_MISMATCH."
		s.Required = []string{"etag"}
	}
}

// opKind is what a method's shape says about the errors it can answer.
type opKind struct {
	requestID bool // takes a request id (AIP-155): may be refused as reused
	etag      bool // compares an etag: may be refused as stale
	creates   bool // makes a resource that may already exist
	update    bool // a standard Update: PATCH with a field mask
	finds     bool // names resources that may be missing
}

func kindOf(m protoreflect.MethodDescriptor, path string) opKind {
	in := m.Input()
	name := string(m.Name())
	k := opKind{
		requestID: in.Fields().ByName("request_id") != nil,
		update:    strings.HasPrefix(name, "Update"),
		creates:   strings.HasPrefix(name, "Create") || strings.HasPrefix(name, "BatchCreate") || strings.HasPrefix(name, "Undelete"),
	}
	k.etag = in.Fields().ByName("etag") != nil || k.update && bodyMessage(m).Fields().ByName("etag") != nil
	k.finds = strings.Contains(path, "{") || strings.HasPrefix(name, "BatchGet") || strings.HasPrefix(name, "Lookup") ||
		refersToResource(bodyMessage(m), 1)
	return k
}

// words is an operation's summary (its comment's first sentence, or its
// first clause when the sentence is long) and description (the whole
// comment). A method without a comment is a standard method, described as
// AIP-131..135 define it.
func words(m protoreflect.MethodDescriptor) (summary, description string) {
	c := strings.Join(strings.Fields(comment(m)), " ")
	if c == "" {
		c = standardWords(m)
	}
	summary = c
	if i := strings.Index(c, ". "); i > 0 {
		summary = c[:i+1]
	}
	if len(summary) > 100 {
		if i := strings.IndexAny(summary, ":;"); i >= 15 && i <= 100 {
			summary = strings.TrimSpace(summary[:i]) + "."
		} else {
			summary = capitalize(splitName(string(m.Name()))) + "."
		}
	}
	return summary, c
}

// standardWords describes a method that has no comment by its verb and
// the resource it names ("GetApiKey": "Gets an api key by name.").
func standardWords(m protoreflect.MethodDescriptor) string {
	name := string(m.Name())
	for _, w := range []struct{ verb, text string }{
		{"Get", "Gets %s by name. The answer carries the resource's current etag."},
		{"Create", "Creates %s. A request id makes the call safe to retry."},
		{"Update", "Updates the fields of %s that the body sends (or updateMask names). The etag must match the stored one."},
		{"Delete", "Deletes %s."},
		{"Undelete", "Brings back %s that was deleted."},
	} {
		if noun, ok := strings.CutPrefix(name, w.verb); ok {
			return fmt.Sprintf(w.text, article(splitName(noun)))
		}
	}
	if noun, ok := strings.CutPrefix(name, "List"); ok {
		return "Lists " + splitName(noun) + ". A page at a time: pass the answer's nextPageToken as pageToken for the next page."
	}
	return capitalize(splitName(name)) + "."
}

// answerWords describes a successful answer.
func answerWords(m protoreflect.MethodDescriptor) string {
	out := m.Output()
	switch {
	case out.FullName() == "google.protobuf.Empty":
		return "Done; the body is an empty object."
	case strings.HasPrefix(string(m.Name()), "List"):
		return "A page of " + splitName(strings.TrimPrefix(string(m.Name()), "List")) + "."
	}
	return "The " + splitName(string(out.Name())) + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func splitName(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dropLiteralParams removes the path parameters that path has no variable
// for: a singleton's name bound to a literal ("/v1/{name=contactPolicy}"
// is the path "/v1/contactPolicy"), which the client cannot choose.
func dropLiteralParams(params openapi3.Parameters, path string) openapi3.Parameters {
	out := params[:0]
	for _, p := range params {
		if p.Value != nil && p.Value.In == "path" && !strings.Contains(path, "{"+p.Value.Name+"}") {
			continue
		}
		out = append(out, p)
	}
	return out
}
