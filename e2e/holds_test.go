package e2e

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/testclock"
	"github.com/fengdu-county/casework/repository"
)

// Holds (CASE_HOLD) on two servers sharing the database, both running the
// job queue, on a stopped clock: every instant the server stamps is the
// one the test set, so the clock arithmetic is checked to the nanosecond.

func (c *client) Hold(name, etag, reason string, days int32) (*pb.Case, error) {
	return c.transition("Hold", &pb.HoldCaseRequest{Name: name, Etag: etag, Reason: reason, Days: days})
}

func (c *client) Resume(name, etag, note string) (*pb.Case, error) {
	return c.transition("Resume", &pb.ResumeCaseRequest{Name: name, Etag: etag, Note: note})
}

// startHolds serves the env's database from two servers with fast job
// queues, on a clock stopped at clockBase.
func startHolds(t *testing.T, e *env) {
	t.Helper()
	e.clock = testclock.Stopped(clockBase)
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	e.serveWith(t, e.secondStore(t), fastJobs)
}

// heldCase opens and submits an elder-medical-help case (a 3-day county
// service target) in town A.
func heldCase(t *testing.T, e *env, c *client) *pb.Case {
	t.Helper()
	f := e.family(t, c)
	cs := must(c.CreateCase(elderCase(f))).ok(t)
	return must(c.Submit(cs.GetName(), "")).ok(t)
}

func testHolds(t *testing.T, e *env) {
	startHolds(t, e)
	e.eachClient(t, func(t *testing.T, c *client) { holdAndResume(t, e, c) })
	t.Run("refusals", func(t *testing.T) { holdRefusals(t, e) })
	t.Run("scope", func(t *testing.T) { holdScope(t, e) })
	t.Run("ends_by_itself", func(t *testing.T) { holdEndsByItself(t, e) })
	t.Run("manual_resume_first", func(t *testing.T) { holdResumedFirst(t, e) })
}

