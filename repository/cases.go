package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// CaseFilter is the schema of ListCases filters. It lives beside the columns
// the fields map to, so a field cannot be parsed without being applied.
var CaseFilter = filter.Schema{
	"status":    {Kind: filter.KindEnum, Prefix: "CASE_STATUS_", Values: enumNames(domain.Statuses())},
	"case_type": {Kind: filter.KindEnum, Prefix: "CASE_TYPE_", Values: enumNames(domain.Kinds())},
	"town_code": {Kind: filter.KindString, Check: townCode},
	"assignee":  {Kind: filter.KindString},
	"priority":  {Kind: filter.KindEnum, Prefix: "CASE_PRIORITY_", Values: []string{"FIRST", "SECOND", "NORMAL"}},
	"household": {Kind: filter.KindResourceName, Collection: "households/"},
	"overdue":   {Kind: filter.KindBool},
	"held":      {Kind: filter.KindBool},
	"placement_year": {Kind: filter.KindInt, Ops: []filter.Op{
		filter.OpEq, filter.OpNe, filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe}},
}

// PriorityByName maps the priority names of filters to stored tiers.
var PriorityByName = map[string]domain.Priority{"FIRST": domain.PriorityFirst, "SECOND": domain.PrioritySecond, "NORMAL": domain.PriorityNormal}

var caseColumns = map[string]column{
	"status":         plain("cases.status", stringValue),
	"case_type":      plain("cases.kind", stringValue),
	"town_code":      plain("cases.town_code", stringValue),
	"assignee":       plain("cases.assignee", stringValue),
	"placement_year": plain("cases.placement_year", intValue),
	"priority":       plain("cases.priority", func(c filter.Condition) any { return int(PriorityByName[c.Value]) }),
	"household": plain("cases.household_id", func(c filter.Condition) any {
		n, _ := names.As[names.Household](c.Value) // the schema has checked it
		return n.ID
	}),
	// due_time is the earliest running clock's due, and empty when no
	// clock runs, so a case nobody owes an answer is never overdue.
	"overdue": func(c filter.Condition, now time.Time) (string, []any) {
		if c.Bool {
			return "cases.due_time < ?", []any{now}
		}
		return "(cases.due_time IS NULL OR cases.due_time >= ?)", []any{now}
	},
	// A case is held exactly while its hold has an end time.
	"held": func(c filter.Condition, _ time.Time) (string, []any) {
		if c.Bool {
			return "cases.hold_end_time IS NOT NULL", nil
		}
		return "cases.hold_end_time IS NULL", nil
	},
}

// enumNames spells a domain enumeration's values as filters name them and
// the columns hold them.
func enumNames[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// CaseQuery asks for a page of cases.
type CaseQuery struct {
	Filter filter.Filter
	Order  Order // create_time or due_time
	Page   Page
}

// CreateCase inserts c with the next case number of its year, and its first
// history entry, in one transaction.
func (s *Store) CreateCase(ctx context.Context, c *Case, h *HistoryEntry) error {
	now := s.clock()
	c.Revision, c.CreateTime, c.UpdateTime = 1, now, now
	if err := c.derive(); err != nil {
		return err
	}
	year := now.In(domain.ChinaTime).Year()
	return s.lockedTransaction(ctx, func(tx *gorm.DB, commit *pipelinedCommit) error {
		// The household and subject must be live. Locking them keeps a
		// concurrent DeleteHousehold or DeleteMember, which refuse while
		// open cases exist, from missing this one.
		var household Household
		q := inScope(ctx, tx.Select("id", "town_code").Where("id = ? AND delete_time IS NULL", c.HouseholdID), "town_code")
		if err := s.forUpdate(q).Take(&household).Error; err != nil {
			return notFound(err)
		}
		if err := allows(ctx, c.TownCode); err != nil {
			return err
		}
		var subject Member
		if err := s.forUpdate(tx.Select("id").Where("id = ? AND household_id = ? AND delete_time IS NULL", c.SubjectID, c.HouseholdID)).Take(&subject).Error; err != nil {
			return notFound(err)
		}
		// The subject's lock makes concurrent opens for one member take
		// turns, so the second sees the first here.
		if c.Status.Open() {
			if err := s.oneOpenCase(ctx, tx, c.SubjectID, c.Kind, c.ID); err != nil {
				return err
			}
		}
		if s.dialect == Postgres {
			return s.insertNumberedCase(ctx, tx, commit, c, h, year, now)
		}
		// SQLite lets one writer in at a time, whatever it locks: the
		// statements go one by one.
		seq, err := s.takeCaseNumbers(tx, year, 1)
		if err != nil {
			return err
		}
		c.CaseNumber = domain.CaseNumber(s.prefix, year, int(seq))
		if err := tx.Create(c).Error; err != nil {
			return conflict(err, "a case with this number")
		}
		if err := s.appendHistory(tx, c.ID, now, h); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, c.resource(), Etag(c.Revision), []string{"created"})
	})
}

