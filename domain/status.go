package domain

import (
	"fmt"
	"slices"
)

// Status is the lifecycle state of a case. Values are stored as-is, so they
// must never be renamed.
type Status string

// The statuses, stored as-is.
const (
	StatusDraft      Status = "DRAFT"
	StatusSubmitted  Status = "SUBMITTED"
	StatusAccepted   Status = "ACCEPTED"
	StatusInProgress Status = "IN_PROGRESS"
	StatusResolved   Status = "RESOLVED"
	StatusClosed     Status = "CLOSED"
	StatusRejected   Status = "REJECTED"
	StatusWithdrawn  Status = "WITHDRAWN"
)

var statuses = []Status{
	StatusDraft, StatusSubmitted, StatusAccepted, StatusInProgress,
	StatusResolved, StatusClosed, StatusRejected, StatusWithdrawn,
}

// Statuses lists every status, in lifecycle order: the list the API's enum
// is checked against, so neither can gain a value the other lacks.
func Statuses() []Status { return slices.Clone(statuses) }

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return slices.Contains(statuses, s) }

// Open reports whether the case details may still be edited: once a case is
// resolved, rejected or withdrawn its record is what was decided on.
func (s Status) Open() bool {
	return s == StatusDraft || s.ClockRunning()
}

// ClockRunning reports whether the county owes the family an answer, so the
// due time applies and the case can be overdue. A draft has not reached the
// county yet; every later state has an answer.
func (s Status) ClockRunning() bool {
	switch s {
	case StatusSubmitted, StatusAccepted, StatusInProgress:
		return true
	}
	return false
}

// ClockRunningStatuses lists the statuses for which ClockRunning is true, for
// building the "overdue" query filter.
func ClockRunningStatuses() []Status {
	var out []Status
	for _, s := range statuses {
		if s.ClockRunning() {
			out = append(out, s)
		}
	}
	return out
}

// Action is something a caseworker or applicant does to a case.
type Action string

// The actions of the state machine.
const (
	ActionSubmit   Action = "submit"
	ActionAccept   Action = "accept"
	ActionReject   Action = "reject"
	ActionAssign   Action = "assign"
	ActionStart    Action = "start"
	ActionResolve  Action = "resolve"
	ActionClose    Action = "close"
	ActionReopen   Action = "reopen"
	ActionWithdraw Action = "withdraw"
)

// actionOrder fixes the order Allowed reports actions in, so its output is
// stable for documentation and tests (map iteration is not).
var actionOrder = []Action{
	ActionSubmit, ActionAccept, ActionReject, ActionAssign, ActionStart,
	ActionResolve, ActionClose, ActionReopen, ActionWithdraw,
}

// transitions is the case state machine: for each action, the statuses it is
// legal in and where it leads. It is the only place the rules are written;
// Transition and Allowed both read it.
var transitions = map[Action]map[Status]Status{
	ActionSubmit: {StatusDraft: StatusSubmitted},
	ActionAccept: {StatusSubmitted: StatusAccepted},
	ActionReject: {StatusSubmitted: StatusRejected},
	// Assigning (or re-assigning) a caseworker is bookkeeping, not progress,
	// so it leaves the status alone.
	ActionAssign: {
		StatusSubmitted:  StatusSubmitted,
		StatusAccepted:   StatusAccepted,
		StatusInProgress: StatusInProgress,
	},
	ActionStart:   {StatusAccepted: StatusInProgress},
	ActionResolve: {StatusInProgress: StatusResolved},
	ActionClose:   {StatusResolved: StatusClosed},
	// A resolved or closed case that turns out not to be done goes back to
	// work; a rejection that is reconsidered goes back to the intake queue.
	ActionReopen: {
		StatusResolved: StatusInProgress,
		StatusClosed:   StatusInProgress,
		StatusRejected: StatusSubmitted,
	},
	// The family may withdraw at any time until the county has answered.
	ActionWithdraw: {
		StatusDraft:      StatusWithdrawn,
		StatusSubmitted:  StatusWithdrawn,
		StatusAccepted:   StatusWithdrawn,
		StatusInProgress: StatusWithdrawn,
	},
}

// Transition returns the status a case in status from moves to when a is
// applied, or a PreconditionError of type ILLEGAL_TRANSITION. The error's
// Subject is left empty for the caller to fill with the case name.
func Transition(from Status, a Action) (Status, error) {
	if to, ok := transitions[a][from]; ok {
		return to, nil
	}
	return "", &PreconditionError{
		Type:        "ILLEGAL_TRANSITION",
		Description: fmt.Sprintf("cannot %s a case in status %s", a, apiStatusName(from)),
	}
}

// Allowed lists the actions legal in status from, in a fixed order.
func Allowed(from Status) []Action {
	var out []Action
	for _, a := range actionOrder {
		if _, ok := transitions[a][from]; ok {
			out = append(out, a)
		}
	}
	return out
}

// apiStatusName spells a status the way API clients see it in the proto enum,
// so error messages match what they sent and read.
func apiStatusName(s Status) string {
	if s == "" {
		return "CASE_STATUS_UNSPECIFIED"
	}
	return "CASE_STATUS_" + string(s)
}

// CheckStart enforces that work on a case starts only once someone is
// responsible for it; otherwise an in-progress case could sit unowned.
func CheckStart(assignee string) error {
	if assignee == "" {
		return &PreconditionError{
			Type:        "ASSIGNEE_REQUIRED",
			Description: "a case must be assigned to a caseworker before work starts",
		}
	}
	return nil
}
