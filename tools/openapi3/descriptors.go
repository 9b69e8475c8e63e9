package main

import (
	"fmt"
	"os"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// pkg is the API's proto package.
const pkg = "casework.v1"

// errorReasonEnum lists the reasons ErrorInfo carries, when the protos
// declare it; without it the document's ErrorReason is a plain string.
const errorReasonEnum = pkg + ".ErrorReason"

// protoAPI is what the document takes from the descriptors.
type protoAPI struct {
	files *protoregistry.Files
	// methods by the v2 document's operationId, "CaseService_GetCase".
	methods map[string]protoreflect.MethodDescriptor
	// resource patterns by collection id ("policies" -> "policies/{policy}").
	collections map[string]string
}

func loadAPI(path string) (*protoAPI, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	api := &protoAPI{files: files, methods: map[string]protoreflect.MethodDescriptor{}, collections: map[string]string{}}
	files.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				api.methods[string(s.Name())+"_"+string(m.Name())] = m
			}
		}
		for i := range fd.Messages().Len() {
			res, _ := proto.GetExtension(fd.Messages().Get(i).Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
			for _, p := range res.GetPattern() {
				parts := strings.Split(p, "/")
				if len(parts) >= 2 {
					api.collections[parts[len(parts)-2]] = p
				}
			}
		}
		return true
	})
	if len(api.methods) == 0 {
		return nil, fmt.Errorf("%s holds no services of %s", path, pkg)
	}
	return api, nil
}

// errorReasons is the ErrorReason enum's values with their comments, nil
// when the protos have no such enum.
func (a *protoAPI) errorReasons() (names, docs []string) {
	d, err := a.files.FindDescriptorByName(errorReasonEnum)
	if err != nil {
		return nil, nil
	}
	ed, ok := d.(protoreflect.EnumDescriptor)
	if !ok {
		return nil, nil
	}
	for i := range ed.Values().Len() {
		v := ed.Values().Get(i)
		if v.Number() == 0 { // ..._UNSPECIFIED: never sent
			continue
		}
		names = append(names, string(v.Name()))
		docs = append(docs, comment(v))
	}
	return names, docs
}

func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	return strings.TrimSpace(strings.ReplaceAll(strings.TrimSpace(loc.LeadingComments), "\n ", "\n"))
}

func behaviors(fd protoreflect.FieldDescriptor) map[annotations.FieldBehavior]bool {
	out := map[annotations.FieldBehavior]bool{}
	b, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	for _, x := range b {
		out[x] = true
	}
	return out
}

func httpRule(m protoreflect.MethodDescriptor) *annotations.HttpRule {
	r, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
	return r
}

// bodyMessage is the message an HTTP body of m carries: the request, or the
// request field the rule names.
func bodyMessage(m protoreflect.MethodDescriptor) protoreflect.MessageDescriptor {
	body := httpRule(m).GetBody()
	if body == "" || body == "*" {
		return m.Input()
	}
	if fd := m.Input().Fields().ByName(protoreflect.Name(body)); fd != nil && fd.Message() != nil {
		return fd.Message()
	}
	return m.Input()
}

// refersToResource reports whether md (or a message field of it, one level
// down) names another resource, which a call may find missing.
func refersToResource(md protoreflect.MessageDescriptor, depth int) bool {
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if ref, _ := proto.GetExtension(fd.Options(), annotations.E_ResourceReference).(*annotations.ResourceReference); ref != nil {
			return true
		}
		if depth > 0 && fd.Message() != nil && fd.Message().ParentFile().Package() == pkg && refersToResource(fd.Message(), depth-1) {
			return true
		}
	}
	return false
}

// schemaNames maps component names to messages and enums of the API: the v2
// generator's "simple" naming strategy uses the shortest unique suffix of
// the full name, joined ("CaseClock" for casework.v1.Case.Clock), so a
// name is matched to the one declaration it can stand for.
func (a *protoAPI) schemaNames(components map[string]bool) map[string]protoreflect.Descriptor {
	cands := map[string][]protoreflect.Descriptor{}
	add := func(d protoreflect.Descriptor) {
		parts := strings.Split(string(d.FullName()), ".")
		for k := 1; k <= len(parts); k++ {
			n := strings.Join(parts[len(parts)-k:], "")
			if components[n] {
				cands[n] = append(cands[n], d)
			}
		}
	}
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			add(ms.Get(i))
			walk(ms.Get(i).Messages())
		}
	}
	a.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		walk(fd.Messages())
		return true
	})
	out := map[string]protoreflect.Descriptor{}
	for n, ds := range cands {
		if len(ds) == 1 {
			out[n] = ds[0]
		}
	}
	return out
}
