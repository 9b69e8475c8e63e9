package storetest

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// townScope is one way a call comes to be limited to town A: the scope
// the server sets for a call (or a command-line tool sets), with or without
// the principal it was derived from beside it.
type townScope struct {
	name string
	ctx  func() context.Context
}

var townAScopes = []townScope{
	{"WithScope", func() context.Context {
		return repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
	}},
	{"ScopeBesideACountyWidePrincipal", func() context.Context {
		// The scope decides, not the principal's roles: a supervisor
		// whose right for this call reaches only town A sees only town A.
		ctx := principal.NewContext(context.Background(), &principal.Principal{
			ID: "users/test-supervisor", Kind: principal.User, Roles: []principal.Role{principal.Supervisor},
			Credential: "test"})
		return repository.WithScope(ctx, principal.Scope{Towns: []string{townA}})
	}},
}

// twoTowns is a family with a case and a note in each of towns A and B, and
// a deleted household in B.
type twoTowns struct {
	a, b         family
	caseA, caseB *repository.Case
	deletedB     *repository.Household
}

func (e *env) newTwoTowns() twoTowns {
	e.t.Helper()
	w := twoTowns{a: e.newFamily(e.withPhone), b: e.newFamily(inTown(townB), e.withPhone)}
	w.caseA, w.caseB = e.newCase(w.a), e.newCase(w.b)
	for _, c := range []*repository.Case{w.caseA, w.caseB} {
		must(e.t, e.s.CreateNote(e.ctx, &repository.Note{ID: uuid.NewString(), CaseID: c.ID, Body: "Test note", Author: "users/test"}), "CreateNote")
	}
	w.deletedB = e.newHousehold(inTown(townB))
	_, err := e.s.DeleteHousehold(e.ctx, w.deletedB.ID, "")
	must(e.t, err, "DeleteHousehold")
	return w
}

// townScopeTests runs each scoped test once per way of being scoped.
func townScopeTests() []test {
	scoped := []struct {
		name string
		run  func(t *testing.T, e *env, ctx context.Context)
	}{
		{"ReadsHideOtherTown", scopedReads},
		{"WritesToOtherTownNotFound", scopedWrites},
		{"WritesIntoOtherTownRefused", scopedWritesInto},
	}
	var out []test
	for _, tc := range scoped {
		for _, sc := range townAScopes {
			out = append(out, test{tc.name + "/" + sc.name, func(t *testing.T, e *env) { tc.run(t, e, sc.ctx()) }})
		}
	}
	return append(out, unscopedTests...)
}

