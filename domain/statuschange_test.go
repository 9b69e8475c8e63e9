package domain

import (
	"slices"
	"strings"
	"testing"
)

func TestApplyStatusChange(t *testing.T) {
	yesterday := day(2026, 3, 1)
	base := HouseholdRecord{Household: Household{Status: ServiceActiveNCO, Post: PostHardshipArea, DisabilityGrade: 6}, HardshipGrade: 4}
	for _, tt := range []struct {
		name   string
		before HouseholdRecord
		change StatusChange
		want   func(HouseholdRecord) HouseholdRecord // nil when refused
		field  string                                // the refused field
		rule   RuleID
	}{
		{"discharge makes a veteran, keeping the grade", base, StatusChange{Kind: ChangeDischarge, Effective: yesterday},
			func(r HouseholdRecord) HouseholdRecord { r.Status = ServiceVeteran; return r }, "", ""},
		{"discharge of a veteran", HouseholdRecord{Household: Household{Status: ServiceVeteran}}, StatusChange{Kind: ChangeDischarge, Effective: yesterday},
			nil, "status", ""},
		{"discharge to martyr is a death", base, StatusChange{Kind: ChangeDischarge, Effective: yesterday, Status: ServiceMartyr},
			nil, "status", ""},
		{"death as a martyr", base, StatusChange{Kind: ChangeDeath, Effective: yesterday, Status: ServiceMartyr},
			func(r HouseholdRecord) HouseholdRecord { r.Status = ServiceMartyr; return r }, "", ""},
		{"death without saying which", base, StatusChange{Kind: ChangeDeath, Effective: yesterday}, nil, "status", ""},
		{"death in the future", base, StatusChange{Kind: ChangeDeath, Effective: day(2026, 3, 3), Status: ServiceMartyr},
			nil, "effective_date", RuleStatusChangeReprio},
		{"effective today in China, still yesterday in UTC", base, StatusChange{Kind: ChangeDeath, Effective: day(2026, 3, 2), Status: ServiceDiedOfIllness},
			func(r HouseholdRecord) HouseholdRecord { r.Status = ServiceDiedOfIllness; return r }, "", ""},
		{"no effective date", base, StatusChange{Kind: ChangeDeath, Status: ServiceMartyr}, nil, "effective_date", ""},
		{"grading", base, StatusChange{Kind: ChangeDisabilityGrading, Effective: yesterday, DisabilityGrade: 2},
			func(r HouseholdRecord) HouseholdRecord { r.DisabilityGrade = 2; return r }, "", ""},
		{"grading clears with 0", base, StatusChange{Kind: ChangeDisabilityGrading, Effective: yesterday, DisabilityGrade: 0},
			func(r HouseholdRecord) HouseholdRecord { r.DisabilityGrade = 0; return r }, "", ""},
		{"grading that keeps the grade", base, StatusChange{Kind: ChangeDisabilityGrading, Effective: yesterday, DisabilityGrade: KeepGrade},
			nil, "disability_grade", ""},
		{"grade 11", base, StatusChange{Kind: ChangeCorrection, Effective: yesterday, DisabilityGrade: 11},
			nil, "disability_grade", RulePriorityDisabled},
		{"transfer drops the old post's hardship grade, 0 keeps the disability", base,
			StatusChange{Kind: ChangePostTransfer, Effective: yesterday, Post: PostBorderCoastalDefence},
			func(r HouseholdRecord) HouseholdRecord {
				r.Post, r.HardshipGrade = PostBorderCoastalDefence, 0
				return r
			}, "", ""},
		{"transfer to the same post", base, StatusChange{Kind: ChangePostTransfer, Effective: yesterday, Post: PostHardshipArea},
			nil, "post_type", ""},
		{"transfer of a veteran", HouseholdRecord{Household: Household{Status: ServiceVeteran, Post: PostRegular}},
			StatusChange{Kind: ChangePostTransfer, Effective: yesterday, Post: PostIslandFirst}, nil, "post_type", ""},
		{"promotion NCO to officer", base, StatusChange{Kind: ChangePromotion, Effective: yesterday, Status: ServiceActiveOfficer},
			func(r HouseholdRecord) HouseholdRecord { r.Status = ServiceActiveOfficer; return r }, "", ""},
		{"promotion NCO to conscript", base, StatusChange{Kind: ChangePromotion, Effective: yesterday, Status: ServiceActiveConscript},
			nil, "status", ""},
		{"decoration", base, StatusChange{Kind: ChangeDecoration, Effective: yesterday, Honour: "一等功"},
			func(r HouseholdRecord) HouseholdRecord { r.Decorated, r.Honour = true, "一等功"; return r }, "", ""},
		{"decoration without the honour", base, StatusChange{Kind: ChangeDecoration, Effective: yesterday}, nil, "honour", ""},
		{"an honour with a discharge", base, StatusChange{Kind: ChangeDischarge, Effective: yesterday, Honour: "一等功"}, nil, "honour", ""},
		{"a correction that says nothing new", base, StatusChange{Kind: ChangeCorrection, Effective: yesterday, Status: ServiceActiveNCO, DisabilityGrade: KeepGrade},
			nil, "kind", ""},
		{"no kind", base, StatusChange{Effective: yesterday, Status: ServiceVeteran}, nil, "kind", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApplyStatusChange(tt.before, tt.change, registerNow)
			if tt.want == nil {
				fields, rules := violations(t, err)
				if len(fields) != 1 || fields[0] != tt.field || rules[0] != tt.rule {
					t.Fatalf("refusal %v %v (%v), want %s with rule %q", fields, rules, err, tt.field, tt.rule)
				}
				if got != tt.before {
					t.Errorf("a refused change returned %+v, not the record as it was", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if want := tt.want(tt.before); got != want {
				t.Errorf("after = %+v, want %+v", got, want)
			}
		})
	}
}

func TestReevaluatePriority(t *testing.T) {
	cause := StatusChange{Kind: ChangeDeath, Effective: day(2026, 3, 1)}.Cause("servicemember_status")
	martyr := Household{Status: ServiceMartyr}
	t.Run("an open case takes the household's new priority, saying why", func(t *testing.T) {
		for _, st := range []Status{StatusDraft, StatusSubmitted, StatusAccepted, StatusInProgress} {
			r, ok := ReevaluatePriority(OpenCase{Kind: KindLegalAid, Status: st, Priority: PriorityNormal,
				Basis: []RuleID{RuleLegalAidAnyMember, RuleLegalAidPriority, RuleLegalAidDecision}}, martyr, cause)
			if !ok || r.Priority != PriorityFirst || !slices.Equal(r.Reasons, []Reason{ReasonMartyrFamily}) {
				t.Fatalf("%s: %+v %v", st, r, ok)
			}
			if !slices.Equal(r.PriorityRules, []RuleID{RulePriorityMartyrDiedOnDuty, RuleLegalAidPriority}) {
				t.Errorf("priority rules %v", r.PriorityRules)
			}
			// The case's basis keeps what decided its eligibility, takes the
			// new priority's rules and the rule that re-evaluated it; the
			// clocks' rules come from its clocks (none here).
			if want := []RuleID{RuleLegalAidAnyMember, RuleStatusChangeReprio, RulePriorityMartyrDiedOnDuty, RuleLegalAidPriority}; !slices.Equal(r.Basis, want) {
				t.Errorf("basis %v, want %v", r.Basis, want)
			}
			for _, part := range []string{"NORMAL → FIRST", "MARTYR_FAMILY", "DEATH effective 2026-03-01", "servicemember_status", string(RuleStatusChangeReprio)} {
				if !strings.Contains(r.Why, part) {
					t.Errorf("why %q does not say %q", r.Why, part)
				}
			}
		}
	})
	t.Run("a decided case keeps its record", func(t *testing.T) {
		for _, st := range []Status{StatusResolved, StatusClosed, StatusRejected, StatusWithdrawn} {
			if r, ok := ReevaluatePriority(OpenCase{Status: st, Priority: PriorityNormal}, martyr, cause); ok {
				t.Errorf("%s re-evaluated: %+v", st, r)
			}
		}
	})
	t.Run("nothing to change", func(t *testing.T) {
		if r, ok := ReevaluatePriority(OpenCase{Status: StatusSubmitted, Priority: PriorityFirst, Reasons: []Reason{ReasonMartyrFamily}}, martyr, cause); ok {
			t.Errorf("re-evaluated to the same: %+v", r)
		}
	})
	t.Run("same tier, other reasons", func(t *testing.T) {
		r, ok := ReevaluatePriority(OpenCase{Status: StatusSubmitted, Priority: PriorityFirst, Reasons: []Reason{ReasonBorderCoastalDefence}}, martyr, cause)
		if !ok || !strings.Contains(r.Why, "FIRST → FIRST") {
			t.Errorf("%+v %v", r, ok)
		}
	})
	t.Run("a drop in priority, with no reason left", func(t *testing.T) {
		r, ok := ReevaluatePriority(OpenCase{Status: StatusAccepted, Priority: PriorityFirst, Reasons: []Reason{ReasonBorderCoastalDefence}}, Household{Status: ServiceVeteran}, cause)
		if !ok || r.Priority != PriorityNormal || r.Reasons != nil || !strings.Contains(r.Why, "reasons: none") {
			t.Errorf("%+v %v", r, ok)
		}
	})
}
