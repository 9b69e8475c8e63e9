package domain

import "fmt"

// Refuse builds a ValidationError with one violation of rule on field. The
// description ends with the rule's id, so a person reading the message can
// look the rule up (GET /v1/policies); clients read it from the violation.
// Like every refusal it must not repeat the value that was sent.
func Refuse(rule RuleID, field, format string, args ...any) error {
	return &ValidationError{Violations: []Violation{refusal(rule, field, format, args...)}}
}

func refusal(rule RuleID, field, format string, args ...any) Violation {
	return Violation{Field: field, Description: fmt.Sprintf(format, args...) + " (rule " + string(rule) + ")", Rule: rule}
}

// orNil is a ValidationError of the violations, or nil for none.
func orNil(vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}
