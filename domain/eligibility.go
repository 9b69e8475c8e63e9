package domain

import (
	"fmt"
	"slices"
	"time"
)

// Who is entitled to which service, and what the law gives them: checked
// when a case is opened (single or in a batch), when its details or subject
// change, and when it is submitted. A subject the law does not cover is
// refused with a NotEligibleError naming the rule; a field that contradicts
// the household is a ValidationError naming both.

// The values of the details the rules read. They are the API's enum names
// without their prefixes; the details themselves are stored as the API
// spells them.
type (
	// PriorEmployment is a spouse's employment before accompanying.
	PriorEmployment string
	// PlacementRoute is how a spouse is placed.
	PlacementRoute string
	// SchoolStage is the stage a child enrols at.
	SchoolStage string
	// EnrollmentBasis is the ground of a child's priority.
	EnrollmentBasis string
	// EnrolmentPlace is where a child enrols under 地位法 Art 55.
	EnrolmentPlace string
	// SchoolBenefit is what the law gives a child at a stage.
	SchoolBenefit string
	// CostSource is where help with medical costs came from.
	CostSource string
)

// The values.
const (
	PriorCivilServant       PriorEmployment = "CIVIL_SERVANT"
	PriorPublicInstitution  PriorEmployment = "PUBLIC_INSTITUTION"
	PriorEnterprise         PriorEmployment = "ENTERPRISE"
	PriorNone               PriorEmployment = "NONE"
	RouteTransfer           PlacementRoute  = "TRANSFER"
	RouteExchange           PlacementRoute  = "EXCHANGE"
	RouteEmploymentServices PlacementRoute  = "EMPLOYMENT_SERVICES"
	RouteMutualChoice       PlacementRoute  = "MUTUAL_CHOICE"
	RouteTargetedRecruiting PlacementRoute  = "TARGETED_RECRUITMENT"

	StageKindergarten        SchoolStage = "KINDERGARTEN"
	StagePrimary             SchoolStage = "PRIMARY"
	StageJuniorHigh          SchoolStage = "JUNIOR_HIGH"
	StageSeniorHigh          SchoolStage = "SENIOR_HIGH"
	StageSecondaryVocational SchoolStage = "SECONDARY_VOCATIONAL"
	StageHigherEducation     SchoolStage = "HIGHER_EDUCATION"

	BasisMartyrChild     EnrollmentBasis = "MARTYR_CHILD"
	BasisDiedOnDutyChild EnrollmentBasis = "DIED_ON_DUTY_CHILD"
	BasisBorderHardship  EnrollmentBasis = "BORDER_HARDSHIP_POST"
	BasisMeritorious     EnrollmentBasis = "MERITORIOUS"
	BasisActiveDuty      EnrollmentBasis = "ACTIVE_DUTY"

	BenefitPlaceChoice     SchoolBenefit = "PLACE_CHOICE"
	BenefitPriorityEqual   SchoolBenefit = "PRIORITY_EQUAL_CONDITIONS"
	BenefitBonusOrPriority SchoolBenefit = "BONUS_OR_PRIORITY"
)

// PriorEmployments lists the prior employments, for the conversions' tests.
func PriorEmployments() []PriorEmployment {
	return []PriorEmployment{PriorCivilServant, PriorPublicInstitution, PriorEnterprise, PriorNone}
}

// PlacementRoutes lists every route.
func PlacementRoutes() []PlacementRoute {
	return []PlacementRoute{RouteTransfer, RouteExchange, RouteEmploymentServices, RouteMutualChoice, RouteTargetedRecruiting}
}

// SchoolStages lists every stage.
func SchoolStages() []SchoolStage {
	return []SchoolStage{StageKindergarten, StagePrimary, StageJuniorHigh, StageSeniorHigh, StageSecondaryVocational, StageHigherEducation}
}

// EnrollmentBases lists every basis, in the order one is derived: the
// first the household supports is its basis.
func EnrollmentBases() []EnrollmentBasis {
	return []EnrollmentBasis{BasisMartyrChild, BasisDiedOnDutyChild, BasisBorderHardship, BasisMeritorious, BasisActiveDuty}
}

