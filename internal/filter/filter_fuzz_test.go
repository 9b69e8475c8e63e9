package filter

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		`status = SUBMITTED AND town_code = "500230101" AND overdue = true`,
		`status = CASE_STATUS_CLOSED AND age >= -12 AND age < 99`,
		`household = "households/h-1" AND assignee.name = "李\"\\"`,
		`town_code = "1; DROP TABLE cases"`,
		`status = "x' OR 1=1 --"`,
		`(status = DRAFT) OR NOT -overdue:true`,
		"status = DRAFT\x00",
		`town_code = "unterminated`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s, testSchema)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) returned %T, want *Error", s, err)
			}
			if fe.Pos < 0 || fe.Pos > len(s) {
				t.Fatalf("Parse(%q) error position %d outside input", s, fe.Pos)
			}
			return
		}
		if len(got.Conditions) > MaxConditions {
			t.Fatalf("Parse(%q) returned %d conditions", s, len(got.Conditions))
		}
		for _, c := range got.Conditions {
			field, ok := testSchema[c.Field]
			if !ok {
				t.Fatalf("Parse(%q) returned unknown field %q", s, c.Field)
			}
			if !field.allows(c.Op) {
				t.Fatalf("Parse(%q) returned disallowed op %q for %q", s, c.Op, c.Field)
			}
		}
	})
}
