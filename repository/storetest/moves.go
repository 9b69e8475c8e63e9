package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// scopeRuleTests are the storage halves of rules about towns: a household's
// cases move with it, a duplicate outside the caller's towns is not named,
// and the audit's existence check sees past the caller's scope.
var scopeRuleTests = []test{
	{"HouseholdMoveMovesCases", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		closed := e.setStatus(e.newCase(w.b), domain.StatusWithdrawn)
		head := len(e.allEvents(repository.EventQuery{}))
		_, err := e.s.UpdateHousehold(e.ctx, w.b.h.ID, "", func(_ context.Context, h *repository.Household) error { h.TownCode = townA; return nil })
		must(t, err, "UpdateHousehold moving town B's family to town A")
		for _, c := range []*repository.Case{w.caseB, closed} {
			got, err := e.s.GetCase(e.ctx, c.ID)
			must(t, err, "GetCase")
			if got.TownCode != townA || got.Revision != c.Revision+1 {
				t.Errorf("case %s after the move: town %s revision %d, want %s and %d", c.ID, got.TownCode, got.Revision, townA, c.Revision+1)
			}
			hist := e.history(c.ID)
			last := hist[len(hist)-1]
			if last.Method != "UpdateHousehold" || !slices.Equal(last.ChangedFields, repository.List[string]{"town_code"}) || last.Reason == "" {
				t.Errorf("case %s: last history entry %+v, want the move with its reason", c.ID, last)
			}
		}
		// Town A's scope now reaches the cases, town B's no longer does.
		a := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		b := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townB}})
		if _, err := e.s.GetCase(a, w.caseB.ID); err != nil {
			t.Errorf("the new town cannot read the moved case: %v", err)
		}
		_, err = e.s.GetCase(b, w.caseB.ID)
		wantErr(t, err, repository.ErrNotFound, "the old town reading the moved case")
		// The household's event, then one per case.
		var moved []string
		for _, ev := range e.allEvents(repository.EventQuery{})[head:] {
			moved = append(moved, ev.Resource)
		}
		for _, want := range []string{"households/" + w.b.h.ID, "cases/" + w.caseB.ID, "cases/" + closed.ID} {
			if !slices.Contains(moved, want) {
				t.Errorf("events after the move %v lack %s", moved, want)
			}
		}
		if e.verified() == 0 {
			t.Errorf("audit chain empty after the move")
		}
	}},
	{"MoveRefusedLeavesCasesBehindNothing", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		a := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		_, err := e.s.UpdateHousehold(a, w.a.h.ID, "", func(_ context.Context, h *repository.Household) error { h.TownCode = townB; return nil })
		wantErr(t, err, repository.ErrOutOfScope, "moving a household out of the caller's towns")
		got, err := e.s.GetCase(e.ctx, w.caseA.ID)
		must(t, err, "GetCase")
		if got.TownCode != townA || got.Revision != w.caseA.Revision {
			t.Errorf("a refused move changed the case: town %s revision %d", got.TownCode, got.Revision)
		}
	}},
	{"DuplicateOutsideScopeNotNamed", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		a := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		dupOf := func(h *repository.Household) *repository.Household {
			return &repository.Household{ID: uuid.NewString(), ServicememberName: "Test", ServicememberIDNumber: h.ServicememberIDNumber,
				PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townA}
		}
		wantErr(t, e.s.CreateHousehold(a, dupOf(w.b.h)), repository.ErrConflictOutOfScope, "single create duplicating town B")
		wantErr(t, e.s.CreateHousehold(a, dupOf(w.a.h)), repository.ErrAlreadyExists, "single create duplicating town A")
		err := e.s.CreateHouseholds(a, []*repository.Household{e.batchOf(1)[0], dupOf(w.b.h)})
		var batch *domain.BatchError
		if !errors.Is(err, repository.ErrConflictOutOfScope) || errors.As(err, &batch) {
			t.Errorf("batch duplicating town B: %v, want ErrConflictOutOfScope naming no item", err)
		}
		err = e.s.CreateHouseholds(a, []*repository.Household{e.batchOf(1)[0], dupOf(w.a.h)})
		if !errors.As(err, &batch) || len(batch.Items) != 1 || batch.Items[0].Index != 1 {
			t.Errorf("batch duplicating town A: %v, want item 1 named", err)
		}
		// County-wide, the item is named.
		err = e.s.CreateHouseholds(e.ctx, []*repository.Household{e.batchOf(1)[0], dupOf(w.b.h)})
		if !errors.As(err, &batch) || len(batch.Items) != 1 || batch.Items[0].Index != 1 {
			t.Errorf("county-wide batch duplicating town B: %v, want item 1 named", err)
		}
		if n := len(e.allHouseholds(repository.HouseholdQuery{ShowDeleted: true})); n != 3 {
			t.Errorf("%d households stored after refused creates, want the 3 fixtures", n)
		}
	}},
	{"ResourceExistsIgnoresScope", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		none := repository.WithScope(e.ctx, principal.Scope{})
		for _, name := range []string{"households/" + w.b.h.ID, "households/" + w.b.h.ID + "/members/" + w.b.m.ID,
			"cases/" + w.caseB.ID, "households/" + w.deletedB.ID} {
			ok, err := e.s.ResourceExists(none, name)
			if err != nil || !ok {
				t.Errorf("ResourceExists(%s) = %v, %v; want true", name, ok, err)
			}
		}
		for _, name := range []string{"households/" + uuid.NewString(), "households/" + w.a.h.ID + "/members/" + w.b.m.ID,
			"cases/" + uuid.NewString(), "apiKeys/abcdefghijkl", "nonsense"} {
			if ok, err := e.s.ResourceExists(none, name); err != nil || ok {
				t.Errorf("ResourceExists(%s) = %v, %v; want false", name, ok, err)
			}
		}
	}},
}