// SchoolBenefits lists every benefit.
func SchoolBenefits() []SchoolBenefit {
	return []SchoolBenefit{BenefitPlaceChoice, BenefitPriorityEqual, BenefitBonusOrPriority}
}

// Compulsory reports whether a stage is compulsory schooling or an
// inclusive kindergarten: the family chooses the place (SCHOOL_PLACE_CHOICE).
func (s SchoolStage) Compulsory() bool {
	return s == StageKindergarten || s == StagePrimary || s == StageJuniorHigh
}

// Request is what a case asks for, reduced to the fields the rules read.
// Only the fields of the case's kind are looked at.
type Request struct {
	Kind Kind

	// Employment placement.
	PriorEmployment PriorEmployment
	Route           PlacementRoute

	// School enrolment.
	Stage SchoolStage
	Basis EnrollmentBasis
	// PlaceGiven: an enrolment place was chosen.
	PlaceGiven bool

	// Elder medical help.
	CostHelpFen int64
	CostSource  CostSource

	// Legal aid.
	HardshipExempt    bool
	ExemptionEvidence string
	MartyrRights      bool
	// LimitationDeadline is the calendar date a limitation period or other
	// deadline of the matter ends; zero when none was given.
	LimitationDeadline time.Time
}

// Decided is what the rules make of a request: the fields the server sets
// and the rules that decided eligibility.
type Decided struct {
	Route   PlacementRoute  // employment placement
	Basis   EnrollmentBasis // school enrolment: sent or derived
	Benefit SchoolBenefit   // school enrolment
	Urgent  bool            // legal aid
	Rules   []RuleID
}

func (d *Decided) apply(rules ...RuleID) {
	for _, r := range rules {
		if !slices.Contains(d.Rules, r) {
			d.Rules = append(d.Rules, r)
		}
	}
}

// Field paths the rules name.
const (
	fieldSubject   = "case.subject"
	fieldHousehold = "case.household"
)

// CheckEligibility decides whether the subject of household h may have the
// service r asks for at now, and what follows from the law: the placement
// route, the school benefit and priority basis, whether a legal matter is
// urgent, and the rules that decided.
func CheckEligibility(h Household, s Subject, r Request, now time.Time) (Decided, error) {
	if !s.Relation.Valid() {
		return Decided{}, Invalid(fieldSubject, "relation %q is not a known relation", string(s.Relation))
	}
	switch r.Kind {
	case KindEmploymentPlacement:
		return checkPlacement(h, s, r, now)
	case KindSchoolEnrollment:
		return checkSchool(h, s, r, now)
	case KindElderMedicalHelp:
		return checkElder(h, s, r)
	case KindLegalAid:
		return checkLegalAid(h, r, now)
	}
	return Decided{}, Invalid("case.kind", "kind %q is not a known case kind", string(r.Kind))
}

// family reports whether a relation is the servicemember's family for a
// survivors' household (ELDER_SURVIVOR_FAMILY: all children and the
// siblings the servicemember supported) or any other.
func family(h Household, rel Relation) (bool, []RuleID) {
	switch rel {
	case RelationSpouse, RelationChild, RelationFather, RelationMother, RelationCarer:
		return true, nil
	case RelationDependentSibling:
		if h.Status.Survivors() {
			return true, []RuleID{RuleMedicalSurvivor}
		}
	}
	return false, nil
}

