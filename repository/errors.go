package repository

import "errors"

var (
	// ErrNotFound: no live row has that name (or it belongs to another parent).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a uniqueness rule would be broken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrEtagMismatch: the caller's etag is stale; the change was not applied.
	ErrEtagMismatch = errors.New("etag does not match the stored resource")
)

// ConflictError wraps ErrAlreadyExists with what collided, in words that
// carry no personal data.
type ConflictError struct{ What string }

func (e *ConflictError) Error() string { return e.What + " already exists" }
func (e *ConflictError) Unwrap() error { return ErrAlreadyExists }
