package domain

import (
	"fmt"
	"time"
)

// RetentionKind names a kind of record the retention schedule covers.
type RetentionKind string

// The kinds of record kept for a limited time. PIPL Art 19 asks for the
// shortest time the purpose needs, Art 47 for deletion (or, where that is
// hard, an end to all processing but storage) once it has passed.
const (
	// RetentionDeletedHouseholds: a household deleted from the register,
	// with its members, cases, notes, ledgers and attachments; and a member
	// deleted from a household that lives on, with its cases.
	RetentionDeletedHouseholds RetentionKind = "deleted_households"
	// RetentionFeedEvents: the change feed's events (resource names and
	// field names, no values).
	RetentionFeedEvents RetentionKind = "feed_events"
	// RetentionRequestIDs: the answers kept so that a retried call is not
	// made twice (sealed; they may hold a whole household).
	RetentionRequestIDs RetentionKind = "request_ids"
	// RetentionOperationFiles: the files exports and imports produced
	// (ledgers, with ID numbers when asked for in full).
	RetentionOperationFiles RetentionKind = "operation_files"
	// RetentionClosedComplaints: a complaint from the public about a
	// measure, once upheld or dismissed: the complainant's name and phone,
	// their account and the resolution. Complaints belong to no household,
	// so deleted_households never reaches them.
	RetentionClosedComplaints RetentionKind = "closed_complaints"
)

// RetentionRule is one line of the schedule: how long a kind of record is
// kept, what happens when that time is over, and why.
type RetentionRule struct {
	Kind RetentionKind
	// Period is how long the record is kept after its clock starts; 0
	// keeps it for ever (the rule is off).
	Period time.Duration
	// Starts says when the period starts.
	Starts string
	// Action says what happens when the period is over.
	Action string
	// Basis says why it is kept that long: the purpose, and whether the
	// period is county policy or fixed by a rule.
	Basis string
	// AppliedBy names what applies the rule.
	AppliedBy string
}

// RetentionSchedule is the county's retention schedule, one rule a kind:
// the one place a reader finds how long the server keeps what.
type RetentionSchedule []RetentionRule

// Day is a calendar day's length, the unit the schedule's periods are set
// in.
const Day = 24 * time.Hour

// DefaultRetention is the schedule with the server's default periods. The
// period of deleted households is county policy, not a statute: the
// county's archives rules for casework records may require longer, and the
// county sets it (--retention-deleted-household-days) after checking them.
func DefaultRetention() RetentionSchedule {
	return RetentionSchedule{
		{Kind: RetentionDeletedHouseholds, Period: 5 * 365 * Day, Starts: "the deletion of the household, or of a member from a household that lives on",
			Action: "personal data erased; the rows stay as anonymous shells (ids, town, kind, status, dates)",
			Basis: "county policy (default five years): long enough to answer a complaint, an appeal or an inspection about " +
				"work done for the family and to undo a mistaken deletion; the statistics and the audit trail need only the shells (PIPL Arts 19, 47)",
			AppliedBy: "the retention job (--retention-every) and `casework retention run`"},
		{Kind: RetentionFeedEvents, Period: 30 * Day, Starts: "the event",
			Action: "deleted", Basis: "enough for a receiver that was down to catch up; events hold no values (--event-retention)",
			AppliedBy: "each server's maintenance (--maintenance-interval)"},
		{Kind: RetentionRequestIDs, Period: Day, Starts: "the call",
			Action: "deleted", Basis: "enough for a client to retry a call that may have failed (--request-id-ttl)",
			AppliedBy: "each server's maintenance (--maintenance-interval)"},
		{Kind: RetentionOperationFiles, Period: Day, Starts: "the export or import's end",
			Action: "deleted", Basis: "enough to download the file; the ledger itself stays in the database (--operation-file-ttl)",
			AppliedBy: "the job queue's sweep"},
		{Kind: RetentionClosedComplaints, Period: 3 * 365 * Day, Starts: "the complaint's closing (upheld or dismissed)",
			Action: "the complainant's name and phone, the account of what happened and the resolution erased; the row stays (measure, state, whether it suspended the measure, dates)",
			Basis: "county policy (default three years): long enough to answer a repeated complaint or an inspection of how it was handled; " +
				"counts of complaints by measure and outcome need only the shell (PIPL Arts 19, 47)",
			AppliedBy: "the retention job (--retention-every) and `casework retention run`"},
	}
}

// Rule returns the schedule's rule for kind.
func (s RetentionSchedule) Rule(kind RetentionKind) (RetentionRule, bool) {
	for _, r := range s {
		if r.Kind == kind {
			return r, true
		}
	}
	return RetentionRule{}, false
}

// Period is how long kind is kept (0: for ever).
func (s RetentionSchedule) Period(kind RetentionKind) time.Duration {
	r, _ := s.Rule(kind)
	return r.Period
}

// With returns the schedule with kind's period set to period; a negative
// period is refused.
func (s RetentionSchedule) With(kind RetentionKind, period time.Duration) (RetentionSchedule, error) {
	if period < 0 {
		return nil, fmt.Errorf("retention of %s: a period cannot be negative", kind)
	}
	out := make(RetentionSchedule, len(s))
	copy(out, s)
	for i := range out {
		if out[i].Kind == kind {
			out[i].Period = period
			return out, nil
		}
	}
	return nil, fmt.Errorf("retention: no rule for %s", kind)
}

// Cutoff is the time before which a record of kind started its period at
// now has outlived it; ok is false when the kind is kept for ever.
func (s RetentionSchedule) Cutoff(kind RetentionKind, now time.Time) (cutoff time.Time, ok bool) {
	p := s.Period(kind)
	if p <= 0 {
		return time.Time{}, false
	}
	return now.Add(-p), true
}
