package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var allOps = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}

var testSchema = Schema{
	"status": {
		Kind:   KindEnum,
		Values: []string{"DRAFT", "SUBMITTED", "CLOSED"},
		Prefix: "CASE_STATUS_",
		Ops:    []Op{OpEq, OpNe},
	},
	"case_type":     {Kind: KindEnum, Values: []string{"RELIEF", "MEDICAL"}},
	"town_code":     {Kind: KindString},
	"overdue":       {Kind: KindBool},
	"age":           {Kind: KindInt, Ops: allOps},
	"household":     {Kind: KindResourceName, Collection: "households/"},
	"assignee.name": {Kind: KindString},
}

func eq(field, value string) Condition { return Condition{Field: field, Op: OpEq, Value: value} }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Condition
	}{
		{"empty", "", nil},
		{"whitespace only", " \t\n ", nil},
		{"example from the API guide", `status = SUBMITTED AND town_code = "500230101" AND overdue = true`, []Condition{
			eq("status", "SUBMITTED"),
			eq("town_code", "500230101"),
			{Field: "overdue", Op: OpEq, Value: "true", Bool: true},
		}},
		{"no spaces around operator", `status=DRAFT`, []Condition{eq("status", "DRAFT")}},
		{"leading and trailing whitespace", "  status = DRAFT\n", []Condition{eq("status", "DRAFT")}},
		{"tabs and newlines between tokens", "status\t=\tDRAFT\nAND\ttown_code = x", []Condition{eq("status", "DRAFT"), eq("town_code", "x")}},
		{"quoted enum", `status = "CLOSED"`, []Condition{eq("status", "CLOSED")}},
		{"enum prefix stripped", `status = CASE_STATUS_SUBMITTED`, []Condition{eq("status", "SUBMITTED")}},
		{"quoted enum prefix stripped", `status = "CASE_STATUS_CLOSED"`, []Condition{eq("status", "CLOSED")}},
		{"enum not equal", `status != DRAFT`, []Condition{{Field: "status", Op: OpNe, Value: "DRAFT"}}},
		{"enum != twice", `status != DRAFT AND status != CLOSED`, []Condition{
			{Field: "status", Op: OpNe, Value: "DRAFT"},
			{Field: "status", Op: OpNe, Value: "CLOSED"},
		}},
		{"bool false", `overdue = false`, []Condition{{Field: "overdue", Op: OpEq, Value: "false"}}},
		{"int canonicalised", `age = 007`, []Condition{{Field: "age", Op: OpEq, Value: "7", Int: 7}}},
		{"negative int", `age > -3`, []Condition{{Field: "age", Op: OpGt, Value: "-3", Int: -3}}},
		{"negative zero", `age = -0`, []Condition{{Field: "age", Op: OpEq, Value: "0"}}},
		{"int64 max", `age <= 9223372036854775807`, []Condition{{Field: "age", Op: OpLe, Value: "9223372036854775807", Int: 1<<63 - 1}}},
		{"int64 min", `age >= -9223372036854775808`, []Condition{{Field: "age", Op: OpGe, Value: "-9223372036854775808", Int: -1 << 63}}},
		{"int range", `age >= 18 AND age < 65`, []Condition{
			{Field: "age", Op: OpGe, Value: "18", Int: 18},
			{Field: "age", Op: OpLt, Value: "65", Int: 65},
		}},
		{"resource name bare", `household = households/h-123`, []Condition{eq("household", "households/h-123")}},
		{"resource name quoted", `household = "households/abc"`, []Condition{eq("household", "households/abc")}},
		{"bare string", `town_code = 500230101`, []Condition{eq("town_code", "500230101")}},
		{"escaped quote and backslash", `town_code = "a\"b\\c"`, []Condition{eq("town_code", `a"b\c`)}},
		{"empty string", `town_code = ""`, []Condition{eq("town_code", "")}},
		{"unicode string", `town_code = "丰都县 名山街道 ✓"`, []Condition{eq("town_code", "丰都县 名山街道 ✓")}},
		{"keywords inside strings are data", `town_code = "x AND status = CLOSED OR (y)"`, []Condition{eq("town_code", "x AND status = CLOSED OR (y)")}},
		{"SQL in a string value is just data", `town_code = "1; DROP TABLE cases"`, []Condition{eq("town_code", "1; DROP TABLE cases")}},
		{"SQL quote in a string value is just data", `town_code = "x' OR '1'='1"`, []Condition{eq("town_code", "x' OR '1'='1")}},
		{"dotted field", `assignee.name = "Li"`, []Condition{eq("assignee.name", "Li")}},
		{"exactly 16 conditions", strings.Repeat("age > 1 AND ", 15) + "age > 1", repeat(Condition{Field: "age", Op: OpGt, Value: "1", Int: 1}, 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, testSchema)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got.Conditions, tt.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.in, got.Conditions, tt.want)
			}
		})
	}
}

