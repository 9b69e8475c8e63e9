package e2e

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// testEachRule shows, through the API on both transports, the rules of the
// table the other scenarios do not reach: the routes and grounds of
// placement, the school benefits by stage and household, medical help for
// survivors' family, legal aid's exemptions and urgency, and the document
// rules a refusal names. Together with the others, every rule of the table
// is seen at work (rulewatch_test.go checks it).
func testEachRule(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		nco := func(post pb.PostType, mods ...func(*pb.Household)) *pb.Household {
			h := must(c.CreateHousehold(e.newHousehold(append([]func(*pb.Household){func(h *pb.Household) {
				h.Servicemember.PostType = post
			}}, mods...)...))).ok(t)
			return h
		}
		status := func(st pb.ServicememberStatus) func(*pb.Household) {
			return func(h *pb.Household) {
				h.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_UNSPECIFIED
				h.Servicemember.Status = st
			}
		}
		member := func(h *pb.Household, rel pb.Relation, birth time.Time, mods ...func(*pb.Member)) *pb.Member {
			m := e.newMember(rel, "家属", birth)
			m.Accompanying = false
			for _, mod := range mods {
				mod(m)
			}
			return must(c.CreateMember(h.GetName(), m)).ok(t)
		}
		// Each probe is withdrawn once read, so that the next one for the
		// same member may open (OPEN_CASE_PER_KIND).
		probe := func(p *pb.Case) *pb.Case {
			cs := must(c.CreateCase(p)).ok(t)
			must(c.Withdraw(cs.GetName(), "probe")).ok(t)
			return cs
		}
		placement := func(h *pb.Household, m *pb.Member, ep *pb.EmploymentPlacement) *pb.Case {
			return probe(&pb.Case{Household: h.GetName(), Subject: m.GetName(),
				Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: ep}})
		}
		school := func(h *pb.Household, m *pb.Member, stage pb.SchoolStage) *pb.Case {
			return probe(&pb.Case{Household: h.GetName(), Subject: m.GetName(),
				Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{SchoolStage: stage, SchoolYear: "2026-2027"}}})
		}
		legal := func(h *pb.Household, m *pb.Member, la *pb.LegalAid) *pb.Case {
			return probe(&pb.Case{Household: h.GetName(), Subject: m.GetName(),
				Details: &pb.Case_LegalAid{LegalAid: la}})
		}

		t.Run("placement_routes_and_grounds", func(t *testing.T) {
			// A border family settled at home, without an approval (条例 Art 48).
			h := nco(pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, func(h *pb.Household) { h.SettledAtHome = true })
			spouse := member(h, pb.Relation_RELATION_SPOUSE, spouseBirth)
			for prior, want := range map[pb.PriorEmployment]string{
				pb.PriorEmployment_PRIOR_EMPLOYMENT_CIVIL_SERVANT: "PLACEMENT_ROUTE_TRANSFER",
				pb.PriorEmployment_PRIOR_EMPLOYMENT_NONE:          "PLACEMENT_ROUTE_EMPLOYMENT_SERVICES",
			} {
				cs := placement(h, spouse, &pb.EmploymentPlacement{PlacementYear: 2026, PriorEmployment: prior})
				wantPolicies(t, cs, "PLACEMENT_SETTLED_AT_HOME", want)
			}
			for route, want := range map[pb.PlacementRoute]string{
				pb.PlacementRoute_PLACEMENT_ROUTE_MUTUAL_CHOICE:        "PLACEMENT_ROUTE_MUTUAL_CHOICE",
				pb.PlacementRoute_PLACEMENT_ROUTE_TARGETED_RECRUITMENT: "PLACEMENT_TARGETED_RECRUITMENT",
			} {
				cs := placement(h, spouse, &pb.EmploymentPlacement{PlacementYear: 2026,
					PriorEmployment: pb.PriorEmployment_PRIOR_EMPLOYMENT_ENTERPRISE, Route: route})
				wantPolicies(t, cs, want)
				if cs.GetEmploymentPlacement().GetRoute() != route {
					t.Errorf("route %v, want %v", cs.GetEmploymentPlacement().GetRoute(), route)
				}
			}
			// A martyr's adult child is placed as a survivor; a minor is refused
			// naming the rule.
			m := nco(pb.PostType_POST_TYPE_REGULAR, status(pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR))
			adult := member(m, pb.Relation_RELATION_CHILD, day(2000, 5, 5))
			wantPolicies(t, placement(m, adult, &pb.EmploymentPlacement{PlacementYear: 2026}), "PLACEMENT_SURVIVORS")
			minor := member(m, pb.Relation_RELATION_CHILD, childBirth)
			_, err := c.CreateCase(&pb.Case{Household: m.GetName(), Subject: minor.GetName(),
				Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{PlacementYear: 2026}}})
			must(0, err).fails(t, codes.FailedPrecondition, "PLACEMENT_SURVIVORS")
		})

		t.Run("school_benefits", func(t *testing.T) {
			border := nco(pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE)
			teen := member(border, pb.Relation_RELATION_CHILD, day(2010, 3, 1))
			cs := school(border, teen, pb.SchoolStage_SCHOOL_STAGE_SENIOR_HIGH)
			wantPolicies(t, cs, "SCHOOL_PRIORITY_EQUAL_CONDITIONS", "SCHOOL_BORDER_HARDSHIP_BASIS")
			if cs.GetSchoolEnrollment().GetBenefit() != pb.SchoolBenefit_SCHOOL_BENEFIT_PRIORITY_EQUAL_CONDITIONS {
				t.Errorf("senior high benefit %v", cs.GetSchoolEnrollment().GetBenefit())
			}
			martyr := nco(pb.PostType_POST_TYPE_REGULAR, status(pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR))
			child := member(martyr, pb.Relation_RELATION_CHILD, day(2010, 3, 1))
			cs = school(martyr, child, pb.SchoolStage_SCHOOL_STAGE_SENIOR_HIGH)
			wantPolicies(t, cs, "SCHOOL_SURVIVOR_CHILD")
			if cs.GetSchoolEnrollment().GetBenefit() != pb.SchoolBenefit_SCHOOL_BENEFIT_BONUS_OR_PRIORITY ||
				cs.GetSchoolEnrollment().GetPriorityBasis() != pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_MARTYR_CHILD {
				t.Errorf("a martyr's child at senior high: %v %v", cs.GetSchoolEnrollment().GetBenefit(), cs.GetSchoolEnrollment().GetPriorityBasis())
			}
		})

		t.Run("medical_help_for_survivors_family", func(t *testing.T) {
			h := nco(pb.PostType_POST_TYPE_REGULAR, status(pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_OF_ILLNESS))
			sibling := member(h, pb.Relation_RELATION_DEPENDENT_SIBLING, day(1995, 1, 1))
			cs := must(c.CreateCase(&pb.Case{Household: h.GetName(), Subject: sibling.GetName(),
				Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{Need: pb.ElderNeed_ELDER_NEED_ESCORT}}})).ok(t)
			wantPolicies(t, cs, "ELDER_SURVIVOR_FAMILY", "PRIORITY_DIED_OF_ILLNESS")
		})

		t.Run("legal_aid_exemptions_and_urgency", func(t *testing.T) {
			martyr := nco(pb.PostType_POST_TYPE_REGULAR, status(pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR))
			father := member(martyr, pb.Relation_RELATION_FATHER, fatherBirth)
			cs := legal(martyr, father, &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION, MartyrPersonalityRights: true})
			wantPolicies(t, cs, "LEGAL_AID_MARTYR_RELATIVES")
			cs = legal(martyr, father, &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION,
				HardshipCheckExempt: true, ExemptionEvidence: "优待证"})
			wantPolicies(t, cs, "LEGAL_AID_HARDSHIP_NOT_CHECKED")
			// A limitation period ending within 7 days: urgent, and aid may
			// start before the decision.
			soon := e.clock.Now().In(cst).AddDate(0, 0, 3)
			// Kept open: the rest of the test works on it.
			cs = must(c.CreateCase(&pb.Case{Household: martyr.GetName(), Subject: father.GetName(), Details: &pb.Case_LegalAid{
				LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION, LimitationDeadline: dateOf(soon)}}})).ok(t)
			wantPolicies(t, cs, "LEGAL_AID_URGENT_FIRST")
			if !cs.GetLegalAid().GetUrgent() {
				t.Errorf("a limitation period 3 days away is not urgent")
			}
			must(c.Submit(cs.GetName(), "")).ok(t)
			must(c.Assign(cs.GetName(), "律师-urgent")).ok(t)
			started := must(c.Start(cs.GetName())).ok(t)
			if started.GetStatus() != pb.CaseStatus_CASE_STATUS_IN_PROGRESS {
				t.Errorf("an urgent application did not start before its decision: %v", started.GetStatus())
			}
		})

		t.Run("document_rules_named_in_refusals", func(t *testing.T) {
			// A 15-digit number with a sequence the 1989 scheme kept for
			// people born in the 1800s cannot be converted.
			old := region + "850612997"
			e.leaks.track(old)
			h := nco(pb.PostType_POST_TYPE_REGULAR)
			bad := e.newMember(pb.Relation_RELATION_FATHER, "张老", day(1985, 6, 12))
			bad.IdNumber = old
			_, err := c.CreateMember(h.GetName(), bad)
			wantRule(t, must(0, err).fails(t, codes.InvalidArgument), "member.id_number", "ID_NUMBER_15_DIGIT")
			// A certificate number of other characters.
			_, err = c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.PreferentialCertificateNumber = "证 1" }))
			wantRule(t, must(0, err).fails(t, codes.InvalidArgument), "household.preferential_certificate_number", "PREFERENTIAL_CERTIFICATE")
		})
	})
}
