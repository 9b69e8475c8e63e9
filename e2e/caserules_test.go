package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// The case rules of issue 11 through the API, on both transports: legal
// aid's clocks counted by the Civil Code on the holiday calendar, materials,
// the decision, assignment and resolution; objections and termination;
// eligibility refusals naming their rule; placements decided before they
// resolve; reopening that keeps the outcome; and the withdrawal the law
// presumes when materials do not come, made once by several servers.

const (
	awaitingMaterials = pb.CaseStatus_CASE_STATUS_AWAITING_MATERIALS
	terminated        = pb.CaseStatus_CASE_STATUS_TERMINATED
)

var cst = time.FixedZone("CST", 8*3600)

// chinaAt is an instant in China time.
func chinaAt(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, cst)
}

// endOfDay is 24:00 China time of a day: the end of a period whose last
// day it is.
func endOfDay(y int, m time.Month, d int) time.Time { return chinaAt(y, m, d+1, 0, 0).UTC() }

// setClock moves the env's clock to t (it keeps running from there).
func (e *env) setClock(t time.Time) { e.clock.Set(t) }

func clockIn(cs *pb.Case, k pb.ClockKind) *pb.CaseClock {
	for _, c := range cs.GetClocks() {
		if c.GetKind() == k {
			return c
		}
	}
	return nil
}

// wantClockIs checks a clock's state and, when due is not zero, its due time.
func wantClockIs(t *testing.T, cs *pb.Case, k pb.ClockKind, state pb.ClockState, due time.Time) {
	t.Helper()
	c := clockIn(cs, k)
	if c == nil {
		t.Fatalf("%s has no %s clock: %v", cs.GetName(), k, cs.GetClocks())
	}
	if c.GetState() != state || (!due.IsZero() && !c.GetDueTime().AsTime().Equal(due)) {
		t.Fatalf("%s clock: %s due %s, want %s due %s", k, c.GetState(), c.GetDueTime().AsTime().In(cst), state, due.In(cst))
	}
}

func wantPolicies(t *testing.T, cs *pb.Case, rules ...string) {
	t.Helper()
	for _, r := range rules {
		if !slices.Contains(cs.GetPolicyBasis(), r) {
			t.Errorf("policyBasis %v lacks %s", cs.GetPolicyBasis(), r)
		}
	}
}

