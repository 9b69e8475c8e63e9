package repository

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/audit"
	"github.com/fengdu-county/casework/filter"
)

// appendAudit links entries, in order, to the end of the chain and writes
// them inside tx, so they commit exactly when the change they record does.
// The head row is locked once, however many entries there are, and held
// until commit: writers on one server or many are serialised and the chain
// never forks. Moving the head once per call, not per entry, keeps a batch
// from piling up versions of that one row.
func (s *Store) appendAudit(tx *gorm.DB, entries ...*audit.Entry) error {
	var head auditHead
	if err := s.forUpdate(tx).Take(&head, 1).Error; err != nil {
		return err
	}
	now := s.clock()
	records := make([]AuditRecord, len(entries))
	for i, e := range entries {
		e.Time = now
		e.Seal(head.Seq, head.Hash)
		head.Seq, head.Hash = e.Seq, e.Hash
		records[i] = AuditRecord{
			Seq: e.Seq, Time: e.Time, Principal: e.Principal, Roles: e.Roles, Credential: e.Credential,
			Method: e.Method, Resource: e.Resource, Action: e.Action, RequestID: e.RequestID,
			ClientAddr: e.ClientAddr, Outcome: e.Outcome, Fields: e.Fields, PrevHash: e.PrevHash, Hash: e.Hash,
		}
	}
	if err := tx.Model(&auditHead{}).Where("id = 1").Updates(map[string]any{"seq": head.Seq, "hash": head.Hash}).Error; err != nil {
		return err
	}
	return tx.CreateInBatches(records, insertBatch).Error
}

// insertBatch is how many rows one multi-row INSERT carries.
const insertBatch = 200

// change is one resource changed in a transaction: what its audit entry and
// its feed event say.
type change struct {
	resource, etag string
	fields         []string
}

// recordChanges is written in the transaction of every change: an audit
// entry and a change-feed event for each changed resource, in order. They
// commit with the change or not at all.
func (s *Store) recordChanges(ctx context.Context, tx *gorm.DB, changes []change) error {
	entries := make([]*audit.Entry, len(changes))
	for i, c := range changes {
		entries[i] = auditEntryFor(ctx, c.resource, c.fields)
	}
	if err := s.appendAudit(tx, entries...); err != nil {
		return err
	}
	return s.appendEvents(ctx, tx, changes)
}

// recordChange is recordChanges for one resource.
func (s *Store) recordChange(ctx context.Context, tx *gorm.DB, resource, etag string, fields []string) error {
	return s.recordChanges(ctx, tx, []change{{resource: resource, etag: etag, fields: fields}})
}

// AppendAudit writes an entry that belongs to no change: a full view of
// sensitive data, or a refused call.
func (s *Store) AppendAudit(ctx context.Context, e *audit.Entry) error {
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error { return s.appendAudit(tx, e) })
}

// AuditFilter is the schema of ListAuditLogs filters.
var AuditFilter = filter.Schema{
	"principal": {Kind: filter.KindString},
	"resource":  {Kind: filter.KindString},
	"method":    {Kind: filter.KindString},
	"action":    {Kind: filter.KindString},
	"outcome":   {Kind: filter.KindString},
	"time":      {Kind: filter.KindString, Check: rfc3339, Ops: []filter.Op{filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe}},
}

var auditColumns = map[string]column{
	"principal": plain("audit_log.principal", stringValue),
	"resource":  plain("audit_log.resource", stringValue),
	"method":    plain("audit_log.method", stringValue),
	"action":    plain("audit_log.action", stringValue),
	"outcome":   plain("audit_log.outcome", stringValue),
	"time": func(c filter.Condition, _ time.Time) (string, []any) {
		// The schema's Check has refused anything that does not parse.
		t, _ := time.Parse(time.RFC3339Nano, c.Value)
		return "audit_log.time " + sqlOps[c.Op] + " ?", []any{t.UTC()}
	},
}

// ListAuditLogs returns a page of entries, oldest first; the cursor's ID is
// the last sequence number.
func (s *Store) ListAuditLogs(ctx context.Context, f filter.Filter, page Page) ([]AuditRecord, *Cursor, error) {
	q, err := applyFilter(s.conn(ctx).Model(&AuditRecord{}), f, AuditFilter, auditColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	if page.After != nil {
		q = q.Where("audit_log.seq > ?", page.After.ID)
	}
	limit := page.limit()
	var rows []AuditRecord
	if err := q.Order("audit_log.seq").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(r AuditRecord) Cursor { return Cursor{ID: itoa(r.Seq)} })
	return rows, next, nil
}

// VerifyAudit walks the whole chain in batches and reports how many entries
// it checked, or the first broken link as an *audit.BrokenLinkError.
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	const batch = 1000
	var (
		buf   []AuditRecord
		i     int
		after int64
		done  bool
	)
	next := func() (*audit.Entry, bool, error) {
		if i == len(buf) {
			if done {
				return nil, false, nil
			}
			buf, i = buf[:0], 0
			if err := s.conn(ctx).Where("seq > ?", after).Order("seq").Limit(batch).Find(&buf).Error; err != nil {
				return nil, false, err
			}
			done = len(buf) < batch
			if len(buf) == 0 {
				return nil, false, nil
			}
			after = buf[len(buf)-1].Seq
		}
		r := buf[i]
		i++
		return &audit.Entry{
			Seq: r.Seq, Time: r.Time, Principal: r.Principal, Roles: r.Roles, Credential: r.Credential,
			Method: r.Method, Resource: r.Resource, Action: r.Action, RequestID: r.RequestID,
			ClientAddr: r.ClientAddr, Outcome: r.Outcome, Fields: r.Fields, PrevHash: r.PrevHash, Hash: r.Hash,
		}, true, nil
	}
	n, err := audit.Verify(ctx, next)
	if err != nil {
		return n, err
	}
	// Entries cut off the end of the chain leave the head pointing past them.
	var head auditHead
	if err := s.conn(ctx).Take(&head, 1).Error; err != nil {
		return n, err
	}
	if head.Seq != n {
		return n, &audit.BrokenLinkError{Seq: n + 1, Reason: "entries missing at the end of the chain"}
	}
	return n, nil
}

// auditEntryFor starts a change entry by the caller in ctx.
func auditEntryFor(ctx context.Context, resource string, fields []string) *audit.Entry {
	return audit.FromContext(ctx).Entry(audit.ActionChange, resource, audit.OutcomeOK, fields)
}
