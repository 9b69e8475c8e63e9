package idnumber_test

import (
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/idnumber"
)

// Every household and member write validates an ID number, and every
// masked read masks one or two: these are on the hot path of the batch
// import and of lists.

var benchNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.FixedZone("CST", 8*60*60))

// BenchmarkNormalizeAndParse is what the service does with every ID number
// it is given (the package's own BenchmarkParse times Parse alone).
func BenchmarkNormalizeAndParse(b *testing.B) {
	n := " " + idnumber.Make("500230", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), 123) + " "
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idnumber.Parse(idnumber.Normalize(n), benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInvalid(b *testing.B) {
	n := idnumber.Make("500230", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), 123)
	bad := n[:17] + "0" // a wrong check digit
	if bad == n {
		bad = n[:17] + "1"
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = idnumber.Parse(bad, benchNow)
	}
}

func BenchmarkMask(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = idnumber.Mask("50023019920304124X")
		_ = idnumber.MaskPhone("13800000000")
	}
}
