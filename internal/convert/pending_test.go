package convert

import "google.golang.org/protobuf/reflect/protoreflect"

// The contract of issue 11 came before its storage and handlers ("handlers
// follow"): the fields and enum values below are in the API but no row
// holds them and no conversion carries them, so today a client's value for
// them is dropped. They are listed, not hidden: the tests skip each while
// it is missing and fail as soon as a conversion carries it, so that the
// entry is taken off with the work that closes it.
const issue11 = "issue 11: the contract came first; storage and conversion follow"

// pendingFields are fields no conversion carries yet.
var pendingFields = map[protoreflect.FullName]string{
	"casework.v1.Case.policy_basis":       issue11,
	"casework.v1.Case.clocks":             issue11,
	"casework.v1.Case.outcome_history":    issue11,
	"casework.v1.Case.eligibility":        issue11,
	"casework.v1.Case.withdrawal_reason":  issue11,
	"casework.v1.Case.rejection_reason":   issue11,
	"casework.v1.Case.termination_ground": issue11,
	"casework.v1.Case.objection":          issue11,
	"casework.v1.Case.town_name":          issue11,
}

// pendingEnumValues are API values of stored enumerations that the domain
// has no value for yet.
var pendingEnumValues = map[protoreflect.FullName]string{
	"casework.v1.CASE_STATUS_AWAITING_MATERIALS": issue11,
	"casework.v1.CASE_STATUS_TERMINATED":         issue11,
}

// pendingEnums are enums of stored resources with no domain type and no
// mapping yet.
var pendingEnums = map[protoreflect.FullName]string{
	"casework.v1.ClockKind":         issue11,
	"casework.v1.ClockState":        issue11,
	"casework.v1.WithdrawalReason":  issue11,
	"casework.v1.RejectionReason":   issue11,
	"casework.v1.TerminationGround": issue11,
	"casework.v1.ObjectionResult":   issue11,
}
