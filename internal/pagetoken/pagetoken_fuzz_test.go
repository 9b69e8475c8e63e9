package pagetoken

import (
	"testing"
)

// FuzzDecode checks that Decode never panics and accepts nothing but
// Encode's own output: any token it accepts must re-encode to exactly the
// same string. Random input should essentially never get that far.
func FuzzDecode(f *testing.F) {
	c := testCodec()
	for _, tok := range []Token{
		{Query: testQuery, Last: "2026-02-28T10:11:12Z", LastID: "c-1"},
		{Query: testQuery, Desc: true},
	} {
		s := c.Encode(tok)
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := c.Decode(s, testQuery)
		if err != nil {
			return
		}
		if again := c.Encode(tok); again != s {
			t.Fatalf("Decode accepted %q, which Encode would write as %q", s, again)
		}
	})
}
