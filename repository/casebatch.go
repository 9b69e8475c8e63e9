package repository

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
)

// CaseEdit is one item of MutateCases: the case's id and the etag the
// caller read ("" takes any revision). An empty ID is an item the caller
// refused.
type CaseEdit struct {
	ID, Etag string
}

// MutateCases is MutateCase for a batch of cases, all or none, set-wise:
// one statement reads and locks every case in the caller's towns, fn
// changes each in Go in the order of the edits (as MutateCase's fn, with
// the item's index), and the changed rows, their history entries, facts,
// audit entries and feed events are written with multi-row statements, the
// county-wide heads taken last. A batch costs a dozen round trips however
// many cases it holds, where one MutateCase per case costs a dozen each.
//
// Refused items (a case missing or outside the caller's towns, a stale
// etag, a case named twice, an error from fn or from the rules every
// change meets) are named in a *domain.BatchError, in order, and nothing is
// written. As in CreateCases, an edit with no ID is one the caller refused:
// the rest are checked, nothing is written and the result is nil.
//
// fn must only change the row it is given: the batch writes nothing until
// every item is decided. A case fn leaves as it was is not written, and
// comes back as stored, as from MutateCase.
func (s *Store) MutateCases(ctx context.Context, edits []CaseEdit,
	fn func(ctx context.Context, i int, c *Case) (*HistoryEntry, error)) ([]*Case, error) {
	var ids []string
	for _, e := range edits {
		if e.ID != "" {
			ids = append(ids, e.ID)
		}
	}
	out := make([]*Case, len(edits))
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		// In id order, as every batch locks cases, so two batches over
		// the same cases take turns instead of deadlocking.
		var rows []Case
		if len(ids) > 0 {
			q := inScope(ctx, tx.Where("id IN ?", ids), "town_code")
			if err := s.forUpdate(q).Order("id").Find(&rows).Error; err != nil {
				return err
			}
		}
		stored := make(map[string]Case, len(rows))
		for _, r := range rows {
			stored[r.ID] = r
		}
		now := s.clock()
		var (
			refused  domain.BatchError
			complete = true
			seen     = map[string]int{}
			opened   = openCases{}
			w        caseWrites
		)
		for i, e := range edits {
			if e.ID == "" {
				complete = false
				continue
			}
			if j, dup := seen[e.ID]; dup {
				refused.Add(i, domain.Invalid("name", "names the same case as requests[%d]", j))
				continue
			}
			seen[e.ID] = i
			before, ok := stored[e.ID]
			switch {
			case !ok:
				refused.Add(i, ErrNotFound)
				continue
			case e.Etag != "" && ParseEtag(e.Etag) != before.Revision:
				refused.Add(i, ErrEtagMismatch)
				continue
			}
			c := before
			h, facts, err := s.editCase(ctx, &c, now, opened, func(ctx context.Context, c *Case) (*HistoryEntry, error) {
				return fn(ctx, i, c)
			})
			if err != nil {
				refused.Add(i, err)
				continue
			}
			out[i] = &c
			w.add(&before, &c, h, facts, now)
		}
		if err := refused.OrNil(); err != nil {
			return err
		}
		if !complete {
			return errIncomplete
		}
		return s.writeCaseBatch(ctx, tx, &w)
	})
	switch {
	case errors.Is(err, errIncomplete):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return out, nil
}

// caseWrites are what a batch of case changes writes.
type caseWrites struct {
	rows    []*Case
	hists   []*HistoryEntry
	facts   []CaseFact
	changes []change
}

// add counts c, changed from before, unless the change would write
// nothing: then, as in update, there is no new etag, no history entry, no
// audit entry and no feed event.
func (w *caseWrites) add(before, c *Case, h *HistoryEntry, facts []CaseFact, now time.Time) {
	fields := changedFields(before, c)
	if len(fields) == 0 {
		*c = *before
		return
	}
	c.Revision = before.Revision + 1
	c.touch(now)
	w.rows = append(w.rows, c)
	if h != nil {
		h.ID, h.CaseID, h.Time = 0, c.ID, now
		w.hists = append(w.hists, h)
	}
	w.facts = append(w.facts, facts...)
	w.changes = append(w.changes, change{resource: c.resource(), etag: Etag(c.Revision), fields: fields})
}

