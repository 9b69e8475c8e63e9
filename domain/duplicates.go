package domain

import (
	"fmt"
	"strings"
	"unicode"
)

// MatchKeys are what the fuzzy duplicate check compares of a person: the
// name with the birth date, and the name with a phone. The store keeps
// only keyed hashes of them; "" means the key is unknown (no phone).
type MatchKeys struct {
	NameBirth string
	NamePhone string
}

// PersonKeys builds a person's keys from their name, birth date
// (YYYY-MM-DD, "" when unknown) and phone. Names are compared without
// spaces and middle dots, which staff type inconsistently (张 伟, 阿依古丽·买买提),
// and Latin letters without case; phones by their digits, without a +86
// or 0086 prefix.
func PersonKeys(name, birth, phone string) MatchKeys {
	n := matchName(name)
	if n == "" {
		return MatchKeys{}
	}
	k := MatchKeys{NameBirth: n + "\x00" + birth}
	if p := matchPhone(phone); p != "" {
		k.NamePhone = n + "\x00" + p
	}
	return k
}

func matchName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsSpace(r) || r == '·' || r == '•' || r == '.' || r == '・' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func matchPhone(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	for _, prefix := range []string{"0086", "86"} {
		if len(d) == len(prefix)+11 && strings.HasPrefix(d, prefix) {
			return d[len(prefix):]
		}
	}
	return d
}

// BirthDateOfID is the birth date (YYYY-MM-DD) an 18-character ID number
// holds, "" when it holds none.
func BirthDateOfID(id string) string {
	if len(id) != 18 {
		return ""
	}
	d := id[6:14]
	for _, r := range d {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:]
}

// DuplicateCandidate is a live record a new household or member may
// duplicate, as the caller may be told of it: its name, a display without
// any number, and which keys matched.
type DuplicateCandidate struct {
	Resource  string
	Name      string
	BirthYear int
	Birth     bool // name and birth date matched
	Phone     bool // name and phone matched
}

// Description says what matched in words that carry no number but the
// birth year (what a masked read shows).
func (c DuplicateCandidate) Description() string {
	var why []string
	if c.Birth {
		why = append(why, "name and birth date")
	}
	if c.Phone {
		why = append(why, "name and phone")
	}
	year := ""
	if c.BirthYear > 0 {
		year = fmt.Sprintf(", born %d", c.BirthYear)
	}
	return fmt.Sprintf("%s%s: same %s", c.Name, year, strings.Join(why, " and "))
}

// PossibleDuplicateError refuses a create whose person matches live
// records, until the caller confirms (confirm_possible_duplicate).
// Candidates are only those the caller may see.
type PossibleDuplicateError struct {
	Candidates []DuplicateCandidate
}

// Rule is the rule of the table that asks for the confirmation.
func (e *PossibleDuplicateError) Rule() RuleID { return RuleDuplicateIntake }

func (e *PossibleDuplicateError) Error() string {
	return fmt.Sprintf("%d live records have the same name and birth date or phone; check them, then send confirm_possible_duplicate to register anyway", len(e.Candidates))
}
