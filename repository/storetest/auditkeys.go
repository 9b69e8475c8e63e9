package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// storeWith is a second store on the test's database, with keys as its
// cipher and the test's clock.
func (e *env) storeWith(keys repository.Cipher) *repository.Store {
	return repository.New(e.db, e.s.Dialect(), keys, repository.WithClock(e.clock.Now))
}

// keyringCopy is a copy of the test's keyring as its file holds it now:
// what a server or `audit verify` elsewhere would load.
func (e *env) keyringCopy() *sealed.Keyring {
	e.t.Helper()
	data, err := e.keys.Marshal()
	must(e.t, err, "marshal the keyring")
	k, err := sealed.Parse(data)
	must(e.t, err, "parse the keyring")
	return k
}

// version1Keyring is the test's keyring as it was before audit keys: the
// same data and index keys in a version 1 document.
func (e *env) version1Keyring() *sealed.Keyring {
	e.t.Helper()
	data, err := e.keys.Marshal()
	must(e.t, err, "marshal the keyring")
	var doc map[string]any
	must(e.t, json.Unmarshal(data, &doc), "read the keyring document")
	doc["version"] = 1
	delete(doc, "audit_active")
	delete(doc, "audit_keys")
	delete(doc, "audit_unkeyed_until")
	data, err = json.Marshal(doc)
	must(e.t, err, "write the version 1 document")
	k, err := sealed.Parse(data)
	must(e.t, err, "parse the version 1 keyring")
	return k
}

