package domain

// The moves of a household between towns and into another household
// (issue 14): when each may happen. The store applies them; these say
// whether they may.

// TransferState is what the rules of a transfer or merge read of a
// household.
type TransferState struct {
	Name string // the household's resource name
	Town string
	// PendingTo is the receiving town of a pending transfer, "" for none.
	PendingTo string
	// MergedInto names the survivor once the household was merged.
	MergedInto string
}

// Writable refuses a change of a household merged away or in transfer
// (a delete, an undelete, a second transfer, a merge).
func (h TransferState) Writable() error {
	if h.MergedInto != "" {
		return &PreconditionError{Type: "HOUSEHOLD_MERGED", Subject: h.MergedInto, Rule: RuleHouseholdMerge,
			Description: "the household was merged into another and is read-only"}
	}
	if h.PendingTo != "" {
		return &PreconditionError{Type: "TRANSFER_PENDING", Subject: h.Name, Rule: RuleHouseholdTransfer,
			Description: "the household is in transfer to another town; wait for the receiving town to accept or decline"}
	}
	return nil
}

// CheckTransfer says whether h may be asked to move to town to: one
// transfer at a time, to another town (that it is one of the county's is
// the caller's check, against the towns table).
func CheckTransfer(field string, h TransferState, to string) error {
	if err := h.Writable(); err != nil {
		return err
	}
	if to == h.Town {
		return Invalid(field, "is the household's own town")
	}
	return nil
}

// CheckTransferDecision says whether a pending transfer of h can be
// accepted, declined or cancelled: there must be one.
func CheckTransferDecision(h TransferState) error {
	if h.PendingTo == "" {
		return &PreconditionError{Type: "NO_TRANSFER_PENDING", Subject: h.Name, Rule: RuleHouseholdTransfer,
			Description: "the household has no pending transfer"}
	}
	return nil
}

// CheckTownChange refuses a change of a household's town made by an update
// while a transfer of it is pending: the transfer decides where it goes.
func CheckTownChange(h TransferState, to string) error {
	if to != h.Town && h.PendingTo != "" {
		return h.Writable()
	}
	return nil
}

// CheckMerge says whether duplicate may be merged into survivor: two
// different households, neither merged nor in transfer, of one town (a
// merge across towns would move cases between towns unseen by the
// receiving town: transfer the duplicate first).
func CheckMerge(survivor, duplicate TransferState) error {
	if survivor.Name == duplicate.Name {
		return Invalid("merged_household", "is the surviving household itself")
	}
	for _, h := range []TransferState{survivor, duplicate} {
		if err := h.Writable(); err != nil {
			return err
		}
	}
	if survivor.Town != duplicate.Town {
		return &PreconditionError{Type: "MERGE_ACROSS_TOWNS", Subject: duplicate.Name, Rule: RuleHouseholdMerge,
			Description: "the households are in different towns; transfer the duplicate to the survivor's town first"}
	}
	return nil
}

// HouseholdAction is what an entry of a household's own history records.
type HouseholdAction string

// The entries of a household's history.
const (
	TransferRequested HouseholdAction = "TRANSFER_REQUESTED"
	TransferAccepted  HouseholdAction = "TRANSFER_ACCEPTED"
	TransferDeclined  HouseholdAction = "TRANSFER_DECLINED"
	TransferCancelled HouseholdAction = "TRANSFER_CANCELLED"
	MergedFrom        HouseholdAction = "MERGED_FROM"
	MergedInto        HouseholdAction = "MERGED_INTO"
)

// HouseholdActions lists every HouseholdAction, for the API's mapping.
func HouseholdActions() []HouseholdAction {
	return []HouseholdAction{TransferRequested, TransferAccepted, TransferDeclined, MergedFrom, MergedInto, TransferCancelled}
}
