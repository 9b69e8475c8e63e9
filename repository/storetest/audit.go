package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/repository"
)

// who is the caller the Audit tests act as: what the transport would have
// put in the context.
var who = audit.Record{Principal: "users/test-alice", Roles: "caseworker", Credential: "test",
	Method: "/test.v1.Test/Change", RequestID: "req-1", ClientAddr: "192.0.2.1"}

func withRecord(ctx context.Context, r audit.Record) context.Context {
	return audit.NewContext(ctx, &r)
}

// wantAudited runs change, which returns the name of the resource it
// changed, and fails unless it appended exactly one entry, the next in the
// chain: a change to that resource by who, naming exactly fields.
func (e *env) wantAudited(fields []string, change func() string) {
	e.t.Helper()
	before := e.auditLog()
	resource := change()
	after := e.auditLog()
	if len(after) != len(before)+1 {
		e.t.Fatalf("change of %s appended %d audit entries, want 1", resource, len(after)-len(before))
	}
	got := after[len(after)-1]
	if got.Seq != int64(len(after)) || got.Resource != resource || got.Action != audit.ActionChange || got.Outcome != audit.OutcomeOK {
		e.t.Fatalf("audit entry %d: resource %q, action %q, outcome %q; want entry %d, %q, %q, %q",
			got.Seq, got.Resource, got.Action, got.Outcome, len(after), resource, audit.ActionChange, audit.OutcomeOK)
	}
	if got.Principal != who.Principal || got.Roles != who.Roles || got.Credential != who.Credential || got.Method != who.Method ||
		got.RequestID != who.RequestID || got.ClientAddr != who.ClientAddr {
		e.t.Fatalf("audit entry %d records the caller as %+v, want %+v", got.Seq, got, who)
	}
	if !got.Time.Equal(e.nowStored()) {
		e.t.Fatalf("audit entry %d time %v, want the store's clock %v", got.Seq, got.Time, e.nowStored())
	}
	gotFields := strings.Split(got.Fields, ",")
	slices.Sort(gotFields)
	fields = slices.Clone(fields)
	slices.Sort(fields)
	if !slices.Equal(gotFields, fields) {
		e.t.Fatalf("audit entry %d of %s names fields %q, want %q", got.Seq, resource, got.Fields, strings.Join(fields, ","))
	}
}

// noSecretsIn fails if any column of any audit entry holds one of secrets.
func noSecretsIn(t *testing.T, entries []repository.AuditRecord, secrets []string) {
	t.Helper()
	for _, r := range entries {
		v := reflect.ValueOf(r)
		for i := range v.NumField() {
			s := fmt.Sprint(v.Field(i).Interface())
			for _, secret := range secrets {
				if secret != "" && strings.Contains(s, secret) {
					t.Fatalf("audit entry %d: %s holds an ID or phone number", r.Seq, v.Type().Field(i).Name)
				}
			}
		}
	}
}

func householdName(h *repository.Household) string { return "households/" + h.ID }
func memberName(m *repository.Member) string {
	return "households/" + m.HouseholdID + "/members/" + m.ID
}
func caseName(c *repository.Case) string { return "cases/" + c.ID }

var created = []string{"created"}

