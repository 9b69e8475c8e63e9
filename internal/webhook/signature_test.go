package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"position":"7","type":"CreateCase"}`)
	at := time.Unix(1767225600, 0)
	sig := Sign(secret, at, body)
	// A known answer (computed independently, with Python's hmac module),
	// so a receiver in another language can check its code against it:
	// hex HMAC-SHA256(secret, "1767225600." + body).
	const want = "t=1767225600,v1=830b5140374d951cf4e912257419e825606a876e3bf5a39195bafd7856bc8788"
	if sig != want {
		t.Fatalf("Sign = %q, want %q", sig, want)
	}
	tolerance := 5 * time.Minute
	if err := Verify(secret, sig, body, at.Add(time.Minute), tolerance); err != nil {
		t.Fatalf("Verify of a fresh signature: %v", err)
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", secret, sig, []byte(`{"position":"8","type":"CreateCase"}`), at, ErrSignatureMismatch},
		{"body with a byte added", secret, sig, append(append([]byte{}, body...), ' '), at, ErrSignatureMismatch},
		{"wrong secret", []byte("another-secret-another-secret-xx"), sig, body, at, ErrSignatureMismatch},
		{"old timestamp", secret, sig, body, at.Add(tolerance + time.Second), ErrSignatureExpired},
		{"timestamp from the future", secret, sig, body, at.Add(-tolerance - time.Second), ErrSignatureExpired},
		{"timestamp changed", secret, strings.Replace(sig, "t=1767225600", "t=1767225601", 1), body, at, ErrSignatureMismatch},
		{"no timestamp", secret, sig[strings.Index(sig, "v1="):], body, at, ErrMalformedSignature},
		{"no v1", secret, "t=1767225600", body, at, ErrMalformedSignature},
		{"empty", secret, "", body, at, ErrMalformedSignature},
		{"short v1", secret, "t=1767225600,v1=abcd", body, at, ErrMalformedSignature},
		{"v1 not hex", secret, "t=1767225600,v1=" + strings.Repeat("zz", 32), body, at, ErrMalformedSignature},
		{"timestamp not a number", secret, strings.Replace(sig, "t=1767225600", "t=17672256OO", 1), body, at, ErrMalformedSignature},
		{"timestamp with a sign", secret, strings.Replace(sig, "t=1767225600", "t=+1767225600", 1), body, at, ErrMalformedSignature},
		{"two timestamps", secret, "t=1767225600," + sig, body, at, ErrMalformedSignature},
		{"part without =", secret, sig + ",junk", body, at, ErrMalformedSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(tc.secret, tc.header, tc.body, tc.now, tolerance); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	// During a change of secret a sender may give several v1 values, and
	// unknown schemes beside them are ignored.
	other := Sign([]byte("old-secret-old-secret-old-secret"), at, body)
	multi := other + "," + sig[strings.Index(sig, "v1="):] + ",v0=whatever"
	if err := Verify(secret, multi, body, at, tolerance); err != nil {
		t.Fatalf("Verify with two v1 values, one matching: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	d := New(nil, Options{BackoffBase: time.Second, MaxBackoff: 10 * time.Second}, nil)
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		for range 50 {
			got := d.backoff(n)
			if got > want || got < want*4/5 {
				t.Fatalf("backoff after %d failures = %v, want within [%v, %v]", n, got, want*4/5, want)
			}
		}
	}
}
