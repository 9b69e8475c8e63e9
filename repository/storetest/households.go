package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

var errRefused = errors.New("storetest: refused by the callback")

var householdTests = []test{
	{"CreateGetRoundTrip", func(t *testing.T, e *env) {
		h := e.newHousehold(func(h *repository.Household) {
			h.Hardship, h.HardshipNote, h.Phone = true, "test note", "000-0000"
			// Every column of the servicemember's status and the register.
			h.ServicememberStatus, h.PostType, h.HardshipGrade = domain.ServiceActiveOfficer, domain.PostHardshipArea, 5
			h.DisabilityGrade, h.Decorated, h.Honour = 7, true, "Test honour"
			h.ApprovalNumber, h.ApprovalDate, h.ApprovalUnit = "Test approval 1", ptr(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)), "Test unit"
			h.SettledAtHome, h.PreferentialCertificateNumber = true, e.certificate()
		})
		now := e.nowStored()
		if h.Revision != 1 || !h.CreateTime.Equal(now) || !h.UpdateTime.Equal(now) || h.DeleteTime != nil {
			t.Fatalf("after create: revision %d, create %v, update %v, delete %v; want 1, %v, %v, nil",
				h.Revision, h.CreateTime, h.UpdateTime, h.DeleteTime, now, now)
		}
		checkStamped(t, h.CreateTime, "CreateTime")
		got, err := e.s.GetHousehold(e.ctx, h.ID, false)
		must(t, err, "GetHousehold")
		sameRow(t, got, h, "GetHousehold")
	}},
	{"StoreSetsTimesFromRealClock", func(t *testing.T, e *env) {
		repository.WithClock(time.Now)(e.s)
		before := time.Now().UTC().Truncate(time.Microsecond)
		h := e.newHousehold(func(h *repository.Household) {
			// The caller's times are overwritten.
			h.CreateTime, h.UpdateTime, h.Revision = time.Unix(0, 0), time.Unix(0, 0), 42
			h.DeleteTime = ptr(time.Unix(0, 0))
		})
		after := time.Now()
		checkStamped(t, h.CreateTime, "CreateTime")
		if h.CreateTime.Before(before) || h.CreateTime.After(after) || !h.UpdateTime.Equal(h.CreateTime) {
			t.Fatalf("CreateTime %v, UpdateTime %v, want both within [%v, %v]", h.CreateTime, h.UpdateTime, before, after)
		}
		if h.Revision != 1 || h.DeleteTime != nil {
			t.Fatalf("revision %d, delete time %v; want 1, nil", h.Revision, h.DeleteTime)
		}
		got, err := e.s.GetHousehold(e.ctx, h.ID, false)
		must(t, err, "GetHousehold")
		sameRow(t, got, h, "GetHousehold")
	}},
	{"ListWithMemberCount", func(t *testing.T, e *env) {
		h1, h2, h3 := e.newHousehold(), e.newHousehold(), e.newHousehold()
		e.newMember(h2)
		gone := e.newMember(h2)
		e.newMember(h2)
		must(t, e.s.DeleteMember(e.ctx, h2.ID, gone.ID, ""), "DeleteMember")
		got := e.allHouseholds(repository.HouseholdQuery{})
		sameIDs(t, householdIDs(got), []string{h1.ID, h2.ID, h3.ID}, "ListHouseholds")
		for i, want := range []int{0, 2, 0} {
			if got[i].MemberCount != want {
				t.Errorf("household %d: MemberCount %d, want %d (live members only)", i, got[i].MemberCount, want)
			}
		}
		one, err := e.s.GetHousehold(e.ctx, h2.ID, false)
		must(t, err, "GetHousehold")
		if one.MemberCount != 2 {
			t.Errorf("GetHousehold MemberCount %d, want 2", one.MemberCount)
		}
	}},
	{"Update", func(t *testing.T, e *env) {
		h := e.newHousehold()
		e.newMember(h)
		e.clock.Advance(time.Minute)
		got, err := e.s.UpdateHousehold(e.ctx, h.ID, repository.Etag(h.Revision), func(_ context.Context, h *repository.Household) error {
			h.Address, h.Hardship = "Test address 2", true
			return nil
		})
		must(t, err, "UpdateHousehold")
		want := *h
		want.Address, want.Hardship, want.Revision, want.UpdateTime, want.MemberCount = "Test address 2", true, 2, e.nowStored(), 1
		// A hardship household is due a contact within 30 days of its
		// registration (the default contact policy; see ledger.go).
		due := "2026-04-01"
		want.NextContactDue = &due
		sameRow(t, got, &want, "UpdateHousehold result")
		read, err := e.s.GetHousehold(e.ctx, h.ID, false)
		must(t, err, "GetHousehold")
		sameRow(t, read, &want, "GetHousehold after update")
	}},
	{"UpdateCallbackErrorChangesNothing", func(t *testing.T, e *env) {
		h := e.newHousehold()
		_, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, h *repository.Household) error {
			h.Address = "changed"
			return errRefused
		})
		wantErr(t, err, errRefused, "UpdateHousehold")
		got, err := e.s.GetHousehold(e.ctx, h.ID, false)
		must(t, err, "GetHousehold")
		sameRow(t, got, h, "household after refused update")
	}},
	{"DeleteUndelete", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		e.clock.Advance(time.Minute)
		deleted, err := e.s.DeleteHousehold(e.ctx, h.ID, repository.Etag(1))
		must(t, err, "DeleteHousehold")
		if deleted.DeleteTime == nil || !deleted.DeleteTime.Equal(e.nowStored()) || deleted.Revision != 2 {
			t.Fatalf("deleted: delete time %v, revision %d; want %v, 2", deleted.DeleteTime, deleted.Revision, e.nowStored())
		}
		_, err = e.s.GetHousehold(e.ctx, h.ID, false)
		wantErr(t, err, repository.ErrNotFound, "GetHousehold of a deleted household")
		shown, err := e.s.GetHousehold(e.ctx, h.ID, true)
		must(t, err, "GetHousehold(showDeleted)")
		sameRow(t, shown, deleted, "GetHousehold(showDeleted)")
		sameIDs(t, householdIDs(e.allHouseholds(repository.HouseholdQuery{})), []string{other.ID}, "list without deleted")
		sameIDs(t, householdIDs(e.allHouseholds(repository.HouseholdQuery{ShowDeleted: true})), []string{h.ID, other.ID}, "list with deleted")

		_, err = e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, _ *repository.Household) error { return nil })
		wantErr(t, err, repository.ErrNotFound, "UpdateHousehold of a deleted household")
		_, err = e.s.DeleteHousehold(e.ctx, h.ID, "")
		wantErr(t, err, repository.ErrNotFound, "DeleteHousehold twice")
		_, err = e.s.UndeleteHousehold(e.ctx, other.ID, "")
		wantErr(t, err, repository.ErrNotFound, "UndeleteHousehold of a live household")

		e.clock.Advance(time.Minute)
		back, err := e.s.UndeleteHousehold(e.ctx, h.ID, repository.Etag(2))
		must(t, err, "UndeleteHousehold")
		want := *h
		want.Revision, want.UpdateTime = 3, e.nowStored()
		sameRow(t, back, &want, "UndeleteHousehold")
		got, err := e.s.GetHousehold(e.ctx, h.ID, false)
		must(t, err, "GetHousehold after undelete")
		sameRow(t, got, &want, "GetHousehold after undelete")
	}},
	{"MissingIsNotFound", func(t *testing.T, e *env) {
		e.newHousehold()
		const id = "00000000-0000-0000-0000-000000000000"
		_, err := e.s.GetHousehold(e.ctx, id, true)
		wantErr(t, err, repository.ErrNotFound, "GetHousehold")
		_, err = e.s.UpdateHousehold(e.ctx, id, "", func(_ context.Context, _ *repository.Household) error { return nil })
		wantErr(t, err, repository.ErrNotFound, "UpdateHousehold")
		_, err = e.s.DeleteHousehold(e.ctx, id, "")
		wantErr(t, err, repository.ErrNotFound, "DeleteHousehold")
		_, err = e.s.UndeleteHousehold(e.ctx, id, "")
		wantErr(t, err, repository.ErrNotFound, "UndeleteHousehold")
	}},
}

