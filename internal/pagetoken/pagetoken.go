// Package pagetoken encodes keyset-pagination positions as opaque,
// tamper-checked page tokens (AIP-158).
//
// A token is authenticated, not encrypted: a determined client can read the
// last row's sort key and ID out of it, so never put anything into a Token
// that the client could not already see in the previous page.
//
// Wire format, before base64url (no padding):
//
//	version(1) flags(1) issued(8, unix seconds) sha256(query)(32)
//	uvarint len(Last) Last  uvarint len(LastID) LastID  mac(16)
//
// where mac is HMAC-SHA256 over everything before it, truncated to 16
// bytes (still 2^128 work to forge).
package pagetoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Errors returned by Decode. All of them mean the client sent an unusable
// page_token and map to INVALID_ARGUMENT; none of them repeats the token.
var (
	ErrMalformed     = errors.New("pagetoken: malformed page token")
	ErrTampered      = errors.New("pagetoken: page token failed verification")
	ErrQueryMismatch = errors.New("pagetoken: page token was issued for a different query")
	ErrExpired       = errors.New("pagetoken: page token has expired")
)

const (
	version1  = 1
	flagDesc  = 1 << 0
	hashLen   = sha256.Size
	macLen    = 16
	headerLen = 1 + 1 + 8 + hashLen
	// minLen is a header, two zero-length strings and a MAC.
	minLen = headerLen + 2 + macLen
)

// encoding is strict so that each token has exactly one spelling: lax
// decoding ignores the low bits of the final character, letting a flipped
// bit there go unnoticed.
var encoding = base64.RawURLEncoding.Strict()

// Token is a keyset position.
type Token struct {
	// Query is the canonical form of everything that defines the result set
	// (parent, filter, order_by, show_deleted, ...). Only its hash is stored;
	// Decode fills it in from its query argument.
	Query string
	// Last is the sort key of the last row returned, encoded by the caller
	// (e.g. an RFC 3339 timestamp, "" for NULL).
	Last string
	// LastID breaks ties between rows with equal sort keys.
	LastID string
	// Desc records the sort direction the position applies to.
	Desc bool
}

// Codec encodes and decodes tokens under one key. It is immutable and safe
// for concurrent use; the With methods return modified copies.
type Codec struct {
	key    []byte
	maxAge time.Duration
	now    func() time.Time
}

// NewCodec returns a Codec that signs with key. Use at least 32 random
// bytes. It panics on an empty key, which is always a deployment mistake.
func NewCodec(key []byte) *Codec {
	if len(key) == 0 {
		panic("pagetoken: empty key")
	}
	return &Codec{key: bytes.Clone(key), now: time.Now}
}

// WithMaxAge returns a copy of c whose Decode rejects tokens issued more
// than d ago with ErrExpired. Zero disables expiry.
func (c *Codec) WithMaxAge(d time.Duration) *Codec {
	cp := *c
	cp.maxAge = d
	return &cp
}

// WithClock returns a copy of c that reads the time from now, for tests.
func (c *Codec) WithClock(now func() time.Time) *Codec {
	cp := *c
	cp.now = now
	return &cp
}

// Encode returns the opaque token for t.
func (c *Codec) Encode(t Token) string {
	b := make([]byte, 0, minLen+len(t.Last)+len(t.LastID)+2*binary.MaxVarintLen64)
	b = append(b, version1, flags(t))
	b = binary.BigEndian.AppendUint64(b, uint64(c.now().Unix()))
	b = append(b, queryHash(t.Query)...)
	b = appendString(b, t.Last)
	b = appendString(b, t.LastID)
	b = append(b, c.mac(b)...)
	return encoding.EncodeToString(b)
}

// Decode verifies s and returns its position. query must be the canonical
// query of the current request; Decode fails with ErrQueryMismatch if the
// token was issued for another one. Callers treat an empty page_token as
// "first page" without calling Decode, so "" is ErrMalformed here.
func (c *Codec) Decode(s string, query string) (Token, error) {
	b, err := encoding.DecodeString(s)
	if err != nil || len(b) < minLen {
		return Token{}, ErrMalformed
	}
	// The version decides how the rest is authenticated, so it is checked
	// first; a future version 2 would branch here.
	if b[0] != version1 {
		return Token{}, ErrMalformed
	}
	body, tag := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(tag, c.mac(body)) {
		return Token{}, ErrTampered
	}
	p, err := parseBody(body)
	if err != nil {
		return Token{}, err
	}
	if !hmac.Equal(p.queryHash, queryHash(query)) {
		return Token{}, ErrQueryMismatch
	}
	if c.maxAge > 0 && c.now().Sub(p.issued) > c.maxAge {
		return Token{}, ErrExpired
	}
	p.token.Query = query
	return p.token, nil
}

type payload struct {
	token     Token
	issued    time.Time
	queryHash []byte
}

// parseBody decodes an authenticated body. Failures here mean a token this
// server's key signed but cannot read: a bug, or a key shared with code
// writing another format.
func parseBody(body []byte) (payload, error) {
	flags := body[1]
	if flags&^flagDesc != 0 {
		return payload{}, ErrMalformed
	}
	p := payload{
		token:     Token{Desc: flags&flagDesc != 0},
		issued:    time.Unix(int64(binary.BigEndian.Uint64(body[2:10])), 0),
		queryHash: body[10:headerLen],
	}
	rest := body[headerLen:]
	var ok bool
	if p.token.Last, rest, ok = readString(rest); !ok {
		return payload{}, ErrMalformed
	}
	if p.token.LastID, rest, ok = readString(rest); !ok || len(rest) != 0 {
		return payload{}, ErrMalformed
	}
	return p, nil
}

func flags(t Token) byte {
	if t.Desc {
		return flagDesc
	}
	return 0
}

func (c *Codec) mac(b []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

func queryHash(q string) []byte {
	h := sha256.Sum256([]byte(q))
	return h[:]
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (s string, rest []byte, ok bool) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n > uint64(len(b)-size) {
		return "", nil, false
	}
	b = b[size:]
	return string(b[:n]), b[n:], true
}
