package service

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

const uuid1 = "01a2259e-edc6-7ca1-9eb3-f3132da6bfe2"

func TestNameOfRefusesWithTheField(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"case", "cases/" + uuid1, uuid1, false},
		{"wrong collection", "households/" + uuid1, "", true},
		{"empty id", "cases/", "", true},
		{"not our id", "cases/42", "", true},
		{"extra segment", "cases/" + uuid1 + "/notes", "", true},
		{"traversal", "cases/../" + uuid1, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := caseID("name", tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if err != nil {
				v, ok := domain.AsValidation(err)
				if !ok || v.Violations[0].Field != "name" {
					t.Fatalf("want a violation on field name, got %v", err)
				}
			}
		})
	}
	h, m, err := memberIDs("subject", "households/"+uuid1+"/members/"+uuid1)
	if err != nil || h != uuid1 || m != uuid1 {
		t.Fatalf("memberIDs = %q, %q, %v", h, m, err)
	}
}

func TestMaskPaths(t *testing.T) {
	patch := &pb.Household{Address: "x", Hardship: true, Etag: "v1", MemberCount: 3}
	got, err := maskPaths(nil, patch, householdUpdatable)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"address", "hardship"}; !slices.Equal(got, want) {
		t.Fatalf("implied mask = %v, want %v (etag and output-only fields excluded)", got, want)
	}
	if got, err := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{"etag", "town_code"}}, patch, householdUpdatable); err != nil || !slices.Equal(got, []string{"town_code"}) {
		t.Fatalf("explicit mask = %v, %v", got, err)
	}
	for _, bad := range []string{"name", "member_count", "create_time", "nonsense"} {
		if _, err := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{bad}}, patch, householdUpdatable); err == nil {
			t.Errorf("mask path %q accepted", bad)
		}
	}
	if got, _ := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{"*"}}, patch, householdUpdatable); len(got) != len(householdUpdatable) {
		t.Fatalf("* = %v", got)
	}
	if _, err := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{"etag"}}, patch, householdUpdatable); err == nil {
		t.Fatal("a mask naming only the etag changes nothing and must be refused")
	}
}

func TestApplyMask(t *testing.T) {
	dst := &pb.Household{
		Servicemember: &pb.Servicemember{Name: "old", IdNumber: "keep"},
		Address:       "old address", Phone: "123456",
	}
	src := &pb.Household{Servicemember: &pb.Servicemember{Name: "new"}}
	if err := applyMask(dst, src, []string{"servicemember.name", "phone"}); err != nil {
		t.Fatal(err)
	}
	want := &pb.Household{Servicemember: &pb.Servicemember{Name: "new", IdNumber: "keep"}, Address: "old address"}
	if !proto.Equal(dst, want) {
		t.Fatalf("got %v, want %v (named fields copied or cleared, others kept)", dst, want)
	}
	if err := applyMask(dst, src, []string{"address.street"}); err == nil {
		t.Fatal("path through a scalar accepted")
	}

	// A oneof member replaces its siblings.
	c := &pb.Case{Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Counterparty: "x"}}}
	p := &pb.Case{Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{AssignedSchool: "y"}}}
	if err := applyMask(c, p, []string{"school_enrollment.assigned_school"}); err != nil {
		t.Fatal(err)
	}
	if kind, _ := convert.CaseDetails(c); kind != domain.KindSchoolEnrollment {
		t.Fatalf("kind after mask = %s", kind)
	}
}

func TestParseOrderBy(t *testing.T) {
	for in, want := range map[string]repository.Order{
		"":               {Column: "create_time"},
		"due_time":       {Column: "due_time"},
		"due_time desc":  {Column: "due_time", Desc: true},
		" due_time  asc": {Column: "due_time"},
	} {
		got, err := parseOrderBy(in, "create_time", "due_time")
		if err != nil || got != want {
			t.Errorf("parseOrderBy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"name", "due_time down", "due_time desc, id", "due_time; DROP TABLE cases"} {
		if _, err := parseOrderBy(bad, "create_time", "due_time"); err == nil {
			t.Errorf("parseOrderBy(%q) accepted", bad)
		}
	}
}

func TestPagerRoundTripAndQueryBinding(t *testing.T) {
	p := newBase(nil, Options{PageTokenKey: []byte("0123456789abcdef0123456789abcdef")}).pages
	if c, err := p.decode("", "q"); c != nil || err != nil {
		t.Fatalf("empty token = %v, %v; want first page", c, err)
	}
	tok := p.encode(&repository.Cursor{ID: "abc"}, listQuery("cases", "status = DRAFT", ""))
	if c, err := p.decode(tok, listQuery("cases", "status = DRAFT", "")); err != nil || c.ID != "abc" || c.Time != nil {
		t.Fatalf("round trip = %+v, %v", c, err)
	}
	if _, err := p.decode(tok, listQuery("cases", "status = SUBMITTED", "")); err == nil {
		t.Fatal("token accepted for another filter")
	}
	if listQuery("a", "b") == listQuery("a\x00b") {
		t.Fatal("query fingerprints of different requests collide")
	}
}

func TestMaskPathsTakeJSONNames(t *testing.T) {
	patch := &pb.Case{}
	got, err := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{"schoolEnrollment.assignedSchool", "legal_aid.stage"}}, patch, caseUpdatable)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"school_enrollment.assigned_school", "legal_aid.stage"}; !slices.Equal(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	if _, err := maskPaths(&fieldmaskpb.FieldMask{Paths: []string{"schoolEnrollment.noSuchField"}}, patch, caseUpdatable); err != nil {
		t.Errorf("a top-level field that may be updated with an unknown sub-field passes maskPaths (applyMask refuses it): %v", err)
	}
}
