package repository

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// Partner agencies, referrals of cases to them, and the alerts of
// deadlines (issue 14). A referral and an alert belong to a case: their
// town scope is the case's.

// Agency is a row of agencies: a county body cases are referred to. It
// belongs to no town.
type Agency struct {
	ID          string `gorm:"primaryKey"`
	DisplayName string
	CaseTypes   List[domain.Kind]
	Active      bool
	Revision    int64
	CreateTime  time.Time
	UpdateTime  time.Time
}

// TableName names Agency's table for gorm.
func (Agency) TableName() string { return "agencies" }

func (a *Agency) revision() *int64  { return &a.Revision }
func (a *Agency) touch(t time.Time) { a.UpdateTime = t }
func (a *Agency) resource() string  { return names.Agency{ID: a.ID}.String() }

// Referral is a row of referrals. Dates are YYYY-MM-DD text; ReplyDate is
// nil until the agency replies. Request and Reply are sealed at rest.
type Referral struct {
	ID              string `gorm:"primaryKey"`
	CaseID          string
	AgencyID        string
	SentDate        string
	Request         string `gorm:"column:request_sealed"`
	AgencyReference string
	Reply           string `gorm:"column:reply_sealed"`
	ReplyDate       *string
	FollowUpDueDate string
	Creator         string
	Revision        int64
	CreateTime      time.Time
	UpdateTime      time.Time
	DeleteTime      *time.Time
}

// TableName names Referral's table for gorm.
func (Referral) TableName() string { return "referrals" }

func (r *Referral) revision() *int64  { return &r.Revision }
func (r *Referral) touch(t time.Time) { r.UpdateTime = t }
func (r *Referral) resource() string {
	return names.Referral{CaseID: r.CaseID, ID: r.ID}.String()
}

// Dates are the referral's dates as the domain reads them.
func (r *Referral) Dates() domain.ReferralDates {
	d := domain.ReferralDates{Sent: r.SentDate, FollowUpDue: r.FollowUpDueDate}
	if r.ReplyDate != nil {
		d.ReplyDate = *r.ReplyDate
	}
	return d
}

const (
	sealReferralRequest = "referrals.request"
	sealReferralReply   = "referrals.reply"
)

func (r *Referral) seal(c Cipher) error {
	return sealAll(c, field{&r.Request, sealReferralRequest}, field{&r.Reply, sealReferralReply})
}

func (r *Referral) open(c Cipher) error {
	return openAll(c, field{&r.Request, sealReferralRequest}, field{&r.Reply, sealReferralReply})
}

// Alert is a row of alerts. Assignee and TownCode are the case's, read
// with the alert and never written.
type Alert struct {
	ID              string `gorm:"primaryKey"`
	Kind            domain.AlertKind
	CaseID          string
	ReferralID      string // "" for a case's own deadline
	DueTime         time.Time
	RaiseTime       time.Time
	AcknowledgedBy  string
	AcknowledgeTime *time.Time
	Revision        int64
	Assignee        string `gorm:"->;-:migration"`
	TownCode        string `gorm:"->;-:migration"`
}

// TableName names Alert's table for gorm.
func (Alert) TableName() string { return "alerts" }

func (a *Alert) revision() *int64 { return &a.Revision }
func (a *Alert) touch(time.Time)  {}
func (a *Alert) resource() string { return names.Alert{ID: a.ID}.String() }
func (a *Alert) normalizeTimes()  { a.DueTime = a.DueTime.UTC() }

// CreateAgency adds a to the table; an existing id is a ConflictError.
func (s *Store) CreateAgency(ctx context.Context, a *Agency) error {
	now := s.clock()
	a.Revision, a.CreateTime, a.UpdateTime = 1, now, now
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			return conflict(err, "an agency with this id")
		}
		return s.recordChange(ctx, tx, a.resource(), Etag(a.Revision), []string{"created"})
	})
}

