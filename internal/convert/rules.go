package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/repository"
)

// The case's rules: its clocks, reason codes, decisions and outcome
// history, and the details the domain's eligibility rules read and derive.

var (
	clockKinds         = enum[domain.ClockKind, pb.ClockKind]{prefix: "CLOCK_KIND_"}
	clockStates        = enum[domain.ClockState, pb.ClockState]{prefix: "CLOCK_STATE_"}
	withdrawalReasons  = enum[domain.WithdrawalReason, pb.WithdrawalReason]{prefix: "WITHDRAWAL_REASON_"}
	rejectionReasons   = enum[domain.RejectionReason, pb.RejectionReason]{prefix: "REJECTION_REASON_"}
	terminationGrounds = enum[domain.TerminationGround, pb.TerminationGround]{prefix: "TERMINATION_GROUND_"}
	objectionResults   = enum[domain.ObjectionResult, pb.ObjectionResult]{prefix: "OBJECTION_RESULT_"}

	// Kept inside the details JSON by their API names; the rules read them
	// as domain values.
	priorEmployments = enum[domain.PriorEmployment, pb.PriorEmployment]{prefix: "PRIOR_EMPLOYMENT_"}
	placementRoutes  = enum[domain.PlacementRoute, pb.PlacementRoute]{prefix: "PLACEMENT_ROUTE_"}
	schoolStages     = enum[domain.SchoolStage, pb.SchoolStage]{prefix: "SCHOOL_STAGE_"}
	enrollmentBases  = enum[domain.EnrollmentBasis, pb.EnrollmentPriorityBasis]{prefix: "ENROLLMENT_PRIORITY_BASIS_"}
	schoolBenefits   = enum[domain.SchoolBenefit, pb.SchoolBenefit]{prefix: "SCHOOL_BENEFIT_"}
	costSources      = enum[domain.CostSource, pb.CostSource]{prefix: "COST_SOURCE_"}
)

// WithdrawalReason is a request's withdrawal reason code as the domain
// names it; the functions below do the same for the other codes.
func WithdrawalReason(p pb.WithdrawalReason) domain.WithdrawalReason {
	return withdrawalReasons.fromProto(p)
}

// RejectionReason is the domain's name of a rejection reason.
func RejectionReason(p pb.RejectionReason) domain.RejectionReason {
	return rejectionReasons.fromProto(p)
}

// TerminationGround is the domain's name of a termination ground.
func TerminationGround(p pb.TerminationGround) domain.TerminationGround {
	return terminationGrounds.fromProto(p)
}

// ObjectionResult is the domain's name of an objection's result.
func ObjectionResult(p pb.ObjectionResult) domain.ObjectionResult {
	return objectionResults.fromProto(p)
}

// dateTime is a google.type.Date as a calendar date (midnight UTC), zero
// for an unset or partial date.
func dateTime(year, month, day int32) time.Time {
	if year == 0 || month == 0 || day == 0 {
		return time.Time{}
	}
	return time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, time.UTC)
}

// Request is what c's details ask for, as the eligibility rules read it.
func Request(c *pb.Case) domain.Request {
	kind, _ := CaseDetails(c)
	r := domain.Request{Kind: kind}
	switch kind {
	case domain.KindEmploymentPlacement:
		d := c.GetEmploymentPlacement()
		r.PriorEmployment = priorEmployments.fromProto(d.GetPriorEmployment())
		r.Route = placementRoutes.fromProto(d.GetRoute())
	case domain.KindSchoolEnrollment:
		d := c.GetSchoolEnrollment()
		r.Stage = schoolStages.fromProto(d.GetSchoolStage())
		r.Basis = enrollmentBases.fromProto(d.GetPriorityBasis())
		r.PlaceGiven = d.GetEnrolmentPlace() != pb.EnrolmentPlace_ENROLMENT_PLACE_UNSPECIFIED
	case domain.KindElderMedicalHelp:
		d := c.GetElderMedicalHelp()
		r.CostHelpFen = d.GetCostHelpFen()
		r.CostSource = costSources.fromProto(d.GetCostSource())
	case domain.KindLegalAid:
		d := c.GetLegalAid()
		r.HardshipExempt, r.ExemptionEvidence = d.GetHardshipCheckExempt(), d.GetExemptionEvidence()
		r.MartyrRights = d.GetMartyrPersonalityRights()
		if ld := d.GetLimitationDeadline(); ld != nil {
			r.LimitationDeadline = dateTime(ld.GetYear(), ld.GetMonth(), ld.GetDay())
		}
	}
	return r
}

// ApplyDecided writes what the rules derived onto c's details: the
// placement route, the school basis and benefit, legal aid's urgency.
func ApplyDecided(c *pb.Case, d domain.Decided) {
	switch x := c.GetDetails().(type) {
	case *pb.Case_EmploymentPlacement:
		x.EmploymentPlacement.Route = placementRoutes.toProto(d.Route)
	case *pb.Case_SchoolEnrollment:
		x.SchoolEnrollment.PriorityBasis = enrollmentBases.toProto(d.Basis)
		x.SchoolEnrollment.Benefit = schoolBenefits.toProto(d.Benefit)
	case *pb.Case_LegalAid:
		x.LegalAid.Urgent = d.Urgent
	}
}

func optTime(t *time.Time) *timestamppb.Timestamp { return optTimestamp(t) }

// renderRules sets the rendering of the case's rules on out.
func renderRules(c *repository.Case, out *pb.Case) {
	for _, r := range c.PolicyBasis {
		out.PolicyBasis = append(out.PolicyBasis, string(r))
	}
	for _, k := range c.Clocks.V {
		out.Clocks = append(out.Clocks, &pb.CaseClock{
			Kind: clockKinds.toProto(k.Kind), State: clockStates.toProto(k.State),
			StartTime: timestamp(k.Start), DueTime: timestamp(k.Due), StopTime: optTime(k.Stop),
			Policy: string(k.Rule),
		})
	}
	for _, h := range c.OutcomeHistory.V {
		out.OutcomeHistory = append(out.OutcomeHistory, &pb.OutcomeRecord{
			Outcome:      &pb.CaseOutcome{Result: results.toProto(h.Result), Summary: h.Summary},
			ResolveTime:  timestamp(h.ResolveTime),
			ReopenTime:   timestamp(h.ReopenTime),
			ReopenReason: h.ReopenReason,
		})
	}
	if d := c.Eligibility.V; d != nil {
		out.Eligibility = &pb.EligibilityDecision{
			Eligible: d.Eligible, Policy: string(d.Rule), Note: d.Note, Decider: d.Decider,
			DecideTime: timestamp(d.DecideTime), PlacementYear: int32(d.PlacementYear),
		}
	}
	out.WithdrawalReason = withdrawalReasons.toProto(c.WithdrawalReason)
	out.RejectionReason = rejectionReasons.toProto(c.RejectionReason)
	out.TerminationGround = terminationGrounds.toProto(c.TerminationGround)
	if o := c.Objection.V; o != nil {
		out.Objection = &pb.Objection{FileTime: timestamp(o.FileTime), Note: o.Note,
			Result: objectionResults.toProto(o.Result), DecideTime: optTime(o.DecideTime)}
	}
}
