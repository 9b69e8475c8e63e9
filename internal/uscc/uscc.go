// Package uscc checks unified social credit codes (统一社会信用代码,
// GB 32100-2015): the 18-character number every registered organisation
// carries, whose last character is a check character over the first 17.
package uscc

import (
	"errors"
	"strings"
)

// alphabet is the code's character set in value order: the digits, then the
// capital letters without I, O, Z, S and V (values 0 to 30).
const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// weights are the positions' weights, 3^(i) mod 31.
var weights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// Errors Check returns; none repeats the code.
var (
	ErrLength    = errors.New("must be 18 characters")
	ErrCharacter = errors.New("may hold only digits and the capital letters other than I, O, Z, S and V")
	ErrCheck     = errors.New("check character does not match (GB 32100-2015)")
)

// CheckCharacter is the check character of the code's first 17 characters,
// which must be from the alphabet.
func CheckCharacter(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ErrLength
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(alphabet, first17[i])
		if v < 0 {
			return 0, ErrCharacter
		}
		sum += v * weights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return alphabet[c], nil
}

// Normalize trims spaces and upper-cases a code as people type it.
func Normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Check reports whether code (already normalised) is a well-formed unified
// social credit code.
func Check(code string) error {
	if len(code) != 18 {
		return ErrLength
	}
	want, err := CheckCharacter(code[:17])
	if err != nil {
		return err
	}
	if strings.IndexByte(alphabet, code[17]) < 0 {
		return ErrCharacter
	}
	if code[17] != want {
		return ErrCheck
	}
	return nil
}
