package domain

import (
	"slices"
	"testing"
)

func TestComputePriority(t *testing.T) {
	active := func(post PostType) Household { return Household{Status: ServiceActiveNCO, Post: post} }
	tests := []struct {
		name    string
		in      Household
		want    Priority
		reasons []Reason
		basis   []RuleID
	}{
		{"plain active duty", active(PostRegular), PriorityNormal, nil, nil},
		{"empty input", Household{}, PriorityNormal, nil, nil},
		{"veteran", Household{Status: ServiceVeteran}, PriorityNormal, nil, nil},
		{"a veteran's last post decides nothing", Household{Status: ServiceVeteran, Post: PostBorderCoastalDefence}, PriorityNormal, nil, nil},
		{"martyr family", Household{Status: ServiceMartyr}, PriorityFirst, []Reason{ReasonMartyrFamily}, []RuleID{RulePriorityMartyrDiedOnDuty}},
		{"died on duty", Household{Status: ServiceDiedOnDuty}, PriorityFirst, []Reason{ReasonDiedOnDuty}, []RuleID{RulePriorityMartyrDiedOnDuty}},
		{"died of illness", Household{Status: ServiceDiedOfIllness}, PrioritySecond, []Reason{ReasonDiedOfIllness}, []RuleID{RulePriorityDiedOfIllness}},
		{"border post", active(PostBorderCoastalDefence), PriorityFirst, []Reason{ReasonBorderCoastalDefence}, []RuleID{RulePriorityBorderIsland}},
		{"island, second class", active(PostIslandSecond), PriorityFirst, []Reason{ReasonIsland}, []RuleID{RulePriorityBorderIsland}},
		{"mission unit", active(PostMissionUnit), PrioritySecond, []Reason{ReasonMissionUnit}, []RuleID{RulePriorityMission}},
		{"peacekeeping", active(PostPeacekeeping), PrioritySecond, []Reason{ReasonFrontLineOrPeacekeeping}, []RuleID{RulePriorityMission}},
		{"hardship area", active(PostHardshipArea), PrioritySecond, []Reason{ReasonHardshipArea}, []RuleID{RulePriorityHardshipPost}},
		{"submarine", active(PostSubmarine), PrioritySecond, []Reason{ReasonSpecialPost}, []RuleID{RulePriorityHardshipPost}},
		{"hardship household", Household{Status: ServiceVeteran, Hardship: true}, PrioritySecond, []Reason{ReasonHardshipHousehold}, []RuleID{RulePriorityHardshipHH}},
		{"decorated", Household{Status: ServiceActiveOfficer, Decorated: true}, PrioritySecond, []Reason{ReasonMeritorious}, []RuleID{RulePriorityDecorated}},
		{"disabled veteran", Household{Status: ServiceVeteran, DisabilityGrade: 4}, PrioritySecond, []Reason{ReasonDisabled}, []RuleID{RulePriorityDisabled}},
		{"martyr + border + hardship, all listed, a martyr's post read no more",
			Household{Status: ServiceMartyr, Post: PostBorderCoastalDefence, Hardship: true},
			PriorityFirst, []Reason{ReasonMartyrFamily, ReasonHardshipHousehold}, []RuleID{RulePriorityMartyrDiedOnDuty, RulePriorityHardshipHH}},
		{"second-tier reasons keep first tier",
			Household{Status: ServiceActiveOfficer, Post: PostBorderCoastalDefence, Decorated: true, Hardship: true},
			PriorityFirst, []Reason{ReasonBorderCoastalDefence, ReasonHardshipHousehold, ReasonMeritorious},
			[]RuleID{RulePriorityBorderIsland, RulePriorityHardshipHH, RulePriorityDecorated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reasons, basis := ComputePriority(tt.in)
			if got != tt.want {
				t.Errorf("priority = %d, want %d", got, tt.want)
			}
			if !slices.Equal(reasons, tt.reasons) || (tt.reasons == nil) != (reasons == nil) {
				t.Errorf("reasons = %#v, want %#v", reasons, tt.reasons)
			}
			if !slices.Equal(basis, tt.basis) {
				t.Errorf("basis = %v, want %v", basis, tt.basis)
			}
		})
	}
}

func TestStatusFromCategory(t *testing.T) {
	for _, tt := range []struct {
		c         Category
		r         Rank
		want      ServiceStatus
		decorated bool
		ok        bool
	}{
		{CategoryActiveDutyFamily, RankOfficer, ServiceActiveOfficer, false, true},
		{CategoryActiveDutyFamily, RankConscript, ServiceActiveConscript, false, true},
		{CategoryActiveDutyFamily, "", "", false, false},
		{CategoryMeritorious, RankNCO, ServiceActiveNCO, true, true},
		{CategoryVeteran, "", ServiceVeteran, false, true},
		{CategoryMartyrFamily, RankNCO, ServiceMartyr, false, true},
		{CategoryOtherEntitled, RankNCO, "", false, false},
	} {
		st, dec, ok := StatusFromCategory(tt.c, tt.r)
		if st != tt.want || dec != tt.decorated || ok != tt.ok {
			t.Errorf("StatusFromCategory(%s, %s) = %s %v %v", tt.c, tt.r, st, dec, ok)
		}
		if ok {
			h := Household{Status: st, Decorated: dec}
			if got := h.Category(); got != tt.c {
				t.Errorf("%s round-trips as category %s", tt.c, got)
			}
		}
	}
}