// testLegalAidClocks walks a legal-aid application received on Saturday
// 14 February 2026, a make-up working day and the day before the Spring
// Festival holiday (15–23 February), through materials requested and
// supplied, the decision, assignment and resolution.
func testLegalAidClocks(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		e.setClock(chinaAt(2026, 2, 14, 10, 0))
		f := e.family(t, c)
		cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
		n := cs.GetName()
		cs = must(c.Submit(n, "")).ok(t)
		// Counting starts on the 15th; the 7th day, the 21st, is in the
		// holiday, so the decision is due by the end of Tuesday the 24th.
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 2, 24))
		if !cs.GetDueTime().AsTime().Equal(endOfDay(2026, 2, 24)) {
			t.Errorf("dueTime %s, want the end of 24 February", cs.GetDueTime().AsTime().In(cst))
		}
		wantPolicies(t, cs, "LEGAL_AID_ANY_MEMBER", "LEGAL_AID_PRIORITY", "LEGAL_AID_DECISION_7D", "DAY_COUNTING_CIVIL_CODE")

		e.setClock(chinaAt(2026, 2, 24, 9, 0))
		must(c.RequestMaterials(n, nil, &date.Date{Year: 2026, Month: 3, Day: 6})).fails(t, codes.InvalidArgument)
		must(c.RequestMaterials(n, []string{"身份证"}, &date.Date{Year: 2026, Month: 2, Day: 24})).fails(t, codes.InvalidArgument, "due_date")
		cs = must(c.RequestMaterials(n, []string{"劳动合同", "工资流水"}, &date.Date{Year: 2026, Month: 3, Day: 6})).ok(t)
		wantStatusIs(t, cs, awaitingMaterials)
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_PAUSED, time.Time{})
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_MATERIALS, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 3, 6))
		if la := cs.GetLegalAid(); !slices.Equal(la.GetMissingMaterials(), []string{"劳动合同", "工资流水"}) || la.GetMaterialsDueDate().GetDay() != 6 {
			t.Errorf("materials recorded: %v by %v", la.GetMissingMaterials(), la.GetMaterialsDueDate())
		}
		must(c.Accept(n)).fails(t, codes.FailedPrecondition, "CASE_STATUS_AWAITING_MATERIALS")

		e.setClock(chinaAt(2026, 3, 2, 15, 0))
		cs = must(c.SupplyMaterials(n)).ok(t)
		wantStatusIs(t, cs, submitted)
		// Seven days from receipt on Monday 2 March: Monday the 9th.
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 3, 9))
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_MATERIALS, pb.ClockState_CLOCK_STATE_MET, time.Time{})
		st := must(c.RequestMaterials(n, []string{"户口簿"}, &date.Date{Year: 2026, Month: 3, Day: 20})).fails(t, codes.FailedPrecondition, "LEGAL_AID_MATERIALS_ONCE")
		wantRuleInfo(t, st, "LEGAL_AID_MATERIALS_ONCE")

		e.setClock(chinaAt(2026, 3, 4, 11, 0))
		cs = must(c.Accept(n)).ok(t)
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_MET, time.Time{})
		// Three days from Wednesday the 4th end on Saturday the 7th: the
		// lawyer is due by the end of Monday the 9th.
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_ASSIGNMENT, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 3, 9))
		wantPolicies(t, cs, "LEGAL_AID_ASSIGN_3D")

		e.setClock(chinaAt(2026, 3, 6, 9, 0))
		cs = must(c.Assign(n, "重庆某律师事务所")).ok(t)
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_ASSIGNMENT, pb.ClockState_CLOCK_STATE_MET, time.Time{})
		if cs.GetDueTime() != nil {
			t.Errorf("dueTime %s with every clock stopped", cs.GetDueTime().AsTime())
		}
		cs = must(c.Start(n)).ok(t)
		// Months of litigation later the case is not overdue: nothing is
		// owed until it is resolved.
		e.setClock(chinaAt(2026, 9, 1, 9, 0))
		overdue := must(c.ListCases(&pb.ListCasesRequest{Filter: `overdue = true AND household = "` + f.household.GetName() + `"`})).ok(t)
		if len(overdue.GetCases()) != 0 {
			t.Errorf("a case in litigation is listed overdue: %v", names(overdue.GetCases()))
		}
		patch := &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{LawyerOrInstitution: "重庆某律师事务所"}}}
		must(c.UpdateCase(patch, "legal_aid.lawyer_or_institution")).ok(t)
		cs = must(c.Resolve(n, achieved("调解结案，追回工资"))).ok(t)
		wantStatusIs(t, cs, resolved)
		if len(cs.GetClocks()) != 3 {
			t.Errorf("clocks %v, want decision, materials and assignment", cs.GetClocks())
		}
		wantHistory(t, c, n, []step{
			{"CreateCase", noStatus, draft},
			{"SubmitCase", draft, submitted},
			{"RequestMaterials", submitted, awaitingMaterials},
			{"SupplyMaterials", awaitingMaterials, submitted},
			{"AcceptCase", submitted, accepted},
			{"AssignCase", accepted, accepted},
			{"StartCase", accepted, inProgress},
			{"UpdateCase", inProgress, inProgress},
			{"ResolveCase", inProgress, resolved},
		})
	})
}

