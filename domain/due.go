package domain

import (
	"strconv"
	"time"
)

// ChinaTime is UTC+8. China has had no daylight saving time since
// 1991, so a fixed zone is exact and avoids depending on tzdata being present.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// ValidSchoolYear reports whether s is a school year of the form "2026-2027".
func ValidSchoolYear(s string) bool {
	_, ok := parseSchoolYear(s)
	return ok
}

func parseSchoolYear(s string) (int, bool) {
	if len(s) != 9 || s[4] != '-' {
		return 0, false
	}
	first, err1 := fourDigits(s[:4])
	second, err2 := fourDigits(s[5:])
	if err1 != nil || err2 != nil || second != first+1 {
		return 0, false
	}
	return first, true
}

// fourDigits rejects signs and spaces that strconv.Atoi would let through.
func fourDigits(s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.Atoi(s)
}