func repeat(c Condition, n int) []Condition {
	out := make([]Condition, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		pos      int
		msg      string // substring of the message
	}{
		{"OR", `status = DRAFT OR status = CLOSED`, 15, "OR is not supported"},
		{"lowercase and", `status = DRAFT and overdue = true`, 15, "must be uppercase"},
		{"NOT", `NOT overdue = true`, 0, "NOT is not supported"},
		{"NOT after AND", `status = DRAFT AND NOT overdue = true`, 19, "NOT is not supported"},
		{"minus negation", `-overdue = true`, 0, "negation"},
		{"parentheses", `(status = DRAFT)`, 0, "parentheses"},
		{"parenthesised value", `status = (DRAFT)`, 9, "parentheses"},
		{"function call", `town_code(x) = y`, 9, "parentheses"},
		{"has operator", `town_code:x`, 9, `has operator ":"`},
		{"wildcard bare", `town_code = *`, 12, "wildcards"},
		{"wildcard quoted", `town_code = "50023*"`, 12, "wildcards"},
		{"unknown field lists known fields", `foo = 1`, 0, `unknown field; known fields: age, assignee.name, case_type, household, overdue, status, town_code`},
		{"uppercase field", `Status = DRAFT`, 0, "field names are lowercase"},
		{"field starting with digit", `1a = 2`, 0, "expected a field name"},
		{"operator not allowed", `town_code != x`, 10, `operator "!=" is not allowed for field "town_code"; allowed: =`},
		{"ordering on enum", `status < DRAFT`, 7, `allowed: = !=`},
		{"missing operator", `status DRAFT`, 7, "expected a comparison operator"},
		{"double equals", `status == DRAFT`, 8, "expected a value"},
		{"missing value", `status =`, 8, "found end of filter"},
		{"missing value before AND", `status = AND overdue = true`, 9, `field "status": invalid value; allowed`},
		{"trailing AND", `status = DRAFT AND`, 18, "expected a condition after AND"},
		{"trailing AND and space", `status = DRAFT AND `, 19, "expected a condition after AND"},
		{"leading AND", `AND status = DRAFT`, 0, "lowercase"},
		{"AND without space", `status = "DRAFT"AND overdue = true`, 16, "expected whitespace before AND"},
		{"AND glued to next field", `status = DRAFT ANDoverdue = true`, 15, "expected AND"},
		{"trailing garbage", `status = DRAFT x`, 15, "expected AND"},
		{"trailing semicolon", `status = DRAFT;`, 14, `found ';'`},
		{"SQL after bare value", `town_code = 1; DROP TABLE cases`, 13, `found ';'`},
		{"SQL injection into enum", `status = "x' OR 1=1 --"`, 9, `invalid value; allowed: DRAFT, SUBMITTED, CLOSED`},
		{"unquoted SQL comment", `status = DRAFT --`, 15, "negation"},
		{"unknown enum value", `status = OPEN`, 9, "invalid value"},
		{"enum is case sensitive", `status = draft`, 9, "invalid value"},
		{"prefix alone", `status = CASE_STATUS_`, 9, "invalid value"},
		{"prefix not accepted without Prefix", `case_type = CASE_TYPE_RELIEF`, 12, "invalid value"},
		{"bool spelled differently", `overdue = TRUE`, 10, "want unquoted true or false"},
		{"bool as number", `overdue = 1`, 10, "want unquoted true or false"},
		{"quoted bool", `overdue = "true"`, 10, `a quoted literal is a string`},
		{"quoted int", `age = "5"`, 6, "must not be quoted"},
		{"int overflow", `age = 9223372036854775808`, 6, "out of range"},
		{"int with plus", `age = +5`, 6, "expected a value"},
		{"int hex", `age = 0x10`, 6, "want a decimal integer"},
		{"int with underscore", `age = 1_000`, 6, "want a decimal integer"},
		{"resource wrong collection", `household = members/1`, 12, `want a resource name like "households/{id}"`},
		{"resource empty id", `household = households/`, 12, "want a resource name"},
		{"resource nested id", `household = households/1/members/2`, 12, "want a resource name"},
		{"unterminated string", `town_code = "abc`, 12, "unterminated string"},
		{"unterminated after escape", `town_code = "abc\`, 16, "unterminated string"},
		{"escaped closing quote only", `town_code = "abc\"`, 12, "unterminated string"},
		{"unsupported escape", `town_code = "a\nb"`, 14, "unsupported escape"},
		{"tab inside string", "town_code = \"a\tb\"", 14, "tabs and line breaks"},
		{"NUL byte", "town_code = \"a\x00b\"", 14, "control character U+0000"},
		{"escape char", "status = DRAFT\x1b[2J", 14, "control character U+001B"},
		{"C1 control", "town_code = \"a\u0085\"", 14, "control character U+0085"},
		{"invalid UTF-8", "town_code = \"a\xffb\"", 14, "invalid UTF-8"},
		{"repeated equality", `status = DRAFT AND status = CLOSED`, 19, `field "status" is constrained more than once`},
		{"repeated identical equality", `overdue = true AND overdue = true`, 19, "more than once"},
		{"equality after range", `age > 1 AND age = 3`, 12, "more than once"},
		{"range after equality", `age = 3 AND age > 1`, 12, "more than once"},
		{"too many conditions", strings.Repeat("age > 1 AND ", 16) + "age > 1", 16 * len("age > 1 AND "), "too many conditions"},
		{"too long", `town_code = "` + strings.Repeat("x", MaxLength) + `"`, MaxLength, "longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, testSchema)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) = %+v, %v; want *Error", tt.in, got, err)
			}
			if fe.Pos != tt.pos || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("Parse(%q) error = %d %q; want %d, containing %q", tt.in, fe.Pos, fe.Msg, tt.pos, tt.msg)
			}
			if got.Conditions != nil {
				t.Errorf("Parse(%q) returned conditions alongside an error", tt.in)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse(`status = DRAFT AND foo = 1`, Schema{"status": testSchema["status"], "age": testSchema["age"]})
	want := `filter: position 19: unknown field; known fields: age, status`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
}

// Values, and words where a field name belongs, may be personal data:
// no message repeats any of the client's text, however short, beyond one
// punctuation character.
func TestErrorsNeverRepeatTheFilter(t *testing.T) {
	const id = "500230198506121230"
	for _, in := range []string{
		`status = "` + id + `"`, `status = ` + id, `age = ` + id + `0000`, `age = "` + id + `"`, `overdue = ` + id,
		`overdue = "` + id + `"`, `household = ` + id, `household = "households/` + id + `/x"`,
		id + ` = 1`, `status = DRAFT AND ` + id, `x` + id + ` = 1`, `x.` + id + ` = 1`, `Z` + id + ` = 1`,
		`status = DRAFT ` + id, `status ` + id, `town_code = "50023*` + id + `"`,
		`status = "` + strings.Repeat("丰", 40) + `"`,
	} {
		_, err := Parse(in, testSchema)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want error", in)
			continue
		}
		for _, part := range []string{id[:6], id[6:12], id[12:], "丰"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("Parse(%q): error %q repeats %q", in, err, part)
			}
		}
	}
}

// A schema mistake is the server's fault and must not be reported as an
// *Error, which would become a 400.
func TestSchemaBugIsNotClientError(t *testing.T) {
	_, err := Parse(`x = 1`, Schema{"x": {}})
	var fe *Error
	if err == nil || errors.As(err, &fe) {
		t.Errorf("error = %v; want a non-*Error error", err)
	}
}

func TestEmptyOpsMeansEqualOnly(t *testing.T) {
	schema := Schema{"x": {Kind: KindString, Ops: []Op{}}}
	if _, err := Parse(`x = 1`, schema); err != nil {
		t.Errorf(`Parse("x = 1") error: %v`, err)
	}
	if _, err := Parse(`x != 1`, schema); err == nil {
		t.Error(`Parse("x != 1") succeeded; want error`)
	}
}

func BenchmarkParse(b *testing.B) {
	const in = `status = CASE_STATUS_SUBMITTED AND town_code = "500230101" AND overdue = true AND age >= 18 AND household = households/h-42`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in, testSchema); err != nil {
			b.Fatal(err)
		}
	}
}
