package e2e

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// testErrors checks that each kind of bad request is refused with the right
// code (and HTTP status), on each transport, and changes nothing.
func testErrors(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		t.Run("id_numbers", func(t *testing.T) { badIDNumbers(t, e, c) })
		t.Run("duplicate_servicemember", func(t *testing.T) {
			dup := e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = f.household.GetServicemember().GetIdNumber() })
			must(c.CreateHousehold(dup)).fails(t, codes.AlreadyExists)
			// Nor can an update take another live household's number.
			other := must(c.CreateHousehold(e.newHousehold())).ok(t)
			other.Servicemember.IdNumber = f.household.GetServicemember().GetIdNumber()
			must(c.UpdateHousehold(other, "servicemember.id_number")).fails(t, codes.AlreadyExists)
		})
		t.Run("not_found", func(t *testing.T) {
			must(c.GetHousehold("households/"+uuid.NewString())).fails(t, codes.NotFound)
			must(c.GetCase("cases/"+uuid.NewString())).fails(t, codes.NotFound)
			must(c.Submit("cases/"+uuid.NewString(), "")).fails(t, codes.NotFound)
			must(c.History("cases/"+uuid.NewString())).fails(t, codes.NotFound)
			// A name that is not one of ours is bad input, not a miss.
			must(c.GetCase("cases/not-an-id")).fails(t, codes.InvalidArgument)
		})
		t.Run("etags", func(t *testing.T) { etags(t, c, f) })
		t.Run("member_birth_date", func(t *testing.T) {
			m := e.newMember(pb.Relation_RELATION_MOTHER, "王芳", day(1964, 5, 6))
			m.BirthDate = dateOf(day(1964, 5, 7))
			st := must(c.CreateMember(f.household.GetName(), m)).fails(t, codes.InvalidArgument)
			wantViolation(t, st, "member.birth_date")
			if n := must(c.GetHousehold(f.household.GetName())).ok(t).GetMemberCount(); n != 3 {
				t.Errorf("memberCount = %d after a refused member, want 3", n)
			}
		})
		t.Run("case_subjects", func(t *testing.T) { caseSubjects(t, e, c, f) })
		t.Run("list_requests", func(t *testing.T) { badLists(t, c, f) })
		t.Run("soft_delete", func(t *testing.T) { softDelete(t, e, c, f) })
		t.Run("lookup", func(t *testing.T) {
			got := must(c.LookupHousehold(f.household.GetServicemember().GetIdNumber())).ok(t)
			if got.GetName() != f.household.GetName() {
				t.Errorf("lookup by servicemember ID = %s, want %s", got.GetName(), f.household.GetName())
			}
			got = must(c.LookupHousehold(f.child.GetIdNumber())).ok(t)
			if got.GetName() != f.household.GetName() {
				t.Errorf("lookup by member ID = %s, want %s", got.GetName(), f.household.GetName())
			}
			must(c.LookupHousehold(e.idNumber(day(1970, 1, 1)))).fails(t, codes.NotFound)
			wantViolation(t, must(c.LookupHousehold("12345")).fails(t, codes.InvalidArgument), "id_number")
		})
	})
}

func badIDNumbers(t *testing.T, e *env, c *client) {
	valid := e.idNumber(servicememberBirth)
	wrongCheck := valid[:17] + string("10X98765432"[(strings.IndexByte("10X98765432", valid[17])+1)%11])
	tests := []struct{ name, id string }{
		{"check_digit", wrongCheck},
		{"length", valid[:17]},
		{"letters", "50023019900412abcX"},
		{"future_birth_date", idnumber.Make(region, e.clock.Now().AddDate(1, 0, 0), 1)},
		{"not_a_date", func() string { b := region + "19900230" + "123"; return b + string(idnumber.CheckDigit(b)) }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = tt.id })
			st := must(c.CreateHousehold(h)).fails(t, codes.InvalidArgument)
			wantViolation(t, st, "household.servicemember.id_number")
			if strings.Contains(st.Message(), tt.id) {
				t.Errorf("error message repeats the ID number: %q", st.Message())
			}
			m := e.newMember(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth)
			m.IdNumber = tt.id
			hh := must(c.CreateHousehold(e.newHousehold())).ok(t)
			wantViolation(t, must(c.CreateMember(hh.GetName(), m)).fails(t, codes.InvalidArgument), "member.id_number")
		})
	}
	// The protovalidate rules are reported by field too.
	st := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.TownCode = "5002301" }))).fails(t, codes.InvalidArgument)
	wantViolation(t, st, "household.town_code")
}

