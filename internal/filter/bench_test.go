package filter_test

import (
	"testing"

	"github.com/fengdu-county/casework/internal/filter"
)

// Every list call parses its filter: these time the list benchmark's
// filter and the common call without one. The schema is shaped like the
// case list's; the service package benchmarks the real
// repository.CaseFilter, and the package's own BenchmarkParse a filter
// with a field of every kind.
var benchSchema = filter.Schema{
	"status":    {Kind: filter.KindEnum, Prefix: "CASE_STATUS_", Values: []string{"DRAFT", "SUBMITTED", "ACCEPTED", "IN_PROGRESS", "RESOLVED", "CLOSED", "REJECTED", "WITHDRAWN"}},
	"case_type": {Kind: filter.KindEnum, Prefix: "CASE_TYPE_", Values: []string{"EMPLOYMENT_PLACEMENT", "SCHOOL_ENROLLMENT", "ELDER_MEDICAL_HELP", "LEGAL_AID"}},
	"town_code": {Kind: filter.KindString},
	"household": {Kind: filter.KindResourceName, Collection: "households/"},
	"overdue":   {Kind: filter.KindBool},
	"placement_year": {Kind: filter.KindInt, Ops: []filter.Op{
		filter.OpEq, filter.OpNe, filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe}},
}

func benchParse(b *testing.B, s string) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filter.Parse(s, benchSchema); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTownStatusKind(b *testing.B) {
	benchParse(b, `town_code = "500230101" AND status = SUBMITTED AND case_type = CASE_TYPE_SCHOOL_ENROLLMENT`)
}

func BenchmarkParseEmpty(b *testing.B) { benchParse(b, "") }