// insertNumberedCase writes a new case, its history entry, audit entry and
// feed event on PostgreSQL, holding the county-wide rows (the audit head,
// the year's case numbers, the feed head) from the audit head's read to
// the commit: the read, then one statement that takes the number and
// writes everything, sent with COMMIT when commit is not nil (see
// lockedWrite). The case row is built before any of them is taken.
func (s *Store) insertNumberedCase(ctx context.Context, tx *gorm.DB, commit *pipelinedCommit, c *Case, h *HistoryEntry, year int, now time.Time) error {
	var w lockedWrite
	// The number is the year's prefix and the sequence's new value with at
	// least six digits, as domain.CaseNumber writes it.
	w.with("case_number", "INSERT INTO case_number_sequences AS s (year, last_value) VALUES (?, 1) "+
		"ON CONFLICT (year) DO UPDATE SET last_value = s.last_value + 1 "+
		"RETURNING ? || lpad(last_value::text, greatest(6, length(last_value::text)), '0') AS number",
		year, strings.TrimSuffix(domain.CaseNumber(s.prefix, year, 0), "000000"))
	caseSQL, caseVars, err := insertValues(tx, c, map[string]string{"case_number": "(SELECT number FROM case_number)"})
	if err != nil {
		return err
	}
	w.with("new_case", caseSQL+" RETURNING id", caseVars...)
	final := "SELECT (SELECT number FROM case_number) AS number, 0 AS history_id"
	if h != nil {
		h.ID, h.CaseID, h.Time = 0, c.ID, now
		histSQL, histVars, err := insertValues(tx, h, map[string]string{"case_id": "(SELECT id FROM new_case)"})
		if err != nil {
			return err
		}
		w.with("history", histSQL+" RETURNING id", histVars...)
		final = "SELECT (SELECT number FROM case_number) AS number, (SELECT id FROM history) AS history_id"
	}
	// Last: from here to commit every writer of the county waits.
	if err := s.lockAndRecord(ctx, tx, &w, change{resource: c.resource(), etag: Etag(c.Revision), fields: []string{"created"}}); err != nil {
		return err
	}
	var (
		number    string
		historyID int64
	)
	if err := w.send(tx, commit, final, &number, &historyID); err != nil {
		return conflict(err, "a case with this number")
	}
	c.CaseNumber = number
	if h != nil {
		h.ID = historyID
	}
	return nil
}

// errIncomplete rolls back a batch the caller had refused items of.
var errIncomplete = errors.New("batch has items the caller refused")

