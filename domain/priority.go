package domain

import "slices"

// Category is the household's entitlement category (优抚对象 type).
type Category string

// The categories, stored as-is.
const (
	CategoryActiveDutyFamily Category = "ACTIVE_DUTY_FAMILY"
	CategoryVeteran          Category = "VETERAN"
	CategoryMartyrFamily     Category = "MARTYR_FAMILY"
	CategoryMeritorious      Category = "MERITORIOUS"
	CategoryOtherEntitled    Category = "OTHER_ENTITLED"
)

// Categories lists every category.
func Categories() []Category {
	return []Category{CategoryActiveDutyFamily, CategoryVeteran, CategoryMartyrFamily, CategoryMeritorious, CategoryOtherEntitled}
}

// PostType is the kind of post the servicemember serves at.
type PostType string

// The post types of the first version, stored as-is; household.go has the
// rest.
const (
	PostBorderCoastalDefence PostType = "BORDER_COASTAL_DEFENCE"
	PostMissionUnit          PostType = "MISSION_UNIT"
	PostHardshipArea         PostType = "HARDSHIP_AREA"
	PostRegular              PostType = "REGULAR"
)

// PostTypes lists every post type.
func PostTypes() []PostType {
	return []PostType{PostBorderCoastalDefence, PostMissionUnit, PostHardshipArea, PostRegular,
		PostIslandSpecial, PostIslandFirst, PostIslandSecond, PostFlying, PostSurfaceShip, PostSubmarine,
		PostSpecialOperations, PostFrontLineCombat, PostPeacekeeping}
}

// Priority is a case's service tier; a lower number is served first.
type Priority int

// The tiers.
const (
	PriorityFirst  Priority = 1
	PrioritySecond Priority = 2
	PriorityNormal Priority = 3
)

// Priorities lists every tier, first served first. Tiers are stored as
// their numbers, which are also the API's: they must never be renumbered.
func Priorities() []Priority { return []Priority{PriorityFirst, PrioritySecond, PriorityNormal} }

// Reason is one ground for raised priority.
type Reason string

// The reasons, stored as-is.
const (
	ReasonMartyrFamily            Reason = "MARTYR_FAMILY"
	ReasonBorderCoastalDefence    Reason = "BORDER_COASTAL_DEFENCE"
	ReasonMissionUnit             Reason = "MISSION_UNIT"
	ReasonHardshipArea            Reason = "HARDSHIP_AREA"
	ReasonHardshipHousehold       Reason = "HARDSHIP_HOUSEHOLD"
	ReasonMeritorious             Reason = "MERITORIOUS"
	ReasonDiedOnDuty              Reason = "DIED_ON_DUTY"
	ReasonIsland                  Reason = "ISLAND"
	ReasonSpecialPost             Reason = "SPECIAL_POST"
	ReasonFrontLineOrPeacekeeping Reason = "FRONT_LINE_OR_PEACEKEEPING"
	ReasonDisabled                Reason = "DISABLED"
	ReasonDiedOfIllness           Reason = "DIED_OF_ILLNESS"
)

// Reasons lists every reason, in the order ComputePriority reports them:
// each is some rule's, so the rules are the list.
func Reasons() []Reason {
	out := make([]Reason, len(priorityRules))
	for i, r := range priorityRules {
		out[i] = r.reason
	}
	return out
}

// priorityRule ties one reason to its test, its tier and the rule of the
// table it applies. The slice order is the order reasons are reported in.
type priorityRule struct {
	reason  Reason
	tier    Priority
	rule    RuleID
	applies func(Household) bool
}

// serving reads a post only while the servicemember serves: a veteran's or
// a martyr's last post no longer decides anything.
func serving(test func(PostType) bool) func(Household) bool {
	return func(h Household) bool { return h.Status.Active() && test(h.Post) }
}

// priorityRules are the county's tiers (see the rule table): martyrs' and
// died-on-duty families and border, coastal-defence and island families
// first; mission units, front-line combat and peacekeeping, hardship areas
// and special posts, households in difficulty, decorated and disabled
// servicemembers and the survivors of those who died of illness second.
var priorityRules = []priorityRule{
	{ReasonMartyrFamily, PriorityFirst, RulePriorityMartyrDiedOnDuty, func(h Household) bool { return h.Status == ServiceMartyr }},
	{ReasonDiedOnDuty, PriorityFirst, RulePriorityMartyrDiedOnDuty, func(h Household) bool { return h.Status == ServiceDiedOnDuty }},
	{ReasonBorderCoastalDefence, PriorityFirst, RulePriorityBorderIsland, serving(func(p PostType) bool { return p == PostBorderCoastalDefence })},
	{ReasonIsland, PriorityFirst, RulePriorityBorderIsland, serving(PostType.Island)},
	{ReasonMissionUnit, PrioritySecond, RulePriorityMission, serving(func(p PostType) bool { return p == PostMissionUnit })},
	{ReasonFrontLineOrPeacekeeping, PrioritySecond, RulePriorityMission, serving(func(p PostType) bool {
		return p == PostFrontLineCombat || p == PostPeacekeeping
	})},
	{ReasonHardshipArea, PrioritySecond, RulePriorityHardshipPost, serving(func(p PostType) bool { return p == PostHardshipArea })},
	{ReasonSpecialPost, PrioritySecond, RulePriorityHardshipPost, serving(PostType.Special)},
	{ReasonHardshipHousehold, PrioritySecond, RulePriorityHardshipHH, func(h Household) bool { return h.Hardship }},
	{ReasonMeritorious, PrioritySecond, RulePriorityDecorated, func(h Household) bool { return h.Decorated }},
	{ReasonDisabled, PrioritySecond, RulePriorityDisabled, func(h Household) bool { return h.DisabilityGrade > 0 }},
	{ReasonDiedOfIllness, PrioritySecond, RulePriorityDiedOfIllness, func(h Household) bool { return h.Status == ServiceDiedOfIllness }},
}

// ComputePriority returns the tier of a household's cases, every reason that
// applies (not only the deciding one, so caseworkers see the whole picture)
// and the rules those reasons come from. A normal household has no reasons.
func ComputePriority(h Household) (Priority, []Reason, []RuleID) {
	p := PriorityNormal
	var reasons []Reason
	var basis []RuleID
	for _, r := range priorityRules {
		if r.applies(h) {
			reasons = append(reasons, r.reason)
			if !slices.Contains(basis, r.rule) {
				basis = append(basis, r.rule)
			}
			p = min(p, r.tier)
		}
	}
	return p, reasons, basis
}
