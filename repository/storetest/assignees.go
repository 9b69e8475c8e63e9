package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// assigneeTests hold the assignee directory, the workload count and the
// one open case of a kind per member.
var assigneeTests = []test{
	{"DirectoryScopedByTowns", func(t *testing.T, e *env) {
		a := &repository.Assignee{ID: "caseworker-li", DisplayName: "李敏", TownCodes: repository.List[string]{townA}, Active: true}
		must(t, e.s.CreateAssignee(e.ctx, a), "CreateAssignee")
		var conflict *repository.ConflictError
		if err := e.s.CreateAssignee(e.ctx, &repository.Assignee{ID: a.ID, DisplayName: "x", TownCodes: repository.List[string]{townA}}); !errors.As(err, &conflict) || conflict.Resource != "assignees/caseworker-li" {
			t.Fatalf("a second entry with the id: %v", err)
		}
		inB := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townB}})
		_, err := e.s.GetAssignee(inB, a.ID)
		wantErr(t, err, repository.ErrNotFound, "GetAssignee from another town")
		_, err = e.s.UpdateAssignee(inB, a.ID, "", func(a *repository.Assignee) error { a.Active = false; return nil })
		wantErr(t, err, repository.ErrNotFound, "UpdateAssignee from another town")
		inA := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		_, err = e.s.UpdateAssignee(inA, a.ID, "", func(a *repository.Assignee) error {
			a.TownCodes = append(a.TownCodes, townB)
			return nil
		})
		wantErr(t, err, repository.ErrOutOfScope, "adding a town the caller does not reach")
		got, err := e.s.UpdateAssignee(e.ctx, a.ID, repository.Etag(1), func(a *repository.Assignee) error {
			a.TownCodes = repository.List[string]{townA, townB}
			return nil
		})
		must(t, err, "UpdateAssignee")
		if got.Revision != 2 {
			t.Fatalf("revision %d after a change", got.Revision)
		}
		if _, err := e.s.GetAssignee(inB, a.ID); err != nil {
			t.Fatalf("town B reads the entry once listed for it: %v", err)
		}
		rows, _, err := e.s.ListAssignees(inB, parse(t, `town_code = "`+townB+`"`, repository.AssigneeFilter), repository.Page{})
		must(t, err, "ListAssignees")
		if len(rows) != 1 {
			t.Fatalf("%d entries listed for town B", len(rows))
		}
	}},
	{"WorkloadCountsOpenCasesInScope", func(t *testing.T, e *env) {
		due := e.nowStored().Add(time.Hour)
		past := e.nowStored().Add(-time.Hour)
		assigned := func(c *repository.Case) { c.Assignee = "caseworker-wang" }
		a, b := e.newFamily(inTown(townA)), e.newFamily(inTown(townB))
		e.newCase(a, assigned, withStatus(domain.StatusSubmitted), withDue(&past))
		e.newCase(a, assigned, withStatus(domain.StatusAccepted), withDue(&due))
		e.newCase(a, assigned, withStatus(domain.StatusClosed))
		e.newCase(a, withStatus(domain.StatusSubmitted))
		e.newCase(b, assigned, withStatus(domain.StatusSubmitted), withDue(&past))
		now := e.nowStored()
		w, err := e.s.AssigneeWorkload(e.ctx, "caseworker-wang", now, now.Add(48*time.Hour))
		must(t, err, "AssigneeWorkload")
		if len(w.Counts) != 2 || w.Overdue != 2 || w.DueSoon != 1 {
			t.Fatalf("county-wide workload %+v", w)
		}
		inA := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		w, err = e.s.AssigneeWorkload(inA, "caseworker-wang", now, now.Add(48*time.Hour))
		must(t, err, "AssigneeWorkload in town A")
		var open int64
		for _, c := range w.Counts {
			open += c.Count
		}
		if open != 2 || w.Overdue != 1 {
			t.Fatalf("town A workload %+v", w)
		}
	}},
	{"OneOpenCaseOfAKindPerMember", func(t *testing.T, e *env) {
		f := e.newFamily(inTown(townA))
		first := e.newCase(f)
		second := e.caseFor(f)
		err := e.s.CreateCase(e.ctx, second, creationEntry(second))
		wantPrecondition(t, err, "OPEN_CASE_EXISTS", "a second open case")
		if p, _ := domain.AsPrecondition(err); p.Subject != "cases/"+first.ID {
			t.Fatalf("pointer %q", p.Subject)
		}
		var batch *domain.BatchError
		err = e.s.CreateCases(e.ctx, []*repository.Case{e.caseFor(f), e.caseFor(f, withStatus(domain.StatusClosed))}, nil)
		if !errors.As(err, &batch) || len(batch.Items) != 1 || batch.Items[0].Index != 0 {
			t.Fatalf("a batch with a second open case: %v", err)
		}
		wantPrecondition(t, batch.Items[0].Err, "OPEN_CASE_EXISTS", "the batch's open case")
		// Closed, the kind opens again; reopening the closed one is refused.
		e.setStatus(first, domain.StatusClosed)
		again := e.caseFor(f)
		must(t, e.s.CreateCase(e.ctx, again, creationEntry(again)), "CreateCase once the first is closed")
		_, err = e.s.MutateCase(e.ctx, first.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Status = domain.StatusInProgress
			return nil, nil
		})
		wantPrecondition(t, err, "OPEN_CASE_EXISTS", "reopening beside an open case")
	}},
}
