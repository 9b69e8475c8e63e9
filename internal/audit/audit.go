// Package audit defines the tamper-evident audit trail: who read sensitive
// data or changed what, and when. Each entry carries the hash of the one
// before it, so rewriting or deleting any entry breaks every later link, and
// Verify names the first broken one.
//
// The hash is an HMAC-SHA256 under an audit key held in the keyring, outside
// the database: someone who can write the database but not read the keyring
// cannot recompute the links after rewriting an entry. Entries written
// before the chain was keyed carry a plain SHA-256 and no key id; they still
// verify, but only before the first keyed entry (and before the point the
// keyring says the key was introduced), or an attacker would simply write
// unkeyed entries. Anchors (anchor.go) cover what keys cannot: a rewrite by
// someone who holds the keyring too, and a chain cut short.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"strings"
	"time"
)

// GenesisHash is the "previous hash" of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Outcomes of an audited call.
const (
	OutcomeOK     = "OK"
	OutcomeDenied = "PERMISSION_DENIED"
	// OutcomeOutOfScope: the resource exists, in a town beyond the
	// caller's reach for this call. The caller was told 404 or 403.
	OutcomeOutOfScope = "OUT_OF_SCOPE"
	// OutcomeFullViewDenied: the caller asked for unmasked values it may
	// not see.
	OutcomeFullViewDenied = "FULL_VIEW_DENIED"
	// OutcomeNotFound: a lookup found nothing.
	OutcomeNotFound = "NOT_FOUND"
	// OutcomeLookupMisses: a caller's lookups kept finding nothing.
	OutcomeLookupMisses = "LOOKUP_MISSES"
	// OutcomeRoleNotGrantable: an API key asked for a role its creator may
	// not grant.
	OutcomeRoleNotGrantable = "ROLE_NOT_GRANTABLE"
)

// Entry is one audited event. It never holds the sensitive values
// themselves: only the names of the fields that changed.
type Entry struct {
	Seq        int64
	Time       time.Time
	Principal  string
	Roles      string // comma-separated
	Credential string
	Method     string // e.g. "/casework.v1.CaseService/SubmitCase"
	Resource   string // e.g. "cases/…"
	Action     string // one of the Action constants below
	RequestID  string
	ClientAddr string
	Outcome    string
	Fields     string // comma-separated names of changed or viewed fields
	PrevHash   string
	// KeyID names the audit key Hash is a MAC under; "" marks an entry
	// from before the chain was keyed, hashed with plain SHA-256.
	KeyID string
	Hash  string
}

// Actions.
const (
	ActionChange   = "change"
	ActionFullView = "full-view"
	ActionDenied   = "denied"
	// ActionLookup: a search by ID number, found or not (never the number).
	ActionLookup = "lookup"
	// ActionFlagged: the server flagged a caller's behaviour (lookups that
	// keep missing).
	ActionFlagged = "flagged"
	// ActionDownload: a long-running operation's file was downloaded (an
	// export holds the ledger it was asked for).
	ActionDownload = "download"
	// ActionRetention: a run of the retention schedule erased personal
	// data; Fields holds its counts, never an id or a value.
	ActionRetention = "retention"
	// ActionSweep: the orphan sweep deleted attachments' bytes that no
	// attachment named; Fields holds its counts, never a key.
	ActionSweep = "sweep"
)

// Keys are the audit keys: the keyring implements them (sealed.Keyring and
// sealed.Reloading), so the key material never leaves it.
type Keys interface {
	// ActiveAuditKeyID names the key new entries are hashed under; ""
	// when the keyring holds no audit key.
	ActiveAuditKeyID() string
	// AuditMAC returns a fresh HMAC-SHA256 under the key id names.
	AuditMAC(id string) (hash.Hash, error)
	// UnkeyedAuditUntil is the last sequence number that may be unkeyed:
	// the chain's length when the first audit key was added to an older
	// keyring, 0 for a keyring that always had one, and math.MaxInt64 when
	// the keyring holds no audit key and so cannot tell.
	UnkeyedAuditUntil() int64
}

// ErrNoAuditKey means an entry was to be sealed without an audit key.
var ErrNoAuditKey = errors.New("audit: the keyring holds no audit key")

// writeContent writes every field of e but Hash, each length-prefixed so no
// two different entries encode the same way. The key id is written only
// for keyed entries, so unkeyed ones keep the encoding they were hashed
// with.
func (e *Entry) writeContent(w io.Writer) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	_, _ = w.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UTC().UnixMicro()))
	_, _ = w.Write(n[:])
	fields := []string{e.Principal, e.Roles, e.Credential, e.Method, e.Resource, e.Action,
		e.RequestID, e.ClientAddr, e.Outcome, e.Fields, e.PrevHash}
	if e.KeyID != "" {
		fields = append(fields, e.KeyID)
	}
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		_, _ = w.Write(n[:])
		_, _ = io.WriteString(w, f)
	}
}

