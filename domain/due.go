package domain

import (
	"strconv"
	"time"
)

// Default terms from submission to the due time, per kind.
const (
	// LegalAidTerm: the Legal Aid Law (法律援助法) art. 43 gives a legal-aid
	// body 7 working days to decide on an application. We count 7 calendar
	// days, the conservative reading, so the case is never due later than
	// the law allows and no holiday calendar is needed.
	LegalAidTerm = 7 * 24 * time.Hour
	// ElderMedicalHelpTerm is short because medical needs are urgent; the
	// county's green channel for military elders is meant to act in days.
	ElderMedicalHelpTerm = 3 * 24 * time.Hour
	// EmploymentPlacementTerm allows for a recruitment round: finding and
	// confirming a job for an accompanying family member takes months.
	EmploymentPlacementTerm = 90 * 24 * time.Hour
	// SchoolEnrollmentTerm is the default; see DueTime for the term-start cap.
	SchoolEnrollmentTerm = 30 * 24 * time.Hour
)

// ChinaTime is UTC+8. China has had no daylight saving time since
// 1991, so a fixed zone is exact and avoids depending on tzdata being present.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// DueTime returns, in UTC, when a case submitted at submitted must be
// answered. For school enrollment, schoolYear ("2026-2027", may be empty) caps
// the due time at the last second of 31 August (China time) of its first
// year, since a place is useless once term has begun; a cap already in the
// past is ignored, as is a malformed school year. Unknown kinds get the
// shortest term so a mis-typed case surfaces early rather than never.
func DueTime(k Kind, submitted time.Time, schoolYear string) time.Time {
	due := submitted.Add(term(k))
	if k == KindSchoolEnrollment {
		if start, ok := termStartDeadline(schoolYear); ok && start.After(submitted) && start.Before(due) {
			due = start
		}
	}
	return due.UTC()
}

func term(k Kind) time.Duration {
	switch k {
	case KindLegalAid:
		return LegalAidTerm
	case KindEmploymentPlacement:
		return EmploymentPlacementTerm
	case KindSchoolEnrollment:
		return SchoolEnrollmentTerm
	default:
		return ElderMedicalHelpTerm
	}
}

// termStartDeadline returns 31 August 23:59:59 China time of the year the
// school year starts in. It accepts only "YYYY-YYYY" with consecutive years.
func termStartDeadline(schoolYear string) (time.Time, bool) {
	y, ok := parseSchoolYear(schoolYear)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.August, 31, 23, 59, 59, 0, ChinaTime), true
}

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
