package repository

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// The household ledger: contacts, hardship assistance and the contact
// policy that decides each household's next_contact_due.

// Contact is a row of contacts. Dates are YYYY-MM-DD text on both
// databases, so that they compare as dates and mean the same day on each.
// Raised and the follow-ups are sealed at rest (sealing.go): in memory
// FollowUps holds them and FollowUpsSealed is empty; in the row,
// follow_ups_sealed holds their JSON, sealed.
type Contact struct {
	ID              string `gorm:"primaryKey"`
	HouseholdID     string
	ContactDate     string
	Channel         domain.ContactChannel
	RecordedBy      string
	Raised          string                  `gorm:"column:raised_sealed"`
	FollowUps       JSON[[]domain.FollowUp] `gorm:"-"`
	FollowUpsSealed string                  `gorm:"column:follow_ups_sealed"`
	// The plaintext columns migration 00015 retired: written empty and
	// never used, until a later migration drops them.
	RetiredRaised    string `gorm:"column:raised"`
	RetiredFollowUps string `gorm:"column:follow_ups"`
	Revision         int64
	CreateTime       time.Time
	UpdateTime       time.Time
}

// TableName names Contact's table for gorm.
func (Contact) TableName() string { return "contacts" }

func (c *Contact) revision() *int64  { return &c.Revision }
func (c *Contact) touch(t time.Time) { c.UpdateTime = t }
func (c *Contact) resource() string {
	return names.Contact{HouseholdID: c.HouseholdID, ID: c.ID}.String()
}

// Assistance is a row of assistance: hardship help given, never changed
// once recorded (a correction is a new record).
type Assistance struct {
	ID             string `gorm:"primaryKey"`
	HouseholdID    string
	Kind           domain.AssistanceKind
	AmountFen      int64
	AssistanceDate string
	SourceOfFunds  string
	Approver       string
	Note           string `gorm:"column:note_sealed"` // sealed at rest
	RetiredNote    string `gorm:"column:note"`        // retired by migration 00015: empty
	RecordedBy     string
	CreateTime     time.Time
}

// TableName names Assistance's table for gorm.
func (Assistance) TableName() string { return "assistance" }

func (a *Assistance) resource() string {
	return names.Assistance{HouseholdID: a.HouseholdID, ID: a.ID}.String()
}

// ContactPolicy is the one row of contact_policy.
type ContactPolicy struct {
	ID                        int `gorm:"primaryKey;autoIncrement:false"`
	BorderMissionIntervalDays int
	HardshipIntervalDays      int
	Revision                  int64
	UpdateTime                time.Time
}

// TableName names ContactPolicy's table for gorm.
func (ContactPolicy) TableName() string { return "contact_policy" }

func (p *ContactPolicy) revision() *int64  { return &p.Revision }
func (p *ContactPolicy) touch(t time.Time) { p.UpdateTime = t }
func (p *ContactPolicy) resource() string  { return names.ContactPolicy{}.String() }

// Rules is the policy as the domain reads it.
func (p *ContactPolicy) Rules() domain.ContactPolicy {
	return domain.ContactPolicy{BorderMissionDays: p.BorderMissionIntervalDays, HardshipDays: p.HardshipIntervalDays}
}

// lockHousehold locks a live household of the caller's towns, so that a
// concurrent delete cannot leave a record under a deleted household.
func (s *Store) lockHousehold(ctx context.Context, tx *gorm.DB, id string) error {
	var h Household
	q := inScope(ctx, tx.Select("id").Where("id = ? AND delete_time IS NULL", id), "town_code")
	return notFound(s.forUpdate(q).Take(&h).Error)
}

// CreateContact records c on its live household and moves the household's
// next_contact_due, in one transaction with the audit entry and the event.
func (s *Store) CreateContact(ctx context.Context, c *Contact) error {
	now := s.clock()
	c.Revision, c.CreateTime, c.UpdateTime = 1, now, now
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockHousehold(ctx, tx, c.HouseholdID); err != nil {
			return err
		}
		if err := s.createSealed(tx, c); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, c.resource(), Etag(c.Revision), []string{"created"}); err != nil {
			return err
		}
		_, err := s.refreshContactDue(tx, []string{c.HouseholdID})
		return err
	})
}

// inLiveHousehold limits q on table to rows of a live household of the
// caller's towns.
func inLiveHousehold(ctx context.Context, q *gorm.DB, table string) *gorm.DB {
	return q.Where("EXISTS (?)", liveHousehold(ctx, q.Session(&gorm.Session{NewDB: true}), table+".household_id"))
}

