package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	_ "github.com/fengdu-county/casework/api/casework/v1"
)

// imageOfRegistry writes the descriptors the generated Go code registers
// as an image: what `make image` builds, without the comments.
func imageOfRegistry(t *testing.T) string {
	t.Helper()
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		add(fd)
		return true
	})
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.binpb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestErrorsByKind: each operation declares the errors its kind can
// answer, and no others.
func TestErrorsByKind(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	if err := run(filepath.Join("..", "..", "api", "openapi", "casework.swagger.json"), imageOfRegistry(t), out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Summary   string                     `json:"summary"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		has, hasNot  []string
	}{
		{"get", "/v1/cases/{case}", []string{"404"}, []string{"409", "413"}},
		{"get", "/v1/cases", nil, []string{"404", "409"}},
		{"post", "/v1/cases/{case}:submit", []string{"404", "409", "413"}, nil},
		{"patch", "/v1/households/{household}", []string{"404", "409"}, nil},
		{"post", "/v1/households:lookup", []string{"404"}, []string{"409"}},
		{"get", "/v1/policies/{policy}", []string{"404"}, []string{"409"}},
	} {
		op, ok := doc.Paths[c.path][c.method]
		if !ok {
			t.Errorf("no %s %s", c.method, c.path)
			continue
		}
		for _, code := range c.has {
			if op.Responses[code] == nil {
				t.Errorf("%s %s: no %s", c.method, c.path, code)
			}
		}
		for _, code := range c.hasNot {
			if op.Responses[code] != nil {
				t.Errorf("%s %s: declares %s, which it cannot answer", c.method, c.path, code)
			}
		}
		if op.Summary == "" {
			t.Errorf("%s %s: no summary without comments", c.method, c.path)
		}
	}
}
