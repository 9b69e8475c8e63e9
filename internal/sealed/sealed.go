// Package sealed encrypts sensitive fields (national ID numbers, phone
// numbers) at rest and computes blind indexes so those fields can still be
// looked up by exact value.
//
// A sealed value is a string that fits a TEXT column:
//
//	sealed:v1:<keyid>:<base64url(nonce || ciphertext || tag)>
//
// The cipher is AES-256-GCM with a fresh random 12-byte nonce per value
// and the caller's context (e.g. "households.servicemember_id_number") as
// additional data, so a value copied into another column fails to open.
// The key id is in clear so that a reader can pick the key and so that
// re-encryption after a rotation can find rows still under old keys.
//
// Random 96-bit nonces are safe for about 2^32 values per key; rotate long
// before that (a county's caseload is many orders of magnitude smaller).
//
// Blind indexes are HMAC-SHA256 under a separate index key. That key is
// never rotated by Rotate: every stored index is derived from it, so
// changing it would mean recomputing the index of every row (which needs
// every plaintext) in one step. Errors from this package never contain
// plaintext or key material.
package sealed

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// Errors returned by Open.
var (
	// ErrNotSealed means the value has no "sealed:" prefix: a legacy
	// plaintext row that still has to be encrypted.
	ErrNotSealed = errors.New("sealed: value is not sealed")
	// ErrUnknownKey means the value names a key id the keyring lacks.
	ErrUnknownKey = errors.New("sealed: value is sealed under an unknown key")
	// ErrCorrupt means the value is malformed, was modified, or belongs to
	// another context; GCM cannot tell these apart and neither do we.
	ErrCorrupt = errors.New("sealed: value is corrupt or belongs to another context")
)

// Cipher is what the rest of the code base needs; *Keyring and *Reloading
// both implement it. The audit methods are audit.Keys.
type Cipher interface {
	Seal(plaintext, context string) (string, error)
	Open(value, context string) (string, error)
	Index(value, context string) string
	ActiveKeyID() string
	NeedsReseal(value string) bool

	ActiveAuditKeyID() string
	AuditMAC(id string) (hash.Hash, error)
	UnkeyedAuditUntil() int64
}

var (
	_ Cipher = (*Keyring)(nil)
	_ Cipher = (*Reloading)(nil)
)

const (
	prefix    = "sealed:"
	prefixV1  = "sealed:v1:"
	nonceSize = 12
	tagSize   = 16
	keySize   = 32
)

// b64 is strict so every blob has exactly one spelling; lax decoding
// ignores the low bits of the last character.
var b64 = base64.RawURLEncoding.Strict()

// IsSealed reports whether value carries the sealed prefix. ID and phone
// numbers never start with "sealed:", so the prefix is unambiguous.
func IsSealed(value string) bool {
	return strings.HasPrefix(value, prefix)
}

// KeyID returns the key id a well-formed v1 header names.
func KeyID(value string) (string, bool) {
	id, _, ok := splitV1(value)
	return id, ok
}

// splitV1 splits a v1 value into key id and the still-encoded blob.
func splitV1(value string) (id, blob string, ok bool) {
	rest, ok := strings.CutPrefix(value, prefixV1)
	if !ok {
		return "", "", false
	}
	id, blob, ok = strings.Cut(rest, ":")
	if !ok || !validKeyID(id) {
		return "", "", false
	}
	return id, blob, true
}

// validKeyID keeps ids short and free of ':' so the format stays parseable.
func validKeyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// newKeyID returns prefix ("k" for data keys, "a" for audit keys) and 8
// random hex digits. 32 bits are plenty: ids only have to be unique within
// one keyring, and the rotations retry on clash.
func newKeyID(prefix string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// blindIndex is HMAC-SHA256(key, context || 0x00 || value). The NUL keeps
// ("a", "bc") and ("ab", "c") apart; contexts are code constants without
// NUL bytes, so the split is unambiguous.
func blindIndex(key []byte, value, context string) string {
	if value == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(context))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