// checkPlacement: 地位法 Art 42 says who may accompany (officers and
// qualifying NCOs, not conscripts); 条例 Art 46 needs the approval and sets
// the route by prior employment; Art 48 covers families who settle at home;
// martyrs' and died-on-duty survivors have priority placement.
func checkPlacement(h Household, s Subject, r Request, now time.Time) (Decided, error) {
	var d Decided
	switch h.Status {
	case ServiceActiveConscript:
		return d, notEligible(RulePlacementNoConscript,
			"a conscript's family cannot accompany the servicemember, so there is no employment placement for them")
	case ServiceActiveOfficer, ServiceActiveNCO:
		if s.Relation != RelationSpouse {
			return d, notEligible(RulePlacementOfficerNCOSpouse,
				"employment placement is for the spouse of an officer or NCO; the subject is %s", s.Relation)
		}
		d.apply(RulePlacementOfficerNCOSpouse)
		switch {
		// The household's approval record (number, date, unit) or the
		// spouse's own approval to accompany.
		case h.Approved || s.Accompanying:
			d.apply(RulePlacementApproval)
		case h.SettledAtHome:
			d.apply(RulePlacementSettledAtHome)
		default:
			return d, notEligible(RulePlacementApproval,
				"employment placement needs an accompaniment approval from a regiment-level political department, or a family settled at home (条例 Art 48)")
		}
	case ServiceMartyr, ServiceDiedOnDuty:
		ok, rules := family(h, s.Relation)
		if !ok || AgeAt(s.BirthDate, now) < 18 {
			return d, notEligible(RulePlacementSurvivors,
				"placement of survivors is for an adult family member of a martyr or of a servicemember who died on duty")
		}
		d.apply(rules...)
		d.apply(RulePlacementSurvivors)
	default:
		return d, notEligible(RulePlacementActiveOnly,
			"employment placement is for the families of serving officers and NCOs and the survivors of martyrs and of those who died on duty; this household's servicemember is %s", describeStatus(h.Status))
	}
	route, rule, err := placementRoute(r.PriorEmployment, r.Route)
	if err != nil {
		return d, err
	}
	d.Route = route
	if rule != "" {
		d.apply(rule)
	}
	return d, nil
}

// placementRoute derives the route from the prior employment (条例 Art 46);
// mutual choice and the county's targeted recruitment are taken as sent.
func placementRoute(prior PriorEmployment, sent PlacementRoute) (PlacementRoute, RuleID, error) {
	switch sent {
	case RouteMutualChoice:
		return sent, RulePlacementRouteMutualChoice, nil
	case RouteTargetedRecruiting:
		return sent, RulePlacementTargeted, nil
	}
	// (A declared RuleID variable would read to the rule table's test as a
	// rule of its own.)
	want, rule := PlacementRoute(""), RuleID("")
	switch prior {
	case PriorCivilServant:
		want, rule = RouteTransfer, RulePlacementRouteTransfer
	case PriorPublicInstitution:
		want, rule = RouteExchange, RulePlacementRouteExchange
	case PriorEnterprise, PriorNone:
		want, rule = RouteEmploymentServices, RulePlacementRouteServices
	}
	if sent != "" && sent != want {
		desc := fmt.Sprintf("route %s needs the prior employment it follows from (CIVIL_SERVANT for TRANSFER, PUBLIC_INSTITUTION for EXCHANGE, ENTERPRISE or NONE for EMPLOYMENT_SERVICES); prior employment is %s (%s)",
			sent, orNone(string(prior)), RulePlacementRouteServices)
		if rule != "" {
			desc = fmt.Sprintf("route %s does not follow from prior employment %s, which gives %s (%s)", sent, prior, want, rule)
		}
		return "", "", &ValidationError{Violations: []Violation{
			{Field: "case.employment_placement.route", Description: desc},
			{Field: "case.employment_placement.prior_employment", Description: desc},
		}}
	}
	return want, rule, nil
}

func orNone(s string) string {
	if s == "" {
		return "UNSPECIFIED"
	}
	return s
}

func describeStatus(s ServiceStatus) string {
	if s == "" {
		return "of no recorded status"
	}
	return string(s)
}

// School age: a child who has turned 2 may apply for a kindergarten place;
// the benefit is for minors (地位法 Art 68) and for adult children who
// cannot live independently.
const (
	minSchoolAge = 2
	adultAge     = 18
)

