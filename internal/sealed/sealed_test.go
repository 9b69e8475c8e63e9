package sealed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const (
	ctxID    = "households.servicemember_id_number"
	ctxPhone = "households.contact_phone"
)

// testDoc is a fixed keyring so fuzz corpus files and the index
// known-answer test stay valid across runs. Key "k00000002" is the
// active one; "k00000001" is an older key.
var testDoc = fmt.Sprintf(`{"version":1,"active":"k00000002","keys":{"k00000001":%q,"k00000002":%q},"index_key":%q}`,
	b64Key(1), b64Key(2), b64Key(9))

func b64Key(fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, keySize))
}

func testKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSeal(t testing.TB, c Cipher, plain, context string) string {
	t.Helper()
	s, err := c.Seal(plain, context)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	k := testKeyring(t)
	tests := []struct {
		name, plain, context string
	}{
		{"id number", "110101199003071234", ctxID},
		{"id number with X", "11010119900307123X", ctxID},
		{"phone", "13800138000", ctxPhone},
		{"unicode", "丰都县 名山街道", "households.address"},
		{"long", strings.Repeat("0123456789", 1000), ctxID},
		{"empty context", "no column given", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSeal(t, k, tt.plain, tt.context)
			if !strings.HasPrefix(s, "sealed:v1:k00000002:") {
				t.Fatalf("Seal = %.40q..., want prefix sealed:v1:k00000002:", s)
			}
			if strings.Contains(s, tt.plain) {
				t.Fatal("sealed value contains the plaintext")
			}
			got, err := k.Open(s, tt.context)
			if err != nil || got != tt.plain {
				t.Fatalf("Open = %.40q, %v; want the plaintext", got, err)
			}
			if again := mustSeal(t, k, tt.plain, tt.context); again == s {
				t.Fatal("two seals of the same plaintext are equal; nonce reused")
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	k := testKeyring(t)
	if s, err := k.Seal("", ctxID); s != "" || err != nil {
		t.Errorf(`Seal("") = %q, %v; want "", nil`, s, err)
	}
	if p, err := k.Open("", ctxID); p != "" || err != nil {
		t.Errorf(`Open("") = %q, %v; want "", nil`, p, err)
	}
	if i := k.Index("", ctxID); i != "" {
		t.Errorf(`Index("") = %q, want ""`, i)
	}
	if k.NeedsReseal("") {
		t.Error(`NeedsReseal("") = true`)
	}
}

func TestOpenOtherContextFails(t *testing.T) {
	k := testKeyring(t)
	s := mustSeal(t, k, "110101199003071234", ctxID)
	for _, other := range []string{ctxPhone, "", ctxID + " ", strings.ToUpper(ctxID)} {
		if got, err := k.Open(s, other); !errors.Is(err, ErrCorrupt) || got != "" {
			t.Errorf("Open under context %q = %q, %v; want ErrCorrupt", other, got, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	k := testKeyring(t)
	valid := mustSeal(t, k, "13800138000", ctxPhone)
	_, blob, _ := splitV1(valid)
	tests := []struct {
		name, value string
		want        error
	}{
		{"legacy plaintext", "13800138000", ErrNotSealed},
		{"prefix without colon", "sealed", ErrNotSealed},
		{"upper-case prefix", strings.ToUpper(valid[:7]) + valid[7:], ErrNotSealed},
		{"bare prefix", "sealed:", ErrCorrupt},
		{"other version", "sealed:v2:k00000002:" + blob, ErrCorrupt},
		{"no key id", "sealed:v1::" + blob, ErrCorrupt},
		{"no blob separator", "sealed:v1:k00000002", ErrCorrupt},
		{"bad key id", "sealed:v1:k 0000002:" + blob, ErrCorrupt},
		{"empty blob", "sealed:v1:k00000002:", ErrCorrupt},
		{"too short", "sealed:v1:k00000002:" + blob[:36], ErrCorrupt},
		{"truncated", valid[:len(valid)-1], ErrCorrupt},
		{"padded", valid + "=", ErrCorrupt},
		{"std-alphabet char", valid[:len(valid)-1] + "+", ErrCorrupt},
		{"trailing newline", valid + "\n", ErrCorrupt},
		{"embedded CRLF", valid[:40] + "\r\n" + valid[40:], ErrCorrupt},
		{"unknown key", "sealed:v1:kdeadbeef:" + blob, ErrUnknownKey},
		{"older key", "sealed:v1:k00000001:" + blob, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(tt.value, ctxPhone)
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if strings.Contains(err.Error(), "13800138000") {
				t.Fatal("error message contains the plaintext")
			}
		})
	}
}

// TestTamper flips every bit of the decoded blob (nonce, ciphertext and
// tag): each must be caught by GCM.
func TestTamper(t *testing.T) {
	k := testKeyring(t)
	s := mustSeal(t, k, "110101199003071234", ctxID)
	id, enc, _ := splitV1(s)
	blob, err := b64.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range blob {
		for bit := range 8 {
			b := bytes.Clone(blob)
			b[i] ^= 1 << bit
			v := prefixV1 + id + ":" + b64.EncodeToString(b)
			if got, err := k.Open(v, ctxID); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d bit %d flipped: Open = %q, %v; want ErrCorrupt", i, bit, got, err)
			}
		}
	}
}

// TestTamperText changes each character of the string form, header
// included; no change may open.
func TestTamperText(t *testing.T) {
	k := testKeyring(t)
	s := mustSeal(t, k, "13800138000", ctxPhone)
	for i := range len(s) {
		for _, c := range []byte{'A', '_', ':'} {
			if s[i] == c {
				continue
			}
			v := s[:i] + string(c) + s[i+1:]
			if got, err := k.Open(v, ctxPhone); err == nil {
				t.Fatalf("position %d set to %q: Open succeeded with %q", i, c, got)
			}
		}
	}
}

func TestZeroKeyring(t *testing.T) {
	var k Keyring
	if s, err := k.Seal("13800138000", ctxPhone); err == nil || s != "" {
		t.Errorf("Seal on zero Keyring = %q, %v; want error", s, err)
	}
	if _, err := k.Open("sealed:v1:k00000002:"+strings.Repeat("A", 40), ctxPhone); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open on zero Keyring: %v, want ErrUnknownKey", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Index on zero Keyring did not panic")
		}
	}()
	k.Index("13800138000", ctxPhone)
}

func TestIsSealedAndKeyID(t *testing.T) {
	tests := []struct {
		value  string
		sealed bool
		id     string
	}{
		{"", false, ""},
		{"110101199003071234", false, ""},
		{"sealed:", true, ""},
		{"sealed:v1:k0a1b2c3d:AAAA", true, "k0a1b2c3d"},
		{"sealed:v1:k0a1b2c3d:", true, "k0a1b2c3d"},
		{"sealed:v1:k0a1b2c3d", true, ""},
		{"sealed:v2:k0a1b2c3d:AAAA", true, ""},
		{"sealed:v1:a:b:c", true, "a"},
		{"sealed:v1:" + strings.Repeat("k", 33) + ":AAAA", true, ""},
	}
	for _, tt := range tests {
		if got := IsSealed(tt.value); got != tt.sealed {
			t.Errorf("IsSealed(%q) = %v, want %v", tt.value, got, tt.sealed)
		}
		id, ok := KeyID(tt.value)
		if id != tt.id || ok != (tt.id != "") {
			t.Errorf("KeyID(%q) = %q, %v; want %q", tt.value, id, ok, tt.id)
		}
	}
}

func TestRotate(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	oldID := k.ActiveKeyID()
	old := mustSeal(t, k, "110101199003071234", ctxID)
	oldIndex := k.Index("110101199003071234", ctxID)
	if k.NeedsReseal(old) {
		t.Fatal("NeedsReseal is true for a value under the active key")
	}

	newID, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID || k.ActiveKeyID() != newID {
		t.Fatalf("after Rotate: returned %q, active %q, old %q", newID, k.ActiveKeyID(), oldID)
	}
	if got, err := k.Open(old, ctxID); err != nil || got != "110101199003071234" {
		t.Fatalf("old value after Rotate: Open = %q, %v", got, err)
	}
	if !k.NeedsReseal(old) {
		t.Error("NeedsReseal is false for a value under the old key")
	}
	fresh := mustSeal(t, k, "110101199003071234", ctxID)
	if id, _ := KeyID(fresh); id != newID {
		t.Errorf("new value sealed under %q, want %q", id, newID)
	}
	if k.NeedsReseal(fresh) {
		t.Error("NeedsReseal is true for a value under the new key")
	}
	if !k.NeedsReseal("13800138000") {
		t.Error("NeedsReseal is false for legacy plaintext")
	}
	if got := k.Index("110101199003071234", ctxID); got != oldIndex {
		t.Error("Rotate changed the blind index")
	}
}

// TestIndexKnownAnswer pins the index construction: rows store these
// values, so any change here breaks every existing lookup.
func TestIndexKnownAnswer(t *testing.T) {
	k := testKeyring(t)
	const want = "073864aadd1ceae624cdd38a84baeb93bab6fa2f9a5ca1c6a397860b8d4cbb02"
	if got := k.Index("110101199003071234", ctxID); got != want {
		t.Fatalf("Index = %s, want %s", got, want)
	}
}

func TestIndexDiffers(t *testing.T) {
	k := testKeyring(t)
	other, err := Parse([]byte(strings.Replace(testDoc, b64Key(9), b64Key(8), 1)))
	if err != nil {
		t.Fatal(err)
	}
	base := k.Index("110101199003071234", ctxID)
	if again := k.Index("110101199003071234", ctxID); again != base {
		t.Fatal("Index is not deterministic")
	}
	tests := []struct {
		name string
		got  string
	}{
		{"other context", k.Index("110101199003071234", ctxPhone)},
		{"other value", k.Index("110101199003071235", ctxID)},
		{"other index key", other.Index("110101199003071234", ctxID)},
		{"context/value boundary", k.Index("1234", ctxID+"11010119900307")},
	}
	for _, tt := range tests {
		if tt.got == base || len(tt.got) != 64 {
			t.Errorf("%s: Index = %q, want 64 hex digits different from %q", tt.name, tt.got, base)
		}
	}
}

func TestConcurrentKeyring(t *testing.T) {
	k := testKeyring(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				plain := fmt.Sprintf("1380013%04d", g*100+i)
				s, err := k.Seal(plain, ctxPhone)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := k.Open(s, ctxPhone); err != nil || got != plain {
					t.Errorf("Open = %q, %v; want %q", got, err, plain)
					return
				}
				k.Index(plain, ctxPhone)
				k.NeedsReseal(s)
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := k.Rotate(); err != nil {
				t.Error(err)
			}
			if _, err := k.Marshal(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

func TestStringHidesKeys(t *testing.T) {
	k := testKeyring(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, b64Key(2)) || strings.Contains(out, string(bytes.Repeat([]byte{2}, 8))) {
			t.Errorf("%s prints key material: %q", verb, out)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	k := testKeyring(b)
	for b.Loop() {
		if _, err := k.Seal("110101199003071234", ctxID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKeyring(b)
	s := mustSeal(b, k, "110101199003071234", ctxID)
	for b.Loop() {
		if _, err := k.Open(s, ctxID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	k := testKeyring(b)
	for b.Loop() {
		k.Index("110101199003071234", ctxID)
	}
}
