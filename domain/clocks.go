package domain

import (
	"slices"
	"time"

	"github.com/fengdu-county/casework/domain/calendar"
)

// A case's clocks: each period the county (or, for materials, the
// applicant) must act within, with the rule that sets it. The Legal Aid
// Law's periods are counted in days as the Civil Code counts them (the
// DAY_COUNTING_CIVIL_CODE rule, applied by domain/calendar); the other kinds
// have no statutory deadline and run on the county's terms, which a
// deployment configures and which policy_basis labels as county policy.

// ClockKind says what a clock measures.
type ClockKind string

// The kinds of clock, stored as-is.
const (
	ClockDecision      ClockKind = "DECISION"
	ClockAssignment    ClockKind = "ASSIGNMENT"
	ClockServiceTarget ClockKind = "SERVICE_TARGET"
	ClockMaterials     ClockKind = "MATERIALS"
	ClockObjection     ClockKind = "OBJECTION"
)

// ClockKinds lists every kind of clock.
func ClockKinds() []ClockKind {
	return []ClockKind{ClockDecision, ClockAssignment, ClockServiceTarget, ClockMaterials, ClockObjection}
}

// ClockState is where a clock stands.
type ClockState string

// The states, stored as-is.
const (
	ClockRunning ClockState = "RUNNING"
	ClockPaused  ClockState = "PAUSED"
	ClockMet     ClockState = "MET"
	ClockMissed  ClockState = "MISSED"
)

// ClockStates lists every state.
func ClockStates() []ClockState {
	return []ClockState{ClockRunning, ClockPaused, ClockMet, ClockMissed}
}

// Clock is one period of a case. Due is the instant the period ends (24:00
// China time of its last day, for a period in days): acting before it is in
// time. The JSON names are how the store keeps clocks.
type Clock struct {
	Kind  ClockKind  `json:"kind"`
	State ClockState `json:"state"`
	Start time.Time  `json:"start"`
	Due   time.Time  `json:"due"`
	Stop  *time.Time `json:"stop,omitempty"`
	Rule  RuleID     `json:"rule"`
	// Days is the period's length when it is counted in days under
	// DAY_COUNTING_CIVIL_CODE; 0 for a fixed date.
	Days int `json:"days,omitempty"`
	// Held says a hold paused the clock (CASE_HOLD): the resume runs it
	// again, and no other paused clock.
	Held bool `json:"held,omitempty"`
}

// Clocks are a case's clocks, at most one of each kind.
type Clocks []Clock

// Get returns the clock of kind k.
func (cs Clocks) Get(k ClockKind) (Clock, bool) {
	for _, c := range cs {
		if c.Kind == k {
			return c, true
		}
	}
	return Clock{}, false
}

// Set puts c in place of the clock of its kind, or adds it.
func (cs Clocks) Set(c Clock) Clocks {
	for i := range cs {
		if cs[i].Kind == c.Kind {
			out := slices.Clone(cs)
			out[i] = c
			return out
		}
	}
	return append(slices.Clone(cs), c)
}

// Stop stops the running (or paused) clock of kind k at t: met when t is
// before its due time, missed otherwise. A clock already stopped, or
// missing, is left alone.
func (cs Clocks) Stop(k ClockKind, t time.Time) Clocks {
	c, ok := cs.Get(k)
	if !ok || (c.State != ClockRunning && c.State != ClockPaused) {
		return cs
	}
	c.State = ClockMet
	if !t.Before(c.Due) {
		c.State = ClockMissed
	}
	stop := t.UTC()
	c.Stop, c.Held = &stop, false
	return cs.Set(c)
}

// StopAll stops every clock still running or paused at t.
func (cs Clocks) StopAll(t time.Time) Clocks {
	for _, c := range cs {
		cs = cs.Stop(c.Kind, t)
	}
	return cs
}

// Pause stops the running clock of kind k at t without deciding it: the
// county is waiting for the applicant (LEGAL_AID_MATERIALS_ONCE).
func (cs Clocks) Pause(k ClockKind, t time.Time) Clocks {
	c, ok := cs.Get(k)
	if !ok || c.State != ClockRunning {
		return cs
	}
	c.State = ClockPaused
	stop := t.UTC()
	c.Stop = &stop
	return cs.Set(c)
}

// Due is the earliest due time of the running clocks, the case's due_time;
// nil when none runs, so a case nobody owes an answer is never overdue.
func (cs Clocks) Due() *time.Time {
	var due *time.Time
	for _, c := range cs {
		if c.State == ClockRunning && (due == nil || c.Due.Before(*due)) {
			d := c.Due
			due = &d
		}
	}
	return due
}