// etags: a stale etag is refused and changes nothing; none is a 400.
func etags(t *testing.T, c *client, f family) {
	h := must(c.GetHousehold(f.household.GetName())).ok(t)
	stale := h.GetEtag()
	h.Address = "新地址 2 号"
	h2 := must(c.UpdateHousehold(h, "address")).ok(t)
	if h2.GetAddress() != "新地址 2 号" || h2.GetEtag() == stale {
		t.Fatalf("update: address %q etag %q (was %q)", h2.GetAddress(), h2.GetEtag(), stale)
	}
	lost := proto.Clone(h).(*pb.Household)
	lost.Address, lost.Etag = "丢失的更新", stale
	must(c.UpdateHousehold(lost, "address")).fails(t, codes.Aborted)
	if got := must(c.GetHousehold(h.GetName())).ok(t); got.GetAddress() != "新地址 2 号" || got.GetEtag() != h2.GetEtag() {
		t.Errorf("stale update changed the household: address %q etag %q", got.GetAddress(), got.GetEtag())
	}
	// An etag is compared exactly: another spelling of its revision number
	// is not it.
	for _, spelling := range []string{"v0" + h2.GetEtag()[1:], "v+" + h2.GetEtag()[1:], h2.GetEtag() + " "} {
		odd := proto.Clone(h2).(*pb.Household)
		odd.Address, odd.Etag = "另一种写法", spelling
		must(c.UpdateHousehold(odd, "address")).fails(t, codes.Aborted)
	}
	noEtag := &pb.Household{Name: h.GetName(), Address: "没有 etag"}
	wantViolation(t, must(c.UpdateHousehold(noEtag, "address")).fails(t, codes.InvalidArgument), "household.etag")
	// Fields that are not updatable are refused, not ignored.
	out := &pb.Household{Name: h.GetName(), Etag: h2.GetEtag(), MemberCount: 9}
	must(c.UpdateHousehold(out, "member_count")).fails(t, codes.InvalidArgument)

	// Members and cases hold to the same rule.
	m := proto.Clone(f.spouse).(*pb.Member)
	m.Phone = "13911112222"
	m2 := must(c.UpdateMember(m, "phone")).ok(t)
	m.Phone = "13933334444"
	must(c.UpdateMember(m, "phone")).fails(t, codes.Aborted)
	if got := must(c.ListMembers(f.household.GetName())).ok(t).GetMembers()[0]; got.GetPhone() != m2.GetPhone() {
		t.Errorf("stale member update changed the phone to %q", got.GetPhone())
	}
	cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	patch := &pb.Case{Name: cs.GetName(), Etag: cs.GetEtag(), Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Counterparty: "另一家公司"}}}
	must(c.UpdateCase(patch, "legal_aid.counterparty")).ok(t)
	must(c.UpdateCase(patch, "legal_aid.counterparty")).fails(t, codes.Aborted)
	must(c.Submit(cs.GetName(), cs.GetEtag())).fails(t, codes.Aborted)
	patch.Etag = ""
	must(c.UpdateCase(patch, "legal_aid.counterparty")).fails(t, codes.InvalidArgument)
	// The type of a case cannot change by PATCH.
	cur := must(c.GetCase(cs.GetName())).ok(t)
	retype := &pb.Case{Name: cs.GetName(), Etag: cur.GetEtag(), Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{Hospital: "x"}}}
	must(c.UpdateCase(retype, "elder_medical_help")).fails(t, codes.InvalidArgument)
	if got := must(c.GetCase(cs.GetName())).ok(t); got.GetStatus() != draft || got.GetEtag() != cur.GetEtag() ||
		got.GetLegalAid().GetCounterparty() != "另一家公司" {
		t.Errorf("refused changes changed the case: %v", got)
	}
	must(c.Withdraw(cs.GetName(), "")).ok(t)
}

