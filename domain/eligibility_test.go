package domain

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Households of each status the law distinguishes.
var (
	officerHH   = Household{Status: ServiceActiveOfficer, Post: PostRegular}
	ncoHH       = Household{Status: ServiceActiveNCO, Post: PostRegular}
	conscriptHH = Household{Status: ServiceActiveConscript, Post: PostRegular}
	veteranHH   = Household{Status: ServiceVeteran}
	martyrHH    = Household{Status: ServiceMartyr}
	onDutyHH    = Household{Status: ServiceDiedOnDuty}
	illnessHH   = Household{Status: ServiceDiedOfIllness}
	borderHH    = Household{Status: ServiceActiveNCO, Post: PostBorderCoastalDefence}
)

var checkNow = time.Date(2026, 6, 15, 9, 0, 0, 0, ChinaTime)

type eligibilityCase struct {
	name string
	h    Household
	s    Subject
	r    Request
	// rule is the rule a NotEligibleError must name; fields the
	// ValidationError must name; neither: the case is eligible and
	// basis lists rules its Decided must carry.
	rule   RuleID
	fields []string
	basis  []RuleID
	check  func(t *testing.T, d Decided)
}

func runEligibility(t *testing.T, cases []eligibilityCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := CheckEligibility(tc.h, tc.s, tc.r, checkNow)
			switch {
			case tc.rule != "":
				ne, ok := AsNotEligible(err)
				if !ok || ne.Rule != tc.rule {
					t.Fatalf("error = %v, want NotEligibleError of %s", err, tc.rule)
				}
				if !strings.Contains(err.Error(), string(tc.rule)) {
					t.Errorf("message %q does not name the rule", err.Error())
				}
			case tc.fields != nil:
				v, ok := AsValidation(err)
				if !ok {
					t.Fatalf("error = %v, want a ValidationError naming %v", err, tc.fields)
				}
				var got []string
				for _, x := range v.Violations {
					got = append(got, x.Field)
				}
				if !slices.Equal(got, tc.fields) {
					t.Errorf("fields %v, want %v", got, tc.fields)
				}
			default:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				for _, r := range tc.basis {
					if !slices.Contains(d.Rules, r) {
						t.Errorf("rules %v lack %s", d.Rules, r)
					}
				}
				if tc.check != nil {
					tc.check(t, d)
				}
			}
		})
	}
}

func placement(prior PriorEmployment, route PlacementRoute) Request {
	return Request{Kind: KindEmploymentPlacement, PriorEmployment: prior, Route: route}
}