func scopedReads(t *testing.T, e *env, ctx context.Context) {
	w := e.newTwoTowns()
	// Town A's rows are visible, so the refusals below are about the town.
	if _, err := e.s.GetHousehold(ctx, w.a.h.ID, false); err != nil {
		t.Fatalf("GetHousehold of own town: %v", err)
	}
	if _, err := e.s.GetMember(ctx, w.a.h.ID, w.a.m.ID); err != nil {
		t.Fatalf("GetMember of own town: %v", err)
	}
	if got, err := e.s.LookupHousehold(ctx, w.a.m.IDNumber); err != nil || got.ID != w.a.h.ID {
		t.Fatalf("LookupHousehold of own town: %v, %v", got, err)
	}
	if _, err := e.s.GetCase(ctx, w.caseA.ID); err != nil {
		t.Fatalf("GetCase of own town: %v", err)
	}

	_, err := e.s.GetHousehold(ctx, w.b.h.ID, false)
	wantErr(t, err, repository.ErrNotFound, "GetHousehold of town B")
	_, err = e.s.GetHousehold(ctx, w.deletedB.ID, true)
	wantErr(t, err, repository.ErrNotFound, "GetHousehold(showDeleted) of town B")
	_, err = e.s.GetMember(ctx, w.b.h.ID, w.b.m.ID)
	wantErr(t, err, repository.ErrNotFound, "GetMember of town B")
	for _, n := range []string{w.b.h.ServicememberIDNumber, w.b.m.IDNumber} {
		_, err = e.s.LookupHousehold(ctx, n)
		wantErr(t, err, repository.ErrNotFound, "LookupHousehold of a town B number")
	}
	_, _, err = e.s.ListMembers(ctx, w.b.h.ID, repository.Page{})
	wantErr(t, err, repository.ErrNotFound, "ListMembers of town B")
	_, err = e.s.GetCase(ctx, w.caseB.ID)
	wantErr(t, err, repository.ErrNotFound, "GetCase of town B")
	_, _, err = e.s.ListNotes(ctx, w.caseB.ID, repository.Page{})
	wantErr(t, err, repository.ErrNotFound, "ListNotes of town B")
	_, _, err = e.s.ListHistory(ctx, w.caseB.ID, repository.Page{})
	wantErr(t, err, repository.ErrNotFound, "ListHistory of town B")

	for _, q := range []repository.HouseholdQuery{
		{}, {ShowDeleted: true}, {Filter: parse(t, `town_code = "`+townB+`"`, repository.HouseholdFilter), ShowDeleted: true},
	} {
		rows, _ := pages(t, 1, func(p repository.Page) ([]repository.Household, *repository.Cursor, error) {
			q.Page = p
			return e.s.ListHouseholds(ctx, q)
		})
		want := []string{w.a.h.ID}
		if len(q.Filter.Conditions) > 0 {
			want = nil
		}
		sameIDs(t, householdIDs(rows), want, "ListHouseholds in town A's scope")
	}
	for _, q := range []repository.CaseQuery{{}, {Filter: parse(t, `town_code = "`+townB+`"`, repository.CaseFilter)}} {
		rows, _ := pages(t, 1, func(p repository.Page) ([]repository.Case, *repository.Cursor, error) {
			q.Page = p
			return e.s.ListCases(ctx, q)
		})
		want := []string{w.caseA.ID}
		if len(q.Filter.Conditions) > 0 {
			want = nil
		}
		sameIDs(t, caseIDs(rows), want, "ListCases in town A's scope")
	}
}

func scopedWrites(t *testing.T, e *env, ctx context.Context) {
	w := e.newTwoTowns()
	entries := e.verified()
	called := false
	_, err := e.s.UpdateHousehold(ctx, w.b.h.ID, "", func(_ context.Context, h *repository.Household) error { called = true; h.Address = "x"; return nil })
	wantErr(t, err, repository.ErrNotFound, "UpdateHousehold of town B")
	_, err = e.s.DeleteHousehold(ctx, w.b.h.ID, "")
	wantErr(t, err, repository.ErrNotFound, "DeleteHousehold of town B")
	_, err = e.s.UndeleteHousehold(ctx, w.deletedB.ID, "")
	wantErr(t, err, repository.ErrNotFound, "UndeleteHousehold of town B")
	_, err = e.s.UpdateMember(ctx, w.b.h.ID, w.b.m.ID, "", func(_ context.Context, m *repository.Member) error { called = true; m.DisplayName = "x"; return nil })
	wantErr(t, err, repository.ErrNotFound, "UpdateMember of town B")
	err = e.s.DeleteMember(ctx, w.b.h.ID, w.b.m.ID, "")
	wantErr(t, err, repository.ErrNotFound, "DeleteMember of town B")
	err = e.s.CreateMember(ctx, &repository.Member{ID: uuid.NewString(), HouseholdID: w.b.h.ID,
		Relation: domain.RelationChild, DisplayName: "Test intruder", IDNumber: e.idNumber()})
	wantErr(t, err, repository.ErrNotFound, "CreateMember in a town B household")
	_, err = e.s.MutateCase(ctx, w.caseB.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
		called = true
		c.Assignee = "users/x"
		return nil, nil
	})
	wantErr(t, err, repository.ErrNotFound, "MutateCase of town B")
	err = e.s.CreateNote(ctx, &repository.Note{ID: uuid.NewString(), CaseID: w.caseB.ID, Body: "x", Author: "users/x"})
	wantErr(t, err, repository.ErrNotFound, "CreateNote on a town B case")
	err = e.s.CreateCase(ctx, e.caseFor(w.b), nil)
	wantErr(t, err, repository.ErrNotFound, "CreateCase for a town B household")
	if called {
		t.Error("a callback ran for a row of another town")
	}

	// Nothing changed: the county sees B's rows as they were.
	h, err := e.s.GetHousehold(e.ctx, w.b.h.ID, false)
	must(t, err, "GetHousehold")
	wantB := *w.b.h
	wantB.MemberCount = 1
	sameRow(t, h, &wantB, "town B household after refused writes")
	m, err := e.s.GetMember(e.ctx, w.b.h.ID, w.b.m.ID)
	must(t, err, "GetMember")
	sameRow(t, m, w.b.m, "town B member after refused writes")
	c, err := e.s.GetCase(e.ctx, w.caseB.ID)
	must(t, err, "GetCase")
	sameRow(t, c, w.caseB, "town B case after refused writes")
	if d, err := e.s.GetHousehold(e.ctx, w.deletedB.ID, true); err != nil || d.DeleteTime == nil {
		t.Fatalf("deleted town B household after refused undelete: %+v, %v", d, err)
	}
	if notes, _, err := e.s.ListNotes(e.ctx, w.caseB.ID, repository.Page{}); err != nil || len(notes) != 1 {
		t.Fatalf("town B case has %d notes (%v), want 1", len(notes), err)
	}
	if n := len(e.history(w.caseB.ID)); n != 2 {
		t.Fatalf("town B case has %d history entries, want 2", n)
	}
	if all := e.allCases(repository.CaseQuery{}); len(all) != 2 {
		t.Fatalf("%d cases stored, want 2", len(all))
	}
	if got := e.verified(); got != entries {
		t.Fatalf("refused writes appended %d audit entries", got-entries)
	}
}

