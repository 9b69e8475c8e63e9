// Package audit defines the tamper-evident audit trail: who read sensitive
// data or changed what, and when. Each entry carries the hash of the one
// before it, so rewriting or deleting any entry breaks every later link, and
// Verify names the first broken one.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
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
	Action     string // "change", "full-view", "denied", "lookup" or "flagged"
	RequestID  string
	ClientAddr string
	Outcome    string
	Fields     string // comma-separated names of changed or viewed fields
	PrevHash   string
	Hash       string
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
)

// ComputeHash returns the hash of e's content and its PrevHash. Every field
// is length-prefixed, so no two different entries encode the same way.
func (e *Entry) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UTC().UnixMicro()))
	h.Write(n[:])
	for _, f := range []string{e.Principal, e.Roles, e.Credential, e.Method, e.Resource, e.Action,
		e.RequestID, e.ClientAddr, e.Outcome, e.Fields, e.PrevHash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Seal links e after prev (the previous entry's hash and sequence number).
func (e *Entry) Seal(prevSeq int64, prevHash string) {
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = e.ComputeHash()
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
// before it.
func Verify(ctx context.Context, next func() (*Entry, bool, error)) (int64, error) {
	prevSeq, prevHash := int64(0), GenesisHash
	var checked int64
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
		case e.ComputeHash() != e.Hash:
			return checked, &BrokenLinkError{Seq: e.Seq, Reason: "content does not match its hash (entry altered)"}
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
