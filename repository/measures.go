package repository

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// The preferential-measures ledger (惠军措施台账). Organisations belong to
// no town and measures are the county's published ledger: reads reach
// every town, whatever the caller's scope. Writes to a measure (and to its
// reviews and complaints) need a scope that covers every town the measure
// serves; a county-wide measure (no towns) needs a county-wide scope.

// Organization is a row of organizations: a signatory of a support
// agreement. ContactPhone is sealed at rest; the dates are calendar dates.
type Organization struct {
	ID                  string `gorm:"primaryKey"`
	DisplayName         string
	CreditCode          string
	ContactName         string
	ContactPhone        string
	AgreementSignDate   time.Time
	AgreementExpiryDate time.Time
	Revision            int64
	CreateTime          time.Time
	UpdateTime          time.Time
}

// Measure is a row of measures. State is the stored state; EffectiveState
// (computed on read) is SUSPENDED for an ACTIVE measure whose
// organization's agreement has expired but which the server's sweep has
// not reached yet, so that every read answers the same.
type Measure struct {
	ID                    string `gorm:"primaryKey"`
	OrganizationID        string
	Title                 string
	Description           string
	Kind                  domain.MeasureKind
	State                 domain.MeasureState
	StateReason           string
	BeneficiaryCategories List[domain.Category]
	TownCodes             List[string]
	ValidFrom             *time.Time
	ValidUntil            *time.Time
	LastReviewDate        *time.Time
	// ReviewedTime is LastReviewDate, or CreateTime before any review:
	// what the review period counts from. The store keeps it.
	ReviewedTime   time.Time
	Revision       int64
	CreateTime     time.Time
	UpdateTime     time.Time
	EffectiveState domain.MeasureState `gorm:"->;-:migration"`
}

// MeasureHistory is one change of a measure's state.
type MeasureHistory struct {
	ID        string `gorm:"primaryKey"`
	MeasureID string
	Time      time.Time
	Actor     string
	Method    string
	FromState domain.MeasureState
	ToState   domain.MeasureState
	Reason    string
}

// TableName names MeasureHistory's table for gorm.
func (MeasureHistory) TableName() string { return "measure_history" }

// MeasureReview is a row of measure_reviews; ReviewDate is a calendar date.
type MeasureReview struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	MeasureID      string
	ReviewDate     time.Time
	Reviewer       string
	Honoured       bool
	Findings       string
	CreateTime     time.Time
}

// Complaint is a row of complaints; the phone, the description and the
// resolution are sealed at rest.
type Complaint struct {
	ID               string `gorm:"primaryKey"`
	OrganizationID   string
	MeasureID        string
	ComplainantName  string
	ComplainantPhone string
	Description      string `gorm:"column:description_sealed"`
	State            domain.ComplaintState
	Resolution       string `gorm:"column:resolution_sealed"`
	// The plaintext columns migration 00015 retired: written empty and
	// never used, until a later migration drops them.
	RetiredDescription string `gorm:"column:description"`
	RetiredResolution  string `gorm:"column:resolution"`
	MeasureSuspended   bool
	Revision           int64
	CreateTime         time.Time
	UpdateTime         time.Time
	// EraseTime is when the retention schedule erased the complainant's
	// data (nil: not erased).
	EraseTime *time.Time
}

const (
	sealOrganizationPhone = "organizations.contact_phone"
	sealComplainantPhone  = "complaints.complainant_phone"
	sealComplaint         = "complaints.description"
	sealResolution        = "complaints.resolution"
)

func (o *Organization) seal(c Cipher) error {
	return sealAll(c, field{&o.ContactPhone, sealOrganizationPhone})
}
func (o *Organization) open(c Cipher) error {
	return openAll(c, field{&o.ContactPhone, sealOrganizationPhone})
}
func (c *Complaint) seal(ci Cipher) error { return sealAll(ci, c.sealed()...) }
func (c *Complaint) open(ci Cipher) error { return openAll(ci, c.sealed()...) }
func (c *Complaint) sealed() []field {
	return []field{{&c.ComplainantPhone, sealComplainantPhone}, {&c.Description, sealComplaint},
		{&c.Resolution, sealResolution}}
}