var auditTests = []test{
	{"EachChangeAppendsOneEntry", func(t *testing.T, e *env) {
		if n := e.verified(); n != 0 {
			t.Fatalf("a fresh store's audit chain has %d entries", n)
		}
		e.ctx = withRecord(e.ctx, who)
		var (
			h, h2   *repository.Household
			m, m2   *repository.Member
			c       *repository.Case
			key     *repository.APIKey
			secrets []string
		)
		e.wantAudited(created, func() string { h = e.newHousehold(e.withPhone); return householdName(h) })
		e.wantAudited(created, func() string { m = e.newMember(h, e.memberPhone); return memberName(m) })
		e.wantAudited(created, func() string { c = e.newCase(family{h, m}); return caseName(c) })
		secrets = append(secrets, h.ServicememberIDNumber, h.Phone, m.IDNumber, m.Phone)
		e.wantAudited([]string{"address", "phone"}, func() string {
			e.clock.Advance(e.step)
			p := e.phone()
			secrets = append(secrets, p)
			_, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, h *repository.Household) error {
				h.Address, h.Phone = "Test address 2", p
				return nil
			})
			must(t, err, "UpdateHousehold")
			return householdName(h)
		})
		e.wantAudited([]string{"servicemember_id_number"}, func() string {
			e.clock.Advance(e.step)
			n := e.idNumber()
			secrets = append(secrets, n)
			_, err := e.s.UpdateHousehold(e.ctx, h.ID, repository.Etag(2), func(_ context.Context, h *repository.Household) error {
				h.ServicememberIDNumber = n
				return nil
			})
			must(t, err, "UpdateHousehold")
			return householdName(h)
		})
		e.wantAudited([]string{"display_name", "id_number", "phone"}, func() string {
			e.clock.Advance(e.step)
			n, p := e.idNumber(), e.phone()
			secrets = append(secrets, n, p)
			_, err := e.s.UpdateMember(e.ctx, h.ID, m.ID, "", func(_ context.Context, m *repository.Member) error {
				m.DisplayName, m.IDNumber, m.Phone = "Test renamed", n, p
				return nil
			})
			must(t, err, "UpdateMember")
			return memberName(m)
		})
		e.wantAudited([]string{"assignee", "status"}, func() string {
			e.clock.Advance(e.step)
			_, err := e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
				c.Status, c.Assignee = domain.StatusSubmitted, "users/test-bob"
				return &repository.HistoryEntry{Actor: who.Principal, Method: "SubmitCase"}, nil
			})
			must(t, err, "MutateCase")
			return caseName(c)
		})
		e.wantAudited(created, func() string {
			e.clock.Advance(e.step)
			n := &repository.Note{ID: uuid.NewString(), CaseID: c.ID, Body: "Test note", Author: who.Principal}
			must(t, e.s.CreateNote(e.ctx, n), "CreateNote")
			return caseName(c) + "/notes/" + n.ID
		})
		e.wantAudited(created, func() string { m2 = e.newMember(h); return memberName(m2) })
		e.wantAudited([]string{"delete_time"}, func() string {
			e.clock.Advance(e.step)
			must(t, e.s.DeleteMember(e.ctx, h.ID, m2.ID, ""), "DeleteMember")
			return memberName(m2)
		})
		e.wantAudited(created, func() string { h2 = e.newHousehold(); return householdName(h2) })
		e.wantAudited([]string{"delete_time"}, func() string {
			e.clock.Advance(e.step)
			_, err := e.s.DeleteHousehold(e.ctx, h2.ID, "")
			must(t, err, "DeleteHousehold")
			return householdName(h2)
		})
		e.wantAudited([]string{"delete_time"}, func() string {
			e.clock.Advance(e.step)
			_, err := e.s.UndeleteHousehold(e.ctx, h2.ID, "")
			must(t, err, "UndeleteHousehold")
			return householdName(h2)
		})
		e.wantAudited(created, func() string { key, _ = e.newAPIKey("svc-audit"); return "apiKeys/" + key.ID })
		e.wantAudited([]string{"revoke_time"}, func() string {
			e.clock.Advance(e.step)
			_, err := e.s.RevokeAPIKey(e.ctx, key.ID)
			must(t, err, "RevokeAPIKey")
			return "apiKeys/" + key.ID
		})
		if n := e.verified(); n != 15 {
			t.Fatalf("VerifyAudit checked %d entries, want 15", n)
		}
		noSecretsIn(t, e.auditLog(), secrets)
	}},
	{"RefusedChangesAppendNone", func(t *testing.T, e *env) {
		f, other := e.newFamily(), e.newFamily()
		c := e.newCase(f) // open, so f's household and member cannot go
		key, _ := e.newAPIKey("svc-refused")
		entries := e.verified()
		e.ctx = withRecord(e.ctx, who)

		_, err := e.s.UpdateHousehold(e.ctx, f.h.ID, repository.Etag(9), func(_ context.Context, h *repository.Household) error { h.Address = "x"; return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "UpdateHousehold with a stale etag")
		_, err = e.s.UpdateHousehold(e.ctx, f.h.ID, "", func(_ context.Context, _ *repository.Household) error { return errRefused })
		wantErr(t, err, errRefused, "UpdateHousehold refused by the callback")
		_, err = e.s.UpdateHousehold(e.ctx, f.h.ID, "", func(_ context.Context, h *repository.Household) error {
			h.ServicememberIDNumber = other.h.ServicememberIDNumber
			return nil
		})
		wantErr(t, err, repository.ErrAlreadyExists, "UpdateHousehold onto another live number")
		_, err = e.s.UpdateMember(e.ctx, f.h.ID, f.m.ID, repository.Etag(9), func(_ context.Context, _ *repository.Member) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "UpdateMember with a stale etag")
		_, err = e.s.DeleteHousehold(e.ctx, f.h.ID, "")
		wantPrecondition(t, err, "HOUSEHOLD_HAS_OPEN_CASES", "DeleteHousehold with an open case")
		err = e.s.DeleteMember(e.ctx, f.h.ID, f.m.ID, "")
		wantPrecondition(t, err, "MEMBER_HAS_OPEN_CASES", "DeleteMember of an open case's subject")
		_, err = e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, _ *repository.Case) (*repository.HistoryEntry, error) { return nil, errRefused })
		wantErr(t, err, errRefused, "MutateCase refused by the callback")
		_, err = e.s.MutateCase(e.ctx, c.ID, repository.Etag(9), func(_ context.Context, _ *repository.Case) (*repository.HistoryEntry, error) { return nil, nil })
		wantErr(t, err, repository.ErrEtagMismatch, "MutateCase with a stale etag")
		dup := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test dup", ServicememberIDNumber: f.h.ServicememberIDNumber,
			PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townA}
		wantErr(t, e.s.CreateHousehold(e.ctx, dup), repository.ErrAlreadyExists, "CreateHousehold of a duplicate")
		err = e.s.CreateMember(e.ctx, &repository.Member{ID: uuid.NewString(), HouseholdID: "missing", Relation: domain.RelationChild, DisplayName: "Test"})
		wantErr(t, err, repository.ErrNotFound, "CreateMember in a missing household")
		err = e.s.CreateCase(e.ctx, e.caseFor(f, func(c *repository.Case) { c.SubjectID = "missing" }), nil)
		wantErr(t, err, repository.ErrNotFound, "CreateCase for a missing subject")
		err = e.s.CreateNote(e.ctx, &repository.Note{ID: uuid.NewString(), CaseID: "missing", Body: "Test", Author: "users/x"})
		wantErr(t, err, repository.ErrNotFound, "CreateNote on a missing case")
		dupKey, _ := e.apiKeyFor("svc-refused")
		wantErr(t, e.s.CreateAPIKey(e.ctx, dupKey), repository.ErrAlreadyExists, "CreateAPIKey for an account with a live key")
		_, err = e.s.RevokeAPIKey(e.ctx, "missing")
		wantErr(t, err, repository.ErrNotFound, "RevokeAPIKey of a missing key")
		_, err = e.s.RevokeAPIKey(e.ctx, key.ID)
		must(t, err, "RevokeAPIKey")
		_, err = e.s.RevokeAPIKey(e.ctx, key.ID)
		wantErr(t, err, repository.ErrNotFound, "RevokeAPIKey twice")

		if n := e.verified(); n != entries+1 {
			t.Fatalf("refused changes appended %d audit entries, want none (only the revocation)", n-entries-1)
		}
		for _, r := range e.auditLog() {
			if r.Principal == who.Principal && r.Resource != "apiKeys/"+key.ID {
				t.Fatalf("a refused change left audit entry %d for %s", r.Seq, r.Resource)
			}
		}
	}},
	{"ConcurrentChangesOneChain", func(t *testing.T, e *env) {
		hs := make([]*repository.Household, writers)
		for i := range hs {
			hs[i] = e.newHousehold()
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			ctx := withRecord(e.ctx, audit.Record{Principal: fmt.Sprintf("users/w%d", i)})
			wg.Go(func() {
				<-start
				if i%2 == 0 {
					_, errs[i] = e.s.UpdateHousehold(ctx, hs[i].ID, "", func(_ context.Context, h *repository.Household) error {
						h.Address = fmt.Sprintf("Test address %d", i)
						return nil
					})
					return
				}
				errs[i] = e.s.CreateMember(ctx, &repository.Member{ID: uuid.NewString(), HouseholdID: hs[i].ID,
					Relation: domain.RelationChild, DisplayName: "Test child"})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			must(t, err, "concurrent change %d", i)
		}
		if n := e.verified(); n != 2*writers {
			t.Fatalf("VerifyAudit checked %d entries, want %d", n, 2*writers)
		}
		log := e.auditLog()
		seen := map[string]int{}
		for i, r := range log {
			if r.Seq != int64(i+1) {
				t.Fatalf("entry %d has sequence number %d", i+1, r.Seq)
			}
			seen[r.Principal]++
		}
		for i := range writers {
			if p := fmt.Sprintf("users/w%d", i); seen[p] != 1 {
				t.Fatalf("%s has %d audit entries, want 1", p, seen[p])
			}
		}
	}},
}

// disableAuditGuards does what an attacker with the database owner's
// rights could: switch off the append-only triggers.
func (e *env) disableAuditGuards() {
	e.t.Helper()
	stmts := []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete", "DROP TRIGGER IF EXISTS audit_log_keyed"}
	if e.s.Dialect() == repository.Postgres {
		stmts = []string{"ALTER TABLE audit_log DISABLE TRIGGER USER"}
	}
	for _, s := range stmts {
		must(e.t, e.db.Exec(s).Error, "%s", s)
	}
}

// wantBroken fails unless VerifyAudit reports the first broken link at seq,
// having checked the entries before it.
func (e *env) wantBroken(seq int64, what string) {
	e.t.Helper()
	n, err := e.s.VerifyAudit(e.ctx)
	var broken *audit.BrokenLinkError
	if !errors.As(err, &broken) {
		e.t.Fatalf("%s: VerifyAudit = %d, %v; want a *audit.BrokenLinkError", what, n, err)
	}
	if broken.Seq != seq || n != seq-1 {
		e.t.Fatalf("%s: VerifyAudit broken at %d after %d entries (%v), want at %d after %d", what, broken.Seq, n, err, seq, seq-1)
	}
}

// relink recomputes, as an attacker would after rewriting entry from, the
// links of every entry from there on and the head: each entry's previous
// hash and its hash, computed under keys (nil: plain SHA-256, all that is
// possible without the audit key). blank also clears the key ids, passing
// the entries off as written before the chain was keyed.
func (e *env) relink(from int64, blank bool, keys audit.Keys) {
	e.t.Helper()
	log := e.auditLog()
	prev := audit.GenesisHash
	for _, r := range log {
		if r.Seq < from {
			prev = r.Hash
			continue
		}
		entry := r.Entry()
		entry.PrevHash = prev
		if blank {
			entry.KeyID = ""
		}
		var err error
		if keys == nil {
			plain := *entry
			plain.KeyID = ""
			entry.Hash, err = plain.ComputeHash(nil)
		} else {
			entry.Hash, err = entry.ComputeHash(keys)
		}
		must(e.t, err, "rehash entry %d", r.Seq)
		must(e.t, e.db.Exec("UPDATE audit_log SET prev_hash = ?, key_id = ?, hash = ? WHERE seq = ?",
			entry.PrevHash, entry.KeyID, entry.Hash, r.Seq).Error, "relink entry %d", r.Seq)
		prev = entry.Hash
	}
	e.setHead(int64(len(log)), prev)
}

// setHead moves audit_head, as whoever rewrites the log would.
func (e *env) setHead(seq int64, hash string) {
	e.t.Helper()
	must(e.t, e.db.Exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, hash).Error, "move the head")
}

