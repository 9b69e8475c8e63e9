package domain

import (
	"testing"
	"time"
)

var holdBase = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

// TestHoldClockArithmetic: a clock held with 2 days 5 hours left runs on
// after the resume with exactly that left (CASE_HOLD), and a clock overdue
// when held is as overdue after it; clocks already stopped stay stopped.
func TestHoldClockArithmetic(t *testing.T) {
	due := holdBase.Add(53 * time.Hour)
	late := holdBase.Add(-3 * time.Hour)
	met := holdBase.Add(-time.Hour)
	clocks := Clocks{
		{Kind: ClockServiceTarget, State: ClockRunning, Start: holdBase.Add(-24 * time.Hour), Due: due, Rule: RuleElderTarget},
		{Kind: ClockAssignment, State: ClockMet, Start: holdBase.Add(-48 * time.Hour), Due: late, Stop: &met, Rule: RuleLegalAidAssign},
	}
	held := clocks.Hold(holdBase)
	if c, _ := held.Get(ClockServiceTarget); c.State != ClockPaused || !c.Held || !c.Stop.Equal(holdBase) {
		t.Fatalf("held clock = %+v, want PAUSED by the hold at %s", c, holdBase)
	}
	if held.Due() != nil {
		t.Errorf("a held case's due time = %v, want none", held.Due())
	}
	if c, _ := held.Get(ClockAssignment); c.State != ClockMet || c.Held {
		t.Errorf("a met clock changed under the hold: %+v", c)
	}
	resume := holdBase.Add(10*24*time.Hour + 17*time.Minute)
	back := held.Unhold(resume)
	c, _ := back.Get(ClockServiceTarget)
	if want := resume.Add(53 * time.Hour); c.State != ClockRunning || c.Held || c.Stop != nil || !c.Due.Equal(want) {
		t.Errorf("resumed clock = %+v, want RUNNING due %s", c, want)
	}
	if d := back.Due(); d == nil || !d.Equal(resume.Add(53*time.Hour)) {
		t.Errorf("due after resume = %v", d)
	}

	overdue := Clocks{{Kind: ClockServiceTarget, State: ClockRunning, Due: late, Rule: RuleSchoolTarget}}
	c, _ = overdue.Hold(holdBase).Unhold(resume).Get(ClockServiceTarget)
	if want := resume.Add(-3 * time.Hour); !c.Due.Equal(want) {
		t.Errorf("an overdue clock resumes due %s, want %s (as overdue as when held)", c.Due, want)
	}

	// A clock paused for materials is not the hold's: the resume leaves it.
	materials := Clocks{{Kind: ClockDecision, State: ClockRunning, Due: due, Rule: RuleLegalAidDecision}}.Pause(ClockDecision, holdBase)
	if c, _ := materials.Unhold(resume).Get(ClockDecision); c.State != ClockPaused {
		t.Errorf("a clock paused for materials was resumed by a hold's end: %+v", c)
	}
	// Stopping a held clock (a withdrawal) forgets the hold's mark.
	if c, _ := held.Stop(ClockServiceTarget, resume).Get(ClockServiceTarget); c.Held {
		t.Errorf("a stopped clock still marked held: %+v", c)
	}
}

func TestHoldEnd(t *testing.T) {
	if got, want := HoldEnd(holdBase, 30), holdBase.Add(720*time.Hour); !got.Equal(want) {
		t.Errorf("HoldEnd = %s, want %s", got, want)
	}
}

