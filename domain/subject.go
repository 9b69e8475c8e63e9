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
	// CannotLiveIndependently marks an adult who cannot live on their own
	// (不能独立生活), family under 地位法 Arts 42 and 68.
	CannotLiveIndependently bool
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
