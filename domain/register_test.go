package domain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// now is 2 March 2026, 01:00 UTC: already 09:00 on the 2nd in China.
var registerNow = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// violations returns the fields and rules err names; it fails unless err
// is a ValidationError (or nil).
func violations(t *testing.T, err error) (fields []string, rules []RuleID) {
	t.Helper()
	if err == nil {
		return nil, nil
	}
	v, ok := AsValidation(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a ValidationError", err, err)
	}
	for _, x := range v.Violations {
		fields, rules = append(fields, x.Field), append(rules, x.Rule)
		if x.Rule != "" && !strings.HasSuffix(x.Description, "(rule "+string(x.Rule)+")") {
			t.Errorf("%s: description %q does not end with its rule %s", x.Field, x.Description, x.Rule)
		}
		if _, known := RuleByID(x.Rule); x.Rule != "" && !known {
			t.Errorf("%s names rule %s, which the table lacks", x.Field, x.Rule)
		}
	}
	return fields, rules
}

func TestStatusOf(t *testing.T) {
	const field = "household.servicemember.status"
	for _, tt := range []struct {
		name      string
		status    ServiceStatus
		c         Category
		r         Rank
		want      ServiceStatus
		decorated bool
		refused   bool
	}{
		{"the status sent wins over the category", ServiceVeteran, CategoryMartyrFamily, RankNCO, ServiceVeteran, false, false},
		{"legacy active duty with a rank", "", CategoryActiveDutyFamily, RankOfficer, ServiceActiveOfficer, false, false},
		{"legacy meritorious is decorated", "", CategoryMeritorious, RankConscript, ServiceActiveConscript, true, false},
		{"legacy martyr family", "", CategoryMartyrFamily, "", ServiceMartyr, false, false},
		{"active duty without a rank says no status", "", CategoryActiveDutyFamily, "", "", false, true},
		{"civilian personnel say no status", "", CategoryActiveDutyFamily, RankCivilian, "", false, true},
		{"other entitled says no status", "", CategoryOtherEntitled, RankNCO, "", false, true},
		{"nothing at all", "", "", "", "", false, true},
		{"an unknown status", "GENERAL", "", "", "", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, dec, err := StatusOf(field, tt.status, tt.c, tt.r)
			fields, _ := violations(t, err)
			if (err != nil) != tt.refused || st != tt.want || dec != tt.decorated {
				t.Fatalf("StatusOf = %q %v %v; want %q %v refused=%v", st, dec, err, tt.want, tt.decorated, tt.refused)
			}
			if tt.refused && !slices.Equal(fields, []string{field}) {
				t.Errorf("refusal names %v, want %s", fields, field)
			}
		})
	}
}

