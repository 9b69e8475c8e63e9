package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Result is how far a resolved case achieved what it asked for.
type Result string

// The results, stored as-is.
const (
	ResultAchieved          Result = "ACHIEVED"
	ResultPartiallyAchieved Result = "PARTIALLY_ACHIEVED"
	ResultNotAchieved       Result = "NOT_ACHIEVED"
)

// Results lists every result.
func Results() []Result { return []Result{ResultAchieved, ResultPartiallyAchieved, ResultNotAchieved} }

// outcomeFields are the proto field paths, relative to the case, that record
// what was actually achieved. A case claiming success without them would
// count toward placement and enrollment figures with nothing to show.
var outcomeFields = map[Kind][]string{
	KindEmploymentPlacement: {
		"employment_placement.employer",
		"employment_placement.position",
		"employment_placement.placement_date",
	},
	KindSchoolEnrollment: {"school_enrollment.assigned_school"},
	KindElderMedicalHelp: {"elder_medical_help.hospital", "elder_medical_help.help_given"},
	KindLegalAid:         {"legal_aid.lawyer_or_institution"},
}

// OutcomeFields returns the field paths that must be non-empty to resolve a
// case of kind k as achieved or partially achieved. The caller owns the slice.
func OutcomeFields(k Kind) []string {
	return slices.Clone(outcomeFields[k])
}

// CheckResolve reports the outcome fields still missing when a case is
// resolved as (partially) achieved; present says whether a path is filled.
// A NOT_ACHIEVED outcome needs only its summary, so achieved=false passes.
func CheckResolve(k Kind, achieved bool, present func(path string) bool) error {
	if !achieved {
		return nil
	}
	var missing []string
	for _, f := range outcomeFields[k] {
		if !present(f) {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	kind := k.words()
	return &PreconditionError{
		Type:    "OUTCOME_FIELDS_REQUIRED",
		Subject: strings.Join(missing, ","),
		Description: fmt.Sprintf("resolving %s %s case requires %s",
			article(kind), kind, strings.Join(missing, ", ")),
	}
}

// article picks "a" or "an" for a lower-case phrase.
func article(phrase string) string {
	if phrase != "" && strings.ContainsRune("aeiou", rune(phrase[0])) {
		return "an"
	}
	return "a"
}
