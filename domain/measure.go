package domain

import (
	"fmt"
	"slices"
	"time"
)

// The preferential-measures ledger (惠军措施台账, seed item 十二): measures
// enter the ledger as PROPOSED, are offered while ACTIVE, may be SUSPENDED
// and reinstated, and leave it for good as EXITED (进入、退出机制).

// MeasureState is a measure's place in the ledger.
type MeasureState string

// The states of a measure.
const (
	MeasureProposed  MeasureState = "PROPOSED"
	MeasureActive    MeasureState = "ACTIVE"
	MeasureSuspended MeasureState = "SUSPENDED"
	MeasureExited    MeasureState = "EXITED"
)

// MeasureStates lists every state, in the API's order.
func MeasureStates() []MeasureState {
	return []MeasureState{MeasureProposed, MeasureActive, MeasureSuspended, MeasureExited}
}

// MeasureKind is what a measure offers.
type MeasureKind string

// The kinds of measure.
const (
	MeasureDiscount        MeasureKind = "DISCOUNT"
	MeasurePriorityService MeasureKind = "PRIORITY_SERVICE"
	MeasureFreeService     MeasureKind = "FREE_SERVICE"
	MeasureEmployment      MeasureKind = "EMPLOYMENT"
	MeasureEducation       MeasureKind = "EDUCATION"
	MeasureMedical         MeasureKind = "MEDICAL"
	MeasureLegal           MeasureKind = "LEGAL"
	MeasureOther           MeasureKind = "OTHER"
)

// MeasureKinds lists every kind, in the API's order (the menu's order).
func MeasureKinds() []MeasureKind {
	return []MeasureKind{MeasureDiscount, MeasurePriorityService, MeasureFreeService, MeasureEmployment,
		MeasureEducation, MeasureMedical, MeasureLegal, MeasureOther}
}

// MeasureAction is a change of a measure's state.
type MeasureAction string

// The changes of a measure's state.
const (
	MeasureApprove   MeasureAction = "approve"
	MeasureSuspend   MeasureAction = "suspend"
	MeasureReinstate MeasureAction = "reinstate"
	MeasureExit      MeasureAction = "exit"
)

// measureTransitions is the ledger's state machine: action → from → to.
var measureTransitions = map[MeasureAction]map[MeasureState]MeasureState{
	MeasureApprove:   {MeasureProposed: MeasureActive},
	MeasureSuspend:   {MeasureActive: MeasureSuspended},
	MeasureReinstate: {MeasureSuspended: MeasureActive},
	MeasureExit:      {MeasureProposed: MeasureExited, MeasureActive: MeasureExited, MeasureSuspended: MeasureExited},
}

// MeasureTransition is the state a measure in from moves to under a, or a
// PreconditionError of type ILLEGAL_TRANSITION naming the current state.
func MeasureTransition(from MeasureState, a MeasureAction) (MeasureState, error) {
	to, err := move(measureTransitions, from, a, "a measure in state MEASURE_STATE_")
	if p, ok := AsPrecondition(err); ok {
		p.Rule = RuleMeasureEntryExit
	}
	return to, err
}

// ComplaintSuspension is the move of the measure an upheld complaint
// suspends: to SUSPENDED, or a refusal (naming the complaint's rule) when
// the measure cannot be suspended, which refuses the uphold with it.
func ComplaintSuspension(from MeasureState) (MeasureState, error) {
	to, err := MeasureTransition(from, MeasureSuspend)
	if p, ok := AsPrecondition(err); ok {
		p.Rule = RuleMeasureComplaintUpheld
	}
	return to, err
}

// move looks an action up in a state machine's table (action → from → to):
// the state it leads to, or an ILLEGAL_TRANSITION naming the current state
// as what is written before it (e.g. "a measure in state MEASURE_STATE_").
func move[S, A ~string](table map[A]map[S]S, from S, a A, what string) (S, error) {
	if to, ok := table[a][from]; ok {
		return to, nil
	}
	return "", &PreconditionError{Type: "ILLEGAL_TRANSITION",
		Description: fmt.Sprintf("cannot %s %s%s", a, what, from)}
}

// AgreementExpired reports whether an agreement whose last day is expiry
// (a calendar date) has run out at now: after 24:00 China time of that day.
func AgreementExpired(expiry, now time.Time) bool {
	return !expiry.IsZero() && Today(now).After(expiry)
}

