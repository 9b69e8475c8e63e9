package repository

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// Targeted recruitment events for accompanying spouses (定向招聘): the event,
// the spouses invited to it from open employment-placement cases, and their
// applications to its positions.

// RecruitmentEvent is a recruitment event. An event serves several towns:
// TownCodes is the list as sent, and recruitment_event_towns holds one row
// per town, which the town scope reads.
type RecruitmentEvent struct {
	ID         string `gorm:"primaryKey"`
	Title      string
	EventDate  time.Time
	EventYear  int
	Place      string
	Organiser  string
	TownCodes  List[string]
	Employers  JSON[[]domain.RecruitmentEmployer]
	Creator    string
	Revision   int64
	CreateTime time.Time
	UpdateTime time.Time
}

// TableName names RecruitmentEvent's table for gorm.
func (RecruitmentEvent) TableName() string { return "recruitment_events" }

type recruitmentEventTown struct {
	EventID  string
	TownCode string
}

// TableName names recruitmentEventTown's table for gorm.
func (recruitmentEventTown) TableName() string { return "recruitment_event_towns" }

// Invitation is a spouse invited to an event, by their open
// employment-placement case; TownCode is the case's.
type Invitation struct {
	ID          string `gorm:"primaryKey"`
	EventID     string
	CaseID      string
	HouseholdID string
	SubjectID   string
	TownCode    string
	Inviter     string
	CreateTime  time.Time
}

// TableName names Invitation's table for gorm.
func (Invitation) TableName() string { return "recruitment_invitations" }

// Application is an invited spouse's application to a position. Stage is
// the furthest status reached, which a decline keeps.
type Application struct {
	ID            string `gorm:"primaryKey"`
	EventID       string
	InvitationID  string
	CaseID        string
	PositionID    string
	Status        domain.ApplicationStatus
	Stage         domain.ApplicationStatus
	TownCode      string
	PlacementDate *time.Time
	Revision      int64
	CreateTime    time.Time
	UpdateTime    time.Time
}

// TableName names Application's table for gorm.
func (Application) TableName() string { return "recruitment_applications" }

func (e *RecruitmentEvent) revision() *int64  { return &e.Revision }
func (e *RecruitmentEvent) touch(t time.Time) { e.UpdateTime = t }
func (e *RecruitmentEvent) resource() string  { return names.RecruitmentEvent{ID: e.ID}.String() }
func (a *Application) revision() *int64       { return &a.Revision }
func (a *Application) touch(t time.Time)      { a.UpdateTime = t }
func (a *Application) resource() string {
	return names.Application{EventID: a.EventID, ID: a.ID}.String()
}

// RecruitmentEventFilter is the schema of ListRecruitmentEvents filters.
var RecruitmentEventFilter = filter.Schema{
	"year": {Kind: filter.KindInt, Ops: []filter.Op{
		filter.OpEq, filter.OpNe, filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe}},
	"town_code": {Kind: filter.KindString, Check: townCode},
}

var recruitmentEventColumns = map[string]column{
	"year": plain("recruitment_events.event_year", intValue),
	"town_code": func(c filter.Condition, _ time.Time) (string, []any) {
		return "recruitment_events.id IN (SELECT event_id FROM recruitment_event_towns WHERE town_code = ?)", []any{c.Value}
	},
}

// eventsInScope limits q to the events that serve at least one of the
// caller's towns.
func eventsInScope(ctx context.Context, q *gorm.DB) *gorm.DB {
	return scopedBy(ctx, q, "recruitment_events.id IN (SELECT event_id FROM recruitment_event_towns WHERE town_code IN ?)")
}

// newRowID is the id of a row the store creates by itself (an invitation).
func newRowID() string { return uuid.Must(uuid.NewV7()).String() }

func (e *RecruitmentEvent) derive() {
	e.EventDate = e.EventDate.UTC().Truncate(24 * time.Hour)
	e.EventYear = e.EventDate.Year()
}

func writeEventTowns(tx *gorm.DB, e *RecruitmentEvent) error {
	if err := tx.Where("event_id = ?", e.ID).Delete(&recruitmentEventTown{}).Error; err != nil {
		return err
	}
	rows := make([]recruitmentEventTown, len(e.TownCodes))
	for i, t := range e.TownCodes {
		rows[i] = recruitmentEventTown{EventID: e.ID, TownCode: t}
	}
	return tx.Create(&rows).Error
}

