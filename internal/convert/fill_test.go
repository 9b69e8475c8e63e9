package convert

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// The helpers here fill messages and rows with a value in every field, and
// find where two messages differ. Every value is distinct (a counter runs
// through them), so a conversion that swaps two fields fails as surely as
// one that drops a field.

// filler sets fields through protoreflect, so a field added to a message is
// filled without anyone touching the test.
type filler struct {
	t testing.TB
	n int
	// oneof picks the member of each oneof to set, by index (modulo the
	// number of members): a test runs once per member.
	oneof int
	// skip leaves a field unset (output-only fields, when filling what a
	// client may write).
	skip func(protoreflect.FieldDescriptor) bool
	// set records the fields filled.
	set map[protoreflect.FullName]bool
}

func (f *filler) next() int { f.n++; return f.n }

// fill sets every field of m that skip allows to a non-default value,
// recursively: scalars, enums (a defined value other than 0), messages,
// lists (two elements) and one member of each oneof.
func (f *filler) fill(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if f.skip != nil && f.skip(fd) {
			continue
		}
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() && o.Fields().Get(f.oneof%o.Fields().Len()) != fd {
			continue
		}
		if f.set == nil {
			f.set = map[protoreflect.FullName]bool{}
		}
		f.set[fd.FullName()] = true
		switch {
		case fd.IsMap():
			f.t.Fatalf("%s: the filler does not fill maps yet; teach it before converting one", fd.FullName())
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range 2 {
				l.Append(f.value(fd, l.NewElement))
			}
		default:
			m.Set(fd, f.value(fd, func() protoreflect.Value { return m.NewField(fd) }))
		}
	}
}

func (f *filler) value(fd protoreflect.FieldDescriptor, newMessage func() protoreflect.Value) protoreflect.Value {
	n := f.next()
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		var defined []protoreflect.EnumNumber
		values := fd.Enum().Values()
		for i := range values.Len() {
			if v := values.Get(i).Number(); v != 0 {
				defined = append(defined, v)
			}
		}
		if len(defined) == 0 {
			f.t.Fatalf("%s: enum %s has no value but 0", fd.FullName(), fd.Enum().FullName())
		}
		return protoreflect.ValueOfEnum(defined[n%len(defined)])
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n) + 0.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(n) + 0.5)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("%s-%d", fd.Name(), n))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(fmt.Appendf(nil, "%s-%d", fd.Name(), n))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		v := newMessage()
		f.message(v.Message(), n)
		return v
	}
	f.t.Fatalf("%s: kind %s unknown to the filler", fd.FullName(), fd.Kind())
	return protoreflect.Value{}
}

// message fills m; the well-known types get values their conversions can
// carry: instants to the microsecond (the store's precision), durations to
// the millisecond (deliveries keep milliseconds), real calendar dates.
func (f *filler) message(m protoreflect.Message, n int) {
	set := func(name string, v protoreflect.Value) {
		m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(name)), v)
	}
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		set("seconds", protoreflect.ValueOfInt64(1_767_225_600+int64(n)*3_607))
		set("nanos", protoreflect.ValueOfInt32(int32(n%1000+1)*1000))
	case "google.protobuf.Duration":
		set("seconds", protoreflect.ValueOfInt64(int64(n)))
		set("nanos", protoreflect.ValueOfInt32(int32(n%999+1)*1_000_000))
	case "google.type.Date":
		set("year", protoreflect.ValueOfInt32(int32(2000+n%50)))
		set("month", protoreflect.ValueOfInt32(int32(1+n%12)))
		set("day", protoreflect.ValueOfInt32(int32(1+n%28)))
	default:
		f.fill(m)
	}
}

// behaviors are a field's google.api.field_behavior annotations.
func behaviors(fd protoreflect.FieldDescriptor) []annotations.FieldBehavior {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return nil
	}
	b, _ := proto.GetExtension(opts, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return b
}

func has(fd protoreflect.FieldDescriptor, b annotations.FieldBehavior) bool {
	return slices.Contains(behaviors(fd), b)
}

// writable is what a client may send: not output-only, not the resource's
// name (which the server assigns).
func writable(fd protoreflect.FieldDescriptor) bool {
	return !has(fd, annotations.FieldBehavior_OUTPUT_ONLY) && !has(fd, annotations.FieldBehavior_IDENTIFIER)
}

// difference is a field where got differs from want.
type difference struct {
	field protoreflect.FullName
	text  string
}

// diff lists the fields where got differs from want, leaving out the fields
// ignore names.
func diff(path string, want, got protoreflect.Message, ignore func(protoreflect.FieldDescriptor) bool) []difference {
	var out []difference
	fields := want.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if ignore(fd) {
			continue
		}
		p := path + "." + string(fd.Name())
		w, g := want.Get(fd), got.Get(fd)
		switch {
		case fd.IsList():
			wl, gl := w.List(), g.List()
			if wl.Len() != gl.Len() {
				out = append(out, difference{fd.FullName(), fmt.Sprintf("%s: %d elements, want %d", p, gl.Len(), wl.Len())})
				continue
			}
			for j := range wl.Len() {
				out = append(out, diffValue(fmt.Sprintf("%s[%d]", p, j), fd, wl.Get(j), gl.Get(j), ignore)...)
			}
		case fd.Message() != nil && want.Has(fd) != got.Has(fd):
			out = append(out, difference{fd.FullName(), fmt.Sprintf("%s: set %v, want %v", p, got.Has(fd), want.Has(fd))})
		case fd.Message() != nil && !want.Has(fd):
		default:
			out = append(out, diffValue(p, fd, w, g, ignore)...)
		}
	}
	return out
}

