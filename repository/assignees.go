package repository

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// Assignee is a row of the assignee directory: a member of staff cases are
// assigned to, by the id Case.Assignee holds, and the towns they may work
// in. Its towns are kept twice, as campaigns keep theirs: TownCodes renders
// it, assignee_towns scopes reads.
type Assignee struct {
	ID          string `gorm:"primaryKey"`
	DisplayName string
	TownCodes   List[string]
	Active      bool
	Revision    int64
	CreateTime  time.Time
	UpdateTime  time.Time
}

type assigneeTown struct {
	AssigneeID string `gorm:"primaryKey"`
	TownCode   string `gorm:"primaryKey"`
}

// TableName names assigneeTown's table for gorm.
func (assigneeTown) TableName() string { return "assignee_towns" }

func (a *Assignee) revision() *int64  { return &a.Revision }
func (a *Assignee) touch(t time.Time) { a.UpdateTime = t }
func (a *Assignee) resource() string  { return names.Assignee{ID: a.ID}.String() }

// Rule is what the assignment rule reads of the entry.
func (a *Assignee) Rule() domain.Assignee {
	return domain.Assignee{Name: a.resource(), Towns: a.TownCodes, Active: a.Active}
}

// assigneesInScope limits q to entries listed for one of the caller's
// towns: an entry of other towns is not found.
func assigneesInScope(ctx context.Context, q *gorm.DB) *gorm.DB {
	return scopedBy(ctx, q, "EXISTS (SELECT 1 FROM assignee_towns t WHERE t.assignee_id = assignees.id AND t.town_code IN ?)")
}

func assigneeTowns(a *Assignee) []assigneeTown {
	rows := make([]assigneeTown, len(a.TownCodes))
	for i, t := range a.TownCodes {
		rows[i] = assigneeTown{AssigneeID: a.ID, TownCode: t}
	}
	return rows
}

// CreateAssignee inserts a; the caller must reach every town it lists. An
// id already in the directory is a *ConflictError naming it.
func (s *Store) CreateAssignee(ctx context.Context, a *Assignee) error {
	if err := allowsAll(ctx, a.TownCodes); err != nil {
		return err
	}
	now := s.clock()
	a.Revision, a.CreateTime, a.UpdateTime = 1, now, now
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		if err := tx.Create(assigneeTowns(a)).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, a.resource(), Etag(a.Revision), []string{"created"})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Read after the rollback: SQLite has one connection, and
		// PostgreSQL's transaction is aborted by the violation.
		return s.assigneeConflict(ctx, a.ID)
	}
	return err
}

// assigneeConflict names the entry in the way when the caller may read it.
func (s *Store) assigneeConflict(ctx context.Context, id string) error {
	c := &ConflictError{What: "an assignee with this id"}
	if _, err := s.GetAssignee(ctx, id); err == nil {
		c.Resource = names.Assignee{ID: id}.String()
	}
	return c
}

