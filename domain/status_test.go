package domain

import (
	"slices"
	"testing"
)

var allStatuses = []Status{
	StatusDraft, StatusSubmitted, StatusAccepted, StatusInProgress,
	StatusResolved, StatusClosed, StatusRejected, StatusWithdrawn,
	StatusAwaitingMaterials, StatusTerminated,
}

var allActions = []Action{
	ActionSubmit, ActionAccept, ActionReject, ActionAssign, ActionStart,
	ActionResolve, ActionClose, ActionReopen, ActionWithdraw,
	ActionRequestMaterials, ActionSupplyMaterials, ActionStartUrgent, ActionTerminate,
	ActionFileObjection, ActionUpholdObjection, ActionCorrect, ActionDecideEligibility,
	ActionHold, ActionResume,
}

// legal is the state machine written out again, edge by edge, from the
// specification; every pair not listed must be refused.
var legal = map[Status]map[Action]Status{
	StatusDraft: {
		ActionSubmit:   StatusSubmitted,
		ActionWithdraw: StatusWithdrawn,
	},
	StatusSubmitted: {
		ActionAccept:            StatusAccepted,
		ActionReject:            StatusRejected,
		ActionAssign:            StatusSubmitted,
		ActionWithdraw:          StatusWithdrawn,
		ActionRequestMaterials:  StatusAwaitingMaterials,
		ActionStartUrgent:       StatusInProgress,
		ActionDecideEligibility: StatusSubmitted,
		ActionHold:              StatusSubmitted, // CASE_HOLD: the status stays
		ActionResume:            StatusSubmitted,
	},
	StatusAwaitingMaterials: {
		ActionSupplyMaterials:   StatusSubmitted,
		ActionWithdraw:          StatusWithdrawn,
		ActionDecideEligibility: StatusAwaitingMaterials,
	},
	StatusAccepted: {
		ActionAssign:            StatusAccepted,
		ActionStart:             StatusInProgress,
		ActionWithdraw:          StatusWithdrawn,
		ActionReject:            StatusRejected, // REJECT_AFTER_ACCEPT_REASON
		ActionTerminate:         StatusTerminated,
		ActionDecideEligibility: StatusAccepted,
		ActionHold:              StatusAccepted, // CASE_HOLD: the status stays
		ActionResume:            StatusAccepted,
	},
	StatusInProgress: {
		ActionAssign:            StatusInProgress,
		ActionResolve:           StatusResolved,
		ActionWithdraw:          StatusWithdrawn,
		ActionTerminate:         StatusTerminated,
		ActionDecideEligibility: StatusInProgress,
		ActionHold:              StatusInProgress, // CASE_HOLD: the status stays
		ActionResume:            StatusInProgress,
	},
	StatusResolved: {
		ActionClose:  StatusClosed,
		ActionReopen: StatusInProgress,
	},
	StatusClosed: {ActionReopen: StatusInProgress},
	StatusRejected: {
		ActionReopen:          StatusSubmitted,
		ActionFileObjection:   StatusRejected,
		ActionUpholdObjection: StatusRejected,
		ActionCorrect:         StatusSubmitted,
	},
	StatusTerminated: {
		ActionFileObjection:   StatusTerminated,
		ActionUpholdObjection: StatusTerminated,
		ActionCorrect:         StatusInProgress,
	},
	StatusWithdrawn: {},
}

// TestLegalAidOnlyActions: the Legal Aid Law's steps are refused to the
// other kinds, and the common steps to none.
func TestLegalAidOnlyActions(t *testing.T) {
	only := []Action{ActionRequestMaterials, ActionSupplyMaterials, ActionStartUrgent, ActionTerminate,
		ActionFileObjection, ActionUpholdObjection, ActionCorrect}
	for _, k := range Kinds() {
		for _, a := range allActions {
			err := CheckKind(k, a)
			refused := k != KindLegalAid && slices.Contains(only, a)
			if p, ok := AsPrecondition(err); refused && (!ok || p.Type != "LEGAL_AID_ONLY") {
				t.Errorf("CheckKind(%s, %s) = %v, want LEGAL_AID_ONLY", k, a, err)
			} else if !refused && err != nil {
				t.Errorf("CheckKind(%s, %s) = %v, want nil", k, a, err)
			}
		}
	}
}

func TestTransitionMatrix(t *testing.T) {
	for _, from := range append(allStatuses, "", "BOGUS") {
		for _, a := range append(allActions, "", "approve") {
			got, err := Transition(from, a)
			want, ok := legal[from][a]
			if ok {
				if err != nil || got != want {
					t.Errorf("Transition(%s, %s) = %q, %v; want %s", from, a, got, err, want)
				}
				continue
			}
			p, isPre := AsPrecondition(err)
			if !isPre || p.Type != "ILLEGAL_TRANSITION" {
				t.Errorf("Transition(%s, %s) = %q, %v; want ILLEGAL_TRANSITION", from, a, got, err)
				continue
			}
			if got != "" {
				t.Errorf("Transition(%s, %s) returned status %q with its error", from, a, got)
			}
		}
	}
}

func TestTransitionErrorDescription(t *testing.T) {
	_, err := Transition(StatusSubmitted, ActionResolve)
	const want = "cannot resolve a case in status CASE_STATUS_SUBMITTED"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestAllowedMatchesMatrix(t *testing.T) {
	for _, from := range allStatuses {
		var want []Action
		for _, a := range allActions {
			if _, ok := legal[from][a]; ok {
				want = append(want, a)
			}
		}
		if got := Allowed(from); !slices.Equal(got, want) {
			t.Errorf("Allowed(%s) = %v, want %v", from, got, want)
		}
	}
	if got := Allowed("BOGUS"); got != nil {
		t.Errorf("Allowed(BOGUS) = %v, want nil", got)
	}
}

func TestStatusPredicates(t *testing.T) {
	tests := []struct {
		s           Status
		valid, open bool
	}{
		{StatusDraft, true, true},
		{StatusSubmitted, true, true},
		{StatusAwaitingMaterials, true, true},
		{StatusAccepted, true, true},
		{StatusInProgress, true, true},
		{StatusResolved, true, false},
		{StatusClosed, true, false},
		{StatusRejected, true, false},
		{StatusWithdrawn, true, false},
		{StatusTerminated, true, false},
		{"", false, false},
		{"draft", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.s, got, tt.valid)
		}
		if got := tt.s.Open(); got != tt.open {
			t.Errorf("%q.Open() = %v, want %v", tt.s, got, tt.open)
		}
	}
}

func TestCheckStart(t *testing.T) {
	if err := CheckStart("users/42"); err != nil {
		t.Errorf("CheckStart(assigned) = %v, want nil", err)
	}
	p, ok := AsPrecondition(CheckStart(""))
	if !ok || p.Type != "ASSIGNEE_REQUIRED" {
		t.Errorf("CheckStart(\"\") = %v, want ASSIGNEE_REQUIRED", p)
	}
}

func TestCaseNumber(t *testing.T) {
	tests := []struct {
		prefix    string
		year, seq int
		want      string
	}{
		{"FD", 2026, 42, "FD-2026-000042"},
		{"FD", 2026, 1, "FD-2026-000001"},
		{"FD", 2026, 999999, "FD-2026-999999"},
		{"X", 99, 0, "X-0099-000000"},
	}
	for _, tt := range tests {
		if got := CaseNumber(tt.prefix, tt.year, tt.seq); got != tt.want {
			t.Errorf("CaseNumber(%q, %d, %d) = %q, want %q", tt.prefix, tt.year, tt.seq, got, tt.want)
		}
	}
}