// caseSubjects: the subject must be of the household and fit the kind.
func caseSubjects(t *testing.T, e *env, c *client, f family) {
	spouseSchool := schoolCase(f)
	spouseSchool.Subject = f.spouse.GetName()
	childElder := elderCase(f)
	childElder.Subject = f.child.GetName()
	childJob := employmentCase(f)
	childJob.Subject = f.child.GetName()
	other := e.family(t, c)
	foreign := legalAidCase(f, other.child)
	noDetails := &pb.Case{Household: f.household.GetName(), Subject: f.spouse.GetName()}
	// A member the service is not for is refused by its rule.
	for name, tc := range map[string]struct {
		cs   *pb.Case
		rule string
	}{
		"school_for_spouse":    {spouseSchool, "SCHOOL_CHILD"},
		"elder_help_for_child": {childElder, "ELDER_PARENTS_AND_CARERS"},
		"employment_for_child": {childJob, "PLACEMENT_OFFICER_NCO_SPOUSE"},
	} {
		t.Run(name, func(t *testing.T) {
			wantRuleInfo(t, must(c.CreateCase(tc.cs)).fails(t, codes.FailedPrecondition, tc.rule), tc.rule)
		})
	}
	t.Run("other_household", func(t *testing.T) {
		wantViolation(t, must(c.CreateCase(foreign)).fails(t, codes.InvalidArgument), "case.subject")
	})
	must(c.CreateCase(noDetails)).fails(t, codes.InvalidArgument)
	unknownHousehold := legalAidCase(f, f.spouse)
	unknownHousehold.Household = "households/" + uuid.NewString()
	must(c.CreateCase(unknownHousehold)).fails(t, codes.InvalidArgument)
	// Changing the subject by PATCH is held to the same rules.
	cs := must(c.CreateCase(schoolCase(f))).ok(t)
	patch := &pb.Case{Name: cs.GetName(), Etag: cs.GetEtag(), Subject: f.father.GetName()}
	must(c.UpdateCase(patch, "subject")).fails(t, codes.FailedPrecondition, "SCHOOL_CHILD")
	must(c.Withdraw(cs.GetName(), "")).ok(t)
	// None of the refused cases exists.
	all, _ := c.allCases(&pb.ListCasesRequest{Filter: `household = "` + f.household.GetName() + `"`, PageSize: 100})
	for _, x := range all {
		if x.GetSubject() != f.spouse.GetName() && x.GetName() != cs.GetName() {
			t.Errorf("a refused case was stored: %v", x)
		}
	}
}

// badLists: filters, orders, tokens and page sizes the server does not
// understand are refused; none reaches the database as text.
func badLists(t *testing.T, c *client, f family) {
	must(c.CreateCase(legalAidCase(f, f.child))).ok(t)
	before, _ := c.allCases(&pb.ListCasesRequest{PageSize: 500})
	if len(before) == 0 {
		t.Fatal("no cases to list")
	}
	for _, filter := range []string{
		`color = RED`,
		`status = SUBMITTED; DROP TABLE cases`,
		`status = SUBMITTED OR 1 = 1`,
		`status = NOT_A_STATUS`,
		`status != SUBMITTED`,
		`status:SUBMITTED`,
		`NOT status = SUBMITTED`,
		`1 = 1`,
		`town_code = "500230101") OR (1 = 1`,
		`overdue = "true"`,
	} {
		wantViolation(t, must(c.ListCases(&pb.ListCasesRequest{Filter: filter})).fails(t, codes.InvalidArgument), "filter")
	}
	for _, order := range []string{"name", "create_time; DROP TABLE cases", "create_time sideways", "due_time desc, id"} {
		wantViolation(t, must(c.ListCases(&pb.ListCasesRequest{OrderBy: order})).fails(t, codes.InvalidArgument), "order_by")
	}
	// A quoted value is a value, never SQL; one that is no town code is
	// refused outright (issue 3: SQL in a filter gets a clear 4xx).
	wantViolation(t, must(c.ListCases(&pb.ListCasesRequest{Filter: `town_code = "x' OR '1'='1"`})).fails(t, codes.InvalidArgument), "filter")
	must(c.ListCases(&pb.ListCasesRequest{PageSize: 501})).fails(t, codes.InvalidArgument)
	must(c.ListCases(&pb.ListCasesRequest{PageSize: -1})).fails(t, codes.InvalidArgument)
	must(c.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 501})).fails(t, codes.InvalidArgument)
	must(c.ListHouseholds(&pb.ListHouseholdsRequest{Filter: "status = DRAFT"})).fails(t, codes.InvalidArgument)

	page := must(c.ListCases(&pb.ListCasesRequest{PageSize: 1})).ok(t)
	token := page.GetNextPageToken()
	if token == "" {
		t.Fatal("no next page token")
	}
	for name, bad := range map[string]string{
		"flipped":   flip(token, len(token)/2),
		"last_char": flip(token, len(token)-1),
		"truncated": token[:len(token)-4],
		"garbage":   "bm90IGEgdG9rZW4",
	} {
		t.Run("token_"+name, func(t *testing.T) {
			st := must(c.ListCases(&pb.ListCasesRequest{PageSize: 1, PageToken: bad})).fails(t, codes.InvalidArgument)
			wantViolation(t, st, "page_token")
		})
	}
	// A token belongs to its filter and order.
	must(c.ListCases(&pb.ListCasesRequest{PageSize: 1, PageToken: token, Filter: "status = DRAFT"})).fails(t, codes.InvalidArgument)
	must(c.ListCases(&pb.ListCasesRequest{PageSize: 1, PageToken: token, OrderBy: "create_time desc"})).fails(t, codes.InvalidArgument)

	after, _ := c.allCases(&pb.ListCasesRequest{PageSize: 500})
	if len(after) != len(before) {
		t.Errorf("refused lists changed the cases: %d before, %d after", len(before), len(after))
	}
}

