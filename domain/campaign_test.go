package domain

import (
	"testing"
	"time"
)

func TestTargetRuleMatches(t *testing.T) {
	r := TargetRule{PostTypes: []PostType{PostBorderCoastalDefence, PostMissionUnit}, Hardship: true}
	cases := []struct {
		post     PostType
		category Category
		hardship bool
		want     bool
	}{
		{PostBorderCoastalDefence, CategoryActiveDutyFamily, false, true},
		{PostMissionUnit, CategoryActiveDutyFamily, false, true},
		{PostRegular, CategoryActiveDutyFamily, false, false},
		{PostRegular, CategoryVeteran, true, true},
		{"", CategoryMartyrFamily, false, false},
	}
	for _, c := range cases {
		if got := r.Matches(c.post, c.category, c.hardship); got != c.want {
			t.Errorf("Matches(%s, %s, %v) = %v, want %v", c.post, c.category, c.hardship, got, c.want)
		}
	}
	if !(TargetRule{Categories: []Category{CategoryMartyrFamily}}).Matches("", CategoryMartyrFamily, false) {
		t.Error("a category rule does not match its category")
	}
}

func TestCheckCampaign(t *testing.T) {
	d := func(m time.Month, day int) time.Time { return time.Date(2027, m, day, 0, 0, 0, 0, time.UTC) }
	rule := TargetRule{Hardship: true}
	if err := CheckCampaign("campaign", CampaignPlan{Start: d(7, 20), End: d(8, 5), Rule: rule}); err != nil {
		t.Fatalf("a good plan is refused: %v", err)
	}
	v, ok := AsValidation(CheckCampaign("campaign", CampaignPlan{Start: d(8, 5), End: d(7, 20)}))
	if !ok || len(v.Violations) != 2 || v.Violations[0].Field != "campaign.end_date" || v.Violations[1].Field != "campaign.target_rule" {
		t.Fatalf("a reversed range and an empty rule: %v", v)
	}
}

func TestCampaignStates(t *testing.T) {
	for _, c := range []struct {
		from, to CampaignState
		ok       bool
	}{
		{CampaignDraft, CampaignOpen, true}, {CampaignOpen, CampaignClosed, true},
		{CampaignDraft, CampaignClosed, false}, {CampaignClosed, CampaignOpen, false}, {CampaignOpen, CampaignOpen, false},
	} {
		err := CampaignTransition("campaigns/x", c.from, c.to)
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: %v", c.from, c.to, err)
		}
	}
	p, ok := AsPrecondition(CampaignMustBe("campaigns/x", CampaignOpen, CampaignDraft))
	if !ok || p.Type != "CAMPAIGN_NOT_DRAFT" {
		t.Fatalf("update of an open campaign: %v", p)
	}
	if p, ok := AsPrecondition(CampaignMustBe("campaigns/x", CampaignClosed, CampaignOpen)); !ok || p.Type != "CAMPAIGN_NOT_OPEN" {
		t.Fatalf("visit to a closed campaign: %v", p)
	}
}

func TestVisitDateAndShare(t *testing.T) {
	start, end := time.Date(2027, 7, 20, 0, 0, 0, 0, time.UTC), time.Date(2027, 8, 5, 0, 0, 0, 0, time.UTC)
	for day, ok := range map[time.Time]bool{start: true, end: true, start.AddDate(0, 0, -1): false, end.AddDate(0, 0, 1): false} {
		if err := CheckVisitDate("visit.visit_date", day, start, end); (err == nil) != ok {
			t.Errorf("%s: %v", day, err)
		}
	}
	for _, c := range [][3]int{{0, 0, 0}, {1, 3, 3333}, {2, 3, 6666}, {2999, 3000, 9996}, {3, 3, 10000}} {
		if got := ShareBasisPoints(c[0], c[1]); got != c[2] {
			t.Errorf("ShareBasisPoints(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}
