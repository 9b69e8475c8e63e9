package domain

import "slices"

// ServiceStatus is the servicemember's status as the law distinguishes
// entitled beneficiaries (军人抚恤优待条例 Art 2, 地位法 Art 42): serving
// (officer, NCO, conscript), veteran, or died (a martyr, on duty, of
// illness). Stored as-is.
type ServiceStatus string

// The statuses.
const (
	ServiceActiveOfficer   ServiceStatus = "ACTIVE_OFFICER"
	ServiceActiveNCO       ServiceStatus = "ACTIVE_NCO"
	ServiceActiveConscript ServiceStatus = "ACTIVE_CONSCRIPT"
	ServiceVeteran         ServiceStatus = "VETERAN"
	ServiceMartyr          ServiceStatus = "MARTYR"
	ServiceDiedOnDuty      ServiceStatus = "DIED_ON_DUTY"
	ServiceDiedOfIllness   ServiceStatus = "DIED_OF_ILLNESS"
)

var serviceStatuses = []ServiceStatus{ServiceActiveOfficer, ServiceActiveNCO, ServiceActiveConscript,
	ServiceVeteran, ServiceMartyr, ServiceDiedOnDuty, ServiceDiedOfIllness}

// ServiceStatuses lists every status.
func ServiceStatuses() []ServiceStatus { return slices.Clone(serviceStatuses) }

// Valid reports whether s is one of the defined statuses.
func (s ServiceStatus) Valid() bool { return slices.Contains(serviceStatuses, s) }

// Active reports whether the servicemember is serving.
func (s ServiceStatus) Active() bool {
	return s == ServiceActiveOfficer || s == ServiceActiveNCO || s == ServiceActiveConscript
}

// Survivors reports whether the household is a servicemember's survivors
// (遗属).
func (s ServiceStatus) Survivors() bool {
	return s == ServiceMartyr || s == ServiceDiedOnDuty || s == ServiceDiedOfIllness
}

// The post types the law and the county distinguish, beyond the four of
// priority.go.
const (
	PostIslandSpecial     PostType = "ISLAND_SPECIAL"
	PostIslandFirst       PostType = "ISLAND_FIRST"
	PostIslandSecond      PostType = "ISLAND_SECOND"
	PostFlying            PostType = "FLYING"
	PostSurfaceShip       PostType = "SURFACE_SHIP"
	PostSubmarine         PostType = "SUBMARINE"
	PostSpecialOperations PostType = "SPECIAL_OPERATIONS"
	PostFrontLineCombat   PostType = "FRONT_LINE_COMBAT"
	PostPeacekeeping      PostType = "PEACEKEEPING"
)

// Island reports whether p is an island post of any class.
func (p PostType) Island() bool {
	return p == PostIslandSpecial || p == PostIslandFirst || p == PostIslandSecond
}

// Special reports whether p is a special post (flying, surface ships,
// submarines, special operations).
func (p PostType) Special() bool {
	return p == PostFlying || p == PostSurfaceShip || p == PostSubmarine || p == PostSpecialOperations
}

// Household is what the rules need to know about a household: never a name
// or a number.
type Household struct {
	Status ServiceStatus
	Post   PostType
	// DisabilityGrade is 1 (most severe) to 10, 0 when not disabled.
	DisabilityGrade int
	// Decorated marks a 功臣 or 英模.
	Decorated bool
	// Hardship marks a household the county has found to be in difficulty.
	Hardship bool
	// SettledAtHome marks a family that qualifies to accompany but settled
	// at home (条例 Art 48).
	SettledAtHome bool
	// Approved: the household holds an accompaniment (随军) approval.
	Approved bool
}

// Category is the entitlement category the household's status and honours
// amount to, for display and filters.
func (h Household) Category() Category {
	switch {
	case h.Status.Active() && h.Decorated:
		return CategoryMeritorious
	case h.Status.Active():
		return CategoryActiveDutyFamily
	case h.Status == ServiceVeteran:
		return CategoryVeteran
	case h.Status == ServiceMartyr:
		return CategoryMartyrFamily
	}
	return CategoryOtherEntitled
}

// StatusFromCategory reads the status a client written before statuses
// existed meant by a category and a rank: active duty needs the rank to say
// officer, NCO or conscript; OTHER_ENTITLED says nothing. It also reports
// whether the category means decorated.
func StatusFromCategory(c Category, r Rank) (status ServiceStatus, decorated, ok bool) {
	switch c {
	case CategoryVeteran:
		return ServiceVeteran, false, true
	case CategoryMartyrFamily:
		return ServiceMartyr, false, true
	case CategoryActiveDutyFamily, CategoryMeritorious:
		decorated = c == CategoryMeritorious
		switch r {
		case RankOfficer:
			return ServiceActiveOfficer, decorated, true
		case RankNCO:
			return ServiceActiveNCO, decorated, true
		case RankConscript:
			return ServiceActiveConscript, decorated, true
		}
	}
	return "", false, false
}

// FromCategory is the household a category and rank describe, with its post
// and hardship, for records that carry no status (rows written before
// statuses existed, and tools that write such rows).
func FromCategory(c Category, r Rank, post PostType, hardship bool) Household {
	st, decorated, _ := StatusFromCategory(c, r)
	if st == "" && c == CategoryMeritorious {
		decorated = true
	}
	return Household{Status: st, Post: post, Decorated: decorated, Hardship: hardship}
}
