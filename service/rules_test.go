package service

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/testclock"
)

// The case rules through the handlers, on SQLite: each rule's refusal and
// what each step records (clocks, policy basis, reason codes, history).

func china(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, domain.ChinaTime)
}

// endOf is 24:00 China time of a day.
func endOf(y int, m time.Month, d int) time.Time { return china(y, m, d+1, 0, 0).UTC() }

func clockOf(c *pb.Case, k pb.ClockKind) *pb.CaseClock {
	for _, cl := range c.GetClocks() {
		if cl.GetKind() == k {
			return cl
		}
	}
	return nil
}

func wantClock(t *testing.T, c *pb.Case, k pb.ClockKind, state pb.ClockState, due time.Time) {
	t.Helper()
	cl := clockOf(c, k)
	if cl == nil {
		t.Fatalf("no %s clock in %v", k, c.GetClocks())
	}
	if cl.GetState() != state || (!due.IsZero() && !cl.GetDueTime().AsTime().Equal(due)) {
		t.Fatalf("%s clock %s due %s, want %s due %s", k, cl.GetState(), cl.GetDueTime().AsTime(), state, due)
	}
}

func wantBasis(t *testing.T, c *pb.Case, rules ...domain.RuleID) {
	t.Helper()
	for _, r := range rules {
		if !slices.Contains(c.GetPolicyBasis(), string(r)) {
			t.Errorf("policy basis %v lacks %s", c.GetPolicyBasis(), r)
		}
	}
}

func wantRefusal(t *testing.T, err error, rule domain.RuleID) {
	t.Helper()
	if n, ok := domain.AsNotEligible(err); ok && n.Rule == rule {
		return
	}
	if p, ok := domain.AsPrecondition(err); ok && p.Rule == rule {
		return
	}
	t.Fatalf("error %v, want a refusal by %s", err, rule)
}

// answer holds what a call returned, for got(...).ok(t).
type answer[T any] struct {
	v   T
	err error
}

func got[T any](v T, err error) answer[T] { return answer[T]{v, err} }

func (a answer[T]) ok(t *testing.T) T {
	t.Helper()
	if a.err != nil {
		t.Fatalf("unexpected error: %v", a.err)
	}
	return a.v
}

// TestLegalAidClocksThroughTheHandlers: an application received the day
// before the 2026 Spring Festival holiday, whose materials are asked for
// and supplied, decided, assigned and started, with its clocks and policy
// basis at each step.
func TestLegalAidClocksThroughTheHandlers(t *testing.T) {
	clock := testclock.Stopped(china(2026, 2, 14, 10, 0)) // a make-up working day
	h := newHandlersAt(t, clock.Now)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Counterparty: "某公司"}}}})).ok(t)
	name := c.GetName()
	c = got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: name})).ok(t)
	// 7 days from 14 February end on the 21st, inside the holiday (15–23):
	// the decision is due by the end of Tuesday the 24th.
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 2, 24))
	if !c.GetDueTime().AsTime().Equal(endOf(2026, 2, 24)) {
		t.Fatalf("due_time %s, want the decision's", c.GetDueTime().AsTime())
	}
	wantBasis(t, c, domain.RuleLegalAidAnyMember, domain.RuleLegalAidPriority, domain.RuleLegalAidDecision, domain.RuleDayCounting)

	clock.Set(china(2026, 2, 24, 9, 0))
	c = got(h.cases.RequestMaterials(h.ctx, &pb.RequestMaterialsRequest{Name: name,
		MissingMaterials: []string{"劳动合同", "工资流水"}, DueDate: &date.Date{Year: 2026, Month: 3, Day: 6}})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_AWAITING_MATERIALS || len(c.GetLegalAid().GetMissingMaterials()) != 2 {
		t.Fatalf("after RequestMaterials: %s, %v", c.GetStatus(), c.GetLegalAid().GetMissingMaterials())
	}
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_PAUSED, time.Time{})
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_MATERIALS, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 3, 6))
	if !c.GetDueTime().AsTime().Equal(endOf(2026, 3, 6)) {
		t.Errorf("due_time %s while waiting for materials", c.GetDueTime().AsTime())
	}

	clock.Set(china(2026, 3, 2, 15, 0))
	c = got(h.cases.SupplyMaterials(h.ctx, &pb.SupplyMaterialsRequest{Name: name})).ok(t)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 3, 9))
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_MATERIALS, pb.ClockState_CLOCK_STATE_MET, time.Time{})
	_, err := h.cases.RequestMaterials(h.ctx, &pb.RequestMaterialsRequest{Name: name,
		MissingMaterials: []string{"身份证"}, DueDate: &date.Date{Year: 2026, Month: 3, Day: 20}})
	wantRefusal(t, err, domain.RuleLegalAidMaterials)

	clock.Set(china(2026, 3, 4, 11, 0))
	c = got(h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: name})).ok(t)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_MET, time.Time{})
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_ASSIGNMENT, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 3, 9)) // 7 March is a Saturday
	wantBasis(t, c, domain.RuleLegalAidAssign)

	clock.Set(china(2026, 3, 10, 9, 0)) // a day late
	c = got(h.cases.AssignCase(h.ctx, &pb.AssignCaseRequest{Name: name, Assignee: "律师事务所-01"})).ok(t)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_ASSIGNMENT, pb.ClockState_CLOCK_STATE_MISSED, time.Time{})
	if c.GetDueTime() != nil {
		t.Errorf("due_time %s with no clock running: a case in litigation would be overdue", c.GetDueTime().AsTime())
	}
	c = got(h.cases.StartCase(h.ctx, &pb.StartCaseRequest{Name: name})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_IN_PROGRESS || c.GetDueTime() != nil {
		t.Errorf("started: %s, due %v", c.GetStatus(), c.GetDueTime())
	}
}

