package domain

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestAgeAt(t *testing.T) {
	tests := []struct {
		name       string
		birth, now time.Time
		want       int
	}{
		{"birthday today", day(2000, 5, 10), day(2026, 5, 10), 26},
		{"birthday tomorrow", day(2000, 5, 11), day(2026, 5, 10), 25},
		{"birthday yesterday", day(2000, 5, 9), day(2026, 5, 10), 26},
		{"leap-day birth, Feb 28 common year", day(2004, 2, 29), day(2026, 2, 28), 21},
		{"leap-day birth, Mar 1 common year", day(2004, 2, 29), day(2026, 3, 1), 22},
		{"leap-day birth, Feb 29 leap year", day(2004, 2, 29), day(2028, 2, 29), 24},
		{"born later", day(2027, 1, 1), day(2026, 5, 10), -1},
		// 00:30 on 11 May in China is still 10 May in UTC: today is now's own.
		{"now in China time", day(2000, 5, 11), time.Date(2026, 5, 11, 0, 30, 0, 0, ChinaTime), 26},
	}
	for _, tt := range tests {
		if got := AgeAt(tt.birth, tt.now); got != tt.want {
			t.Errorf("%s: AgeAt = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestKindAndRelationValid(t *testing.T) {
	for _, k := range []Kind{KindEmploymentPlacement, KindSchoolEnrollment, KindElderMedicalHelp, KindLegalAid} {
		if !k.Valid() {
			t.Errorf("%s.Valid() = false", k)
		}
	}
	for _, r := range []Relation{RelationSpouse, RelationChild, RelationFather, RelationMother, RelationOther} {
		if !r.Valid() {
			t.Errorf("%s.Valid() = false", r)
		}
	}
	if Kind("legal_aid").Valid() || Kind("").Valid() || Relation("").Valid() {
		t.Error("lower-case or empty values must not be valid")
	}
}
