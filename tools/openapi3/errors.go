package main

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// domain is ErrorInfo.domain on every error of the server (internal/apierr).
const domain = "casework.fengdu.gov.cn"

func obj(props map[string]*openapi3.SchemaRef, required ...string) *openapi3.Schema {
	return &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: props, Required: required}
}

func str(desc string) *openapi3.SchemaRef {
	return &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Description: desc}}
}

func typeTag(name string) *openapi3.SchemaRef {
	return &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Const: "type.googleapis.com/google.rpc." + name}}
}

func ref(name string) *openapi3.SchemaRef { return &openapi3.SchemaRef{Ref: schemaRef + name} }

// addErrorSchemas types the details of google.rpc.Status that the server
// sends, so a client reads an ErrorInfo's reason or a BadRequest's fields
// without decoding Any by hand.
func addErrorSchemas(schemas openapi3.Schemas, api *protoAPI) {
	reason := &openapi3.Schema{Type: &openapi3.Types{"string"},
		Description: "Why a call failed, in words a client can branch on (AIP-193). ErrorInfo.reason and a field violation's reason hold one."}
	if names, docs := api.errorReasons(); len(names) > 0 {
		var lines []string
		for i, n := range names {
			reason.Enum = append(reason.Enum, n)
			if docs[i] != "" {
				lines = append(lines, "- `"+n+"`: "+strings.Join(strings.Fields(docs[i]), " "))
			}
		}
		if len(lines) > 0 {
			reason.Description += "\n\n" + strings.Join(lines, "\n")
		}
	}
	schemas["ErrorReason"] = &openapi3.SchemaRef{Value: reason}

	errorInfo := obj(map[string]*openapi3.SchemaRef{
		"@type":    typeTag("ErrorInfo"),
		"reason":   ref("ErrorReason"),
		"domain":   {Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Const: domain}},
		"metadata": {Value: &openapi3.Schema{Type: &openapi3.Types{"object"}, AdditionalProperties: openapi3.AdditionalProperties{Schema: str("")}, Description: "More about the error, e.g. `rule` naming the rule that refused the call."}},
	}, "@type", "reason", "domain")
	errorInfo.Description = "Every error carries one: the reason a client branches on."
	schemas["ErrorInfo"] = &openapi3.SchemaRef{Value: errorInfo}

	listDetail(schemas, "BadRequest", "Names each field of the request that was refused.",
		"fieldViolations", "FieldViolation", obj(map[string]*openapi3.SchemaRef{
			"field":       str("The field in the API's words, e.g. `requests[2].household.townCode`."),
			"description": str("What is wrong with it; it never repeats the value sent."),
			"reason":      ref("ErrorReason"),
		}, "field", "description"))
	listDetail(schemas, "PreconditionFailure", "The state the resource must be in for the call, e.g. a case's status for a transition.",
		"violations", "PreconditionViolation", obj(map[string]*openapi3.SchemaRef{
			"type":        str("The kind of precondition, e.g. `STATUS`."),
			"subject":     str("What it is about, e.g. a resource name."),
			"description": str("How it failed."),
		}, "type"))

	retryInfo := obj(map[string]*openapi3.SchemaRef{
		"@type":      typeTag("RetryInfo"),
		"retryDelay": {Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: `^[0-9]+(\.[0-9]+)?s$`, Description: "How long to wait before retrying, as a protobuf Duration (`1.5s`)."}},
	}, "@type", "retryDelay")
	retryInfo.Description = "When to retry a rate-limited call; the Retry-After header says the same in whole seconds."
	schemas["RetryInfo"] = &openapi3.SchemaRef{Value: retryInfo}

	st := obj(map[string]*openapi3.SchemaRef{
		"code":    {Value: &openapi3.Schema{Type: &openapi3.Types{"integer"}, Format: "int32", Description: "The gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, …)."}},
		"message": str("What went wrong, for a developer; it never repeats a value sent."),
		"details": {Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: &openapi3.SchemaRef{Value: &openapi3.Schema{
			AnyOf: openapi3.SchemaRefs{ref("ErrorInfo"), ref("BadRequest"), ref("PreconditionFailure"), ref("RetryInfo"), ref("Any")},
		}}, Description: "Typed details; always an ErrorInfo, and by the error a BadRequest, PreconditionFailure or RetryInfo."}},
	}, "code", "message", "details")
	st.Description = "A google.rpc.Status: every error of the API."
	schemas["Status"] = &openapi3.SchemaRef{Value: st}
}

// listDetail adds a detail that is a list of items (BadRequest's field
// violations, PreconditionFailure's violations) and the items' schema.
func listDetail(schemas openapi3.Schemas, name, desc, list, itemName string, item *openapi3.Schema) {
	schemas[itemName] = &openapi3.SchemaRef{Value: item}
	d := obj(map[string]*openapi3.SchemaRef{
		"@type": typeTag(name),
		list:    {Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: ref(itemName)}},
	}, "@type", list)
	d.Description = desc
	schemas[name] = &openapi3.SchemaRef{Value: d}
}