// GetContact reads a contact of a live household in the caller's towns.
func (s *Store) GetContact(ctx context.Context, householdID, id string) (*Contact, error) {
	var c Contact
	q := s.conn(ctx).Where("contacts.id = ? AND contacts.household_id = ?", id, householdID)
	if err := inLiveHousehold(ctx, q, "contacts").Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, c.open(s.cipher)
}

// ContactFilter is the schema of ListContacts filters.
var ContactFilter = filter.Schema{
	"channel":      {Kind: filter.KindEnum, Prefix: "CONTACT_CHANNEL_", Values: enumNames(domain.ContactChannels())},
	"contact_date": {Kind: filter.KindString, Check: calendarDate, Ops: dateOps},
}

var contactColumns = map[string]column{
	"channel":      plain("contacts.channel", stringValue),
	"contact_date": plain("contacts.contact_date", stringValue),
}

// AssistanceFilter is the schema of ListAssistance filters.
var AssistanceFilter = filter.Schema{
	"kind":            {Kind: filter.KindEnum, Prefix: "ASSISTANCE_KIND_", Values: enumNames(domain.AssistanceKinds())},
	"assistance_date": {Kind: filter.KindString, Check: calendarDate, Ops: dateOps},
}

var assistanceColumns = map[string]column{
	"kind":            plain("assistance.kind", stringValue),
	"assistance_date": plain("assistance.assistance_date", stringValue),
}

// dateOps compare calendar dates.
var dateOps = []filter.Op{filter.OpEq, filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe}

// calendarDate accepts a date written YYYY-MM-DD.
func calendarDate(v string) string {
	if _, err := time.Parse(domain.DateLayout, v); err != nil {
		return `must be a date, e.g. "2026-11-01"`
	}
	return ""
}

// LedgerQuery asks for a page of a household's contacts or assistance.
type LedgerQuery struct {
	HouseholdID string
	Filter      filter.Filter
	Page        Page
}

// dateKeyset orders a ledger table newest date first (then id), starting
// after the cursor, whose Time holds the date at midnight UTC.
func dateKeyset(q *gorm.DB, table, column string, after *Cursor) *gorm.DB {
	col, id := table+"."+column, table+".id"
	if after != nil && after.Time != nil {
		q = q.Where(fmt.Sprintf("(%s, %s) < (?, ?)", col, id), after.Time.Format(domain.DateLayout), after.ID)
	}
	return q.Order(col + " DESC, " + id + " DESC")
}

func dateCursor(date, id string) Cursor {
	t, _ := time.Parse(domain.DateLayout, date)
	return Cursor{Time: &t, ID: id}
}

// ListContacts returns a page of a live household's contacts, newest
// contact date first.
func (s *Store) ListContacts(ctx context.Context, q LedgerQuery) ([]Contact, *Cursor, error) {
	return listLedger(ctx, s, q, "contacts", "contact_date", ContactFilter, contactColumns,
		func(c Contact) Cursor { return dateCursor(c.ContactDate, c.ID) })
}

// listLedger returns a page of a live household's rows of table, newest
// dateColumn first.
func listLedger[T any](ctx context.Context, s *Store, q LedgerQuery, table, dateColumn string,
	schema filter.Schema, columns map[string]column, key func(T) Cursor) ([]T, *Cursor, error) {
	if err := s.inTown(ctx, q.HouseholdID); err != nil {
		return nil, nil, err
	}
	db, err := applyFilter(s.conn(ctx).Model(new(T)).Where(table+".household_id = ?", q.HouseholdID),
		q.Filter, schema, columns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := q.Page.limit()
	var rows []T
	if err := dateKeyset(db, table, dateColumn, q.Page.After).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, key)
	return rows, next, nil
}

// UpdateContact applies fn to a contact under the etag check and moves the
// household's next_contact_due if the date changed, in one transaction.
func (s *Store) UpdateContact(ctx context.Context, householdID, id, etag string, fn func(ctx context.Context, c *Contact) error) (*Contact, error) {
	var out *Contact
	err := s.InTx(ctx, func(ctx context.Context) error {
		c, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB {
			return inLiveHousehold(ctx, tx.Where("contacts.id = ? AND contacts.household_id = ?", id, householdID), "contacts")
		}, etag, fn)
		if err != nil {
			return err
		}
		out = c
		_, err = s.refreshContactDue(s.conn(ctx), []string{householdID})
		return err
	})
	return out, err
}

// CreateAssistance records a on its live household.
func (s *Store) CreateAssistance(ctx context.Context, a *Assistance) error {
	a.CreateTime = s.clock()
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockHousehold(ctx, tx, a.HouseholdID); err != nil {
			return err
		}
		if err := s.createSealed(tx, a); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, a.resource(), Etag(1), []string{"created"})
	})
}

