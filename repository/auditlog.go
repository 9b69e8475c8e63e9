package repository

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
)

// appendAudit links entries, in order, to the end of the chain and writes
// them inside tx, so they commit exactly when the change they record does.
// The head row is locked once, however many entries there are, and held
// until commit: writers on one server or many are serialised and the chain
// never forks. Moving the head once per call, not per entry, keeps a batch
// from piling up versions of that one row.
func (s *Store) appendAudit(tx *gorm.DB, entries ...*audit.Entry) error {
	records, head, err := s.lockAndSeal(tx, entries)
	if err != nil {
		return err
	}
	if err := tx.Model(&auditHead{}).Where("id = 1").Updates(map[string]any{"seq": head.Seq, "hash": head.Hash}).Error; err != nil {
		return err
	}
	return tx.CreateInBatches(records, insertBatch).Error
}

// lockAuditHead reads the chain's last link and, on PostgreSQL, locks it
// until commit: the first county-wide lock of every write.
func (s *Store) lockAuditHead(tx *gorm.DB) (auditHead, error) {
	var head auditHead
	err := s.forUpdate(tx).Take(&head, 1).Error
	return head, err
}

// lockAndSeal takes the audit head and links entries, in order, after it.
func (s *Store) lockAndSeal(tx *gorm.DB, entries []*audit.Entry) ([]AuditRecord, auditHead, error) {
	head, err := s.lockAuditHead(tx)
	if err != nil {
		return nil, head, err
	}
	return s.sealAudit(head, entries)
}

// sealAudit links entries, in order, after head, and returns their rows
// and the new head.
func (s *Store) sealAudit(head auditHead, entries []*audit.Entry) ([]AuditRecord, auditHead, error) {
	now := s.clock()
	records := make([]AuditRecord, len(entries))
	for i, e := range entries {
		e.Time = now
		if err := e.Seal(head.Seq, head.Hash, s.cipher); err != nil {
			return nil, head, err
		}
		head.Seq, head.Hash = e.Seq, e.Hash
		records[i] = recordOf(e)
	}
	return records, head, nil
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
	if s.dialect == Postgres && len(changes) == 1 {
		var w lockedWrite
		if err := s.lockAndRecord(ctx, tx, &w, changes[0]); err != nil {
			return err
		}
		return tx.Exec(w.statement("SELECT 1"), w.vars...).Error
	}
	entries := make([]*audit.Entry, len(changes))
	for i, c := range changes {
		entries[i] = auditEntryFor(ctx, c.resource, c.fields)
	}
	if err := s.appendAudit(tx, entries...); err != nil {
		return err
	}
	return s.appendEvents(ctx, tx, changes)
}

// lockAndRecord takes the audit head (the first county-wide lock: call it
// when everything else that needs no head is done) and adds to w the CTEs
// that write ch's audit entry and feed event and move both heads. w may
// already hold CTEs that take other county-wide rows: they run in the same
// statement, under the audit head. PostgreSQL only.
func (s *Store) lockAndRecord(ctx context.Context, tx *gorm.DB, w *lockedWrite, ch change) error {
	return s.lockAndRecordAll(ctx, tx, w, []change{ch})
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
		return r.Entry(), true, nil
	}
	n, err := audit.Verify(ctx, s.cipher, next)
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

// AuditChainLength reads how many entries the audit chain has, from its
// head. It needs no keyring: it is what a keyring from before audit keys is
// upgraded at (sealed.UpgradeAuditFile), before any store is built on it.
func AuditChainLength(ctx context.Context, db *gorm.DB) (int64, error) {
	var head auditHead
	if err := db.WithContext(ctx).Take(&head, 1).Error; err != nil {
		return 0, err
	}
	return head.Seq, nil
}

