package repository

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// Store is the one storage implementation, over either dialect.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	cipher  Cipher
	prefix  string
	now     func() time.Time
	// resealing keeps this process's reseal passes one at a time (see
	// resealLock for the servers' side).
	resealing *sync.Mutex
}

// Option configures a Store.
type Option func(*Store)

// WithCaseNumberPrefix sets the county prefix of case numbers ("FD").
func WithCaseNumberPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithClock replaces the clock, for tests of time-dependent filters.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New wraps an open, migrated database. The cipher seals ID and phone
// numbers at rest; there is deliberately no way to run without one.
func New(db *gorm.DB, dialect Dialect, cipher Cipher, opts ...Option) *Store {
	if cipher == nil {
		panic("repository: a cipher is required")
	}
	s := &Store{db: db, dialect: dialect, cipher: cipher, prefix: "FD", now: time.Now, resealing: &sync.Mutex{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Dialect reports which database the store is on.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

type txKey struct{}

// InTx runs fn in one transaction: every store call made with the context fn
// receives joins it, each of their own transactions becoming a savepoint.
// A batch is all or nothing this way, and an idempotent call's record
// commits with the change it records. An error from fn rolls it all back.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// conn is the handle a store call works through: the transaction InTx put
// in ctx, or the pool.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return s.db.WithContext(ctx)
}

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// forUpdate locks the rows a read-modify-write reads. SQLite needs no row
// locks: its transactions begin IMMEDIATE and so already exclude writers.
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.dialect == Postgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// versioned rows carry the revision behind their etag.
type versioned interface {
	revision() *int64
	touch(time.Time)
	resource() string
}

func (h *Household) revision() *int64  { return &h.Revision }
func (h *Household) touch(t time.Time) { h.UpdateTime = t }
func (h *Household) resource() string  { return names.Household{ID: h.ID}.String() }
func (m *Member) revision() *int64     { return &m.Revision }
func (m *Member) touch(t time.Time)    { m.UpdateTime = t }
func (m *Member) resource() string {
	return names.Member{HouseholdID: m.HouseholdID, ID: m.ID}.String()
}
func (c *Case) revision() *int64  { return &c.Revision }
func (c *Case) touch(t time.Time) { c.UpdateTime = t }
func (c *Case) resource() string  { return names.Case{ID: c.ID}.String() }

// update is the one read-modify-write path: it loads the row that selectRow
// picks under a lock, refuses a stale etag, lets fn change the plaintext row,
// and writes it back sealed, only if nobody else wrote in between, together
// with an audit entry naming the changed fields. fn gets a context bound to
// the transaction, so store calls it makes read and write inside it (and on
// SQLite's single connection do not wait for it). An error from fn rolls
// everything back, so a refused change changes nothing.
//
// A change that leaves every stored field as it was writes nothing either:
// the transaction is rolled back (with whatever fn wrote beside the row), so
// there is no new etag, no audit entry, no feed event and so no webhook
// delivery, and the row comes back as it is stored. A nightly job that sends
// the same file again must not make every record look changed.
func update[T any, P interface {
	*T
	versioned
}](ctx context.Context, s *Store, selectRow func(*gorm.DB) *gorm.DB, etag string, fn func(ctx context.Context, row P) error) (P, error) {
	row := P(new(T))
	var stored T
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		if err := s.forUpdate(selectRow(tx)).Take(row).Error; err != nil {
			return notFound(err)
		}
		if err := s.openRow(row); err != nil {
			return err
		}
		old := *row.revision()
		if etag != "" && ParseEtag(etag) != old {
			return ErrEtagMismatch
		}
		before := *row
		if err := fn(ctx, row); err != nil {
			return err
		}
		fields := changedFields(&before, row)
		if len(fields) == 0 {
			stored = before
			return errUnchanged
		}
		*row.revision() = old + 1
		row.touch(s.clock())
		if err := s.sealRow(row); err != nil {
			return err
		}
		res := tx.Model(row).Where("revision = ?", old).Select(writableColumns(tx, row)).Updates(row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrEtagMismatch
		}
		if h, ok := any(row).(*Household); ok {
			// The household's class may have changed.
			if err := s.setContactDue(tx, h); err != nil {
				return err
			}
		}
		if err := s.recordChange(ctx, tx, row.resource(), Etag(*row.revision()), fields); err != nil {
			return err
		}
		return s.openRow(row)
	})
	if errors.Is(err, errUnchanged) {
		*row = stored
		return row, nil
	}
	if err != nil {
		return nil, err
	}
	return row, nil
}

// errUnchanged rolls back a read-modify-write that changed nothing; update
// answers it with the stored row.
var errUnchanged = errors.New("nothing changed")

// writableColumns names every column of model's table that a write may set,
// zero values included; fields computed on read (gorm's "->" permission)
// are left out.
func writableColumns(tx *gorm.DB, model any) []string {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(model); err != nil {
		return []string{"*"}
	}
	var cols []string
	for _, f := range stmt.Schema.Fields {
		if f.DBName != "" && f.Updatable {
			cols = append(cols, f.DBName)
		}
	}
	return cols
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

func conflict(err error, what string) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &ConflictError{What: what}
	}
	return err
}

var errPrecondition = func(typ, subject, desc string) error {
	return &domain.PreconditionError{Type: typ, Subject: subject, Description: desc}
}

// timeUnit is the precision every stored time is kept at: PostgreSQL's.
const timeUnit = time.Microsecond

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