var uniquenessTests = []test{
	{"LiveServicememberIDNumber", func(t *testing.T, e *env) {
		first := e.newHousehold()
		dup := &repository.Household{ID: "dup-1", ServicememberName: "Test dup", ServicememberIDNumber: first.ServicememberIDNumber,
			PostType: first.PostType, Category: first.Category, TownCode: townB}
		err := e.s.CreateHousehold(e.ctx, dup)
		wantErr(t, err, repository.ErrAlreadyExists, "second live household for one servicemember")
		_, err = e.s.GetHousehold(e.ctx, dup.ID, true)
		wantErr(t, err, repository.ErrNotFound, "the refused household")

		_, err = e.s.DeleteHousehold(e.ctx, first.ID, "")
		must(t, err, "DeleteHousehold")
		second := e.newHousehold(func(h *repository.Household) { h.ServicememberIDNumber = first.ServicememberIDNumber })

		_, err = e.s.UndeleteHousehold(e.ctx, first.ID, "")
		wantErr(t, err, repository.ErrAlreadyExists, "undelete while another live household has the number")
		still, err := e.s.GetHousehold(e.ctx, first.ID, true)
		must(t, err, "GetHousehold(showDeleted)")
		if still.DeleteTime == nil || still.Revision != 2 {
			t.Fatalf("refused undelete changed the household: delete time %v, revision %d", still.DeleteTime, still.Revision)
		}
		got, err := e.s.LookupHousehold(e.ctx, first.ServicememberIDNumber)
		must(t, err, "LookupHousehold")
		if got.ID != second.ID {
			t.Fatalf("LookupHousehold found %s, want the live %s", got.ID, second.ID)
		}
	}},
	{"UpdateOntoAnotherLiveNumber", func(t *testing.T, e *env) {
		a, b := e.newHousehold(), e.newHousehold()
		_, err := e.s.UpdateHousehold(e.ctx, b.ID, "", func(_ context.Context, h *repository.Household) error {
			h.ServicememberIDNumber = a.ServicememberIDNumber
			return nil
		})
		wantErr(t, err, repository.ErrAlreadyExists, "UpdateHousehold onto a live number")
		got, err := e.s.GetHousehold(e.ctx, b.ID, false)
		must(t, err, "GetHousehold")
		sameRow(t, got, b, "household after refused update")
	}},
	{"CreateMembersAllOrNone", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		m := e.newMember(h)
		mk := func(hid, n string) *repository.Member {
			return &repository.Member{ID: uuid.NewString(), HouseholdID: hid, Relation: domain.RelationChild,
				DisplayName: "Test bulk", IDNumber: n, BirthDate: m.BirthDate}
		}
		wantErr(t, e.s.CreateMembers(e.ctx, []*repository.Member{mk(other.ID, ""), mk(h.ID, m.IDNumber)}),
			repository.ErrAlreadyExists, "CreateMembers with a second live member of one ID number")
		wantErr(t, e.s.CreateMembers(e.ctx, []*repository.Member{mk(other.ID, ""), mk("missing", "")}),
			repository.ErrNotFound, "CreateMembers into a missing household")
		if got, _, err := e.s.ListMembers(e.ctx, other.ID, repository.Page{}); err != nil || len(got) != 0 {
			t.Fatalf("members after refused bulk creates: %d, %v", len(got), err)
		}
		before, err := e.s.EventHead(e.ctx)
		must(t, err, "EventHead")
		must(t, e.s.CreateMembers(e.ctx, []*repository.Member{mk(other.ID, ""), mk(other.ID, m.IDNumber), mk(h.ID, "")}), "CreateMembers")
		got, _, err := e.s.ListMembers(e.ctx, other.ID, repository.Page{})
		if err != nil || len(got) != 2 || got[0].IDNumber+got[1].IDNumber != m.IDNumber {
			t.Fatalf("%d members after the bulk create, %v", len(got), err)
		}
		if after, _ := e.s.EventHead(e.ctx); after != before+3 {
			t.Errorf("feed moved from %d to %d, want an event per member", before, after)
		}
	}},
	{"MemberIDNumberPerHousehold", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		m := e.newMember(h)
		dup := &repository.Member{ID: "dup-member", HouseholdID: h.ID, Relation: domain.RelationChild,
			DisplayName: "Test dup", IDNumber: m.IDNumber, BirthDate: m.BirthDate}
		wantErr(t, e.s.CreateMember(e.ctx, dup), repository.ErrAlreadyExists, "second live member with one ID number")
		// The same person may be recorded in another household, and members
		// without an ID number never collide.
		e.newMember(other, func(x *repository.Member) { x.IDNumber = m.IDNumber })
		e.newMember(h, func(x *repository.Member) { x.IDNumber = "" })
		e.newMember(h, func(x *repository.Member) { x.IDNumber = "" })
		must(t, e.s.DeleteMember(e.ctx, h.ID, m.ID, ""), "DeleteMember")
		e.newMember(h, func(x *repository.Member) { x.IDNumber = m.IDNumber })
	}},
}

