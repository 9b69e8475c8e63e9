package service

import (
	"sync"
	"testing"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/testclock"
)

// TestEndHoldsOnceUnderConcurrentRuns: runs of the hold-end job that
// overlap (a run rescued while the first still works) end a hold once,
// as of its end time.
func TestEndHoldsOnceUnderConcurrentRuns(t *testing.T) {
	clock := testclock.Stopped(china(2026, 3, 2, 10, 0))
	h := newHandlersAt(t, clock.Now)
	hh := h.household("500230101")
	father, _ := h.member(hh.GetName(), pb.Relation_RELATION_FATHER, time.Date(1950, 5, 1, 0, 0, 0, 0, time.UTC))
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: father.GetName(),
		Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{Need: pb.ElderNeed_ELDER_NEED_ESCORT}}}})).ok(t)
	c = got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: c.GetName()})).ok(t)
	left := c.GetDueTime().AsTime().Sub(clock.Now())
	c = got(h.cases.HoldCase(h.ctx, &pb.HoldCaseRequest{Name: c.GetName(), Reason: "等待转诊", Days: 3})).ok(t)
	end := c.GetHold().GetEndTime().AsTime()

	if err := h.cases.EndHolds(h.ctx); err != nil {
		t.Fatal(err)
	}
	if got(h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: c.GetName()})).ok(t).GetHold() == nil {
		t.Fatal("a run before the end resumed the hold")
	}
	clock.Set(end.Add(time.Hour))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = h.cases.EndHolds(h.ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("EndHolds: %v", err)
		}
	}
	after := got(h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: c.GetName()})).ok(t)
	if after.GetHold() != nil || !after.GetDueTime().AsTime().Equal(end.Add(left)) {
		t.Errorf("after the hold's end: hold %v due %v, want none and %s", after.GetHold(), after.GetDueTime().AsTime(), end.Add(left))
	}
	resumes := 0
	for _, e := range got(h.cases.ListCaseHistory(h.ctx, &pb.ListCaseHistoryRequest{Parent: c.GetName()})).ok(t).GetEntries() {
		if e.GetMethod() == "ResumeCase" {
			resumes++
			if e.GetActor() != "system" {
				t.Errorf("resumed by %q, want system", e.GetActor())
			}
		}
	}
	if resumes != 1 {
		t.Errorf("%d resumes in the history, want 1", resumes)
	}
}

// TestHoldLegalAidOnceItsStatutoryClocksStopped: a legal-aid case whose
// decision and lawyer clocks have stopped may be held
// (CASE_HOLD_STATUTORY_CLOCKS refuses only while one runs).
func TestHoldLegalAidOnceItsStatutoryClocksStopped(t *testing.T) {
	clock := testclock.Stopped(china(2026, 3, 2, 10, 0))
	h := newHandlersAt(t, clock.Now)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Counterparty: "某公司"}}}})).ok(t)
	name := c.GetName()
	got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: name})).ok(t)
	_, err := h.cases.HoldCase(h.ctx, &pb.HoldCaseRequest{Name: name, Reason: "等待", Days: 5})
	wantRefusal(t, err, domain.RuleHoldStatutory)
	got(h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: name})).ok(t)
	_, err = h.cases.HoldCase(h.ctx, &pb.HoldCaseRequest{Name: name, Reason: "等待", Days: 5})
	wantRefusal(t, err, domain.RuleHoldStatutory)
	got(h.cases.AssignCase(h.ctx, &pb.AssignCaseRequest{Name: name, Assignee: "律师事务所-01"})).ok(t)
	c = got(h.cases.HoldCase(h.ctx, &pb.HoldCaseRequest{Name: name, Reason: "等待法院排期", Days: 60})).ok(t)
	if c.GetHold() == nil || c.GetDueTime() != nil {
		t.Errorf("held: hold %v due %v", c.GetHold(), c.GetDueTime())
	}
	wantBasis(t, c, domain.RuleCaseHold)
}