// Basis lists the rules the clocks come from, with the day counting rule
// when any is counted in days.
func (cs Clocks) Basis() []RuleID {
	var out []RuleID
	days := false
	for _, c := range cs {
		if !slices.Contains(out, c.Rule) {
			out = append(out, c.Rule)
		}
		days = days || c.Days > 0
	}
	if days {
		out = append(out, RuleDayCounting)
	}
	return out
}

// The Legal Aid Law's periods, in days (法律援助法 Arts 43 and 49).
const (
	LegalAidDecisionDays  = 7
	LegalAidAssignDays    = 3
	LegalAidObjectionDays = 5
)

// MonthDay is a day of the year, such as the end of the placement plan.
type MonthDay struct {
	Month time.Month
	Day   int
}

// Deadlines counts a case's periods. Calendar counts the days; the terms
// are the county's (ELDER_SERVICE_TARGET, SCHOOL_SERVICE_TARGET,
// PLACEMENT_PLAN_END) and configurable per deployment.
type Deadlines struct {
	Calendar *calendar.Calendar
	// ElderDays is the service target for medical help, in days.
	ElderDays int
	// SchoolDays is the service target for school enrolment, in days; it
	// never runs past 31 August before the school year.
	SchoolDays int
	// PlacementPlanEnd is the day the year's placement plan ends.
	PlacementPlanEnd MonthDay
}

// The county's default terms.
const (
	DefaultElderDays  = 3
	DefaultSchoolDays = 30
)

// DefaultPlacementPlanEnd is 31 December: the plan runs for its year.
var DefaultPlacementPlanEnd = MonthDay{time.December, 31}

// DefaultDeadlines are the county's default terms on the shipped calendar.
func DefaultDeadlines() Deadlines {
	cal, err := calendar.New()
	if err != nil {
		panic("domain: the shipped holiday calendar does not load: " + err.Error())
	}
	return Deadlines{Calendar: cal, ElderDays: DefaultElderDays, SchoolDays: DefaultSchoolDays,
		PlacementPlanEnd: DefaultPlacementPlanEnd}
}

// days starts a clock of n days from start, counted by DAY_COUNTING_CIVIL_CODE:
// the day of start is not counted, and a last day on a rest day moves to
// the day after the rest. A year the calendar lacks is counted in calendar
// days (never later than the law allows).
func (d Deadlines) days(k ClockKind, rule RuleID, start time.Time, n int) Clock {
	cal := d.Calendar
	if cal == nil {
		cal = DefaultDeadlines().Calendar
	}
	dl, err := cal.DeadlineDays(start, n)
	due := dl.End
	if err != nil {
		// Only bad holiday data gets here (DeadlineDays refuses n < 1,
		// which the callers never pass): count plain days.
		due = midnightChina(start).AddDate(0, 0, n+1)
	}
	return Clock{Kind: k, State: ClockRunning, Start: start.UTC(), Due: due.UTC(), Rule: rule, Days: n}
}

func midnightChina(t time.Time) time.Time {
	y, m, dd := t.In(ChinaTime).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, ChinaTime)
}

// Decision starts the 7-day decision clock on a complete legal-aid
// application received at received (LEGAL_AID_DECISION_7D).
func (d Deadlines) Decision(received time.Time) Clock {
	return d.days(ClockDecision, RuleLegalAidDecision, received, LegalAidDecisionDays)
}

// Assignment starts the 3-day clock for assigning a lawyer after the
// decision to grant aid (LEGAL_AID_ASSIGN_3D).
func (d Deadlines) Assignment(decided time.Time) Clock {
	return d.days(ClockAssignment, RuleLegalAidAssign, decided, LegalAidAssignDays)
}

// Objection starts the 5-day clock for deciding an objection
// (LEGAL_AID_OBJECTION_5D).
func (d Deadlines) Objection(filed time.Time) Clock {
	return d.days(ClockObjection, RuleLegalAidObjection, filed, LegalAidObjectionDays)
}

// Materials is the applicant's clock for supplying what was asked for: it
// ends at 24:00 China time of the last day given (LEGAL_AID_MATERIALS_WITHDRAWN:
// after it the application counts as withdrawn). lastDay is a calendar date
// (its year, month and day are read as they are).
func Materials(requested time.Time, lastDay time.Time) Clock {
	y, m, dd := lastDay.Date()
	end := time.Date(y, m, dd+1, 0, 0, 0, 0, ChinaTime)
	return Clock{Kind: ClockMaterials, State: ClockRunning, Start: requested.UTC(), Due: end.UTC(), Rule: RuleMaterialsWithdrawn}
}

