package sealed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	old := mustSeal(t, k, "110101199003071234", ctxID)
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	data, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != 2 || len(doc.Keys) != 2 || len(doc.AuditKeys) != 1 {
		t.Fatalf("Marshal wrote %d keys and %d audit keys, version %d (%v)", len(doc.Keys), len(doc.AuditKeys), doc.Version, err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.ActiveKeyID() != k.ActiveKeyID() {
		t.Errorf("active = %q, want %q", back.ActiveKeyID(), k.ActiveKeyID())
	}
	if got, err := back.Open(old, ctxID); err != nil || got != "110101199003071234" {
		t.Errorf("parsed keyring: Open(old) = %q, %v", got, err)
	}
	if back.Index("x", ctxID) != k.Index("x", ctxID) {
		t.Error("parsed keyring computes a different index")
	}
	if back.ActiveAuditKeyID() != k.ActiveAuditKeyID() || mac(t, back, k.ActiveAuditKeyID()) != mac(t, k, k.ActiveAuditKeyID()) {
		t.Error("parsed keyring has a different audit key")
	}
	again, _ := back.Marshal()
	if !bytes.Equal(again, data) {
		t.Error("Marshal(Parse(data)) != data")
	}
}

func TestParseErrors(t *testing.T) {
	short := b64Key(3)[:20]
	tests := []struct {
		name, doc, wantInErr string
	}{
		{"not json", `{"version":1,`, "not valid JSON"},
		{"wrong type", `{"version":"1"}`, "JSON structure"},
		{"unknown field", `{"version":1,"extra":true}`, "JSON structure"},
		{"version 3", `{"version":3}`, "version 3"},
		{"trailing data", `{"version":1} {}`, "after the JSON document"},
		{"missing version", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q},"index_key":%q}`, b64Key(1), b64Key(9)), "version 0"},
		{"no active", fmt.Sprintf(`{"version":1,"keys":{"k1":%q},"index_key":%q}`, b64Key(1), b64Key(9)), "active key id"},
		{"active not in keys", fmt.Sprintf(`{"version":1,"active":"k2","keys":{"k1":%q},"index_key":%q}`, b64Key(1), b64Key(9)), "active key id"},
		{"short data key", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":%q},"index_key":%q}`, short, b64Key(9)), "must be 32 bytes"},
		{"bad base64 key", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":"%s!"},"index_key":%q}`, b64Key(1), b64Key(9)), "base64"},
		{"missing index key", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":%q}}`, b64Key(1)), "index_key"},
		{"short index key", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":%q},"index_key":%q}`, b64Key(1), short), "index_key"},
		{"index key reused", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":%q},"index_key":%q}`, b64Key(1), b64Key(1)), "equals the index key"},
		{"audit keys in version 1", fmt.Sprintf(`{"version":1,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a1","audit_keys":{"a1":%q}}`, b64Key(1), b64Key(9), b64Key(5)), "version 1"},
		{"version 2 without audit keys", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q}`, b64Key(1), b64Key(9)), "active audit key"},
		{"audit active not in audit keys", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a2","audit_keys":{"a1":%q}}`, b64Key(1), b64Key(9), b64Key(5)), "active audit key"},
		{"short audit key", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a1","audit_keys":{"a1":%q}}`, b64Key(1), b64Key(9), short), "must be 32 bytes"},
		{"audit key is the index key", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a1","audit_keys":{"a1":%q}}`, b64Key(1), b64Key(9), b64Key(9)), "equals the index key"},
		{"audit key is a data key", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a1","audit_keys":{"a1":%q}}`, b64Key(1), b64Key(9), b64Key(1)), "equals data key"},
		{"audit key id with colon", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a:1","audit_keys":{"a:1":%q}}`, b64Key(1), b64Key(9), b64Key(5)), "invalid audit key id"},
		{"negative unkeyed limit", fmt.Sprintf(`{"version":2,"active":"k1","keys":{"k1":%q},"index_key":%q,"audit_active":"a1","audit_keys":{"a1":%q},"audit_unkeyed_until":-1}`, b64Key(1), b64Key(9), b64Key(5)), "negative"},
		{"key id with colon", fmt.Sprintf(`{"version":1,"active":"k:1","keys":{"k:1":%q},"index_key":%q}`, b64Key(1), b64Key(9)), "invalid key id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse([]byte(tt.doc))
			if err == nil || k != nil {
				t.Fatalf("Parse = %v, nil; want error", k)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantInErr) {
				t.Errorf("error %q does not mention %q", msg, tt.wantInErr)
			}
			for _, secret := range []string{b64Key(1), b64Key(5), b64Key(9), short} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains key material", msg)
				}
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "casework")
	path := filepath.Join(dir, "keyring.json")

	first, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)
	s := mustSeal(t, first, "13800138000", ctxPhone)

	second, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if second.ActiveKeyID() != first.ActiveKeyID() {
		t.Fatalf("reloaded active key %q, want %q", second.ActiveKeyID(), first.ActiveKeyID())
	}
	if got, err := second.Open(s, ctxPhone); err != nil || got != "13800138000" {
		t.Fatalf("reloaded keyring: Open = %q, %v", got, err)
	}
}

func TestLoadOrCreateBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("LoadOrCreate accepted an invalid file")
	}
	if data, _ := os.ReadFile(path); string(data) != "{}" {
		t.Fatal("LoadOrCreate overwrote an invalid file; it must leave it for a human")
	}
}

func TestSaveIsAtomicAndPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	k := testKeyring(t)
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want 1 (temp file left behind?)", len(entries))
	}
	back, err := Load(path)
	if err != nil || back.ActiveKeyID() != "k00000002" {
		t.Fatalf("Load after Save: %v, %v", back, err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", filepath.Base(path), got, want)
	}
}