func (e *env) newHouseholds(n int) {
	e.t.Helper()
	for range n {
		e.newHousehold()
	}
}

var auditTamperTests = []test{
	{"AppendOnly", func(t *testing.T, e *env) {
		e.newHouseholds(5)
		before := e.auditLog()
		refused := []string{
			"UPDATE audit_log SET principal = 'x' WHERE seq = 3",
			"UPDATE audit_log SET hash = prev_hash",
			"DELETE FROM audit_log WHERE seq = 3",
			"DELETE FROM audit_log WHERE seq = 5",
		}
		if e.s.Dialect() == repository.Postgres {
			refused = append(refused, "TRUNCATE audit_log")
		}
		// An unkeyed entry, as a server of an older version would append.
		refused = append(refused, "INSERT INTO audit_log (seq, time, principal, roles, credential, method, resource, action, "+
			"request_id, client_addr, outcome, fields, prev_hash, hash) SELECT 6, time, principal, roles, credential, method, "+
			"resource, action, request_id, client_addr, outcome, fields, hash, hash FROM audit_log WHERE seq = 5")
		for _, s := range refused {
			if err := e.db.Exec(s).Error; err == nil {
				t.Fatalf("%s: not refused", s)
			}
		}
		if n := e.verified(); n != 5 {
			t.Fatalf("VerifyAudit checked %d entries, want 5", n)
		}
		if after := e.auditLog(); !reflect.DeepEqual(after, before) {
			t.Fatal("refused statements changed the audit log")
		}
	}},
	{"AlteredEntryDetected", func(t *testing.T, e *env) {
		e.newHouseholds(5)
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 3").Error, "alter entry 3")
		e.wantBroken(3, "entry 3 altered")

		// Recomputing the altered entry's own hash, even with the audit
		// key, moves the break to the next entry, whose link no longer
		// matches.
		r := e.auditLog()[2]
		h, err := r.Entry().ComputeHash(e.keys)
		must(t, err, "rehash entry 3")
		must(t, e.db.Exec("UPDATE audit_log SET hash = ? WHERE seq = 3", h).Error, "rehash entry 3")
		e.wantBroken(4, "entry 3 altered and rehashed")
	}},
	// The attack of issue 9 item 6: with the guards off, an entry is
	// rewritten and every later hash and the head recomputed, as anyone who
	// can write the database can. Without the audit key the links can only
	// be plain SHA-256, which a keyed chain refuses.
	{"RewriteAndRelinkWithoutKeyDetected", func(t *testing.T, e *env) {
		e.newHouseholds(5)
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 2").Error, "alter entry 2")
		e.relink(2, false, nil)
		e.wantBroken(2, "entry 2 rewritten, entries 2-5 and the head relinked with plain SHA-256")
	}},
	{"RewriteAndRelinkAsUnkeyedDetected", func(t *testing.T, e *env) {
		// Passing the rewritten entries off as entries from before the
		// chain was keyed: an unkeyed entry after a keyed one is forged.
		e.newHouseholds(5)
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 2").Error, "alter entry 2")
		e.relink(2, true, nil)
		e.wantBroken(2, "entries 2-5 rewritten as unkeyed")
	}},
	{"WholeChainRewrittenAsUnkeyedDetected", func(t *testing.T, e *env) {
		// No keyed entry is left to give the forgery away; the keyring's
		// record that this chain was keyed from its start does.
		e.newHouseholds(5)
		e.disableAuditGuards()
		must(t, e.db.Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 1").Error, "alter entry 1")
		e.relink(1, true, nil)
		e.wantBroken(1, "the whole chain rewritten as unkeyed")
	}},
	{"RemovedEntriesDetected", func(t *testing.T, e *env) {
		e.newHouseholds(5)
		e.disableAuditGuards()
		must(t, e.db.Exec("DELETE FROM audit_log WHERE seq = 5").Error, "delete the last entry")
		e.wantBroken(5, "last entry deleted")
		// Later changes do not paper over the gap.
		e.newHousehold()
		e.wantBroken(5, "last entry deleted, then a change")
		must(t, e.db.Exec("DELETE FROM audit_log WHERE seq = 2").Error, "delete entry 2")
		e.wantBroken(2, "entry 2 deleted")
	}},
}

// auditAt is the filter literal of an instant, in China time.
func auditAt(t time.Time) string {
	return strconv.Quote(t.In(domain.ChinaTime).Format(time.RFC3339Nano))
}

func seqs(rs []repository.AuditRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = strconv.FormatInt(r.Seq, 10)
	}
	return out
}

