package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// image builds the image of the repository's protos into a temporary file.
func image(t *testing.T) (string, *descriptorpb.FileDescriptorSet) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "casework.binpb")
	if err := run(filepath.Join("..", "..", "proto"), out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(b, set); err != nil {
		t.Fatal(err)
	}
	return out, set
}

// TestImageIsSelfContained: every file the image's files import is in it,
// before the files that import it, so protoc and buf compile from the image
// alone; the third-party protos a Java or .NET team lacks are among them.
func TestImageIsSelfContained(t *testing.T) {
	_, set := image(t)
	var seen []string
	for _, f := range set.GetFile() {
		for _, dep := range f.GetDependency() {
			if !slices.Contains(seen, dep) {
				t.Errorf("%s imports %s, which is not in the image before it", f.GetName(), dep)
			}
		}
		seen = append(seen, f.GetName())
	}
	for _, want := range []string{"buf/validate/validate.proto", "google/api/annotations.proto", "google/type/date.proto",
		"google/protobuf/timestamp.proto", "casework/v1/errors.proto"} {
		if !slices.Contains(seen, want) {
			t.Errorf("the image lacks %s", want)
		}
	}
}

// TestProtocCompilesClientsFromImage generates Java and C# code from the
// image with protoc alone, as a Java or .NET team would (README, "Non-Go
// clients"). Without protoc it skips, except under CI, which installs it.
func TestProtocCompilesClientsFromImage(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("protoc is not installed (Debian: protobuf-compiler); CI must run this test")
		}
		t.Skip("protoc is not installed (Debian: protobuf-compiler)")
	}
	img, set := image(t)
	var ours []string
	for _, f := range set.GetFile() {
		if strings.HasPrefix(f.GetName(), "casework/") {
			ours = append(ours, f.GetName())
		}
	}
	for _, lang := range []string{"java", "csharp"} {
		out := t.TempDir()
		cmd := exec.Command(protoc, append([]string{"--descriptor_set_in=" + img, "--" + lang + "_out=" + out}, ours...)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("protoc --%s_out: %v\n%s", lang, err, msg)
		}
		var files int
		_ = filepath.WalkDir(out, func(string, os.DirEntry, error) error { files++; return nil })
		if files < len(ours) {
			t.Errorf("protoc --%s_out wrote %d files and directories for %d protos", lang, files, len(ours))
		}
	}
}