// TestEligibilityAtCreateAndInBatches: a conscript's spouse is refused with
// the rule, alone and inside a batch; a basis the household does not
// support is a 400 naming both fields.
func TestEligibilityAtCreateAndInBatches(t *testing.T) {
	h := newHandlers(t)
	body := h.householdBody("500230101")
	body.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_CONSCRIPT
	conscript := got(h.households.CreateHousehold(h.ctx, &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: body})).ok(t)
	spouse, _ := h.member(conscript.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC))
	placement := &pb.Case{Household: conscript.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{PlacementYear: 2026}}}
	_, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: placement})
	wantRefusal(t, err, domain.RulePlacementNoConscript)

	legal := &pb.Case{Household: conscript.GetName(), Subject: spouse.GetName(), Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{}}}
	_, err = h.cases.BatchCreateCases(h.ctx, &pb.BatchCreateCasesRequest{Requests: []*pb.CreateCaseRequest{{Case: legal}, {Case: placement}}})
	var batch *domain.BatchError
	if !errors.As(err, &batch) || len(batch.Items) != 1 || batch.Items[0].Index != 1 {
		t.Fatalf("batch: %v, want item 1 refused", err)
	}
	wantRefusal(t, batch.Items[0].Err, domain.RulePlacementNoConscript)

	hh := h.household("500230101")
	child, _ := h.member(hh.GetName(), pb.Relation_RELATION_CHILD, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC))
	_, err = h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: child.GetName(),
		Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{SchoolStage: pb.SchoolStage_SCHOOL_STAGE_PRIMARY,
			PriorityBasis: pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_BORDER_HARDSHIP_POST}}}})
	v, ok := domain.AsValidation(err)
	if !ok || len(v.Violations) != 2 || v.Violations[0].Field != "case.school_enrollment.priority_basis" || v.Violations[1].Field != "case.household" {
		t.Fatalf("border basis for a regular post: %v, want violations of priority_basis and household", err)
	}
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: child.GetName(),
		Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{SchoolStage: pb.SchoolStage_SCHOOL_STAGE_PRIMARY}}}})).ok(t)
	if se := c.GetSchoolEnrollment(); se.GetPriorityBasis() != pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_ACTIVE_DUTY ||
		se.GetBenefit() != pb.SchoolBenefit_SCHOOL_BENEFIT_PLACE_CHOICE {
		t.Errorf("derived basis %s, benefit %s", se.GetPriorityBasis(), se.GetBenefit())
	}
	wantBasis(t, c, domain.RuleSchoolChild, domain.RuleSchoolBasisMatchesHH, domain.RuleSchoolPlaceChoice)
}

