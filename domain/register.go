package domain

import (
	"time"
	"unicode/utf8"
)

// The register's rules for a household: what its record must say beside the
// facts the priority rules read (household.go), checked on every create and
// update, on either transport.

// Approval is an accompaniment (随军) approval as the register keeps it: its
// number, date and approving unit (军人抚恤优待条例 Art 46 para 1).
type Approval struct {
	Number string
	Date   time.Time // zero when not given
	Unit   string
}

// Given reports whether any part of the approval is recorded.
func (a Approval) Given() bool { return a.Number != "" || !a.Date.IsZero() || a.Unit != "" }

// HouseholdRecord is a household as its rules check it: the facts and the
// details the register keeps with them.
type HouseholdRecord struct {
	Household
	// HardshipGrade is the hardship area's grade, 1 to 6, for
	// POST_TYPE_HARDSHIP_AREA; 0 otherwise.
	HardshipGrade int
	// Honour is the decorated servicemember's honour (功臣、英模).
	Honour   string
	Approval Approval
}

// Bounds of the graded fields.
const (
	MaxDisabilityGrade = 10
	MaxHardshipGrade   = 6
	maxCertificate     = 32
)

// StatusOf is the servicemember status a new record names: the status
// sent, or, from a client written before statuses existed, the one its
// category and rank mean (StatusFromCategory), with whether the category
// means decorated. OTHER_ENTITLED, and ACTIVE_DUTY_FAMILY or MERITORIOUS
// without an officer, NCO or conscript rank, name no status: field is then
// required.
func StatusOf(field string, status ServiceStatus, c Category, r Rank) (ServiceStatus, bool, error) {
	if status != "" {
		if !status.Valid() {
			return "", false, Invalid(field, "is not a known status")
		}
		return status, false, nil
	}
	if st, decorated, ok := StatusFromCategory(c, r); ok {
		return st, decorated, nil
	}
	return "", false, Invalid(field, "is required: the category alone does not say the servicemember's status (an active-duty category needs the rank category officer, NCO or conscript)")
}

// CheckHousehold applies the register's rules to a household record, prefix
// being the record's path in the request ("household"), and reports every
// violation at once. today is now; dates are judged in China time.
func CheckHousehold(prefix string, r HouseholdRecord, now time.Time) error {
	sm := prefix + ".servicemember."
	var vs []Violation
	if r.Status != "" && !r.Status.Valid() {
		vs = append(vs, Violation{Field: sm + "status", Description: "is not a known status"})
	}
	if r.DisabilityGrade < 0 || r.DisabilityGrade > MaxDisabilityGrade {
		vs = append(vs, refusal(RulePriorityDisabled, sm+"disability_grade", "must be 1 (most severe) to %d, or 0 when not disabled", MaxDisabilityGrade))
	}
	switch {
	case r.HardshipGrade < 0 || r.HardshipGrade > MaxHardshipGrade:
		vs = append(vs, refusal(RulePriorityHardshipPost, sm+"hardship_grade", "must be 1 to %d, or 0", MaxHardshipGrade))
	case r.HardshipGrade != 0 && r.Post != PostHardshipArea:
		vs = append(vs, refusal(RulePriorityHardshipPost, sm+"hardship_grade", "is only for a post of type POST_TYPE_HARDSHIP_AREA"))
	}
	if r.Honour != "" && !r.Decorated {
		vs = append(vs, refusal(RulePriorityDecorated, sm+"honour", "is only for a decorated servicemember (decorated = true)"))
	}
	vs = append(vs, checkApproval(prefix, r, now)...)
	return orNil(vs)
}

// checkApproval: an approval is whole (number, date, unit: 条例 Art 46), not
// dated in the future, and not for a conscript's family, who may not
// accompany (地位法 Art 42); a family settled at home under 条例 Art 48
// qualifies to accompany but does not, so it holds no approval and is not
// a conscript's either.
func checkApproval(prefix string, r HouseholdRecord, now time.Time) []Violation {
	var vs []Violation
	a, field := r.Approval, prefix+".accompaniment_approval"
	if a.Given() {
		if a.Number == "" {
			vs = append(vs, refusal(RulePlacementApproval, field+".number", "is required with an approval"))
		}
		if a.Unit == "" {
			vs = append(vs, refusal(RulePlacementApproval, field+".approving_unit", "is required with an approval"))
		}
		switch {
		case a.Date.IsZero():
			vs = append(vs, refusal(RulePlacementApproval, field+".approve_date", "is required with an approval"))
		case a.Date.After(Today(now)):
			vs = append(vs, refusal(RulePlacementApproval, field+".approve_date", "is in the future"))
		}
		if r.Status == ServiceActiveConscript {
			vs = append(vs, refusal(RulePlacementNoConscript, field, "a conscript's family cannot accompany"))
		}
	}
	if r.SettledAtHome {
		switch {
		case a.Given():
			vs = append(vs, refusal(RulePlacementSettledAtHome, prefix+".settled_at_home", "a family settled at home has no accompaniment approval"))
		case r.Status == ServiceActiveConscript:
			vs = append(vs, refusal(RulePlacementNoConscript, prefix+".settled_at_home", "a conscript's family does not qualify to accompany"))
		}
	}
	return vs
}

// CheckCertificateNumber applies rule PREFERENTIAL_CERTIFICATE to a 优待证
// number (条例 Art 37): at most 32 letters, digits and hyphens. The number
// identifies a person as surely as an ID number, so the register seals it
// at rest and masks it like one.
func CheckCertificateNumber(field, s string) error {
	if utf8.RuneCountInString(s) > maxCertificate {
		return Refuse(RuleCertificate, field, "must be at most %d characters", maxCertificate)
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return Refuse(RuleCertificate, field, "may hold only letters, digits and hyphens")
		}
	}
	return nil
}

// Today is now's calendar date in China, as midnight UTC: how dates are
// stored and compared.
func Today(now time.Time) time.Time {
	y, m, d := now.In(ChinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
