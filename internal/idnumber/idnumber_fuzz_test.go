package idnumber

import (
	"strings"
	"testing"
	"time"
)

// fixedMessages is every error message Parse can produce. Requiring messages
// to come from this set proves they are built without any input text.
var fixedMessages = map[string]bool{
	ErrLength.Error():          true,
	ErrFormat.Error():          true,
	ErrCheckDigit.Error():      true,
	ErrFutureBirthDate.Error(): true,
	errNotADate.Error():        true,
	errTooOld.Error():          true,
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"11010519491231002X",
		"11010519491231002x",
		"500230198506121230",
		"50023020230229001",
		" 500230200002290021 ",
		"50023019850612123１",
		"500230189912310010",
		"500230209912310010",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		_, err := Parse(s, now)
		if err == nil {
			n := Normalize(s)
			if len(n) != Length {
				t.Fatalf("accepted input normalises to length %d", len(n))
			}
			if CheckDigit(n) != n[17] {
				t.Fatal("accepted input has a wrong check digit")
			}
			return
		}
		msg := err.Error()
		if !fixedMessages[msg] {
			t.Fatalf("unexpected error message %q", msg)
		}
		// An input that is itself a piece of a fixed message (say "must be")
		// is trivially "contained"; that is message text, not personal data.
		if len(s) >= 6 && strings.Contains(msg, s) && !inAnyFixedMessage(s) {
			t.Fatalf("error message contains the input")
		}
	})
}

func inAnyFixedMessage(s string) bool {
	for m := range fixedMessages {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// checkMessages is every error message Check can produce beyond Parse's.
var checkMessages = map[string]bool{
	ErrLegacyLength.Error():        true,
	ErrCentenarianSequence.Error(): true,
	ErrRegion.Error():              true,
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"",
		"500230850612123",
		"512324850612996",
		"51232485061212X",
		"990101850612123",
		" 500230850612123 ",
		"500230198506121230",
		"830000199002020467",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		res, err := Check(s, now)
		if err == nil {
			if len(res.Number) != Length || CheckDigit(res.Number) != res.Number[17] {
				t.Fatal("accepted result is not a valid 18-character number")
			}
			if res.Converted != (len(Normalize(s)) == LegacyLength) {
				t.Fatal("Converted does not match the input's length")
			}
			if _, err := LookupRegion(res.Number[:6]); err != nil {
				t.Fatal("accepted a number whose region LookupRegion refuses")
			}
			return
		}
		msg := err.Error()
		if !fixedMessages[msg] && !checkMessages[msg] {
			t.Fatalf("unexpected error message %q", msg)
		}
	})
}
