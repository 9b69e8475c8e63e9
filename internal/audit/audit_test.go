package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"math"
	"strings"
	"testing"
	"time"
)

// testKeys is a keyring's audit half: named HMAC keys, one active.
type testKeys struct {
	active       string
	keys         map[string][]byte
	unkeyedUntil int64
}

func newTestKeys() *testKeys {
	return &testKeys{active: "a1", keys: map[string][]byte{"a1": []byte(strings.Repeat("1", 32))}}
}

func (k *testKeys) ActiveAuditKeyID() string { return k.active }
func (k *testKeys) UnkeyedAuditUntil() int64 { return k.unkeyedUntil }
func (k *testKeys) AuditMAC(id string) (hash.Hash, error) {
	key, ok := k.keys[id]
	if !ok {
		return nil, errors.New("unknown audit key")
	}
	return hmac.New(sha256.New, key), nil
}

// rotate adds key id and makes it active.
func (k *testKeys) rotate(id string) {
	k.keys[id] = []byte(strings.Repeat(id, 32)[:32])
	k.active = id
}

// without is k lacking key id, as an older copy of the keyring would.
func (k *testKeys) without(id string) *testKeys {
	c := &testKeys{active: k.active, keys: map[string][]byte{}, unkeyedUntil: k.unkeyedUntil}
	for i, v := range k.keys {
		if i != id {
			c.keys[i] = v
		}
	}
	return c
}

func entryAt(i int) *Entry {
	e := (&Record{Principal: "u1", Roles: "caseworker", Method: "/m"}).Entry(ActionChange, "cases/x", OutcomeOK, []string{"status"})
	e.Time = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
	return e
}

// extend appends n entries sealed under keys' active key.
func extend(t *testing.T, es []*Entry, n int, keys Keys) []*Entry {
	t.Helper()
	prevSeq, prevHash := int64(0), GenesisHash
	if len(es) > 0 {
		prevSeq, prevHash = es[len(es)-1].Seq, es[len(es)-1].Hash
	}
	for range n {
		e := entryAt(len(es))
		if err := e.Seal(prevSeq, prevHash, keys); err != nil {
			t.Fatal(err)
		}
		prevSeq, prevHash = e.Seq, e.Hash
		es = append(es, e)
	}
	return es
}

func chain(t *testing.T, n int, keys Keys) []*Entry { return extend(t, nil, n, keys) }

// legacyChain is n entries as written before the chain was keyed.
func legacyChain(t *testing.T, n int) []*Entry {
	t.Helper()
	var es []*Entry
	prevSeq, prevHash := int64(0), GenesisHash
	for range n {
		e := entryAt(len(es))
		e.Seq, e.PrevHash = prevSeq+1, prevHash
		e.Hash = plainHash(t, e)
		prevSeq, prevHash = e.Seq, e.Hash
		es = append(es, e)
	}
	return es
}

// plainHash is the unkeyed SHA-256 anyone can compute.
func plainHash(t *testing.T, e *Entry) string {
	t.Helper()
	c := *e
	c.KeyID = ""
	h, err := c.ComputeHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func iter(es []*Entry) func() (*Entry, bool, error) {
	i := 0
	return func() (*Entry, bool, error) {
		if i >= len(es) {
			return nil, false, nil
		}
		i++
		return es[i-1], true, nil
	}
}

func wantBroken(t *testing.T, keys Keys, es []*Entry, seq int64, reason string) {
	t.Helper()
	n, err := Verify(context.Background(), keys, iter(es))
	var broken *BrokenLinkError
	if !errors.As(err, &broken) || broken.Seq != seq || n != seq-1 {
		t.Fatalf("Verify = %d, %v; want broken link at %d", n, err, seq)
	}
	if !strings.Contains(broken.Reason, reason) {
		t.Errorf("reason %q does not say %q", broken.Reason, reason)
	}
}

func wantIntact(t *testing.T, keys Keys, es []*Entry) {
	t.Helper()
	n, err := Verify(context.Background(), keys, iter(es))
	if err != nil || n != int64(len(es)) {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, len(es))
	}
}