// GetAssignee reads an entry listed for one of the caller's towns.
func (s *Store) GetAssignee(ctx context.Context, id string) (*Assignee, error) {
	var a Assignee
	if err := assigneesInScope(ctx, s.conn(ctx).Where("assignees.id = ?", id)).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// AssigneeFilter is the schema of ListAssignees filters.
var AssigneeFilter = filter.Schema{
	"active":    {Kind: filter.KindBool},
	"town_code": {Kind: filter.KindString, Check: townCode},
}

var assigneeColumns = map[string]column{
	"active": plain("assignees.active", boolValue),
	"town_code": func(c filter.Condition, _ time.Time) (string, []any) {
		return "EXISTS (SELECT 1 FROM assignee_towns f WHERE f.assignee_id = assignees.id AND f.town_code = ?)", []any{c.Value}
	},
}

// ListAssignees returns a page of the entries of the caller's towns,
// oldest first.
func (s *Store) ListAssignees(ctx context.Context, f filter.Filter, page Page) ([]Assignee, *Cursor, error) {
	q, err := applyFilter(assigneesInScope(ctx, s.conn(ctx).Model(&Assignee{})), f, AssigneeFilter, assigneeColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q = keyset(q, "assignees", Order{Column: "create_time"}, false, page.After)
	var rows []Assignee
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(a Assignee) Cursor { t := a.CreateTime; return Cursor{Time: &t, ID: a.ID} })
	return rows, next, nil
}

// UpdateAssignee applies fn to an entry under the etag check. The caller
// must reach every town the entry lists, before and after the change: a
// town's supervisor cannot take a colleague off another town's list.
func (s *Store) UpdateAssignee(ctx context.Context, id, etag string, fn func(a *Assignee) error) (*Assignee, error) {
	selectRow := func(tx *gorm.DB) *gorm.DB { return assigneesInScope(ctx, tx.Where("assignees.id = ?", id)) }
	return update(ctx, s, selectRow, etag, func(ctx context.Context, a *Assignee) error {
		if err := allowsAll(ctx, a.TownCodes); err != nil {
			return err
		}
		from := slices.Clone(a.TownCodes)
		if err := fn(a); err != nil {
			return err
		}
		if slices.Equal(from, a.TownCodes) {
			return nil
		}
		if err := allowsAll(ctx, a.TownCodes); err != nil {
			return err
		}
		tx := s.conn(ctx)
		if err := tx.Where("assignee_id = ?", a.ID).Delete(&assigneeTown{}).Error; err != nil {
			return err
		}
		return tx.Create(assigneeTowns(a)).Error
	})
}

// DirectoryAssignee reads an entry whatever the caller's towns, for the
// assignment rule: whether the entry may take a case is a question about
// the case's town, which the rule answers, not about the caller's.
func (s *Store) DirectoryAssignee(ctx context.Context, id string) (*Assignee, error) {
	var a Assignee
	if err := s.conn(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// Workload is an assignee's open cases within the caller's towns.
type Workload struct {
	// Counts holds one row per status and kind with open cases.
	Counts  []WorkloadCount
	Overdue int64
	DueSoon int64
}

// WorkloadCount is the open cases of one status and kind.
type WorkloadCount struct {
	Status domain.Status
	Kind   domain.Kind
	Count  int64
}

// AssigneeWorkload counts the open cases assigned to id in the caller's
// towns: by status and kind, those overdue at now (a running clock's due
// time passed) and those due before soon. One grouped query over the index
// (assignee, status, kind, town_code, due_time).
func (s *Store) AssigneeWorkload(ctx context.Context, id string, now, soon time.Time) (*Workload, error) {
	var rows []struct {
		Status  domain.Status
		Kind    domain.Kind
		Count   int64
		Overdue int64
		DueSoon int64
	}
	now, soon = now.UTC(), soon.UTC()
	q := inScope(ctx, s.conn(ctx).Model(&Case{}), "cases.town_code").
		Select(`cases.status, cases.kind, COUNT(*) AS count,
SUM(CASE WHEN cases.due_time < ? THEN 1 ELSE 0 END) AS overdue,
SUM(CASE WHEN cases.due_time >= ? AND cases.due_time < ? THEN 1 ELSE 0 END) AS due_soon`, now, now, soon).
		Where("cases.assignee = ? AND cases.status IN ?", id, OpenStatuses()).
		Group("cases.status, cases.kind").Order("cases.status, cases.kind")
	if err := q.Scan(&rows).Error; err != nil {
		return nil, err
	}
	w := &Workload{}
	for _, r := range rows {
		w.Counts = append(w.Counts, WorkloadCount{Status: r.Status, Kind: r.Kind, Count: r.Count})
		w.Overdue += r.Overdue
		w.DueSoon += r.DueSoon
	}
	return w, nil
}

// OpenStatuses are the stored statuses of open cases (domain.Status.Open).
func OpenStatuses() []string {
	var out []string
	for _, st := range domain.Statuses() {
		if st.Open() {
			out = append(out, string(st))
		}
	}
	return out
}

// oneOpenCase refuses a case of kind for subject while another (other than
// except) is open: OPEN_CASE_EXISTS, naming the open case only when the
// caller's towns reach it. The query reads every town on purpose. Callers
// hold the subject's row lock (SQLite's write transactions exclude each
// other already), so two writers for one member check in turn.
func (s *Store) oneOpenCase(ctx context.Context, tx *gorm.DB, subject string, kind domain.Kind, except string) error {
	var open []Case
	q := tx.Model(&Case{}).Select("id", "town_code").
		Where("subject_id = ? AND kind = ? AND status IN ? AND id <> ?", subject, kind, OpenStatuses(), except)
	if err := q.Limit(1).Find(&open).Error; err != nil {
		return err
	}
	if len(open) == 0 {
		return nil
	}
	return openCaseError(ctx, kind, open[0])
}

func openCaseError(ctx context.Context, kind domain.Kind, open Case) error {
	name := ""
	if open.ID != "" && scopeOf(ctx).Allows(open.TownCode) {
		name = names.Case{ID: open.ID}.String()
	}
	return domain.OpenCaseExists(kind, name)
}

// lockMember takes the member's row lock for the rest of the transaction.
func (s *Store) lockMember(ctx context.Context, id string) error {
	var m Member
	return s.forUpdate(s.conn(ctx).Select("id").Where("id = ?", id)).Take(&m).Error
}

// openCases are the open cases of a batch's subjects by (subject, kind),
// those stored and those the batch opens, so that the batch cannot open
// two of a kind for one member either.
type openCases map[[2]string]Case

func openCasesOf(tx *gorm.DB, subjects []string) (openCases, error) {
	var rows []Case
	if err := tx.Select("id", "subject_id", "kind", "town_code").
		Where("subject_id IN ? AND status IN ?", subjects, OpenStatuses()).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := openCases{}
	for _, r := range rows {
		out[[2]string{r.SubjectID, string(r.Kind)}] = r
	}
	return out, nil
}

// add refuses c when its subject has an open case of its kind, and else
// counts c as one.
func (o openCases) add(ctx context.Context, c *Case) error {
	if !c.Status.Open() {
		return nil
	}
	key := [2]string{c.SubjectID, string(c.Kind)}
	if open, ok := o[key]; ok {
		return openCaseError(ctx, c.Kind, open)
	}
	// Not named: the batch fails whole, so the case will not exist.
	o[key] = Case{}
	return nil
}