// holdAndResume: hold → time passes → resume; due = resume + what was left.
func holdAndResume(t *testing.T, e *env, c *client) {
	submitted := heldCase(t, e, c)
	n := submitted.GetName()
	due0 := submitted.GetDueTime().AsTime()
	holdAt := e.clock.Now()
	left := due0.Sub(holdAt)

	held := must(c.Hold(n, submitted.GetEtag(), "等待医院专家会诊排期", 10)).ok(t)
	h := held.GetHold()
	if h == nil || h.GetReason() != "等待医院专家会诊排期" || h.GetHolder() != supervisorUser ||
		!h.GetStartTime().AsTime().Equal(holdAt) || !h.GetEndTime().AsTime().Equal(holdAt.Add(240*time.Hour)) {
		t.Fatalf("hold = %v, want the reason, the supervisor, %s and 10 days later", h, holdAt)
	}
	if held.GetDueTime() != nil || held.GetStatus() != submitted.GetStatus() || held.GetEtag() == submitted.GetEtag() || held.GetHoldCount() != 1 {
		t.Errorf("held: due %v status %s etag %s→%s holds %d; want no due time, the same status, a new etag, 1 hold",
			held.GetDueTime(), held.GetStatus(), submitted.GetEtag(), held.GetEtag(), held.GetHoldCount())
	}
	wantClockIs(t, held, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_PAUSED, due0)
	wantPolicies(t, held, "CASE_HOLD")

	// Past the clock's old due time the held case is neither overdue nor
	// movable, and the held filter finds it.
	e.clock.Advance(4*24*time.Hour + 90*time.Minute)
	if got := names(must(c.ListCases(&pb.ListCasesRequest{Filter: "overdue = true"})).ok(t).GetCases()); slices.Contains(got, n) {
		t.Errorf("a held case is listed as overdue")
	}
	if got := names(must(c.ListCases(&pb.ListCasesRequest{Filter: "held = true", PageSize: 500})).ok(t).GetCases()); !slices.Contains(got, n) {
		t.Errorf("held = true does not list the held case")
	}
	if got := names(must(c.ListCases(&pb.ListCasesRequest{Filter: "held = false", PageSize: 500})).ok(t).GetCases()); slices.Contains(got, n) {
		t.Errorf("held = false lists the held case")
	}
	wantReason(t, must(c.Hold(n, "", "again", 3)).fails(t, codes.FailedPrecondition), pb.ErrorReason_CASE_ON_HOLD)
	wantReason(t, must(c.Accept(n)).fails(t, codes.FailedPrecondition), pb.ErrorReason_CASE_ON_HOLD)
	assigned := must(c.Assign(n, "caseworker-mingshan-01")).ok(t) // bookkeeping goes on
	if assigned.GetHold() == nil || assigned.GetDaysOpen() != 4 || assigned.GetDaysWaiting() != 0 {
		t.Errorf("assigned while held: hold %v, days open %d waiting %d; want held, 4 and 0",
			assigned.GetHold(), assigned.GetDaysOpen(), assigned.GetDaysWaiting())
	}

	resumeAt := e.clock.Now()
	resumed := must(c.Resume(n, assigned.GetEtag(), "会诊提前")).ok(t)
	if want := resumeAt.Add(left); resumed.GetDueTime() == nil || !resumed.GetDueTime().AsTime().Equal(want) {
		t.Errorf("due after resume = %v, want %s (the resume plus the %s left)", resumed.GetDueTime().AsTime(), want, left)
	}
	if resumed.GetHold() != nil || resumed.GetHoldCount() != 1 || resumed.GetEtag() == assigned.GetEtag() {
		t.Errorf("resumed: hold %v, holds %d, etag unchanged %v", resumed.GetHold(), resumed.GetHoldCount(), resumed.GetEtag() == assigned.GetEtag())
	}
	wantClockIs(t, resumed, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, resumeAt.Add(left))
	wantReason(t, must(c.Resume(n, "", "")).fails(t, codes.FailedPrecondition), pb.ErrorReason_CASE_NOT_ON_HOLD)

	// A day later: open 5 days, of which 4 on hold.
	e.clock.Advance(24 * time.Hour)
	got := must(c.GetCase(n)).ok(t)
	if got.GetDaysOpen() != 5 || got.GetDaysWaiting() != 1 {
		t.Errorf("days open %d waiting %d, want 5 and 1", got.GetDaysOpen(), got.GetDaysWaiting())
	}
	wantHoldHistory(t, c, n, []string{"HoldCase", "ResumeCase"}, supervisorUser)
	if entries := auditEntries(t, e, `resource = "`+n+`" AND method = "/casework.v1.CaseService/HoldCase"`); len(entries) != 1 {
		t.Errorf("%d audit entries of HoldCase, want 1", len(entries))
	}
	if evs := caseEvents(t, e, n, "ResumeCase"); len(evs) != 1 {
		t.Errorf("%d ResumeCase events, want 1", len(evs))
	}
}

// wantHoldHistory: the case's hold and resume entries, in order, by actor,
// each keeping the status.
func wantHoldHistory(t *testing.T, c *client, name string, methods []string, actors ...string) {
	t.Helper()
	var got []string
	for _, h := range must(c.History(name)).ok(t).GetEntries() {
		if h.GetMethod() != "HoldCase" && h.GetMethod() != "ResumeCase" {
			continue
		}
		got = append(got, h.GetMethod())
		if want := actors[min(len(got), len(actors))-1]; h.GetActor() != want || h.GetFromStatus() != h.GetToStatus() ||
			!slices.Contains(h.GetChangedFields(), "hold") {
			t.Errorf("history %s by %s (%s→%s, %v), want by %s, the status kept, hold changed",
				h.GetMethod(), h.GetActor(), h.GetFromStatus(), h.GetToStatus(), h.GetChangedFields(), want)
		}
	}
	if !slices.Equal(got, methods) {
		t.Errorf("hold history %v, want %v", got, methods)
	}
}

