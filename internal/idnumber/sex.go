package idnumber

// Sex as an ID number encodes it (odd sequence digit male, even female), or
// as a relation implies it.
type Sex uint8

// The sexes an ID number's sequence digit tells.
const (
	SexUnknown Sex = iota
	SexMale
	SexFemale
)

func (s Sex) String() string {
	switch s {
	case SexMale:
		return "male"
	case SexFemale:
		return "female"
	}
	return "unknown"
}

// Sex is the sex the number's 17th digit encodes.
func (i Info) Sex() Sex {
	if i.Male {
		return SexMale
	}
	return SexFemale
}

// The relations that imply a sex, spelled as the domain package spells its
// Relation values, so a caller passes string(relation).
const (
	RelationFather = "FATHER"
	RelationMother = "MOTHER"
	RelationSpouse = "SPOUSE"
)

// ExpectedSex is the sex a household member's relation to the servicemember
// implies: a father is male, a mother female, and a spouse the other sex
// than the servicemember (PRC law registers marriages between a man and a
// woman), which needs servicemember's sex; SexUnknown for any other relation
// (child, the person who raised the servicemember, other) or when the
// servicemember's sex is not known.
func ExpectedSex(relation string, servicemember Sex) Sex {
	switch relation {
	case RelationFather:
		return SexMale
	case RelationMother:
		return SexFemale
	case RelationSpouse:
		switch servicemember {
		case SexMale:
			return SexFemale
		case SexFemale:
			return SexMale
		}
	}
	return SexUnknown
}

// SexWarning says that a member's ID number encodes the other sex than the
// relation implies (a father whose number says female). It is a warning,
// not an error: the relation may have been picked wrongly, the number typed
// wrongly, or the record may be right and unusual; a person should look.
// It holds no part of the number.
type SexWarning struct {
	Relation string
	Expected Sex
	Encoded  Sex
}

func (w SexWarning) String() string {
	return "the ID number's sex digit says " + w.Encoded.String() + ", but a " +
		w.Relation + " is expected to be " + w.Expected.String()
}

// CheckSex compares the sex info encodes with the sex relation implies (see
// ExpectedSex) and returns a warning when they differ. ok is false when they
// agree or the relation implies no sex.
func CheckSex(relation string, info Info, servicemember Sex) (w SexWarning, ok bool) {
	want := ExpectedSex(relation, servicemember)
	if want == SexUnknown || want == info.Sex() {
		return SexWarning{}, false
	}
	return SexWarning{Relation: relation, Expected: want, Encoded: info.Sex()}, true
}