// CreateCases inserts a batch of cases with consecutive case numbers of
// their year and their first history entries, all or none, in one
// transaction with multi-row inserts: the batch takes its numbers and its
// audit and feed positions with one update each. Every item is checked
// first; the refused ones (household or subject gone, or a town outside
// the caller's) are named in a *domain.BatchError. As in CreateHouseholds,
// a nil item is one the caller refused: the rest are checked, nothing is
// written.
func (s *Store) CreateCases(ctx context.Context, cs []*Case, hists []*HistoryEntry) error {
	now := s.clock()
	year := now.In(domain.ChinaTime).Year()
	var households, subjects []string
	for _, c := range cs {
		if c != nil {
			households, subjects = append(households, c.HouseholdID), append(subjects, c.SubjectID)
		}
	}
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// Locked as CreateCase locks them, and for the same reason.
		var live []Household
		q := inScope(ctx, tx.Select("id", "town_code").Where("id IN ? AND delete_time IS NULL", households), "town_code")
		if err := s.forUpdate(q).Order("id").Find(&live).Error; err != nil {
			return err
		}
		var members []Member
		if err := s.forUpdate(tx.Select("id", "household_id").Where("id IN ? AND delete_time IS NULL", subjects)).Order("id").Find(&members).Error; err != nil {
			return err
		}
		isLive := map[string]bool{}
		for _, h := range live {
			isLive[h.ID] = true
		}
		householdOf := map[string]string{}
		for _, m := range members {
			householdOf[m.ID] = m.HouseholdID
		}
		open, err := openCasesOf(tx, subjects)
		if err != nil {
			return err
		}
		var refused domain.BatchError
		complete := true
		for i, c := range cs {
			switch {
			case c == nil:
				complete = false
			case !isLive[c.HouseholdID], householdOf[c.SubjectID] != c.HouseholdID:
				refused.Add(i, ErrNotFound)
			default:
				if err := allows(ctx, c.TownCode); err != nil {
					refused.Add(i, err)
				} else if err := open.add(ctx, c); err != nil {
					refused.Add(i, err)
				}
			}
		}
		if err := refused.OrNil(); err != nil {
			return err
		}
		if !complete {
			return errIncomplete
		}
		// The audit head before the numbers, as every write takes it first
		// (see lockedWrite).
		if _, err := s.lockAuditHead(tx); err != nil {
			return err
		}
		last, err := s.takeCaseNumbers(tx, year, len(cs))
		if err != nil {
			return err
		}
		changes := make([]change, len(cs))
		for i, c := range cs {
			c.Revision, c.CreateTime, c.UpdateTime = 1, now, now
			if err := c.derive(); err != nil {
				return err
			}
			c.CaseNumber = domain.CaseNumber(s.prefix, year, int(last-int64(len(cs)-1-i)))
			changes[i] = change{resource: c.resource(), etag: Etag(c.Revision), fields: []string{"created"}}
		}
		if err := tx.CreateInBatches(cs, insertBatch).Error; err != nil {
			return conflict(err, "a case with this number")
		}
		for i, h := range hists {
			h.ID, h.CaseID, h.Time = 0, cs[i].ID, now
		}
		if err := tx.CreateInBatches(hists, insertBatch).Error; err != nil {
			return err
		}
		return s.recordChanges(ctx, tx, changes)
	})
	if errors.Is(err, errIncomplete) {
		return nil
	}
	return err
}

// takeCaseNumbers hands out the year's next n numbers and returns the last.
// The UPDATE takes the sequence row's lock until the cases commit, so
// concurrent creators, on one server or many, queue and never share or skip
// a number.
func (s *Store) takeCaseNumbers(tx *gorm.DB, year, n int) (int64, error) {
	if err := tx.Exec("INSERT INTO case_number_sequences (year, last_value) VALUES (?, 0) ON CONFLICT (year) DO NOTHING", year).Error; err != nil {
		return 0, err
	}
	var seq int64
	if err := tx.Raw("UPDATE case_number_sequences SET last_value = last_value + ? WHERE year = ? RETURNING last_value", n, year).Scan(&seq).Error; err != nil {
		return 0, err
	}
	if seq == 0 {
		return 0, fmt.Errorf("repository: no case number sequence for %d", year)
	}
	return seq, nil
}

