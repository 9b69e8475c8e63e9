package repository

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/fengdu-county/casework/domain"
)

// A page of cases is read column by column into the rows, not through
// gorm's Find: gorm's scan finds each column's field by reflection and
// allocates a fresh value per column and row, which was about half of the
// server's CPU on a 50-case ListCases. The query is still built by gorm,
// so scopes, filters and keyset conditions stay where they are, and the
// statement still passes gorm's callbacks.

// caseSelect lists every column of cases in the order scanCase reads
// them. TestCaseScanReadsWhatFindReads (storetest) fails when a column of
// Case is missing here.
var caseSelect = strings.Join([]string{
	"id", "case_number", "household_id", "subject_id", "kind", "details", "placement_year", "status",
	"assignee", "town_code", "priority", "priority_reasons", "due_time", "outcome_result", "outcome_summary",
	"status_reason", "policy_basis", "clocks", "outcome_history", "eligibility", "withdrawal_reason",
	"rejection_reason", "termination_ground", "objection", "creator", "source_contact", "revision",
	"create_time", "update_time", "submit_time", "resolve_time", "hold_start_time", "hold_end_time",
	"hold_reason", "hold_holder", "held_seconds", "hold_count",
}, ", ")

// caseScan holds what one row is read into; reused from row to row.
type caseScan struct {
	c                                                        Case
	placementYear                                            sql.NullInt64
	priority, holdCount                                      int64
	due, create, update, submit, resolve, holdStart, holdEnd nullTime
	dest                                                     []any
}

func newCaseScan() *caseScan {
	s := &caseScan{}
	c := &s.c
	s.dest = []any{
		&c.ID, &c.CaseNumber, &c.HouseholdID, &c.SubjectID, (*string)(&c.Kind), &c.Details, &s.placementYear,
		(*string)(&c.Status), &c.Assignee, &c.TownCode, &s.priority, &c.PriorityReasons, &s.due,
		(*string)(&c.OutcomeResult), &c.OutcomeSummary, &c.StatusReason, &c.PolicyBasis, &c.Clocks,
		&c.OutcomeHistory, &c.Eligibility, (*string)(&c.WithdrawalReason), (*string)(&c.RejectionReason),
		(*string)(&c.TerminationGround), &c.Objection, &c.Creator, &c.SourceContact, &c.Revision,
		&s.create, &s.update, &s.submit, &s.resolve, &s.holdStart, &s.holdEnd,
		&c.HoldReason, &c.HoldHolder, &c.HeldSeconds, &s.holdCount,
	}
	return s
}

// scan reads the current row into a new Case.
func (s *caseScan) scan(rows *sql.Rows) (Case, error) {
	s.c = Case{}
	if err := rows.Scan(s.dest...); err != nil {
		return Case{}, err
	}
	c := s.c
	if s.placementYear.Valid {
		y := int(s.placementYear.Int64)
		c.PlacementYear = &y
	}
	c.Priority = domain.Priority(s.priority)
	c.HoldCount = int(s.holdCount)
	c.CreateTime, c.UpdateTime = s.create.t, s.update.t
	c.DueTime, c.SubmitTime, c.ResolveTime = s.due.ptr(), s.submit.ptr(), s.resolve.ptr()
	c.HoldStartTime, c.HoldEndTime = s.holdStart.ptr(), s.holdEnd.ptr()
	return c, nil
}

// scanCases reads every row of rows and closes them.
func scanCases(rows *sql.Rows, capacity int) ([]Case, error) {
	defer func() { _ = rows.Close() }()
	out := make([]Case, 0, capacity)
	s := newCaseScan()
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// nullTime reads a time column that may be NULL, as the drivers hand it
// over: a time.Time from PostgreSQL and from SQLite's DATETIME columns.
type nullTime struct {
	t     time.Time
	valid bool
}

func (n *nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		n.t, n.valid = time.Time{}, false
	case time.Time:
		n.t, n.valid = v, true
	default:
		return fmt.Errorf("repository: cannot read a time from a %T", src)
	}
	return nil
}

// ptr is the time as a nullable field holds it: a new pointer per row, as
// gorm's scan gave, so no two rows share one.
func (n *nullTime) ptr() *time.Time {
	if !n.valid {
		return nil
	}
	t := n.t
	return &t
}