// caseEvents are the feed's events of the case of type typ.
func caseEvents(t *testing.T, e *env, name, typ string) []*pb.Event {
	t.Helper()
	c := e.grpcClient(t)
	var out []*pb.Event
	for after := int64(0); ; {
		resp := must(c.ListEvents(after)).ok(t)
		for _, ev := range resp.GetEvents() {
			if ev.GetResource() == name && ev.GetType() == typ {
				out = append(out, ev)
			}
		}
		if resp.GetNextAfter() >= resp.GetHeadPosition() || resp.GetNextAfter() == after {
			return out
		}
		after = resp.GetNextAfter()
	}
}

// holdRefusals: bad requests, statuses that cannot be held, and the
// statutory clocks a county hold cannot stop (CASE_HOLD_STATUTORY_CLOCKS).
func holdRefusals(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		draft := must(c.CreateCase(elderCase(f))).ok(t)
		n := draft.GetName()
		for _, days := range []int32{0, -1, 181} {
			wantViolation(t, must(c.Hold(n, "", "理由", days)).fails(t, codes.InvalidArgument), "days")
		}
		wantViolation(t, must(c.Hold(n, "", "", 5)).fails(t, codes.InvalidArgument), "reason")
		wantReason(t, must(c.Hold(n, "", "理由", 5)).fails(t, codes.FailedPrecondition), pb.ErrorReason_ILLEGAL_TRANSITION)
		wantReason(t, must(c.Resume(n, "", "")).fails(t, codes.FailedPrecondition), pb.ErrorReason_CASE_NOT_ON_HOLD)
		submitted := must(c.Submit(n, "")).ok(t)
		must(c.Hold(n, "stale", "理由", 5)).fails(t, codes.Aborted)
		if got := must(c.GetCase(n)).ok(t); got.GetEtag() != submitted.GetEtag() || got.GetHold() != nil {
			t.Errorf("a refused hold changed the case")
		}

		legal := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
		must(c.Submit(legal.GetName(), "")).ok(t)
		st := must(c.Hold(legal.GetName(), "", "等待对方回复", 5)).fails(t, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_HOLD_STATUTORY_CLOCK)
		wantRuleInfo(t, st, "CASE_HOLD_STATUTORY_CLOCKS")

		// The family may withdraw a held case: the hold ends with it.
		must(c.Hold(n, "", "家属外出务工", 30)).ok(t)
		withdrawn := must(c.Withdraw(n, "不再需要")).ok(t)
		if withdrawn.GetHold() != nil || withdrawn.GetStatus() != pb.CaseStatus_CASE_STATUS_WITHDRAWN {
			t.Errorf("withdrawn while held: hold %v status %s", withdrawn.GetHold(), withdrawn.GetStatus())
		}
	})
}

// holdScope: caseworkers and supervisors hold; a case of another town is
// not found; the other roles may not.
func holdScope(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	kase := heldCase(t, e, sup)
	n := kase.GetName()
	for _, c := range e.clientsAs(t, e.token(t, "caseworker-town-b", []principal.Role{principal.Caseworker}, townB)) {
		c.t = t
		must(c.Hold(n, "", "理由", 5)).fails(t, codes.NotFound)
		must(c.Resume(n, "", "")).fails(t, codes.NotFound)
	}
	for _, r := range []principal.Role{principal.Auditor, principal.Integration, principal.Batch} {
		for _, c := range e.clientsAs(t, e.roleToken(t, r)) {
			c.t = t
			must(c.Hold(n, "", "理由", 5)).fails(t, codes.PermissionDenied)
		}
	}
	worker := e.clientsAs(t, e.roleToken(t, principal.Caseworker))
	req := &pb.HoldCaseRequest{Name: n, Reason: "等待学校分班结果", Days: 7, RequestId: "hold-" + kase.GetCaseNumber()}
	held := must(worker[1].transition("Hold", req)).ok(t)
	if held.GetHold().GetHolder() != roleUsers[principal.Caseworker] {
		t.Errorf("holder %q, want the caseworker", held.GetHold().GetHolder())
	}
	// A retry with the same request id answers the first hold again
	// (AIP-155), on either transport, instead of CASE_ON_HOLD.
	for _, c := range worker {
		if again := must(c.transition("Hold", req)).ok(t); again.GetEtag() != held.GetEtag() || again.GetHoldCount() != 1 {
			t.Errorf("%s: retried hold answered etag %s holds %d, want the first answer (%s, 1)", c.name, again.GetEtag(), again.GetHoldCount(), held.GetEtag())
		}
	}
	must(worker[0].Resume(n, "", "")).ok(t)
}