// testObjectionAndTermination: an objection to a refusal is decided within
// 5 days and a correction brings the application back for a new decision;
// a termination on an Art 48 ground, objected to and upheld, stays.
func testObjectionAndTermination(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		e.setClock(chinaAt(2026, 9, 28, 10, 0))
		f := e.family(t, c)
		cs := must(c.CreateCase(legalAidCase(f, f.father))).ok(t)
		n := cs.GetName()
		must(c.Submit(n, "")).ok(t)
		must(c.FileObjection(n, "早了")).fails(t, codes.FailedPrecondition, "CASE_STATUS_SUBMITTED")
		cs = must(c.RejectFor(n, pb.RejectionReason_REJECTION_REASON_OUT_OF_SCOPE, "不属于法律援助事项")).ok(t)
		wantStatusIs(t, cs, rejected)
		if cs.GetRejectionReason() != pb.RejectionReason_REJECTION_REASON_OUT_OF_SCOPE || cs.GetDueTime() != nil {
			t.Errorf("rejected: reason %s, dueTime %v", cs.GetRejectionReason(), cs.GetDueTime())
		}
		e.setClock(chinaAt(2026, 9, 30, 15, 0))
		cs = must(c.FileObjection(n, "属于劳动报酬事项")).ok(t)
		// Five days from 30 September: the 5th is in the National Day
		// holiday (1–7 October); Thursday the 8th is the last day.
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_OBJECTION, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 10, 8))
		wantPolicies(t, cs, "LEGAL_AID_OBJECTION_5D")
		if cs.GetObjection().GetNote() != "属于劳动报酬事项" || cs.GetObjection().GetFileTime() == nil {
			t.Errorf("objection %v", cs.GetObjection())
		}
		must(c.FileObjection(n, "再次")).fails(t, codes.FailedPrecondition, "LEGAL_AID_OBJECTION_5D")
		e.setClock(chinaAt(2026, 10, 8, 10, 0))
		cs = must(c.DecideObjection(n, pb.ObjectionResult_OBJECTION_RESULT_CORRECTION_ORDERED, "责令重新审查")).ok(t)
		wantStatusIs(t, cs, submitted)
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_OBJECTION, pb.ClockState_CLOCK_STATE_MET, time.Time{})
		// A fresh decision clock from the 8th: the 15th.
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_DECISION, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 10, 15))

		must(c.Accept(n)).ok(t)
		must(c.Assign(n, "律师-02")).ok(t)
		must(c.Start(n)).ok(t)
		cs = must(c.Terminate(n, pb.TerminationGround_TERMINATION_GROUND_OWN_LAWYER, "受援人自行委托律师")).ok(t)
		wantStatusIs(t, cs, terminated)
		if cs.GetTerminationGround() != pb.TerminationGround_TERMINATION_GROUND_OWN_LAWYER || cs.GetStatusReason() != "受援人自行委托律师" {
			t.Errorf("terminated: %s %q", cs.GetTerminationGround(), cs.GetStatusReason())
		}
		wantPolicies(t, cs, "LEGAL_AID_TERMINATION")
		must(c.Reopen(n, "x")).fails(t, codes.FailedPrecondition, "CASE_STATUS_TERMINATED")
		must(c.FileObjection(n, "并未委托")).ok(t)
		cs = must(c.DecideObjection(n, pb.ObjectionResult_OBJECTION_RESULT_UPHELD, "维持")).ok(t)
		wantStatusIs(t, cs, terminated)
		if cs.GetObjection().GetResult() != pb.ObjectionResult_OBJECTION_RESULT_UPHELD {
			t.Errorf("objection %v", cs.GetObjection())
		}
		// Only legal aid is terminated.
		elder := must(c.CreateCase(elderCase(f))).ok(t)
		must(c.Submit(elder.GetName(), "")).ok(t)
		must(c.Accept(elder.GetName())).ok(t)
		must(c.Terminate(elder.GetName(), pb.TerminationGround_TERMINATION_GROUND_AT_REQUEST, "")).
			fails(t, codes.FailedPrecondition, "only a legal-aid case")
	})
}

