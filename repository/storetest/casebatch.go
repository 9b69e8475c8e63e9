package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// caseBatchTests hold MutateCases, the set-wise change of many cases that
// BatchAssignCases makes.
var caseBatchTests = []test{
	{"MutateCasesAssignsAllWithTheirTrail", func(t *testing.T, e *env) {
		ctx := withRecord(e.ctx, who)
		cs := e.storedCases(500)
		e.clock.Advance(e.step)
		auditBefore, headBefore := e.verified(), e.eventHead()
		got, err := e.s.MutateCases(ctx, editsOf(cs), assignTo(repository.Etag(1)))
		must(t, err, "MutateCases")
		if len(got) != len(cs) {
			t.Fatalf("%d cases back, want %d", len(got), len(cs))
		}
		for i, c := range got {
			if c.ID != cs[i].ID || c.Assignee != "caseworker-li" || c.Revision != 2 || !c.UpdateTime.Equal(e.nowStored()) {
				t.Fatalf("case %d back as %s, %q, revision %d, updated %v", i, c.ID, c.Assignee, c.Revision, c.UpdateTime)
			}
		}
		for _, i := range []int{0, 199, 200, 499} {
			stored, err := e.s.GetCase(e.ctx, cs[i].ID)
			must(t, err, "GetCase")
			sameRow(t, stored, got[i], "a batch-assigned case")
			h := e.history(cs[i].ID)
			last := h[len(h)-1]
			if len(h) != 2 || last.Method != "BatchAssignCases" || !slices.Equal(last.ChangedFields, []string{"assignee"}) ||
				last.FromStatus != cs[i].Status || !last.Time.Equal(e.nowStored()) {
				t.Fatalf("history of case %d: %+v", i, h)
			}
		}
		// One audit entry and one feed event per case, in the batch's
		// order, naming the changed column; the chain still verifies.
		if n := e.verified(); n != auditBefore+500 {
			t.Fatalf("%d audit entries after the batch, want %d", n, auditBefore+500)
		}
		log := e.auditLog()[auditBefore:]
		evs, _, err := e.s.ListEvents(e.ctx, repository.EventQuery{After: headBefore, Limit: 1000})
		must(t, err, "ListEvents")
		if len(evs) != 500 {
			t.Fatalf("%d events after the batch, want 500", len(evs))
		}
		for i, c := range cs {
			ev, a := evs[i], log[i]
			if ev.Position != headBefore+int64(i)+1 || ev.Resource != caseName(c) || ev.Etag != repository.Etag(2) ||
				!slices.Equal(ev.ChangedFields, []string{"assignee"}) || ev.Type != "Change" {
				t.Fatalf("event %d: %+v", i, ev)
			}
			if a.Resource != caseName(c) || a.Fields != "assignee" || a.Principal != who.Principal || a.Method != who.Method {
				t.Fatalf("audit entry %d: %+v", i, a)
			}
		}
		// Assigned again to the same: nothing to write, nothing recorded.
		again, err := e.s.MutateCases(ctx, editsOf(got[:3]), assignTo(repository.Etag(2)))
		must(t, err, "MutateCases to the same assignee")
		if again[2].Revision != 2 || e.eventHead() != headBefore+500 || e.verified() != auditBefore+500 {
			t.Fatalf("an unchanged batch wrote: revision %d, event head %d", again[2].Revision, e.eventHead())
		}
	}},
	{"MutateCasesRefusesAndChangesNothing", func(t *testing.T, e *env) {
		ctx := withRecord(e.ctx, who)
		cs := e.storedCases(12)
		far := e.newCase(e.newFamily(inTown(townB)), withStatus(domain.StatusClosed))
		auditBefore, headBefore := e.verified(), e.eventHead()
		unchanged := func(what string) {
			t.Helper()
			if e.verified() != auditBefore || e.eventHead() != headBefore {
				t.Fatalf("%s: the refused batch left audit entries or events", what)
			}
			for _, c := range append(slices.Clone(cs), far) {
				stored, err := e.s.GetCase(e.ctx, c.ID)
				must(t, err, "GetCase")
				if stored.Revision != 1 || stored.Assignee != "" || len(e.history(c.ID)) != 1 {
					t.Fatalf("%s: case %s changed by a refused batch", what, c.ID)
				}
			}
		}

		// A stale etag: that item is named, nothing changes.
		edits := editsOf(cs)
		edits[7].Etag = repository.Etag(9)
		_, err := e.s.MutateCases(ctx, edits, assignTo(""))
		wantItems(t, err, "[7]", "a stale etag")
		wantErr(t, itemErr(err, 0), repository.ErrEtagMismatch, "the stale item")
		unchanged("a stale etag")

		// A case in a town the assignee may not work in: fn's refusal.
		_, err = e.s.MutateCases(ctx, append(editsOf(cs[:5]), repository.CaseEdit{ID: far.ID}), assignTo(""))
		wantItems(t, err, "[5]", "a case outside the assignee's towns")
		wantPrecondition(t, itemErr(err, 0), "ASSIGNEE_NOT_IN_TOWN", "the far case")
		unchanged("a case outside the assignee's towns")

		// The same case twice, and a case the caller's towns do not reach.
		inA := repository.WithScope(ctx, principal.Scope{Towns: []string{townA}})
		twice := append(editsOf(cs[:4]), repository.CaseEdit{ID: cs[1].ID}, repository.CaseEdit{ID: far.ID})
		_, err = e.s.MutateCases(inA, twice, assignTo(""))
		wantItems(t, err, "[4 5]", "a case named twice and one out of scope")
		var invalid *domain.ValidationError
		if !errors.As(itemErr(err, 0), &invalid) {
			t.Fatalf("the second naming of a case: %v, want a validation error", itemErr(err, 0))
		}
		wantErr(t, itemErr(err, 1), repository.ErrNotFound, "the case out of scope")
		unchanged("a case named twice")

		// An item the caller refused (no id): the rest are checked, and
		// nothing is written.
		edits = editsOf(cs)
		edits[2] = repository.CaseEdit{}
		got, err := e.s.MutateCases(ctx, edits, assignTo(""))
		if err != nil || got != nil {
			t.Fatalf("with an item the caller refused: %v, %d cases; want nil, none", err, len(got))
		}
		edits[9].Etag = repository.Etag(9)
		_, err = e.s.MutateCases(ctx, edits, assignTo(""))
		wantItems(t, err, "[9]", "a stale etag beside an item the caller refused")
		unchanged("an item the caller refused")
	}},
}