func (o *Organization) revision() *int64  { return &o.Revision }
func (o *Organization) touch(t time.Time) { o.UpdateTime = t }
func (o *Organization) resource() string  { return names.Organization{ID: o.ID}.String() }
func (m *Measure) revision() *int64       { return &m.Revision }
func (m *Measure) touch(t time.Time)      { m.UpdateTime = t }
func (m *Measure) resource() string {
	return names.Measure{OrganizationID: m.OrganizationID, ID: m.ID}.String()
}
func (c *Complaint) revision() *int64  { return &c.Revision }
func (c *Complaint) touch(t time.Time) { c.UpdateTime = t }
func (c *Complaint) resource() string {
	return names.Complaint{OrganizationID: c.OrganizationID, MeasureID: c.MeasureID, ID: c.ID}.String()
}
func (r *MeasureReview) resource() string {
	return names.MeasureReview{OrganizationID: r.OrganizationID, MeasureID: r.MeasureID, ID: r.ID}.String()
}

// Offer is what the menu rules read of a measure, in its effective state.
func (m *Measure) Offer() domain.Offer {
	return domain.Offer{State: m.EffectiveState, Categories: m.BeneficiaryCategories, Towns: m.TownCodes,
		ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil}
}

// writesAll refuses a write to a measure serving towns unless the caller's
// scope covers all of them (the whole county for a county-wide measure).
func writesAll(ctx context.Context, towns []string) error {
	s := scopeOf(ctx)
	if s.All {
		return nil
	}
	if len(towns) == 0 {
		return ErrOutOfScope
	}
	for _, t := range towns {
		if !s.Allows(t) {
			return ErrOutOfScope
		}
	}
	return nil
}

const duplicateOrganization = "an organization with this unified social credit code"

// CreateOrganization inserts o. A credit code another organization has is
// a *ConflictError naming it.
func (s *Store) CreateOrganization(ctx context.Context, o *Organization) error {
	now := s.clock()
	o.Revision, o.CreateTime, o.UpdateTime = 1, now, now
	if err := o.seal(s.cipher); err != nil {
		return err
	}
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(o).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, o.resource(), Etag(o.Revision), []string{"created"})
	})
	err = s.organizationConflict(ctx, err, o.CreditCode)
	if openErr := o.open(s.cipher); err == nil {
		err = openErr
	}
	return err
}

func (s *Store) organizationConflict(ctx context.Context, err error, code string) error {
	if !errors.Is(err, gorm.ErrDuplicatedKey) {
		return err
	}
	conflict := &ConflictError{What: duplicateOrganization}
	var existing []Organization
	if qErr := s.db.WithContext(ctx).Select("id").Where("credit_code = ?", code).Limit(1).Find(&existing).Error; qErr == nil && len(existing) == 1 {
		conflict.Resource = names.Organization{ID: existing[0].ID}.String()
	}
	return conflict
}

// GetOrganization reads an organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (*Organization, error) {
	var o Organization
	if err := s.conn(ctx).Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, notFound(err)
	}
	return &o, o.open(s.cipher)
}

// OrganizationFilter is the schema of ListOrganizations filters.
var OrganizationFilter = filter.Schema{
	"credit_code":       {Kind: filter.KindString},
	"agreement_expired": {Kind: filter.KindBool, Ops: []filter.Op{filter.OpEq}},
}

var organizationColumns = map[string]column{
	"credit_code": plain("organizations.credit_code", stringValue),
	"agreement_expired": func(c filter.Condition, now time.Time) (string, []any) {
		if c.Bool {
			return "organizations.agreement_expiry_date < ?", []any{dateParam(domain.Today(now))}
		}
		return "organizations.agreement_expiry_date >= ?", []any{dateParam(domain.Today(now))}
	},
}

// dateParam is a calendar date as a query parameter: its ISO text, which
// PostgreSQL reads as a date and SQLite compares with its stored dates in
// text order.
func dateParam(t time.Time) string { return t.Format(time.DateOnly) }

