package pagetoken

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	testTime = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

const testQuery = `parent=towns/500230101|filter=status = SUBMITTED|order_by=create_time desc|show_deleted=false`

func testCodec() *Codec {
	return NewCodec(testKey).WithClock(func() time.Time { return testTime })
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		tok  Token
	}{
		{"typical", Token{Query: testQuery, Last: "2026-02-28T10:11:12.123456789Z", LastID: "cases/c-42", Desc: true}},
		{"ascending", Token{Query: testQuery, Last: "2026-02-28T10:11:12Z", LastID: "c-1"}},
		{"null sort key", Token{Query: testQuery, Last: "", LastID: "c-1"}},
		{"all empty", Token{}},
		{"unicode and separators", Token{Query: "q|α", Last: "丰都\x00|x", LastID: "a/b\xff"}},
		{"long values", Token{Query: testQuery, Last: strings.Repeat("x", 300), LastID: strings.Repeat("y", 200)}},
	}
	c := testCodec()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Encode(tt.tok)
			got, err := c.Decode(s, tt.tok.Query)
			if err != nil {
				t.Fatalf("Decode error: %v", err)
			}
			if got != tt.tok {
				t.Errorf("Decode = %+v; want %+v", got, tt.tok)
			}
		})
	}
}

func TestTokenIsURLSafe(t *testing.T) {
	s := testCodec().Encode(Token{Query: testQuery, Last: strings.Repeat("?&=+/", 20), LastID: "x"})
	if strings.ContainsAny(s, "+/=?&") {
		t.Errorf("token %q is not URL-safe", s)
	}
}

func TestDecodeRejects(t *testing.T) {
	c := testCodec()
	valid := c.Encode(Token{Query: testQuery, Last: "2026-02-28T10:11:12Z", LastID: "c-1"})
	raw, _ := encoding.DecodeString(valid)
	tests := []struct {
		name  string
		token string
		query string
		codec *Codec
		want  error
	}{
		{"empty", "", testQuery, c, ErrMalformed},
		{"not base64", "!!!!", testQuery, c, ErrMalformed},
		{"padded", valid + "=", testQuery, c, ErrMalformed},
		{"standard alphabet", base64.StdEncoding.EncodeToString(raw), testQuery, c, ErrMalformed},
		{"truncated by one char", valid[:len(valid)-1], testQuery, c, ErrMalformed},
		{"truncated by one byte", encoding.EncodeToString(raw[:len(raw)-1]), testQuery, c, ErrTampered},
		{"too short for a header", encoding.EncodeToString(raw[:minLen-1]), testQuery, c, ErrMalformed},
		{"trailing byte", encoding.EncodeToString(append(raw[:len(raw):len(raw)], 0)), testQuery, c, ErrTampered},
		{"unknown version", encoding.EncodeToString(append([]byte{2}, raw[1:]...)), testQuery, c, ErrMalformed},
		{"different key", NewCodec([]byte("another key, also 32 bytes long!")).Encode(Token{Query: testQuery}), testQuery, c, ErrTampered},
		{"different query", valid, testQuery + " ", c, ErrQueryMismatch},
		{"empty query", valid, "", c, ErrQueryMismatch},
		{"expired", valid, testQuery, c.WithMaxAge(time.Hour).WithClock(func() time.Time { return testTime.Add(time.Hour + time.Second) }), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode(tt.token, tt.query)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v; want %v", err, tt.want)
			}
			if got != (Token{}) {
				t.Errorf("Decode returned %+v alongside an error", got)
			}
		})
	}
}

// Flipping any single bit, either in the decoded bytes or in the text,
// must be caught before the token's contents are trusted.
func TestBitFlips(t *testing.T) {
	c := testCodec()
	valid := c.Encode(Token{Query: testQuery, Last: "2026-02-28T10:11:12Z", LastID: "c-1", Desc: true})
	raw, _ := encoding.DecodeString(valid)

	check := func(t *testing.T, token string) {
		t.Helper()
		_, err := c.Decode(token, testQuery)
		if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Decode of altered token: error = %v; want ErrTampered or ErrMalformed", err)
		}
	}
	t.Run("bytes", func(t *testing.T) {
		for i := range len(raw) * 8 {
			b := append([]byte(nil), raw...)
			b[i/8] ^= 1 << (i % 8)
			check(t, encoding.EncodeToString(b))
		}
	})
	t.Run("text", func(t *testing.T) {
		for i := range len(valid) * 8 {
			b := []byte(valid)
			b[i/8] ^= 1 << (i % 8)
			check(t, string(b))
		}
	})
}

func TestExpiry(t *testing.T) {
	issued := testTime
	tests := []struct {
		name   string
		maxAge time.Duration
		age    time.Duration
		want   error
	}{
		{"no max age never expires", 0, 10 * 365 * 24 * time.Hour, nil},
		{"fresh", time.Hour, 0, nil},
		{"exactly max age", time.Hour, time.Hour, nil},
		{"just past max age", time.Hour, time.Hour + time.Second, ErrExpired},
		{"issued in the future (clock skew)", time.Hour, -time.Minute, nil},
	}
	tok := Token{Query: testQuery, LastID: "c-1"}
	s := NewCodec(testKey).WithClock(func() time.Time { return issued }).Encode(tok)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCodec(testKey).WithMaxAge(tt.maxAge).WithClock(func() time.Time { return issued.Add(tt.age) })
			_, err := c.Decode(s, testQuery)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode error = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestWithMethodsDoNotMutate(t *testing.T) {
	base := testCodec()
	_ = base.WithMaxAge(time.Nanosecond)
	_ = base.WithClock(func() time.Time { return testTime.Add(1000 * time.Hour) })
	s := base.Encode(Token{Query: testQuery})
	if _, err := base.Decode(s, testQuery); err != nil {
		t.Errorf("base codec changed by With*: %v", err)
	}
}

func TestNewCodecCopiesKey(t *testing.T) {
	key := append([]byte(nil), testKey...)
	c := NewCodec(key).WithClock(func() time.Time { return testTime })
	s := c.Encode(Token{Query: testQuery})
	key[0] ^= 0xff
	if _, err := c.Decode(s, testQuery); err != nil {
		t.Errorf("changing the caller's key slice affected the codec: %v", err)
	}
}

func TestNewCodecPanicsOnEmptyKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCodec(nil) did not panic")
		}
	}()
	NewCodec(nil)
}

func TestErrorsDoNotEchoToken(t *testing.T) {
	c := testCodec()
	bad := c.Encode(Token{Query: testQuery, LastID: "secret-id"})
	for _, q := range []string{testQuery, "other"} {
		_, err := c.Decode(bad[:len(bad)-2]+"AA", q)
		if err == nil || strings.Contains(err.Error(), bad[:8]) {
			t.Errorf("error %v echoes the token", err)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	c := testCodec()
	tok := Token{Query: testQuery, Last: "2026-02-28T10:11:12.123456789Z", LastID: "cases/c-42", Desc: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(c.Encode(tok), testQuery); err != nil {
			b.Fatal(err)
		}
	}
}