func (s *Store) appendHistory(tx *gorm.DB, caseID string, now time.Time, h *HistoryEntry) error {
	if h == nil {
		return nil
	}
	h.ID, h.CaseID, h.Time = 0, caseID, now
	return tx.Create(h).Error
}

// derive makes a case ready to write: its times normalised and the columns
// its other fields decide filled in. Every write of a case passes here, so
// those columns cannot disagree with what they are computed from.
func (c *Case) derive() error {
	c.normalizeTimes()
	return c.fillPlacementYear()
}

// fillPlacementYear copies the placement year of an employment placement's
// details into the column placement_year filters read; other kinds, and a
// placement without a year, have none. Once a supervisor has decided the
// placement eligible it counts in the year decided
// (PLACEMENT_ELIGIBILITY_DECIDED). Details are protojson with proto
// field names, whose int32 is a JSON number (a string when hand-written,
// which protojson also reads, so json.Number takes both).
func (c *Case) fillPlacementYear() error {
	c.PlacementYear = nil
	if c.Kind != domain.KindEmploymentPlacement {
		return nil
	}
	if d := c.Eligibility.V; d != nil && d.Eligible && d.PlacementYear != 0 {
		y := d.PlacementYear
		c.PlacementYear = &y
		return nil
	}
	if c.Details == "" {
		return nil
	}
	var d struct {
		PlacementYear json.Number `json:"placement_year"`
	}
	if err := json.Unmarshal([]byte(c.Details), &d); err != nil {
		return fmt.Errorf("repository: case details: %w", err)
	}
	if d.PlacementYear == "" {
		return nil
	}
	y, err := strconv.Atoi(d.PlacementYear.String())
	if err != nil {
		return fmt.Errorf("repository: case details: placement_year: %w", err)
	}
	if y != 0 {
		c.PlacementYear = &y
	}
	return nil
}

// normalizeTimes keeps the caller's instants as the store keeps its own: UTC,
// to the microsecond. SQLite compares times as text, so a due time in another
// zone would sort and filter wrongly there, and it would keep nanoseconds
// PostgreSQL rounds away; normalised, both dialects agree.
func (c *Case) normalizeTimes() {
	for _, p := range []**time.Time{&c.DueTime, &c.SubmitTime, &c.ResolveTime} {
		if *p != nil {
			t := (*p).UTC().Truncate(time.Microsecond)
			*p = &t
		}
	}
	// The instants inside the JSON columns too, so every time a case
	// shows has the store's precision.
	norm := func(t *time.Time) { *t = t.UTC().Truncate(time.Microsecond) }
	normPtr := func(p **time.Time) {
		if *p != nil {
			t := **p
			norm(&t)
			*p = &t
		}
	}
	clocks := slices.Clone(c.Clocks.V)
	for i := range clocks {
		norm(&clocks[i].Start)
		norm(&clocks[i].Due)
		normPtr(&clocks[i].Stop)
	}
	c.Clocks.V = clocks
	history := slices.Clone(c.OutcomeHistory.V)
	for i := range history {
		norm(&history[i].ResolveTime)
		norm(&history[i].ReopenTime)
	}
	c.OutcomeHistory.V = history
	if d := c.Eligibility.V; d != nil {
		e := *d
		norm(&e.DecideTime)
		c.Eligibility.V = &e
	}
	if o := c.Objection.V; o != nil {
		e := *o
		norm(&e.FileTime)
		normPtr(&e.DecideTime)
		c.Objection.V = &e
	}
}