func diffValue(path string, fd protoreflect.FieldDescriptor, w, g protoreflect.Value, ignore func(protoreflect.FieldDescriptor) bool) []difference {
	if fd.Message() != nil {
		return diff(path, w.Message(), g.Message(), ignore)
	}
	if !w.Equal(g) {
		return []difference{{fd.FullName(), fmt.Sprintf("%s: %v, want %v", path, g, w)}}
	}
	return nil
}

// unset lists the fields of m (and of the messages of this API in it) that
// a rendering left at their default; a oneof needs one member. INPUT_ONLY
// fields are never rendered and are not looked for; a pending field must
// not be rendered, or it is pending no more.
func unset(path string, m protoreflect.Message) []string {
	var out []string
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if has(fd, annotations.FieldBehavior_INPUT_ONLY) {
			continue
		}
		p := path + "." + string(fd.Name())
		if _, ok := pendingFields[fd.FullName()]; ok {
			if m.Has(fd) {
				out = append(out, p+" is rendered now: take it off pendingFields")
			}
			continue
		}
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if m.WhichOneof(o) == nil {
				out = append(out, p+" is not rendered from the row (no member of oneof "+string(o.Name())+")")
			}
			if m.WhichOneof(o) != fd {
				continue
			}
		}
		if !m.Has(fd) {
			out = append(out, p+" is not rendered from the row")
			continue
		}
		if fd.IsList() && fd.Enum() != nil {
			for j, l := 0, m.Get(fd).List(); j < l.Len(); j++ {
				if l.Get(j).Enum() == 0 {
					out = append(out, fmt.Sprintf("%s[%d] is rendered as UNSPECIFIED", p, j))
				}
			}
		}
		if md := fd.Message(); md != nil && !fd.IsList() && strings.HasPrefix(string(md.FullName()), "casework.") {
			out = append(out, unset(p, m.Get(fd).Message())...)
		}
	}
	return out
}

// rowFiller gives every field of a stored row a distinct value that is
// valid for its type: a domain enumeration gets one of its values, so the
// rendering has a defined API value for each.
type rowFiller struct {
	t testing.TB
	n int
}

// domainValues are the values a row's typed fields may hold.
var domainValues = map[reflect.Type][]any{
	reflect.TypeFor[domain.Status]():   anys(domain.Statuses()),
	reflect.TypeFor[domain.Kind]():     anys(domain.Kinds()),
	reflect.TypeFor[domain.Category](): anys(domain.Categories()),
	reflect.TypeFor[domain.PostType](): anys(domain.PostTypes()),
	reflect.TypeFor[domain.Branch]():   anys(domain.Branches()),
	reflect.TypeFor[domain.Rank]():     anys(domain.Ranks()),
	reflect.TypeFor[domain.Relation](): anys(domain.Relations()),
	reflect.TypeFor[domain.Priority](): anys(domain.Priorities()),
	reflect.TypeFor[domain.Reason]():   anys(domain.Reasons()),
	reflect.TypeFor[domain.Result]():   anys(domain.Results()),
	reflect.TypeFor[principal.Role]():  anys(principal.Roles),

	reflect.TypeFor[domain.ServiceStatus]():     anys(domain.ServiceStatuses()),
	reflect.TypeFor[domain.StatusChangeKind]():  anys(domain.StatusChangeKinds()),
	reflect.TypeFor[domain.ClockKind]():         anys(domain.ClockKinds()),
	reflect.TypeFor[domain.ClockState]():        anys(domain.ClockStates()),
	reflect.TypeFor[domain.WithdrawalReason]():  anys(domain.WithdrawalReasons()),
	reflect.TypeFor[domain.RejectionReason]():   anys(domain.RejectionReasons()),
	reflect.TypeFor[domain.TerminationGround](): anys(domain.TerminationGrounds()),
	reflect.TypeFor[domain.ObjectionResult]():   anys(domain.ObjectionResults()),
	reflect.TypeFor[domain.MeasureKind]():       anys(domain.MeasureKinds()),
	reflect.TypeFor[domain.MeasureState]():      anys(domain.MeasureStates()),
	reflect.TypeFor[domain.ComplaintState]():    anys(domain.ComplaintStates()),
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// fill sets every exported field of the struct row points to.
func (f *rowFiller) fill(row any) {
	v := reflect.ValueOf(row).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			f.set(v.Type().Name()+"."+v.Type().Field(i).Name, v.Field(i))
		}
	}
}

func (f *rowFiller) set(name string, v reflect.Value) {
	f.n++
	n := f.n
	if values, ok := domainValues[v.Type()]; ok {
		v.Set(reflect.ValueOf(values[n%len(values)]))
		return
	}
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Hour + time.Duration(n)*time.Microsecond)))
		return
	case v.Kind() == reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.set(name, p.Elem())
		v.Set(p)
		return
	case v.Kind() == reflect.Struct:
		// A value kept as JSON (repository.JSON) and the domain's structs
		// inside it.
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.set(name+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
		return
	case v.Kind() == reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.set(name, s.Index(i))
		}
		v.Set(s)
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", name, n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	default:
		f.t.Fatalf("%s: the row filler knows no %s", name, v.Type())
	}
}
