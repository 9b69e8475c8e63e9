package domain

import (
	"testing"
	"time"
)

func TestReferralState(t *testing.T) {
	// 2026-03-10 10:00 in China.
	now := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		d         ReferralDates
		withdrawn bool
		want      ReferralState
	}{
		{ReferralDates{Sent: "2026-03-01", FollowUpDue: "2026-03-10"}, false, ReferralAwaitingReply},
		{ReferralDates{Sent: "2026-03-01", FollowUpDue: "2026-03-09"}, false, ReferralOverdue},
		{ReferralDates{Sent: "2026-03-01", FollowUpDue: "2026-03-09", ReplyDate: "2026-03-05"}, false, ReferralReplied},
		{ReferralDates{Sent: "2026-03-01", FollowUpDue: "2026-03-09"}, true, ReferralWithdrawn},
	}
	for _, tt := range tests {
		if got := tt.d.State(tt.withdrawn, now); got != tt.want {
			t.Errorf("%+v withdrawn %v: %s, want %s", tt.d, tt.withdrawn, got, tt.want)
		}
	}
}

func TestReferralDatesCheck(t *testing.T) {
	now := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	ok := ReferralDates{Sent: "2026-03-01", FollowUpDue: "2026-03-01", ReplyDate: "2026-03-10"}
	if err := ok.Check("referral.", now); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
	bad := ReferralDates{Sent: "2026-03-11", FollowUpDue: "2026-03-02", ReplyDate: "2026-03-01"}
	err := bad.Check("referral.", now)
	v, isV := AsValidation(err)
	if !isV || len(v.Violations) != 3 {
		t.Fatalf("%+v: %v, want three violations (sent in the future, follow-up and reply before it)", bad, err)
	}
}

func TestCaseAlert(t *testing.T) {
	now := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		due  time.Time
		want AlertKind
		ok   bool
	}{
		{now.Add(-time.Minute), AlertCaseOverdue, true},
		{now, AlertCaseOverdue, true},
		{now.Add(72 * time.Hour), AlertCaseDueSoon, true},
		{now.Add(72*time.Hour + time.Second), "", false},
	}
	for _, tt := range tests {
		if got, ok := CaseAlert(tt.due, now, DefaultAlertWindow); got != tt.want || ok != tt.ok {
			t.Errorf("due %s: %s %v, want %s %v", tt.due, got, ok, tt.want, tt.ok)
		}
	}
	if d, _ := FollowUpDeadline("2026-03-09"); !d.Equal(time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("follow-up deadline of 2026-03-09: %s, want 2026-03-10 00:00 China", d)
	}
	// The case alerts are raised under CASE_ALERT_WINDOW, a referral's under
	// REFERRAL_FOLLOW_UP.
	for kind, rule := range map[AlertKind]RuleID{
		AlertCaseDueSoon: RuleCaseAlertWindow, AlertCaseOverdue: RuleCaseAlertWindow, AlertReferralOverdue: RuleReferralFollowUp,
	} {
		if kind.Rule() != rule {
			t.Errorf("%s is raised under %s, want %s", kind, kind.Rule(), rule)
		}
	}
}
