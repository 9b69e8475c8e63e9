package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// The audit head, the change-feed head and a year's case-number row are
// county-wide: every write of the county queues on them, and holds them
// from the statement that takes the first until COMMIT. Writes therefore
// happen at most 1 / (time the heads are held) per second, however many
// clients wait. On PostgreSQL a write first does all the work that needs
// none of them, then takes the audit head (the one value Go has to read,
// to link the next audit entry to it: its MAC is keyed by a key the
// database must not see), and sends everything that moves a head in one
// statement of data-modifying CTEs, then commits: two round trips under
// the locks, whatever the write. A create (lockedTransaction) sends that
// statement and COMMIT in one pipeline, so it holds them for one.
//
// Lock order: the audit head always comes first. The other head rows are
// only ever taken while it is held (PruneEvents takes the feed head alone
// and nothing after it), so the order among them inside one statement,
// which PostgreSQL leaves unspecified, cannot deadlock.

// lockedWrite collects the CTEs of the one statement a PostgreSQL write
// sends under the county-wide locks.
type lockedWrite struct {
	ctes []string
	vars []any
}

// with adds a CTE; its SQL uses ? for vars, and may name earlier CTEs.
func (w *lockedWrite) with(name, sql string, vars ...any) {
	w.ctes = append(w.ctes, name+" AS ("+sql+")")
	w.vars = append(w.vars, vars...)
}

// statement is the whole statement, ending in final (which takes no vars).
func (w *lockedWrite) statement(final string) string {
	return "WITH " + strings.Join(w.ctes, ", ") + " " + final
}

// insertValues is the INSERT gorm would send for one row, with ?
// placeholders, and with the columns named in exprs set to those SQL
// expressions (which take no vars) instead of the row's values. gorm
// builds it, so the columns and the serialised values are exactly what
// tx.Create(row) writes; nothing is sent.
func insertValues(tx *gorm.DB, row any, exprs map[string]string) (string, []any, error) {
	stmt := tx.Session(&gorm.Session{DryRun: true}).Create(row).Statement
	if stmt.Error != nil {
		return "", nil, stmt.Error
	}
	sql := stmt.SQL.String()
	open := strings.Index(sql, " (")
	values := strings.Index(sql, ") VALUES (")
	if open < 0 || values < open {
		return "", nil, fmt.Errorf("repository: unexpected insert %q", sql)
	}
	cols := strings.Split(sql[open+2:values], ",")
	if len(cols) != len(stmt.Vars) {
		return "", nil, fmt.Errorf("repository: insert into %s: %d columns, %d values", stmt.Table, len(cols), len(stmt.Vars))
	}
	placeholders := make([]string, len(cols))
	var vars []any
	for i, col := range cols {
		if e, ok := exprs[strings.Trim(col, "`\"")]; ok {
			placeholders[i] = e
			continue
		}
		placeholders[i] = "?"
		vars = append(vars, stmt.Vars[i])
	}
	return sql[:values] + ") VALUES (" + strings.Join(placeholders, ",") + ")", vars, nil
}

// send sends the statement ending in final, which returns one row, and
// scans that row into dest. With commit (lockedTransaction's), COMMIT goes
// in the same pipeline: the heads are then held for one round trip, from
// the audit head's read to the commit, instead of two. Without it (SQLite
// has no heads; inside InTx the outer transaction commits) the statement
// goes alone.
func (w *lockedWrite) send(tx *gorm.DB, commit *pipelinedCommit, final string, dest ...any) error {
	if commit != nil {
		return commit.exec(tx, dest, w.statement(final), w.vars...)
	}
	q := tx.Raw(w.statement(final), w.vars...)
	if err := q.Row().Scan(dest...); err != nil {
		// gorm translates errors it sees (a duplicate key); a row's arrive
		// at Scan, past it.
		return q.AddError(err)
	}
	return nil
}