// 地位法 Art 42, 条例 Arts 46 and 48.
func TestPlacementEligibility(t *testing.T) {
	spouse := Subject{Relation: RelationSpouse, BirthDate: day(1992, 7, 3), Accompanying: true}
	unapproved := Subject{Relation: RelationSpouse, BirthDate: day(1992, 7, 3)}
	adultChild := Subject{Relation: RelationChild, BirthDate: day(2000, 1, 1)}
	minorChild := Subject{Relation: RelationChild, BirthDate: day(2012, 1, 1)}
	approvedHH := ncoHH
	approvedHH.Approved = true
	settled := Household{Status: ServiceActiveOfficer, Post: PostIslandFirst, SettledAtHome: true}
	route := func(want PlacementRoute) func(*testing.T, Decided) {
		return func(t *testing.T, d Decided) {
			if d.Route != want {
				t.Errorf("route %q, want %q", d.Route, want)
			}
		}
	}
	runEligibility(t, []eligibilityCase{
		{name: "officer's accompanying spouse", h: officerHH, s: spouse, r: placement(PriorNone, ""),
			basis: []RuleID{RulePlacementOfficerNCOSpouse, RulePlacementApproval, RulePlacementRouteServices}},
		{name: "approval recorded on the household", h: approvedHH, s: unapproved, r: placement("", ""),
			basis: []RuleID{RulePlacementApproval}},
		{name: "no approval", h: ncoHH, s: unapproved, r: placement("", ""), rule: RulePlacementApproval},
		{name: "Art 48: settled at home", h: settled, s: unapproved, r: placement("", ""),
			basis: []RuleID{RulePlacementSettledAtHome}},
		{name: "conscript's spouse", h: conscriptHH, s: spouse, r: placement("", ""), rule: RulePlacementNoConscript},
		{name: "veteran's spouse", h: veteranHH, s: spouse, r: placement("", ""), rule: RulePlacementActiveOnly},
		{name: "died of illness", h: illnessHH, s: spouse, r: placement("", ""), rule: RulePlacementActiveOnly},
		{name: "no status recorded", h: Household{}, s: spouse, r: placement("", ""), rule: RulePlacementActiveOnly},
		{name: "officer's child", h: officerHH, s: adultChild, r: placement("", ""), rule: RulePlacementOfficerNCOSpouse},
		{name: "martyr's adult child", h: martyrHH, s: adultChild, r: placement("", ""), basis: []RuleID{RulePlacementSurvivors}},
		{name: "died on duty: spouse", h: onDutyHH, s: unapproved, r: placement("", ""), basis: []RuleID{RulePlacementSurvivors}},
		{name: "martyr's minor child", h: martyrHH, s: minorChild, r: placement("", ""), rule: RulePlacementSurvivors},
		{name: "martyr's dependent sibling", h: martyrHH, s: Subject{Relation: RelationDependentSibling, BirthDate: day(1999, 1, 1)},
			r: placement("", ""), basis: []RuleID{RulePlacementSurvivors, RuleMedicalSurvivor}},
		{name: "civil servant: transfer", h: officerHH, s: spouse, r: placement(PriorCivilServant, ""),
			basis: []RuleID{RulePlacementRouteTransfer}, check: route(RouteTransfer)},
		{name: "public institution: exchange", h: officerHH, s: spouse, r: placement(PriorPublicInstitution, ""),
			basis: []RuleID{RulePlacementRouteExchange}, check: route(RouteExchange)},
		{name: "enterprise: employment services", h: officerHH, s: spouse, r: placement(PriorEnterprise, ""),
			basis: []RuleID{RulePlacementRouteServices}, check: route(RouteEmploymentServices)},
		{name: "mutual choice as sent", h: officerHH, s: spouse, r: placement(PriorCivilServant, RouteMutualChoice),
			basis: []RuleID{RulePlacementRouteMutualChoice}, check: route(RouteMutualChoice)},
		{name: "targeted recruitment as sent", h: officerHH, s: spouse, r: placement(PriorNone, RouteTargetedRecruiting),
			basis: []RuleID{RulePlacementTargeted}, check: route(RouteTargetedRecruiting)},
		{name: "route sent that matches", h: officerHH, s: spouse, r: placement(PriorCivilServant, RouteTransfer), check: route(RouteTransfer)},
		{name: "transfer for no prior job", h: officerHH, s: spouse, r: placement(PriorNone, RouteTransfer),
			fields: []string{"case.employment_placement.route", "case.employment_placement.prior_employment"}},
		{name: "exchange with no prior employment recorded", h: officerHH, s: spouse, r: placement("", RouteExchange),
			fields: []string{"case.employment_placement.route", "case.employment_placement.prior_employment"}},
	})
}

func school(stage SchoolStage, basis EnrollmentBasis) Request {
	return Request{Kind: KindSchoolEnrollment, Stage: stage, Basis: basis}
}

