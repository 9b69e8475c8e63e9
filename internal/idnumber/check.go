package idnumber

import (
	"errors"
	"fmt"
	"time"
)

// LegacyLength is the length of a first-generation ID number (GB 11643-1989):
// 6-digit region, 6-digit birth date without the century, 3-digit sequence,
// no check character.
const LegacyLength = 15

var (
	// ErrLegacyLength wraps ErrLength for Check, which also takes the
	// 15-digit first-generation numbers.
	ErrLegacyLength = fmt.Errorf("%w (or 15 digits for a first-generation number)", ErrLength)
	// ErrCentenarianSequence is returned for a 15-digit number whose
	// sequence is 996 to 999. The 1989 scheme kept those for people aged
	// 100 or over when the cards were first issued, i.e. born in the
	// 1800s, so inserting "19" would give the wrong century; such a holder
	// was born before 1900, which Parse refuses anyway.
	ErrCentenarianSequence = errors.New("first-generation ID number uses a sequence reserved for people born before 1900")
)

// Upgrade15 converts a 15-digit first-generation number to the 18-character
// form: "19" goes before the two-digit birth year and the GB 11643-1999 check
// character is appended. GB 11643-1999 does not itself define the conversion;
// this is the conversion public bodies apply. It checks the shape only (15
// ASCII digits, no centenarian sequence); Parse or Check checks the result.
func Upgrade15(s string) (string, error) {
	if len(s) != LegacyLength {
		return "", ErrLegacyLength
	}
	if !allDigits(s) {
		return "", ErrFormat
	}
	if seq := s[12:15]; seq >= "996" {
		return "", ErrCentenarianSequence
	}
	body := s[:6] + "19" + s[6:]
	return body + string(CheckDigit(body)), nil
}

// Result is what Check learns from an ID number.
type Result struct {
	// Number is the 18-character number: the input normalised, or the
	// conversion of a 15-digit one.
	Number string
	Info   Info
	// Converted is true when the input was a 15-digit first-generation
	// number; keep it with the record, since the check character was
	// computed here, not read from a card.
	Converted bool
	Region    Region
}

// Check is Parse plus what Parse leaves out: it takes 15-digit
// first-generation numbers too (converting them with Upgrade15) and checks
// the region code against GB/T 2260 with LookupRegion. Every error wraps one
// of the sentinels (ErrLength, ErrFormat, ErrCheckDigit, ErrBirthDate,
// ErrFutureBirthDate, ErrCentenarianSequence, ErrRegion) and, like Parse's,
// repeats nothing of the input.
func Check(s string, now time.Time) (Result, error) {
	n := Normalize(s)
	var res Result
	switch len(n) {
	case Length:
	case LegacyLength:
		up, err := Upgrade15(n)
		if err != nil {
			return Result{}, err
		}
		n, res.Converted = up, true
	default:
		return Result{}, ErrLegacyLength
	}
	info, err := Parse(n, now)
	if err != nil {
		return Result{}, err
	}
	region, err := LookupRegion(info.Region)
	if err != nil {
		return Result{}, err
	}
	res.Number, res.Info, res.Region = n, info, region
	return res, nil
}
