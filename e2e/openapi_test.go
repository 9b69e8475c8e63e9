package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/openapi"
)

// TestOpenAPIComplete holds the OpenAPI v2 document to what a frontend vendor
// needs to generate a client from it: every HTTP binding of every RPC is a
// path, every operation names the bearer scheme and types its errors as
// google.rpc.Status, and enums are listed by name.
func TestOpenAPIComplete(t *testing.T) {
	var doc struct {
		SecurityDefinitions map[string]any `json:"securityDefinitions"`
		Security            []map[string]any
		Paths               map[string]map[string]struct {
			OperationID string                    `json:"operationId"`
			Responses   map[string]map[string]any `json:"responses"`
		} `json:"paths"`
		Definitions map[string]struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(openapi.V2, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if doc.SecurityDefinitions["bearer"] == nil || len(doc.Security) == 0 {
		t.Errorf("no bearer security scheme applied to the API")
	}
	ops := map[string]bool{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			ops[strings.ToUpper(method)+" "+normalizePath(path)] = true
			for _, code := range []string{"400", "401", "403", "404", "409", "429", "503", "default"} {
				r, ok := op.Responses[code]
				if !ok {
					t.Errorf("%s %s: no %s response", method, path, code)
					continue
				}
				if ref, _ := r["schema"].(map[string]any)["$ref"].(string); ref != "#/definitions/Status" {
					t.Errorf("%s %s: %s answer is not a google.rpc.Status", method, path, code)
				}
			}
		}
	}
	bindings := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("casework.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			ms := fd.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				rule, _ := proto.GetExtension(ms.Get(j).Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue // gRPC only (WatchEvents)
				}
				bindings++
				method, path := httpRule(rule)
				if !ops[method+" "+normalizePath(path)] {
					t.Errorf("%s (%s %s) is missing from the OpenAPI document", ms.Get(j).FullName(), method, path)
				}
			}
		}
		return true
	})
	if bindings < 40 {
		t.Errorf("only %d HTTP bindings found", bindings)
	}
	for _, name := range []string{"CaseStatus", "WebhookState", "View"} {
		if d, ok := doc.Definitions[name]; !ok || len(d.Enum) == 0 || d.Enum[0] == "0" {
			t.Errorf("enum %s is not listed by name: %+v", name, d)
		}
	}
}

func httpRule(r *annotations.HttpRule) (string, string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	}
	return "", ""
}

var (
	pathParam    = regexp.MustCompile(`\{[^}=]*\}`)
	pathTemplate = regexp.MustCompile(`\{[^}=]*=([^}]*)\}`)
)

// normalizePath compares paths by shape: every variable is "{}", and a
// proto template's variable pattern is expanded as the document writes it
// ("{name=cases/*}" is "cases/{}", as "/v1/cases/{case}" is).
func normalizePath(p string) string {
	p = pathTemplate.ReplaceAllStringFunc(p, func(v string) string {
		return strings.ReplaceAll(pathTemplate.FindStringSubmatch(v)[1], "*", "{}")
	})
	return pathParam.ReplaceAllString(p, "{}")
}