// writeCaseBatch writes w: the rows, the history and the facts first, which
// take no county-wide row (the facts' counts aside, see lockCounts), then
// the audit entries and feed events.
func (s *Store) writeCaseBatch(ctx context.Context, tx *gorm.DB, w *caseWrites) error {
	if len(w.rows) == 0 {
		return nil
	}
	var cols []string
	for _, c := range writableColumns(tx, &Case{}) {
		if c != "id" {
			cols = append(cols, c)
		}
	}
	// An upsert on the id always meets the stored row, locked by this
	// transaction, and overwrites it only at the revision read: one
	// multi-row statement updates every row with its own values.
	res := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns(cols),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "cases.revision = excluded.revision - 1"}}},
	}).CreateInBatches(w.rows, insertBatch)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != int64(len(w.rows)) {
		return ErrEtagMismatch
	}
	if len(w.hists) > 0 {
		if err := tx.CreateInBatches(w.hists, insertBatch).Error; err != nil {
			return err
		}
	}
	if err := addFacts(tx, w.facts); err != nil {
		return err
	}
	if s.dialect == Postgres {
		return s.recordChangesLocked(ctx, tx, w.changes)
	}
	// SQLite lets one writer in at a time, whatever it locks.
	return s.recordChanges(ctx, tx, w.changes)
}

// recordChangesLocked is recordChanges for many changes on PostgreSQL:
// one statement links every audit entry, moves both heads and inserts
// every row, so the county-wide rows are held for two round trips and the
// commit, however many changes there are.
func (s *Store) recordChangesLocked(ctx context.Context, tx *gorm.DB, changes []change) error {
	var w lockedWrite
	if err := s.lockAndRecordAll(ctx, tx, &w, changes); err != nil {
		return err
	}
	return tx.Exec(w.statement("SELECT 1"), w.vars...).Error
}

// lockAndRecordAll is lockAndRecord for many changes: every audit entry
// and feed event is built before the audit head is taken, then their CTEs
// are added to w.
func (s *Store) lockAndRecordAll(ctx context.Context, tx *gorm.DB, w *lockedWrite, changes []change) error {
	now, typ := s.clock(), eventType(audit.FromContext(ctx))
	entries := make([]*audit.Entry, len(changes))
	var events []EventRecord
	for i, c := range changes {
		entries[i] = auditEntryFor(ctx, c.resource, c.fields)
		if e, ok := eventFor(now, typ, c); ok {
			events = append(events, e)
		}
	}
	// The feed head moves by len(events); the k-th event takes the k-th of
	// the positions up to its new value. Built before the lock: gorm's
	// work on the rows is not held against the other writers.
	var (
		eventSQL  string
		eventVars []any
	)
	for k := range events {
		position := "(SELECT position FROM feed_head)"
		if back := len(events) - 1 - k; back > 0 {
			position += " - " + itoa(int64(back))
		}
		sql, vars, err := insertValues(tx, &events[k], map[string]string{"position": position})
		if err != nil {
			return err
		}
		if k == 0 {
			eventSQL = sql
		} else {
			eventSQL += "," + sql[strings.Index(sql, ") VALUES (")+len(") VALUES "):]
		}
		eventVars = append(eventVars, vars...)
	}
	records, head, err := s.lockAndSeal(tx, entries)
	if err != nil {
		return err
	}
	w.with("audit_link", "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", head.Seq, head.Hash)
	var auditVars []any
	for i := range records {
		auditVars = append(auditVars, records[i].values()...)
	}
	w.with("audit_entry", auditInsert+strings.Repeat(","+auditRow, len(records)-1), auditVars...)
	if len(events) > 0 {
		w.with("feed_head", "UPDATE event_head SET position = position + ? WHERE id = 1 RETURNING position", len(events))
		w.with("feed_event", eventSQL, eventVars...)
	}
	return nil
}

// auditRow is one more row of auditInsert's VALUES.
var auditRow = auditInsert[strings.LastIndex(auditInsert, " VALUES ")+len(" VALUES "):]