// 地位法 Arts 55 and 68, 条例 Art 43.
func TestSchoolEligibility(t *testing.T) {
	child := func(birth time.Time) Subject { return Subject{Relation: RelationChild, BirthDate: birth} }
	nine, adult := child(day(2016, 9, 1)), child(day(2004, 1, 1))
	dependent := adult
	dependent.CannotLiveIndependently = true
	benefit := func(b SchoolBenefit, basis EnrollmentBasis) func(*testing.T, Decided) {
		return func(t *testing.T, d Decided) {
			if d.Benefit != b || d.Basis != basis {
				t.Errorf("benefit %q basis %q, want %q %q", d.Benefit, d.Basis, b, basis)
			}
		}
	}
	decorated := ncoHH
	decorated.Decorated = true
	runEligibility(t, []eligibilityCase{
		{name: "turns 2 today", h: ncoHH, s: child(day(2024, 6, 15)), r: school(StageKindergarten, ""), basis: []RuleID{RuleSchoolChild}},
		{name: "turns 2 tomorrow", h: ncoHH, s: child(day(2024, 6, 16)), r: school(StageKindergarten, ""), rule: RuleSchoolChild},
		{name: "17 years old", h: ncoHH, s: child(day(2008, 6, 16)), r: school(StageSeniorHigh, ""), basis: []RuleID{RuleSchoolChild}},
		{name: "turned 18 today", h: ncoHH, s: child(day(2008, 6, 15)), r: school(StageSeniorHigh, ""), rule: RuleSchoolChild},
		{name: "adult who cannot live independently", h: ncoHH, s: dependent, r: school(StageSecondaryVocational, ""),
			basis: []RuleID{RuleSchoolChild, RuleSchoolPriorityEqual}, check: benefit(BenefitPriorityEqual, BasisActiveDuty)},
		{name: "martyr's adult child at university", h: martyrHH, s: adult, r: school(StageHigherEducation, ""),
			basis: []RuleID{RuleSchoolSurvivorChild}, check: benefit(BenefitBonusOrPriority, BasisMartyrChild)},
		{name: "martyr's adult child at primary school", h: martyrHH, s: adult, r: school(StagePrimary, ""), rule: RuleSchoolChild},
		{name: "not a child", h: ncoHH, s: Subject{Relation: RelationSpouse, BirthDate: day(2015, 1, 1)}, r: school(StagePrimary, ""), rule: RuleSchoolChild},
		{name: "no birth date", h: ncoHH, s: child(time.Time{}), r: school(StagePrimary, ""), fields: []string{"case.subject"}},
		{name: "compulsory stage: place choice", h: ncoHH, s: nine, r: school(StagePrimary, BasisActiveDuty),
			basis: []RuleID{RuleSchoolPlaceChoice, RuleSchoolBasisMatchesHH}, check: benefit(BenefitPlaceChoice, BasisActiveDuty)},
		{name: "senior high: priority under equal conditions", h: ncoHH, s: child(day(2010, 1, 1)), r: school(StageSeniorHigh, ""),
			check: benefit(BenefitPriorityEqual, BasisActiveDuty)},
		{name: "died on duty, senior high: bonus", h: onDutyHH, s: child(day(2010, 1, 1)), r: school(StageSeniorHigh, ""),
			basis: []RuleID{RuleSchoolSurvivorChild}, check: benefit(BenefitBonusOrPriority, BasisDiedOnDutyChild)},
		{name: "border basis derived", h: borderHH, s: nine, r: school(StagePrimary, ""),
			basis: []RuleID{RuleSchoolBorderBasis}, check: benefit(BenefitPlaceChoice, BasisBorderHardship)},
		{name: "meritorious sent and supported", h: decorated, s: nine, r: school(StageJuniorHigh, BasisMeritorious),
			check: benefit(BenefitPlaceChoice, BasisMeritorious)},
		{name: "border basis without a border post", h: ncoHH, s: nine, r: school(StagePrimary, BasisBorderHardship),
			fields: []string{"case.school_enrollment.priority_basis", "case.household"}},
		{name: "martyr basis for an active household", h: ncoHH, s: nine, r: school(StagePrimary, BasisMartyrChild),
			fields: []string{"case.school_enrollment.priority_basis", "case.household"}},
		{name: "veteran's child: no basis", h: veteranHH, s: nine, r: school(StagePrimary, ""), rule: RuleSchoolBasisMatchesHH},
		{name: "enrolment place at senior high", h: ncoHH, s: child(day(2010, 1, 1)),
			r:      Request{Kind: KindSchoolEnrollment, Stage: StageSeniorHigh, PlaceGiven: true},
			fields: []string{"case.school_enrollment.enrolment_place"}},
		{name: "enrolment place at primary", h: ncoHH, s: nine,
			r: Request{Kind: KindSchoolEnrollment, Stage: StagePrimary, PlaceGiven: true}, basis: []RuleID{RuleSchoolPlaceChoice}},
	})
}

// 地位法 Arts 51 and 68, 条例 Art 44.
func TestElderEligibility(t *testing.T) {
	elder := func(rel Relation) Subject { return Subject{Relation: rel, BirthDate: day(1960, 1, 1)} }
	cost := func(fen int64, src CostSource) Request {
		return Request{Kind: KindElderMedicalHelp, CostHelpFen: fen, CostSource: src}
	}
	runEligibility(t, []eligibilityCase{
		{name: "father", h: ncoHH, s: elder(RelationFather), r: cost(0, ""), basis: []RuleID{RuleElderParents, RuleElderPriority}},
		{name: "mother", h: veteranHH, s: elder(RelationMother), r: cost(0, ""), basis: []RuleID{RuleElderParents}},
		{name: "carer (扶养人)", h: ncoHH, s: elder(RelationCarer), r: cost(0, ""), basis: []RuleID{RuleElderParents}},
		{name: "spouse", h: ncoHH, s: elder(RelationSpouse), r: cost(0, ""), rule: RuleElderParents},
		{name: "sibling outside survivors", h: ncoHH, s: elder(RelationDependentSibling), r: cost(0, ""), rule: RuleElderParents},
		{name: "survivors: dependent sibling", h: martyrHH, s: elder(RelationDependentSibling), r: cost(0, ""),
			basis: []RuleID{RuleMedicalSurvivor}},
		{name: "survivors: adult child", h: illnessHH, s: elder(RelationChild), r: cost(0, ""), basis: []RuleID{RuleMedicalSurvivor}},
		{name: "cost help with its source", h: ncoHH, s: elder(RelationFather), r: cost(150000, "COUNTY_FUND"),
			basis: []RuleID{RuleElderCostHelp}},
		{name: "cost help without a source", h: ncoHH, s: elder(RelationFather), r: cost(150000, ""),
			fields: []string{"case.elder_medical_help.cost_source"}},
	})
}

