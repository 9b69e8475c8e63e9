package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// batchOf returns n new households, not yet stored.
func (e *env) batchOf(n int) []*repository.Household {
	hs := make([]*repository.Household, n)
	for i := range hs {
		hs[i] = &repository.Household{
			ID: uuid.NewString(), ServicememberName: fmt.Sprintf("Batch %d", i), ServicememberIDNumber: e.idNumber(),
			ServiceBranch: "ARMY", RankCategory: "NCO", PostType: domain.PostRegular,
			Category: domain.CategoryActiveDutyFamily, TownCode: townA, Phone: e.phone(),
		}
	}
	return hs
}

// refusedItems lists the indexes a *domain.BatchError names.
func refusedItems(t *testing.T, err error) []int {
	t.Helper()
	var be *domain.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("error %v, want a *domain.BatchError", err)
	}
	var out []int
	for _, it := range be.Items {
		out = append(out, it.Index)
	}
	return out
}

var batchTests = []test{
	{"CreateHouseholdsWritesAllWithTheirTrail", func(t *testing.T, e *env) {
		e.newHousehold()
		hs := e.batchOf(450) // more than one multi-row insert
		plain := hs[7].ServicememberIDNumber
		must(t, e.s.CreateHouseholds(e.ctx, hs), "CreateHouseholds")
		if hs[7].ServicememberIDNumber != plain {
			t.Errorf("the caller's rows must hold plaintext again after the call")
		}
		got := e.allHouseholds(repository.HouseholdQuery{})
		if len(got) != 451 {
			t.Fatalf("%d households, want 451", len(got))
		}
		back, err := e.s.GetHousehold(e.ctx, hs[449].ID, false)
		must(t, err, "GetHousehold")
		if back.ServicememberIDNumber != hs[449].ServicememberIDNumber || back.Phone != hs[449].Phone || back.Revision != 1 {
			t.Errorf("stored row = %+v", back)
		}
		// One audit entry and one event per household, in order, gap-free,
		// and the chain still verifies.
		evs := e.allEvents(repository.EventQuery{})
		positions(t, evs, 451)
		if evs[1].Resource != "households/"+hs[0].ID || evs[450].Resource != "households/"+hs[449].ID {
			t.Errorf("events out of the batch's order: %s … %s", evs[1].Resource, evs[450].Resource)
		}
		if n, err := e.s.VerifyAudit(e.ctx); err != nil || n != 451 {
			t.Errorf("VerifyAudit = %d, %v; want 451 entries", n, err)
		}
		// Lookup by the blind index works for a batch row.
		if h, err := e.s.LookupHousehold(e.ctx, hs[300].ServicememberIDNumber); err != nil || h.ID != hs[300].ID {
			t.Errorf("LookupHousehold of a batch row: %v", err)
		}
	}},
	{"CreateHouseholdsRefusesAndNamesItems", func(t *testing.T, e *env) {
		existing := e.newHousehold()
		hs := e.batchOf(6)
		hs[1].ServicememberIDNumber = existing.ServicememberIDNumber // in the database
		hs[4].ServicememberIDNumber = hs[2].ServicememberIDNumber    // earlier in the batch
		hs[5].TownCode = townB                                       // outside the caller's towns
		ctx := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		err := e.s.CreateHouseholds(ctx, hs)
		if got := refusedItems(t, err); fmt.Sprint(got) != "[1 4 5]" {
			t.Errorf("refused items %v, want [1 4 5]", got)
		}
		// Items the caller refused (nil) are passed over; the rest are
		// checked, and nothing is written.
		fresh := e.batchOf(3)
		fresh[2].ServicememberIDNumber = existing.ServicememberIDNumber
		err = e.s.CreateHouseholds(e.ctx, []*repository.Household{fresh[0], nil, fresh[2]})
		if got := refusedItems(t, err); fmt.Sprint(got) != "[2]" {
			t.Errorf("refused items %v, want [2]", got)
		}
		if err := e.s.CreateHouseholds(e.ctx, []*repository.Household{fresh[0], nil}); err != nil {
			t.Errorf("with only a nil refused: %v, want nil (and nothing written)", err)
		}
		if got := e.allHouseholds(repository.HouseholdQuery{}); len(got) != 1 {
			t.Errorf("%d households after refused batches, want 1", len(got))
		}
		positions(t, e.allEvents(repository.EventQuery{}), 1)
	}},
	{"CreateCasesNumbersInOrderWithTheirTrail", func(t *testing.T, e *env) {
		a, b := e.newFamily(), e.newFamily()
		first := e.newCase(a)
		cs := make([]*repository.Case, 300)
		hists := make([]*repository.HistoryEntry, len(cs))
		for i := range cs {
			f := a
			if i%2 == 1 {
				f = b
			}
			cs[i] = e.openCaseFor(f)
			hists[i] = creationEntry(cs[i])
		}
		must(t, e.s.CreateCases(e.ctx, cs, hists), "CreateCases")
		for i, c := range cs {
			// The single create took number 1; the batch follows on, in order.
			if want := domain.CaseNumber("FD", first.CreateTime.In(domain.ChinaTime).Year(), i+2); c.CaseNumber != want {
				t.Fatalf("case %d numbered %s, want %s", i, c.CaseNumber, want)
			}
		}
		got, err := e.s.GetCase(e.ctx, cs[299].ID)
		must(t, err, "GetCase")
		if got.CaseNumber != cs[299].CaseNumber || got.HouseholdID != b.h.ID || got.Revision != 1 {
			t.Errorf("stored case = %+v", got)
		}
		if h := e.history(cs[10].ID); len(h) != 1 || h[0].Method != "CreateCase" {
			t.Errorf("history of a batch case = %+v", h)
		}
		evs := e.allEvents(repository.EventQuery{ResourceTypes: []string{"cases"}})
		if len(evs) != 301 || evs[300].Resource != "cases/"+cs[299].ID {
			t.Errorf("%d case events, want 301 ending with the batch's last", len(evs))
		}
		if _, err := e.s.VerifyAudit(e.ctx); err != nil {
			t.Errorf("VerifyAudit: %v", err)
		}
	}},
	{"CreateCasesRefusesAndNamesItems", func(t *testing.T, e *env) {
		a, b, gone := e.newFamily(), e.newFamily(inTown(townB)), e.newFamily()
		_, err := e.s.DeleteHousehold(e.ctx, gone.h.ID, "")
		must(t, err, "DeleteHousehold")
		cs := []*repository.Case{e.caseFor(a), e.caseFor(gone), e.caseFor(b), e.caseFor(a, func(c *repository.Case) { c.SubjectID = b.m.ID }), nil}
		hists := make([]*repository.HistoryEntry, len(cs))
		ctx := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		err = e.s.CreateCases(ctx, cs, hists)
		// gone: deleted; b: another town (not found in scope); 3: a subject
		// of another household. The nil is the caller's.
		if got := refusedItems(t, err); fmt.Sprint(got) != "[1 2 3]" {
			t.Errorf("refused items %v, want [1 2 3]", got)
		}
		if err := e.s.CreateCases(e.ctx, []*repository.Case{e.caseFor(a), nil}, make([]*repository.HistoryEntry, 2)); err != nil {
			t.Errorf("with only a nil refused: %v, want nil (and nothing written)", err)
		}
		if got := e.allCases(repository.CaseQuery{}); len(got) != 0 {
			t.Errorf("%d cases after refused batches, want 0", len(got))
		}
	}},
	{"FindByServicememberAndLookupMany", func(t *testing.T, e *env) {
		a := e.newFamily(e.withPhone)
		b := e.newFamily(inTown(townB))
		gone := e.newHousehold()
		_, err := e.s.DeleteHousehold(e.ctx, gone.ID, "")
		must(t, err, "DeleteHousehold")
		unknown := e.idNumber()
		asked := []string{a.h.ServicememberIDNumber, a.m.IDNumber, b.h.ServicememberIDNumber, gone.ServicememberIDNumber, unknown, "", a.h.ServicememberIDNumber}
		ids := func(hs []*repository.Household) []string {
			out := make([]string, len(hs))
			for i, h := range hs {
				if h != nil {
					out[i] = h.ID
				}
			}
			return out
		}
		// As the servicemember only: a member's number is no conflict.
		byMember, err := e.s.HouseholdsByServicemember(e.ctx, asked)
		must(t, err, "HouseholdsByServicemember")
		sameIDs(t, ids(byMember), []string{a.h.ID, "", b.h.ID, "", "", "", a.h.ID}, "households by servicemember")
		if byMember[0] != nil && byMember[0].Phone != a.h.Phone {
			t.Errorf("HouseholdsByServicemember answered a sealed phone")
		}
		found, err := e.s.LookupHouseholds(e.ctx, asked)
		must(t, err, "LookupHouseholds")
		sameIDs(t, ids(found), []string{a.h.ID, a.h.ID, b.h.ID, "", "", "", a.h.ID}, "households looked up")
		// Within the caller's towns only.
		scoped := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		found, err = e.s.LookupHouseholds(scoped, asked)
		must(t, err, "LookupHouseholds in town A")
		sameIDs(t, ids(found), []string{a.h.ID, a.h.ID, "", "", "", "", a.h.ID}, "households looked up in town A")
		byMember, err = e.s.HouseholdsByServicemember(scoped, asked)
		must(t, err, "HouseholdsByServicemember in town A")
		sameIDs(t, ids(byMember), []string{a.h.ID, "", "", "", "", "", a.h.ID}, "households by servicemember in town A")
	}},
}