// ListOrganizations returns a page of organizations, oldest first.
func (s *Store) ListOrganizations(ctx context.Context, f filter.Filter, page Page) ([]Organization, *Cursor, error) {
	q, err := applyFilter(s.conn(ctx).Model(&Organization{}), f, OrganizationFilter, organizationColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q = keyset(q, "organizations", Order{Column: "create_time"}, false, page.After)
	var rows []Organization
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(o Organization) Cursor { t := o.CreateTime; return Cursor{Time: &t, ID: o.ID} })
	return rows, next, nil
}

// UpdateOrganization is the read-modify-write of an organization.
func (s *Store) UpdateOrganization(ctx context.Context, id, etag string, fn func(ctx context.Context, o *Organization) error) (*Organization, error) {
	var code string
	o, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB { return tx.Where("id = ?", id) }, etag,
		func(ctx context.Context, o *Organization) error {
			err := fn(ctx, o)
			code = o.CreditCode
			return err
		})
	if err != nil {
		return nil, s.organizationConflict(ctx, err, code)
	}
	return o, nil
}

// effectiveState is a measure's state as every read answers it: an ACTIVE
// measure whose organization's agreement expired before today (China
// time) is SUSPENDED, before the sweep stores it so.
const effectiveState = "CASE WHEN measures.state = 'ACTIVE' AND EXISTS (SELECT 1 FROM organizations o " +
	"WHERE o.id = measures.organization_id AND o.agreement_expiry_date < ?) THEN 'SUSPENDED' ELSE measures.state END"

func (s *Store) measures(ctx context.Context) *gorm.DB {
	today := dateParam(domain.Today(s.clock()))
	return s.conn(ctx).Model(&Measure{}).Select("measures.*, "+effectiveState+" AS effective_state", today)
}

// CreateMeasure inserts m as PROPOSED under an existing organization, in
// towns the caller may write, with its first history entry.
func (s *Store) CreateMeasure(ctx context.Context, m *Measure, actor string) error {
	if err := writesAll(ctx, m.TownCodes); err != nil {
		return err
	}
	now := s.clock()
	m.Revision, m.CreateTime, m.UpdateTime, m.ReviewedTime = 1, now, now, now
	m.State, m.EffectiveState = domain.MeasureProposed, domain.MeasureProposed
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Organization{}).Where("id = ?", m.OrganizationID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := tx.Omit("EffectiveState").Create(m).Error; err != nil {
			return err
		}
		if err := s.appendMeasureHistory(tx, m.ID, now, &MeasureHistory{Actor: actor, Method: "CreateMeasure", ToState: m.State}); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, m.resource(), Etag(m.Revision), []string{"created"})
	})
}

func (s *Store) appendMeasureHistory(tx *gorm.DB, measureID string, t time.Time, h *MeasureHistory) error {
	if h == nil {
		return nil
	}
	h.ID, h.MeasureID, h.Time = uuid.Must(uuid.NewV7()).String(), measureID, t
	return tx.Create(h).Error
}

// GetMeasure reads a measure of an organization.
func (s *Store) GetMeasure(ctx context.Context, organizationID, id string) (*Measure, error) {
	var m Measure
	if err := s.measures(ctx).Where("measures.id = ? AND measures.organization_id = ?", id, organizationID).Take(&m).Error; err != nil {
		return nil, notFound(err)
	}
	return &m, nil
}

// MeasureFilter is the schema of ListMeasures filters.
var MeasureFilter = filter.Schema{
	"state":          {Kind: filter.KindEnum, Prefix: "MEASURE_STATE_", Values: enumNames(domain.MeasureStates())},
	"kind":           {Kind: filter.KindEnum, Prefix: "MEASURE_KIND_", Values: enumNames(domain.MeasureKinds())},
	"town_code":      {Kind: filter.KindString, Check: townCode, Ops: []filter.Op{filter.OpEq}},
	"review_overdue": {Kind: filter.KindBool, Ops: []filter.Op{filter.OpEq}},
}

// MeasureQuery asks for a page of measures: an organization's, or every
// organization's when OrganizationID is "".
type MeasureQuery struct {
	OrganizationID string
	Filter         filter.Filter
	// ReviewPeriod is how long a measure may go unreviewed
	// (review_overdue); 0 is domain.DefaultReviewPeriod.
	ReviewPeriod time.Duration
	Page         Page
}

