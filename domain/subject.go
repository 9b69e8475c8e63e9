package domain

import (
	"slices"
	"strings"
	"time"
)

// Kind is the kind of service a case asks for.
type Kind string

// The kinds, stored as-is.
const (
	KindEmploymentPlacement Kind = "EMPLOYMENT_PLACEMENT"
	KindSchoolEnrollment    Kind = "SCHOOL_ENROLLMENT"
	KindElderMedicalHelp    Kind = "ELDER_MEDICAL_HELP"
	KindLegalAid            Kind = "LEGAL_AID"
)

var kinds = []Kind{KindEmploymentPlacement, KindSchoolEnrollment, KindElderMedicalHelp, KindLegalAid}

// Kinds lists every kind of case.
func Kinds() []Kind { return slices.Clone(kinds) }

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// words spells the kind for people: "employment placement".
func (k Kind) words() string {
	return strings.ToLower(strings.ReplaceAll(string(k), "_", " "))
}

// Relation is how a household member is related to the servicemember.
type Relation string

// The relations, stored as-is.
const (
	RelationSpouse Relation = "SPOUSE"
	RelationChild  Relation = "CHILD"
	RelationFather Relation = "FATHER"
	RelationMother Relation = "MOTHER"
	RelationOther  Relation = "OTHER"
	// RelationCarer is the person who raised the servicemember (扶养人).
	RelationCarer Relation = "CARER"
	// RelationDependentSibling is a sibling the servicemember supported,
	// family of survivors (地位法 Art 68).
	RelationDependentSibling Relation = "DEPENDENT_SIBLING"
)

var relations = []Relation{RelationSpouse, RelationChild, RelationFather, RelationMother, RelationOther,
	RelationCarer, RelationDependentSibling}

// Relations lists every relation.
func Relations() []Relation { return slices.Clone(relations) }

// Valid reports whether r is one of the defined relations.
func (r Relation) Valid() bool { return slices.Contains(relations, r) }

// Subject is the household member a case is opened for, reduced to what the
// rules need. It deliberately carries no name or ID number, so nothing built
// from it can leak them.
type Subject struct {
	Relation Relation
	// BirthDate is the member's date of birth; only its calendar date is used.
	BirthDate time.Time
	// Accompanying marks an accompanying family member (随军家属): approved
	// by the military to live with the servicemember at the garrison.
	Accompanying bool
}

// School age bounds, in full years. Kindergarten intake starts at about 2.5
// to 3, so a child who has turned 2 may apply for the coming year; senior
// high school ends at about 18, after which the education preferential
// treatment no longer applies.
const (
	minSchoolAge = 2
	maxSchoolAge = 18
)

const subjectField = "case.subject"

// CheckSubject reports, as a ValidationError on case.subject, when the member
// is not someone the kind of service is for. now decides ages.
func CheckSubject(k Kind, s Subject, now time.Time) error {
	if !s.Relation.Valid() {
		return Invalid(subjectField, "relation %q is not a known relation", string(s.Relation))
	}
	switch k {
	case KindSchoolEnrollment:
		return checkSchoolChild(s, now)
	case KindElderMedicalHelp:
		if s.Relation != RelationFather && s.Relation != RelationMother {
			return Invalid(subjectField, "elder medical help is for a parent (FATHER or MOTHER); the subject is %s", s.Relation)
		}
	case KindEmploymentPlacement:
		// Placement is a legal duty for spouses and for other members the
		// military approved to accompany the servicemember, not for anyone
		// in the household.
		if s.Relation != RelationSpouse && !(s.Relation == RelationOther && s.Accompanying) {
			return Invalid(subjectField, "employment placement is for a spouse or an accompanying family member (随军家属); the subject is %s", describeMember(s))
		}
	case KindLegalAid:
		// Any family member may need legal help.
	default:
		return Invalid("case.kind", "kind %q is not a known case kind", string(k))
	}
	return nil
}

func checkSchoolChild(s Subject, now time.Time) error {
	if s.Relation != RelationChild {
		return Invalid(subjectField, "school enrollment is for a child; the subject is %s", s.Relation)
	}
	if s.BirthDate.IsZero() {
		return Invalid(subjectField, "school enrollment needs the child's birth date to check school age (%d to %d)", minSchoolAge, maxSchoolAge)
	}
	age := AgeAt(s.BirthDate, now)
	if age < minSchoolAge || age > maxSchoolAge {
		return Invalid(subjectField, "school enrollment is for a child of school age (%d to %d); the subject is %d", minSchoolAge, maxSchoolAge, age)
	}
	return nil
}

func describeMember(s Subject) string {
	if s.Relation == RelationOther {
		return "OTHER and not accompanying"
	}
	return string(s.Relation)
}

// AgeAt returns the full years between the birth date and now's calendar date
// (in now's location, so a caller passing China time gets China's "today").
// Someone born on 29 February turns a year older on 1 March in common years.
// The result is negative for a birth date after now.
func AgeAt(birth, now time.Time) int {
	by, bm, bd := birth.Date()
	ny, nm, nd := now.Date()
	age := ny - by
	if nm < bm || (nm == bm && nd < bd) {
		age--
	}
	return age
}
