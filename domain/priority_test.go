package domain

import (
	"slices"
	"testing"
)

func TestComputePriority(t *testing.T) {
	tests := []struct {
		name    string
		in      PriorityInput
		want    Priority
		reasons []Reason
	}{
		{"plain active duty", PriorityInput{Category: CategoryActiveDutyFamily, Post: PostRegular}, PriorityNormal, nil},
		{"empty input", PriorityInput{}, PriorityNormal, nil},
		{"veteran", PriorityInput{Category: CategoryVeteran}, PriorityNormal, nil},
		{"other entitled", PriorityInput{Category: CategoryOtherEntitled, Post: PostRegular}, PriorityNormal, nil},
		{"martyr family", PriorityInput{Category: CategoryMartyrFamily}, PriorityFirst, []Reason{ReasonMartyrFamily}},
		{"border post", PriorityInput{Category: CategoryActiveDutyFamily, Post: PostBorderCoastalDefence}, PriorityFirst, []Reason{ReasonBorderCoastalDefence}},
		{"mission unit", PriorityInput{Post: PostMissionUnit}, PrioritySecond, []Reason{ReasonMissionUnit}},
		{"hardship area", PriorityInput{Post: PostHardshipArea}, PrioritySecond, []Reason{ReasonHardshipArea}},
		{"hardship household", PriorityInput{Category: CategoryVeteran, Hardship: true}, PrioritySecond, []Reason{ReasonHardshipHousehold}},
		{"meritorious", PriorityInput{Category: CategoryMeritorious}, PrioritySecond, []Reason{ReasonMeritorious}},
		{"martyr + border + hardship, all listed",
			PriorityInput{Category: CategoryMartyrFamily, Post: PostBorderCoastalDefence, Hardship: true},
			PriorityFirst, []Reason{ReasonMartyrFamily, ReasonBorderCoastalDefence, ReasonHardshipHousehold}},
		{"second-tier reasons keep first tier",
			PriorityInput{Category: CategoryMartyrFamily, Post: PostMissionUnit},
			PriorityFirst, []Reason{ReasonMartyrFamily, ReasonMissionUnit}},
		{"meritorious at hardship area in hardship",
			PriorityInput{Category: CategoryMeritorious, Post: PostHardshipArea, Hardship: true},
			PrioritySecond, []Reason{ReasonHardshipArea, ReasonHardshipHousehold, ReasonMeritorious}},
		{"meritorious at border",
			PriorityInput{Category: CategoryMeritorious, Post: PostBorderCoastalDefence},
			PriorityFirst, []Reason{ReasonBorderCoastalDefence, ReasonMeritorious}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reasons := ComputePriority(tt.in)
			if got != tt.want {
				t.Errorf("priority = %d, want %d", got, tt.want)
			}
			if !slices.Equal(reasons, tt.reasons) || (tt.reasons == nil) != (reasons == nil) {
				t.Errorf("reasons = %#v, want %#v", reasons, tt.reasons)
			}
		})
	}
}