func TestVerifyIntactChain(t *testing.T) {
	keys := newTestKeys()
	es := chain(t, 5, keys)
	for _, e := range es {
		if e.KeyID != "a1" {
			t.Fatalf("entry %d sealed under key %q, want the active a1", e.Seq, e.KeyID)
		}
	}
	wantIntact(t, keys, es)
}

func TestSealRefusesWithoutKey(t *testing.T) {
	for _, keys := range []Keys{nil, &testKeys{keys: map[string][]byte{}}} {
		if err := entryAt(0).Seal(0, GenesisHash, keys); !errors.Is(err, ErrNoAuditKey) {
			t.Errorf("Seal without an audit key = %v, want ErrNoAuditKey", err)
		}
	}
}

func TestVerifyNamesFirstBrokenLink(t *testing.T) {
	keys := newTestKeys()
	for _, tc := range []struct {
		name   string
		tamper func([]*Entry) []*Entry
		want   int64
		reason string
	}{
		{"altered content", func(es []*Entry) []*Entry { es[2].Principal = "someone-else"; return es }, 3, "entry altered"},
		{"altered and rehashed with the key", func(es []*Entry) []*Entry {
			es[1].Outcome = "X"
			es[1].Hash, _ = es[1].ComputeHash(keys)
			return es
		}, 3, "previous-hash"},
		{"deleted entry", func(es []*Entry) []*Entry { return append(es[:3], es[4:]...) }, 4, "entry missing"},
		{"deleted last-but-one", func(es []*Entry) []*Entry { return append(es[:1], es[2:]...) }, 2, "entry missing"},
		{"reordered", func(es []*Entry) []*Entry { es[0], es[1] = es[1], es[0]; return es }, 1, "entry missing"},
		{"key id swapped", func(es []*Entry) []*Entry { es[3].KeyID = "a9"; return es }, 4, "does not hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantBroken(t, keys, tc.tamper(chain(t, 5, keys)), tc.want, tc.reason)
		})
	}
}

// TestRewriteWithoutTheKeyIsDetected is the attack of issue 9 item 6: an
// entry rewritten and every later link recomputed, as anyone who can write
// the database can, but without the audit key.
func TestRewriteWithoutTheKeyIsDetected(t *testing.T) {
	keys := newTestKeys()
	// relink recomputes entries from i on with plain SHA-256; blank also
	// drops their key ids, passing them off as entries from before keying.
	relink := func(es []*Entry, i int, blank bool) []*Entry {
		for j := i; j < len(es); j++ {
			if j > 0 {
				es[j].PrevHash = es[j-1].Hash
			}
			if blank {
				es[j].KeyID = ""
			}
			es[j].Hash = plainHash(t, es[j])
		}
		return es
	}
	t.Run("key ids kept", func(t *testing.T) {
		es := chain(t, 5, keys)
		es[1].Principal = "someone-else"
		wantBroken(t, keys, relink(es, 1, false), 2, "entry altered")
	})
	t.Run("passed off as unkeyed after a keyed entry", func(t *testing.T) {
		es := chain(t, 5, keys)
		es[1].Principal = "someone-else"
		wantBroken(t, keys, relink(es, 1, true), 2, "unkeyed entry after keyed entry 1")
	})
	t.Run("whole chain passed off as unkeyed", func(t *testing.T) {
		es := chain(t, 5, keys)
		es[0].Principal = "someone-else"
		es = relink(es, 0, true)
		wantBroken(t, keys, es, 1, "every entry after 0 is keyed")
		// Only the keyring's record of when keying began catches this: a
		// keyring that cannot say (no audit key) lets it through, which is
		// why every deployment gets an audit key on its first start.
		wantIntact(t, &testKeys{keys: map[string][]byte{}, unkeyedUntil: math.MaxInt64}, es)
	})
}

