package domain

import (
	"slices"
	"testing"
	"time"
)

// china is an instant in China time.
func china(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, ChinaTime)
}

// endOf is 24:00 China time of a day: the instant a period whose last day
// it is ends.
func endOf(y int, m time.Month, d int) time.Time { return china(y, m, d+1, 0, 0).UTC() }

// TestLegalAidClocks counts the Legal Aid Law's periods as the Civil Code
// does (DAY_COUNTING_CIVIL_CODE) on the 2026 holiday notice.
func TestLegalAidClocks(t *testing.T) {
	d := DefaultDeadlines()
	tests := []struct {
		name  string
		clock func() Clock
		rule  RuleID
		due   time.Time
	}{
		// 法律援助法 Art 43: 7 days from the complete application. Received on
		// Saturday 14 February, a make-up working day, the day before the
		// Spring Festival holiday (15–23 February): the count starts on the
		// 15th, its 7th day (21st) is a holiday, and the period ends on the
		// first working day after the holiday, Tuesday 24 February.
		{"decision: day before Spring Festival", func() Clock { return d.Decision(china(2026, 2, 14, 16, 30)) },
			RuleLegalAidDecision, endOf(2026, 2, 24)},
		{"decision: received on a holiday", func() Clock { return d.Decision(china(2026, 2, 16, 9, 0)) },
			RuleLegalAidDecision, endOf(2026, 2, 24)},
		// Ends on Saturday 28 February, a make-up working day: not moved.
		{"decision: ends on a make-up working day", func() Clock { return d.Decision(china(2026, 2, 21, 9, 0)) },
			RuleLegalAidDecision, endOf(2026, 2, 28)},
		// Ends on an ordinary Sunday: moved to Monday.
		{"decision: ends on a Sunday", func() Clock { return d.Decision(china(2026, 3, 1, 9, 0)) },
			RuleLegalAidDecision, endOf(2026, 3, 9)},
		{"decision: late evening counts as that day", func() Clock { return d.Decision(china(2026, 3, 2, 23, 59)) },
			RuleLegalAidDecision, endOf(2026, 3, 9)},
		// 3 days from the decision on 30 April: 3 May is in the Labour Day
		// holiday (1–5 May), so the lawyer is due by 6 May.
		{"assignment over Labour Day", func() Clock { return d.Assignment(china(2026, 4, 30, 11, 0)) },
			RuleLegalAidAssign, endOf(2026, 5, 6)},
		// Art 49: 5 days from the objection on 30 September: 5 October is
		// in the National Day holiday (1–7 October), 8 October is a
		// Thursday.
		{"objection over National Day", func() Clock { return d.Objection(china(2026, 9, 30, 15, 0)) },
			RuleLegalAidObjection, endOf(2026, 10, 8)},
		// 2027 has no notice yet: plain calendar days, never later than
		// the law allows.
		{"a year without a notice", func() Clock { return d.Decision(china(2027, 3, 1, 9, 0)) },
			RuleLegalAidDecision, endOf(2027, 3, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.clock()
			if !c.Due.Equal(tt.due) || c.Rule != tt.rule || c.State != ClockRunning || c.Days == 0 {
				t.Errorf("clock %+v, want due %s (%s China) by %s, running", c, tt.due, tt.due.In(ChinaTime), tt.rule)
			}
		})
	}
}

