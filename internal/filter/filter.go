// Package filter parses the strict subset of AIP-160 filter syntax accepted
// by List RPCs:
//
//	status = SUBMITTED AND town_code = "500230101" AND overdue = true
//
// A filter is a conjunction of "field op value" comparisons checked against a
// Schema the caller declares. Everything outside that subset (OR, NOT,
// parentheses, the ":" has-operator, functions, wildcards, unknown fields) is
// an error rather than being ignored: silently dropping a clause would return
// more rows than the client asked for, which for access-scoped data is worse
// than a 400.
//
// Parse produces values, never query text. The repository binds each
// Condition.Value as a query parameter, so a value such as
// "1; DROP TABLE cases" is just an odd string, not a threat.
package filter

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound the work a single request can cause and keep error messages
// short; real clients stay far below them.
const (
	MaxLength     = 1024 // bytes of filter text
	MaxConditions = 16
)

// Error messages name the schema's fields, the operators and the position,
// and never repeat the client's text: a value (or a word where a field name
// belongs) can be an ID number, and errors travel back in answers, proxies'
// logs and client logs. The position points the client at what it sent.

// Kind is the type of a filterable field; it decides which literals are
// valid and how they are normalised.
type Kind int

// The zero Kind is deliberately invalid so that a Field declared without a
// Kind is reported as a schema bug instead of quietly becoming a string.
const (
	KindString Kind = iota + 1
	KindEnum
	KindBool
	KindInt
	KindResourceName
)

func (k Kind) valid() bool { return k >= KindString && k <= KindResourceName }

// Op is a comparison operator.
type Op string

// Supported comparison operators.
const (
	OpEq Op = "="
	OpNe Op = "!="
	OpLt Op = "<"
	OpLe Op = "<="
	OpGt Op = ">"
	OpGe Op = ">="
)

// operators is ordered so that two-character operators are tried before
// their one-character prefixes.
var operators = []Op{OpNe, OpLe, OpGe, OpEq, OpLt, OpGt}

// Field declares how one filterable field may be used.
type Field struct {
	Kind Kind

	// Values lists the allowed KindEnum values without prefix, e.g.
	// "SUBMITTED". When Prefix is set (e.g. "CASE_STATUS_"), the fully
	// qualified proto name "CASE_STATUS_SUBMITTED" is accepted too and is
	// normalised to "SUBMITTED".
	Values []string
	Prefix string

	// Collection is the required prefix of a KindResourceName value, e.g.
	// "households/". The rest must be a single non-empty ID segment.
	Collection string

	// Ops lists the operators allowed; nil or empty means only OpEq.
	Ops []Op

	// Check, if set, vets a KindString value beyond its kind (a town code's
	// shape, a timestamp's format) and returns what is wrong with it, or "".
	// It belongs to the schema so that every list declaring the field
	// refuses the same values, at parse time, with the value's position.
	Check func(value string) string
}

func (f Field) allows(op Op) bool {
	if len(f.Ops) == 0 {
		return op == OpEq
	}
	return slices.Contains(f.Ops, op)
}

func (f Field) allowedOps() string {
	ops := f.Ops
	if len(ops) == 0 {
		ops = []Op{OpEq}
	}
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return strings.Join(names, " ")
}

// Schema maps filterable field names (as they appear in the filter) to their
// declarations.
type Schema map[string]Field

// Condition is one parsed comparison.
type Condition struct {
	Field string
	Op    Op
	// Value is normalised: enums without prefix, bools "true"/"false",
	// ints in canonical decimal, strings and resource names verbatim.
	Value string
	Bool  bool  // set for KindBool
	Int   int64 // set for KindInt
}

// Filter is the parsed filter; all conditions must hold.
type Filter struct {
	Conditions []Condition
}

// Error reports a filter the client got wrong; servers should map it to
// INVALID_ARGUMENT. Any other error from Parse is a server-side schema bug.
type Error struct {
	Pos int // zero-based byte offset into the filter string
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg)
}

