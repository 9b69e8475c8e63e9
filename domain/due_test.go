package domain

import (
	"testing"
	"time"
)

func TestDueTime(t *testing.T) {
	cst := time.FixedZone("UTC+8", 8*3600)
	submitted := time.Date(2026, 3, 1, 10, 0, 0, 0, cst)
	// Last second of 31 August 2026 in China is 15:59:59 UTC that day.
	aug31 := time.Date(2026, 8, 31, 15, 59, 59, 0, time.UTC)
	tests := []struct {
		name       string
		kind       Kind
		submitted  time.Time
		schoolYear string
		want       time.Time
	}{
		{"legal aid 7 days", KindLegalAid, submitted, "", time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)},
		{"elder 3 days", KindElderMedicalHelp, submitted, "", time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC)},
		{"employment 90 days", KindEmploymentPlacement, submitted, "", time.Date(2026, 5, 30, 2, 0, 0, 0, time.UTC)},
		{"school 30 days, no year", KindSchoolEnrollment, submitted, "", time.Date(2026, 3, 31, 2, 0, 0, 0, time.UTC)},
		{"school: term far away", KindSchoolEnrollment, submitted, "2026-2027", time.Date(2026, 3, 31, 2, 0, 0, 0, time.UTC)},
		{"school: capped at term start",
			KindSchoolEnrollment, time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC), "2026-2027", aug31},
		{"school: cap one second after submission",
			KindSchoolEnrollment, aug31.Add(-time.Second), "2026-2027", aug31},
		{"school: submitted exactly at term start, cap not after",
			KindSchoolEnrollment, aug31, "2026-2027", aug31.Add(30 * 24 * time.Hour)},
		// 1 Sep 00:30 China time is still 31 Aug in UTC, but term has begun.
		{"school: after term start in China, still Aug 31 in UTC",
			KindSchoolEnrollment, time.Date(2026, 9, 1, 0, 30, 0, 0, cst), "2026-2027",
			time.Date(2026, 9, 30, 16, 30, 0, 0, time.UTC)},
		{"school: cap exactly at 30 days is not earlier",
			KindSchoolEnrollment, aug31.Add(-30 * 24 * time.Hour), "2026-2027", aug31},
		{"school: cap one second before 30 days",
			KindSchoolEnrollment, aug31.Add(-30*24*time.Hour + time.Second), "2026-2027", aug31},
		{"school: last year's term ignored",
			KindSchoolEnrollment, time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC), "2025-2026",
			time.Date(2026, 9, 19, 0, 0, 0, 0, time.UTC)},
		{"school: malformed year ignored",
			KindSchoolEnrollment, time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC), "2026/27",
			time.Date(2026, 9, 19, 0, 0, 0, 0, time.UTC)},
		{"school year ignored for other kinds",
			KindLegalAid, time.Date(2026, 8, 30, 0, 0, 0, 0, time.UTC), "2026-2027",
			time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DueTime(tt.kind, tt.submitted, tt.schoolYear)
			if !got.Equal(tt.want) {
				t.Errorf("DueTime = %v, want %v", got, tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("DueTime location = %v, want UTC", got.Location())
			}
		})
	}
}

func TestValidSchoolYear(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2026-2027", true},
		{"1999-2000", true},
		{"", false},
		{"2026-2026", false},
		{"2026-2028", false},
		{"2026/2027", false},
		{"+026-2027", false},
		{"2026-27", false},
		{" 2026-2027", false},
	}
	for _, tt := range tests {
		if got := ValidSchoolYear(tt.in); got != tt.want {
			t.Errorf("ValidSchoolYear(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
