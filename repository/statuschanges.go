package repository

import (
	"context"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// Facts is what the rules read of a household (its priority, its cases'
// eligibility): the stored status, post, disability, honours, hardship,
// settlement and approval. A row from before statuses existed whose
// category named none has no status, and so no reason that a status gives.
func (h *Household) Facts() domain.Household {
	return domain.Household{
		Status: h.ServicememberStatus, Post: h.PostType, DisabilityGrade: h.DisabilityGrade,
		Decorated: h.Decorated, Hardship: h.Hardship, SettledAtHome: h.SettledAtHome,
		Approved: h.approval().Given(),
	}
}

// Record is the household as the register's rules check it: the facts and
// the details kept with them.
func (h *Household) Record() domain.HouseholdRecord {
	return domain.HouseholdRecord{Household: h.Facts(), HardshipGrade: h.HardshipGrade, Honour: h.Honour, Approval: h.approval()}
}

// SetRecord stores r's facts and details on h, with the category they
// derive (for display and filters). A record without a status keeps the
// stored category: nothing derives one.
func (h *Household) SetRecord(r domain.HouseholdRecord) {
	h.ServicememberStatus, h.PostType, h.DisabilityGrade = r.Status, r.Post, r.DisabilityGrade
	h.Decorated, h.Hardship, h.SettledAtHome = r.Decorated, r.Hardship, r.SettledAtHome
	h.HardshipGrade, h.Honour = r.HardshipGrade, r.Honour
	h.ApprovalNumber, h.ApprovalUnit, h.ApprovalDate = r.Approval.Number, r.Approval.Unit, nil
	if !r.Approval.Date.IsZero() {
		d := r.Approval.Date
		h.ApprovalDate = &d
	}
	if r.Status != "" {
		h.Category = r.Category()
	}
}

func (h *Household) approval() domain.Approval {
	a := domain.Approval{Number: h.ApprovalNumber, Unit: h.ApprovalUnit}
	if h.ApprovalDate != nil {
		a.Date = *h.ApprovalDate
	}
	return a
}

func (c *StatusChange) resource() string {
	return names.StatusChange{HouseholdID: c.HouseholdID, ID: c.ID}.String()
}

// CreateStatusChange records a change of a live household's servicemember
// status in the caller's towns, with its audit entry. It belongs in the
// transaction that changes the household: call it with the context
// UpdateHousehold hands its callback. The record time is the store's.
func (s *Store) CreateStatusChange(ctx context.Context, c *StatusChange) error {
	c.RecordTime = s.clock()
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var h Household
		q := inScope(ctx, tx.Select("id").Where("id = ? AND delete_time IS NULL", c.HouseholdID), "town_code")
		if err := q.Take(&h).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		// Status changes are not a resource type of the feed: the
		// household's own event carries the change.
		return s.recordChange(ctx, tx, c.resource(), "", []string{"created"})
	})
}

// ListStatusChanges returns a page of a live household's status changes,
// oldest recorded first.
func (s *Store) ListStatusChanges(ctx context.Context, householdID string, page Page) ([]StatusChange, *Cursor, error) {
	if err := s.inTown(ctx, householdID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := s.conn(ctx).Model(&StatusChange{}).Where("status_changes.household_id = ?", householdID)
	q = keyset(q, "status_changes", Order{Column: "record_time"}, false, page.After)
	var rows []StatusChange
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(c StatusChange) Cursor { t := c.RecordTime; return Cursor{Time: &t, ID: c.ID} })
	return rows, next, nil
}

// OpenCases returns the open cases (domain.Status.Open) of a household in
// the caller's towns, oldest first: those whose priority a change of the
// household re-evaluates. Called inside the household's transaction, it
// sees the cases as that transaction does.
func (s *Store) OpenCases(ctx context.Context, householdID string) ([]Case, error) {
	var rows []Case
	err := inScope(ctx, s.conn(ctx).Where("household_id = ? AND status IN ?", householdID, openStatuses()), "town_code").
		Order("create_time, id").Find(&rows).Error
	return rows, err
}