// ComputeHash returns the hash of e's content and its PrevHash: an
// HMAC-SHA256 under the audit key e.KeyID names, or, for an unkeyed entry,
// a plain SHA-256 (keys may then be nil).
func (e *Entry) ComputeHash(keys Keys) (string, error) {
	var h hash.Hash
	if e.KeyID == "" {
		h = sha256.New()
	} else {
		if keys == nil {
			return "", ErrNoAuditKey
		}
		var err error
		if h, err = keys.AuditMAC(e.KeyID); err != nil {
			return "", err
		}
	}
	e.writeContent(h)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal links e after prev (the previous entry's hash and sequence number),
// hashed under the active audit key. It refuses to write an unkeyed entry.
func (e *Entry) Seal(prevSeq int64, prevHash string, keys Keys) error {
	if keys == nil || keys.ActiveAuditKeyID() == "" {
		return ErrNoAuditKey
	}
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.KeyID = keys.ActiveAuditKeyID()
	h, err := e.ComputeHash(keys)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// BrokenLinkError names the first entry at which the chain fails.
type BrokenLinkError struct {
	Seq    int64
	Reason string
}

func (e *BrokenLinkError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify walks entries in sequence order through next (which returns false
// when there are no more) and returns the number checked, or a
// *BrokenLinkError for the first entry that does not follow from the one
// before it. keys checks keyed entries; an entry under a key it lacks is a
// broken link too, since verification cannot vouch for it.
func Verify(ctx context.Context, keys Keys, next func() (*Entry, bool, error)) (int64, error) {
	prevSeq, prevHash := int64(0), GenesisHash
	unkeyedUntil := int64(math.MaxInt64)
	if keys != nil {
		unkeyedUntil = keys.UnkeyedAuditUntil()
	}
	var (
		checked int64
		keyedAt int64 // the first keyed entry seen; 0 for none yet
	)
	for {
		if err := ctx.Err(); err != nil {
			return checked, err
		}
		e, ok, err := next()
		if err != nil {
			return checked, err
		}
		if !ok {
			return checked, nil
		}
		switch {
		case e.Seq != prevSeq+1:
			return checked, &BrokenLinkError{Seq: prevSeq + 1, Reason: fmt.Sprintf("entry missing (next present is %d)", e.Seq)}
		case e.PrevHash != prevHash:
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: "previous-hash does not match the entry before it"}
		case e.KeyID == "" && keyedAt > 0:
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: fmt.Sprintf("unkeyed entry after keyed entry %d (entry forged)", keyedAt)}
		case e.KeyID == "" && e.Seq > unkeyedUntil:
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: fmt.Sprintf(
				"unkeyed entry, but the keyring says every entry after %d is keyed (entry forged)", unkeyedUntil)}
		}
		want, err := e.ComputeHash(keys)
		if err != nil {
			// Wrong keyring, or an entry naming a key nobody has.
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: fmt.Sprintf("hashed under audit key %q, which the keyring does not hold", e.KeyID)}
		}
		if !hmac.Equal([]byte(want), []byte(e.Hash)) {
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: "content does not match its hash (entry altered)"}
		}
		if e.KeyID != "" && keyedAt == 0 {
			keyedAt = e.Seq
		}
		prevSeq, prevHash = e.Seq, e.Hash
		checked++
	}
}

// JoinFields renders field names for Entry.Fields.
func JoinFields(fields []string) string { return strings.Join(fields, ",") }

// Record is what the transport knows about a call, carried in the context to
// the storage transaction that writes the entry.
type Record struct {
	Principal  string
	Roles      string
	Credential string
	Method     string
	RequestID  string
	ClientAddr string
}

type key struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// FromContext returns the record in ctx, or nil.
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(key{}).(*Record)
	return r
}

// Entry starts an entry for r about resource.
func (r *Record) Entry(action, resource, outcome string, fields []string) *Entry {
	if r == nil {
		r = &Record{Principal: "system"}
	}
	return &Entry{
		Time: time.Now(), Principal: r.Principal, Roles: r.Roles, Credential: r.Credential,
		Method: r.Method, Resource: resource, Action: action, RequestID: r.RequestID,
		ClientAddr: r.ClientAddr, Outcome: outcome, Fields: JoinFields(fields),
	}
}
