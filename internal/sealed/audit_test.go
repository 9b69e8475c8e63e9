package sealed

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mac is the MAC of a fixed message under audit key id.
func mac(t testing.TB, c Cipher, id string) string {
	t.Helper()
	m, err := c.AuditMAC(id)
	if err != nil {
		t.Fatalf("AuditMAC(%q): %v", id, err)
	}
	m.Write([]byte("entry"))
	return hex.EncodeToString(m.Sum(nil))
}

func TestAuditKeyRotation(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	first := k.ActiveAuditKeyID()
	if !strings.HasPrefix(first, "a") || !validKeyID(first) {
		t.Fatalf("audit key id %q", first)
	}
	if k.UnkeyedAuditUntil() != 0 {
		t.Fatalf("a new keyring lets entries up to %d be unkeyed, want 0", k.UnkeyedAuditUntil())
	}
	before := mac(t, k, first)
	second, err := k.RotateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	if second == first || k.ActiveAuditKeyID() != second {
		t.Fatalf("after RotateAuditKey active = %q (new %q, old %q)", k.ActiveAuditKeyID(), second, first)
	}
	if mac(t, k, first) != before {
		t.Fatal("the older audit key changed on rotation; entries under it would no longer verify")
	}
	if mac(t, k, second) == before {
		t.Fatal("the new audit key computes the old key's MAC")
	}
	if _, err := k.AuditMAC("a00000000"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("AuditMAC of an unknown id: %v, want ErrUnknownKey", err)
	}
	data, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first, second} {
		if mac(t, back, id) != mac(t, k, id) {
			t.Errorf("audit key %s differs after Marshal and Parse", id)
		}
	}
	if back.ActiveAuditKeyID() != second {
		t.Errorf("active audit key %q after Parse, want %q", back.ActiveAuditKeyID(), second)
	}
}

// TestVersion1Keyring reads a keyring written before audit keys, and
// upgrades it.
func TestVersion1Keyring(t *testing.T) {
	k := testKeyring(t) // a version 1 document
	if k.ActiveAuditKeyID() != "" || k.UnkeyedAuditUntil() != math.MaxInt64 {
		t.Fatalf("version 1 keyring: audit key %q, unkeyed until %d", k.ActiveAuditKeyID(), k.UnkeyedAuditUntil())
	}
	if data, _ := k.Marshal(); !strings.Contains(string(data), `"version": 1`) {
		t.Fatalf("a keyring without audit keys is written as version 1; wrote %s", data)
	}
	added, err := k.UpgradeAudit(42)
	if err != nil || !added {
		t.Fatalf("UpgradeAudit = %v, %v", added, err)
	}
	id := k.ActiveAuditKeyID()
	if id == "" || k.UnkeyedAuditUntil() != 42 {
		t.Fatalf("after UpgradeAudit(42): audit key %q, unkeyed until %d", id, k.UnkeyedAuditUntil())
	}
	// Upgrading a second copy gives the same key: servers upgrading one
	// file at once agree.
	other := testKeyring(t)
	if _, err := other.UpgradeAudit(43); err != nil {
		t.Fatal(err)
	}
	if other.ActiveAuditKeyID() != id || mac(t, other, id) != mac(t, k, id) {
		t.Fatal("two upgrades of one keyring derived different audit keys")
	}
	// A different deployment's keyring derives a different one.
	fresh, _ := Generate()
	fresh.auditKeys, fresh.auditActive = nil, ""
	if _, err := fresh.UpgradeAudit(0); err != nil {
		t.Fatal(err)
	}
	if fresh.ActiveAuditKeyID() == id && mac(t, fresh, id) == mac(t, k, id) {
		t.Fatal("audit keys derived from different index keys are the same")
	}
	if added, err := k.UpgradeAudit(99); added || err != nil || k.UnkeyedAuditUntil() != 42 {
		t.Fatalf("second UpgradeAudit = %v, %v, unkeyed until %d; want it to change nothing", added, err, k.UnkeyedAuditUntil())
	}
	data, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != 2 || doc.AuditUnkeyedUntil != 42 {
		t.Fatalf("upgraded keyring written as version %d, unkeyed until %d (%v)", doc.Version, doc.AuditUnkeyedUntil, err)
	}
	back, err := Parse(data)
	if err != nil || back.UnkeyedAuditUntil() != 42 || mac(t, back, id) != mac(t, k, id) {
		t.Fatalf("Parse of the upgraded keyring: %v", err)
	}
}

