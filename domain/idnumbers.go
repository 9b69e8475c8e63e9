package domain

import (
	"errors"
	"time"

	"github.com/fengdu-county/casework/internal/idnumber"
)

// IDNumber is an ID number the document rules accepted, in its
// 18-character form.
type IDNumber struct {
	Number string
	// Converted: it was sent as a 15-digit first-generation number and
	// converted (rule ID_NUMBER_15_DIGIT); the check character was computed
	// here, not read from a card, so the record keeps that it was.
	Converted bool
	Info      idnumber.Info
}

// CheckIDNumber applies the document rules to the ID number sent in field:
// 18 characters with a correct check character and a real birth date
// (ID_NUMBER_GB11643), a province that GB/T 2260 lists, current or
// historical (ID_NUMBER_REGION_GBT2260), and a 15-digit first-generation
// number taken and converted (ID_NUMBER_15_DIGIT). now decides "in the
// future", in China time. A refusal names the field and the rule and, like
// every refusal, quotes no digit of the number.
func CheckIDNumber(field, s string, now time.Time) (IDNumber, error) {
	res, err := idnumber.Check(s, now.In(ChinaTime))
	switch {
	case err == nil:
		return IDNumber{Number: res.Number, Converted: res.Converted, Info: res.Info}, nil
	case errors.Is(err, idnumber.ErrRegion):
		return IDNumber{}, Refuse(RuleIDNumberRegion, field, "the first two digits are no province of GB/T 2260")
	case errors.Is(err, idnumber.ErrCentenarianSequence):
		return IDNumber{}, Refuse(RuleIDNumberLegacy, field, "%s", err.Error())
	}
	return IDNumber{}, Refuse(RuleIDNumberCheckDigit, field, "%s", err.Error())
}

// FindableIDNumber is the form of an ID number sent to find a record: a
// 15-digit number converted as CheckIDNumber converts it, so the record
// stored from it is found, and the form and check character checked. The
// region is not checked: a lookup refused for its region could never find
// a number stored before regions were checked.
func FindableIDNumber(field, s string, now time.Time) (string, error) {
	n := idnumber.Normalize(s)
	if len(n) == idnumber.LegacyLength {
		up, err := idnumber.Upgrade15(n)
		if err != nil {
			return "", Refuse(RuleIDNumberLegacy, field, "%s", err.Error())
		}
		n = up
	}
	if _, err := idnumber.Parse(n, now.In(ChinaTime)); err != nil {
		return "", Refuse(RuleIDNumberCheckDigit, field, "%s", err.Error())
	}
	return n, nil
}

// anyDay is late enough that no stored number's birth date is after it:
// reading the sex digit of a number already accepted needs no clock.
var anyDay = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// MemberWarnings lists the rules a member's record is doubtful under
// without being refused: ID_NUMBER_SEX_MATCHES_RELATION when the sex digit
// of the member's ID number contradicts the relation (a father whose number
// is a woman's, a spouse of the servicemember's own sex). servicemember is
// the servicemember's ID number, which a spouse is compared with; "" when
// unknown. A number that does not parse gives no warning: it was refused
// when it was written.
func MemberWarnings(r Relation, member, servicemember string) []RuleID {
	info, err := idnumber.Parse(member, anyDay)
	if err != nil {
		return nil
	}
	smSex := idnumber.SexUnknown
	if sm, err := idnumber.Parse(servicemember, anyDay); err == nil {
		smSex = sm.Sex()
	}
	if _, doubtful := idnumber.CheckSex(string(r), info, smSex); doubtful {
		return []RuleID{RuleIDNumberSex}
	}
	return nil
}
