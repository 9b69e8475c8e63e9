package domain

import (
	"fmt"
	"slices"
	"time"
)

// Festival-visit campaigns (走访慰问): whom a campaign must visit, the life
// of a campaign, and what a visit may be. The repository evaluates a
// TargetRule in SQL over the register when a campaign opens; Matches is
// the rule's meaning, and the storage suite holds the SQL to it.

// Festival is what a campaign is for. Stored as-is.
type Festival string

// The festivals.
const (
	FestivalArmyDay        Festival = "ARMY_DAY"        // 八一建军节
	FestivalSpringFestival Festival = "SPRING_FESTIVAL" // 春节
	FestivalOther          Festival = "OTHER"
)

// Festivals lists every festival.
func Festivals() []Festival {
	return []Festival{FestivalArmyDay, FestivalSpringFestival, FestivalOther}
}

// CampaignState is where a campaign is in its life. Stored as-is.
type CampaignState string

// The states: DRAFT -> OPEN -> CLOSED, no way back.
const (
	CampaignDraft  CampaignState = "DRAFT"
	CampaignOpen   CampaignState = "OPEN"
	CampaignClosed CampaignState = "CLOSED"
)

// CampaignStates lists every state.
func CampaignStates() []CampaignState {
	return []CampaignState{CampaignDraft, CampaignOpen, CampaignClosed}
}

// VisitForm is how a visit was made. Stored as-is.
type VisitForm string

// The forms of a visit.
const (
	VisitInPerson VisitForm = "IN_PERSON" // 上门
	VisitPhone    VisitForm = "PHONE"     // 电话
)

// VisitForms lists every form.
func VisitForms() []VisitForm { return []VisitForm{VisitInPerson, VisitPhone} }

// TargetSource says how a household became a target. Stored as-is.
type TargetSource string

// The sources of a target.
const (
	TargetByRule TargetSource = "RULE"  // chosen by the rule at opening
	TargetAdded  TargetSource = "ADDED" // added by hand afterwards
)

// TargetSources lists every source.
func TargetSources() []TargetSource { return []TargetSource{TargetByRule, TargetAdded} }

// TargetRule chooses a campaign's targets: a household matches when its
// servicemember's post type is one of PostTypes, or its category is one of
// Categories, or Hardship is set and the household is in hardship.
type TargetRule struct {
	PostTypes  []PostType
	Categories []Category
	Hardship   bool
}

// Empty reports a rule that would choose nobody.
func (r TargetRule) Empty() bool {
	return len(r.PostTypes) == 0 && len(r.Categories) == 0 && !r.Hardship
}

// Matches reports whether the household is a target of the rule.
func (r TargetRule) Matches(post PostType, category Category, hardship bool) bool {
	return slices.Contains(r.PostTypes, post) || slices.Contains(r.Categories, category) || (r.Hardship && hardship)
}

// CampaignPlan is what a campaign's creator decides.
type CampaignPlan struct {
	Start, End time.Time // calendar dates, both included
	Rule       TargetRule
}

// CheckCampaign checks a plan; prefix names the campaign in the request
// ("campaign").
func CheckCampaign(prefix string, p CampaignPlan) error {
	var vs []Violation
	if p.End.Before(p.Start) {
		vs = append(vs, Violation{Field: prefix + ".end_date", Description: "must not be before start_date"})
	}
	if p.End.Sub(p.Start) > 366*24*time.Hour {
		vs = append(vs, Violation{Field: prefix + ".end_date", Description: "a campaign lasts a year at most"})
	}
	if p.Rule.Empty() {
		vs = append(vs, Violation{Field: prefix + ".target_rule",
			Description: "must name at least one post type or category, or hardship households"})
	}
	return orNil(vs)
}

// CampaignMustBe refuses an action unless the campaign (subject, its
// resource name) is in state want: a change of plan needs DRAFT, visits
// and added targets need OPEN. Opening and closing are transitions and
// refuse the wrong state as ILLEGAL_TRANSITION (see CampaignTransition).
func CampaignMustBe(subject string, have, want CampaignState) error {
	if have == want {
		return nil
	}
	desc := fmt.Sprintf("the campaign is %s; this needs it %s", have, want)
	if want == CampaignDraft {
		// The plan, its rule above all, is frozen once the campaign opens.
		return &PreconditionError{Type: "CAMPAIGN_NOT_DRAFT", Subject: subject, Description: desc, Rule: RuleCampaignTargetsFrozen}
	}
	return &PreconditionError{Type: "CAMPAIGN_NOT_OPEN", Subject: subject, Description: desc}
}

// CampaignTransition checks a move of the campaign's state: DRAFT -> OPEN
// and OPEN -> CLOSED only.
func CampaignTransition(subject string, from, to CampaignState) error {
	ok := (from == CampaignDraft && to == CampaignOpen) || (from == CampaignOpen && to == CampaignClosed)
	if ok {
		return nil
	}
	return &PreconditionError{Type: "ILLEGAL_TRANSITION", Subject: subject,
		Description: fmt.Sprintf("a campaign cannot move from %s to %s", from, to)}
}

// CheckVisitDate holds a visit to the campaign's dates, both included: a
// visit before or after is a different campaign's, or a mistake, and is
// refused rather than counted.
func CheckVisitDate(field string, day, start, end time.Time) error {
	if day.Before(start) || day.After(end) {
		return Refuse(RuleCampaignOneVisit, field, "must fall within the campaign's dates (%s to %s)",
			start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	return nil
}

// MissingGapReasons refuses closing a campaign whose unvisited targets
// (Households, resource names, at most a page of them) lack a reason;
// Total counts all that lack one.
type MissingGapReasons struct {
	Campaign   string
	Households []string
	Total      int
}

// Rule is the rule that refuses.
func (e *MissingGapReasons) Rule() RuleID { return RuleCampaignGapReasons }

func (e *MissingGapReasons) Error() string {
	return fmt.Sprintf("%d targets were not visited and have no reason; give gap_reasons for each before closing", e.Total)
}

// ShareBasisPoints is visited out of targets in basis points (10000 =
// all), rounded down so that a campaign short of one visit never shows
// 100%; 0 with no targets.
func ShareBasisPoints(visited, targets int) int {
	if targets <= 0 {
		return 0
	}
	return visited * 10000 / targets
}