func TestUpgradeAuditFile(t *testing.T) {
	path := writeTestKeyring(t) // version 1
	sealedBefore := mustSeal(t, testKeyring(t), "110101199003071234", ctxID)
	calls := 0
	length := func() (int64, error) { calls++; return 7, nil }
	k, added, err := UpgradeAuditFile(path, length)
	if err != nil || !added || calls != 1 {
		t.Fatalf("UpgradeAuditFile = %v, %v after %d chain reads", added, err, calls)
	}
	assertMode(t, path, 0o600)
	onDisk, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.ActiveAuditKeyID() != k.ActiveAuditKeyID() || onDisk.UnkeyedAuditUntil() != 7 {
		t.Fatalf("file holds audit key %q unkeyed until %d", onDisk.ActiveAuditKeyID(), onDisk.UnkeyedAuditUntil())
	}
	if got, err := onDisk.Open(sealedBefore, ctxID); err != nil || got != "110101199003071234" {
		t.Fatalf("the upgrade lost a data key: Open = %q, %v", got, err)
	}
	// Already upgraded: nothing is read or written.
	if _, added, err := UpgradeAuditFile(path, length); added || err != nil || calls != 1 {
		t.Fatalf("second UpgradeAuditFile = %v, %v after %d chain reads", added, err, calls)
	}
	failing := func() (int64, error) { return 0, errors.New("database down") }
	if _, _, err := UpgradeAuditFile(writeTestKeyring(t), failing); err == nil {
		t.Fatal("UpgradeAuditFile ignored a failed chain read")
	}
}

func TestUpgradeAuditFileConcurrently(t *testing.T) {
	path := writeTestKeyring(t)
	ids := make([]string, 6)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, _, err := UpgradeAuditFile(path, func() (int64, error) { return int64(i), nil })
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ActiveAuditKeyID()
		})
	}
	wg.Wait()
	final, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != final.ActiveAuditKeyID() {
			t.Errorf("upgrader %d uses audit key %q, the file holds %q", i, id, final.ActiveAuditKeyID())
		}
	}
}

// rotateAuditOnDisk does the audit half of `keys rotate` in another process.
func rotateAuditOnDisk(t *testing.T, path string) string {
	t.Helper()
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := k.RotateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestWatchPicksUpRotatedAuditKey(t *testing.T) {
	path := writeTestKeyring(t)
	if _, _, err := UpgradeAuditFile(path, func() (int64, error) { return 0, nil }); err != nil {
		t.Fatal(err)
	}
	t.Run("periodically", func(t *testing.T) {
		r, err := Watch(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		old := r.ActiveAuditKeyID()
		oldMAC := mac(t, r, old)
		id := rotateAuditOnDisk(t, path)
		if r.ActiveAuditKeyID() != id {
			t.Fatalf("active audit key %q after the file changed, want %q", r.ActiveAuditKeyID(), id)
		}
		if mac(t, r, old) != oldMAC {
			t.Fatal("the older audit key is gone after the reload")
		}
	})
	t.Run("on an unknown key id", func(t *testing.T) {
		r, err := Watch(path, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		id := rotateAuditOnDisk(t, path)
		if r.ActiveAuditKeyID() == id {
			t.Fatal("reloaded before the interval without cause")
		}
		disk, _ := Load(path)
		if mac(t, r, id) != mac(t, disk, id) {
			t.Fatal("AuditMAC of the new key differs from the file's")
		}
		if r.ActiveAuditKeyID() != id {
			t.Errorf("active audit key %q after the reload, want %q", r.ActiveAuditKeyID(), id)
		}
	})
}

func TestWatchKeepsAuditKeyOnOlderFile(t *testing.T) {
	path := writeTestKeyring(t)
	v1, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := UpgradeAuditFile(path, func() (int64, error) { return 0, nil }); err != nil {
		t.Fatal(err)
	}
	r, err := Watch(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	id := r.ActiveAuditKeyID()
	// An operator copies the pre-upgrade file back.
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "old.json"), v1, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(filepath.Dir(path), "old.json"), path); err != nil {
		t.Fatal(err)
	}
	if r.ActiveAuditKeyID() != id {
		t.Fatalf("a keyring file without audit keys replaced the one in service")
	}
	if r.Err() == nil {
		t.Fatal("Err() = nil after refusing a file without audit keys")
	}
}