func errorf(pos int, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses s against schema. An empty or all-whitespace s yields a
// Filter with no conditions.
func Parse(s string, schema Schema) (Filter, error) {
	if len(s) > MaxLength {
		return Filter{}, errorf(MaxLength, "filter is longer than %d bytes", MaxLength)
	}
	if err := checkCharacters(s); err != nil {
		return Filter{}, err
	}
	p := &parser{src: s, schema: schema}
	return p.filter()
}

// checkCharacters rejects invalid UTF-8 and control characters up front so
// the parser proper only deals with printable text. Tabs and newlines are
// tolerated between tokens because hand-written filters contain them.
func checkCharacters(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return errorf(i, "invalid UTF-8")
		}
		if unicode.IsControl(r) && !isSpace(r) {
			return errorf(i, "control character %U is not allowed", r)
		}
		i += size
	}
	return nil
}

type parser struct {
	src    string
	pos    int
	schema Schema
}

func (p *parser) filter() (Filter, error) {
	p.skipSpace()
	if p.eof() {
		return Filter{}, nil
	}
	var f Filter
	for {
		if len(f.Conditions) == MaxConditions {
			return Filter{}, errorf(p.pos, "too many conditions; at most %d are allowed", MaxConditions)
		}
		start := p.pos
		c, err := p.condition()
		if err != nil {
			return Filter{}, err
		}
		if msg := conflict(f.Conditions, c); msg != "" {
			return Filter{}, errorf(start, "%s", msg)
		}
		f.Conditions = append(f.Conditions, c)
		more, err := p.conjunction()
		if err != nil {
			return Filter{}, err
		}
		if !more {
			return f, nil
		}
	}
}

// conflict rejects a field compared with "=" that is also constrained by
// another condition. Two equalities are redundant or unsatisfiable, and the
// client most likely meant OR, which this subset lacks; failing loudly beats
// returning an empty page. Ranges (a >= 1 AND a < 5) remain allowed.
func conflict(prev []Condition, c Condition) string {
	for _, p := range prev {
		if p.Field == c.Field && (p.Op == OpEq || c.Op == OpEq) {
			return fmt.Sprintf("field %q is constrained more than once; a field compared with \"=\" may appear only once", c.Field)
		}
	}
	return ""
}

// conjunction consumes what follows a condition: end of input, or
// whitespace, AND, whitespace. It reports whether another condition follows.
func (p *parser) conjunction() (bool, error) {
	spaced := p.skipSpace()
	if p.eof() {
		return false, nil
	}
	if !spaced {
		return false, p.unexpected("whitespace before AND")
	}
	start := p.pos
	switch w := p.word(); {
	case w == "AND":
	case w == "OR":
		return false, errorf(start, "OR is not supported; conditions can only be combined with AND")
	case strings.EqualFold(w, "and"):
		return false, errorf(start, "the AND keyword must be uppercase")
	default:
		p.pos = start
		return false, p.unexpected("AND")
	}
	if !p.skipSpace() && !p.eof() {
		return false, p.unexpected("whitespace after AND")
	}
	if p.eof() {
		return false, p.unexpected("a condition after AND")
	}
	return true, nil
}

func (p *parser) condition() (Condition, error) {
	fieldPos := p.pos
	name, err := p.fieldName()
	if err != nil {
		return Condition{}, err
	}
	field, ok := p.schema[name]
	if !ok {
		return Condition{}, errorf(fieldPos, "unknown field; known fields: %s", p.knownFields())
	}
	if !field.Kind.valid() {
		// Not an *Error: the client did nothing wrong.
		return Condition{}, fmt.Errorf("filter: schema field %q has invalid kind %d", name, field.Kind)
	}

	p.skipSpace()
	opPos := p.pos
	op, err := p.operator()
	if err != nil {
		return Condition{}, err
	}
	if !field.allows(op) {
		return Condition{}, errorf(opPos, "operator %q is not allowed for field %q; allowed: %s", op, name, field.allowedOps())
	}

	p.skipSpace()
	valuePos := p.pos
	raw, quoted, err := p.value()
	if err != nil {
		return Condition{}, err
	}
	c, msg := field.convert(raw, quoted)
	if msg != "" {
		return Condition{}, errorf(valuePos, "field %q: %s", name, msg)
	}
	c.Field, c.Op = name, op
	return c, nil
}

