package domain

import (
	"fmt"
	"slices"
	"time"
)

// Holds. A case may have to wait on something outside the county's hands
// (a hospital's appointment, a school's placement round, a family away for
// months); the work points ask for services that are timely, so the
// county's own clocks stop while it waits and run on afterwards with the
// time they had left (CASE_HOLD). A hold is orthogonal to the status: the
// case keeps its status, and while held only bookkeeping, withdrawal and
// the resume itself touch it.
//
// The Legal Aid Law's periods are not the county's to stop: Art 43 stops
// the 7-day decision clock only while the applicant supplies missing
// materials, and no article lets the legal-aid body pause its decision,
// lawyer or objection periods at will. A case with such a clock running
// cannot be held (CASE_HOLD_STATUTORY_CLOCKS); a legal-aid case whose
// statutory clocks have all stopped (aid granted and a lawyer assigned)
// may be.

// The length of a hold, in days of 24 hours (CASE_HOLD).
const (
	HoldMinDays = 1
	HoldMaxDays = 180
)

// HoldEnd is when a hold of days begun at start ends by itself.
func HoldEnd(start time.Time, days int) time.Time {
	return start.UTC().Add(time.Duration(days) * 24 * time.Hour)
}

// holdable are the statuses a case may be held in: open and already before
// the county (a draft has no clock to stop; an application awaiting
// materials runs on the applicant's statutory clock).
var holdable = map[Status]Status{
	StatusSubmitted:  StatusSubmitted,
	StatusAccepted:   StatusAccepted,
	StatusInProgress: StatusInProgress,
}

// whileHeld are the actions a held case still takes: bookkeeping that does
// not move it on, the family's withdrawal (which ends the hold), and the
// resume.
var whileHeld = []Action{ActionAssign, ActionDecideEligibility, ActionWithdraw, ActionResume}

// CheckHeld refuses an action the case's hold rules out: holding a held
// case, resuming one that is not held, and moving a held case on before it
// resumes. The error's Subject is left for the caller to fill.
func CheckHeld(held bool, a Action) error {
	switch {
	case a == ActionResume && !held:
		return &PreconditionError{Type: "CASE_NOT_ON_HOLD", Rule: RuleCaseHold,
			Description: "the case is not on hold, so there is nothing to resume"}
	case held && a == ActionHold:
		return &PreconditionError{Type: "CASE_ON_HOLD", Rule: RuleCaseHold,
			Description: "the case is already on hold; resume it first"}
	case held && !slices.Contains(whileHeld, a):
		return &PreconditionError{Type: "CASE_ON_HOLD", Rule: RuleCaseHold,
			Description: fmt.Sprintf("the case is on hold: resume it before you %s it", a)}
	}
	return nil
}

// CheckHold refuses a hold while a statutory clock runs on the case
// (CASE_HOLD_STATUTORY_CLOCKS): a clock is statutory when the rule that
// sets it comes from a law, not from county policy.
func CheckHold(clocks Clocks) error {
	for _, c := range clocks {
		if c.State == ClockRunning && statutory(c.Rule) {
			return &PreconditionError{Type: "HOLD_STATUTORY_CLOCK", Rule: RuleHoldStatutory,
				Description: fmt.Sprintf("the %s period (%s) runs on the case and a county hold cannot stop it", c.Kind, c.Rule)}
		}
	}
	return nil
}

func statutory(id RuleID) bool {
	r, ok := RuleByID(id)
	return !ok || len(r.Sources) == 0 || r.Sources[0].Law != CountyPolicy
}

// Hold pauses every running clock at t for a hold, marking it as the
// hold's so that the resume restarts it and no other paused clock.
func (cs Clocks) Hold(t time.Time) Clocks {
	out := slices.Clone(cs)
	for i := range out {
		if out[i].State == ClockRunning {
			stop := t.UTC()
			out[i].State, out[i].Stop, out[i].Held = ClockPaused, &stop, true
		}
	}
	return out
}

// Unhold runs the clocks a hold paused again from t, each with the time it
// had left when paused: due = t + (due - pause). A clock already overdue
// when held stays as overdue as it was.
func (cs Clocks) Unhold(t time.Time) Clocks {
	out := slices.Clone(cs)
	for i := range out {
		c := &out[i]
		if c.State != ClockPaused || !c.Held || c.Stop == nil {
			continue
		}
		left := c.Due.Sub(*c.Stop)
		c.Due, c.State, c.Stop, c.Held = t.UTC().Add(left), ClockRunning, nil, false
	}
	return out
}

// CaseTimes are what a case's age is counted from.
type CaseTimes struct {
	Status  Status
	Submit  *time.Time // nil: never submitted
	Resolve *time.Time
	Update  time.Time // the last change, the end of a refused or withdrawn case
	// Held is the time spent on holds that ended; HoldStart the start of
	// the one in force, if any.
	Held      time.Duration
	HoldStart *time.Time
}

// CaseDays counts a case's days_open and days_waiting at now, in whole days
// of 24 hours. days_open runs from submission to the resolution, to now
// while the case is open, or to its last change once it ended unresolved
// (refused, withdrawn, terminated). days_waiting is days_open without the
// time on hold: the days the county had the case to work on, the quantity
// its clocks measure, so a long hold does not make a case look neglected.
func CaseDays(c CaseTimes, now time.Time) (open, waiting int) {
	if c.Submit == nil {
		return 0, 0
	}
	end := now
	switch {
	case c.Resolve != nil:
		end = *c.Resolve
	case !c.Status.Open():
		end = c.Update
	}
	held := c.Held
	if c.HoldStart != nil && end.After(*c.HoldStart) {
		held += end.Sub(*c.HoldStart)
	}
	span := max(end.Sub(*c.Submit), 0)
	return wholeDays(span), wholeDays(max(span-held, 0))
}

func wholeDays(d time.Duration) int { return int(d / (24 * time.Hour)) }