// responseHeaders are the headers the server sends (server/gateway.go,
// server/auth.go, server/idempotency.go).
func responseHeaders() openapi3.Headers {
	h := func(desc string, s *openapi3.Schema, example any) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: desc, Schema: &openapi3.SchemaRef{Value: s}, Example: example,
		}}}
	}
	return openapi3.Headers{
		"X-Request-Id": h("The call's id, in the server's logs and audit entries: the caller's own X-Request-Id when it sent a sane one, else one the server made.",
			&openapi3.Schema{Type: &openapi3.Types{"string"}}, "0193e1a4-7c2b-7d3e-9f10-5a6b7c8d9e0f"),
		"Retry-After": h("Whole seconds to wait before retrying (RFC 9110).",
			&openapi3.Schema{Type: &openapi3.Types{"integer"}, Min: ptr(1.0)}, 2),
		"WWW-Authenticate": h("The bearer challenge of RFC 6750: `error=\"invalid_token\"` when a credential came and was refused.",
			&openapi3.Schema{Type: &openapi3.Types{"string"}}, `Bearer realm="casework", error="invalid_token"`),
		"Idempotent-Replay": h("`true` when the answer is the recorded answer to an earlier call with the same request id, not a new change.",
			&openapi3.Schema{Type: &openapi3.Types{"string"}, Enum: []any{"true"}}, "true"),
		"Grpc-Metadata-Idempotent-Replay": h("The same as `Idempotent-Replay`, under the gateway's prefix for gRPC metadata; kept for clients written before `Idempotent-Replay`.",
			&openapi3.Schema{Type: &openapi3.Types{"string"}, Enum: []any{"true"}}, "true"),
	}
}

// errorResponse is one error answer an operation can give.
type errorResponse struct {
	code        string
	description string
	example     map[string]any
	headers     []string
	// noRequestID: refused before the call has an id (server.limitBody).
	noRequestID bool
}

func (e errorResponse) response() *openapi3.Response {
	r := &openapi3.Response{
		Description: ptr(e.description),
		Content:     openapi3.Content{"application/json": &openapi3.MediaType{Schema: ref("Status"), Example: e.example}},
		Headers:     openapi3.Headers{},
	}
	headers := e.headers
	if !e.noRequestID {
		headers = append([]string{"X-Request-Id"}, headers...)
	}
	for _, h := range headers {
		r.Headers[h] = &openapi3.HeaderRef{Ref: "#/components/headers/" + h}
	}
	return r
}

func status(code int, message, reason string, meta map[string]string, more ...map[string]any) map[string]any {
	if meta == nil {
		meta = map[string]string{}
	}
	details := []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain, "metadata": meta}}
	for _, m := range more {
		details = append(details, m)
	}
	return map[string]any{"code": code, "message": message, "details": details}
}

// errorResponses lists the errors an operation of this kind can answer.
// Every call may be invalid, unauthenticated, denied, rate limited or meet
// a server that is stopping; the others depend on what the call does.
func errorResponses(k opKind, hasBody bool) []errorResponse {
	out := []errorResponse{{
		code:        "400",
		description: "The request is invalid (code 3 INVALID_ARGUMENT, with a BadRequest naming each field), or the resource is not in a state that allows the call (code 9 FAILED_PRECONDITION, e.g. an illegal transition or a rule that refuses it). Nothing was changed.",
		example: status(3, "household.townCode: is not a town of the county", "INVALID_ARGUMENT", nil,
			map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []any{
				map[string]any{"field": "household.townCode", "description": "is not a town of the county"}}}),
	}, {
		code:        "401",
		description: "No credentials, or credentials that are invalid or expired (code 16 UNAUTHENTICATED).",
		example:     status(16, "missing credentials", "MISSING_CREDENTIALS", nil),
		headers:     []string{"WWW-Authenticate"},
	}, {
		code:        "403",
		description: "The caller's roles may not call this method, or may not see what it asks for (code 7 PERMISSION_DENIED).",
		example:     status(7, "the caller's roles may not call this method", "PERMISSION_DENIED", nil),
	}}
	if k.finds {
		out = append(out, errorResponse{
			code:        "404",
			description: "No such resource in the caller's towns (code 5 NOT_FOUND).",
			example:     status(5, "resource not found", "NOT_FOUND", nil),
		})
	}
	var conflicts []string
	example := map[string]any(nil)
	if k.creates {
		conflicts = append(conflicts, "the resource already exists (code 6 ALREADY_EXISTS)")
		example = status(6, "a live household already has this servicemember", "ALREADY_EXISTS", nil)
	}
	if k.requestID {
		conflicts = append(conflicts, "the request id was used before for a different request (code 6, REQUEST_ID_REUSED)")
		example = status(6, "this request id was already used for a different request; use a new id for a new request", "REQUEST_ID_REUSED", nil)
	}
	if k.etag {
		conflicts = append(conflicts, "the etag is stale (code 10 ABORTED, ETAG_MISMATCH): read the resource again and retry")
		example = status(10, "the etag does not match the stored resource; read it again and retry", "ETAG_MISMATCH", nil)
	}
	if len(conflicts) > 0 {
		out = append(out, errorResponse{
			code:        "409",
			description: "A conflict: " + strings.Join(conflicts, "; or ") + ".",
			example:     example,
		})
	}
	if hasBody {
		out = append(out, errorResponse{
			code:        "413",
			description: "The body is larger than the server accepts (code 8, REQUEST_TOO_LARGE).",
			example:     status(8, "request body too large", "REQUEST_TOO_LARGE", nil),
			noRequestID: true,
		})
	}
	out = append(out, errorResponse{
		code:        "429",
		description: "Too many calls from this caller (code 8 RESOURCE_EXHAUSTED, RATE_LIMITED): retry after Retry-After seconds.",
		example: status(8, "rate limit exceeded: slow down and retry after the given delay", "RATE_LIMITED", nil,
			map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}),
		headers: []string{"Retry-After"},
	}, errorResponse{
		code:        "503",
		description: "The server is stopping or its database is unreachable (code 14 UNAVAILABLE): retry with backoff, with the same request id for a change.",
		example:     status(14, "the server is stopping", "STOPPING", nil),
	}, errorResponse{
		code:        "default",
		description: "An unexpected error (code 13 INTERNAL).",
		example:     status(13, "internal error", "INTERNAL", nil),
	})
	return out
}