// TestOpenAPI3Contract holds the OpenAPI 3.1 document to what issue 12 asks
// of it, so that a change to the generator or the protos that loses one of
// these fails here rather than in a vendor's build.
func TestOpenAPI3Contract(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapi.V3, &doc); err != nil {
		t.Fatalf("the OpenAPI 3.1 document is not JSON: %v", err)
	}
	get := func(v any, path ...string) any {
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		return v
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi is %v, want 3.1.0", doc["openapi"])
	}
	if strings.Contains(string(openapi.V3), `"nullable"`) {
		t.Errorf("the 3.1 document uses nullable, which 3.1 has not")
	}
	if get(doc, "info", "license", "name") == nil || get(doc, "info", "contact", "name") == nil {
		t.Errorf("info has no license or no contact")
	}
	bearer := get(doc, "components", "securitySchemes", "bearer")
	if get(bearer, "type") != "http" || get(bearer, "scheme") != "bearer" ||
		!strings.Contains(fmt.Sprint(get(bearer, "description")), "casework token") {
		t.Errorf("bearer scheme is %v; want type http, scheme bearer, and how to get a token", bearer)
	}

	schemas, _ := get(doc, "components", "schemas").(map[string]any)
	for _, name := range []string{"Status", "ErrorInfo", "BadRequest", "PreconditionFailure", "RetryInfo", "ErrorReason"} {
		if schemas[name] == nil {
			t.Errorf("no %s schema", name)
		}
	}
	if get(schemas, "FieldViolation", "properties", "reason") == nil {
		t.Errorf("a field violation has no reason")
	}
	// The ErrorReason schema lists the proto enum's values when the protos
	// have it, and nothing when they do not.
	var reasons []any
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName("casework.v1.ErrorReason"); err == nil {
		vals := d.(protoreflect.EnumDescriptor).Values()
		for i := range vals.Len() {
			if vals.Get(i).Number() != 0 {
				reasons = append(reasons, string(vals.Get(i).Name()))
			}
		}
	}
	if got, _ := get(schemas, "ErrorReason", "enum").([]any); fmt.Sprint(got) != fmt.Sprint(reasons) {
		t.Errorf("ErrorReason lists %v, want the proto enum's %v", got, reasons)
	}
	if get(schemas, "Webhook", "properties", "secret", "writeOnly") != true {
		t.Errorf("a webhook's secret is not writeOnly")
	}
	if get(schemas, "Case", "properties", "caseNumber", "readOnly") != true {
		t.Errorf("a case's number (OUTPUT_ONLY) is not readOnly")
	}
	for name, s := range schemas {
		if get(s, "type") == "object" && get(s, "properties") != nil && get(s, "examples") == nil {
			t.Errorf("schema %s has no example", name)
		}
	}

	paths, _ := doc["paths"].(map[string]any)
	shapes := map[string]string{}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			where := strings.ToUpper(method) + " " + path
			if prev, ok := shapes[strings.ToUpper(method)+" "+normalizePath(path)]; ok {
				t.Errorf("%s and %s are the same path", where, prev)
			}
			shapes[strings.ToUpper(method)+" "+normalizePath(path)] = where
			if get(op, "summary") == nil || get(op, "description") == nil {
				t.Errorf("%s: no summary or description", where)
			}
			if body := get(op, "requestBody", "content", "application/json"); body != nil && get(body, "example") == nil {
				t.Errorf("%s: the request has no example", where)
			}
			responses, _ := get(op, "responses").(map[string]any)
			for code, r := range responses {
				if code == "200" && isFile(r) {
					continue // a file (google.api.HttpBody): no JSON to show
				}
				if get(r, "content", "application/json", "example") == nil {
					t.Errorf("%s: the %s answer has no example", where, code)
				}
				if code != "200" && get(r, "content", "application/json", "schema", "$ref") != "#/components/schemas/Status" {
					t.Errorf("%s: the %s answer is not a Status", where, code)
				}
			}
			if get(responses, "200", "headers", "X-Request-Id") == nil || get(responses, "429", "headers", "Retry-After") == nil {
				t.Errorf("%s: X-Request-Id or Retry-After is not declared", where)
			}
			for _, code := range []string{"400", "401", "403", "429", "503"} {
				if responses[code] == nil {
					t.Errorf("%s: no %s answer", where, code)
				}
			}
			conflict := fmt.Sprint(get(responses, "409", "description"))
			// In the body, or in the query when the body is the resource.
			body, _ := json.Marshal(get(op, "requestBody"))
			params, _ := json.Marshal(get(op, "parameters"))
			takesID := strings.Contains(string(body), `"requestId"`) || strings.Contains(string(params), `"name":"requestId"`)
			if takesID != strings.Contains(conflict, "REQUEST_ID_REUSED") {
				t.Errorf("%s: takes a request id %v, but its 409 is %q", where, takesID, conflict)
			}
			if takesID && get(responses, "200", "headers", "Idempotent-Replay") == nil {
				t.Errorf("%s: takes a request id but declares no replay header", where)
			}
			if method == "patch" {
				req := get(op, "requestBody", "content", "application/json", "schema", "required")
				if fmt.Sprint(req) != "[etag]" {
					t.Errorf("%s: the body requires %v, want only the etag", where, req)
				}
			}
		}
	}
	// Path variables are named as the resource patterns name them.
	for _, p := range []string{"/v1/cases/{case}:submit", "/v1/households/{household}/members/{member}", "/v1/policies/{policy}"} {
		if paths[p] == nil {
			t.Errorf("no path %s", p)
		}
	}
	if conflict := get(paths, "/v1/cases/{case}", "get", "responses", "409"); conflict != nil {
		t.Errorf("GetCase answers 409: %v", conflict)
	}
}

// isFile reports whether an answer is a file sent as is: one media type,
// not JSON, whose schema is a binary string.
func isFile(r any) bool {
	answer, _ := r.(map[string]any)
	content, _ := answer["content"].(map[string]any)
	if len(content) != 1 || content["application/json"] != nil {
		return false
	}
	for _, mt := range content {
		m, _ := mt.(map[string]any)
		schema, _ := m["schema"].(map[string]any)
		return schema["format"] == "binary"
	}
	return false
}