var auditListTests = []test{
	{"FiltersAndPages", func(t *testing.T, e *env) {
		base := e.ctx
		alice := audit.Record{Principal: "users/test-alice", Method: "/test.v1.Test/Create"}
		bob := audit.Record{Principal: "users/test-bob", Method: "/test.v1.Test/Update"}
		carol := audit.Record{Principal: "users/test-carol", Method: "/test.v1.Test/View"}
		e.ctx = withRecord(base, alice)
		h1 := e.newHousehold() // 1
		e.newHouseholds(2)     // 2, 3
		e.ctx = withRecord(base, bob)
		for range 2 { // 4, 5: both of h1
			e.clock.Advance(e.step)
			_, err := e.s.UpdateHousehold(e.ctx, h1.ID, "", func(_ context.Context, h *repository.Household) error { h.Address += "+"; return nil })
			must(t, err, "UpdateHousehold")
		}
		cctx := withRecord(base, carol)
		e.clock.Advance(e.step) // 6: a full view
		must(t, e.s.AppendAudit(cctx, audit.FromContext(cctx).Entry(audit.ActionFullView, householdName(h1), audit.OutcomeOK,
			[]string{"servicemember_id_number"})), "AppendAudit")
		e.clock.Advance(e.step) // 7: a refusal
		must(t, e.s.AppendAudit(cctx, audit.FromContext(cctx).Entry(audit.ActionDenied, "cases/x", audit.OutcomeDenied, nil)), "AppendAudit")
		e.ctx = base

		all := e.auditLog()
		sameIDs(t, seqs(all), []string{"1", "2", "3", "4", "5", "6", "7"}, "the whole log")
		if n := e.verified(); n != 7 {
			t.Fatalf("VerifyAudit checked %d entries, want 7", n)
		}
		at := func(seq int) string { return auditAt(all[seq-1].Time) }
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{``, []string{"1", "2", "3", "4", "5", "6", "7"}},
			{`principal = "users/test-alice"`, []string{"1", "2", "3"}},
			{`principal = "users/test-bob" AND method = "/test.v1.Test/Update"`, []string{"4", "5"}},
			{`principal = "users/nobody"`, nil},
			{`resource = "` + householdName(h1) + `"`, []string{"1", "4", "5", "6"}},
			{`method = "/test.v1.Test/View"`, []string{"6", "7"}},
			{`action = "full-view"`, []string{"6"}},
			{`action = "change"`, []string{"1", "2", "3", "4", "5"}},
			{`outcome = "PERMISSION_DENIED"`, []string{"7"}},
			{`time >= ` + at(2) + ` AND time < ` + at(5), []string{"2", "3", "4"}},
			{`time > ` + at(2) + ` AND time <= ` + at(5), []string{"3", "4", "5"}},
			{`time < ` + at(1), nil},
			{`time >= ` + at(6) + ` AND principal = "users/test-carol"`, []string{"6", "7"}},
			{`time >= "2026-03-02T01:30:00Z" AND time <= "2026-03-02T09:30:03.123456+08:00"`, []string{"1", "2", "3"}},
		} {
			f := parse(t, tc.filter, repository.AuditFilter)
			got, n := pages(t, 2, func(p repository.Page) ([]repository.AuditRecord, *repository.Cursor, error) {
				return e.s.ListAuditLogs(e.ctx, f, p)
			})
			sameIDs(t, seqs(got), tc.want, "ListAuditLogs("+tc.filter+")")
			if want := max(1, (len(tc.want)+1)/2); n != want {
				t.Fatalf("ListAuditLogs(%s) took %d pages of 2, want %d", tc.filter, n, want)
			}
		}
		for _, bad := range []string{"yesterday", "2026-03-02"} {
			// The schema refuses the value when the filter is parsed...
			var fe *filter.Error
			if _, err := filter.Parse(`time >= "`+bad+`"`, repository.AuditFilter); !errors.As(err, &fe) {
				t.Fatalf("Parse(time >= %q): %v, want a *filter.Error", bad, err)
			}
			// ...and the store refuses it in a filter built without the schema.
			f := filter.Filter{Conditions: []filter.Condition{{Field: "time", Op: filter.OpGe, Value: bad}}}
			if _, _, err := e.s.ListAuditLogs(e.ctx, f, repository.Page{}); !errors.As(err, &fe) {
				t.Fatalf("ListAuditLogs(time >= %q): %v, want a *filter.Error", bad, err)
			}
		}
	}},
}