func measureColumns(today string, period time.Duration) map[string]column {
	return map[string]column{
		"state": func(c filter.Condition, _ time.Time) (string, []any) {
			return "(" + effectiveState + ") " + sqlOps[c.Op] + " ?", []any{today, c.Value}
		},
		"kind": plain("measures.kind", stringValue),
		"town_code": func(c filter.Condition, _ time.Time) (string, []any) {
			return "(measures.town_codes = '' OR ',' || measures.town_codes || ',' LIKE ?)", []any{"%," + c.Value + ",%"}
		},
		"review_overdue": func(c filter.Condition, now time.Time) (string, []any) {
			cut := now.Add(-period)
			if c.Bool {
				return "(measures.state <> 'EXITED' AND measures.reviewed_time < ?)", []any{cut}
			}
			return "(measures.state = 'EXITED' OR measures.reviewed_time >= ?)", []any{cut}
		},
	}
}

// ListMeasures returns a page of measures, oldest first.
func (s *Store) ListMeasures(ctx context.Context, q MeasureQuery) ([]Measure, *Cursor, error) {
	if q.OrganizationID != "" {
		if _, err := s.GetOrganization(ctx, q.OrganizationID); err != nil {
			return nil, nil, err
		}
	}
	period := q.ReviewPeriod
	if period <= 0 {
		period = domain.DefaultReviewPeriod
	}
	now := s.clock()
	db := s.measures(ctx)
	if q.OrganizationID != "" {
		db = db.Where("measures.organization_id = ?", q.OrganizationID)
	}
	db, err := applyFilter(db, q.Filter, MeasureFilter, measureColumns(dateParam(domain.Today(now)), period), now)
	if err != nil {
		return nil, nil, err
	}
	limit := q.Page.limit()
	db = keyset(db, "measures", Order{Column: "create_time"}, false, q.Page.After)
	var rows []Measure
	if err := db.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(m Measure) Cursor { t := m.CreateTime; return Cursor{Time: &t, ID: m.ID} })
	return rows, next, nil
}

// OfferedMeasures returns up to n measures in effect ACTIVE that serve town
// (or the whole county), after the cursor, in the menu's order (kind, then
// creation): what a household's menu is chosen from (the categories and
// validity are the domain's to check).
func (s *Store) OfferedMeasures(ctx context.Context, town string, after *MenuCursor, n int) ([]Measure, error) {
	today := dateParam(domain.Today(s.clock()))
	rank := menuRank()
	q := s.measures(ctx).
		Where("("+effectiveState+") = 'ACTIVE'", today).
		Where("(measures.town_codes = '' OR ',' || measures.town_codes || ',' LIKE ?)", "%,"+town+",%")
	if after != nil {
		q = q.Where("("+rank+", measures.create_time, measures.id) > (?, ?, ?)", menuKindRank(after.Kind), after.Time, after.ID)
	}
	var rows []Measure
	err := q.Order(rank + ", measures.create_time, measures.id").Limit(n).Find(&rows).Error
	return rows, err
}

// MenuCursor is the last measure of a page of the menu.
type MenuCursor struct {
	Kind domain.MeasureKind
	Time time.Time
	ID   string
}

// menuRank orders measures by kind in domain.MeasureKinds' order, the
// order of the menu's groups; the CASE holds only the kinds' constants.
func menuRank() string {
	var b strings.Builder
	b.WriteString("(CASE measures.kind")
	for i, k := range domain.MeasureKinds() {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", k, i)
	}
	fmt.Fprintf(&b, " ELSE %d END)", len(domain.MeasureKinds()))
	return b.String()
}

func menuKindRank(k domain.MeasureKind) int {
	if i := slices.Index(domain.MeasureKinds(), k); i >= 0 {
		return i
	}
	return len(domain.MeasureKinds())
}