// TestProcedureRules: reject after accept needs a code, withdrawal needs
// its reason, a placement resolves only once decided eligible and counts
// in the year decided, a reopening keeps the outcome.
func TestProcedureRules(t *testing.T) {
	clock := testclock.Stopped(china(2026, 3, 2, 10, 0))
	h := newHandlersAt(t, clock.Now)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	open := func(details *pb.Case) string {
		details.Household, details.Subject = hh.GetName(), spouse.GetName()
		c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: details})).ok(t)
		got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: c.GetName()})).ok(t)
		return c.GetName()
	}
	legal := func() *pb.Case { return &pb.Case{Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{}}} }

	// REJECT_AFTER_ACCEPT_REASON.
	n := open(legal())
	got(h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: n})).ok(t)
	_, err := h.cases.RejectCase(h.ctx, &pb.RejectCaseRequest{Name: n, Reason: "材料虚假"})
	wantRefusal(t, err, domain.RuleRejectAfterAccept)
	c := got(h.cases.RejectCase(h.ctx, &pb.RejectCaseRequest{Name: n, Reason: "材料虚假",
		ReasonCode: pb.RejectionReason_REJECTION_REASON_FALSE_MATERIALS})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_REJECTED || c.GetRejectionReason() != pb.RejectionReason_REJECTION_REASON_FALSE_MATERIALS || c.GetDueTime() != nil {
		t.Errorf("rejected after acceptance: %s %s due %v", c.GetStatus(), c.GetRejectionReason(), c.GetDueTime())
	}

	// WITHDRAWAL_REASON.
	n = open(legal())
	_, err = h.cases.WithdrawCase(h.ctx, &pb.WithdrawCaseRequest{Name: n, ReasonCode: pb.WithdrawalReason_WITHDRAWAL_REASON_OTHER})
	if v, ok := domain.AsValidation(err); !ok || v.Violations[0].Field != "reason" {
		t.Fatalf("OTHER without words: %v", err)
	}
	c = got(h.cases.WithdrawCase(h.ctx, &pb.WithdrawCaseRequest{Name: n, ReasonCode: pb.WithdrawalReason_WITHDRAWAL_REASON_MOVED_AWAY})).ok(t)
	if c.GetWithdrawalReason() != pb.WithdrawalReason_WITHDRAWAL_REASON_MOVED_AWAY {
		t.Errorf("withdrawal reason %s", c.GetWithdrawalReason())
	}
	wantBasis(t, c, domain.RuleWithdrawalReason)

	// PLACEMENT_ELIGIBILITY_DECIDED, PLACEMENT_PLAN_END.
	n = open(&pb.Case{Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
		PlacementYear: 2025, Eligible: true, PriorEmployment: pb.PriorEmployment_PRIOR_EMPLOYMENT_CIVIL_SERVANT,
		Employer: "丰都县某局", Position: "科员", PlacementDate: &date.Date{Year: 2026, Month: 5, Day: 1}}}})
	c = got(h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: n})).ok(t)
	if c.GetEmploymentPlacement().GetEligible() || c.GetEmploymentPlacement().GetRoute() != pb.PlacementRoute_PLACEMENT_ROUTE_TRANSFER {
		t.Errorf("placement as opened: eligible %v (a value sent is ignored), route %s", c.GetEmploymentPlacement().GetEligible(), c.GetEmploymentPlacement().GetRoute())
	}
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2025, 12, 31))
	got(h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: n})).ok(t)
	got(h.cases.AssignCase(h.ctx, &pb.AssignCaseRequest{Name: n, Assignee: "users/cw"})).ok(t)
	got(h.cases.StartCase(h.ctx, &pb.StartCaseRequest{Name: n})).ok(t)
	achieved := &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED, Summary: "已转任"}
	_, err = h.cases.ResolveCase(h.ctx, &pb.ResolveCaseRequest{Name: n, Outcome: achieved})
	wantRefusal(t, err, domain.RulePlacementDecision)
	_, err = h.cases.DecideEligibility(h.ctx, &pb.DecideEligibilityRequest{Name: n, Eligible: true, Policy: "LEGAL_AID_DECISION_7D"})
	if v, ok := domain.AsValidation(err); !ok || v.Violations[0].Field != "policy" {
		t.Fatalf("a deadline rule as the decision's basis: %v", err)
	}
	c = got(h.cases.DecideEligibility(h.ctx, &pb.DecideEligibilityRequest{Name: n, Eligible: true,
		Policy: string(domain.RulePlacementOfficerNCOSpouse), Note: "随军批准文号已核"})).ok(t)
	if e := c.GetEligibility(); !e.GetEligible() || e.GetPlacementYear() != 2026 || e.GetDecider() != "users/sup" || !c.GetEmploymentPlacement().GetEligible() {
		t.Errorf("decision %v", e)
	}
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 12, 31))
	wantBasis(t, c, domain.RulePlacementDecision, domain.RulePlacementPlanEnd)
	list := got(h.cases.ListCases(h.ctx, &pb.ListCasesRequest{Filter: "placement_year = 2026"})).ok(t)
	if len(list.GetCases()) != 1 || list.GetCases()[0].GetName() != n {
		t.Errorf("placement_year = 2026 lists %d cases", len(list.GetCases()))
	}
	clock.Set(china(2026, 4, 1, 10, 0))
	c = got(h.cases.ResolveCase(h.ctx, &pb.ResolveCaseRequest{Name: n, Outcome: achieved})).ok(t)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_MET, time.Time{})

	// REOPEN_KEEPS_OUTCOME.
	clock.Set(china(2026, 5, 1, 10, 0))
	c = got(h.cases.ReopenCase(h.ctx, &pb.ReopenCaseRequest{Name: n, Reason: "用人单位撤销录用"})).ok(t)
	if c.GetOutcome() != nil || len(c.GetOutcomeHistory()) != 1 {
		t.Fatalf("reopened: outcome %v, history %v", c.GetOutcome(), c.GetOutcomeHistory())
	}
	kept := c.GetOutcomeHistory()[0]
	if kept.GetOutcome().GetSummary() != "已转任" || !kept.GetResolveTime().AsTime().Equal(china(2026, 4, 1, 10, 0)) || kept.GetReopenReason() != "用人单位撤销录用" {
		t.Errorf("kept outcome %v", kept)
	}
	wantBasis(t, c, domain.RuleReopenKeepsOutcome)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, time.Time{})
}

