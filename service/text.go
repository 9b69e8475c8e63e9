package service

import (
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fengdu-county/casework/domain"
)

// CheckText refuses a request if any of its strings, at any depth (nested
// messages, repeated fields, map values), holds a character
// domain.TextProblem refuses. One walk over the message covers every text
// field of every request, present and future, so no field can be forgotten
// the way a per-field rule can. Each violation names the field by its path
// as protovalidate does ("household.servicemember.name",
// "requests[1].household.address") and never repeats the value.
func CheckText(msg proto.Message) error {
	var vs []domain.Violation
	checkText(msg.ProtoReflect(), "", &vs)
	if len(vs) == 0 {
		return nil
	}
	return &domain.ValidationError{Violations: vs}
}

func checkText(m protoreflect.Message, prefix string, vs *[]domain.Violation) {
	// By field number, not m.Range, so violations come in a stable order.
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		path := prefix + string(fd.Name())
		v := m.Get(fd)
		switch {
		case fd.IsList():
			l := v.List()
			for j := range l.Len() {
				checkTextValue(fd, l.Get(j), path+"["+strconv.Itoa(j)+"]", vs)
			}
		case fd.IsMap():
			// A map key is client text too, so the path names the map
			// alone rather than quoting the key, as protovalidate would.
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if p := domain.TextProblem(k.String()); p != "" {
						*vs = append(*vs, domain.Violation{Field: path, Description: "a key " + p})
					}
				}
				checkTextValue(fd.MapValue(), mv, path, vs)
				return true
			})
		default:
			checkTextValue(fd, v, path, vs)
		}
	}
}

func checkTextValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, vs *[]domain.Violation) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if p := domain.TextProblem(v.String()); p != "" {
			*vs = append(*vs, domain.Violation{Field: path, Description: p})
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		checkText(v.Message(), path+".", vs)
	}
}