func TestCheckHousehold(t *testing.T) {
	nco := func(mods ...func(*HouseholdRecord)) HouseholdRecord {
		r := HouseholdRecord{Household: Household{Status: ServiceActiveNCO, Post: PostRegular}}
		for _, m := range mods {
			m(&r)
		}
		return r
	}
	approval := Approval{Number: "政批〔2025〕12号", Date: day(2025, 9, 1), Unit: "某部政治工作处"}
	for _, tt := range []struct {
		name   string
		r      HouseholdRecord
		fields []string
		rules  []RuleID
	}{
		{"a plain active-duty household", nco(), nil, nil},
		{"disabled, grade 1", nco(func(r *HouseholdRecord) { r.DisabilityGrade = 1 }), nil, nil},
		{"grade 10 is the last", nco(func(r *HouseholdRecord) { r.DisabilityGrade = 10 }), nil, nil},
		{"grade 11 does not exist", nco(func(r *HouseholdRecord) { r.DisabilityGrade = 11 }),
			[]string{"household.servicemember.disability_grade"}, []RuleID{RulePriorityDisabled}},
		{"a negative grade", nco(func(r *HouseholdRecord) { r.DisabilityGrade = -1 }),
			[]string{"household.servicemember.disability_grade"}, []RuleID{RulePriorityDisabled}},
		{"hardship grade with a hardship area", nco(func(r *HouseholdRecord) { r.Post, r.HardshipGrade = PostHardshipArea, 3 }), nil, nil},
		{"hardship grade with another post", nco(func(r *HouseholdRecord) { r.Post, r.HardshipGrade = PostBorderCoastalDefence, 3 }),
			[]string{"household.servicemember.hardship_grade"}, []RuleID{RulePriorityHardshipPost}},
		{"hardship grade 7 does not exist", nco(func(r *HouseholdRecord) { r.Post, r.HardshipGrade = PostHardshipArea, 7 }),
			[]string{"household.servicemember.hardship_grade"}, []RuleID{RulePriorityHardshipPost}},
		{"an honour for the decorated", nco(func(r *HouseholdRecord) { r.Decorated, r.Honour = true, "二等功" }), nil, nil},
		{"an honour without decorated", nco(func(r *HouseholdRecord) { r.Honour = "二等功" }),
			[]string{"household.servicemember.honour"}, []RuleID{RulePriorityDecorated}},
		{"decorated without naming the honour", nco(func(r *HouseholdRecord) { r.Decorated = true }), nil, nil},
		{"a whole approval", nco(func(r *HouseholdRecord) { r.Approval = approval }), nil, nil},
		{"an approval without its number, unit and date", nco(func(r *HouseholdRecord) { r.Approval = Approval{Number: "x"} }),
			[]string{"household.accompaniment_approval.approving_unit", "household.accompaniment_approval.approve_date"},
			[]RuleID{RulePlacementApproval, RulePlacementApproval}},
		{"an approval dated tomorrow in China", nco(func(r *HouseholdRecord) { r.Approval = approval; r.Approval.Date = day(2026, 3, 3) }),
			[]string{"household.accompaniment_approval.approve_date"}, []RuleID{RulePlacementApproval}},
		{"an approval dated today in China (still the 1st in UTC)", nco(func(r *HouseholdRecord) { r.Approval = approval; r.Approval.Date = day(2026, 3, 2) }), nil, nil},
		{"a conscript's family cannot accompany", nco(func(r *HouseholdRecord) { r.Status, r.Approval = ServiceActiveConscript, approval }),
			[]string{"household.accompaniment_approval"}, []RuleID{RulePlacementNoConscript}},
		{"settled at home (条例 Art 48)", nco(func(r *HouseholdRecord) { r.SettledAtHome = true }), nil, nil},
		{"settled at home and approved to accompany", nco(func(r *HouseholdRecord) { r.SettledAtHome, r.Approval = true, approval }),
			[]string{"household.settled_at_home"}, []RuleID{RulePlacementSettledAtHome}},
		{"a conscript's family settled at home", nco(func(r *HouseholdRecord) { r.Status, r.SettledAtHome = ServiceActiveConscript, true }),
			[]string{"household.settled_at_home"}, []RuleID{RulePlacementNoConscript}},
		{"every violation at once", nco(func(r *HouseholdRecord) { r.DisabilityGrade, r.Honour = 12, "x" }),
			[]string{"household.servicemember.disability_grade", "household.servicemember.honour"},
			[]RuleID{RulePriorityDisabled, RulePriorityDecorated}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fields, rules := violations(t, CheckHousehold("household", tt.r, registerNow))
			if !slices.Equal(fields, tt.fields) || !slices.Equal(rules, tt.rules) {
				t.Errorf("violations %v %v, want %v %v", fields, rules, tt.fields, tt.rules)
			}
		})
	}
}

func TestCheckCertificateNumber(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"CQ-500230-2024-000123", true}, {strings.Repeat("9", 32), true},
		{strings.Repeat("9", 33), false}, {"CQ 500230", false}, {"优待证123", false}, {"12;DROP", false},
	} {
		err := CheckCertificateNumber("household.preferential_certificate_number", tt.in)
		fields, rules := violations(t, err)
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && (fields[0] != "household.preferential_certificate_number" || rules[0] != RuleCertificate) {
			t.Errorf("%q: refusal %v %v", tt.in, fields, rules)
		}
		if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("%q: the refusal repeats the number", tt.in)
		}
	}
}

func TestCheckTownCode(t *testing.T) {
	for _, tt := range []struct {
		code string
		ok   bool
	}{
		{"500230101", true},  // 虎威镇
		{"500230002", true},  // 名山街道
		{"500230108", false}, // a gap in the numbering
		{"500231001", false}, // another county
		{"50023010", false},
		{"", false},
	} {
		err := CheckTownCode("household.town_code", tt.code, nil)
		fields, rules := violations(t, err)
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.code, err, tt.ok)
			continue
		}
		if err != nil && (!slices.Equal(fields, []string{"household.town_code"}) || rules[0] != RuleTownCode) {
			t.Errorf("%q: refusal %v %v", tt.code, fields, rules)
		}
		if err != nil && tt.code != "" && strings.Contains(err.Error(), tt.code) {
			t.Errorf("%q: the refusal repeats the code", tt.code)
		}
	}
	// A table given replaces the shipped one.
	merged, err := towns.Parse(strings.NewReader("500230003\t新设街道\n"))
	if err != nil {
		t.Fatal(err)
	}
	if CheckTownCode("f", "500230003", merged) != nil || CheckTownCode("f", "500230101", merged) == nil {
		t.Error("CheckTownCode does not check against the table it is given")
	}
}