var etagTests = []test{
	{"StaleEtagChangesNothing", func(t *testing.T, e *env) {
		h := e.newHousehold()
		cur, err := e.s.UpdateHousehold(e.ctx, h.ID, repository.Etag(1), func(_ context.Context, h *repository.Household) error {
			h.Unit = "Test unit 2"
			return nil
		})
		must(t, err, "UpdateHousehold")
		if cur.Revision != 2 {
			t.Fatalf("revision after update %d, want 2", cur.Revision)
		}
		for _, etag := range []string{repository.Etag(1), repository.Etag(3), "garbage", `W/"2"`} {
			called := false
			e.clock.Advance(time.Minute)
			_, err := e.s.UpdateHousehold(e.ctx, h.ID, etag, func(_ context.Context, h *repository.Household) error {
				called = true
				h.Unit = "stale"
				return nil
			})
			wantErr(t, err, repository.ErrEtagMismatch, "UpdateHousehold with etag %q", etag)
			if called {
				t.Errorf("UpdateHousehold with etag %q called the callback", etag)
			}
			_, err = e.s.DeleteHousehold(e.ctx, h.ID, etag)
			wantErr(t, err, repository.ErrEtagMismatch, "DeleteHousehold with etag %q", etag)
			got, err := e.s.GetHousehold(e.ctx, h.ID, false)
			must(t, err, "GetHousehold")
			sameRow(t, got, cur, "household after stale etag "+etag)
		}
		deleted, err := e.s.DeleteHousehold(e.ctx, h.ID, repository.Etag(2))
		must(t, err, "DeleteHousehold with the current etag")
		_, err = e.s.UndeleteHousehold(e.ctx, h.ID, repository.Etag(2))
		wantErr(t, err, repository.ErrEtagMismatch, "UndeleteHousehold with a stale etag")
		got, err := e.s.GetHousehold(e.ctx, h.ID, true)
		must(t, err, "GetHousehold(showDeleted)")
		sameRow(t, got, deleted, "household after stale undelete")
	}},
	{"EveryChangeBumpsRevision", func(t *testing.T, e *env) {
		h := e.newHousehold()
		for want := int64(2); want <= 4; want++ {
			e.clock.Advance(time.Second)
			got, err := e.s.UpdateHousehold(e.ctx, h.ID, repository.Etag(want-1), func(_ context.Context, h *repository.Household) error {
				h.Address = fmt.Sprintf("address %d", want)
				return nil
			})
			must(t, err, "UpdateHousehold %d", want)
			if got.Revision != want || !got.UpdateTime.Equal(e.nowStored()) || !got.CreateTime.Equal(h.CreateTime) {
				t.Fatalf("update %d: revision %d, update %v, create %v", want, got.Revision, got.UpdateTime, got.CreateTime)
			}
		}
		// An empty etag skips the check but still bumps the revision.
		got, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, h *repository.Household) error {
			h.Address = "address 5"
			return nil
		})
		must(t, err, "UpdateHousehold without etag")
		if got.Revision != 5 {
			t.Fatalf("revision %d, want 5", got.Revision)
		}
	}},
	{"NoChangeWritesNothing", func(t *testing.T, e *env) {
		f := e.newFamily()
		c := e.newCase(f)
		e.clock.Advance(time.Minute)
		audits, events := len(e.auditLog()), e.eventHead()
		history := len(e.history(c.ID))
		// Each callback sets every field to what it already holds, the
		// way a handler that copies a request onto the row does.
		h, err := e.s.UpdateHousehold(e.ctx, f.h.ID, repository.Etag(1), func(_ context.Context, h *repository.Household) error {
			h.Address, h.Phone = f.h.Address, f.h.Phone
			return nil
		})
		must(t, err, "UpdateHousehold")
		if h.Revision != 1 || !h.UpdateTime.Equal(f.h.UpdateTime) {
			t.Errorf("household after an update that changes nothing: revision %d, update %v", h.Revision, h.UpdateTime)
		}
		m, err := e.s.UpdateMember(e.ctx, f.h.ID, f.m.ID, repository.Etag(1), func(_ context.Context, m *repository.Member) error {
			m.BirthDate, m.Phone = f.m.BirthDate, f.m.Phone
			return nil
		})
		must(t, err, "UpdateMember")
		if m.Revision != 1 || !m.UpdateTime.Equal(f.m.UpdateTime) {
			t.Errorf("member after an update that changes nothing: revision %d, update %v", m.Revision, m.UpdateTime)
		}
		// What the callback wrote beside the row goes too: a history entry
		// that records no change is no history.
		got, err := e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			return &repository.HistoryEntry{Actor: "users/b", Method: "UpdateCase", FromStatus: c.Status, ToStatus: c.Status}, nil
		})
		must(t, err, "MutateCase")
		if got.Revision != 1 || !got.UpdateTime.Equal(c.UpdateTime) {
			t.Errorf("case after a mutation that changes nothing: revision %d, update %v", got.Revision, got.UpdateTime)
		}
		if n := len(e.history(c.ID)); n != history {
			t.Errorf("%d history entries after a mutation that changes nothing, want %d", n, history)
		}
		if n := len(e.auditLog()); n != audits {
			t.Errorf("%d audit entries after updates that change nothing, want %d", n, audits)
		}
		if head := e.eventHead(); head != events {
			t.Errorf("event head %d after updates that change nothing, want %d", head, events)
		}
		// A stale etag is still refused: nothing changed is not "anything goes".
		_, err = e.s.UpdateHousehold(e.ctx, f.h.ID, repository.Etag(7), func(_ context.Context, _ *repository.Household) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "UpdateHousehold with a stale etag and no change")
	}},
	{"MemberStaleEtag", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h)
		cur, err := e.s.UpdateMember(e.ctx, h.ID, m.ID, repository.Etag(1), func(_ context.Context, m *repository.Member) error {
			m.Phone = "000-0001"
			return nil
		})
		must(t, err, "UpdateMember")
		if cur.Revision != 2 {
			t.Fatalf("member revision %d, want 2", cur.Revision)
		}
		_, err = e.s.UpdateMember(e.ctx, h.ID, m.ID, repository.Etag(1), func(_ context.Context, m *repository.Member) error {
			m.Phone = "stale"
			return nil
		})
		wantErr(t, err, repository.ErrEtagMismatch, "UpdateMember with a stale etag")
		wantErr(t, e.s.DeleteMember(e.ctx, h.ID, m.ID, repository.Etag(1)), repository.ErrEtagMismatch, "DeleteMember with a stale etag")
		got, err := e.s.GetMember(e.ctx, h.ID, m.ID)
		must(t, err, "GetMember")
		sameRow(t, got, cur, "member after stale etags")
	}},
}