// CheckAgreementInForce refuses to make a measure ACTIVE (approve,
// reinstate) under an agreement that has expired: the server would only
// suspend it again.
func CheckAgreementInForce(expiry, now time.Time) error {
	if AgreementExpired(expiry, now) {
		return &PreconditionError{Type: "AGREEMENT_EXPIRED", Rule: RuleMeasureAgreementExpired,
			Description: "the organization's agreement has expired: renew it (agreement_expiry_date) before the measure is offered again"}
	}
	return nil
}

// CheckAgreementDates refuses an agreement that expires before it is signed.
func CheckAgreementDates(field string, signed, expiry time.Time) error {
	if expiry.Before(signed) {
		return Invalid(field+".agreement_expiry_date", "must not be before agreement_sign_date")
	}
	return nil
}

// CheckValidity refuses a validity period that ends before it begins.
func CheckValidity(field string, from, until *time.Time) error {
	if from != nil && until != nil && until.Before(*from) {
		return Invalid(field+".valid_until", "must not be before valid_from")
	}
	return nil
}

// Offer is what the menu reads of a measure.
type Offer struct {
	State      MeasureState
	Categories []Category
	Towns      []string
	ValidFrom  *time.Time
	ValidUntil *time.Time
}

// Offered reports whether a measure is on the menu of a household of
// category and town today: ACTIVE, valid today (China time), serving the
// category (or every category) and the town (or the whole county).
func (o Offer) Offered(category Category, town string, now time.Time) bool {
	today := Today(now)
	switch {
	case o.State != MeasureActive:
		return false
	case o.ValidFrom != nil && today.Before(*o.ValidFrom):
		return false
	case o.ValidUntil != nil && today.After(*o.ValidUntil):
		return false
	case len(o.Categories) > 0 && !slices.Contains(o.Categories, category):
		return false
	case len(o.Towns) > 0 && !slices.Contains(o.Towns, town):
		return false
	}
	return true
}

// DefaultReviewPeriod is how often each measure must be reviewed
// (全面清理) unless the county configures otherwise.
const DefaultReviewPeriod = 365 * 24 * time.Hour

// CheckReviewDate refuses a review dated after today (China time): the
// ledger records reviews done, and a future date would hold the review
// period off.
func CheckReviewDate(field string, day, now time.Time) error {
	if day.After(Today(now)) {
		return Refuse(RuleMeasureReview, field, "must not be in the future (China time)")
	}
	return nil
}

// ReviewOverdue reports whether a measure in state, created at created and
// last reviewed on lastReview (nil: never), is past the review period at
// now. An exited measure owes no review; one never reviewed is counted
// from its creation.
func ReviewOverdue(state MeasureState, created time.Time, lastReview *time.Time, period time.Duration, now time.Time) bool {
	if state == MeasureExited {
		return false
	}
	from := created
	if lastReview != nil {
		from = *lastReview
	}
	return now.Sub(from) > period
}

// ComplaintState is where a complaint about a measure stands.
type ComplaintState string

// The states of a complaint.
const (
	ComplaintOpen          ComplaintState = "OPEN"
	ComplaintInvestigating ComplaintState = "INVESTIGATING"
	ComplaintUpheld        ComplaintState = "UPHELD"
	ComplaintDismissed     ComplaintState = "DISMISSED"
)

// ComplaintStates lists every state, in the API's order.
func ComplaintStates() []ComplaintState {
	return []ComplaintState{ComplaintOpen, ComplaintInvestigating, ComplaintUpheld, ComplaintDismissed}
}

// ComplaintAction is a step of a complaint.
type ComplaintAction string

// The steps of a complaint.
const (
	ComplaintInvestigate ComplaintAction = "investigate"
	ComplaintUphold      ComplaintAction = "uphold"
	ComplaintDismiss     ComplaintAction = "dismiss"
)

var complaintTransitions = map[ComplaintAction]map[ComplaintState]ComplaintState{
	ComplaintInvestigate: {ComplaintOpen: ComplaintInvestigating},
	ComplaintUphold:      {ComplaintOpen: ComplaintUpheld, ComplaintInvestigating: ComplaintUpheld},
	ComplaintDismiss:     {ComplaintOpen: ComplaintDismissed, ComplaintInvestigating: ComplaintDismissed},
}

// ComplaintTransition is the state a complaint in from moves to under a,
// or a PreconditionError of type ILLEGAL_TRANSITION.
func ComplaintTransition(from ComplaintState, a ComplaintAction) (ComplaintState, error) {
	return move(complaintTransitions, from, a, "a complaint in state COMPLAINT_STATE_")
}