// waitHold polls the case until its hold is gone, for at most 10 s.
func waitHold(t *testing.T, c *client, name string) *pb.Case {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs := must(c.GetCase(name)).ok(t)
		if cs.GetHold() == nil {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hold did not end by itself within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdEndsByItself: with two servers running the job queue, a hold past its
// end time resumes once, as of its end time, by "system".
func holdEndsByItself(t *testing.T, e *env) {
	c := e.grpcClient(t)
	kase := heldCase(t, e, c)
	n := kase.GetName()
	left := kase.GetDueTime().AsTime().Sub(e.clock.Now())
	held := must(c.Hold(n, "", "等待体检报告", 2)).ok(t)
	end := held.GetHold().GetEndTime().AsTime()
	time.Sleep(500 * time.Millisecond) // jobs run before the end change nothing
	if must(c.GetCase(n)).ok(t).GetHold() == nil {
		t.Fatal("the hold ended before its end time")
	}
	e.clock.Advance(2*24*time.Hour + 5*time.Minute)
	waitHold(t, c, n)
	time.Sleep(time.Second) // several more runs on each server
	resumed := must(c.GetCase(n)).ok(t)
	if want := end.Add(left); resumed.GetDueTime() == nil || !resumed.GetDueTime().AsTime().Equal(want) {
		t.Errorf("due after the hold ended = %v, want %s (its end plus the %s left)", resumed.GetDueTime().AsTime(), want, left)
	}
	wantHoldHistory(t, c, n, []string{"HoldCase", "ResumeCase"}, supervisorUser, "system")
	if evs := caseEvents(t, e, n, repository.EventTypeServer); len(evs) != 1 {
		t.Errorf("%d server events of the case, want 1", len(evs))
	}
	if entries := auditEntries(t, e, `resource = "`+n+`" AND principal = "system"`); len(entries) != 1 {
		t.Errorf("%d audit entries by system, want 1 (the resume)", len(entries))
	}
	if cs := must(e.httpClient(t).GetCase(n)).ok(t); cs.GetHold() != nil || cs.GetDaysOpen() != 2 || cs.GetDaysWaiting() != 0 {
		t.Errorf("over HTTP: hold %v, days open %d waiting %d; want none, 2, 0", cs.GetHold(), cs.GetDaysOpen(), cs.GetDaysWaiting())
	}
}

// holdResumedFirst: a hold resumed by hand before its end is not resumed
// again when the end passes.
func holdResumedFirst(t *testing.T, e *env) {
	c := e.httpClient(t)
	kase := heldCase(t, e, c)
	n := kase.GetName()
	must(c.Hold(n, "", "等待家属返乡", 1)).ok(t)
	e.clock.Advance(time.Hour)
	must(c.Resume(n, "", "家属已返乡")).ok(t)
	e.clock.Advance(2 * 24 * time.Hour)
	time.Sleep(time.Second) // several runs of the job on each server
	wantHoldHistory(t, c, n, []string{"HoldCase", "ResumeCase"}, supervisorUser)
}
