package domain

// Branch is the servicemember's service branch. No rule reads it yet; it is
// part of the domain's vocabulary so that stored rows hold a checked value.
type Branch string

// The branches, stored as-is.
const (
	BranchArmy             Branch = "ARMY"
	BranchNavy             Branch = "NAVY"
	BranchAirForce         Branch = "AIR_FORCE"
	BranchRocketForce      Branch = "ROCKET_FORCE"
	BranchStrategicSupport Branch = "STRATEGIC_SUPPORT"
	BranchArmedPolice      Branch = "ARMED_POLICE"
	BranchOther            Branch = "OTHER"
)

// Branches lists every branch.
func Branches() []Branch {
	return []Branch{BranchArmy, BranchNavy, BranchAirForce, BranchRocketForce, BranchStrategicSupport,
		BranchArmedPolice, BranchOther}
}

// Rank is the servicemember's rank category: officer, non-commissioned
// officer, conscript or civilian personnel.
type Rank string

// The rank categories, stored as-is.
const (
	RankOfficer   Rank = "OFFICER"
	RankNCO       Rank = "NCO"
	RankConscript Rank = "CONSCRIPT"
	RankCivilian  Rank = "CIVILIAN"
)

// Ranks lists every rank category.
func Ranks() []Rank { return []Rank{RankOfficer, RankNCO, RankConscript, RankCivilian} }