// checkSchool: 地位法 Art 55 and 条例 Art 43.
func checkSchool(h Household, s Subject, r Request, now time.Time) (Decided, error) {
	var d Decided
	if s.Relation != RelationChild {
		return d, notEligible(RuleSchoolChild, "school enrollment is for a child; the subject is %s", s.Relation)
	}
	if s.BirthDate.IsZero() {
		return d, Invalid(fieldSubject, "school enrollment needs the child's birth date to check the age")
	}
	survivorChild := h.Status == ServiceMartyr || h.Status == ServiceDiedOnDuty
	higher := r.Stage == StageSeniorHigh || r.Stage == StageSecondaryVocational || r.Stage == StageHigherEducation
	switch age := AgeAt(s.BirthDate, now); {
	case age < minSchoolAge:
		return d, notEligible(RuleSchoolChild, "school enrollment starts at age %d (kindergarten); the child is %d", minSchoolAge, age)
	case age < adultAge:
		d.apply(RuleSchoolChild)
	case s.CannotLiveIndependently:
		d.apply(RuleSchoolChild)
	case survivorChild && higher:
		// For survivors every child is family (地位法 Art 68), and
		// martyrs' and died-on-duty children keep their benefit at the
		// higher stages (条例 Art 43).
		d.apply(RuleSchoolSurvivorChild)
	default:
		return d, notEligible(RuleSchoolChild,
			"the school benefit is for children under %d and adult children who cannot live independently; the child is %d", adultAge, age)
	}
	basis, err := enrollmentBasis(h, r.Basis)
	if err != nil {
		return d, err
	}
	d.Basis = basis
	d.apply(RuleSchoolBasisMatchesHH)
	if basis == BasisBorderHardship {
		d.apply(RuleSchoolBorderBasis)
	}
	switch {
	case r.Stage == "":
	case r.Stage.Compulsory():
		d.Benefit = BenefitPlaceChoice
		d.apply(RuleSchoolPlaceChoice)
	case survivorChild:
		d.Benefit = BenefitBonusOrPriority
		d.apply(RuleSchoolSurvivorChild)
	default:
		d.Benefit = BenefitPriorityEqual
		d.apply(RuleSchoolPriorityEqual)
	}
	if r.PlaceGiven && !r.Stage.Compulsory() {
		return d, Invalid("case.school_enrollment.enrolment_place",
			"the choice of enrolment place is for compulsory schooling and inclusive kindergartens (%s); the stage is %s", RuleSchoolPlaceChoice, orNone(string(r.Stage)))
	}
	return d, nil
}

// supports reports whether household h gives a child the basis b.
func supports(h Household, b EnrollmentBasis) bool {
	switch b {
	case BasisMartyrChild:
		return h.Status == ServiceMartyr
	case BasisDiedOnDutyChild:
		return h.Status == ServiceDiedOnDuty
	case BasisBorderHardship:
		return h.Status.Active() && (h.Post == PostBorderCoastalDefence || h.Post.Island() || h.Post == PostHardshipArea)
	case BasisMeritorious:
		return h.Decorated
	case BasisActiveDuty:
		return h.Status.Active()
	}
	return false
}

// enrollmentBasis is the basis sent, if the household supports it, or the
// first the household supports (SCHOOL_BASIS_FROM_HOUSEHOLD): a basis is
// never taken on a caseworker's word.
func enrollmentBasis(h Household, sent EnrollmentBasis) (EnrollmentBasis, error) {
	if sent != "" {
		if !supports(h, sent) {
			desc := fmt.Sprintf("priority basis %s is not supported by the household (%s)", sent, RuleSchoolBasisMatchesHH)
			if sent == BasisBorderHardship {
				desc = fmt.Sprintf("priority basis %s needs a serving member at a border, island or hardship post (%s)", sent, RuleSchoolBorderBasis)
			}
			return "", &ValidationError{Violations: []Violation{
				{Field: "case.school_enrollment.priority_basis", Description: desc},
				{Field: fieldHousehold, Description: desc},
			}}
		}
		return sent, nil
	}
	for _, b := range EnrollmentBases() {
		if supports(h, b) {
			return b, nil
		}
	}
	return "", notEligible(RuleSchoolBasisMatchesHH,
		"the household gives the child no school priority basis (martyr, died on duty, border or hardship post, decorated or active duty); its servicemember is %s", describeStatus(h.Status))
}