// CreateRecruitmentEvent inserts an event. The caller must reach every town
// the event serves.
func (s *Store) CreateRecruitmentEvent(ctx context.Context, e *RecruitmentEvent) error {
	now := s.clock()
	e.Revision, e.CreateTime, e.UpdateTime = 1, now, now
	e.derive()
	if err := allowsAll(ctx, e.TownCodes); err != nil {
		return err
	}
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(e).Error; err != nil {
			return err
		}
		if err := writeEventTowns(tx, e); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, e.resource(), Etag(e.Revision), []string{"created"})
	})
}

// GetRecruitmentEvent reads an event that serves one of the caller's towns.
func (s *Store) GetRecruitmentEvent(ctx context.Context, id string) (*RecruitmentEvent, error) {
	var e RecruitmentEvent
	if err := eventsInScope(ctx, s.conn(ctx).Where("recruitment_events.id = ?", id)).Take(&e).Error; err != nil {
		return nil, notFound(err)
	}
	return &e, nil
}

// RecruitmentEventQuery asks for a page of events.
type RecruitmentEventQuery struct {
	Filter filter.Filter
	Page   Page
}

// ListRecruitmentEvents returns a page of events, oldest first.
func (s *Store) ListRecruitmentEvents(ctx context.Context, query RecruitmentEventQuery) ([]RecruitmentEvent, *Cursor, error) {
	q, err := applyFilter(eventsInScope(ctx, s.conn(ctx).Model(&RecruitmentEvent{})), query.Filter,
		RecruitmentEventFilter, recruitmentEventColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := query.Page.limit()
	q = keyset(q, "recruitment_events", Order{Column: "create_time"}, false, query.Page.After)
	var rows []RecruitmentEvent
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(e RecruitmentEvent) Cursor { t := e.CreateTime; return Cursor{Time: &t, ID: e.ID} })
	return rows, next, nil
}

// UpdateRecruitmentEvent applies fn to an event under the etag check. The
// caller must reach every town the event serves after the change, and a
// position that applications refer to may not be removed
// (POSITION_IN_USE).
func (s *Store) UpdateRecruitmentEvent(ctx context.Context, id, etag string, fn func(ctx context.Context, e *RecruitmentEvent) error) (*RecruitmentEvent, error) {
	return update(ctx, s, func(tx *gorm.DB) *gorm.DB { return eventsInScope(ctx, tx.Where("recruitment_events.id = ?", id)) }, etag,
		func(ctx context.Context, e *RecruitmentEvent) error {
			if err := allowsAll(ctx, e.TownCodes); err != nil {
				return err
			}
			if err := fn(ctx, e); err != nil {
				return err
			}
			e.derive()
			if err := allowsAll(ctx, e.TownCodes); err != nil {
				return err
			}
			tx := s.conn(ctx)
			var used []string
			if err := tx.Model(&Application{}).Distinct("position_id").Where("event_id = ?", e.ID).Pluck("position_id", &used).Error; err != nil {
				return err
			}
			kept := domain.PositionIDs(e.Employers.V)
			for _, p := range used {
				if !slices.Contains(kept, p) {
					return errPrecondition("POSITION_IN_USE", e.resource(),
						"a position that applications refer to cannot be removed from the event")
				}
			}
			return writeEventTowns(tx, e)
		})
}

