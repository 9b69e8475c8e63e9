package domain

import "time"

// The household ledger (台账, seed item 六): regular contact with the
// families and hardship help, and how often each class of household is due
// a contact.

// ContactChannel is how a contact was made.
type ContactChannel string

// The contact channels.
const (
	ContactHomeVisit      ContactChannel = "HOME_VISIT"
	ContactPhone          ContactChannel = "PHONE"
	ContactVideo          ContactChannel = "VIDEO"
	ContactServiceStation ContactChannel = "SERVICE_STATION"
)

// ContactChannels lists every channel.
func ContactChannels() []ContactChannel {
	return []ContactChannel{ContactHomeVisit, ContactPhone, ContactVideo, ContactServiceStation}
}

// AssistanceKind is what hardship assistance was for.
type AssistanceKind string

// The kinds of assistance.
const (
	AssistanceLiving    AssistanceKind = "LIVING"
	AssistanceMedical   AssistanceKind = "MEDICAL"
	AssistanceEducation AssistanceKind = "EDUCATION"
	AssistanceDisaster  AssistanceKind = "DISASTER"
	AssistanceOther     AssistanceKind = "OTHER"
)

// AssistanceKinds lists every kind.
func AssistanceKinds() []AssistanceKind {
	return []AssistanceKind{AssistanceLiving, AssistanceMedical, AssistanceEducation, AssistanceDisaster, AssistanceOther}
}

// ContactPolicy says how many days may pass between contacts for each
// class of household; 0 turns a class off.
type ContactPolicy struct {
	BorderMissionDays int
	HardshipDays      int
}

// DefaultContactPolicy is the seed's: border/coastal-defence and
// mission-unit families once a quarter, hardship families monthly.
var DefaultContactPolicy = ContactPolicy{BorderMissionDays: 90, HardshipDays: 30}

// ContactClasses are the rules of the contact policy whose class the
// household is in, whether or not the policy gives the class an interval.
func ContactClasses(post PostType, hardship bool) []RuleID {
	var out []RuleID
	if post == PostBorderCoastalDefence || post == PostMissionUnit {
		out = append(out, RuleContactBorderMission)
	}
	if hardship {
		out = append(out, RuleContactHardship)
	}
	return out
}

// days is the interval the policy gives the class of rule, 0 for none.
func (p ContactPolicy) days(rule RuleID) int {
	switch rule {
	case RuleContactBorderMission:
		return p.BorderMissionDays
	case RuleContactHardship:
		return p.HardshipDays
	}
	return 0
}

// Interval is the days a household with this post and hardship may go
// without a contact: the shortest of the classes it is in, 0 for none.
func (p ContactPolicy) Interval(post PostType, hardship bool) int {
	days := 0
	for _, rule := range ContactClasses(post, hardship) {
		if d := p.days(rule); d > 0 && (days == 0 || d < days) {
			days = d
		}
	}
	return days
}

// DateLayout is how the ledger's calendar dates are written and stored.
const DateLayout = "2006-01-02"

// NextContactDue is the day a household is next due a contact: the latest
// contact's date, or with none the day it was registered (China time),
// plus its interval; "" when no class applies. Dates are YYYY-MM-DD.
func (p ContactPolicy) NextContactDue(post PostType, hardship bool, lastContact string, registered time.Time) string {
	days := p.Interval(post, hardship)
	if days == 0 {
		return ""
	}
	from, err := time.Parse(DateLayout, lastContact)
	if lastContact == "" || err != nil {
		y, m, d := registered.In(ChinaTime).Date()
		from = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return from.AddDate(0, 0, days).Format(DateLayout)
}

// LedgerToday is the calendar date in China now, as YYYY-MM-DD.
func LedgerToday(now time.Time) string { return now.In(ChinaTime).Format(DateLayout) }

// CheckLedgerDate refuses a contact or assistance date in the future
// (China time): the ledger records what was done.
func CheckLedgerDate(field, date string, now time.Time) error {
	if date > LedgerToday(now) {
		return Invalid(field, "must not be in the future")
	}
	return nil
}

// FollowUp is something to do after a contact, with the day it is due
// (YYYY-MM-DD) if there is one.
type FollowUp struct {
	Text string `json:"text"`
	Due  string `json:"due,omitempty"`
	// Case names the case the follow-up opened, if it opened one.
	Case string `json:"case,omitempty"`
}