// checkElder: 地位法 Arts 51 and 68 (parents and the person who raised the
// servicemember; for survivors, all children and dependent siblings too);
// 条例 Art 44 (priority service, help with costs).
func checkElder(h Household, s Subject, r Request) (Decided, error) {
	var d Decided
	switch s.Relation {
	case RelationFather, RelationMother, RelationCarer:
		d.apply(RuleElderParents)
	case RelationChild, RelationDependentSibling:
		if !h.Status.Survivors() {
			return d, notEligible(RuleElderParents,
				"medical help is for the servicemember's parents and the person who raised them; the subject is %s", s.Relation)
		}
		d.apply(RuleMedicalSurvivor)
	default:
		return d, notEligible(RuleElderParents,
			"medical help is for the servicemember's parents and the person who raised them; the subject is %s", s.Relation)
	}
	d.apply(RuleElderPriority)
	if r.CostHelpFen > 0 {
		if r.CostSource == "" {
			return d, Invalid("case.elder_medical_help.cost_source", "help with costs needs its source (%s)", RuleElderCostHelp)
		}
		d.apply(RuleElderCostHelp)
	}
	return d, nil
}

// urgentDays: with under 7 days left before a limitation period or other
// deadline ends, aid may begin first (法律援助法 Art 44).
const urgentDays = 7

// checkLegalAid: any member may apply (地位法 Art 61); proof of entitlement
// spares the hardship check (法律援助法 Art 42(2)); martyrs' relatives
// protecting the martyr's personality rights need no hardship at all
// (Art 32(1)); a near deadline makes the matter urgent (Art 44).
func checkLegalAid(h Household, r Request, now time.Time) (Decided, error) {
	var d Decided
	d.apply(RuleLegalAidAnyMember)
	if r.HardshipExempt {
		if r.ExemptionEvidence == "" {
			return d, Invalid("case.legal_aid.exemption_evidence",
				"not checking financial hardship needs the reference of the proof shown (%s)", RuleLegalAidNoHardshipChk)
		}
		d.apply(RuleLegalAidNoHardshipChk)
	}
	if r.MartyrRights {
		if h.Status != ServiceMartyr {
			desc := fmt.Sprintf("protecting a martyr's personality rights is for a martyr's close relatives; this household's servicemember is %s (%s)",
				describeStatus(h.Status), RuleLegalAidMartyrRights)
			return d, &ValidationError{Violations: []Violation{
				{Field: "case.legal_aid.martyr_personality_rights", Description: desc},
				{Field: fieldHousehold, Description: desc},
			}}
		}
		d.apply(RuleLegalAidMartyrRights)
	}
	if Urgent(r.LimitationDeadline, now) {
		d.Urgent = true
		d.apply(RuleLegalAidUrgent)
	}
	return d, nil
}

// Urgent reports whether a limitation deadline (a calendar date; zero for
// none) is less than 7 days after today, China time (LEGAL_AID_URGENT_FIRST).
// A deadline already past is not urgent: nothing is left to save.
func Urgent(deadline, now time.Time) bool {
	if deadline.IsZero() {
		return false
	}
	y, m, dd := deadline.Date()
	ny, nm, nd := now.In(ChinaTime).Date()
	left := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC))
	return left >= 0 && left < urgentDays*24*time.Hour
}

// CasePriority is the tier of a case of kind k in household h, its reasons
// and the rules they come from (ComputePriority's), with legal aid's own
// priority handling (LEGAL_AID_PRIORITY, 地位法 Art 61).
func CasePriority(k Kind, h Household) (Priority, []Reason, []RuleID) {
	p, reasons, rules := ComputePriority(h)
	if k == KindLegalAid {
		rules = append(rules, RuleLegalAidPriority)
	}
	return p, reasons, rules
}

// The sources of help with medical costs.
const (
	CostMedicalInsurance  CostSource = "MEDICAL_INSURANCE"
	CostMedicalAssistance CostSource = "MEDICAL_ASSISTANCE"
	CostCountyFund        CostSource = "COUNTY_FUND"
	CostOther             CostSource = "OTHER"
)

// CostSources lists every source.
func CostSources() []CostSource {
	return []CostSource{CostMedicalInsurance, CostMedicalAssistance, CostCountyFund, CostOther}
}
