package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// quietJSON is the gateway's JSON marshaler with a decoder whose errors
// name the field that does not fit and say why, without the value
// protojson would quote ("invalid value for string field idNumber:
// 500230199001011237"). Decoding itself is JSONPb's, unchanged.
type quietJSON struct{ *runtime.JSONPb }

func (j quietJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error { return j.decode(r, v) })
}

func (j quietJSON) decode(r io.Reader, v any) error {
	var raw json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		if err == io.EOF {
			return err // no body: the gateway accepts that
		}
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return &fieldError{where: "body", problem: "is larger than the server accepts"}
		}
		return &fieldError{where: "body", problem: "is not valid JSON"}
	}
	if err := j.Unmarshal(raw, v); err != nil {
		fe := &fieldError{where: "body", problem: "does not fit the request"}
		if md := targetDescriptor(v); md != nil {
			if path, problem, found := locate(raw, md, "", j.UnmarshalOptions); found {
				fe.path, fe.problem = path, problem
			}
		}
		return fe
	}
	return nil
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// targetDescriptor is the message type the gateway decodes into: the
// request, or one of its fields (a **pb.Household).
func targetDescriptor(v any) protoreflect.MessageDescriptor {
	if m, ok := v.(proto.Message); ok {
		return m.ProtoReflect().Descriptor()
	}
	for t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer; t = t.Elem() {
		if t.Implements(protoMessageType) {
			return reflect.Zero(t).Interface().(proto.Message).ProtoReflect().Descriptor()
		}
	}
	return nil
}

// locate finds where raw stops fitting md by asking protojson about ever
// smaller parts of it, field by field, so the rules are protojson's own and
// only the description is ours. It returns the field's path below path
// (JSON names, "requests[0].household.servicemember.idNumber") and what
// is wrong there, or found == false if raw fits.
func locate(raw []byte, md protoreflect.MessageDescriptor, path string, o protojson.UnmarshalOptions) (string, string, bool) {
	if fits(raw, md, o) {
		return "", "", false
	}
	if p, ok := wellKnownProblem(md, raw); ok {
		return path, p, true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return path, "must be a JSON object", true
	}
	seen := map[protoreflect.FieldNumber]bool{}
	oneofs := map[protoreflect.FullName]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		var val json.RawMessage
		if err != nil || !isKey || dec.Decode(&val) != nil {
			return path, "is not valid JSON", true
		}
		fields := md.Fields()
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil {
			// The key is the client's text, so it is not repeated.
			return path, "has a field the API does not have", true
		}
		// Named as the JSON mapping names it: the client wrote JSON, and
		// finds `requests[412].household.servicemember.serviceBranch` in it.
		sub := joinPath(path, fd.JSONName())
		if seen[fd.Number()] {
			return sub, "is given more than once", true
		}
		seen[fd.Number()] = true
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && !isNull(val) {
			if oneofs[od.FullName()] {
				return sub, fmt.Sprintf("is one of the fields of %s, of which only one may be given", od.Name()), true
			}
			oneofs[od.FullName()] = true
		}
		if !fits(object(key, val), md, o) {
			p, problem := locateField(fd, key, val, sub, md, o)
			return p, problem, true
		}
	}
	return path, "does not fit the request", true
}

// locateField describes what is wrong with val, the value of field fd
// (sent under key) in a message of type parent.
func locateField(fd protoreflect.FieldDescriptor, key string, val []byte, path string,
	parent protoreflect.MessageDescriptor, o protojson.UnmarshalOptions) (string, string) {
	switch {
	case fd.IsMap():
		if !startsWith(val, '{') {
			return path, "must be a JSON object"
		}
		// Its keys are the client's text: the map is named, not the entry.
		return path, "has an entry whose key or value is not valid"
	case fd.IsList():
		if !startsWith(val, '[') {
			return path, "must be a JSON array"
		}
		var elems []json.RawMessage
		if json.Unmarshal(val, &elems) != nil {
			return path, "is not valid JSON"
		}
		for i, elem := range elems {
			if fits(object(key, append(append([]byte{'['}, elem...), ']')), parent, o) {
				continue
			}
			at := path + "[" + strconv.Itoa(i) + "]"
			if fd.Message() != nil {
				if p, problem, found := locate(elem, fd.Message(), at, o); found {
					return p, problem
				}
				return at, "is not valid"
			}
			return at, kindProblem(fd, elem)
		}
		return path, "is not valid"
	case fd.Message() != nil:
		if p, problem, found := locate(val, fd.Message(), path, o); found {
			return p, problem
		}
		return path, "is not valid"
	}
	return path, kindProblem(fd, val)
}

// kindProblem says what a value of fd's kind must be; val, when known, is
// the JSON sent, to tell a string of invalid UTF-8 from a number.
func kindProblem(fd protoreflect.FieldDescriptor, val []byte) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if startsWith(val, '"') {
			return "must be valid UTF-8 text"
		}
		return "must be a JSON string"
	case protoreflect.BytesKind:
		return "must be base64 in a JSON string"
	case protoreflect.BoolKind:
		return "must be true or false"
	case protoreflect.EnumKind:
		return enumProblem(fd.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "must be a 32-bit whole number"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "must be a non-negative 32-bit whole number"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "must be a 64-bit whole number"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "must be a non-negative 64-bit whole number"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "must be a number"
	}
	return "is not valid"
}

