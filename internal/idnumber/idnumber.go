// Package idnumber validates PRC resident identity numbers (GB 11643-1999)
// and masks them for display. Parse checks the 18-character form; Check adds
// the region code's check against GB/T 2260 (region.go) and takes the 15-digit
// first-generation numbers, converting them (check.go). sex.go compares the
// sex an ID number encodes with the one a household relation implies.
//
// ID numbers are sensitive personal data. Nothing in this package ever puts
// the number, or any part of it, into an error message: errors end up in logs
// and API responses, where a leaked number cannot be taken back.
package idnumber

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Length is the length of a current (second-generation) ID number. The
// 15-digit first-generation cards have been invalid since 2013 and Parse does
// not accept their numbers; records and old documents still carry them, and
// Check converts them (LegacyLength).
const Length = 18

// Sentinel errors; every error returned by Parse wraps exactly one of them so
// callers can tell the kinds apart with errors.Is.
var (
	ErrLength          = errors.New("ID number must be 18 characters")
	ErrFormat          = errors.New("ID number must be 17 digits followed by a digit or X")
	ErrCheckDigit      = errors.New("ID number check digit does not match (GB 11643)")
	ErrBirthDate       = errors.New("birth date in the ID number is not valid")
	ErrFutureBirthDate = errors.New("birth date in the ID number is in the future")
)

// The two ways a birth date is invalid; both wrap ErrBirthDate so callers
// need only one check, while logs still say which it was.
var (
	errNotADate = fmt.Errorf("%w: not a real calendar date", ErrBirthDate)
	errTooOld   = fmt.Errorf("%w: year is before %d", ErrBirthDate, minBirthYear)
)

// minBirthYear rejects dates that parse but cannot belong to a living
// resident; they almost always mean a mistyped number.
const minBirthYear = 1900

// Info is what an ID number tells about its holder.
type Info struct {
	// Region is the administrative division code of first registration
	// (the first 6 digits).
	Region string
	// BirthDate is midnight UTC of the birth date.
	BirthDate time.Time
	// Male is true when the sequence digit (the 17th) is odd.
	Male bool
}

// weights are the GB 11643 / ISO 7064 MOD 11-2 weights for digits 1..17.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChars maps the weighted sum mod 11 to the check character.
const checkChars = "10X98765432"

// CheckDigit returns the check character for the first 17 digits of body.
// body must hold at least 17 ASCII digits; callers validate that first.
func CheckDigit(body string) byte {
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return checkChars[sum%11]
}

// Parse validates s (see Normalize for the accepted spellings) and returns
// what it encodes. The birth date must be a real date from 1900 on and not
// later than now's calendar date (taken in now's location, so a caller passing
// China time gets China's "today").
func Parse(s string, now time.Time) (Info, error) {
	s = Normalize(s)
	if len(s) != Length {
		return Info{}, ErrLength
	}
	if !wellFormed(s) {
		return Info{}, ErrFormat
	}
	if CheckDigit(s) != s[17] {
		return Info{}, ErrCheckDigit
	}
	birth, err := birthDate(s[6:14], now)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Region:    s[:6],
		BirthDate: birth,
		Male:      (s[16]-'0')%2 == 1,
	}, nil
}

// wellFormed reports whether s is 17 ASCII digits followed by a digit or 'X'.
func wellFormed(s string) bool {
	for i := 0; i < 17; i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return isDigit(s[17]) || s[17] == 'X'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// birthDate parses the YYYYMMDD part. time.Date normalises out-of-range
// values (Feb 30 becomes Mar 2), so a round trip is how non-dates are caught.
func birthDate(yyyymmdd string, now time.Time) (time.Time, error) {
	year, month, day := atoi(yyyymmdd[:4]), atoi(yyyymmdd[4:6]), atoi(yyyymmdd[6:8])
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Year() != year || int(d.Month()) != month || d.Day() != day {
		return time.Time{}, errNotADate
	}
	if year < minBirthYear {
		return time.Time{}, errTooOld
	}
	ny, nm, nd := now.Date()
	if d.After(time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, ErrFutureBirthDate
	}
	return d, nil
}

// atoi converts a string already known to be ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Normalize trims surrounding white space and upper-cases a trailing 'x',
// the two differences people introduce when typing a valid number.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "x") {
		s = s[:len(s)-1] + "X"
	}
	return s
}

// Mask keeps the last 4 characters, which staff use to tell people apart,
// and stars the rest. The region code stays hidden too: with it and a birth
// date shown elsewhere, the last four would rebuild the number. Strings too
// short to keep the end are starred entirely rather than leak most of it.
func Mask(s string) string {
	return keepEnds(s, 0, 4)
}

// MaskPhone masks a phone number: an 11-digit mainland mobile keeps the
// carrier prefix (3) and last 4, as on bank and telecom statements; anything
// else keeps only the last 2.
func MaskPhone(s string) string {
	if len(s) == 11 && allDigits(s) {
		return keepEnds(s, 3, 4)
	}
	return keepEnds(s, 0, 2)
}

// keepEnds stars everything but the first head and last tail characters
// (counted in runes so multi-byte input is not split). If the string is too
// short to star anything, all of it is starred.
func keepEnds(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		return strings.Repeat("*", len(r))
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// Make builds a valid ID number from a 6-digit region code, a birth date and
// a 3-digit sequence (odd for men, even for women). It serves test fixtures
// and benchmark data sets, which must never use real people's numbers.
func Make(region string, birth time.Time, seq int) string {
	body := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq%1000)
	return body + string(CheckDigit(body))
}