func TestCheckIDNumber(t *testing.T) {
	const field = "member.id_number"
	born := day(1985, 6, 12)
	eighteen := idnumber.Make("512324", born, 123) // 丰都 before 1997 (Sichuan)
	for _, tt := range []struct {
		name      string
		in        string
		want      string
		converted bool
		rule      RuleID // "" when accepted
	}{
		{"18 digits, a Sichuan-era Fengdu code", eighteen, eighteen, false, ""},
		{"lower-case x and spaces are normalised", " " + strings.ToLower(idnumber.Make("500230", day(1990, 4, 12), 7)) + " ",
			idnumber.Make("500230", day(1990, 4, 12), 7), false, ""},
		{"15 digits are converted", "512324850612123", eighteen, true, ""},
		{"a wrong check character", eighteen[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", eighteen[17])+1)%11]), "", false, RuleIDNumberCheckDigit},
		{"no province 99", idnumber.Make("990101", born, 123), "", false, RuleIDNumberRegion},
		{"15 digits in no province", "990101850612123", "", false, RuleIDNumberRegion},
		{"15 digits of someone born before 1900", "512324850612997", "", false, RuleIDNumberLegacy},
		{"born tomorrow in China", idnumber.Make("500230", day(2026, 3, 3), 1), "", false, RuleIDNumberCheckDigit},
		{"16 digits", "5123248506121234", "", false, RuleIDNumberCheckDigit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckIDNumber(field, tt.in, registerNow)
			fields, rules := violations(t, err)
			if tt.rule == "" {
				if err != nil || got.Number != tt.want || got.Converted != tt.converted {
					t.Fatalf("= %q converted=%v, %v; want %q converted=%v", got.Number, got.Converted, err, tt.want, tt.converted)
				}
				if !got.Info.BirthDate.Equal(born) && tt.want == eighteen {
					t.Errorf("birth date %v, want %v", got.Info.BirthDate, born)
				}
				return
			}
			if !slices.Equal(fields, []string{field}) || rules[0] != tt.rule {
				t.Fatalf("refusal %v %v (%v), want %s on %s", fields, rules, err, tt.rule, field)
			}
			for i := 0; i+4 <= len(tt.in); i++ {
				if strings.Contains(err.Error(), tt.in[i:i+4]) && strings.Trim(tt.in[i:i+4], "0123456789") == "" {
					t.Fatalf("the refusal %q quotes digits of the number", err)
				}
			}
		})
	}
	// A lookup converts as a create does, and does not refuse a region.
	if n, err := FindableIDNumber("id_number", "512324850612123", registerNow); err != nil || n != eighteen {
		t.Errorf("FindableIDNumber of 15 digits = %q, %v", n, err)
	}
	if _, err := FindableIDNumber("id_number", idnumber.Make("990101", born, 1), registerNow); err != nil {
		t.Errorf("FindableIDNumber refused a region: %v", err)
	}
}

func TestMemberWarnings(t *testing.T) {
	man := idnumber.Make("500230", day(1960, 1, 20), 11)  // odd: male
	woman := idnumber.Make("500230", day(1962, 5, 3), 12) // even: female
	husband := idnumber.Make("500230", day(1990, 4, 12), 13)
	for _, tt := range []struct {
		name       string
		r          Relation
		member, sm string
		warn       bool
	}{
		{"a father who is a man", RelationFather, man, "", false},
		{"a father whose number is a woman's", RelationFather, woman, "", true},
		{"a mother whose number is a man's", RelationMother, man, "", true},
		{"a mother who is a woman", RelationMother, woman, "", false},
		{"a wife of a man", RelationSpouse, woman, husband, false},
		{"a spouse of the servicemember's own sex", RelationSpouse, man, husband, true},
		{"a spouse when the servicemember's number is unknown", RelationSpouse, man, "", false},
		{"a child of either sex", RelationChild, woman, husband, false},
		{"a carer of either sex", RelationCarer, woman, husband, false},
		{"no number", RelationFather, "", "", false},
	} {
		got := MemberWarnings(tt.r, tt.member, tt.sm)
		if want := tt.warn; (len(got) > 0) != want || (want && !slices.Equal(got, []RuleID{RuleIDNumberSex})) {
			t.Errorf("%s: warnings %v, want warning=%v", tt.name, got, want)
		}
	}
}