// TestHoldStatutoryClocks: a running clock of the Legal Aid Law refuses a
// hold (CASE_HOLD_STATUTORY_CLOCKS); the county's service targets and
// stopped statutory clocks do not.
func TestHoldStatutoryClocks(t *testing.T) {
	d := DefaultDeadlines()
	stopped := stopOne(d.Assignment(holdBase), holdBase)
	for _, tc := range []struct {
		name   string
		clocks Clocks
		refuse bool
	}{
		{"decision", Clocks{d.Decision(holdBase)}, true},
		{"assignment", Clocks{d.Assignment(holdBase)}, true},
		{"objection", Clocks{d.Objection(holdBase)}, true},
		{"materials", Clocks{Materials(holdBase, holdBase.AddDate(0, 0, 5))}, true},
		{"assignment met", Clocks{stopped}, false},
		{"elder target", d.Submitted(KindElderMedicalHelp, holdBase, "", 0), false},
		{"school target", d.Submitted(KindSchoolEnrollment, holdBase, "", 0), false},
		{"placement plan", d.Submitted(KindEmploymentPlacement, holdBase, "", 0), false},
		{"none", nil, false},
	} {
		err := CheckHold(tc.clocks)
		p, ok := AsPrecondition(err)
		if tc.refuse && (!ok || p.Type != "HOLD_STATUTORY_CLOCK" || p.Rule != RuleHoldStatutory) {
			t.Errorf("%s: CheckHold = %v, want HOLD_STATUTORY_CLOCK", tc.name, err)
		}
		if !tc.refuse && err != nil {
			t.Errorf("%s: CheckHold = %v, want nil", tc.name, err)
		}
	}
}

func stopOne(c Clock, t time.Time) Clock { s, _ := Clocks{c}.Stop(c.Kind, t).Get(c.Kind); return s }

// TestCheckHeld: what a hold allows (CASE_HOLD).
func TestCheckHeld(t *testing.T) {
	for _, a := range allActions {
		err := CheckHeld(true, a)
		allowed := a == ActionAssign || a == ActionDecideEligibility || a == ActionWithdraw || a == ActionResume
		if p, ok := AsPrecondition(err); !allowed && (!ok || p.Type != "CASE_ON_HOLD") {
			t.Errorf("CheckHeld(held, %s) = %v, want CASE_ON_HOLD", a, err)
		} else if allowed && err != nil {
			t.Errorf("CheckHeld(held, %s) = %v, want nil", a, err)
		}
		err = CheckHeld(false, a)
		if p, ok := AsPrecondition(err); a == ActionResume && (!ok || p.Type != "CASE_NOT_ON_HOLD") {
			t.Errorf("CheckHeld(not held, resume) = %v, want CASE_NOT_ON_HOLD", err)
		} else if a != ActionResume && err != nil {
			t.Errorf("CheckHeld(not held, %s) = %v, want nil", a, err)
		}
	}
}

// TestCaseDays: days_open and days_waiting in whole days of 24 hours.
func TestCaseDays(t *testing.T) {
	submit := holdBase
	at := func(d, h int) *time.Time {
		x := submit.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour)
		return &x
	}
	for _, tc := range []struct {
		name          string
		c             CaseTimes
		now           time.Time
		open, waiting int
	}{
		{"draft", CaseTimes{Status: StatusDraft}, *at(9, 0), 0, 0},
		{"open", CaseTimes{Status: StatusInProgress, Submit: &submit}, *at(9, 23), 9, 9},
		{"held now", CaseTimes{Status: StatusAccepted, Submit: &submit, Held: 48 * time.Hour, HoldStart: at(5, 0)}, *at(9, 1), 9, 3},
		{"resolved", CaseTimes{Status: StatusClosed, Submit: &submit, Resolve: at(4, 2), Held: 25 * time.Hour}, *at(30, 0), 4, 3},
		{"withdrawn", CaseTimes{Status: StatusWithdrawn, Submit: &submit, Update: *at(6, 0)}, *at(30, 0), 6, 6},
		{"held longer than open", CaseTimes{Status: StatusSubmitted, Submit: &submit, HoldStart: &submit}, *at(3, 0), 3, 0},
	} {
		open, waiting := CaseDays(tc.c, tc.now)
		if open != tc.open || waiting != tc.waiting {
			t.Errorf("%s: CaseDays = %d, %d; want %d, %d", tc.name, open, waiting, tc.open, tc.waiting)
		}
	}
}

// The rules of this file, named for TestEveryRuleHasAUnitTest.
var _ = []RuleID{RuleCaseHold, RuleHoldStatutory}
