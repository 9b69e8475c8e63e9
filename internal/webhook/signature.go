package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// SignatureHeader carries Sign's value: "t=<unix seconds>,v1=<hex>".
	SignatureHeader = "X-Casework-Signature"
	// PositionHeader carries the event's position, so a receiver can drop
	// a repeat without parsing the body.
	PositionHeader = "X-Casework-Event-Position"
)

// Errors of Verify.
var (
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	ErrSignatureMismatch  = errors.New("webhook: signature does not match")
	ErrSignatureExpired   = errors.New("webhook: signature timestamp outside the tolerance")
)

// Sign returns the signature header value for body sent at t: the HMAC-SHA256
// under secret of "<unix seconds>.<body>". Binding the time into the MAC lets
// a receiver refuse an old request replayed at it.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a signature header against body, as a receiver does: the
// MAC must match under secret, and its time must be within tolerance of
// now (either way, for clock skew). Several v1 values may be given, as
// during a change of secret; one matching is enough. The comparison takes
// constant time.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformedSignature
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrMalformedSignature
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrMalformedSignature
			}
			sigs = append(sigs, sig)
		}
		// Other schemes are ignored, so a later one can be added beside v1.
	}
	if ts == "" || len(sigs) == 0 {
		return ErrMalformedSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strconv.FormatInt(secs, 10) != ts {
		return ErrMalformedSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || -d > tolerance {
		return ErrSignatureExpired
	}
	return nil
}