var lookupTests = []test{
	{"ByServicememberAndMember", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		m := e.newMember(h)
		e.newMember(other)
		for what, id := range map[string]string{"servicemember": h.ServicememberIDNumber, "member": m.IDNumber} {
			got, err := e.s.LookupHousehold(e.ctx, id)
			must(t, err, "LookupHousehold by %s", what)
			if got.ID != h.ID {
				t.Fatalf("LookupHousehold by %s found %s, want %s", what, got.ID, h.ID)
			}
		}
		_, err := e.s.LookupHousehold(e.ctx, e.idNumber())
		wantErr(t, err, repository.ErrNotFound, "LookupHousehold of an unknown number")
		_, err = e.s.LookupHousehold(e.ctx, "")
		wantErr(t, err, repository.ErrNotFound, "LookupHousehold of the empty number")
	}},
	{"NotAfterMemberDelete", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h)
		must(t, e.s.DeleteMember(e.ctx, h.ID, m.ID, ""), "DeleteMember")
		_, err := e.s.LookupHousehold(e.ctx, m.IDNumber)
		wantErr(t, err, repository.ErrNotFound, "LookupHousehold by a deleted member")
	}},
	{"NotAfterHouseholdDelete", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h)
		_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
		must(t, err, "DeleteHousehold")
		for _, id := range []string{h.ServicememberIDNumber, m.IDNumber} {
			_, err := e.s.LookupHousehold(e.ctx, id)
			wantErr(t, err, repository.ErrNotFound, "LookupHousehold in a deleted household")
		}
	}},
}