// lockedTransaction runs fn in a transaction. On PostgreSQL, when fn's
// transaction is its own (not InTx's), the transaction is begun by hand on
// one connection of the pool, so that fn can end it with its last
// statement (lockedWrite.send) in one pipeline; commit is nil otherwise,
// and fn's work commits as gorm's Transaction commits it. Whatever fn
// leaves open is committed when it returns nil and rolled back when it
// fails.
func (s *Store) lockedTransaction(ctx context.Context, fn func(tx *gorm.DB, commit *pipelinedCommit) error) error {
	if _, inTx := ctx.Value(txKey{}).(*gorm.DB); inTx || s.dialect != Postgres {
		return s.conn(ctx).Transaction(func(tx *gorm.DB) error { return fn(tx, nil) })
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	// Back to the pool; pgx's driver discards a connection that is still
	// in a transaction (a panic in fn), so none leaks one.
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	tx := s.db.WithContext(ctx)
	tx.Statement.ConnPool = pinnedConn{conn}
	err = fn(tx, &pipelinedCommit{conn: conn})
	if end := endTransaction(ctx, conn, err == nil); err == nil {
		err = end
	}
	return err
}

// endTransaction commits (or rolls back) what is still open on conn: nothing
// when the pipeline's COMMIT ended it.
func endTransaction(ctx context.Context, conn *sql.Conn, commit bool) error {
	return conn.Raw(func(dc any) error {
		c, err := pgxConn(dc)
		if err != nil {
			return err
		}
		if c.PgConn().TxStatus() == 'I' {
			return nil
		}
		// A cancelled call still ends its transaction, so the connection
		// goes back to the pool clean.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if !commit {
			if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
				return driver.ErrBadConn // database/sql closes the connection
			}
			return nil
		}
		tag, err := c.Exec(ctx, "COMMIT")
		if err != nil {
			return err
		}
		return committed(tag)
	})
}

// committed is nil for a COMMIT's tag, an error for the ROLLBACK that
// PostgreSQL answers a failed transaction's COMMIT with.
func committed(tag pgconn.CommandTag) error {
	if tag.String() != "COMMIT" {
		return fmt.Errorf("repository: the transaction was rolled back (%s)", tag)
	}
	return nil
}

func pgxConn(dc any) (*pgx.Conn, error) {
	c, ok := dc.(*stdlib.Conn)
	if !ok {
		return nil, fmt.Errorf("repository: a PostgreSQL connection is %T, not pgx's", dc)
	}
	return c.Conn(), nil
}

// pinnedConn is gorm's connection pool inside lockedTransaction: one
// connection, in a transaction begun by hand. It is no TxBeginner, so gorm
// begins no transaction of its own on it (a write's default transaction
// would otherwise send BEGIN and COMMIT on ours), and it is a TxCommitter,
// so a nested Transaction is a savepoint, as in a *sql.Tx.
type pinnedConn struct{ c *sql.Conn }

func (p pinnedConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.c.PrepareContext(ctx, query)
}

func (p pinnedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.c.ExecContext(ctx, query, args...)
}

func (p pinnedConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.c.QueryContext(ctx, query, args...)
}

func (p pinnedConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.c.QueryRowContext(ctx, query, args...)
}

func (p pinnedConn) Commit() error {
	_, err := p.c.ExecContext(context.Background(), "COMMIT")
	return err
}

func (p pinnedConn) Rollback() error {
	_, err := p.c.ExecContext(context.Background(), "ROLLBACK")
	return err
}

// pipelinedCommit ends a lockedTransaction with its last statement.
type pipelinedCommit struct{ conn *sql.Conn }

// exec sends query, which returns one row scanned into dest, and COMMIT in
// one pgx batch on the transaction's connection. It goes through gorm's
// Exec, so the statement is built, traced and recorded as every other; only
// the connection pool it reaches sends it differently.
func (p *pipelinedCommit) exec(tx *gorm.DB, dest []any, query string, vars ...any) error {
	db := tx.Session(&gorm.Session{Context: tx.Statement.Context})
	db.Statement.ConnPool = commitPipeline{conn: p.conn, dest: dest}
	return db.Exec(query, vars...).Error
}

// commitPipeline is the connection pool of pipelinedCommit's one Exec.
type commitPipeline struct {
	conn *sql.Conn
	dest []any
}

var errPipelineExecOnly = errors.New("repository: the commit pipeline sends one Exec")

func (commitPipeline) PrepareContext(context.Context, string) (*sql.Stmt, error) {
	return nil, errPipelineExecOnly
}

func (commitPipeline) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, errPipelineExecOnly
}

func (commitPipeline) QueryRowContext(context.Context, string, ...any) *sql.Row {
	return nil
}

func (p commitPipeline) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var tag pgconn.CommandTag
	err := p.conn.Raw(func(dc any) error {
		c, err := pgxConn(dc)
		if err != nil {
			return err
		}
		var b pgx.Batch
		b.Queue(query, args...).QueryRow(func(row pgx.Row) error { return row.Scan(p.dest...) })
		b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
		return c.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return nil, err
	}
	if err := committed(tag); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}