// CheckMaterialsDue refuses a last day for materials that is not after
// today (China time): the applicant needs at least a day.
func CheckMaterialsDue(lastDay, now time.Time) error {
	y, m, dd := lastDay.Date()
	ny, nm, nd := now.In(ChinaTime).Date()
	if !time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).After(time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)) {
		return Invalid("due_date", "the last day to supply the materials must be after today (%s)", RuleLegalAidMaterials)
	}
	return nil
}

// ServiceTarget starts the clock a (re)submitted case of a kind without a
// statutory deadline runs on, from the county's terms:
//   - elder medical help: ElderDays days (ELDER_SERVICE_TARGET);
//   - school enrolment: SchoolDays days, but no later than 24:00 on
//     31 August before schoolYear ("2026-2027") starts (SCHOOL_SERVICE_TARGET);
//   - employment placement: the end of placementYear's plan, or the first
//     plan end after submission when no year is given (PLACEMENT_PLAN_END).
//
// Legal aid has none (its clocks are the law's): ok is false.
func (d Deadlines) ServiceTarget(k Kind, submitted time.Time, schoolYear string, placementYear int) (Clock, bool) {
	switch k {
	case KindElderMedicalHelp:
		return d.days(ClockServiceTarget, RuleElderTarget, submitted, orDefault(d.ElderDays, DefaultElderDays)), true
	case KindSchoolEnrollment:
		c := d.days(ClockServiceTarget, RuleSchoolTarget, submitted, orDefault(d.SchoolDays, DefaultSchoolDays))
		if start, ok := termStart(schoolYear); ok && start.After(submitted) && start.Before(c.Due) {
			c.Due, c.Days = start.UTC(), 0
		}
		return c, true
	case KindEmploymentPlacement:
		end := d.PlacementPlanEnd
		if end.Month == 0 {
			end = DefaultPlacementPlanEnd
		}
		planEnd := func(y int) time.Time { return time.Date(y, end.Month, end.Day+1, 0, 0, 0, 0, ChinaTime) }
		due := planEnd(placementYear)
		if placementYear == 0 {
			y := submitted.In(ChinaTime).Year()
			if due = planEnd(y); !due.After(submitted) {
				due = planEnd(y + 1)
			}
		}
		return Clock{Kind: ClockServiceTarget, State: ClockRunning, Start: submitted.UTC(), Due: due.UTC(), Rule: RulePlacementPlanEnd}, true
	}
	return Clock{}, false
}

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// Submitted returns the clocks a case starts with when it is (re)submitted
// at t: legal aid's decision clock, or the kind's service target.
func (d Deadlines) Submitted(k Kind, t time.Time, schoolYear string, placementYear int) Clocks {
	if k == KindLegalAid {
		return Clocks{d.Decision(t)}
	}
	if c, ok := d.ServiceTarget(k, t, schoolYear, placementYear); ok {
		return Clocks{c}
	}
	return nil
}

// termStart is the instant a school year starts for the SCHOOL_SERVICE_TARGET
// cap: 24:00 China time on 31 August of its first year.
func termStart(schoolYear string) (time.Time, bool) {
	y, ok := parseSchoolYear(schoolYear)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.September, 1, 0, 0, 0, 0, ChinaTime), true
}

// PolicyBasis is a case's policy_basis: the rules that decided its
// eligibility and procedure, its priority's, and those of its clocks, each
// once, in that order.
func PolicyBasis(decided, priority []RuleID, clocks Clocks) []RuleID {
	var out []RuleID
	for _, part := range [][]RuleID{decided, priority, clocks.Basis()} {
		for _, r := range part {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// DecidedRules keeps the eligibility and procedure rules of a stored basis: the
// part a change of priority or clocks leaves as it was.
func DecidedRules(basis []RuleID) []RuleID { return RulesOfKind(basis, KindEligibility, KindProcedure) }

// RulesOfKind keeps the rules of basis of the given kinds, in order.
func RulesOfKind(basis []RuleID, kinds ...RuleKind) []RuleID {
	var out []RuleID
	for _, id := range basis {
		if r, ok := RuleByID(id); ok && slices.Contains(kinds, r.Kind) {
			out = append(out, id)
		}
	}
	return out
}
