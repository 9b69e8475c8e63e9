package pagetoken_test

import (
	"bytes"
	"testing"

	"github.com/fengdu-county/casework/internal/pagetoken"
)

// Every list page decodes the token it was given and encodes the next.

var (
	benchKey   = bytes.Repeat([]byte{7}, 32)
	benchQuery = `cases|town_code = "500230101" AND status = CLOSED AND case_type = SCHOOL_ENROLLMENT|`
	benchToken = pagetoken.Token{Query: benchQuery, Last: "2026-07-02T08:12:19.577803Z", LastID: "019f21e2-ccf9-7159-9fdf-d68b6029ddab"}
)

func BenchmarkEncode(b *testing.B) {
	c := pagetoken.NewCodec(benchKey)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Encode(benchToken)
	}
}

func BenchmarkDecode(b *testing.B) {
	c := pagetoken.NewCodec(benchKey)
	s := c.Encode(benchToken)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(s, benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}
