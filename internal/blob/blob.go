// Package blob keeps attachments' bytes outside the rows that describe
// them: in a local directory (the embedded default) or an S3-compatible
// object store (clusters); repository keeps them in the database for
// single-server deployments. Every store holds only ciphertext: Sealing
// wraps one so that what it is handed is sealed chunk by chunk and what it
// answers is opened and checked.
package blob

import (
	"errors"
	"regexp"
	"time"
)

// ErrNotFound answers a Get or Delete of a key the store does not hold.
var ErrNotFound = errors.New("blob: not found")

// errBadKey refuses a key that could name something outside the store.
var errBadKey = errors.New("blob: keys are letters, digits, '.', '-' and '_'")

// keyPattern is what keys may be: the server makes them from ids, and a
// key with a slash or "..", in a file path or an object name, could reach
// outside the store.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$`)

// CheckKey refuses a key that is not a plain name.
func CheckKey(key string) error {
	if !keyPattern.MatchString(key) {
		return errBadKey
	}
	return nil
}

// Info is one blob as a store lists it.
type Info struct {
	Key string
	// Stored is when the blob was written: the orphan sweep leaves a blob
	// younger than its grace period alone, since its row may be about to
	// commit.
	Stored time.Time
}
