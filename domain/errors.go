// Package domain holds the rules of casework: the case state machine, who a
// case may be opened for, how priority and due times are computed. It knows
// nothing of databases or transports, so both gRPC and JSON callers, and every
// storage backend, are held to the same rules.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Violation names one bad input field. Field is the request field path as a
// client sent it (e.g. "household.servicemember.id_number").
type Violation struct {
	Field       string
	Description string
	// Rule is the rule of the table the field breaks, when one does; the
	// answer names it (BadRequest's reason) so a client can explain it.
	Rule RuleID
}

// ValidationError reports bad input; callers map it to INVALID_ARGUMENT with a
// BadRequest detail listing each violation.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Invalid builds a ValidationError with one violation.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Violations: []Violation{{Field: field, Description: fmt.Sprintf(format, args...)}}}
}

// PreconditionError reports a request that is well formed but not allowed in
// the resource's current state; callers map it to FAILED_PRECONDITION.
type PreconditionError struct {
	// Type is a stable machine-readable kind, e.g. "ILLEGAL_TRANSITION".
	Type string
	// Subject is what the precondition is about, e.g. "cases/123" or a field.
	Subject     string
	Description string
	// Rule is the rule of the table that refuses, when one does.
	Rule RuleID
}

func (e *PreconditionError) Error() string { return e.Description }

// NotEligibleError refuses a case the law does not give its subject, naming
// the rule that decides; callers map it to FAILED_PRECONDITION with the
// reason NOT_ELIGIBLE and the rule's id. A field that contradicts the
// household is a ValidationError instead, naming the fields.
type NotEligibleError struct {
	Rule        RuleID
	Description string
}

func (e *NotEligibleError) Error() string { return e.Description + " (" + string(e.Rule) + ")" }

// notEligible builds a NotEligibleError.
func notEligible(rule RuleID, format string, args ...any) error {
	return &NotEligibleError{Rule: rule, Description: fmt.Sprintf(format, args...)}
}

// AsNotEligible reports whether err is (or wraps) a NotEligibleError.
func AsNotEligible(err error) (*NotEligibleError, bool) {
	var n *NotEligibleError
	ok := errors.As(err, &n)
	return n, ok
}

// AsValidation reports whether err is (or wraps) a ValidationError.
func AsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}

// AsPrecondition reports whether err is (or wraps) a PreconditionError.
func AsPrecondition(err error) (*PreconditionError, bool) {
	var p *PreconditionError
	ok := errors.As(err, &p)
	return p, ok
}

// BatchError refuses a whole batch (AIP-233: all or nothing) for the items
// it names, each with its own error, in the order of the items.
type BatchError struct {
	Items []ItemError
}

// ItemError is why the item at Index was refused.
type ItemError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d items of the batch were refused", len(e.Items))
}

// Add names item i as refused for err.
func (e *BatchError) Add(i int, err error) { e.Items = append(e.Items, ItemError{Index: i, Err: err}) }

// OrNil is e if it names any item, else nil.
func (e *BatchError) OrNil() error {
	if len(e.Items) == 0 {
		return nil
	}
	slices.SortStableFunc(e.Items, func(a, b ItemError) int { return a.Index - b.Index })
	return e
}
