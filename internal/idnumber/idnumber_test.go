package idnumber

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fengdu is the region code of Fengdu County; test numbers are built from it
// with a made-up birth date and sequence, never taken from real people.
const fengdu = "500230"

// now is a fixed "today" so the tests do not depend on the clock.
var now = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)

// withCheck appends the correct check character to a 17-digit body. It
// computes the checksum independently of CheckDigit so a bug there is caught.
func withCheck(t testing.TB, body string) string {
	t.Helper()
	if len(body) != 17 {
		t.Fatalf("test body must be 17 digits, got %d", len(body))
	}
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

// id builds a valid number for Fengdu with the given birth date and 3-digit
// sequence.
func id(t testing.TB, yyyymmdd, seq string) string {
	t.Helper()
	return withCheck(t, fengdu+yyyymmdd+seq)
}

// wrongCheck returns s with its check character replaced by a wrong one.
func wrongCheck(s string) string {
	last := s[17]
	for _, c := range []byte("0123456789X") {
		if c != last {
			return s[:17] + string(c)
		}
	}
	panic("unreachable")
}

// xNumber finds a valid number whose check character is X, so lowercase
// handling is exercised on a number that is otherwise valid.
func xNumber(t testing.TB) string {
	t.Helper()
	for seq := 0; seq < 1000; seq++ {
		s := id(t, "19900101", pad3(seq))
		if s[17] == 'X' {
			return s
		}
	}
	t.Fatal("no sequence gives check character X")
	return ""
}

func pad3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func TestParseValid(t *testing.T) {
	x := xNumber(t)
	tests := []struct {
		name  string
		in    string
		birth time.Time
		male  bool
	}{
		{"male odd sequence", id(t, "19850612", "123"), date(1985, 6, 12), true},
		{"female even sequence", id(t, "19850612", "124"), date(1985, 6, 12), false},
		{"check X", x, date(1990, 1, 1), x[16]%2 == 1},
		{"lowercase x", strings.ToLower(x), date(1990, 1, 1), x[16]%2 == 1},
		{"surrounding spaces", "  " + id(t, "20000101", "001") + " ", date(2000, 1, 1), true},
		{"leap day in leap year", id(t, "20000229", "002"), date(2000, 2, 29), false},
		{"leap day 2024", id(t, "20240229", "003"), date(2024, 2, 29), true},
		{"born today", id(t, "20260315", "005"), date(2026, 3, 15), true},
		{"first allowed year", id(t, "19000101", "007"), date(1900, 1, 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			if err != nil {
				t.Fatalf("Parse: unexpected error %v", err)
			}
			want := Info{Region: fengdu, BirthDate: tt.birth, Male: tt.male}
			if got != want {
				t.Errorf("Parse = %+v, want %+v", got, want)
			}
		})
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseErrors(t *testing.T) {
	valid := id(t, "19850612", "123")
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrLength},
		{"17 chars", valid[:17], ErrLength},
		{"19 chars", valid + "1", ErrLength},
		{"15-digit old format", "500230850612123", ErrLength},
		{"multibyte same byte length", "50023019850612１1", ErrFormat},
		{"letter in body", "50023A" + valid[6:], ErrFormat},
		{"X not last", "X" + valid[1:], ErrFormat},
		{"other letter last", valid[:17] + "Y", ErrFormat},
		{"inner space", valid[:8] + " " + valid[9:], ErrFormat},
		{"wrong check digit", wrongCheck(valid), ErrCheckDigit},
		{"Feb 29 in non-leap year", id(t, "20230229", "001"), ErrBirthDate},
		{"Feb 29 in 1900 (not leap)", id(t, "19000229", "001"), ErrBirthDate},
		{"Feb 30", id(t, "20230230", "001"), ErrBirthDate},
		{"month 13", id(t, "20231301", "001"), ErrBirthDate},
		{"month 00", id(t, "20230001", "001"), ErrBirthDate},
		{"day 00", id(t, "20230100", "001"), ErrBirthDate},
		{"April 31", id(t, "20230431", "001"), ErrBirthDate},
		{"before 1900", id(t, "18991231", "001"), ErrBirthDate},
		{"tomorrow", id(t, "20260316", "001"), ErrFutureBirthDate},
		{"next year", id(t, "20270101", "001"), ErrFutureBirthDate},
	}
	sentinels := []error{ErrLength, ErrFormat, ErrCheckDigit, ErrBirthDate, ErrFutureBirthDate}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			for _, s := range sentinels {
				if !errors.Is(s, tt.want) && errors.Is(err, s) {
					t.Errorf("error also matches %v; kinds must be distinct", s)
				}
			}
		})
	}
}

// TestParseFutureUsesNowsCalendarDay checks that "today" is taken in now's
// own location: at 01:00 China time on 16 March it is still 15 March in UTC.
func TestParseFutureUsesNowsCalendarDay(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	chinaMorning := time.Date(2026, 3, 16, 1, 0, 0, 0, cst)
	in := id(t, "20260316", "001")
	if _, err := Parse(in, chinaMorning); err != nil {
		t.Errorf("born today in China time: unexpected error %v", err)
	}
	if _, err := Parse(in, chinaMorning.UTC()); !errors.Is(err, ErrFutureBirthDate) {
		t.Errorf("same instant in UTC: error = %v, want ErrFutureBirthDate", err)
	}
}

func TestErrorMessagesDoNotLeakInput(t *testing.T) {
	valid := id(t, "19850612", "123")
	inputs := []string{
		valid[:17],
		valid + "9",
		"50023A" + valid[6:],
		wrongCheck(valid),
		id(t, "20230229", "001"),
		id(t, "18991231", "001"),
		id(t, "20270101", "001"),
	}
	for _, in := range inputs {
		_, err := Parse(in, now)
		if err == nil {
			t.Fatalf("input #%d: expected an error", len(in))
		}
		msg := err.Error()
		// Check meaningful fragments too: region, birth date and the tail.
		for _, part := range []string{in, in[:6], in[6:14], in[len(in)-4:]} {
			if strings.Contains(msg, part) {
				t.Errorf("error message %q contains part of the input", msg)
			}
		}
	}
}

func TestCheckDigit(t *testing.T) {
	// 11010519491231002X is the worked example printed in GB 11643-1999.
	if got := CheckDigit("11010519491231002"); got != 'X' {
		t.Errorf("CheckDigit(standard example) = %c, want X", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  500230198506121234 ", "500230198506121234"},
		{"50023019850612123x", "50023019850612123X"},
		{"\t50023019850612123x\n", "50023019850612123X"},
		{"50023019850612123X", "50023019850612123X"},
		{"x", "X"},
		{"xx", "xX"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"50023019850612123X", "**************123X"},
		{"500230850612123", "***********2123"},
		{"12345", "*2345"},
		{"1234", "****"}, // nothing would be hidden
		{"123", "***"},
		{"", ""},
		{"丰都县五百零二三零一二三四", "*********一二三四"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"023-70612345", "**********45"},
		{"70612345", "******45"},
		{"1381234567a", "*********7a"},
		{"12", "**"},
		{"1", "*"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	in := id(b, "19850612", "123")
	for b.Loop() {
		if _, err := Parse(in, now); err != nil {
			b.Fatal(err)
		}
	}
}
