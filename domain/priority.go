package domain

// Category is the household's entitlement category (优抚对象 type).
type Category string

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

const (
	PostBorderCoastalDefence PostType = "BORDER_COASTAL_DEFENCE"
	PostMissionUnit          PostType = "MISSION_UNIT"
	PostHardshipArea         PostType = "HARDSHIP_AREA"
	PostRegular              PostType = "REGULAR"
)

// PostTypes lists every post type.
func PostTypes() []PostType {
	return []PostType{PostBorderCoastalDefence, PostMissionUnit, PostHardshipArea, PostRegular}
}

// Priority is a case's service tier; a lower number is served first.
type Priority int

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

const (
	ReasonMartyrFamily         Reason = "MARTYR_FAMILY"
	ReasonBorderCoastalDefence Reason = "BORDER_COASTAL_DEFENCE"
	ReasonMissionUnit          Reason = "MISSION_UNIT"
	ReasonHardshipArea         Reason = "HARDSHIP_AREA"
	ReasonHardshipHousehold    Reason = "HARDSHIP_HOUSEHOLD"
	ReasonMeritorious          Reason = "MERITORIOUS"
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

// PriorityInput is what priority depends on.
type PriorityInput struct {
	Category Category
	Post     PostType
	// Hardship marks a household the county has found to be in difficulty.
	Hardship bool
}

// priorityRule ties one reason to its test and tier. The slice order below is
// the order reasons are reported in.
type priorityRule struct {
	reason  Reason
	tier    Priority
	applies func(PriorityInput) bool
}

// priorityRules follows the county's tiers: martyrs' families and border /
// coastal-defence troops first; mission units, hardship posts, households in
// difficulty and decorated servicemembers (功臣/英模) second.
var priorityRules = []priorityRule{
	{ReasonMartyrFamily, PriorityFirst, func(in PriorityInput) bool { return in.Category == CategoryMartyrFamily }},
	{ReasonBorderCoastalDefence, PriorityFirst, func(in PriorityInput) bool { return in.Post == PostBorderCoastalDefence }},
	{ReasonMissionUnit, PrioritySecond, func(in PriorityInput) bool { return in.Post == PostMissionUnit }},
	{ReasonHardshipArea, PrioritySecond, func(in PriorityInput) bool { return in.Post == PostHardshipArea }},
	{ReasonHardshipHousehold, PrioritySecond, func(in PriorityInput) bool { return in.Hardship }},
	{ReasonMeritorious, PrioritySecond, func(in PriorityInput) bool { return in.Category == CategoryMeritorious }},
}

// ComputePriority returns the case's tier and every reason that applies, not
// only the deciding one, so caseworkers can see the whole picture. A normal
// case has no reasons and gets nil.
func ComputePriority(in PriorityInput) (Priority, []Reason) {
	p := PriorityNormal
	var reasons []Reason
	for _, r := range priorityRules {
		if r.applies(in) {
			reasons = append(reasons, r.reason)
			p = min(p, r.tier)
		}
	}
	return p, reasons
}