// MutateMeasure is the read-modify-write of a measure: fn changes it and
// may return the history entry of a change of state, written in the same
// transaction. The towns before and after must be the caller's to write.
// The answer carries the effective state again.
func (s *Store) MutateMeasure(ctx context.Context, organizationID, id, etag string, fn func(ctx context.Context, m *Measure) (*MeasureHistory, error)) (*Measure, error) {
	_, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB {
		return tx.Where("id = ? AND organization_id = ?", id, organizationID)
	}, etag, func(ctx context.Context, m *Measure) error {
		if err := writesAll(ctx, m.TownCodes); err != nil {
			return err
		}
		s.fillEffective(ctx, m)
		h, err := fn(ctx, m)
		if err != nil {
			return err
		}
		if err := writesAll(ctx, m.TownCodes); err != nil {
			return err
		}
		m.EffectiveState = ""
		if m.LastReviewDate != nil {
			m.ReviewedTime = *m.LastReviewDate
		}
		return s.appendMeasureHistory(s.conn(ctx), m.ID, s.clock(), h)
	})
	if err != nil {
		return nil, err
	}
	return s.GetMeasure(ctx, organizationID, id)
}

// fillEffective sets a row read for update to the state reads answer.
func (s *Store) fillEffective(ctx context.Context, m *Measure) {
	m.EffectiveState = m.State
	if m.State != domain.MeasureActive {
		return
	}
	var o Organization
	if err := s.conn(ctx).Select("agreement_expiry_date").Where("id = ?", m.OrganizationID).Take(&o).Error; err == nil &&
		domain.AgreementExpired(o.AgreementExpiryDate, s.clock()) {
		m.EffectiveState = domain.MeasureSuspended
	}
}

// ListMeasureHistory returns a page of a measure's state changes, oldest
// first.
func (s *Store) ListMeasureHistory(ctx context.Context, organizationID, measureID string, page Page) ([]MeasureHistory, *Cursor, error) {
	if _, err := s.GetMeasure(ctx, organizationID, measureID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&MeasureHistory{}).Where("measure_id = ?", measureID), "measure_history",
		Order{Column: "time"}, false, page.After)
	var rows []MeasureHistory
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(h MeasureHistory) Cursor { t := h.Time; return Cursor{Time: &t, ID: h.ID} })
	return rows, next, nil
}

// CreateMeasureReview records a review and makes it the measure's latest
// when it is (a review dated before the latest leaves that in place), in
// one transaction.
func (s *Store) CreateMeasureReview(ctx context.Context, r *MeasureReview) error {
	r.CreateTime = s.clock()
	return s.InTx(ctx, func(ctx context.Context) error {
		// First the measure: its existence and the caller's right to
		// write it. A review older than the latest changes nothing there.
		_, err := s.MutateMeasure(ctx, r.OrganizationID, r.MeasureID, "", func(_ context.Context, m *Measure) (*MeasureHistory, error) {
			if m.LastReviewDate == nil || r.ReviewDate.After(*m.LastReviewDate) {
				d := r.ReviewDate
				m.LastReviewDate = &d
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		tx := s.conn(ctx)
		if err := tx.Create(r).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, r.resource(), "", []string{"created"})
	})
}

// ListMeasureReviews returns a page of a measure's reviews, oldest first.
func (s *Store) ListMeasureReviews(ctx context.Context, organizationID, measureID string, page Page) ([]MeasureReview, *Cursor, error) {
	if _, err := s.GetMeasure(ctx, organizationID, measureID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&MeasureReview{}).Where("measure_id = ?", measureID), "measure_reviews",
		Order{Column: "create_time"}, false, page.After)
	var rows []MeasureReview
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(r MeasureReview) Cursor { t := r.CreateTime; return Cursor{Time: &t, ID: r.ID} })
	return rows, next, nil
}

// CreateComplaint records a complaint (OPEN) about a measure whose towns
// the caller may write.
func (s *Store) CreateComplaint(ctx context.Context, c *Complaint) error {
	now := s.clock()
	c.Revision, c.CreateTime, c.UpdateTime, c.State = 1, now, now, domain.ComplaintOpen
	if err := c.seal(s.cipher); err != nil {
		return err
	}
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var m Measure
		if err := tx.Select("id", "town_codes").Where("id = ? AND organization_id = ?", c.MeasureID, c.OrganizationID).Take(&m).Error; err != nil {
			return notFound(err)
		}
		if err := writesAll(ctx, m.TownCodes); err != nil {
			return err
		}
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, c.resource(), Etag(c.Revision), []string{"created"})
	})
	if openErr := c.open(s.cipher); err == nil {
		err = openErr
	}
	return err
}

