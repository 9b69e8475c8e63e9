package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/principal"
	"github.com/fengdu-county/casework/repository"
)

// batchOf returns n new households, not yet stored.
func (e *env) batchOf(n int) []*repository.Household {
	hs := make([]*repository.Household, n)
	for i := range hs {
		hs[i] = &repository.Household{
			ID: uuid.NewString(), ServicememberName: fmt.Sprintf("Batch %d", i), ServicememberIDNumber: e.idNumber(),
			ServiceBranch: "ARMY", RankCategory: "NCO", PostType: string(domain.PostRegular),
			Category: string(domain.CategoryActiveDutyFamily), TownCode: townA, Phone: e.phone(),
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
}