// enumProblem lists the names an enum field takes, when they are few.
func enumProblem(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	if vals.Len() > 24 {
		return "must be a value of " + string(ed.FullName())
	}
	names := make([]string, vals.Len())
	for i := range vals.Len() {
		names[i] = string(vals.Get(i).Name())
	}
	return "must be one of " + strings.Join(names, ", ")
}

// wellKnownProblem describes the JSON forms of the well-known types, which
// are not objects of their fields.
func wellKnownProblem(md protoreflect.MessageDescriptor, val []byte) (string, bool) {
	if md.ParentFile().Package() != "google.protobuf" {
		return "", false
	}
	switch md.Name() {
	case "Timestamp":
		return `must be an RFC 3339 timestamp in a JSON string, e.g. "2026-03-02T10:00:00+08:00"`, true
	case "Duration":
		return `must be a duration in seconds in a JSON string, e.g. "1.5s"`, true
	case "FieldMask":
		return "must be field paths separated by commas, in a JSON string", true
	case "Struct":
		return "must be a JSON object", true
	case "ListValue":
		return "must be a JSON array", true
	case "Value":
		return "must be a JSON value", true
	case "Empty":
		return "must be an empty JSON object", true
	case "Any":
		return `must be a JSON object with an "@type"`, true
	}
	if v := md.Fields().ByName("value"); v != nil && strings.HasSuffix(string(md.Name()), "Value") {
		return kindProblem(v, val), true // a wrapper: the JSON of its value
	}
	return "", false
}

// fits reports whether protojson accepts raw as an md.
func fits(raw []byte, md protoreflect.MessageDescriptor, o protojson.UnmarshalOptions) bool {
	return o.Unmarshal(raw, newMessage(md)) == nil
}

func newMessage(md protoreflect.MessageDescriptor) proto.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		return mt.New().Interface()
	}
	return dynamicpb.NewMessage(md)
}

// object is the JSON object {key: val}.
func object(key string, val []byte) []byte {
	k, _ := json.Marshal(key)
	out := make([]byte, 0, len(k)+len(val)+3)
	out = append(append(append(append(out, '{'), k...), ':'), val...)
	return append(out, '}')
}

func startsWith(val []byte, c byte) bool {
	v := bytes.TrimLeft(val, " \t\r\n")
	return len(v) > 0 && v[0] == c
}

func isNull(val []byte) bool { return string(bytes.TrimSpace(val)) == "null" }

// --- query parameters ------------------------------------------------------------

// quietQuery parses query parameters as the gateway does, and when that
// fails, finds the parameter at fault and names its field, instead of the
// default parser's error, which quotes the value ("parsing field
// "page_size": strconv.ParseInt: parsing "500230199001011237"").
type quietQuery struct{ runtime.DefaultQueryParser }

func (q *quietQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	if err := q.DefaultQueryParser.Parse(msg, values, filter); err != nil {
		path, problem := q.locate(msg, values, filter)
		return &fieldError{where: "query", path: path, problem: problem}
	}
	return nil
}

// locate parses each parameter alone into a fresh message to find the one
// that fails; if none does alone, two of them name one field.
func (q *quietQuery) locate(msg proto.Message, values url.Values, filter *utilities.DoubleArray) (string, string) {
	md := msg.ProtoReflect().Descriptor()
	named := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		path, fd := queryField(md, key)
		err := q.DefaultQueryParser.Parse(msg.ProtoReflect().New().Interface(), url.Values{key: values[key]}, filter)
		switch {
		case err == nil:
		case fd == nil:
			return path, "does not name a field that can be set from the query"
		case len(values[key]) > 1 && !fd.IsList():
			return path, "is given more than once"
		case fd.Message() != nil:
			if p, ok := wellKnownProblem(fd.Message(), nil); ok {
				return path, p
			}
			return path, "cannot be set from the query"
		default:
			return path, kindProblem(fd, nil)
		}
		if fd != nil {
			if named[path] {
				return path, "is given more than once"
			}
			named[path] = true
		}
	}
	return "", "is not valid"
}

// queryField resolves a query parameter's name as the gateway does (proto
// or JSON names, dotted into singular messages), returning the proto path
// of what resolved and the field, or a nil field if the name does not
// resolve to one.
func queryField(md protoreflect.MessageDescriptor, key string) (string, protoreflect.FieldDescriptor) {
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i] // a map key, which is the client's text
	}
	var path []string
	var fd protoreflect.FieldDescriptor
	for i, name := range strings.Split(key, ".") {
		if i > 0 {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return strings.Join(path, "."), nil
			}
			md = fd.Message()
		}
		if fd = md.Fields().ByTextName(name); fd == nil {
			fd = md.Fields().ByJSONName(name)
		}
		if fd == nil {
			return strings.Join(path, "."), nil
		}
		path = append(path, string(fd.Name()))
	}
	return strings.Join(path, "."), fd
}
