package domain

import (
	"strings"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestCheckSubject(t *testing.T) {
	now := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	child := func(birth time.Time) Subject { return Subject{Relation: RelationChild, BirthDate: birth} }
	adult := day(1960, 1, 1)
	tests := []struct {
		name    string
		kind    Kind
		subject Subject
		ok      bool
		// wantIn is a fragment the description must contain when !ok.
		wantIn string
	}{
		{"school: turns 2 today", KindSchoolEnrollment, child(day(2024, 6, 15)), true, ""},
		{"school: turns 2 tomorrow", KindSchoolEnrollment, child(day(2024, 6, 16)), false, "the subject is 1"},
		{"school: turned 18 today", KindSchoolEnrollment, child(day(2008, 6, 15)), true, ""},
		{"school: turns 19 tomorrow", KindSchoolEnrollment, child(day(2007, 6, 16)), true, ""},
		{"school: turned 19 today", KindSchoolEnrollment, child(day(2007, 6, 15)), false, "the subject is 19"},
		{"school: adult child", KindSchoolEnrollment, child(day(2001, 1, 1)), false, "school age (2 to 18); the subject is 25"},
		{"school: no birth date", KindSchoolEnrollment, child(time.Time{}), false, "birth date"},
		{"school: not a child", KindSchoolEnrollment, Subject{Relation: RelationSpouse, BirthDate: day(2015, 1, 1)}, false, "for a child"},
		{"elder: father", KindElderMedicalHelp, Subject{Relation: RelationFather, BirthDate: adult}, true, ""},
		{"elder: mother", KindElderMedicalHelp, Subject{Relation: RelationMother}, true, ""},
		{"elder: spouse", KindElderMedicalHelp, Subject{Relation: RelationSpouse}, false, "FATHER or MOTHER"},
		{"elder: other", KindElderMedicalHelp, Subject{Relation: RelationOther, Accompanying: true}, false, "FATHER or MOTHER"},
		{"employment: spouse", KindEmploymentPlacement, Subject{Relation: RelationSpouse}, true, ""},
		{"employment: accompanying other", KindEmploymentPlacement, Subject{Relation: RelationOther, Accompanying: true}, true, ""},
		{"employment: other not accompanying", KindEmploymentPlacement, Subject{Relation: RelationOther}, false, "accompanying"},
		{"employment: accompanying child", KindEmploymentPlacement, Subject{Relation: RelationChild, Accompanying: true}, false, "spouse"},
		{"employment: father", KindEmploymentPlacement, Subject{Relation: RelationFather}, false, "spouse"},
		{"legal aid: child", KindLegalAid, Subject{Relation: RelationChild}, true, ""},
		{"legal aid: other", KindLegalAid, Subject{Relation: RelationOther}, true, ""},
		{"unknown relation", KindLegalAid, Subject{Relation: "COUSIN"}, false, "relation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSubject(tt.kind, tt.subject, now)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			v, ok := AsValidation(err)
			if !ok || len(v.Violations) != 1 {
				t.Fatalf("error = %v, want one ValidationError violation", err)
			}
			if v.Violations[0].Field != "case.subject" {
				t.Errorf("field = %q, want case.subject", v.Violations[0].Field)
			}
			if !strings.Contains(v.Violations[0].Description, tt.wantIn) {
				t.Errorf("description %q does not contain %q", v.Violations[0].Description, tt.wantIn)
			}
		})
	}
}

func TestCheckSubjectUnknownKind(t *testing.T) {
	v, ok := AsValidation(CheckSubject("HOUSING", Subject{Relation: RelationSpouse}, time.Now()))
	if !ok || v.Violations[0].Field != "case.kind" {
		t.Errorf("unknown kind: got %v, want a case.kind violation", v)
	}
}

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
