package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means: no live row has that name (or it belongs to another parent).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means: a uniqueness rule would be broken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrEtagMismatch means: the caller's etag is stale; the change was not applied.
	ErrEtagMismatch = errors.New("etag does not match the stored resource")
	// ErrConflictOutOfScope means: a uniqueness rule would be broken by a record
	// in a town the caller may not reach. Which record, and even which item
	// of a batch, is not said: a town's caseworker must not learn who is
	// registered elsewhere in the county.
	ErrConflictOutOfScope = errors.New("the request conflicts with a record outside your towns; a county-wide role (the county office) can resolve it")
)

// ConflictError wraps ErrAlreadyExists with what collided, in words that
// carry no personal data, and the name of the existing record when the
// caller may see it (empty otherwise).
type ConflictError struct {
	What     string
	Resource string
}

func (e *ConflictError) Error() string { return e.What + " already exists" }
func (e *ConflictError) Unwrap() error { return ErrAlreadyExists }

// Unavailable reports whether err means the database could not be reached
// or the connection broke, rather than that it refused the statement: the
// caller may retry once it is back. A statement the database refused is not
// this, and neither is a cancelled or timed-out call (the client's own
// deadline).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08 is connection exceptions; 57P01 to 57P03 a server
		// shutting down or starting up.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone)
}