// flip changes one character of a token to another of its alphabet.
func flip(s string, i int) string {
	r := byte('A')
	if s[i] == 'A' {
		r = 'B'
	}
	return s[:i] + string(r) + s[i+1:]
}

// softDelete: a delete hides the household, undelete brings it back, and a
// household with open cases cannot be deleted.
func softDelete(t *testing.T, e *env, c *client, f family) {
	must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	must(c.DeleteHousehold(f.household.GetName(), "")).fails(t, codes.FailedPrecondition, "open cases")
	must(c.GetHousehold(f.household.GetName())).ok(t)

	g := e.family(t, c)
	h := must(c.GetHousehold(g.household.GetName())).ok(t)
	must(c.DeleteHousehold(h.GetName(), "7")).fails(t, codes.Aborted)
	deleted := must(c.DeleteHousehold(h.GetName(), h.GetEtag())).ok(t)
	if deleted.GetDeleteTime() == nil {
		t.Errorf("deleted household has no deleteTime")
	}
	must(c.GetHousehold(h.GetName())).fails(t, codes.NotFound)
	must(c.DeleteHousehold(h.GetName(), "")).fails(t, codes.NotFound)
	must(c.LookupHousehold(g.household.GetServicemember().GetIdNumber())).fails(t, codes.NotFound)
	if listed(t, c, h.GetName(), false) {
		t.Errorf("deleted household is listed")
	}
	if !listed(t, c, h.GetName(), true) {
		t.Errorf("deleted household is not listed with showDeleted")
	}
	// Nothing a caseworker entered is lost: the members come back with it.
	back := must(c.UndeleteHousehold(h.GetName())).ok(t)
	if back.GetDeleteTime() != nil || back.GetMemberCount() != 3 || back.GetAddress() != h.GetAddress() {
		t.Errorf("undeleted household: %v", back)
	}
	must(c.GetHousehold(h.GetName())).ok(t)
	must(c.UndeleteHousehold(h.GetName())).fails(t, codes.NotFound)
	if !listed(t, c, h.GetName(), false) {
		t.Errorf("undeleted household is not listed")
	}

	// Once deleted, the servicemember may register again; then the old
	// household cannot come back beside the new one.
	must(c.DeleteHousehold(h.GetName(), "")).ok(t)
	again := e.newHousehold(func(n *pb.Household) { n.Servicemember.IdNumber = g.household.GetServicemember().GetIdNumber() })
	must(c.CreateHousehold(again)).ok(t)
	must(c.UndeleteHousehold(h.GetName())).fails(t, codes.AlreadyExists)

	// A member who is the subject of an open case stays; others can go.
	must(c.DeleteMember(f.spouse.GetName())).fails(t, codes.FailedPrecondition)
	must(c.GetMember(f.spouse.GetName())).ok(t)
	must(c.DeleteMember(f.father.GetName())).ok(t)
	must(c.GetMember(f.father.GetName())).fails(t, codes.NotFound)
	if n := must(c.GetHousehold(f.household.GetName())).ok(t).GetMemberCount(); n != 2 {
		t.Errorf("memberCount = %d after deleting a member, want 2", n)
	}
}

func listed(t *testing.T, c *client, name string, showDeleted bool) bool {
	t.Helper()
	req := &pb.ListHouseholdsRequest{PageSize: 500, ShowDeleted: showDeleted}
	for _, h := range must(c.ListHouseholds(req)).ok(t).GetHouseholds() {
		if h.GetName() == name {
			return true
		}
	}
	return false
}
