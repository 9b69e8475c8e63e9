package main

import (
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// direction says which fields an example shows: a request leaves out
// read-only fields, an answer leaves out write-only ones.
type direction int

const (
	read direction = iota
	write
	both
)

// exampler makes an example value from a schema, so every resource,
// request and answer has one without a hand-written copy to fall out of
// date. Values are synthetic: ID and phone numbers are the README's, with
// valid check digits and nobody's.
type exampler struct {
	schemas openapi3.Schemas
	decls   map[string]protoreflect.Descriptor
	api     *protoAPI
	// examples written in the protos, by schema
	written map[*openapi3.Schema]map[string]any
}

// byField are values for fields whose type alone would make a poor example.
var byField = map[string]any{
	"idNumber":                      "500230199001011237",
	"phone":                         "13800000000",
	"townCode":                      "500230001",
	"townName":                      "三合街道",
	"etag":                          "7c1e9a24",
	"displayName":                   "张小明",
	"assignee":                      "caseworker-mingshan-01",
	"creator":                       "demo-supervisor",
	"principal":                     "demo-supervisor",
	"approver":                      "demo-admin",
	"url":                           "https://hooks.example.gov.cn/casework",
	"secret":                        "0123456789abcdef0123456789abcdef",
	"caseNumber":                    "FD-2027-000123",
	"schoolYear":                    "2027-2028",
	"requestId":                     "0193e1a4-7c2b-7d3e-9f10-5a6b7c8d9e0f",
	"pageToken":                     "",
	"nextPageToken":                 "",
	"filter":                        "status = SUBMITTED",
	"orderBy":                       "create_time desc",
	"updateMask":                    "schoolEnrollment.assignedSchool",
	"year":                          2027,
	"month":                         3,
	"day":                           1,
	"preferentialCertificateNumber": "CQ-YDZ-2024-000123",
	"hash":                          "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c",
	"previousHash":                  "8e1b3d5f7a9c0e2f4b6d8a0c2e4f6b8d",
	"keyId":                         "audit-2027",
	"retryDelay":                    "2s",
}

var resourceID = regexp.MustCompile(`\{[a-z_]+\}`)

func (e *exampler) example(ref *openapi3.SchemaRef, dir direction, depth int) any {
	return e.value(ref, dir, depth, "", nil)
}

func (e *exampler) value(ref *openapi3.SchemaRef, dir direction, depth int, field string, fd protoreflect.FieldDescriptor) any {
	if ref == nil {
		return nil
	}
	s := ref.Value
	var md protoreflect.MessageDescriptor
	if ref.Ref != "" {
		name := strings.TrimPrefix(ref.Ref, schemaRef)
		s = e.schemas[name].Value
		md, _ = e.decls[name].(protoreflect.MessageDescriptor)
	}
	if s == nil {
		return nil
	}
	if len(s.AllOf) == 1 {
		return e.value(s.AllOf[0], dir, depth, field, fd)
	}
	if len(s.AnyOf) > 0 {
		return e.value(s.AnyOf[0], dir, depth, field, fd)
	}
	if x, ok := e.written[s]; ok {
		return e.filter(x, s, dir)
	}
	if len(s.Enum) > 0 {
		for _, v := range s.Enum {
			if str, ok := v.(string); !ok || !strings.HasSuffix(str, "_UNSPECIFIED") {
				return v
			}
		}
		return s.Enum[0]
	}
	if s.Const != nil {
		return s.Const
	}
	switch {
	case s.Type.Is("object"):
		if depth > 12 {
			return map[string]any{}
		}
		if s.AdditionalProperties.Schema != nil && len(s.Properties) == 0 {
			return map[string]any{"key": e.value(s.AdditionalProperties.Schema, dir, depth+1, "", nil)}
		}
		return e.object(s, md, dir, depth)
	case s.Type.Is("array"):
		return []any{e.value(s.Items, dir, depth+1, field, fd)}
	case s.Type.Is("integer"):
		if v, ok := byField[field].(int); ok {
			return v
		}
		return 1
	case s.Type.Is("number"):
		return 1.5
	case s.Type.Is("boolean"):
		return true
	case s.Type.Is("string"):
		return e.stringValue(s, field, fd)
	}
	return nil
}

func (e *exampler) object(s *openapi3.Schema, md protoreflect.MessageDescriptor, dir direction, depth int) map[string]any {
	out := map[string]any{}
	seenOneof := map[protoreflect.FullName]bool{}
	for _, name := range sortedKeys(s.Properties) {
		prop := s.Properties[name]
		p := prop.Value
		if prop.Ref != "" {
			p = e.schemas[strings.TrimPrefix(prop.Ref, schemaRef)].Value
		}
		if p == nil || dir == write && p.ReadOnly || dir == read && p.WriteOnly {
			continue
		}
		var fd protoreflect.FieldDescriptor
		if md != nil {
			fd = md.Fields().ByJSONName(name)
		}
		if fd != nil {
			// One member of each oneof, as the server accepts.
			if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
				if seenOneof[o.FullName()] {
					continue
				}
				seenOneof[o.FullName()] = true
			}
		}
		out[name] = e.value(prop, dir, depth+1, name, fd)
	}
	return out
}

// filter leaves out of a written example the fields a request does not
// send or an answer does not carry.
func (e *exampler) filter(x map[string]any, s *openapi3.Schema, dir direction) map[string]any {
	out := map[string]any{}
	for k, v := range x {
		p := s.Properties[k]
		if p == nil {
			continue
		}
		ps := p.Value
		if p.Ref != "" {
			ps = e.schemas[strings.TrimPrefix(p.Ref, schemaRef)].Value
		}
		if ps != nil && (dir == write && ps.ReadOnly || dir == read && ps.WriteOnly) {
			continue
		}
		out[k] = v
	}
	return out
}

func (e *exampler) stringValue(s *openapi3.Schema, field string, fd protoreflect.FieldDescriptor) any {
	if v, ok := byField[field].(string); ok {
		return v
	}
	switch s.Format {
	case "date-time":
		return "2027-03-01T08:00:00Z"
	case "int64", "uint64":
		return "42"
	case "byte":
		return "c2lnbmF0dXJl"
	}
	if name := e.resourceName(fd); name != "" {
		return name
	}
	if strings.HasSuffix(field, "Time") || strings.HasSuffix(field, "Date") {
		return "2027-03-01T08:00:00Z"
	}
	return "示例"
}

// resourceName fills a name or a reference with its resource's pattern.
func (e *exampler) resourceName(fd protoreflect.FieldDescriptor) string {
	if fd == nil {
		return ""
	}
	var pattern string
	if ref, _ := proto.GetExtension(fd.Options(), annotations.E_ResourceReference).(*annotations.ResourceReference); ref != nil {
		t := ref.GetType()
		if t == "" {
			t = ref.GetChildType()
		}
		pattern = e.patternOf(t)
	} else if fd.Name() == "name" || fd.Name() == "parent" {
		res, _ := proto.GetExtension(fd.ContainingMessage().Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
		if len(res.GetPattern()) > 0 {
			pattern = res.GetPattern()[0]
		}
	}
	if pattern == "" {
		return ""
	}
	return resourceID.ReplaceAllString(pattern, "0193e1a4-7c2b-7d3e-9f10-5a6b7c8d9e0f")
}

func (e *exampler) patternOf(typ string) string {
	var found string
	e.api.files.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Messages().Len() {
			res, _ := proto.GetExtension(fd.Messages().Get(i).Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
			if res.GetType() == typ && len(res.GetPattern()) > 0 {
				found = res.GetPattern()[0]
				return false
			}
		}
		return true
	})
	return found
}