// GetCase reads a case.
func (s *Store) GetCase(ctx context.Context, id string) (*Case, error) {
	var c Case
	if err := inScope(ctx, s.conn(ctx).Where("id = ?", id), "town_code").Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// ListCases returns a page of cases and the cursor of the next.
func (s *Store) ListCases(ctx context.Context, query CaseQuery) ([]Case, *Cursor, error) {
	q, err := applyFilter(inScope(ctx, s.conn(ctx).Model(&Case{}), "cases.town_code"), query.Filter, CaseFilter, caseColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	order := query.Order
	if order.Column == "" {
		order.Column = "create_time"
	}
	nullable := order.Column == "due_time"
	limit := query.Page.limit()
	q = keyset(q, "cases", order, nullable, query.Page.After)
	sqlRows, err := q.Select(caseSelect).Limit(limit + 1).Rows()
	if err != nil {
		return nil, nil, err
	}
	rows, err := scanCases(sqlRows, limit+1)
	if err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(c Case) Cursor {
		if nullable {
			return Cursor{Time: c.DueTime, ID: c.ID}
		}
		t := c.CreateTime
		return Cursor{Time: &t, ID: c.ID}
	})
	return rows, next, nil
}

// CountCases counts the cases in the caller's towns that match f.
func (s *Store) CountCases(ctx context.Context, f filter.Filter) (int64, error) {
	q, err := applyFilter(inScope(ctx, s.conn(ctx).Model(&Case{}), "cases.town_code"), f, CaseFilter, caseColumns, s.clock())
	if err != nil {
		return 0, err
	}
	var n int64
	return n, q.Count(&n).Error
}

// MutateCase applies fn to a case under the etag check and records the
// history entry fn returns in the same transaction. fn's context is bound to
// the transaction: store calls made with it see and join the change. An
// error from fn changes nothing. It may not move the case to a town the
// caller cannot see.
func (s *Store) MutateCase(ctx context.Context, id, etag string, fn func(ctx context.Context, c *Case) (*HistoryEntry, error)) (*Case, error) {
	c, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB { return inScope(ctx, tx.Where("id = ?", id), "town_code") }, etag,
		func(ctx context.Context, c *Case) error {
			now := s.clock()
			h, facts, err := s.editCase(ctx, c, now, nil, fn)
			if err != nil {
				return err
			}
			if err := addFacts(s.conn(ctx), facts); err != nil {
				return err
			}
			return s.appendHistory(s.conn(ctx), c.ID, now, h)
		})
	return c, err
}

// editCase is one case's change, for MutateCase and MutateCases alike: fn's
// change, then the rules every change of a case meets, then the columns
// derived from the rest. It returns fn's history entry and the facts the
// change adds, at now, for the caller to write. opened, in a batch, holds
// the open cases its earlier items opened (nil for one case).
func (s *Store) editCase(ctx context.Context, c *Case, now time.Time, opened openCases,
	fn func(ctx context.Context, c *Case) (*HistoryEntry, error)) (*HistoryEntry, []CaseFact, error) {
	wasOpen, subject := c.Status.Open(), c.SubjectID
	before := markOf(c)
	h, err := fn(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if err := allows(ctx, c.TownCode); err != nil {
		return nil, nil, err
	}
	// A case that opens again (a reopening) or changes its subject
	// must not become a second open case of its kind; the member's lock
	// makes it take turns with CreateCase.
	if c.Status.Open() && (!wasOpen || c.SubjectID != subject) {
		if err := s.lockMember(ctx, c.SubjectID); err != nil {
			return nil, nil, err
		}
		if err := s.oneOpenCase(ctx, s.conn(ctx), c.SubjectID, c.Kind, c.ID); err != nil {
			return nil, nil, err
		}
		if opened != nil {
			if err := opened.add(ctx, c); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := c.derive(); err != nil {
		return nil, nil, err
	}
	return h, factsOf(before, c, now), nil
}

// CreateNote adds a note to a case and records it in the history.
func (s *Store) CreateNote(ctx context.Context, n *Note) error {
	n.CreateTime = s.clock()
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var c Case
		if err := inScope(ctx, tx.Select("id", "status").Where("id = ?", n.CaseID), "town_code").Take(&c).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Create(n).Error; err != nil {
			return err
		}
		if err := s.appendHistory(tx, c.ID, n.CreateTime, &HistoryEntry{
			Actor: n.Author, Method: "CreateNote", FromStatus: c.Status, ToStatus: c.Status, ChangedFields: List[string]{"notes"},
		}); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, names.Note{CaseID: n.CaseID, ID: n.ID}.String(), "", []string{"created"})
	})
}

