package authn

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

var apiKeyPattern = regexp.MustCompile(`^cwk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$`)

func TestAPIKeyRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		id, secret, full, err := NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		if !apiKeyPattern.MatchString(full) {
			t.Fatalf("key %q does not match the format", full)
		}
		gotID, gotSecret, err := ParseAPIKey(full)
		if err != nil || gotID != id || gotSecret != secret {
			t.Fatalf("ParseAPIKey = %q, %q, %v; want %q, %q", gotID, gotSecret, err, id, secret)
		}
		if seen[id] || seen[secret] {
			t.Fatal("NewAPIKey repeated itself")
		}
		seen[id], seen[secret] = true, true
	}
}

// A fixed valid key: the secret is 32 bytes 0x00..0x1f and contains '_'.
const (
	validID     = "abcdefgh2345"
	validSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	validKey    = "cwk_" + validID + "_" + validSecret
)

func TestParseAPIKey(t *testing.T) {
	sub := func(i int, c string) string { return validKey[:i] + c + validKey[i+1:] }
	last := len(validKey) - 1
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"valid", validKey, true},
		{"secret with underscore and dash", "cwk_" + validID + "_" + strings.Repeat("_", 42) + "w", true},
		{"empty", "", false},
		{"wrong prefix", "cwx" + validKey[3:], false},
		{"upper-case prefix", "CWK" + validKey[3:], false},
		{"upper-case id", "cwk_ABCDEFGH2345_" + validSecret, false},
		{"id outside base32", sub(4, "1"), false},
		{"id too short", "cwk_abcdefgh234_" + validSecret + "A", false},
		{"missing separator", sub(16, "a"), false},
		{"secret too short", validKey[:last], false},
		{"secret too long", validKey + "A", false},
		{"padded secret", validKey + "=", false},
		{"standard base64", sub(last-1, "+"), false},
		{"newline in secret", sub(30, "\n"), false},
		{"non-zero trailing bits", sub(last, "9"), false}, // "8" is 111100, "9" is 111101
		{"leading space", " " + validKey[1:], false},
		{"secret of 31 bytes", "cwk_" + validID + "_" + base64.RawURLEncoding.EncodeToString(make([]byte, 31)) + "AA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseAPIKey(tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2.
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashSecret("abc"); got != abc {
		t.Fatalf("HashSecret(abc) = %s", got)
	}
	tests := []struct {
		secret, hash string
		want         bool
	}{
		{"abc", abc, true},
		{"abd", abc, false},
		{"abc", strings.ToUpper(abc), false},
		{"abc", abc[:63], false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := SecretMatches(tt.secret, tt.hash); got != tt.want {
			t.Errorf("SecretMatches(%q, %q) = %v", tt.secret, tt.hash, got)
		}
	}
}

func TestAPIKeyRecordPrincipal(t *testing.T) {
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	_, secret, full, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	// Change one secret character to another that keeps the format valid.
	tampered := []byte(full)
	if tampered[20] == 'A' {
		tampered[20] = 'B'
	} else {
		tampered[20] = 'A'
	}
	_, tamperedSecret, err := ParseAPIKey(string(tampered))
	if err != nil {
		t.Fatalf("tampered key no longer parses (%v); pick another position", err)
	}

	record := func(edit func(*APIKeyRecord)) *APIKeyRecord {
		r := &APIKeyRecord{
			ID: "abcdefgh2345", Name: "va-system",
			Roles:      []principal.Role{principal.Integration, "retired-role"},
			Towns:      []string{"500230101", "bad"},
			SecretHash: HashSecret(secret),
		}
		if edit != nil {
			edit(r)
		}
		return r
	}
	tests := []struct {
		name   string
		record *APIKeyRecord
		secret string
		reason string
	}{
		{"valid", record(nil), secret, ""},
		{"expires later", record(func(r *APIKeyRecord) { r.ExpireTime = &future }), secret, ""},
		{"wrong secret", record(nil), "not-the-secret", "bad secret"},
		{"tampered secret", record(nil), tamperedSecret, "bad secret"},
		{"empty hash", record(func(r *APIKeyRecord) { r.SecretHash = "" }), secret, "bad secret"},
		{"revoked", record(func(r *APIKeyRecord) { r.RevokeTime = &past }), secret, "api key revoked"},
		{"expired", record(func(r *APIKeyRecord) { r.ExpireTime = &past }), secret, "api key expired"},
		{"expires now", record(func(r *APIKeyRecord) { r.ExpireTime = &now }), secret, "api key expired"},
		{"revoked hidden from wrong secret", record(func(r *APIKeyRecord) { r.RevokeTime = &past }), "x", "bad secret"},
		{"no valid role", record(func(r *APIKeyRecord) { r.Roles = []principal.Role{"retired-role"} }), secret, "api key has no valid role"},
		{"no name", record(func(r *APIKeyRecord) { r.Name = "" }), secret, "api key has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.record.Principal(now, tt.secret)
			wantReason(t, err, tt.reason, tt.secret)
			want := &principal.Principal{
				ID: "apikey:va-system", Kind: principal.Service, Roles: []principal.Role{principal.Integration},
				Towns: []string{"500230101"}, Credential: "api-key",
			}
			if tt.reason == "" && !samePrincipal(p, want) {
				t.Fatalf("got %+v, want %+v", p, want)
			}
		})
	}
}

func FuzzParseAPIKey(f *testing.F) {
	f.Add(validKey)
	f.Add("")
	f.Add("cwk__")
	f.Add(validKey + "=")
	f.Add(strings.ToUpper(validKey))
	f.Fuzz(func(t *testing.T, key string) {
		id, secret, err := ParseAPIKey(key)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
			if len(key) >= 16 && strings.Contains(err.Error(), key) {
				t.Fatal("error echoes the key")
			}
			return
		}
		// Whatever parses must be exactly what NewAPIKey could have made.
		if "cwk_"+id+"_"+secret != key || !apiKeyPattern.MatchString(key) {
			t.Fatalf("accepted %q as id %q, secret %q", key, id, secret)
		}
		b, err := base64.RawURLEncoding.DecodeString(secret)
		if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != secret {
			t.Fatalf("accepted non-canonical secret %q", secret)
		}
	})
}