// 法律援助法 Arts 32, 42 and 44; 地位法 Art 61.
func TestLegalAidEligibility(t *testing.T) {
	anyone := Subject{Relation: RelationOther}
	urgent := func(want bool) func(*testing.T, Decided) {
		return func(t *testing.T, d Decided) {
			if d.Urgent != want {
				t.Errorf("urgent %v, want %v", d.Urgent, want)
			}
			if slices.Contains(d.Rules, RuleLegalAidUrgent) != want {
				t.Errorf("rules %v: LEGAL_AID_URGENT_FIRST listed %v, want %v", d.Rules, !want, want)
			}
		}
	}
	la := func(mod func(*Request)) Request {
		r := Request{Kind: KindLegalAid}
		mod(r2(&r))
		return r
	}
	runEligibility(t, []eligibilityCase{
		{name: "any member", h: veteranHH, s: anyone, r: la(func(*Request) {}), basis: []RuleID{RuleLegalAidAnyMember}, check: urgent(false)},
		{name: "hardship not checked with proof", h: ncoHH, s: anyone,
			r:     la(func(r *Request) { r.HardshipExempt, r.ExemptionEvidence = true, "优待证 2026-001" }),
			basis: []RuleID{RuleLegalAidNoHardshipChk}},
		{name: "exemption without proof", h: ncoHH, s: anyone, r: la(func(r *Request) { r.HardshipExempt = true }),
			fields: []string{"case.legal_aid.exemption_evidence"}},
		{name: "martyr's relative, martyr's rights", h: martyrHH, s: anyone, r: la(func(r *Request) { r.MartyrRights = true }),
			basis: []RuleID{RuleLegalAidMartyrRights}},
		{name: "martyr's rights in an active household", h: ncoHH, s: anyone, r: la(func(r *Request) { r.MartyrRights = true }),
			fields: []string{"case.legal_aid.martyr_personality_rights", "case.household"}},
		{name: "limitation ends in 6 days", h: ncoHH, s: anyone,
			r: la(func(r *Request) { r.LimitationDeadline = day(2026, 6, 21) }), check: urgent(true)},
		{name: "limitation ends today", h: ncoHH, s: anyone,
			r: la(func(r *Request) { r.LimitationDeadline = day(2026, 6, 15) }), check: urgent(true)},
		{name: "limitation ends in 7 days", h: ncoHH, s: anyone,
			r: la(func(r *Request) { r.LimitationDeadline = day(2026, 6, 22) }), check: urgent(false)},
		{name: "limitation already passed", h: ncoHH, s: anyone,
			r: la(func(r *Request) { r.LimitationDeadline = day(2026, 6, 14) }), check: urgent(false)},
	})
}

func r2(r *Request) *Request { return r }

func TestUnknownKindAndRelation(t *testing.T) {
	if v, ok := AsValidation(func() error {
		_, err := CheckEligibility(ncoHH, Subject{Relation: RelationSpouse}, Request{Kind: "HOUSING"}, checkNow)
		return err
	}()); !ok || v.Violations[0].Field != "case.kind" {
		t.Errorf("unknown kind: got %v, want a case.kind violation", v)
	}
	if _, err := CheckEligibility(ncoHH, Subject{Relation: "COUSIN"}, Request{Kind: KindLegalAid}, checkNow); err == nil {
		t.Error("an unknown relation was accepted")
	}
}

func TestCasePriorityAddsLegalAid(t *testing.T) {
	_, _, rules := CasePriority(KindLegalAid, borderHH)
	if !slices.Contains(rules, RuleLegalAidPriority) || !slices.Contains(rules, RulePriorityBorderIsland) {
		t.Errorf("legal aid rules %v, want LEGAL_AID_PRIORITY and the household's", rules)
	}
	if _, _, rules := CasePriority(KindElderMedicalHelp, borderHH); slices.Contains(rules, RuleLegalAidPriority) {
		t.Errorf("elder case rules %v carry LEGAL_AID_PRIORITY", rules)
	}
}
