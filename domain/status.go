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
	// StatusAwaitingMaterials: a legal-aid application lacks materials the
	// county listed (法律援助法 Art 43 para 2); the decision clock is stopped.
	StatusAwaitingMaterials Status = "AWAITING_MATERIALS"
	// StatusTerminated: legal aid ended on a ground of 法律援助法 Art 48.
	StatusTerminated Status = "TERMINATED"
)

var statuses = []Status{
	StatusDraft, StatusSubmitted, StatusAccepted, StatusInProgress,
	StatusResolved, StatusClosed, StatusRejected, StatusWithdrawn,
	StatusAwaitingMaterials, StatusTerminated,
}

// Statuses lists every status, in lifecycle order: the list the API's enum
// is checked against, so neither can gain a value the other lacks.
func Statuses() []Status { return slices.Clone(statuses) }

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return slices.Contains(statuses, s) }

// Open reports whether the case details may still be edited: once a case is
// resolved, rejected, withdrawn or terminated its record is what was
// decided on.
func (s Status) Open() bool {
	switch s {
	case StatusDraft, StatusSubmitted, StatusAwaitingMaterials, StatusAccepted, StatusInProgress:
		return true
	}
	return false
}

// Ending reports whether entering s ends a case's work, for the
// statistics: resolved, rejected, withdrawn or terminated. Closing follows
// a resolution and ends nothing of its own.
func (s Status) Ending() bool {
	switch s {
	case StatusResolved, StatusRejected, StatusWithdrawn, StatusTerminated:
		return true
	}
	return false
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
	// Legal aid's own steps (法律援助法 Arts 43, 44, 48, 49).
	ActionRequestMaterials Action = "request materials for"
	ActionSupplyMaterials  Action = "supply materials for"
	ActionStartUrgent      Action = "urgently start"
	ActionTerminate        Action = "terminate"
	ActionFileObjection    Action = "file an objection to"
	ActionUpholdObjection  Action = "uphold the decision on"
	ActionCorrect          Action = "order the correction of"
	// ActionDecideEligibility records a supervisor's decision; it is
	// bookkeeping and leaves the status alone.
	ActionDecideEligibility Action = "decide the eligibility of"
	// ActionHold and ActionResume stop and restart the county's clocks
	// (CASE_HOLD); a hold leaves the status alone.
	ActionHold   Action = "put on hold"
	ActionResume Action = "resume"
)

// actionOrder fixes the order Allowed reports actions in, so its output is
// stable for documentation and tests (map iteration is not).
var actionOrder = []Action{
	ActionSubmit, ActionAccept, ActionReject, ActionAssign, ActionStart,
	ActionResolve, ActionClose, ActionReopen, ActionWithdraw,
	ActionRequestMaterials, ActionSupplyMaterials, ActionStartUrgent, ActionTerminate,
	ActionFileObjection, ActionUpholdObjection, ActionCorrect, ActionDecideEligibility,
	ActionHold, ActionResume,
}

// Actions lists every action, in a fixed order.
func Actions() []Action { return slices.Clone(actionOrder) }

// legalAidOnly are the actions the Legal Aid Law gives legal aid alone.
var legalAidOnly = []Action{ActionRequestMaterials, ActionSupplyMaterials, ActionStartUrgent,
	ActionTerminate, ActionFileObjection, ActionUpholdObjection, ActionCorrect}

// transitions is the case state machine: for each action, the statuses it is
// legal in and where it leads. It is the only place the rules are written;
// Transition and Allowed both read it.
var transitions = map[Action]map[Status]Status{
	ActionSubmit: {StatusDraft: StatusSubmitted},
	ActionAccept: {StatusSubmitted: StatusAccepted},
	// Rejecting an accepted case needs a reason code (CheckReject).
	ActionReject: {StatusSubmitted: StatusRejected, StatusAccepted: StatusRejected},
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
		StatusDraft:             StatusWithdrawn,
		StatusSubmitted:         StatusWithdrawn,
		StatusAwaitingMaterials: StatusWithdrawn,
		StatusAccepted:          StatusWithdrawn,
		StatusInProgress:        StatusWithdrawn,
	},
	// Incomplete materials are asked for once, while the application
	// waits for its decision; supplying them makes it complete again.
	ActionRequestMaterials: {StatusSubmitted: StatusAwaitingMaterials},
	ActionSupplyMaterials:  {StatusAwaitingMaterials: StatusSubmitted},
	// An urgent matter (Art 44) may start before the decision.
	ActionStartUrgent: {StatusSubmitted: StatusInProgress},
	ActionTerminate:   {StatusAccepted: StatusTerminated, StatusInProgress: StatusTerminated},
	// An objection is recorded on the refused or terminated case, which
	// stays where it is until the objection is decided: upheld, nothing
	// moves; correction ordered, a refusal comes back for a new decision
	// and a termination back to work.
	ActionFileObjection:   {StatusRejected: StatusRejected, StatusTerminated: StatusTerminated},
	ActionUpholdObjection: {StatusRejected: StatusRejected, StatusTerminated: StatusTerminated},
	ActionCorrect:         {StatusRejected: StatusSubmitted, StatusTerminated: StatusInProgress},
	ActionDecideEligibility: {
		StatusSubmitted:         StatusSubmitted,
		StatusAwaitingMaterials: StatusAwaitingMaterials,
		StatusAccepted:          StatusAccepted,
		StatusInProgress:        StatusInProgress,
	},
	ActionHold:   holdable,
	ActionResume: holdable,
}

// CheckKind refuses an action the case's kind does not have: materials,
// urgent starts, termination and objections are the Legal Aid Law's.
func CheckKind(k Kind, a Action) error {
	if k != KindLegalAid && slices.Contains(legalAidOnly, a) {
		return &PreconditionError{
			Type:        "LEGAL_AID_ONLY",
			Description: fmt.Sprintf("only a legal-aid case can %s; this is %s %s case", a, article(k.words()), k.words()),
		}
	}
	return nil
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
