package repository

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/sealed"
)

// ResealProgress reports a reseal pass as it goes.
type ResealProgress struct {
	Table string
	Done  int // rows resealed so far in Table
}

// Reseal re-encrypts every sensitive value that is not sealed under the
// active key (older keys, or plaintext written before encryption existed)
// and fills missing blind indexes, batch rows per transaction, so a
// rotation runs beside live traffic without long locks. It does not change
// revisions: the values mean the same, so clients' etags stay valid.
func (s *Store) Reseal(ctx context.Context, batch int, progress func(ResealProgress)) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	unlock, err := s.resealLock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	total := 0
	for _, t := range sealedTables {
		done := 0
		for {
			// The active key is read per batch: a keyring that reloads a
			// rotation mid-run seals under the newer key, and a pattern
			// fixed at the start would select those rows again forever.
			pattern := "sealed:v1:" + s.cipher.ActiveKeyID() + ":%"
			var ids []string
			if err := t.stale(s.conn(ctx), pattern).Order("id").Limit(batch).Pluck("id", &ids).Error; err != nil {
				return total, err
			}
			if len(ids) == 0 {
				break
			}
			if err := s.conn(ctx).Transaction(func(tx *gorm.DB) error { return t.reseal(s, tx, ids, t) }); err != nil {
				return total, err
			}
			done += len(ids)
			total += len(ids)
			if progress != nil {
				progress(ResealProgress{Table: t.name, Done: done})
			}
		}
	}
	for _, c := range sealedValues {
		n, err := s.resealValues(ctx, c, batch, progress)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// resealKey is the PostgreSQL advisory lock of a reseal pass (any number
// no other lock uses; goose's migration lock is another).
const resealKey int64 = 4_702_318_110_455_209_731

// resealLock keeps a reseal pass to one at a time: in this process, and on
// PostgreSQL across servers. Replicas that
// start together (a Deployment rolled after a key rotation) all reseal the
// same stale rows; in parallel their batch transactions update them in
// overlapping orders and PostgreSQL kills one of them as a deadlock,
// failing that server's start. Under the lock the first does the work and
// the others find nothing left. The lock is a session lock, held on a
// connection of its own for the pass; SQLite has one writer anyway.
func (s *Store) resealLock(ctx context.Context) (func(), error) {
	s.resealing.Lock()
	if s.dialect != Postgres {
		return s.resealing.Unlock, nil
	}
	unlock, err := advisoryLock(ctx, s.db, resealKey)
	if err != nil {
		s.resealing.Unlock()
		return nil, fmt.Errorf("reseal lock: %w", err)
	}
	return func() { unlock(); s.resealing.Unlock() }, nil
}

// advisoryLock takes PostgreSQL's session advisory lock key on a
// connection of its own, and returns what releases it. A connection that
// could not unlock is dropped, not pooled: the session, and its lock, end
// with it.
func advisoryLock(ctx context.Context, db *gorm.DB, key int64) (func(), error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return func() {
		// Unlocked whether the caller's context is spent or not.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

// sealedValue describes a table with one sealed column and no index: a
// secret kept so it can be used again, not looked up.
type sealedValue struct {
	table, column, context string
	keys                   []string // the primary key's columns
}

var sealedValues = []sealedValue{
	{table: "webhooks", column: "secret", context: sealWebhookSecret, keys: []string{"id"}},
	{table: "request_ids", column: "response", context: sealResponse, keys: []string{"principal", "request_id"}},
	{table: "organizations", column: "contact_phone", context: sealOrganizationPhone, keys: []string{"id"}},
	{table: "complaints", column: "complainant_phone", context: sealComplainantPhone, keys: []string{"id"}},
	// The ledgers' free text; migration 00015 moved it here unsealed.
	{table: "complaints", column: "description_sealed", context: sealComplaint, keys: []string{"id"}},
	{table: "complaints", column: "resolution_sealed", context: sealResolution, keys: []string{"id"}},
	{table: "contacts", column: "raised_sealed", context: sealContactRaised, keys: []string{"id"}},
	{table: "contacts", column: "follow_ups_sealed", context: sealContactFollowUps, keys: []string{"id"}},
	{table: "assistance", column: "note_sealed", context: sealAssistanceNote, keys: []string{"id"}},
	{table: "campaign_visits", column: "notes_sealed", context: sealVisitNotes, keys: []string{"id"}},
	{table: "referrals", column: "request_sealed", context: sealReferralRequest, keys: []string{"id"}},
	{table: "referrals", column: "reply_sealed", context: sealReferralReply, keys: []string{"id"}},
	// Attachments' names and descriptions; the files themselves stay
	// under the key they were sealed with, which the keyring keeps.
	{table: "attachments", column: "file_name", context: sealAttachmentName, keys: []string{"id"}},
	{table: "attachments", column: "description", context: sealAttachmentDescription, keys: []string{"id"}},
}

// resealValues is Reseal for one sealedValue table. A row is written back
// only if its sealed value is still the one read, so a concurrent change
// wins and the row is looked at again in the next batch.
func (s *Store) resealValues(ctx context.Context, c sealedValue, batch int, progress func(ResealProgress)) (int, error) {
	done := 0
	for {
		pattern := "sealed:v1:" + s.cipher.ActiveKeyID() + ":%"
		var rows []map[string]any
		err := s.conn(ctx).Table(c.table).Select(append(slices.Clone(c.keys), c.column)).
			Where(c.column+" <> '' AND "+c.column+" NOT LIKE ?", pattern).Order(c.keys[0]).Limit(batch).Find(&rows).Error
		if err != nil || len(rows) == 0 {
			return done, err
		}
		err = s.conn(ctx).Transaction(func(tx *gorm.DB) error {
			for _, row := range rows {
				old := fmt.Sprint(row[c.column])
				plain, err := s.cipher.Open(old, c.context)
				if errors.Is(err, sealed.ErrNotSealed) {
					// Written before the column was sealed (migration 00015).
					plain, err = old, nil
				}
				if err != nil {
					return err
				}
				sealedValue, err := s.cipher.Seal(plain, c.context)
				if err != nil {
					return err
				}
				q := tx.Table(c.table).Where(c.column+" = ?", old)
				for _, k := range c.keys {
					q = q.Where(k+" = ?", row[k])
				}
				if err := q.Update(c.column, sealedValue).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += len(rows)
		if progress != nil {
			progress(ResealProgress{Table: c.table, Done: done})
		}
	}
}

// sealedTable describes a table with sealed columns: its ID-number column
// and blind index, and the other sealed columns beside them (the phone, the
// certificate number).
type sealedTable struct {
	name, idColumn, indexColumn, duplicate string
	others                                 []string
	// nameColumn holds the person's name, which the fuzzy-duplicate
	// indexes (migration 00019) are computed from.
	nameColumn string
	model      any
	reseal     func(s *Store, tx *gorm.DB, ids []string, t sealedTable) error
}

var sealedTables = []sealedTable{
	{name: "households", idColumn: "servicemember_id_number", indexColumn: "servicemember_id_index",
		others: []string{"phone", "preferential_certificate_number", "transfer_reason"}, duplicate: duplicateHousehold, model: &Household{},
		nameColumn: "servicemember_name", reseal: resealRows[Household]},
	{name: "members", idColumn: "id_number", indexColumn: "id_number_index", others: []string{"phone"},
		duplicate: duplicateMember, model: &Member{}, nameColumn: "display_name", reseal: resealRows[Member]},
}

// sealedColumns are the table's sealed columns.
func (t sealedTable) sealedColumns() []string { return append([]string{t.idColumn}, t.others...) }

// stale selects the rows with a value not sealed under the active key (the
// pattern), or an ID number without its index.
func (t sealedTable) stale(db *gorm.DB, pattern string) *gorm.DB {
	var conds []string
	var args []any
	for _, c := range t.sealedColumns() {
		conds = append(conds, "("+c+" <> '' AND "+c+" NOT LIKE ?)")
		args = append(args, pattern)
	}
	conds = append(conds, "("+t.idColumn+" <> '' AND "+t.indexColumn+" = '')",
		// Rows from before migration 00019 lack their duplicate-check
		// indexes; a name always gives one, a phone only when there is one.
		"("+t.nameColumn+" <> '' AND name_birth_index = '')", "(phone <> '' AND name_phone_index = '')")
	return db.Model(t.model).Where(strings.Join(conds, " OR "), args...)
}

// resealRows opens and seals again the rows with ids, writing back only the
// sealed columns and the index: nothing else, not even the revision.
func resealRows[T any, P interface {
	*T
	sealable
}](s *Store, tx *gorm.DB, ids []string, t sealedTable) error {
	var rows []T
	if err := s.forUpdate(tx.Where("id IN ?", ids)).Find(&rows).Error; err != nil {
		return err
	}
	for i := range rows {
		row := P(&rows[i])
		if err := row.open(s.cipher); err != nil {
			return err
		}
		if err := row.seal(s.cipher); err != nil {
			return err
		}
		if err := tx.Model(row).Select(append(t.sealedColumns(), t.indexColumn, "name_birth_index", "name_phone_index")).Updates(row).Error; err != nil {
			return conflict(err, t.duplicate)
		}
	}
	return nil
}
