package service

import (
	"strings"
	"testing"

	"github.com/fengdu-county/casework/domain"
)

// TestScrubDetails: every text of a case's details goes, at any depth and
// in lists, and what the statistics read (enumerations, numbers, booleans)
// stays, for each kind of case.
func TestScrubDetails(t *testing.T) {
	for _, tc := range []struct {
		kind      domain.Kind
		details   string
		keep, out []string
	}{
		{domain.KindLegalAid, `{"matter_category":"LEGAL_MATTER_CATEGORY_LABOUR","matter_description":"工伤赔偿","counterparty":"某建筑公司",` +
			`"lawyer_or_institution":"重庆某律师事务所","hardship_check_exempt":true,"missing_materials":["劳动合同","工资流水"]}`,
			[]string{"LEGAL_MATTER_CATEGORY_LABOUR", `"hardship_check_exempt":true`}, []string{"工伤", "建筑", "律师", "劳动合同", "工资"}},
		{domain.KindEmploymentPlacement, `{"placement_year":2026,"eligible":true,"employer":"丰都县某公司","position":"会计"}`,
			[]string{`"placement_year":2026`, `"eligible":true`}, []string{"公司", "会计"}},
		{domain.KindSchoolEnrollment, `{"school_stage":"SCHOOL_STAGE_JUNIOR_HIGH","requested_school":"丰都县第一中学","school_year":"2027-2028"}`,
			[]string{"SCHOOL_STAGE_JUNIOR_HIGH"}, []string{"中学", "2027-2028"}},
		{domain.KindElderMedicalHelp, `{"need_description":"慢性肾衰竭需透析","hospital":"丰都县人民医院"}`,
			nil, []string{"透析", "医院"}},
	} {
		got, err := ScrubDetails(tc.kind, tc.details)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		// protojson varies its spacing on purpose.
		got = strings.ReplaceAll(got, " ", "")
		for _, k := range tc.keep {
			if !strings.Contains(got, k) {
				t.Errorf("%s: %s lost from %s", tc.kind, k, got)
			}
		}
		for _, o := range tc.out {
			if strings.Contains(got, o) {
				t.Errorf("%s: %s left in %s", tc.kind, o, got)
			}
		}
	}
	if got, err := ScrubDetails(domain.KindLegalAid, ""); err != nil || got != "" {
		t.Errorf("empty details scrubbed to %q, %v", got, err)
	}
}
