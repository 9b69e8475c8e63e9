package domain

import (
	"fmt"
	"slices"
)

// Assignee is what the assignment rule reads of a directory entry.
type Assignee struct {
	Name   string // assignees/{id}
	Towns  []string
	Active bool
}

// CheckAssignee refuses assigning a case of town to a directory entry that
// is deactivated or not listed for the town (ASSIGNEE_TOWN). Assignees
// outside the directory (a law firm or lawyer for legal aid) are free text
// and not checked here: the county does not keep their towns.
func CheckAssignee(a Assignee, town string) error {
	if !a.Active {
		return &PreconditionError{Type: "ASSIGNEE_INACTIVE", Subject: a.Name, Rule: RuleAssigneeTown,
			Description: "the assignee is deactivated in the directory and takes no new cases (rule " + string(RuleAssigneeTown) + ")"}
	}
	if !slices.Contains(a.Towns, town) {
		return &PreconditionError{Type: "ASSIGNEE_NOT_IN_TOWN", Subject: a.Name, Rule: RuleAssigneeTown,
			Description: fmt.Sprintf("the assignee may not work in town %s, the case's town (rule %s)", town, RuleAssigneeTown)}
	}
	return nil
}

// OpenCaseExists refuses a second open case of a kind for one member
// (OPEN_CASE_PER_KIND). open names the open case when the caller may see
// it; otherwise it is empty and the refusal only says that one exists, so
// a town's caseworker learns nothing of another town's files.
func OpenCaseExists(kind Kind, open string) error {
	desc := fmt.Sprintf("the member already has an open %s case", kind.words())
	if open != "" {
		desc += " (" + open + ")"
	}
	return &PreconditionError{Type: "OPEN_CASE_EXISTS", Subject: open, Rule: RuleOneOpenCasePerKind,
		Description: desc + "; close or withdraw it before opening another (rule " + string(RuleOneOpenCasePerKind) + ")"}
}