// InviteToRecruitmentEvent invites, in one transaction, the spouses of the
// open employment-placement cases in the caller's towns that the event
// serves and that are not invited yet, and returns the new invitations. A
// spouse who accepted an offer at any event is placed and not invited again.
func (s *Store) InviteToRecruitmentEvent(ctx context.Context, eventID, inviter string) ([]Invitation, error) {
	var added []Invitation
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var e RecruitmentEvent
		if err := s.forUpdate(eventsInScope(ctx, tx.Where("recruitment_events.id = ?", eventID))).Take(&e).Error; err != nil {
			return notFound(err)
		}
		var cases []Case
		q := tx.Select("id", "household_id", "subject_id", "town_code", "create_time").
			Where("kind = ? AND status IN ?", domain.KindEmploymentPlacement, enumNames(domain.InvitableStatuses())).
			Where("town_code IN (SELECT town_code FROM recruitment_event_towns WHERE event_id = ?)", eventID).
			Where("id NOT IN (SELECT case_id FROM recruitment_invitations WHERE event_id = ?)", eventID).
			Where("id NOT IN (SELECT case_id FROM recruitment_applications WHERE status = ?)", domain.ApplicationAccepted)
		if err := inScope(ctx, q, "town_code").Order("create_time, id").Find(&cases).Error; err != nil {
			return err
		}
		if len(cases) == 0 {
			return nil
		}
		now := s.clock()
		changes := make([]change, len(cases))
		for i, c := range cases {
			inv := Invitation{ID: newRowID(), EventID: eventID, CaseID: c.ID, HouseholdID: c.HouseholdID,
				SubjectID: c.SubjectID, TownCode: c.TownCode, Inviter: inviter, CreateTime: now}
			added = append(added, inv)
			changes[i] = change{resource: names.Invitation{EventID: eventID, ID: inv.ID}.String(), fields: []string{"created"}}
		}
		if err := tx.CreateInBatches(added, insertBatch).Error; err != nil {
			return conflict(err, "an invitation of this case")
		}
		return s.recordChanges(ctx, tx, changes)
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// ListInvitations returns a page of an event's invitations in the caller's
// towns, oldest first.
func (s *Store) ListInvitations(ctx context.Context, eventID string, page Page) ([]Invitation, *Cursor, error) {
	return eventPage(ctx, s, eventID, "recruitment_invitations", page, func(i Invitation) Cursor { t := i.CreateTime; return Cursor{Time: &t, ID: i.ID} })
}

// eventPage is a page of the rows of table that belong to an event that
// serves one of the caller's towns and are of the caller's towns, oldest
// first.
func eventPage[T any](ctx context.Context, s *Store, eventID, table string, page Page, key func(T) Cursor) ([]T, *Cursor, error) {
	if _, err := s.GetRecruitmentEvent(ctx, eventID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := keyset(inScope(ctx, s.conn(ctx).Table(table).Where(table+".event_id = ?", eventID), table+".town_code"),
		table, Order{Column: "create_time"}, false, page.After)
	var rows []T
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, key)
	return rows, next, nil
}

// CreateApplication registers an invited spouse for a position of the
// event. The invitation must be the event's and in the caller's towns, and
// the event must offer the position.
func (s *Store) CreateApplication(ctx context.Context, a *Application) error {
	now := s.clock()
	a.Revision, a.CreateTime, a.UpdateTime = 1, now, now
	a.Status, a.Stage = domain.ApplicationRegistered, domain.ApplicationRegistered
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var e RecruitmentEvent
		if err := eventsInScope(ctx, tx.Where("recruitment_events.id = ?", a.EventID)).Take(&e).Error; err != nil {
			return notFound(err)
		}
		var inv Invitation
		if err := inScope(ctx, tx.Where("id = ? AND event_id = ?", a.InvitationID, a.EventID), "town_code").Take(&inv).Error; err != nil {
			if errors.Is(notFound(err), ErrNotFound) {
				return domain.Invalid("application.invitation", "no such invitation to this event")
			}
			return err
		}
		if _, _, ok := domain.FindPosition(e.Employers.V, a.PositionID); !ok {
			return domain.Invalid("application.position_id", "the event offers no position with this id")
		}
		a.CaseID, a.TownCode = inv.CaseID, inv.TownCode
		if err := tx.Create(a).Error; err != nil {
			return conflict(err, "an application of this spouse to this position")
		}
		return s.recordChange(ctx, tx, a.resource(), Etag(a.Revision), []string{"created"})
	})
}