// TestServiceTargets: the county's terms (ELDER_SERVICE_TARGET,
// SCHOOL_SERVICE_TARGET, PLACEMENT_PLAN_END), default and configured.
func TestServiceTargets(t *testing.T) {
	d := DefaultDeadlines()
	custom := d
	custom.ElderDays, custom.SchoolDays, custom.PlacementPlanEnd = 5, 10, MonthDay{time.October, 31}
	tests := []struct {
		name          string
		d             Deadlines
		kind          Kind
		at            time.Time
		schoolYear    string
		placementYear int
		rule          RuleID
		due           time.Time
	}{
		{"elder: 3 days", d, KindElderMedicalHelp, china(2026, 3, 2, 10, 0), "", 0, RuleElderTarget, endOf(2026, 3, 5)},
		{"elder: configured 5 days", custom, KindElderMedicalHelp, china(2026, 3, 2, 10, 0), "", 0, RuleElderTarget, endOf(2026, 3, 9)},
		{"elder: ends in Qingming", d, KindElderMedicalHelp, china(2026, 4, 2, 10, 0), "", 0, RuleElderTarget, endOf(2026, 4, 7)},
		{"school: 30 days", d, KindSchoolEnrollment, china(2026, 3, 2, 10, 0), "2026-2027", 0, RuleSchoolTarget, endOf(2026, 4, 1)},
		{"school: capped at 31 August", d, KindSchoolEnrollment, china(2026, 8, 20, 10, 0), "2026-2027", 0, RuleSchoolTarget, endOf(2026, 8, 31)},
		{"school: configured 10 days", custom, KindSchoolEnrollment, china(2026, 3, 2, 10, 0), "", 0, RuleSchoolTarget, endOf(2026, 3, 12)},
		// 19 September is a Saturday; the 20th a make-up working day.
		{"school: last year's term ignored", d, KindSchoolEnrollment, china(2026, 8, 20, 10, 0), "2025-2026", 0, RuleSchoolTarget, endOf(2026, 9, 20)},
		{"placement: end of the plan year", d, KindEmploymentPlacement, china(2026, 3, 2, 10, 0), "", 2026, RulePlacementPlanEnd, endOf(2026, 12, 31)},
		{"placement: next year's plan", d, KindEmploymentPlacement, china(2026, 3, 2, 10, 0), "", 2027, RulePlacementPlanEnd, endOf(2027, 12, 31)},
		{"placement: configured plan end", custom, KindEmploymentPlacement, china(2026, 3, 2, 10, 0), "", 2026, RulePlacementPlanEnd, endOf(2026, 10, 31)},
		{"placement: no year, plan already over", custom, KindEmploymentPlacement, china(2026, 11, 2, 10, 0), "", 0, RulePlacementPlanEnd, endOf(2027, 10, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := tt.d.ServiceTarget(tt.kind, tt.at, tt.schoolYear, tt.placementYear)
			if !ok || !c.Due.Equal(tt.due) || c.Rule != tt.rule || c.Kind != ClockServiceTarget {
				t.Errorf("clock %+v (ok %v), want due %s China by %s", c, ok, tt.due.In(ChinaTime), tt.rule)
			}
		})
	}
	if _, ok := d.ServiceTarget(KindLegalAid, china(2026, 3, 2, 10, 0), "", 0); ok {
		t.Error("legal aid has a county service target; its clocks are the law's")
	}
}

func TestClockOperations(t *testing.T) {
	d := DefaultDeadlines()
	start := china(2026, 3, 2, 10, 0)
	cs := d.Submitted(KindLegalAid, start, "", 0)
	if due := cs.Due(); due == nil || !due.Equal(endOf(2026, 3, 9)) {
		t.Fatalf("due %v, want the decision's", due)
	}
	if got := cs.Basis(); !slices.Equal(got, []RuleID{RuleLegalAidDecision, RuleDayCounting}) {
		t.Errorf("basis %v", got)
	}
	paused := cs.Pause(ClockDecision, start.Add(time.Hour))
	if c, _ := paused.Get(ClockDecision); c.State != ClockPaused || c.Stop == nil {
		t.Errorf("paused clock %+v", c)
	}
	if paused.Due() != nil {
		t.Error("a paused clock still sets the due time")
	}
	met := cs.Stop(ClockDecision, endOf(2026, 3, 9).Add(-time.Second))
	if c, _ := met.Get(ClockDecision); c.State != ClockMet {
		t.Errorf("stopped a second before the end: %s, want MET", c.State)
	}
	missed := cs.Stop(ClockDecision, endOf(2026, 3, 9))
	if c, _ := missed.Get(ClockDecision); c.State != ClockMissed {
		t.Errorf("stopped at 24:00 of the last day: %s, want MISSED", c.State)
	}
	if again := met.Stop(ClockDecision, endOf(2026, 4, 1)); !slices.EqualFunc(again, met, func(a, b Clock) bool { return a.State == b.State }) {
		t.Error("stopping a stopped clock changed it")
	}
	if met.Due() != nil {
		t.Error("a case with no running clock has a due time: it would show as overdue")
	}
	two := cs.Set(d.Objection(start))
	if len(two) != 2 || !two.Due().Equal(d.Objection(start).Due) {
		t.Errorf("the earliest running clock does not set the due time: %+v", two)
	}
	if len(cs) != 1 {
		t.Error("Set changed the clocks it was called on")
	}
}

func TestPolicyBasis(t *testing.T) {
	d := DefaultDeadlines()
	cs := Clocks{d.Decision(china(2026, 3, 2, 10, 0))}
	got := PolicyBasis([]RuleID{RuleLegalAidAnyMember, RuleLegalAidUrgent}, []RuleID{RulePriorityBorderIsland, RuleLegalAidPriority}, cs)
	want := []RuleID{RuleLegalAidAnyMember, RuleLegalAidUrgent, RulePriorityBorderIsland, RuleLegalAidPriority, RuleLegalAidDecision, RuleDayCounting}
	if !slices.Equal(got, want) {
		t.Errorf("PolicyBasis = %v, want %v", got, want)
	}
	if kept := DecidedRules(got); !slices.Equal(kept, []RuleID{RuleLegalAidAnyMember, RuleLegalAidUrgent}) {
		t.Errorf("DecidedRules = %v", kept)
	}
}
