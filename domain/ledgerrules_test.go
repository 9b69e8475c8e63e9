package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// ruleOf is the rule an error names: a precondition's, or the first
// violation's.
func ruleOf(err error) RuleID {
	if p, ok := AsPrecondition(err); ok {
		return p.Rule
	}
	var v *ValidationError
	if errors.As(err, &v) && len(v.Violations) > 0 {
		return v.Violations[0].Rule
	}
	var g *MissingGapReasons
	if errors.As(err, &g) {
		return g.Rule()
	}
	return ""
}

// TestContactClasses: the classes of the contact policy, each its rule; a
// household in both takes the shorter interval, and a class the policy
// turns off (0) sets none.
func TestContactClasses(t *testing.T) {
	p := DefaultContactPolicy
	for _, c := range []struct {
		post     PostType
		hardship bool
		rules    []RuleID
		days     int
	}{
		{PostBorderCoastalDefence, false, []RuleID{RuleContactBorderMission}, 90},
		{PostMissionUnit, false, []RuleID{RuleContactBorderMission}, 90},
		{PostRegular, true, []RuleID{RuleContactHardship}, 30},
		{PostMissionUnit, true, []RuleID{RuleContactBorderMission, RuleContactHardship}, 30},
		{PostHardshipArea, false, nil, 0},
	} {
		if got := ContactClasses(c.post, c.hardship); !slices.Equal(got, c.rules) {
			t.Errorf("%s/%v: classes %v, want %v", c.post, c.hardship, got, c.rules)
		}
		if got := p.Interval(c.post, c.hardship); got != c.days {
			t.Errorf("%s/%v: %d days, want %d", c.post, c.hardship, got, c.days)
		}
	}
	off := ContactPolicy{BorderMissionDays: 0, HardshipDays: 30}
	if got := off.Interval(PostBorderCoastalDefence, false); got != 0 {
		t.Errorf("a class turned off gives %d days", got)
	}
	if got := off.Interval(PostBorderCoastalDefence, true); got != 30 {
		t.Errorf("the other class still applies: %d days", got)
	}
}

// TestLedgerRefusalsNameTheirRules: each refusal of the ledgers names the
// rule of the table that refuses, so a client can show it.
func TestLedgerRefusalsNameTheirRules(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	_, illegalAccept := ApplicationTransition(ApplicationRegistered, ApplicationAccept)
	_, illegalMove := MeasureTransition(MeasureExited, MeasureReinstate)
	_, suspendTwice := ComplaintSuspension(MeasureSuspended)
	for _, c := range []struct {
		name string
		err  error
		want RuleID
	}{
		{"a change of an open campaign's plan", CampaignMustBe("campaigns/1", CampaignOpen, CampaignDraft), RuleCampaignTargetsFrozen},
		{"closing with unexplained gaps", &MissingGapReasons{Campaign: "campaigns/1", Total: 1}, RuleCampaignGapReasons},
		{"a visit after the campaign", CheckVisitDate("visit.visit_date", day(2026, 8, 6), day(2026, 7, 20), day(2026, 8, 5)), RuleCampaignOneVisit},
		{"reinstating an exited measure", illegalMove, RuleMeasureEntryExit},
		{"activating under an expired agreement", CheckAgreementInForce(day(2026, 3, 1), now), RuleMeasureAgreementExpired},
		{"a complaint suspending a suspended measure", suspendTwice, RuleMeasureComplaintUpheld},
		{"a review dated tomorrow", CheckReviewDate("review.review_date", day(2026, 3, 3), now), RuleMeasureReview},
		{"accepting what was not offered", illegalAccept, RuleRecruitmentPlacement},
	} {
		if c.err == nil {
			t.Errorf("%s: not refused", c.name)
			continue
		}
		if got := ruleOf(c.err); got != c.want {
			t.Errorf("%s: rule %q, want %q", c.name, got, c.want)
		}
	}
	// What the rules allow is not refused.
	if err := CheckVisitDate("visit.visit_date", day(2026, 8, 5), day(2026, 7, 20), day(2026, 8, 5)); err != nil {
		t.Errorf("a visit on the last day: %v", err)
	}
	if err := CheckReviewDate("review.review_date", day(2026, 3, 2), now); err != nil {
		t.Errorf("a review dated today: %v", err)
	}
	if err := CheckAgreementInForce(day(2026, 3, 2), now); err != nil {
		t.Errorf("an agreement on its last day: %v", err)
	}
	if to, err := ComplaintSuspension(MeasureActive); err != nil || to != MeasureSuspended {
		t.Errorf("an upheld complaint suspends an active measure: %v %v", to, err)
	}
	if err := CampaignMustBe("campaigns/1", CampaignOpen, CampaignOpen); err != nil {
		t.Errorf("a visit to an open campaign: %v", err)
	}
	// Other refusals of an application are not the placement's rule.
	if _, err := ApplicationTransition(ApplicationRegistered, ApplicationOffer); ruleOf(err) != "" {
		t.Errorf("offering before the interview names rule %q", ruleOf(err))
	}
}