// GetAgency reads an agency.
func (s *Store) GetAgency(ctx context.Context, id string) (*Agency, error) {
	var a Agency
	if err := s.conn(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// AgencyFilter is the schema of ListAgencies filters.
var AgencyFilter = filter.Schema{"active": {Kind: filter.KindBool}}

var agencyColumns = map[string]column{"active": plain("agencies.active", boolValue)}

// ListAgencies returns a page of agencies in id order.
func (s *Store) ListAgencies(ctx context.Context, f filter.Filter, page Page) ([]Agency, *Cursor, error) {
	q, err := applyFilter(s.conn(ctx).Model(&Agency{}), f, AgencyFilter, agencyColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	if page.After != nil {
		q = q.Where("id > ?", page.After.ID)
	}
	limit := page.limit()
	var rows []Agency
	if err := q.Order("id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(a Agency) Cursor { return Cursor{ID: a.ID} })
	return rows, next, nil
}

// UpdateAgency applies fn to an agency under the etag check.
func (s *Store) UpdateAgency(ctx context.Context, id, etag string, fn func(ctx context.Context, a *Agency) error) (*Agency, error) {
	return update(ctx, s, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) }, etag, fn)
}

// caseStatus locks a case of the caller's towns and reads its status, for
// the history entries of the case's referrals and alerts.
func (s *Store) caseStatus(ctx context.Context, tx *gorm.DB, caseID string) (domain.Status, error) {
	var c Case
	if err := s.forUpdate(inScope(ctx, tx.Select("id", "status").Where("id = ?", caseID), "town_code")).Take(&c).Error; err != nil {
		return "", notFound(err)
	}
	return c.Status, nil
}

// caseHistory appends an entry to a case's history that changes nothing of
// the case itself, naming what changed beside it.
func (s *Store) caseHistory(ctx context.Context, tx *gorm.DB, caseID, actor, method, reason string, fields ...string) error {
	status, err := s.caseStatus(ctx, tx, caseID)
	if err != nil {
		return err
	}
	return s.appendHistory(tx, caseID, s.clock(), &HistoryEntry{Actor: actor, Method: method,
		FromStatus: status, ToStatus: status, ChangedFields: fields, Reason: reason})
}

// CreateReferral records r on its case, with the case's history entry, the
// audit entry and the event, in one transaction. The agency must exist and
// be active.
func (s *Store) CreateReferral(ctx context.Context, r *Referral) error {
	now := s.clock()
	r.Revision, r.CreateTime, r.UpdateTime, r.DeleteTime = 1, now, now, nil
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.caseHistory(ctx, tx, r.CaseID, r.Creator, "CreateReferral", "", "referrals"); err != nil {
			return err
		}
		if err := checkAgency(tx, r.AgencyID); err != nil {
			return err
		}
		if err := s.createSealed(tx, r); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, r.resource(), Etag(r.Revision), []string{"created"})
	})
}

// checkAgency refuses a referral to an agency that is not in the table or
// no longer takes referrals.
func checkAgency(tx *gorm.DB, id string) error {
	var a Agency
	if err := tx.Select("id", "active").Where("id = ?", id).Take(&a).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Invalid("referral.agency", "names no agency of the county's table")
		}
		return err
	}
	if !a.Active {
		return errPrecondition("AGENCY_INACTIVE", names.Agency{ID: id}.String(), "the agency is inactive and takes no new referrals")
	}
	return nil
}

// inCaseScope limits q on table to rows of a case of the caller's towns.
func inCaseScope(ctx context.Context, q *gorm.DB, table string) *gorm.DB {
	sub := q.Session(&gorm.Session{NewDB: true}).Table("cases c").Select("1").Where("c.id = " + table + ".case_id")
	return q.Where("EXISTS (?)", inScope(ctx, sub, "c.town_code"))
}

// GetReferral reads a referral of a case in the caller's towns, withdrawn
// or not.
func (s *Store) GetReferral(ctx context.Context, caseID, id string) (*Referral, error) {
	var r Referral
	q := s.conn(ctx).Where("referrals.id = ? AND referrals.case_id = ?", id, caseID)
	if err := inCaseScope(ctx, q, "referrals").Take(&r).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, r.open(s.cipher)
}

// ReferralFilter is the schema of ListReferrals filters.
var ReferralFilter = filter.Schema{
	"agency": {Kind: filter.KindResourceName, Collection: "agencies/"},
	"state":  {Kind: filter.KindEnum, Prefix: "REFERRAL_STATE_", Values: enumNames(domain.ReferralStates())},
}

var referralColumns = map[string]column{
	"agency": plain("referrals.agency_id", func(c filter.Condition) any {
		n, _ := names.As[names.Agency](c.Value)
		return n.ID
	}),
	// The state is derived from the dates on the day of now (China time),
	// as domain.ReferralDates.State derives it.
	"state": func(c filter.Condition, now time.Time) (string, []any) {
		today := domain.LedgerToday(now)
		const live = "referrals.delete_time IS NULL AND "
		switch domain.ReferralState(c.Value) {
		case domain.ReferralWithdrawn:
			return "referrals.delete_time IS NOT NULL", nil
		case domain.ReferralReplied:
			return live + "referrals.reply_date IS NOT NULL", nil
		case domain.ReferralOverdue:
			return live + "referrals.reply_date IS NULL AND referrals.follow_up_due_date < ?", []any{today}
		}
		return live + "referrals.reply_date IS NULL AND referrals.follow_up_due_date >= ?", []any{today}
	},
}

// ReferralQuery asks for a page of a case's referrals.
type ReferralQuery struct {
	CaseID      string
	Filter      filter.Filter
	ShowDeleted bool
	Page        Page
}