// testPlacementRules: a conscript's spouse and a veteran's are refused by
// their rules; an officer's spouse is placed by the route her former job
// gives, resolved as placed only once a supervisor decided her eligible,
// and counted in the year decided.
func testPlacementRules(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		conscript := e.family(t, c, func(h *pb.Household) {
			h.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_CONSCRIPT
			h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_CONSCRIPT
		})
		st := must(c.CreateCase(employmentCase(conscript))).fails(t, codes.FailedPrecondition, "PLACEMENT_NO_CONSCRIPT_SPOUSE")
		wantRuleInfo(t, st, "PLACEMENT_NO_CONSCRIPT_SPOUSE")
		veteran := e.family(t, c, func(h *pb.Household) { h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_VETERAN })
		wantRuleInfo(t, must(c.CreateCase(employmentCase(veteran))).fails(t, codes.FailedPrecondition, "PLACEMENT_ACTIVE_DUTY_HOUSEHOLD"),
			"PLACEMENT_ACTIVE_DUTY_HOUSEHOLD")

		f := e.family(t, c, func(h *pb.Household) {
			h.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_OFFICER
			h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_OFFICER
		})
		job := employmentCase(f)
		job.GetEmploymentPlacement().PlacementYear = 2025
		job.GetEmploymentPlacement().PriorEmployment = pb.PriorEmployment_PRIOR_EMPLOYMENT_PUBLIC_INSTITUTION
		job.GetEmploymentPlacement().Route = pb.PlacementRoute_PLACEMENT_ROUTE_TRANSFER
		wantViolation(t, must(c.CreateCase(job)).fails(t, codes.InvalidArgument), "case.employment_placement.route")
		job.GetEmploymentPlacement().Route = pb.PlacementRoute_PLACEMENT_ROUTE_UNSPECIFIED
		cs := must(c.CreateCase(job)).ok(t)
		if ep := cs.GetEmploymentPlacement(); ep.GetRoute() != pb.PlacementRoute_PLACEMENT_ROUTE_EXCHANGE || ep.GetEligible() {
			t.Errorf("opened: route %s, eligible %v (a value sent is ignored)", ep.GetRoute(), ep.GetEligible())
		}
		wantPolicies(t, cs, "PLACEMENT_OFFICER_NCO_SPOUSE", "PLACEMENT_ACCOMPANIMENT_APPROVAL", "PLACEMENT_ROUTE_EXCHANGE")
		n := cs.GetName()
		cs = toInProgress(t, c, cs)
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2025, 12, 31))
		patch := &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
			Employer: "丰都县人民医院", Position: "行政文员", PlacementDate: &date.Date{Year: 2026, Month: 3, Day: 1}}}}
		must(c.UpdateCase(patch, "employment_placement.employer", "employment_placement.position", "employment_placement.placement_date")).ok(t)
		wantRuleInfo(t, must(c.Resolve(n, achieved("交流到县人民医院"))).fails(t, codes.FailedPrecondition, "PLACEMENT_ELIGIBILITY_DECIDED"),
			"PLACEMENT_ELIGIBILITY_DECIDED")
		must(c.DecideEligibility(n, true, "LEGAL_AID_DECISION_7D", "")).fails(t, codes.InvalidArgument, "policy")
		cs = must(c.DecideEligibility(n, true, "PLACEMENT_OFFICER_NCO_SPOUSE", "批准文号 政干〔2025〕12号")).ok(t)
		if d := cs.GetEligibility(); !d.GetEligible() || d.GetPlacementYear() != 2026 || d.GetPolicy() != "PLACEMENT_OFFICER_NCO_SPOUSE" || d.GetDecider() != supervisorUser {
			t.Errorf("decision %v", d)
		}
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, endOfDay(2026, 12, 31))
		counted := must(c.ListCases(&pb.ListCasesRequest{Filter: `placement_year = 2026 AND household = "` + f.household.GetName() + `"`})).ok(t)
		if got := names(counted.GetCases()); !slices.Equal(got, []string{n}) {
			t.Errorf("placement_year = 2026: %v, want the case decided in 2026", got)
		}
		cs = must(c.Resolve(n, achieved("交流到县人民医院"))).ok(t)
		wantStatusIs(t, cs, resolved)
	})
}

// testReopenKeepsOutcome: each reopening keeps the outcome it sets aside,
// with when and why.
func testReopenKeepsOutcome(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		cs := must(c.CreateCase(elderCase(f))).ok(t)
		n := cs.GetName()
		cs = toInProgress(t, c, cs)
		patch := &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{
			Hospital: "丰都县人民医院", HelpGiven: "绿色通道就诊", CostHelpFen: 50000}}}
		must(c.UpdateCase(patch, "elder_medical_help.hospital", "elder_medical_help.help_given", "elder_medical_help.cost_help_fen")).
			fails(t, codes.InvalidArgument, "cost_source")
		patch.GetElderMedicalHelp().CostSource = pb.CostSource_COST_SOURCE_COUNTY_FUND
		cs = must(c.UpdateCase(patch, "elder_medical_help.hospital", "elder_medical_help.help_given",
			"elder_medical_help.cost_help_fen", "elder_medical_help.cost_source")).ok(t)
		wantPolicies(t, cs, "ELDER_PARENTS_AND_CARERS", "ELDER_COST_HELP", "ELDER_SERVICE_TARGET")
		first := must(c.Resolve(n, achieved("已就诊"))).ok(t)
		cs = must(c.Reopen(n, "病情复发")).ok(t)
		if cs.GetOutcome() != nil || len(cs.GetOutcomeHistory()) != 1 {
			t.Fatalf("reopened: outcome %v, history %v", cs.GetOutcome(), cs.GetOutcomeHistory())
		}
		kept := cs.GetOutcomeHistory()[0]
		if kept.GetOutcome().GetSummary() != "已就诊" || !kept.GetResolveTime().AsTime().Equal(first.GetResolveTime().AsTime()) ||
			kept.GetReopenReason() != "病情复发" || kept.GetReopenTime() == nil {
			t.Errorf("kept outcome %v", kept)
		}
		wantPolicies(t, cs, "REOPEN_KEEPS_OUTCOME")
		wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, pb.ClockState_CLOCK_STATE_RUNNING, time.Time{})
		must(c.Resolve(n, &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_PARTIALLY_ACHIEVED, Summary: "转院治疗"})).ok(t)
		cs = must(c.Reopen(n, "家属申请复核")).ok(t)
		if h := cs.GetOutcomeHistory(); len(h) != 2 || h[0].GetOutcome().GetSummary() != "已就诊" || h[1].GetOutcome().GetSummary() != "转院治疗" {
			t.Errorf("after a second reopening: %v", h)
		}
		// Withdrawing needs a reason code, and words for OTHER.
		must(c.WithdrawFor(n, pb.WithdrawalReason_WITHDRAWAL_REASON_UNSPECIFIED, "")).fails(t, codes.InvalidArgument, "reason_code")
		must(c.WithdrawFor(n, pb.WithdrawalReason_WITHDRAWAL_REASON_OTHER, "")).fails(t, codes.InvalidArgument, "WITHDRAWAL_REASON")
		cs = must(c.WithdrawFor(n, pb.WithdrawalReason_WITHDRAWAL_REASON_MOVED_AWAY, "迁往外省")).ok(t)
		if cs.GetWithdrawalReason() != pb.WithdrawalReason_WITHDRAWAL_REASON_MOVED_AWAY || len(cs.GetOutcomeHistory()) != 2 {
			t.Errorf("withdrawn: %s, history %d", cs.GetWithdrawalReason(), len(cs.GetOutcomeHistory()))
		}
	})
}

