package domain

import "testing"

// TestTransferAndMerge: the county's procedure for moving a family between
// towns (HOUSEHOLD_TRANSFER) and undoing a duplicate registration
// (HOUSEHOLD_MERGE), each refusal naming its rule.
func TestTransferAndMerge(t *testing.T) {
	here := TransferState{Name: "households/a", Town: "500230001"}
	moving := TransferState{Name: "households/b", Town: "500230001", PendingTo: "500230102"}
	merged := TransferState{Name: "households/c", Town: "500230001", MergedInto: "households/a"}
	elsewhere := TransferState{Name: "households/d", Town: "500230102"}

	refusedBy := func(t *testing.T, err error, typ string, rule RuleID) {
		t.Helper()
		p, ok := AsPrecondition(err)
		if !ok || p.Type != typ || p.Rule != rule {
			t.Errorf("got %v, want %s under %s", err, typ, rule)
		}
	}
	t.Run(string(RuleHouseholdTransfer), func(t *testing.T) {
		if err := CheckTransfer("town_code", here, "500230102"); err != nil {
			t.Errorf("a transfer to another town: %v", err)
		}
		if _, ok := AsValidation(CheckTransfer("town_code", here, here.Town)); !ok {
			t.Error("a transfer to the household's own town was not refused as invalid")
		}
		refusedBy(t, CheckTransfer("town_code", moving, "500230001"), "TRANSFER_PENDING", RuleHouseholdTransfer)
		refusedBy(t, CheckTransferDecision(here), "NO_TRANSFER_PENDING", RuleHouseholdTransfer)
		if err := CheckTransferDecision(moving); err != nil {
			t.Errorf("deciding a pending transfer: %v", err)
		}
		// Until the receiving town decides, an update cannot move it either.
		refusedBy(t, CheckTownChange(moving, "500230103"), "TRANSFER_PENDING", RuleHouseholdTransfer)
		if err := CheckTownChange(moving, moving.Town); err != nil {
			t.Errorf("an update that keeps the town: %v", err)
		}
	})
	t.Run(string(RuleHouseholdMerge), func(t *testing.T) {
		if err := CheckMerge(here, TransferState{Name: "households/e", Town: here.Town}); err != nil {
			t.Errorf("a merge within a town: %v", err)
		}
		if _, ok := AsValidation(CheckMerge(here, here)); !ok {
			t.Error("a household merged into itself was not refused as invalid")
		}
		refusedBy(t, CheckMerge(here, elsewhere), "MERGE_ACROSS_TOWNS", RuleHouseholdMerge)
		refusedBy(t, CheckMerge(here, merged), "HOUSEHOLD_MERGED", RuleHouseholdMerge)
		refusedBy(t, CheckMerge(here, moving), "TRANSFER_PENDING", RuleHouseholdTransfer)
	})
}

// TestDuplicateIntake: the fuzzy match (DUPLICATE_INTAKE_CHECK) compares
// names as staff type them and phones as they are dialled.
func TestDuplicateIntake(t *testing.T) {
	a := PersonKeys("阿依古丽·买买提", "1990-01-01", "+86 138 0000 0000")
	b := PersonKeys("阿依古丽 买买提", "1990-01-01", "13800000000")
	if a != b {
		t.Errorf("the same person typed two ways has keys %q and %q", a, b)
	}
	if c := PersonKeys("阿依古丽买买提", "1990-01-02", ""); c.NameBirth == a.NameBirth || c.NamePhone != "" {
		t.Errorf("another birth date or no phone matched: %q", c)
	}
	if k := PersonKeys("", "1990-01-01", "13800000000"); k != (MatchKeys{}) {
		t.Errorf("a person with no name has keys %q", k)
	}
	err := &PossibleDuplicateError{Candidates: []DuplicateCandidate{{Resource: "households/a", Name: "张*", BirthYear: 1990, Birth: true}}}
	if err.Rule() != RuleDuplicateIntake {
		t.Errorf("the confirmation is asked under %s", err.Rule())
	}
}
