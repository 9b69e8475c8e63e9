package repository

import "errors"

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