// testMaterialsLapse: materials not supplied by their last day count as
// withdrawal; three servers sweep the same database and the case is
// withdrawn once, by the system.
func testMaterialsLapse(t *testing.T, e *env) {
	fast := func(cfg *server.Config) { cfg.MaintenanceInterval = 20 * time.Millisecond }
	for range 2 {
		db, dialect, err := repository.Open(context.Background(), e.db.URL, "")
		if err != nil {
			t.Fatalf("open another pool: %v", err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		e.serveWith(t, repository.New(db, dialect, e.db.Keyring, repository.WithClock(e.clock.Now)), fast)
	}
	c := e.grpcClient(t)
	e.setClock(chinaAt(2026, 3, 2, 10, 0))
	f := e.family(t, c)
	cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	n := cs.GetName()
	must(c.Submit(n, "")).ok(t)
	must(c.RequestMaterials(n, []string{"授权委托书"}, &date.Date{Year: 2026, Month: 3, Day: 3})).ok(t)
	time.Sleep(100 * time.Millisecond) // sweeps before the last day change nothing
	wantStatusIs(t, must(c.GetCase(n)).ok(t), awaitingMaterials)

	e.setClock(chinaAt(2026, 3, 4, 0, 0)) // 24:00 of the last day
	deadline := time.Now().Add(10 * time.Second)
	for must(c.GetCase(n)).ok(t).GetStatus() != withdrawn {
		if time.Now().After(deadline) {
			t.Fatal("the lapsed application was not withdrawn within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let every server sweep again
	cs = must(c.GetCase(n)).ok(t)
	if cs.GetWithdrawalReason() != pb.WithdrawalReason_WITHDRAWAL_REASON_MATERIALS_NOT_SUPPLIED || cs.GetDueTime() != nil {
		t.Errorf("withdrawn: reason %s, dueTime %v", cs.GetWithdrawalReason(), cs.GetDueTime())
	}
	wantClockIs(t, cs, pb.ClockKind_CLOCK_KIND_MATERIALS, pb.ClockState_CLOCK_STATE_MISSED, time.Time{})
	wantPolicies(t, cs, "LEGAL_AID_MATERIALS_WITHDRAWN")
	var withdrawals []*pb.CaseHistoryEntry
	for _, h := range must(c.History(n)).ok(t).GetEntries() {
		if h.GetMethod() == "WithdrawCase" {
			withdrawals = append(withdrawals, h)
		}
	}
	if len(withdrawals) != 1 || withdrawals[0].GetActor() != "system" || withdrawals[0].GetFromStatus() != awaitingMaterials {
		t.Errorf("withdrawals in the history: %v, want one by system", withdrawals)
	}
}
