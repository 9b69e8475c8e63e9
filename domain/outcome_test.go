package domain

import (
	"slices"
	"testing"
)

func TestOutcomeFields(t *testing.T) {
	tests := []struct {
		kind Kind
		want []string
	}{
		{KindEmploymentPlacement, []string{"employment_placement.employer", "employment_placement.position", "employment_placement.placement_date"}},
		{KindSchoolEnrollment, []string{"school_enrollment.assigned_school"}},
		{KindElderMedicalHelp, []string{"elder_medical_help.hospital", "elder_medical_help.help_given"}},
		{KindLegalAid, []string{"legal_aid.lawyer_or_institution"}},
		{"UNKNOWN", nil},
	}
	for _, tt := range tests {
		got := OutcomeFields(tt.kind)
		if !slices.Equal(got, tt.want) {
			t.Errorf("OutcomeFields(%s) = %v, want %v", tt.kind, got, tt.want)
		}
		if len(got) > 0 {
			got[0] = "mutated"
			if OutcomeFields(tt.kind)[0] == "mutated" {
				t.Errorf("OutcomeFields(%s) shares its backing array with callers", tt.kind)
			}
		}
	}
}

func TestCheckResolve(t *testing.T) {
	filled := func(paths ...string) func(string) bool {
		return func(p string) bool { return slices.Contains(paths, p) }
	}
	tests := []struct {
		name        string
		kind        Kind
		achieved    bool
		present     func(string) bool
		wantSubject string // empty means no error expected
		wantDesc    string
	}{
		{"not achieved needs nothing", KindEmploymentPlacement, false, filled(), "", ""},
		{"employment complete", KindEmploymentPlacement, true,
			filled("employment_placement.employer", "employment_placement.position", "employment_placement.placement_date"), "", ""},
		{"employment missing all", KindEmploymentPlacement, true, filled(),
			"employment_placement.employer,employment_placement.position,employment_placement.placement_date",
			"resolving an employment placement case requires employment_placement.employer, employment_placement.position, employment_placement.placement_date"},
		{"employment missing position", KindEmploymentPlacement, true,
			filled("employment_placement.employer", "employment_placement.placement_date"),
			"employment_placement.position",
			"resolving an employment placement case requires employment_placement.position"},
		{"school missing school", KindSchoolEnrollment, true, filled(),
			"school_enrollment.assigned_school",
			"resolving a school enrollment case requires school_enrollment.assigned_school"},
		{"elder missing help", KindElderMedicalHelp, true, filled("elder_medical_help.hospital"),
			"elder_medical_help.help_given",
			"resolving an elder medical help case requires elder_medical_help.help_given"},
		{"legal aid complete", KindLegalAid, true, filled("legal_aid.lawyer_or_institution"), "", ""},
		{"legal aid missing", KindLegalAid, true, filled(),
			"legal_aid.lawyer_or_institution",
			"resolving a legal aid case requires legal_aid.lawyer_or_institution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResolve(tt.kind, tt.achieved, tt.present)
			if tt.wantSubject == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			p, ok := AsPrecondition(err)
			if !ok {
				t.Fatalf("error = %v, want a PreconditionError", err)
			}
			if p.Type != "OUTCOME_FIELDS_REQUIRED" || p.Subject != tt.wantSubject || p.Description != tt.wantDesc {
				t.Errorf("got %+v\nwant Type OUTCOME_FIELDS_REQUIRED, Subject %q, Description %q", *p, tt.wantSubject, tt.wantDesc)
			}
		})
	}
}
