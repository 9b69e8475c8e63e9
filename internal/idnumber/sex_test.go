package idnumber

import (
	"strings"
	"testing"
)

func TestExpectedSex(t *testing.T) {
	tests := []struct {
		relation      string
		servicemember Sex
		want          Sex
	}{
		{RelationFather, SexUnknown, SexMale},
		{RelationMother, SexMale, SexFemale},
		{RelationSpouse, SexMale, SexFemale},
		{RelationSpouse, SexFemale, SexMale},
		{RelationSpouse, SexUnknown, SexUnknown},
		{"CHILD", SexMale, SexUnknown},
		{"OTHER", SexMale, SexUnknown},
		{"father", SexMale, SexUnknown}, // the domain's spelling only
	}
	for _, tt := range tests {
		if got := ExpectedSex(tt.relation, tt.servicemember); got != tt.want {
			t.Errorf("ExpectedSex(%q, %v) = %v, want %v", tt.relation, tt.servicemember, got, tt.want)
		}
	}
}

func TestCheckSex(t *testing.T) {
	info := func(seq int) Info {
		i, err := Parse(Make("500230", date(1960, 4, 4), seq), now)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	male, female := info(131), info(132) // odd and even sequence digits
	tests := []struct {
		name          string
		relation      string
		info          Info
		servicemember Sex
		warn          bool
		encoded       Sex
	}{
		{"father who is male", RelationFather, male, SexMale, false, 0},
		{"father recorded as female", RelationFather, female, SexMale, true, SexFemale},
		{"mother recorded as male", RelationMother, male, SexFemale, true, SexMale},
		{"mother who is female", RelationMother, female, SexMale, false, 0},
		{"wife of a male servicemember", RelationSpouse, female, SexMale, false, 0},
		{"spouse of the same sex as the servicemember", RelationSpouse, male, SexMale, true, SexMale},
		{"husband of a female servicemember", RelationSpouse, male, SexFemale, false, 0},
		{"spouse, servicemember's sex unknown", RelationSpouse, male, SexUnknown, false, 0},
		{"child of either sex", "CHILD", female, SexMale, false, 0},
	}
	for _, tt := range tests {
		w, ok := CheckSex(tt.relation, tt.info, tt.servicemember)
		if ok != tt.warn {
			t.Errorf("%s: warning = %v, want %v", tt.name, ok, tt.warn)
			continue
		}
		if !ok {
			if w != (SexWarning{}) {
				t.Errorf("%s: no warning but a non-zero value %+v", tt.name, w)
			}
			continue
		}
		if w.Encoded != tt.encoded || w.Relation != tt.relation || w.Expected == tt.encoded {
			t.Errorf("%s: warning = %+v", tt.name, w)
		}
		if msg := w.String(); !strings.Contains(msg, tt.relation) || !strings.Contains(msg, tt.encoded.String()) {
			t.Errorf("%s: message %q should name the relation and the encoded sex", tt.name, msg)
		}
	}
}

func TestInfoSex(t *testing.T) {
	for seq, want := range map[int]Sex{1: SexMale, 2: SexFemale, 999: SexMale, 100: SexFemale} {
		i, err := Parse(Make("500230", date(1990, 1, 1), seq), now)
		if err != nil {
			t.Fatal(err)
		}
		if got := i.Sex(); got != want {
			t.Errorf("sequence %03d: Sex() = %v, want %v", seq, got, want)
		}
	}
}
