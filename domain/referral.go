package domain

import (
	"time"
)

// Referrals of cases to partner agencies, and the deadlines alerts warn
// of. Dates are YYYY-MM-DD in China time, as in the ledger.

// ReferralState is where a referral stands; derived, never stored.
type ReferralState string

// The states of a referral.
const (
	ReferralAwaitingReply ReferralState = "AWAITING_REPLY"
	ReferralReplied       ReferralState = "REPLIED"
	ReferralOverdue       ReferralState = "OVERDUE"
	ReferralWithdrawn     ReferralState = "WITHDRAWN"
)

// ReferralStates lists every state.
func ReferralStates() []ReferralState {
	return []ReferralState{ReferralAwaitingReply, ReferralReplied, ReferralOverdue, ReferralWithdrawn}
}

// ReferralDates are a referral's calendar dates; ReplyDate is "" until
// the agency replies.
type ReferralDates struct {
	Sent, ReplyDate, FollowUpDue string
}

// State derives the referral's state on the day of now. A referral is
// overdue from the day after its follow-up due date: the agency has the
// whole of that day.
func (d ReferralDates) State(withdrawn bool, now time.Time) ReferralState {
	switch {
	case withdrawn:
		return ReferralWithdrawn
	case d.ReplyDate != "":
		return ReferralReplied
	case d.FollowUpDue < LedgerToday(now):
		return ReferralOverdue
	}
	return ReferralAwaitingReply
}

// Check refuses dates that cannot be: a referral or reply in the future,
// a reply before the referral, a follow-up due before it was sent. Fields
// are named under prefix (e.g. "referral.").
func (d ReferralDates) Check(prefix string, now time.Time) error {
	today := LedgerToday(now)
	var vs []Violation
	add := func(field, desc string) { vs = append(vs, Violation{Field: prefix + field, Description: desc}) }
	if d.Sent > today {
		add("sent_date", "must not be in the future")
	}
	if d.FollowUpDue < d.Sent {
		add("follow_up_due_date", "must not be before sent_date")
	}
	if d.ReplyDate != "" && d.ReplyDate > today {
		add("reply_date", "must not be in the future")
	}
	if d.ReplyDate != "" && d.ReplyDate < d.Sent {
		add("reply_date", "must not be before sent_date")
	}
	if len(vs) > 0 {
		return &ValidationError{Violations: vs}
	}
	return nil
}

// FollowUpDeadline is the instant a referral without a reply becomes
// overdue: the start, China time, of the day after its follow-up due date.
func FollowUpDeadline(followUpDue string) (time.Time, error) {
	d, err := time.ParseInLocation(DateLayout, followUpDue, ChinaTime)
	if err != nil {
		return time.Time{}, err
	}
	return d.AddDate(0, 0, 1), nil
}

// AlertKind is what deadline an alert warns of.
type AlertKind string

// The kinds of alert.
const (
	AlertCaseDueSoon     AlertKind = "CASE_DUE_SOON"
	AlertCaseOverdue     AlertKind = "CASE_OVERDUE"
	AlertReferralOverdue AlertKind = "REFERRAL_OVERDUE"
)

// AlertKinds lists every kind of alert.
func AlertKinds() []AlertKind {
	return []AlertKind{AlertCaseDueSoon, AlertCaseOverdue, AlertReferralOverdue}
}

// Rule is the rule of the table that raises an alert of kind k.
func (k AlertKind) Rule() RuleID {
	if k == AlertReferralOverdue {
		return RuleReferralFollowUp
	}
	return RuleCaseAlertWindow
}

// CaseAlert is the alert a case due at due calls for at now, given the
// window before a deadline in which it is "due soon"; false when none
// does yet. A case passes through both: due soon once it enters the
// window, overdue once the deadline passes, each raised once.
func CaseAlert(due, now time.Time, window time.Duration) (AlertKind, bool) {
	switch {
	case !now.Before(due):
		return AlertCaseOverdue, true
	case due.Sub(now) <= window:
		return AlertCaseDueSoon, true
	}
	return "", false
}

// DefaultAlertWindow is how long before a case's due time it is flagged
// as due soon when the server is not told otherwise: three days leaves
// a working day or two to act even across a weekend.
const DefaultAlertWindow = 72 * time.Hour