// GetAssistance reads assistance given to a live household in the
// caller's towns.
func (s *Store) GetAssistance(ctx context.Context, householdID, id string) (*Assistance, error) {
	var a Assistance
	q := s.conn(ctx).Where("assistance.id = ? AND assistance.household_id = ?", id, householdID)
	if err := inLiveHousehold(ctx, q, "assistance").Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, a.open(s.cipher)
}

// ListAssistance returns a page of a live household's assistance, newest
// date first.
func (s *Store) ListAssistance(ctx context.Context, q LedgerQuery) ([]Assistance, *Cursor, error) {
	return listLedger(ctx, s, q, "assistance", "assistance_date", AssistanceFilter, assistanceColumns,
		func(a Assistance) Cursor { return dateCursor(a.AssistanceDate, a.ID) })
}

// GetContactPolicy reads the county's contact policy.
func (s *Store) GetContactPolicy(ctx context.Context) (*ContactPolicy, error) {
	var p ContactPolicy
	if err := s.conn(ctx).Take(&p, 1).Error; err != nil {
		return nil, notFound(err)
	}
	return &p, nil
}

// UpdateContactPolicy applies fn to the policy under the etag check and
// computes every household's next_contact_due again, in one transaction.
func (s *Store) UpdateContactPolicy(ctx context.Context, etag string, fn func(ctx context.Context, p *ContactPolicy) error) (*ContactPolicy, error) {
	var out *ContactPolicy
	err := s.InTx(ctx, func(ctx context.Context) error {
		p, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = 1") }, etag, fn)
		if err != nil {
			return err
		}
		out = p
		return s.refreshAllContactDue(s.conn(ctx), p.Rules())
	})
	return out, err
}