func scopedWritesInto(t *testing.T, e *env, ctx context.Context) {
	a := e.newHousehold()
	entries := e.verified()
	h := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test B", ServicememberIDNumber: e.idNumber(),
		PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townB}
	wantErr(t, e.s.CreateHousehold(ctx, h), repository.ErrOutOfScope, "CreateHousehold in town B")
	_, err := e.s.GetHousehold(e.ctx, h.ID, true)
	wantErr(t, err, repository.ErrNotFound, "the refused household, seen county-wide")

	_, err = e.s.UpdateHousehold(ctx, a.ID, "", func(_ context.Context, h *repository.Household) error {
		h.TownCode, h.Address = townB, "Test moved"
		return nil
	})
	wantErr(t, err, repository.ErrOutOfScope, "UpdateHousehold moving town A's household to B")
	got, err := e.s.GetHousehold(e.ctx, a.ID, false)
	must(t, err, "GetHousehold")
	sameRow(t, got, a, "household after the refused move")
	if got := e.verified(); got != entries {
		t.Fatalf("refused writes appended %d audit entries", got-entries)
	}

	f := family{h: a, m: e.newMember(a)}
	c := e.newCase(f)
	entries = e.verified()
	_, err = e.s.MutateCase(ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
		c.TownCode = townB
		return &repository.HistoryEntry{Actor: "users/x", Method: "Move"}, nil
	})
	wantErr(t, err, repository.ErrOutOfScope, "MutateCase moving town A's case to B")
	gotCase, err := e.s.GetCase(e.ctx, c.ID)
	must(t, err, "GetCase")
	sameRow(t, gotCase, c, "case after the refused move")
	if n := len(e.history(c.ID)); n != 1 {
		t.Fatalf("refused move left %d history entries, want 1", n)
	}
	if got := e.verified(); got != entries {
		t.Fatalf("refused writes appended %d audit entries", got-entries)
	}

	// The same scope writes its own town.
	own := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test A", ServicememberIDNumber: e.idNumber(),
		PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townA}
	must(t, e.s.CreateHousehold(ctx, own), "CreateHousehold in town A")
	_, err = e.s.UpdateHousehold(ctx, own.ID, "", func(_ context.Context, h *repository.Household) error { h.Address = "Test 2"; return nil })
	must(t, err, "UpdateHousehold in town A")
}