var memberTests = []test{
	{"MembersOfManyHouseholds", func(t *testing.T, e *env) {
		a, b, gone := e.newHousehold(inTown(townA)), e.newHousehold(inTown(townB)), e.newHousehold(inTown(townA))
		a1, b1, a2 := e.newMember(a), e.newMember(b), e.newMember(a)
		removed := e.newMember(a)
		must(t, e.s.DeleteMember(e.ctx, a.ID, removed.ID, ""), "DeleteMember")
		e.newMember(gone)
		_, err := e.s.DeleteHousehold(e.ctx, gone.ID, "")
		must(t, err, "DeleteHousehold")
		ids := func(ctx context.Context) []string {
			t.Helper()
			ms, err := e.s.MembersOf(ctx, []string{b.ID, gone.ID, a.ID, "missing"})
			must(t, err, "MembersOf")
			var out []string
			for _, m := range ms {
				if m.HouseholdID == a.ID && m.IDNumber != a1.IDNumber && m.IDNumber != a2.IDNumber {
					t.Errorf("member %s read without its plaintext ID number", m.ID)
				}
				out = append(out, m.ID)
			}
			return out
		}
		// By household, then oldest first, as ListMembers lists each.
		want := []string{a1.ID, a2.ID}
		all := []string{b1.ID}
		if a.ID < b.ID {
			all = append(want, b1.ID)
		} else {
			all = append(all, want...)
		}
		sameIDs(t, ids(e.ctx), all, "MembersOf county-wide")
		sameIDs(t, ids(repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})), want, "MembersOf in town A")
	}},
	{"CreateGetRoundTrip", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h, func(m *repository.Member) {
			m.Relation, m.Accompanying, m.CannotLiveIndependently, m.IDNumberConverted = domain.RelationChild, false, true, true
		})
		now := e.nowStored()
		if m.Revision != 1 || !m.CreateTime.Equal(now) || !m.UpdateTime.Equal(now) || m.DeleteTime != nil {
			t.Fatalf("after create: revision %d, create %v, update %v, delete %v", m.Revision, m.CreateTime, m.UpdateTime, m.DeleteTime)
		}
		checkStamped(t, m.CreateTime, "CreateTime")
		got, err := e.s.GetMember(e.ctx, h.ID, m.ID)
		must(t, err, "GetMember")
		sameRow(t, got, m, "GetMember")
	}},
	{"CreateInMissingOrDeletedHousehold", func(t *testing.T, e *env) {
		h := e.newHousehold()
		_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
		must(t, err, "DeleteHousehold")
		for _, hid := range []string{h.ID, "no-such-household"} {
			m := &repository.Member{ID: "m-" + hid, HouseholdID: hid, Relation: domain.RelationSpouse,
				DisplayName: "Test member", IDNumber: e.idNumber(), BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}
			wantErr(t, e.s.CreateMember(e.ctx, m), repository.ErrNotFound, "CreateMember in household %s", hid)
		}
		_, _, err = e.s.ListMembers(e.ctx, h.ID, repository.Page{})
		wantErr(t, err, repository.ErrNotFound, "ListMembers of a deleted household")
	}},
	{"ListOldestFirst", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		var want []string
		for range 7 {
			want = append(want, e.newMember(h).ID)
			e.newMember(other)
		}
		gone := e.newMember(h)
		must(t, e.s.DeleteMember(e.ctx, h.ID, gone.ID, ""), "DeleteMember")
		got, n := pages(t, 3, func(p repository.Page) ([]repository.Member, *repository.Cursor, error) {
			return e.s.ListMembers(e.ctx, h.ID, p)
		})
		ids := make([]string, len(got))
		for i, m := range got {
			ids[i] = m.ID
		}
		sameIDs(t, ids, want, "ListMembers")
		if n != 3 {
			t.Errorf("ListMembers took %d pages of 3 for 7 members, want 3", n)
		}
	}},
	{"Update", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h)
		e.clock.Advance(time.Minute)
		got, err := e.s.UpdateMember(e.ctx, h.ID, m.ID, repository.Etag(1), func(_ context.Context, m *repository.Member) error {
			m.DisplayName, m.Accompanying = "Test renamed", false
			return nil
		})
		must(t, err, "UpdateMember")
		want := *m
		want.DisplayName, want.Accompanying, want.Revision, want.UpdateTime = "Test renamed", false, 2, e.nowStored()
		// The duplicate check's index follows the name.
		if got.NameBirthIndex == m.NameBirthIndex || got.NameBirthIndex == "" {
			t.Errorf("renamed member's name and birth index %q, before %q: want a new one", got.NameBirthIndex, m.NameBirthIndex)
		}
		want.NameBirthIndex = got.NameBirthIndex
		sameRow(t, got, &want, "UpdateMember result")
		read, err := e.s.GetMember(e.ctx, h.ID, m.ID)
		must(t, err, "GetMember")
		sameRow(t, read, &want, "GetMember after update")
	}},
	{"Delete", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m, kept := e.newMember(h), e.newMember(h)
		must(t, e.s.DeleteMember(e.ctx, h.ID, m.ID, repository.Etag(1)), "DeleteMember")
		_, err := e.s.GetMember(e.ctx, h.ID, m.ID)
		wantErr(t, err, repository.ErrNotFound, "GetMember of a deleted member")
		wantErr(t, e.s.DeleteMember(e.ctx, h.ID, m.ID, ""), repository.ErrNotFound, "DeleteMember twice")
		_, err = e.s.UpdateMember(e.ctx, h.ID, m.ID, "", func(_ context.Context, _ *repository.Member) error { return nil })
		wantErr(t, err, repository.ErrNotFound, "UpdateMember of a deleted member")
		rows, _, err := e.s.ListMembers(e.ctx, h.ID, repository.Page{})
		must(t, err, "ListMembers")
		if len(rows) != 1 || rows[0].ID != kept.ID {
			t.Fatalf("ListMembers after delete: %d rows, want only %s", len(rows), kept.ID)
		}
	}},
	{"OtherHouseholdIsNotFound", func(t *testing.T, e *env) {
		h, other := e.newHousehold(), e.newHousehold()
		m := e.newMember(h)
		_, err := e.s.GetMember(e.ctx, other.ID, m.ID)
		wantErr(t, err, repository.ErrNotFound, "GetMember through another household")
		called := false
		_, err = e.s.UpdateMember(e.ctx, other.ID, m.ID, "", func(_ context.Context, m *repository.Member) error {
			called, m.DisplayName = true, "hijacked"
			return nil
		})
		wantErr(t, err, repository.ErrNotFound, "UpdateMember through another household")
		wantErr(t, e.s.DeleteMember(e.ctx, other.ID, m.ID, ""), repository.ErrNotFound, "DeleteMember through another household")
		if called {
			t.Error("UpdateMember through another household called the callback")
		}
		got, err := e.s.GetMember(e.ctx, h.ID, m.ID)
		must(t, err, "GetMember")
		sameRow(t, got, m, "member after access through another household")
	}},
	{"HiddenWithDeletedHousehold", func(t *testing.T, e *env) {
		h := e.newHousehold()
		m := e.newMember(h)
		_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
		must(t, err, "DeleteHousehold")
		_, err = e.s.GetMember(e.ctx, h.ID, m.ID)
		wantErr(t, err, repository.ErrNotFound, "GetMember in a deleted household")
		_, err = e.s.UpdateMember(e.ctx, h.ID, m.ID, "", func(_ context.Context, _ *repository.Member) error { return nil })
		wantErr(t, err, repository.ErrNotFound, "UpdateMember in a deleted household")
	}},
}