// GetApplication reads an application of the event in the caller's towns.
func (s *Store) GetApplication(ctx context.Context, eventID, id string) (*Application, error) {
	var a Application
	if err := inScope(ctx, s.conn(ctx).Where("id = ? AND event_id = ?", id, eventID), "town_code").Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// ListApplications returns a page of an event's applications in the
// caller's towns, oldest first.
func (s *Store) ListApplications(ctx context.Context, eventID string, page Page) ([]Application, *Cursor, error) {
	return eventPage(ctx, s, eventID, "recruitment_applications", page, func(a Application) Cursor { t := a.CreateTime; return Cursor{Time: &t, ID: a.ID} })
}

// MutateApplication applies fn to an application under the etag check
// (none when etag is empty). fn's context is bound to the transaction:
// store calls made with it (the placement an accepted offer records on the
// case) commit with the application or not at all. fn also gets the event.
func (s *Store) MutateApplication(ctx context.Context, eventID, id, etag string, fn func(ctx context.Context, e *RecruitmentEvent, a *Application) error) (*Application, error) {
	return update(ctx, s, func(tx *gorm.DB) *gorm.DB {
		return inScope(ctx, tx.Where("id = ? AND event_id = ?", id, eventID), "town_code")
	}, etag, func(ctx context.Context, a *Application) error {
		e, err := s.GetRecruitmentEvent(ctx, eventID)
		if err != nil {
			return err
		}
		if err := fn(ctx, e, a); err != nil {
			return err
		}
		if a.Status != domain.ApplicationAccepted {
			return nil
		}
		// One placement per case: a spouse placed through one offer cannot
		// accept another.
		var placed int64
		if err := s.conn(ctx).Model(&Application{}).Where("case_id = ? AND status = ? AND id <> ?", a.CaseID, domain.ApplicationAccepted, a.ID).
			Count(&placed).Error; err != nil {
			return err
		}
		if placed > 0 {
			return errPrecondition("ALREADY_PLACED", names.Case{ID: a.CaseID}.String(),
				"the spouse has accepted another offer; the case records that placement")
		}
		return nil
	})
}

// PositionTaken locks the event, in the caller's transaction, and returns
// it as it now stands with the number of offers accepted for the position
// other than the application except. Concurrent acceptances at the same
// event wait for each other on the lock, so each counts the others that
// committed before it and the last place goes once.
func (s *Store) PositionTaken(ctx context.Context, eventID, positionID, except string) (*RecruitmentEvent, int, error) {
	tx := s.conn(ctx)
	var e RecruitmentEvent
	if err := s.forUpdate(tx.Where("id = ?", eventID)).Take(&e).Error; err != nil {
		return nil, 0, notFound(err)
	}
	var n int64
	if err := tx.Model(&Application{}).Where("event_id = ? AND position_id = ? AND status = ? AND id <> ?",
		eventID, positionID, domain.ApplicationAccepted, except).Count(&n).Error; err != nil {
		return nil, 0, err
	}
	return &e, int(n), nil
}

// RecruitmentFigures are an event's counts in the caller's towns.
type RecruitmentFigures struct {
	Invited, Registered, Interviewed, Offered, Placed int64
}

// RecruitmentFigures counts an event's invitations and its applications by
// the furthest stage each reached, in one grouped query.
func (s *Store) RecruitmentFigures(ctx context.Context, eventID string) (*RecruitmentFigures, error) {
	if _, err := s.GetRecruitmentEvent(ctx, eventID); err != nil {
		return nil, err
	}
	db := s.conn(ctx)
	invited := inScope(ctx, db.Model(&Invitation{}).Select("'INVITED' AS stage, COUNT(*) AS n").Where("event_id = ?", eventID), "town_code")
	apps := inScope(ctx, db.Model(&Application{}).Select("stage, COUNT(*) AS n").Where("event_id = ?", eventID), "town_code").Group("stage")
	var rows []struct {
		Stage string
		N     int64
	}
	if err := db.Raw("? UNION ALL ?", invited, apps).Scan(&rows).Error; err != nil {
		return nil, err
	}
	f := &RecruitmentFigures{}
	for _, r := range rows {
		switch domain.ApplicationStatus(r.Stage) {
		case "INVITED":
			f.Invited += r.N
			continue
		case domain.ApplicationAccepted:
			f.Placed += r.N
			fallthrough
		case domain.ApplicationOffered:
			f.Offered += r.N
			fallthrough
		case domain.ApplicationInterviewed:
			f.Interviewed += r.N
		}
		f.Registered += r.N
	}
	return f, nil
}
