package service

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// updatable names the top-level fields of a resource that an update may
// touch; everything else (name, etag, output-only fields) is refused.
type updatable map[string]bool

// maskPaths returns the paths an update applies (AIP-134): the mask's paths,
// every updatable field for "*", or, when the mask is empty, the updatable
// fields the request populated. "etag" is the precondition, not a change,
// and is dropped: the gateway adds it to masks it derives from JSON bodies.
func maskPaths(mask *fieldmaskpb.FieldMask, patch proto.Message, allowed updatable) ([]string, error) {
	var paths []string
	switch {
	case mask == nil || len(mask.GetPaths()) == 0:
		patch.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			if allowed[string(fd.Name())] {
				paths = append(paths, string(fd.Name()))
			}
			return true
		})
	case len(mask.GetPaths()) == 1 && mask.GetPaths()[0] == "*":
		for p := range allowed {
			paths = append(paths, p)
		}
	default:
		for i, p := range mask.GetPaths() {
			p = protoPath(patch.ProtoReflect().Descriptor(), p)
			if p == "etag" {
				continue
			}
			// Named by its index: a path the resource does not have is the
			// client's text, which an answer never repeats.
			if !allowed[strings.SplitN(p, ".", 2)[0]] {
				return nil, domain.Invalid("update_mask", "path %d names no field that can be updated", i)
			}
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, domain.Invalid("update_mask", "names no field to update")
	}
	return paths, nil
}

// applyMask copies the fields that paths name from src onto dst; a path whose
// field src leaves unset clears it in dst. Setting a member of a oneof clears
// its siblings, as protobuf semantics require.
func applyMask(dst, src proto.Message, paths []string) error {
	for n, path := range paths {
		d, s := dst.ProtoReflect(), src.ProtoReflect()
		parts := strings.Split(path, ".")
		for i, part := range parts {
			fd := d.Descriptor().Fields().ByName(protoreflect.Name(part))
			if fd == nil {
				return domain.Invalid("update_mask", "path %d names a field that does not exist", n)
			}
			if i == len(parts)-1 {
				if s.Has(fd) {
					d.Set(fd, s.Get(fd))
				} else {
					d.Clear(fd)
				}
				break
			}
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return domain.Invalid("update_mask", "path %d names a field that does not exist", n)
			}
			d, s = d.Mutable(fd).Message(), s.Get(fd).Message()
		}
	}
	return nil
}

// protoPath spells a field-mask path with the proto's field names. A JSON
// client writes the mask the way the JSON mapping writes field names
// (`schoolEnrollment.assignedSchool` in a query string), where a gRPC
// client writes `school_enrollment.assigned_school`; both mean the same
// fields. A segment that names no field is left as it is, to be refused.
func protoPath(md protoreflect.MessageDescriptor, path string) string {
	parts := strings.Split(path, ".")
	for i, part := range parts {
		if md == nil {
			break
		}
		fd := md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			break
		}
		parts[i] = string(fd.Name())
		md = fd.Message()
	}
	return strings.Join(parts, ".")
}

// patched is the resource an update request sends.
type patched interface {
	proto.Message
	GetName() string
	GetEtag() string
}

// updateOf checks what every update (AIP-134) checks before it reads the
// stored resource: that field (e.g. "case") is sent, names a T and carries
// the etag read before, and that the mask names fields that may change. It
// returns the name and the paths to apply.
func updateOf[T names.Name](field string, patch patched, mask *fieldmaskpb.FieldMask, allowed updatable) (T, []string, error) {
	var zero T
	if patch == nil || !patch.ProtoReflect().IsValid() {
		return zero, nil, domain.Invalid(field, "is required")
	}
	n, err := nameOf[T](field+".name", patch.GetName())
	if err != nil {
		return zero, nil, err
	}
	if patch.GetEtag() == "" {
		what := strings.ReplaceAll(field, "_", " ")
		return zero, nil, domain.Invalid(field+".etag", "is required: read the %s and send its etag", what)
	}
	paths, err := maskPaths(mask, patch, allowed)
	if err != nil {
		return zero, nil, err
	}
	return n, paths, nil
}