var preconditionTests = []test{
	{"DeleteMemberWithOpenCase", func(t *testing.T, e *env) {
		h := e.newHousehold()
		for _, st := range domain.Statuses() {
			m := e.newMember(h)
			e.newCase(family{h, m}, withStatus(st))
			err := e.s.DeleteMember(e.ctx, h.ID, m.ID, "")
			if !st.Open() {
				must(t, err, "DeleteMember, the subject of a %s case", st)
				continue
			}
			wantPrecondition(t, err, "MEMBER_HAS_OPEN_CASES", "DeleteMember, the subject of a "+string(st)+" case")
			got, err := e.s.GetMember(e.ctx, h.ID, m.ID)
			must(t, err, "GetMember after refused delete")
			sameRow(t, got, m, "member after refused delete")
		}
	}},
	{"DeleteMemberAfterCaseCloses", func(t *testing.T, e *env) {
		f := e.newFamily()
		c := e.newCase(f, withStatus(domain.StatusSubmitted))
		wantPrecondition(t, e.s.DeleteMember(e.ctx, f.h.ID, f.m.ID, ""), "MEMBER_HAS_OPEN_CASES", "DeleteMember")
		e.setStatus(c, domain.StatusWithdrawn)
		must(t, e.s.DeleteMember(e.ctx, f.h.ID, f.m.ID, ""), "DeleteMember after withdrawal")
	}},
	{"DeleteHouseholdWithOpenCases", func(t *testing.T, e *env) {
		for _, st := range domain.Statuses() {
			f := e.newFamily()
			e.newCase(f, withStatus(domain.StatusClosed))
			e.newCase(f, withStatus(st))
			_, err := e.s.DeleteHousehold(e.ctx, f.h.ID, "")
			if !st.Open() {
				must(t, err, "DeleteHousehold with a %s case", st)
				continue
			}
			wantPrecondition(t, err, "HOUSEHOLD_HAS_OPEN_CASES", "DeleteHousehold with a "+string(st)+" case")
			got, err := e.s.GetHousehold(e.ctx, f.h.ID, false)
			must(t, err, "GetHousehold after refused delete")
			want := *f.h
			want.MemberCount = 1
			sameRow(t, got, &want, "household after refused delete")
		}
	}},
}