func (p *parser) fieldName() (string, error) {
	start := p.pos
	if p.eof() || !isFieldStart(p.src[p.pos]) {
		return "", p.badFieldStart()
	}
	for p.pos < len(p.src) && isFieldChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos], nil
}

// badFieldStart explains the common ways a condition fails to start with a
// field name, so clients porting richer AIP-160 filters learn what to drop.
func (p *parser) badFieldStart() error {
	start := p.pos
	w := p.word()
	switch {
	case w == "NOT":
		return errorf(start, "NOT is not supported")
	case w == "" || w[0] == '-' || w[0] == ':':
		p.pos = start
		return p.unexpected("a field name")
	case w[0] >= 'A' && w[0] <= 'Z':
		return errorf(start, "expected a field name; field names are lowercase")
	}
	return errorf(start, "expected a field name")
}

func (p *parser) operator() (Op, error) {
	rest := p.src[p.pos:]
	for _, op := range operators {
		if strings.HasPrefix(rest, string(op)) {
			p.pos += len(op)
			return op, nil
		}
	}
	return "", p.unexpected("a comparison operator")
}

// value returns the literal at p.pos and whether it was quoted; only enums,
// strings and resource names may be quoted.
func (p *parser) value() (string, bool, error) {
	if !p.eof() && p.src[p.pos] == '"' {
		s, err := p.quotedString()
		return s, true, err
	}
	w := p.word()
	if w == "" {
		return "", false, p.unexpected("a value")
	}
	return w, false, nil
}

func (p *parser) quotedString() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c == '\t' || c == '\n' || c == '\r':
			return "", errorf(p.pos, "tabs and line breaks are not allowed in strings")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", errorf(start, "unterminated string")
}

// escape consumes a backslash escape. Only the two escapes needed to write
// any string are accepted, so no client can depend on C-style escapes this
// parser would otherwise have to pin down.
func (p *parser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.src) {
		return errorf(p.pos, "unterminated string")
	}
	next := p.src[p.pos+1]
	if next != '"' && next != '\\' {
		return errorf(p.pos, "unsupported escape sequence; only \\\" and \\\\ are allowed")
	}
	b.WriteByte(next)
	p.pos += 2
	return nil
}

// word consumes a run of bare-literal characters, which covers keywords,
// unquoted values and anything a client might mistake for one.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.src) && isBareChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// unexpected reports what was found at p.pos where want was expected,
// naming unsupported AIP-160 syntax explicitly when that is what it is.
func (p *parser) unexpected(want string) error {
	if p.eof() {
		return errorf(p.pos, "expected %s, found end of filter", want)
	}
	switch c := p.src[p.pos]; c {
	case '(', ')':
		return errorf(p.pos, "parentheses are not supported")
	case '-':
		return errorf(p.pos, "negation with \"-\" is not supported")
	case ':':
		return errorf(p.pos, "the has operator \":\" is not supported")
	case '*':
		return errorf(p.pos, "wildcards are not supported")
	}
	// One punctuation character is quoted (it is the likely mistake, and
	// it is never personal data); a letter or digit starts a word, which is
	// not.
	if r, _ := utf8.DecodeRuneInString(p.src[p.pos:]); r < utf8.RuneSelf && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
		return errorf(p.pos, "expected %s, found %q", want, r)
	}
	return errorf(p.pos, "expected %s", want)
}

func (p *parser) knownFields() string {
	names := make([]string, 0, len(p.schema))
	for name := range p.schema {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// skipSpace reports whether it consumed anything, because whitespace is
// significant around AND.
func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.src) && isSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	return p.pos > start
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func isFieldStart(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }

func isFieldChar(c byte) bool { return isFieldStart(c) || c >= '0' && c <= '9' || c == '.' }

func isBareChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("_./:-", c) >= 0
}