func TestLegacyEntriesThenKeyed(t *testing.T) {
	keys := newTestKeys()
	keys.unkeyedUntil = 3 // the chain's length when the audit key came
	es := extend(t, legacyChain(t, 3), 3, keys)
	if es[2].KeyID != "" || es[3].KeyID != "a1" {
		t.Fatalf("key ids %q, %q; want unkeyed then a1", es[2].KeyID, es[3].KeyID)
	}
	wantIntact(t, keys, es)

	// An unkeyed entry after a keyed one is forged, whatever its hash.
	forged := entryAt(9)
	forged.Seq, forged.PrevHash = 7, es[5].Hash
	forged.Hash = plainHash(t, forged)
	wantBroken(t, keys, append(es, forged), 7, "unkeyed entry after keyed entry 4")

	// Unkeyed entries past the keyring's limit are forged too, even with
	// no keyed entry before them to give them away.
	long := legacyChain(t, 5)
	wantBroken(t, keys, long, 4, "every entry after 3 is keyed")
}

func TestKeyRotation(t *testing.T) {
	keys := newTestKeys()
	es := chain(t, 3, keys)
	keys.rotate("a2")
	es = extend(t, es, 3, keys)
	if es[2].KeyID != "a1" || es[3].KeyID != "a2" {
		t.Fatalf("key ids %q, %q around the rotation; want a1, a2", es[2].KeyID, es[3].KeyID)
	}
	wantIntact(t, keys, es)
	// A keyring that lost the older key, or never got the newer one, cannot
	// vouch for the entries under it.
	wantBroken(t, keys.without("a1"), es, 1, `audit key "a1"`)
	wantBroken(t, keys.without("a2"), es, 4, `audit key "a2"`)
}

func TestHashIsKeyed(t *testing.T) {
	keys := newTestKeys()
	e := chain(t, 1, keys)[0]
	if e.Hash == plainHash(t, e) {
		t.Fatal("a keyed entry's hash is the plain SHA-256 anyone can compute")
	}
	other := newTestKeys()
	other.keys["a1"] = []byte(strings.Repeat("2", 32))
	if h, _ := e.ComputeHash(other); h == e.Hash {
		t.Fatal("two different keys give the same hash")
	}
	keys.rotate("a2")
	c := *e
	c.KeyID = "a2"
	if h, _ := c.ComputeHash(keys); h == e.Hash {
		t.Fatal("the hash does not depend on the key id")
	}
}

func TestHashCoversEveryField(t *testing.T) {
	keys := newTestKeys()
	keys.keys["a2"] = keys.keys["a1"] // same key, other id: the id itself must count
	for _, base := range []*Entry{chain(t, 1, keys)[0], legacyChain(t, 1)[0]} {
		mutations := map[string]func(*Entry){
			"seq": func(e *Entry) { e.Seq++ }, "time": func(e *Entry) { e.Time = e.Time.Add(time.Microsecond) },
			"principal": func(e *Entry) { e.Principal += "x" }, "roles": func(e *Entry) { e.Roles += "x" },
			"credential": func(e *Entry) { e.Credential += "x" }, "method": func(e *Entry) { e.Method += "x" },
			"resource": func(e *Entry) { e.Resource += "x" }, "action": func(e *Entry) { e.Action += "x" },
			"request": func(e *Entry) { e.RequestID += "x" }, "client": func(e *Entry) { e.ClientAddr += "x" },
			"outcome": func(e *Entry) { e.Outcome += "x" }, "fields": func(e *Entry) { e.Fields += "x" },
			"prev": func(e *Entry) { e.PrevHash = "y" },
			// Moving a byte between adjacent fields must change the hash too.
			"boundary": func(e *Entry) { e.Principal, e.Roles = e.Principal+"c", e.Roles[1:] },
		}
		if base.KeyID != "" {
			mutations["key id"] = func(e *Entry) { e.KeyID = "a2" }
		}
		for name, mutate := range mutations {
			e := *base
			mutate(&e)
			if h, err := e.ComputeHash(keys); err != nil || h == base.Hash {
				t.Errorf("key %q: changing %s does not change the hash (%v)", base.KeyID, name, err)
			}
		}
	}
}