var unscopedTests = []test{
	{"NoScopeSeesNothing", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		for name, ctx := range map[string]context.Context{
			"no scope or principal": context.Background(),
			"empty scope":           repository.WithScope(context.Background(), principal.Scope{}),
			"a supervisor with no scope set": principal.NewContext(context.Background(), &principal.Principal{
				ID: "users/nobody", Kind: principal.User, Roles: []principal.Role{principal.Supervisor}}),
		} {
			for _, f := range []family{w.a, w.b} {
				_, err := e.s.GetHousehold(ctx, f.h.ID, true)
				wantErr(t, err, repository.ErrNotFound, "%s: GetHousehold", name)
				_, err = e.s.LookupHousehold(ctx, f.h.ServicememberIDNumber)
				wantErr(t, err, repository.ErrNotFound, "%s: LookupHousehold", name)
				_, err = e.s.GetMember(ctx, f.h.ID, f.m.ID)
				wantErr(t, err, repository.ErrNotFound, "%s: GetMember", name)
				_, err = e.s.UpdateHousehold(ctx, f.h.ID, "", func(_ context.Context, _ *repository.Household) error { return nil })
				wantErr(t, err, repository.ErrNotFound, "%s: UpdateHousehold", name)
				err = e.s.CreateMember(ctx, &repository.Member{ID: uuid.NewString(), HouseholdID: f.h.ID, Relation: domain.RelationChild, DisplayName: "Test"})
				wantErr(t, err, repository.ErrNotFound, "%s: CreateMember", name)
				err = e.s.CreateCase(ctx, e.caseFor(f), nil)
				wantErr(t, err, repository.ErrNotFound, "%s: CreateCase", name)
			}
			for _, c := range []*repository.Case{w.caseA, w.caseB} {
				_, err := e.s.GetCase(ctx, c.ID)
				wantErr(t, err, repository.ErrNotFound, "%s: GetCase", name)
			}
			hs, _, err := e.s.ListHouseholds(ctx, repository.HouseholdQuery{ShowDeleted: true})
			must(t, err, "%s: ListHouseholds", name)
			cs, _, err := e.s.ListCases(ctx, repository.CaseQuery{})
			must(t, err, "%s: ListCases", name)
			if len(hs)+len(cs) != 0 {
				t.Fatalf("%s: lists show %d households and %d cases, want none", name, len(hs), len(cs))
			}
			for _, town := range []string{townA, townB} {
				h := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test", ServicememberIDNumber: e.idNumber(),
					PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: town}
				wantErr(t, e.s.CreateHousehold(ctx, h), repository.ErrOutOfScope, "%s: CreateHousehold in %s", name, town)
			}
		}
		if n := len(e.allHouseholds(repository.HouseholdQuery{ShowDeleted: true})); n != 3 {
			t.Fatalf("%d households stored, want the 3 fixtures", n)
		}
	}},
	{"CountyWideSeesAll", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		ctx := repository.WithScope(context.Background(), principal.Scope{All: true})
		hs, _, err := e.s.ListHouseholds(ctx, repository.HouseholdQuery{ShowDeleted: true})
		must(t, err, "ListHouseholds")
		sameIDs(t, householdIDs(hs), []string{w.a.h.ID, w.b.h.ID, w.deletedB.ID}, "ListHouseholds county-wide")
		cs, _, err := e.s.ListCases(ctx, repository.CaseQuery{})
		must(t, err, "ListCases")
		sameIDs(t, caseIDs(cs), []string{w.caseA.ID, w.caseB.ID}, "ListCases county-wide")
		for _, f := range []family{w.a, w.b} {
			got, err := e.s.LookupHousehold(ctx, f.m.IDNumber)
			if err != nil || got.ID != f.h.ID {
				t.Fatalf("LookupHousehold county-wide: %v, %v", got, err)
			}
			_, err = e.s.UpdateMember(ctx, f.h.ID, f.m.ID, "", func(_ context.Context, m *repository.Member) error { m.DisplayName = "Test renamed"; return nil })
			must(t, err, "UpdateMember county-wide")
		}
		_, err = e.s.UndeleteHousehold(ctx, w.deletedB.ID, "")
		must(t, err, "UndeleteHousehold county-wide")
		_, err = e.s.UpdateHousehold(ctx, w.a.h.ID, "", func(_ context.Context, h *repository.Household) error { h.TownCode = townB; return nil })
		must(t, err, "UpdateHousehold moving a household between towns county-wide")
		must(t, e.s.CreateNote(ctx, &repository.Note{ID: uuid.NewString(), CaseID: w.caseB.ID, Body: "Test", Author: "users/test-supervisor"}), "CreateNote county-wide")
	}},
}