// ListReferrals returns a page of a case's referrals, newest sent first.
func (s *Store) ListReferrals(ctx context.Context, q ReferralQuery) ([]Referral, *Cursor, error) {
	if _, err := s.GetCase(ctx, q.CaseID); err != nil {
		return nil, nil, err
	}
	db := s.conn(ctx).Model(&Referral{}).Where("referrals.case_id = ?", q.CaseID)
	if !q.ShowDeleted {
		db = db.Where("referrals.delete_time IS NULL")
	}
	db, err := applyFilter(db, q.Filter, ReferralFilter, referralColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := q.Page.limit()
	var rows []Referral
	if err := dateKeyset(db, "referrals", "sent_date", q.Page.After).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(r Referral) Cursor { return dateCursor(r.SentDate, r.ID) })
	return rows, next, nil
}

// UpdateReferral applies fn to a referral under the etag check; a change
// is recorded in the case's history as method by actor, naming the
// changed fields. A changed agency must be active.
func (s *Store) UpdateReferral(ctx context.Context, caseID, id, etag, actor, method string, fn func(ctx context.Context, r *Referral) error) (*Referral, error) {
	return update(ctx, s, func(tx *gorm.DB) *gorm.DB {
		return inCaseScope(ctx, tx.Where("referrals.id = ? AND referrals.case_id = ?", id, caseID), "referrals")
	}, etag, func(ctx context.Context, r *Referral) error {
		before := *r
		if err := fn(ctx, r); err != nil {
			return err
		}
		fields := changedFields(&before, r)
		if len(fields) == 0 {
			return nil
		}
		tx := s.conn(ctx)
		if r.AgencyID != before.AgencyID {
			if err := checkAgency(tx, r.AgencyID); err != nil {
				return err
			}
		}
		for i, f := range fields {
			fields[i] = "referrals." + f
		}
		return s.caseHistory(ctx, tx, caseID, actor, method, "", fields...)
	})
}

// AlertFilter is the schema of ListAlerts filters.
var AlertFilter = filter.Schema{
	"acknowledged": {Kind: filter.KindBool},
	"kind":         {Kind: filter.KindEnum, Prefix: "ALERT_KIND_", Values: enumNames(domain.AlertKinds())},
	"case":         {Kind: filter.KindResourceName, Collection: "cases/"},
}

var alertColumns = map[string]column{
	"acknowledged": func(c filter.Condition, _ time.Time) (string, []any) {
		if c.Bool {
			return "alerts.acknowledge_time IS NOT NULL", nil
		}
		return "alerts.acknowledge_time IS NULL", nil
	},
	"kind": plain("alerts.kind", stringValue),
	"case": plain("alerts.case_id", func(c filter.Condition) any {
		n, _ := names.As[names.Case](c.Value)
		return n.ID
	}),
}

// AlertQuery asks for a page of alerts. Assignee, when set, limits them to
// the cases assigned to that principal (a caseworker's own).
type AlertQuery struct {
	Filter   filter.Filter
	Assignee string
	Page     Page
}

// alerts selects alerts with their case's assignee and town, limited to
// cases of the caller's towns (and to assignee's cases when set).
func (s *Store) alerts(ctx context.Context, tx *gorm.DB, assignee string) *gorm.DB {
	q := tx.Model(&Alert{}).Select("alerts.*, cases.assignee, cases.town_code").
		Joins("JOIN cases ON cases.id = alerts.case_id")
	if assignee != "" {
		q = q.Where("cases.assignee = ?", assignee)
	}
	return inScope(ctx, q, "cases.town_code")
}

// ListAlerts returns a page of alerts, earliest deadline first; without an
// acknowledged condition in the filter, unacknowledged ones only.
func (s *Store) ListAlerts(ctx context.Context, q AlertQuery) ([]Alert, *Cursor, error) {
	db := s.alerts(ctx, s.conn(ctx), q.Assignee)
	if !mentions(q.Filter, "acknowledged") {
		db = db.Where("alerts.acknowledge_time IS NULL")
	}
	db, err := applyFilter(db, q.Filter, AlertFilter, alertColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := q.Page.limit()
	var rows []Alert
	if err := keyset(db, "alerts", Order{Column: "due_time"}, false, q.Page.After).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(a Alert) Cursor { t := a.DueTime; return Cursor{Time: &t, ID: a.ID} })
	return rows, next, nil
}

func mentions(f filter.Filter, field string) bool {
	for _, c := range f.Conditions {
		if c.Field == field {
			return true
		}
	}
	return false
}

