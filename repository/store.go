package repository

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fengdu-county/casework/domain"
)

// Store is the one storage implementation, over either dialect.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	prefix  string
	now     func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithCaseNumberPrefix sets the county prefix of case numbers ("FD").
func WithCaseNumberPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithClock replaces the clock, for tests of time-dependent filters.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New wraps an open, migrated database.
func New(db *gorm.DB, dialect Dialect, opts ...Option) *Store {
	s := &Store{db: db, dialect: dialect, prefix: "FD", now: time.Now}
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
}

func (h *Household) revision() *int64  { return &h.Revision }
func (h *Household) touch(t time.Time) { h.UpdateTime = t }
func (m *Member) revision() *int64     { return &m.Revision }
func (m *Member) touch(t time.Time)    { m.UpdateTime = t }
func (c *Case) revision() *int64       { return &c.Revision }
func (c *Case) touch(t time.Time)      { c.UpdateTime = t }

// update is the one read-modify-write path: it loads the row that scope
// selects under a lock, refuses a stale etag, lets fn change it, and writes it
// back only if nobody else did in between. Returning an error from fn rolls
// everything back, so a refused change changes nothing.
func update[T any, P interface {
	*T
	versioned
}](ctx context.Context, s *Store, scope func(*gorm.DB) *gorm.DB, etag string, fn func(tx *gorm.DB, row P) error) (P, error) {
	row := P(new(T))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.forUpdate(scope(tx)).Take(row).Error; err != nil {
			return notFound(err)
		}
		old := *row.revision()
		if etag != "" && ParseEtag(etag) != old {
			return ErrEtagMismatch
		}
		if err := fn(tx, row); err != nil {
			return err
		}
		*row.revision() = old + 1
		row.touch(s.clock())
		res := tx.Model(row).Where("revision = ?", old).Select("*").Updates(row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrEtagMismatch
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row, nil
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