// refreshAllContactDue computes every household's next_contact_due again
// under rules, with one UPDATE per class of household (border or mission
// post, and in hardship or not), so that a policy change over 200,000
// households is four statements, not a round trip each. The interval of
// each class is domain's (ContactPolicy.Interval); the statements only add
// it to the latest contact's date, or to the registration day in China,
// and write only the rows whose date moves.
func (s *Store) refreshAllContactDue(tx *gorm.DB, rules domain.ContactPolicy) error {
	borderMission := []string{string(domain.PostBorderCoastalDefence), string(domain.PostMissionUnit)}
	const last = "(SELECT MAX(c.contact_date) FROM contacts c WHERE c.household_id = households.id)"
	for _, class := range []struct {
		post     domain.PostType // one post of the class
		postSQL  string
		hardship bool
	}{
		{domain.PostBorderCoastalDefence, "post_type IN ?", false},
		{domain.PostBorderCoastalDefence, "post_type IN ?", true},
		{domain.PostRegular, "post_type NOT IN ?", false},
		{domain.PostRegular, "post_type NOT IN ?", true},
	} {
		due := "NULL"
		var args []any
		if days := rules.Interval(class.post, class.hardship); days > 0 {
			if s.dialect == Postgres {
				due = "to_char(COALESCE(" + last + ", to_char((create_time AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM-DD'))::date + ?::int, 'YYYY-MM-DD')"
				args = append(args, days)
			} else {
				// China keeps no summer time: its day is UTC+8 all year.
				due = "date(COALESCE(" + last + ", date(create_time, '+8 hours')), ?)"
				args = append(args, fmt.Sprintf("+%d days", days))
			}
		}
		distinct := "IS DISTINCT FROM"
		if s.dialect != Postgres {
			distinct = "IS NOT"
		}
		args = append(args, borderMission, class.hardship)
		args = append(args, args[:len(args)-2]...) // the due date again, for the comparison
		err := tx.Exec("UPDATE households SET next_contact_due = "+due+" WHERE "+class.postSQL+" AND hardship = ? AND next_contact_due "+distinct+" "+due, args...).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// dueRow is what next_contact_due is computed from.
type dueRow struct {
	ID             string
	PostType       domain.PostType
	Hardship       bool
	CreateTime     time.Time
	NextContactDue *string
	LastContact    *string
}

// refreshContactDue computes next_contact_due again for the households
// ids (nil: every household) inside tx, writing only the ones that moved,
// and answers each household's value. It ignores the caller's towns: the
// column is computed, whoever's write moved it.
func (s *Store) refreshContactDue(tx *gorm.DB, ids []string) (map[string]*string, error) {
	var p ContactPolicy
	if err := tx.Take(&p, 1).Error; err != nil {
		return nil, err
	}
	rules := p.Rules()
	q := tx.Table("households h").Select("h.id, h.post_type, h.hardship, h.create_time, h.next_contact_due, " +
		"(SELECT MAX(c.contact_date) FROM contacts c WHERE c.household_id = h.id) AS last_contact")
	if ids != nil {
		q = q.Where("h.id IN ?", ids)
	}
	var rows []dueRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]*string, len(rows))
	for _, r := range rows {
		var due *string
		if d := rules.NextContactDue(r.PostType, r.Hardship, deref(r.LastContact), r.CreateTime); d != "" {
			due = &d
		}
		out[r.ID] = due
		if deref(due) == deref(r.NextContactDue) {
			continue
		}
		if err := tx.Table("households").Where("id = ?", r.ID).Update("next_contact_due", due).Error; err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// LedgerSummary counts a household's ledger: its contacts, its assistance
// and their total, its open and closed cases.
type LedgerSummary struct {
	Contacts    int64
	Assistance  int64
	TotalFen    int64
	OpenCases   int64
	ClosedCases int64
	// Cases are the latest of them, open ones first.
	Cases []Case
}

// HouseholdLedger summarises a live household of the caller's towns, with
// at most caseLimit of its cases.
func (s *Store) HouseholdLedger(ctx context.Context, householdID string, caseLimit int) (*LedgerSummary, error) {
	if err := s.inTown(ctx, householdID); err != nil {
		return nil, err
	}
	db := s.conn(ctx)
	var out LedgerSummary
	if err := db.Model(&Contact{}).Where("household_id = ?", householdID).Count(&out.Contacts).Error; err != nil {
		return nil, err
	}
	var total struct {
		N   int64
		Sum int64
	}
	if err := db.Model(&Assistance{}).Select("COUNT(*) AS n, COALESCE(SUM(amount_fen), 0) AS sum").
		Where("household_id = ?", householdID).Scan(&total).Error; err != nil {
		return nil, err
	}
	out.Assistance, out.TotalFen = total.N, total.Sum
	open := openStatuses()
	if err := db.Model(&Case{}).Where("household_id = ? AND status IN ?", householdID, open).Count(&out.OpenCases).Error; err != nil {
		return nil, err
	}
	if err := db.Model(&Case{}).Where("household_id = ? AND status NOT IN ?", householdID, open).Count(&out.ClosedCases).Error; err != nil {
		return nil, err
	}
	err := db.Model(&Case{}).Where("household_id = ?", householdID).
		Order(openFirst(open)).Order("create_time DESC").Order("id DESC").
		Limit(caseLimit).Find(&out.Cases).Error
	return &out, err
}

// openFirst sorts open cases before the others. The statuses are the
// domain's constants, never a caller's text.
func openFirst(open []string) string {
	return "CASE WHEN status IN ('" + strings.Join(open, "', '") + "') THEN 0 ELSE 1 END"
}

// newContactDues sets the next_contact_due of households about to be
// created, which have no contact yet, from the contact policy read once in
// tx: the rows go in with it. Written after the insert instead, it cost an
// UPDATE a household, each a new version of the row in every index of the
// table (next_contact_due is indexed itself), which doubled a batch's
// writes.
func (s *Store) newContactDues(tx *gorm.DB, hs ...*Household) error {
	var p ContactPolicy
	if err := tx.Take(&p, 1).Error; err != nil {
		return err
	}
	rules := p.Rules()
	for _, h := range hs {
		h.NextContactDue = nil
		if d := rules.NextContactDue(h.PostType, h.Hardship, "", h.CreateTime); d != "" {
			h.NextContactDue = &d
		}
	}
	return nil
}

// setContactDue computes h's next_contact_due after a write of h in tx and
// sets it on h, as a later read would show it.
func (s *Store) setContactDue(tx *gorm.DB, h *Household) error {
	return s.setContactDues(tx, []*Household{h})
}

func (s *Store) setContactDues(tx *gorm.DB, hs []*Household) error {
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	for chunk := range slices.Chunk(ids, 500) {
		dues, err := s.refreshContactDue(tx, chunk)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if d, ok := dues[h.ID]; ok {
				h.NextContactDue = d
			}
		}
	}
	return nil
}

// contactOverdue finds the households whose next contact was due before
// today in China (or, "= false", the others).
func contactOverdue(c filter.Condition, now time.Time) (string, []any) {
	overdue := c.Bool == (c.Op == filter.OpEq)
	today := domain.LedgerToday(now)
	if overdue {
		return "households.next_contact_due < ?", []any{today}
	}
	return "(households.next_contact_due IS NULL OR households.next_contact_due >= ?)", []any{today}
}