// GetComplaint reads a complaint.
func (s *Store) GetComplaint(ctx context.Context, n names.Complaint) (*Complaint, error) {
	var c Complaint
	if err := s.conn(ctx).Where("id = ? AND measure_id = ? AND organization_id = ?", n.ID, n.MeasureID, n.OrganizationID).
		Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, c.open(s.cipher)
}

// ComplaintFilter is the schema of ListComplaints filters.
var ComplaintFilter = filter.Schema{
	"state": {Kind: filter.KindEnum, Prefix: "COMPLAINT_STATE_", Values: enumNames(domain.ComplaintStates())},
}

var complaintColumns = map[string]column{"state": plain("complaints.state", stringValue)}

// ListComplaints returns a page of a measure's complaints, oldest first.
func (s *Store) ListComplaints(ctx context.Context, organizationID, measureID string, f filter.Filter, page Page) ([]Complaint, *Cursor, error) {
	if _, err := s.GetMeasure(ctx, organizationID, measureID); err != nil {
		return nil, nil, err
	}
	q, err := applyFilter(s.conn(ctx).Model(&Complaint{}).Where("measure_id = ?", measureID), f, ComplaintFilter, complaintColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q = keyset(q, "complaints", Order{Column: "create_time"}, false, page.After)
	var rows []Complaint
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(c Complaint) Cursor { t := c.CreateTime; return Cursor{Time: &t, ID: c.ID} })
	return rows, next, nil
}

// MutateComplaint is the read-modify-write of a complaint about a measure
// whose towns the caller may write; fn's context joins the transaction, so
// a MutateMeasure made with it (an upheld complaint suspending the
// measure) commits with it or not at all.
func (s *Store) MutateComplaint(ctx context.Context, n names.Complaint, etag string, fn func(ctx context.Context, c *Complaint) error) (*Complaint, error) {
	return update(ctx, s, func(tx *gorm.DB) *gorm.DB {
		return tx.Where("id = ? AND measure_id = ? AND organization_id = ?", n.ID, n.MeasureID, n.OrganizationID)
	}, etag, func(ctx context.Context, c *Complaint) error {
		var m Measure
		if err := s.conn(ctx).Select("id", "town_codes").Where("id = ?", c.MeasureID).Take(&m).Error; err != nil {
			return notFound(err)
		}
		if err := writesAll(ctx, m.TownCodes); err != nil {
			return err
		}
		return fn(ctx, c)
	})
}

// SuspendExpiredMeasures stores, for every ACTIVE measure whose
// organization's agreement expired before today (China time), the state
// reads already answer: SUSPENDED, with a history entry by "system" and a
// feed event. Each measure moves by a conditional update on its revision,
// so several servers sweeping at once suspend each once. It returns how
// many this call suspended. Being the county's own rule, it reaches every
// town.
func (s *Store) SuspendExpiredMeasures(ctx context.Context, now time.Time) (int, error) {
	ctx = WithScope(ctx, principal.Scope{All: true})
	today := domain.Today(now)
	var due []Measure
	if err := s.conn(ctx).Model(&Measure{}).Select("measures.id", "measures.organization_id", "measures.revision").
		Joins("JOIN organizations o ON o.id = measures.organization_id").
		Where("measures.state = ? AND o.agreement_expiry_date < ?", domain.MeasureActive, dateParam(today)).
		Order("measures.create_time").Limit(sweepBatch).Find(&due).Error; err != nil {
		return 0, err
	}
	suspended := 0
	for _, d := range due {
		_, err := s.MutateMeasure(ctx, d.OrganizationID, d.ID, Etag(d.Revision), func(_ context.Context, m *Measure) (*MeasureHistory, error) {
			if m.State != domain.MeasureActive {
				return nil, errNotLapsed
			}
			m.State, m.StateReason = domain.MeasureSuspended, "the organization's agreement expired"
			return &MeasureHistory{Actor: "system", Method: "SuspendMeasure", FromState: domain.MeasureActive,
				ToState: m.State, Reason: m.StateReason}, nil
		})
		switch {
		case err == nil:
			suspended++
		case errors.Is(err, ErrEtagMismatch), errors.Is(err, errNotLapsed), errors.Is(err, ErrNotFound):
		default:
			return suspended, err
		}
	}
	return suspended, nil
}
