package domain

import (
	"testing"
	"time"
)

func TestContactPolicy(t *testing.T) {
	reg := time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC) // 2026-02-01 in China
	cases := []struct {
		name     string
		policy   ContactPolicy
		post     PostType
		hardship bool
		last     string
		want     string
	}{
		{"border, no contact: from registration (China date)", DefaultContactPolicy, PostBorderCoastalDefence, false, "", "2026-05-02"},
		{"mission unit after a contact", DefaultContactPolicy, PostMissionUnit, false, "2026-03-10", "2026-06-08"},
		{"hardship monthly", DefaultContactPolicy, PostRegular, true, "2026-03-10", "2026-04-09"},
		{"border and hardship: the strictest wins", DefaultContactPolicy, PostBorderCoastalDefence, true, "2026-03-10", "2026-04-09"},
		{"no class", DefaultContactPolicy, PostRegular, false, "2026-03-10", ""},
		{"hardship turned off", ContactPolicy{BorderMissionDays: 90}, PostRegular, true, "2026-03-10", ""},
		{"border stricter than hardship", ContactPolicy{BorderMissionDays: 14, HardshipDays: 30}, PostBorderCoastalDefence, true, "2026-03-10", "2026-03-24"},
	}
	for _, c := range cases {
		if got := c.policy.NextContactDue(c.post, c.hardship, c.last, reg); got != c.want {
			t.Errorf("%s: NextContactDue = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCheckLedgerDate(t *testing.T) {
	now := time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC) // 2026-03-10 01:00 in China
	if err := CheckLedgerDate("d", "2026-03-10", now); err != nil {
		t.Errorf("today in China refused: %v", err)
	}
	if err := CheckLedgerDate("d", "2026-03-11", now); err == nil {
		t.Error("a future date was accepted")
	}
}