// GetAlert reads an alert the caller may see.
func (s *Store) GetAlert(ctx context.Context, id, assignee string) (*Alert, error) {
	var a Alert
	if err := s.alerts(ctx, s.conn(ctx), assignee).Where("alerts.id = ?", id).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// AcknowledgeAlert records that actor read the alert, once: acknowledging
// it again changes nothing. The case's history records it.
func (s *Store) AcknowledgeAlert(ctx context.Context, id, etag, assignee, actor string) (*Alert, error) {
	a, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB {
		sub := tx.Session(&gorm.Session{NewDB: true}).Table("cases c").Select("1").Where("c.id = alerts.case_id")
		if assignee != "" {
			sub = sub.Where("c.assignee = ?", assignee)
		}
		return tx.Where("alerts.id = ?", id).Where("EXISTS (?)", inScope(ctx, sub, "c.town_code"))
	}, etag, func(ctx context.Context, a *Alert) error {
		if a.AcknowledgeTime != nil {
			return nil
		}
		now := s.clock()
		a.AcknowledgedBy, a.AcknowledgeTime = actor, &now
		return s.caseHistory(ctx, s.conn(ctx), a.CaseID, actor, "AcknowledgeAlert", alertReason(a), "alerts")
	})
	if err != nil {
		return nil, err
	}
	return s.GetAlert(ctx, a.ID, assignee)
}

// alertReason says in the case's history which alert it was: its name and
// kind, nothing about the family.
func alertReason(a *Alert) string {
	return names.Alert{ID: a.ID}.String() + " " + string(a.Kind)
}

// RaiseAlerts raises the alerts that are due at now: one for each case due
// within window or overdue, and one for each live referral without a
// reply past its follow-up due date. Each is raised once per case (or
// referral), kind and deadline: the unique key makes a second scan, or a
// second server's at the same moment, insert nothing. Each raise commits
// with its case's history entry, audit entry and event. newID names new
// alerts. It returns how many this call raised. Being the county's own
// rule, it reaches every town.
func (s *Store) RaiseAlerts(ctx context.Context, now time.Time, window time.Duration, newID func() string) (int, error) {
	ctx = WithScope(ctx, principal.Scope{All: true})
	candidates, err := s.dueAlerts(ctx, now, window)
	if err != nil {
		return 0, err
	}
	raised := 0
	for i := range candidates {
		a := &candidates[i]
		a.ID, a.RaiseTime, a.Revision = newID(), s.clock(), 1
		ok, err := s.raise(ctx, a)
		if err != nil {
			return raised, err
		}
		if ok {
			raised++
		}
	}
	return raised, nil
}

// dueAlerts lists the alerts now calls for that are not raised yet, up to
// a sweep's batch of each sort.
func (s *Store) dueAlerts(ctx context.Context, now time.Time, window time.Duration) ([]Alert, error) {
	now = now.UTC()
	var cases []Case
	// The kind a case's alert is of depends on its due time against now;
	// the NOT EXISTS asks for that kind's alert at that due time.
	err := s.conn(ctx).Select("id", "due_time").
		Where("due_time IS NOT NULL AND due_time <= ?", now.Add(window)).
		Where(`NOT EXISTS (SELECT 1 FROM alerts a WHERE a.case_id = cases.id AND a.referral_id = '' AND a.due_time = cases.due_time
			AND a.kind = CASE WHEN cases.due_time <= ? THEN ? ELSE ? END)`, now, domain.AlertCaseOverdue, domain.AlertCaseDueSoon).
		Order("due_time").Limit(sweepBatch).Find(&cases).Error
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, c := range cases {
		if kind, ok := domain.CaseAlert(*c.DueTime, now, window); ok {
			out = append(out, Alert{Kind: kind, CaseID: c.ID, DueTime: c.DueTime.UTC()})
		}
	}
	var refs []Referral
	err = s.conn(ctx).Select("id", "case_id", "follow_up_due_date").
		Where("reply_date IS NULL AND delete_time IS NULL AND follow_up_due_date < ?", domain.LedgerToday(now)).
		Where(`NOT EXISTS (SELECT 1 FROM alerts a WHERE a.referral_id = referrals.id AND a.kind = ? AND a.raise_time >= referrals.update_time)`,
			domain.AlertReferralOverdue).
		Order("follow_up_due_date DESC").Limit(sweepBatch).Find(&refs).Error
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		due, err := domain.FollowUpDeadline(r.FollowUpDueDate)
		if err != nil {
			return nil, err
		}
		out = append(out, Alert{Kind: domain.AlertReferralOverdue, CaseID: r.CaseID, ReferralID: r.ID, DueTime: due.UTC()})
	}
	return out, nil
}

// raise inserts a unless its key is taken, and records it; false when the
// alert was raised before.
func (s *Store) raise(ctx context.Context, a *Alert) (bool, error) {
	inserted := false
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		a.normalizeTimes()
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Omit("Assignee", "TownCode").Create(a)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		inserted = true
		if err := s.caseHistory(ctx, tx, a.CaseID, "system", "RaiseAlert", alertReason(a), "alerts"); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, a.resource(), Etag(a.Revision), []string{"created"})
	})
	return inserted, err
}