// TestTerminationAndObjection: termination on an Art 48 ground, an
// objection decided within 5 days, a correction bringing the case back;
// the Legal Aid Law's steps are refused to other kinds; an urgent matter
// starts before the decision.
func TestTerminationAndObjection(t *testing.T) {
	clock := testclock.Stopped(china(2026, 9, 28, 10, 0))
	h := newHandlersAt(t, clock.Now)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	father, _ := h.member(hh.GetName(), pb.Relation_RELATION_FATHER, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{LimitationDeadline: &date.Date{Year: 2026, Month: 10, Day: 2}}}}})).ok(t)
	n := c.GetName()
	if !c.GetLegalAid().GetUrgent() {
		t.Fatal("a limitation period ending in 4 days is not urgent")
	}
	got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: n})).ok(t)
	_, err := h.cases.StartCase(h.ctx, &pb.StartCaseRequest{Name: n})
	if p, ok := domain.AsPrecondition(err); !ok || p.Type != "ASSIGNEE_REQUIRED" {
		t.Fatalf("urgent start without an assignee: %v", err)
	}
	got(h.cases.AssignCase(h.ctx, &pb.AssignCaseRequest{Name: n, Assignee: "律师-01"})).ok(t)
	c = got(h.cases.StartCase(h.ctx, &pb.StartCaseRequest{Name: n})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_IN_PROGRESS {
		t.Fatalf("urgent start: %s", c.GetStatus())
	}
	wantBasis(t, c, domain.RuleLegalAidUrgent)
	hist := got(h.cases.ListCaseHistory(h.ctx, &pb.ListCaseHistoryRequest{Parent: n})).ok(t)
	if last := hist.GetEntries()[len(hist.GetEntries())-1]; last.GetFromStatus() != pb.CaseStatus_CASE_STATUS_SUBMITTED || last.GetReason() == "" {
		t.Errorf("urgent start's history %v: not flagged", last)
	}

	c = got(h.cases.TerminateCase(h.ctx, &pb.TerminateCaseRequest{Name: n, Ground: pb.TerminationGround_TERMINATION_GROUND_OWN_LAWYER})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_TERMINATED || c.GetTerminationGround() != pb.TerminationGround_TERMINATION_GROUND_OWN_LAWYER {
		t.Fatalf("terminated: %s %s", c.GetStatus(), c.GetTerminationGround())
	}
	clock.Set(china(2026, 9, 30, 15, 0))
	c = got(h.cases.FileObjection(h.ctx, &pb.FileObjectionRequest{Name: n, Note: "并未自行委托律师"})).ok(t)
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_OBJECTION, pb.ClockState_CLOCK_STATE_RUNNING, endOf(2026, 10, 8))
	_, err = h.cases.FileObjection(h.ctx, &pb.FileObjectionRequest{Name: n})
	wantRefusal(t, err, domain.RuleLegalAidObjection)
	clock.Set(china(2026, 10, 8, 16, 0))
	c = got(h.cases.DecideObjection(h.ctx, &pb.DecideObjectionRequest{Name: n,
		Result: pb.ObjectionResult_OBJECTION_RESULT_CORRECTION_ORDERED})).ok(t)
	if c.GetStatus() != pb.CaseStatus_CASE_STATUS_IN_PROGRESS || c.GetObjection().GetResult() != pb.ObjectionResult_OBJECTION_RESULT_CORRECTION_ORDERED {
		t.Fatalf("correction ordered: %s %v", c.GetStatus(), c.GetObjection())
	}
	wantClock(t, c, pb.ClockKind_CLOCK_KIND_OBJECTION, pb.ClockState_CLOCK_STATE_MET, time.Time{})

	// Only legal aid has these steps.
	elder := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: father.GetName(),
		Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{}}}})).ok(t)
	got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: elder.GetName()})).ok(t)
	_, err = h.cases.RequestMaterials(h.ctx, &pb.RequestMaterialsRequest{Name: elder.GetName(), MissingMaterials: []string{"x"},
		DueDate: &date.Date{Year: 2026, Month: 12, Day: 1}})
	if p, ok := domain.AsPrecondition(err); !ok || p.Type != "LEGAL_AID_ONLY" {
		t.Errorf("materials for a medical-help case: %v", err)
	}
}

// TestUpdateAfterTheHouseholdChanged: eligibility is settled at submission;
// a household that changed since (the servicemember discharged) does not
// stop the county recording what it did for the same subject, while a new
// case for it is refused.
func TestUpdateAfterTheHouseholdChanged(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	job := func() *pb.Case {
		return &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
			Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{PlacementYear: 2026}}}
	}
	c := got(h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: job()})).ok(t)
	c = got(h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: c.GetName()})).ok(t)
	stored := got(h.households.GetHousehold(h.ctx, &pb.GetHouseholdRequest{Name: hh.GetName()})).ok(t)
	stored.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_VETERAN
	got(h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{Household: stored,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"category"}}})).ok(t)
	c = got(h.cases.UpdateCase(h.ctx, &pb.UpdateCaseRequest{Case: &pb.Case{Name: c.GetName(), Etag: c.GetEtag(),
		Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{Employer: "丰都县某公司"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"employment_placement.employer"}}})).ok(t)
	if c.GetEmploymentPlacement().GetEmployer() != "丰都县某公司" {
		t.Errorf("employer %q", c.GetEmploymentPlacement().GetEmployer())
	}
	_, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: job()})
	wantRefusal(t, err, domain.RulePlacementActiveOnly)
}