// AuditHead returns the last link of the chain: what an anchor records.
func (s *Store) AuditHead(ctx context.Context) (audit.Head, error) {
	var head auditHead
	if err := s.conn(ctx).Take(&head, 1).Error; err != nil {
		return audit.Head{}, err
	}
	out := audit.Head{Seq: head.Seq, Hash: head.Hash}
	if head.Seq == 0 {
		return out, nil
	}
	var r AuditRecord
	if err := s.conn(ctx).Take(&r, head.Seq).Error; err != nil {
		return audit.Head{}, err
	}
	out.KeyID, out.Time = r.KeyID, r.Time
	return out, nil
}

// CheckAuditAnchors holds the stored chain to anchors recorded outside the
// database, and returns those it no longer agrees with: a rewritten
// history (the entry at an anchored sequence number has another hash, or is
// gone) or a truncated one (the chain ends before it). The chain's end is
// read from the entries themselves, not from audit_head, which whoever cut
// the entries could have set back as well.
func (s *Store) CheckAuditAnchors(ctx context.Context, anchors []audit.Anchor) ([]*audit.AnchorError, error) {
	var last int64
	if err := s.conn(ctx).Model(&AuditRecord{}).Select("COALESCE(MAX(seq), 0)").Scan(&last).Error; err != nil {
		return nil, err
	}
	// An anchor file gains a line every few minutes for years: the hashes
	// are read in batches, not one query per line.
	hashes := map[int64]string{}
	var want []int64
	for _, a := range anchors {
		if a.Seq > 0 && a.Seq <= last {
			want = append(want, a.Seq)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	for chunk := range slices.Chunk(want, 500) {
		var rows []AuditRecord
		if err := s.conn(ctx).Select("seq", "hash").Where("seq IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			hashes[r.Seq] = r.Hash
		}
	}
	var out []*audit.AnchorError
	for _, a := range anchors {
		hash, found := hashes[a.Seq]
		if err := audit.CheckAnchor(a, hash, found, last); err != nil {
			out = append(out, err)
		}
	}
	return out, nil
}

// Entry is the audit entry r stores.
func (r *AuditRecord) Entry() *audit.Entry {
	return &audit.Entry{
		Seq: r.Seq, Time: r.Time, Principal: r.Principal, Roles: r.Roles, Credential: r.Credential,
		Method: r.Method, Resource: r.Resource, Action: r.Action, RequestID: r.RequestID,
		ClientAddr: r.ClientAddr, Outcome: r.Outcome, Fields: r.Fields, PrevHash: r.PrevHash,
		KeyID: r.KeyID, Hash: r.Hash,
	}
}

func recordOf(e *audit.Entry) AuditRecord {
	return AuditRecord{
		Seq: e.Seq, Time: e.Time, Principal: e.Principal, Roles: e.Roles, Credential: e.Credential,
		Method: e.Method, Resource: e.Resource, Action: e.Action, RequestID: e.RequestID,
		ClientAddr: e.ClientAddr, Outcome: e.Outcome, Fields: e.Fields, PrevHash: e.PrevHash,
		KeyID: e.KeyID, Hash: e.Hash,
	}
}

// auditInsert writes one AuditRecord; its columns are values()'s, in that
// order (TestAuditInsertColumns holds them to gorm's). It is written out so
// that the values sealed under the audit head's lock go straight into the
// statement, with no gorm work while the head is held.
const auditInsert = `INSERT INTO "audit_log" ("seq","time","principal","roles","credential","method","resource",` +
	`"action","request_id","client_addr","outcome","fields","prev_hash","key_id","hash") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func (r *AuditRecord) values() []any {
	return []any{r.Seq, r.Time, r.Principal, r.Roles, r.Credential, r.Method, r.Resource,
		r.Action, r.RequestID, r.ClientAddr, r.Outcome, r.Fields, r.PrevHash, r.KeyID, r.Hash}
}

// auditEntryFor starts a change entry by the caller in ctx.
func auditEntryFor(ctx context.Context, resource string, fields []string) *audit.Entry {
	return audit.FromContext(ctx).Entry(audit.ActionChange, resource, audit.OutcomeOK, fields)
}