var householdListTests = []test{
	{"Filters", func(t *testing.T, e *env) {
		var all []*repository.Household
		cats := []domain.Category{domain.CategoryActiveDutyFamily, domain.CategoryMartyrFamily, domain.CategoryVeteran}
		posts := []domain.PostType{domain.PostRegular, domain.PostBorderCoastalDefence, domain.PostMissionUnit, domain.PostHardshipArea}
		for i := range 12 {
			all = append(all, e.newHousehold(func(h *repository.Household) {
				h.TownCode = []string{townA, townB}[i%2]
				h.Category = cats[i%3]
				h.PostType = posts[i%4]
				h.Hardship = i%5 == 0
			}))
		}
		// Deleted households never match, whatever the filter.
		deleted := e.newHousehold(func(h *repository.Household) { h.TownCode = townB; h.Hardship = true })
		_, err := e.s.DeleteHousehold(e.ctx, deleted.ID, "")
		must(t, err, "DeleteHousehold")

		cases := []struct {
			filter string
			want   func(h *repository.Household) bool
		}{
			{`town_code = "` + townB + `"`, func(h *repository.Household) bool { return h.TownCode == townB }},
			{"category = MARTYR_FAMILY", func(h *repository.Household) bool { return h.Category == "MARTYR_FAMILY" }},
			{"category = HOUSEHOLD_CATEGORY_VETERAN", func(h *repository.Household) bool { return h.Category == "VETERAN" }},
			{"post_type = BORDER_COASTAL_DEFENCE", func(h *repository.Household) bool { return h.PostType == "BORDER_COASTAL_DEFENCE" }},
			{"post_type = POST_TYPE_MISSION_UNIT", func(h *repository.Household) bool { return h.PostType == "MISSION_UNIT" }},
			{"hardship = true", func(h *repository.Household) bool { return h.Hardship }},
			{"hardship = false", func(h *repository.Household) bool { return !h.Hardship }},
			{`town_code = "` + townA + `" AND category = ACTIVE_DUTY_FAMILY AND hardship = true`, func(h *repository.Household) bool {
				return h.TownCode == townA && h.Category == "ACTIVE_DUTY_FAMILY" && h.Hardship
			}},
		}
		for _, tc := range cases {
			var want []string
			for _, h := range all {
				if tc.want(h) {
					want = append(want, h.ID)
				}
			}
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("fixture bug: filter %q selects %d of %d households", tc.filter, len(want), len(all))
			}
			q := repository.HouseholdQuery{Filter: parse(t, tc.filter, repository.HouseholdFilter), Page: repository.Page{Size: 2}}
			sameIDs(t, householdIDs(e.allHouseholds(q)), want, "ListHouseholds "+tc.filter)
		}
	}},
	{"ShowDeletedAndOrder", func(t *testing.T, e *env) {
		var live, every []string
		for i := range 7 {
			h := e.newHousehold()
			every = append(every, h.ID)
			if i%3 == 1 {
				_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
				must(t, err, "DeleteHousehold")
				continue
			}
			live = append(live, h.ID)
		}
		sameIDs(t, householdIDs(e.allHouseholds(repository.HouseholdQuery{Page: repository.Page{Size: 2}})), live, "live, oldest first")
		sameIDs(t, householdIDs(e.allHouseholds(repository.HouseholdQuery{ShowDeleted: true, Page: repository.Page{Size: 2}})), every, "all, oldest first")
		rev := append([]string(nil), every...)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		q := repository.HouseholdQuery{ShowDeleted: true, Order: repository.Order{Column: "create_time", Desc: true}, Page: repository.Page{Size: 3}}
		sameIDs(t, householdIDs(e.allHouseholds(q)), rev, "all, newest first")
	}},
	{"PageSizeBounds", func(t *testing.T, e *env) {
		e.step = 0 // a burst of households created in the same microsecond
		for range repository.MaxPageSize + 1 {
			e.newHousehold()
		}
		for _, tc := range []struct{ size, want int }{
			{0, repository.DefaultPageSize}, {-1, repository.DefaultPageSize},
			{repository.MaxPageSize + 1, repository.MaxPageSize}, {1 << 30, repository.MaxPageSize},
		} {
			rows, next, err := e.s.ListHouseholds(e.ctx, repository.HouseholdQuery{Page: repository.Page{Size: tc.size}})
			must(t, err, "ListHouseholds")
			if len(rows) != tc.want || next == nil {
				t.Errorf("page size %d: %d rows (next %v), want %d and a next cursor", tc.size, len(rows), next != nil, tc.want)
			}
		}
	}},
}