// ListNotes returns a page of a case's notes, oldest first.
func (s *Store) ListNotes(ctx context.Context, caseID string, page Page) ([]Note, *Cursor, error) {
	if _, err := s.GetCase(ctx, caseID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&Note{}).Where("case_notes.case_id = ?", caseID),
		"case_notes", Order{Column: "create_time"}, false, page.After)
	var rows []Note
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(n Note) Cursor { t := n.CreateTime; return Cursor{Time: &t, ID: n.ID} })
	return rows, next, nil
}

// ListHistory returns a page of a case's history, oldest first. Entries are
// ordered by their sequence id; the cursor carries it as a decimal string.
func (s *Store) ListHistory(ctx context.Context, caseID string, page Page) ([]HistoryEntry, *Cursor, error) {
	if _, err := s.GetCase(ctx, caseID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := s.conn(ctx).Where("case_id = ?", caseID)
	if page.After != nil {
		after, err := strconv.ParseInt(page.After.ID, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("repository: bad history cursor")
		}
		q = q.Where("id > ?", after)
	}
	var rows []HistoryEntry
	if err := q.Order("id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(h HistoryEntry) Cursor { return Cursor{ID: strconv.FormatInt(h.ID, 10)} })
	return rows, next, nil
}

// GetCases reads the cases with these ids that are in the caller's towns,
// in one query; the caller sees which are missing.
func (s *Store) GetCases(ctx context.Context, ids []string) ([]Case, error) {
	var rows []Case
	err := inScope(ctx, s.conn(ctx).Where("id IN ?", ids), "town_code").Find(&rows).Error
	return rows, err
}

// caseMove says which of a household's cases a move of the household
// takes along, and what their history says.
type caseMove struct {
	method, reason string
	// openOnly leaves closed cases with the town that decided them;
	// clearAssignee hands the moved cases to the receiving town unassigned.
	openOnly, clearAssignee bool
}

// moveCases moves the cases of a household to the town the household moved
// to, inside the household's own transaction: a case stays with its family,
// so the old town's caseworkers lose it and the new town's gain it at the
// same instant. An update of the household's town takes every case along,
// open or closed; an accepted transfer only the open ones (see how). Each
// moved case gets a history entry saying why, a new etag, and its audit
// entry and feed event. It returns how many cases moved.
func (s *Store) moveCases(ctx context.Context, tx *gorm.DB, householdID, from, to string, how caseMove) (int, error) {
	which := func(q *gorm.DB) *gorm.DB {
		q = q.Where("household_id = ?", householdID)
		if how.openOnly {
			q = q.Where("status IN ?", openStatuses())
		}
		return q
	}
	var cases []Case
	if err := s.forUpdate(which(tx.Select("id", "revision", "status"))).Order("id").Find(&cases).Error; err != nil {
		return 0, err
	}
	if len(cases) == 0 {
		return 0, nil
	}
	now := s.clock()
	set := map[string]any{"town_code": to, "revision": gorm.Expr("revision + 1"), "update_time": now}
	fields := List[string]{"town_code"}
	if how.clearAssignee {
		set["assignee"] = ""
		fields = append(fields, "assignee")
	}
	if err := which(tx.Model(&Case{})).Updates(set).Error; err != nil {
		return 0, err
	}
	actor := "system"
	if r := audit.FromContext(ctx); r != nil {
		actor = r.Principal
	}
	hists := make([]*HistoryEntry, len(cases))
	changes := make([]change, len(cases))
	for i, c := range cases {
		hists[i] = &HistoryEntry{CaseID: c.ID, Time: now, Actor: actor, Method: how.method,
			FromStatus: c.Status, ToStatus: c.Status, ChangedFields: fields, Reason: how.reason}
		changes[i] = change{resource: c.resource(), etag: Etag(c.Revision + 1), fields: fields}
	}
	if err := tx.CreateInBatches(hists, insertBatch).Error; err != nil {
		return 0, err
	}
	return len(cases), s.recordChanges(ctx, tx, changes)
}

// WithdrawLapsedMaterials records, for every legal-aid application whose
// missing materials were not supplied by their last day, the withdrawal the
// law presumes (法律援助法 Art 43 para 2, LEGAL_AID_MATERIALS_WITHDRAWN):
// WITHDRAWN with reason MATERIALS_NOT_SUPPLIED, every clock stopped, and a
// history entry by "system". Each case moves by a conditional update on its
// revision, so several servers sweeping at once withdraw each case once:
// the others find it changed and leave it. It returns how many this call
// withdrew. Being the county's own rule, it reaches every town.
func (s *Store) WithdrawLapsedMaterials(ctx context.Context, now time.Time) (int, error) {
	ctx = WithScope(ctx, principal.Scope{All: true})
	var due []Case
	if err := s.conn(ctx).Select("id", "revision").
		Where("status = ? AND due_time <= ?", domain.StatusAwaitingMaterials, now.UTC()).
		Order("due_time").Limit(sweepBatch).Find(&due).Error; err != nil {
		return 0, err
	}
	withdrawn := 0
	for _, d := range due {
		_, err := s.MutateCase(ctx, d.ID, Etag(d.Revision), func(_ context.Context, c *Case) (*HistoryEntry, error) {
			clocks := c.Clocks.V
			if c.Status != domain.StatusAwaitingMaterials || !domain.MaterialsLapsed(clocks, now) {
				return nil, errNotLapsed
			}
			m, _ := clocks.Get(domain.ClockMaterials)
			from := c.Status
			c.Status, c.WithdrawalReason = domain.StatusWithdrawn, domain.WithdrawMaterialsNotSupplied
			c.Clocks.V = domain.LapseMaterials(clocks, now)
			c.DueTime = c.Clocks.V.Due()
			c.StatusReason = fmt.Sprintf("materials not supplied by %s: the application counts as withdrawn (%s)",
				m.Due.In(domain.ChinaTime).AddDate(0, 0, -1).Format(time.DateOnly), domain.RuleMaterialsWithdrawn)
			return &HistoryEntry{Actor: "system", Method: "WithdrawCase", FromStatus: from, ToStatus: c.Status,
				ChangedFields: List[string]{"status", "withdrawal_reason", "clocks", "due_time", "status_reason"},
				Reason:        c.StatusReason}, nil
		})
		switch {
		case err == nil:
			withdrawn++
		case errors.Is(err, ErrEtagMismatch), errors.Is(err, errNotLapsed), errors.Is(err, ErrNotFound):
			// Another server got there first, or the case moved on.
		default:
			return withdrawn, err
		}
	}
	return withdrawn, nil
}

// Held reports whether the case is on hold.
func (c *Case) Held() bool { return c.HoldEndTime != nil }

// EndedHolds returns, oldest end first, up to limit cases of every town
// whose hold has reached its end time at now: the id, revision and end
// time, which the hold-end job resumes under their etag.
func (s *Store) EndedHolds(ctx context.Context, now time.Time, limit int) ([]Case, error) {
	var due []Case
	err := s.conn(ctx).Select("id", "revision", "hold_end_time").
		Where("hold_end_time IS NOT NULL AND hold_end_time <= ?", now.UTC()).
		Order("hold_end_time, id").Limit(limit).Find(&due).Error
	return due, err
}

// sweepBatch bounds one sweep; the next takes the rest.
const sweepBatch = 500

var errNotLapsed = errors.New("repository: the case's materials have not lapsed")
