package domain

import "testing"

func TestCheckAssignee(t *testing.T) {
	a := Assignee{Name: "assignees/li", Towns: []string{"500230101", "500230102"}, Active: true}
	inactive := a
	inactive.Active = false
	for _, tc := range []struct {
		what string
		a    Assignee
		town string
		typ  string // "" for allowed
	}{
		{"listed town", a, "500230102", ""},
		{"another town", a, "500230103", "ASSIGNEE_NOT_IN_TOWN"},
		{"deactivated", inactive, "500230101", "ASSIGNEE_INACTIVE"},
	} {
		err := CheckAssignee(tc.a, tc.town)
		if tc.typ == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.what, err)
			}
			continue
		}
		p, ok := AsPrecondition(err)
		if !ok || p.Type != tc.typ || p.Rule != RuleAssigneeTown || p.Subject != a.Name {
			t.Errorf("%s: got %v, want %s under %s naming %s", tc.what, err, tc.typ, RuleAssigneeTown, a.Name)
		}
	}
}

func TestOpenCaseExists(t *testing.T) {
	p, ok := AsPrecondition(OpenCaseExists(KindLegalAid, "cases/x"))
	if !ok || p.Type != "OPEN_CASE_EXISTS" || p.Rule != RuleOneOpenCasePerKind || p.Subject != "cases/x" {
		t.Fatalf("named: %+v", p)
	}
	p, _ = AsPrecondition(OpenCaseExists(KindLegalAid, ""))
	if p.Subject != "" {
		t.Fatalf("a case the caller may not see is named: %+v", p)
	}
}