// appendLegacy writes n entries as the server wrote them before the chain
// was keyed (plain SHA-256, no key id), and moves the head past them. Such
// entries predate the migration that refuses them, so its guard is lifted
// first.
func (e *env) appendLegacy(n int, principal string) {
	e.t.Helper()
	lift := "DROP TRIGGER IF EXISTS audit_log_keyed"
	if e.s.Dialect() == repository.Postgres {
		lift = "ALTER TABLE audit_log DISABLE TRIGGER audit_log_keyed"
	}
	must(e.t, e.db.Exec(lift).Error, "%s", lift)
	var head struct {
		Seq  int64
		Hash string
	}
	must(e.t, e.db.Raw("SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&head).Error, "read the head")
	for range n {
		e.clock.Advance(e.step)
		entry := (&audit.Record{Principal: principal, Method: "/legacy"}).Entry(audit.ActionChange, "households/legacy", audit.OutcomeOK, nil)
		entry.Seq, entry.PrevHash, entry.Time = head.Seq+1, head.Hash, e.nowStored()
		h, err := entry.ComputeHash(nil)
		must(e.t, err, "hash a legacy entry")
		entry.Hash = h
		rec := repository.AuditRecord{Seq: entry.Seq, Time: entry.Time, Principal: entry.Principal, Method: entry.Method,
			Resource: entry.Resource, Action: entry.Action, Outcome: entry.Outcome, PrevHash: entry.PrevHash, Hash: entry.Hash}
		must(e.t, e.db.Create(&rec).Error, "insert legacy entry %d", entry.Seq)
		head.Seq, head.Hash = entry.Seq, entry.Hash
	}
	e.setHead(head.Seq, head.Hash)
}

var auditKeyTests = []test{
	{"EntriesAreKeyed", func(t *testing.T, e *env) {
		e.newHouseholds(3)
		for _, r := range e.auditLog() {
			if r.KeyID == "" || r.KeyID != e.keys.ActiveAuditKeyID() {
				t.Fatalf("entry %d stored under audit key %q, want the active %q", r.Seq, r.KeyID, e.keys.ActiveAuditKeyID())
			}
			plain := r.Entry()
			plain.KeyID = ""
			if h, _ := plain.ComputeHash(nil); h == r.Hash {
				t.Fatalf("entry %d's hash is the plain SHA-256 anyone can recompute", r.Seq)
			}
		}
		if n := e.verified(); n != 3 {
			t.Fatalf("VerifyAudit checked %d entries, want 3", n)
		}
	}},
	{"RotationVerifies", func(t *testing.T, e *env) {
		e.newHouseholds(3)
		before := e.keyringCopy() // the file as it was before `keys rotate`
		old := e.keys.ActiveAuditKeyID()
		rotated, err := e.keys.RotateAuditKey()
		must(t, err, "RotateAuditKey")
		e.newHouseholds(3)
		log := e.auditLog()
		for _, r := range log {
			want := old
			if r.Seq > 3 {
				want = rotated
			}
			if r.KeyID != want {
				t.Fatalf("entry %d under audit key %q, want %q", r.Seq, r.KeyID, want)
			}
		}
		if n := e.verified(); n != 6 {
			t.Fatalf("VerifyAudit across the rotation checked %d entries, want 6", n)
		}
		// A keyring without the new key cannot vouch for the entries under it.
		n, err := e.storeWith(before).VerifyAudit(e.ctx)
		var broken *audit.BrokenLinkError
		if !errors.As(err, &broken) || broken.Seq != 4 || n != 3 || !strings.Contains(broken.Reason, rotated) {
			t.Fatalf("VerifyAudit with the keyring from before the rotation = %d, %v; want broken at 4 naming %s", n, err, rotated)
		}
	}},
	{"LegacyEntriesStillVerify", func(t *testing.T, e *env) {
		// A deployment from before keyed chains: unkeyed entries, then its
		// keyring upgraded at the chain's length, then keyed entries.
		e.appendLegacy(3, "users/legacy")
		upgraded := e.version1Keyring()
		added, err := upgraded.UpgradeAudit(3)
		if err != nil || !added {
			t.Fatalf("UpgradeAudit = %v, %v", added, err)
		}
		e.s = e.storeWith(upgraded)
		e.newHouseholds(2)
		log := e.auditLog()
		if log[2].KeyID != "" || log[3].KeyID != upgraded.ActiveAuditKeyID() {
			t.Fatalf("key ids %q, %q around the upgrade; want unkeyed, then %q", log[2].KeyID, log[3].KeyID, upgraded.ActiveAuditKeyID())
		}
		if n := e.verified(); n != 5 {
			t.Fatalf("VerifyAudit of 3 legacy and 2 keyed entries checked %d, want 5", n)
		}
		// Now nobody may add unkeyed entries: not after the keyed ones...
		e.appendLegacy(1, "users/forger")
		e.wantBroken(6, "an unkeyed entry appended after keyed ones")
	}},
	{"UnkeyedPastTheUpgradeRefused", func(t *testing.T, e *env) {
		// ...nor in place of them: the keyring says where keying began.
		e.appendLegacy(2, "users/legacy")
		upgraded := e.version1Keyring()
		_, err := upgraded.UpgradeAudit(2)
		must(t, err, "UpgradeAudit")
		e.s = e.storeWith(upgraded)
		e.newHouseholds(3)
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 3").Error, "alter entry 3")
		e.relink(3, true, nil)
		e.wantBroken(3, "keyed entries 3-5 rewritten as unkeyed")
	}},
}

var auditAnchorTests = []test{
	{"Head", func(t *testing.T, e *env) {
		h, err := e.s.AuditHead(e.ctx)
		must(t, err, "AuditHead")
		if h.Seq != 0 || h.Hash != audit.GenesisHash || h.KeyID != "" || !h.Time.IsZero() {
			t.Fatalf("head of the empty chain = %+v", h)
		}
		e.newHouseholds(3)
		h, err = e.s.AuditHead(e.ctx)
		must(t, err, "AuditHead")
		last := e.auditLog()[2]
		if h.Seq != 3 || h.Hash != last.Hash || h.KeyID != last.KeyID || !h.Time.Equal(last.Time) {
			t.Fatalf("head = %+v, want entry 3 (%s under %s at %v)", h, last.Hash, last.KeyID, last.Time)
		}
	}},
	{"RewriteDetected", func(t *testing.T, e *env) {
		anchors := e.anchoredHouseholds(3, 3)
		if bad := e.checkAnchors(anchors); len(bad) != 0 {
			t.Fatalf("anchors of an untouched chain: %v", bad)
		}
		// The worst case: the attacker holds the keyring too. The chain
		// verifies; only the anchor of entry 6 shows the history changed.
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 4").Error, "alter entry 4")
		e.relink(4, false, e.keys)
		if n := e.verified(); n != 6 {
			t.Fatalf("VerifyAudit after a rewrite with the key checked %d, want 6", n)
		}
		bad := e.checkAnchors(anchors)
		if len(bad) != 1 || bad[0].Anchor.Seq != 6 || bad[0].Truncated {
			t.Fatalf("anchors after entry 4 was rewritten: %v; want entry 6's, as rewritten", bad)
		}
	}},
	{"TruncationDetected", func(t *testing.T, e *env) {
		anchors := e.anchoredHouseholds(3, 3)
		e.disableAuditGuards()
		must(t, e.db.Exec("DELETE FROM audit_log WHERE seq > 4").Error, "cut entries 5 and 6")
		last := e.auditLog()[3]
		e.setHead(4, last.Hash)
		if n := e.verified(); n != 4 {
			t.Fatalf("VerifyAudit of the cut chain checked %d, want 4", n)
		}
		bad := e.checkAnchors(anchors)
		if len(bad) != 1 || bad[0].Anchor.Seq != 6 || !bad[0].Truncated || bad[0].Last != 4 {
			t.Fatalf("anchors after the cut: %v; want entry 6's, truncated at 4", bad)
		}
		// Writing on past the cut makes it a rewritten history instead.
		e.newHouseholds(2)
		if n := e.verified(); n != 6 {
			t.Fatalf("VerifyAudit checked %d, want 6", n)
		}
		bad = e.checkAnchors(anchors)
		if len(bad) != 1 || bad[0].Anchor.Seq != 6 || bad[0].Truncated {
			t.Fatalf("anchors after the cut and new entries: %v; want entry 6's, rewritten", bad)
		}
	}},
	{"MissingEntryDetected", func(t *testing.T, e *env) {
		anchors := e.anchoredHouseholds(3, 3)
		e.disableAuditGuards()
		must(t, e.db.Exec("DELETE FROM audit_log WHERE seq = 3").Error, "delete entry 3")
		bad := e.checkAnchors(anchors)
		if len(bad) != 1 || bad[0].Anchor.Seq != 3 || bad[0].Truncated {
			t.Fatalf("anchors after entry 3 was deleted: %v; want entry 3's, rewritten", bad)
		}
	}},
}

// anchoredHouseholds creates households in rounds of the given sizes and
// anchors the chain's head after each round.
func (e *env) anchoredHouseholds(rounds ...int) []audit.Anchor {
	e.t.Helper()
	var out []audit.Anchor
	for _, n := range rounds {
		e.newHouseholds(n)
		h, err := e.s.AuditHead(e.ctx)
		must(e.t, err, "AuditHead")
		out = append(out, audit.AnchorOf(h, e.clock.Now()))
	}
	return out
}

func (e *env) checkAnchors(anchors []audit.Anchor) []*audit.AnchorError {
	e.t.Helper()
	bad, err := e.s.CheckAuditAnchors(e.ctx, anchors)
	must(e.t, err, "CheckAuditAnchors")
	return bad
}