// writeTestKeyring saves the fixed keyring to a fresh file.
func writeTestKeyring(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := testKeyring(t).Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// rotateOnDisk does what `keys rotate` does in another process.
func rotateOnDisk(path string) (*Keyring, error) {
	k, err := Load(path)
	if err != nil {
		return nil, err
	}
	if _, err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, k.Save(path)
}

func mustRotateOnDisk(t *testing.T, path string) *Keyring {
	t.Helper()
	k, err := rotateOnDisk(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWatchUnknownKeyReloads(t *testing.T) {
	path := writeTestKeyring(t)
	// An hour-long interval: only the unknown-key path can reload.
	r, err := Watch(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := mustRotateOnDisk(t, path)
	if r.ActiveKeyID() != "k00000002" {
		t.Fatal("reloaded before the interval without cause")
	}
	s := mustSeal(t, other, "110101199003071234", ctxID)
	if got, err := r.Open(s, ctxID); err != nil || got != "110101199003071234" {
		t.Fatalf("Open of a value under the new key = %q, %v", got, err)
	}
	if r.ActiveKeyID() != other.ActiveKeyID() {
		t.Errorf("active = %q after reload, want %q", r.ActiveKeyID(), other.ActiveKeyID())
	}
	if r.Index("x", ctxID) != other.Index("x", ctxID) {
		t.Error("index differs after reload")
	}
	if err := r.Err(); err != nil {
		t.Error(err)
	}
}

func TestWatchInterval(t *testing.T) {
	path := writeTestKeyring(t)
	r, err := Watch(path, 0) // check on every call
	if err != nil {
		t.Fatal(err)
	}
	other := mustRotateOnDisk(t, path)
	if r.ActiveKeyID() != other.ActiveKeyID() {
		t.Fatalf("active = %q, want %q after the file changed", r.ActiveKeyID(), other.ActiveKeyID())
	}
	if id, _ := KeyID(mustSeal(t, r, "x", ctxID)); id != other.ActiveKeyID() {
		t.Errorf("Seal used %q, want the rotated key", id)
	}
}

func TestWatchKeepsKeyringOnBadFile(t *testing.T) {
	tests := []struct {
		name  string
		write func(path string) error
	}{
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("not json"), 0o600) }},
		{"removed", os.Remove},
		{"different index key", func(p string) error {
			k, err := Generate()
			if err != nil {
				return err
			}
			return k.Save(p)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTestKeyring(t)
			r, err := Watch(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			before := r.Index("x", ctxID)
			if err := tt.write(path); err != nil {
				t.Fatal(err)
			}
			if r.ActiveKeyID() != "k00000002" || r.Index("x", ctxID) != before {
				t.Error("a bad file replaced the keyring in service")
			}
			if r.Err() == nil {
				t.Error("Err() = nil after a failed reload")
			}
		})
	}
}

func TestWatchMissingFile(t *testing.T) {
	_, err := Watch(filepath.Join(t.TempDir(), "absent.json"), time.Second)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Watch on a missing file: %v, want ErrNotExist", err)
	}
}

func TestConcurrentReloading(t *testing.T) {
	path := writeTestKeyring(t)
	r, err := Watch(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				plain := fmt.Sprintf("1380013%04d", g*100+i)
				s, err := r.Seal(plain, ctxPhone)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := r.Open(s, ctxPhone); err != nil || got != plain {
					t.Errorf("Open = %q, %v; want %q", got, err, plain)
					return
				}
				r.NeedsReseal(s)
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := rotateOnDisk(path); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}
