package e2e

import (
	"encoding/json"
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