// storedCases stores n closed legal-aid cases in town A, with one history
// entry each. The store does not judge the action (the service's step
// does), and closed cases can share one member.
func (e *env) storedCases(n int) []*repository.Case {
	e.t.Helper()
	f := e.newFamily(inTown(townA))
	cs := make([]*repository.Case, n)
	hists := make([]*repository.HistoryEntry, n)
	for i := range cs {
		cs[i] = e.caseFor(f, withStatus(domain.StatusClosed))
		hists[i] = creationEntry(cs[i])
	}
	must(e.t, e.s.CreateCases(e.ctx, cs, hists), "CreateCases")
	return cs
}

func editsOf(cs []*repository.Case) []repository.CaseEdit {
	out := make([]repository.CaseEdit, len(cs))
	for i, c := range cs {
		out[i] = repository.CaseEdit{ID: c.ID, Etag: repository.Etag(c.Revision)}
	}
	return out
}

// assignTo is the change BatchAssignCases makes, to a directory entry of
// town A: the town rule, then the assignee, with its history entry. A
// non-empty etag is the one every case must show fn.
func assignTo(etag string) func(context.Context, int, *repository.Case) (*repository.HistoryEntry, error) {
	li := domain.Assignee{Name: "assignees/caseworker-li", Towns: []string{townA}, Active: true}
	return func(_ context.Context, _ int, c *repository.Case) (*repository.HistoryEntry, error) {
		if etag != "" && repository.Etag(c.Revision) != etag {
			return nil, fmt.Errorf("fn saw case %s at %s, want %s", c.ID, repository.Etag(c.Revision), etag)
		}
		if err := domain.CheckAssignee(li, c.TownCode); err != nil {
			return nil, err
		}
		c.Assignee = "caseworker-li"
		return &repository.HistoryEntry{Actor: who.Principal, Method: "BatchAssignCases", FromStatus: c.Status, ToStatus: c.Status,
			ChangedFields: repository.List[string]{"assignee"}}, nil
	}
}

// wantItems checks which items a refused batch names.
func wantItems(t *testing.T, err error, want, what string) {
	t.Helper()
	if got := fmt.Sprint(refusedItems(t, err)); got != want {
		t.Fatalf("%s: refused items %s, want %s", what, got, want)
	}
}

// itemErr is the error of the k-th item a refused batch names.
func itemErr(err error, k int) error {
	var be *domain.BatchError
	if !errors.As(err, &be) || k >= len(be.Items) {
		return nil
	}
	return be.Items[k].Err
}
