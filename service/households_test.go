package service

// Handler tests of the household rules of issue 11 on a real SQLite
// database: the status and its legacy category, the town table, ID numbers
// through GB/T 2260 with 15-digit conversion and the sex warning, the
// certificate number's masking and audited full view, and status changes
// re-evaluating open cases.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/repository"
)

// wantRefused fails unless err is a validation error whose first violation
// is on field, with rule ("" for none).
func wantRefused(t *testing.T, err error, field string, rule domain.RuleID) {
	t.Helper()
	v, ok := domain.AsValidation(err)
	if !ok {
		t.Fatalf("error %v, want a violation on %s", err, field)
	}
	if v.Violations[0].Field != field || v.Violations[0].Rule != rule {
		t.Fatalf("violation %+v, want field %s rule %q", v.Violations[0], field, rule)
	}
}

func (h *handlers) create(p *pb.Household) (*pb.Household, error) {
	return h.households.CreateHousehold(h.ctx, &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: p})
}

func TestCreateHouseholdStatus(t *testing.T) {
	h := newHandlers(t)
	t.Run("the status decides the category", func(t *testing.T) {
		p := h.householdBody("500230101")
		p.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_UNSPECIFIED
		p.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_ON_DUTY
		got, err := h.create(p)
		if err != nil {
			t.Fatal(err)
		}
		// No category but OTHER_ENTITLED derives from a death on duty.
		if got.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_OTHER_ENTITLED ||
			got.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_ON_DUTY ||
			!slices.Equal(got.GetPriorityBasis(), []string{string(domain.RulePriorityMartyrDiedOnDuty)}) {
			t.Errorf("category %v status %v basis %v", got.GetCategory(), got.GetServicemember().GetStatus(), got.GetPriorityBasis())
		}
	})
	t.Run("a category sent beside a status is derived again", func(t *testing.T) {
		p := h.householdBody("500230101")
		p.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY
		p.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_VETERAN
		got, err := h.create(p)
		if err != nil || got.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_VETERAN {
			t.Fatalf("category %v, %v; want VETERAN", got.GetCategory(), err)
		}
	})
	t.Run("a legacy category with a rank says the status", func(t *testing.T) {
		p := h.householdBody("500230101")
		p.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MERITORIOUS
		p.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_OFFICER
		got, err := h.create(p)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_OFFICER ||
			!got.GetServicemember().GetDecorated() || got.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MERITORIOUS {
			t.Errorf("status %v decorated %v category %v", got.GetServicemember().GetStatus(), got.GetServicemember().GetDecorated(), got.GetCategory())
		}
	})
	for name, mod := range map[string]func(*pb.Household){
		"other entitled": func(p *pb.Household) { p.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_OTHER_ENTITLED },
		"active duty without a rank": func(p *pb.Household) {
			p.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_UNSPECIFIED
		},
		"nothing": func(p *pb.Household) { p.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_UNSPECIFIED },
	} {
		t.Run(name+" names no status", func(t *testing.T) {
			p := h.householdBody("500230101")
			mod(p)
			_, err := h.create(p)
			wantRefused(t, err, "household.servicemember.status", "")
		})
	}
	t.Run("the register's rules", func(t *testing.T) {
		for field, tc := range map[string]struct {
			mod  func(*pb.Household)
			rule domain.RuleID
		}{
			"household.servicemember.hardship_grade": {func(p *pb.Household) { p.Servicemember.HardshipGrade = 2 }, domain.RulePriorityHardshipPost},
			"household.servicemember.honour":         {func(p *pb.Household) { p.Servicemember.Honour = "三等功" }, domain.RulePriorityDecorated},
			"household.accompaniment_approval.approving_unit": {func(p *pb.Household) {
				p.AccompanimentApproval = &pb.AccompanimentApproval{Number: "1", ApproveDate: &date.Date{Year: 2025, Month: 1, Day: 2}}
			}, domain.RulePlacementApproval},
			"household.accompaniment_approval.approve_date": {func(p *pb.Household) {
				p.AccompanimentApproval = &pb.AccompanimentApproval{Number: "1", ApprovingUnit: "u", ApproveDate: &date.Date{Year: 2025, Month: 2}}
			}, ""},
			"household.settled_at_home": {func(p *pb.Household) {
				p.SettledAtHome = true
				p.AccompanimentApproval = &pb.AccompanimentApproval{Number: "1", ApprovingUnit: "u", ApproveDate: &date.Date{Year: 2025, Month: 1, Day: 2}}
			}, domain.RulePlacementSettledAtHome},
			"household.preferential_certificate_number": {func(p *pb.Household) { p.PreferentialCertificateNumber = "优待证1" }, domain.RuleCertificate},
		} {
			p := h.householdBody("500230101")
			tc.mod(p)
			_, err := h.create(p)
			wantRefused(t, err, field, tc.rule)
		}
		p := h.householdBody("500230101")
		p.Servicemember.PostType, p.Servicemember.HardshipGrade = pb.PostType_POST_TYPE_HARDSHIP_AREA, 3
		p.Servicemember.Decorated, p.Servicemember.Honour = true, "二等功"
		p.SettledAtHome = true
		got, err := h.create(p)
		if err != nil || got.GetServicemember().GetHardshipGrade() != 3 || got.GetServicemember().GetHonour() != "二等功" || !got.GetSettledAtHome() {
			t.Fatalf("a household within the rules: %v, %v", got, err)
		}
	})
}

func TestTownsAndIDNumbers(t *testing.T) {
	h := newHandlers(t)
	t.Run("a town not in the county's table", func(t *testing.T) {
		_, err := h.create(h.householdBody("500230108"))
		wantRefused(t, err, "household.town_code", domain.RuleTownCode)
	})
	t.Run("answers name the town", func(t *testing.T) {
		got := h.household("500230002")
		if got.GetTownName() != "名山街道" {
			t.Errorf("town_name %q", got.GetTownName())
		}
		list, err := h.households.ListHouseholds(h.ctx, &pb.ListHouseholdsRequest{})
		if err != nil || list.GetHouseholds()[0].GetTownName() == "" {
			t.Errorf("listed without a town name: %v", err)
		}
	})
	t.Run("an unknown province", func(t *testing.T) {
		p := h.householdBody("500230101")
		p.Servicemember.IdNumber = idnumber.Make("990101", time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), 5)
		_, err := h.create(p)
		wantRefused(t, err, "household.servicemember.id_number", domain.RuleIDNumberRegion)
		if strings.Contains(err.Error(), "990101") {
			t.Error("the refusal quotes the number")
		}
	})
	hh := h.household("500230101")
	t.Run("15 digits are converted, for the servicemember and for a member", func(t *testing.T) {
		p := h.householdBody("500230101")
		p.Servicemember.IdNumber = "500230850612123" // 1985-06-12
		got, err := h.create(p)
		if err != nil {
			t.Fatal(err)
		}
		want := idnumber.Make("500230", time.Date(1985, 6, 12, 0, 0, 0, 0, time.UTC), 123)
		full, err := h.households.GetHousehold(h.ctx, &pb.GetHouseholdRequest{Name: got.GetName(), View: pb.View_VIEW_FULL})
		if err != nil || full.GetServicemember().GetIdNumber() != want {
			t.Fatalf("stored servicemember number %q, %v", idnumber.Mask(full.GetServicemember().GetIdNumber()), err)
		}
		// The 15 digits find it too.
		if found, err := h.households.LookupHousehold(h.ctx, &pb.LookupHouseholdRequest{IdNumber: "500230850612123"}); err != nil || found.GetName() != got.GetName() {
			t.Errorf("lookup by the 15 digits: %v", err)
		}
		m, err := h.households.CreateMember(h.ctx, &pb.CreateMemberRequest{ConfirmPossibleDuplicate: true, Parent: hh.GetName(), Member: &pb.Member{
			Relation: pb.Relation_RELATION_FATHER, DisplayName: "父亲", IdNumber: "500230600120111",
			BirthDate: &date.Date{Year: 1960, Month: 1, Day: 20}}})
		if err != nil {
			t.Fatal(err)
		}
		if !m.GetIdNumberConverted() || m.GetIdNumber() != idnumber.Mask(idnumber.Make("500230", time.Date(1960, 1, 20, 0, 0, 0, 0, time.UTC), 111)) {
			t.Errorf("member: converted %v, number %s", m.GetIdNumberConverted(), m.GetIdNumber())
		}
		// An update that sends the number back masked keeps it, and the mark.
		m.DisplayName = "张建国"
		upd, err := h.households.UpdateMember(h.ctx, &pb.UpdateMemberRequest{Member: m, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "id_number"}}})
		if err != nil || !upd.GetIdNumberConverted() {
			t.Errorf("after an update: converted %v, %v", upd.GetIdNumberConverted(), err)
		}
		// A new 18-digit number clears it.
		upd.IdNumber = idnumber.Make("500230", time.Date(1960, 1, 20, 0, 0, 0, 0, time.UTC), 113)
		upd2, err := h.households.UpdateMember(h.ctx, &pb.UpdateMemberRequest{Member: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"id_number"}}})
		if err != nil || upd2.GetIdNumberConverted() {
			t.Errorf("after a new number: converted %v, %v", upd2.GetIdNumberConverted(), err)
		}
	})
	t.Run("a member's number of an unknown province", func(t *testing.T) {
		_, err := h.households.CreateMember(h.ctx, &pb.CreateMemberRequest{ConfirmPossibleDuplicate: true, Parent: hh.GetName(), Member: &pb.Member{
			Relation: pb.Relation_RELATION_CHILD, DisplayName: "孩子", IdNumber: idnumber.Make("990101", time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), 2),
			BirthDate: &date.Date{Year: 2016, Month: 9, Day: 1}}})
		wantRefused(t, err, "member.id_number", domain.RuleIDNumberRegion)
	})
	t.Run("the sex warning, on every read", func(t *testing.T) {
		mother := idnumber.Make("500230", time.Date(1962, 5, 3, 0, 0, 0, 0, time.UTC), 11) // odd: a man's number
		m, err := h.households.CreateMember(h.ctx, &pb.CreateMemberRequest{ConfirmPossibleDuplicate: true, Parent: hh.GetName(), Member: &pb.Member{
			Relation: pb.Relation_RELATION_MOTHER, DisplayName: "母亲", IdNumber: mother, CannotLiveIndependently: true,
			BirthDate: &date.Date{Year: 1962, Month: 5, Day: 3}}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{string(domain.RuleIDNumberSex)}
		got, err := h.households.GetMember(h.ctx, &pb.GetMemberRequest{Name: m.GetName()})
		if err != nil || !slices.Equal(m.GetWarnings(), want) || !slices.Equal(got.GetWarnings(), want) || !got.GetCannotLiveIndependently() {
			t.Errorf("warnings %v / %v, cannot live independently %v (%v)", m.GetWarnings(), got.GetWarnings(), got.GetCannotLiveIndependently(), err)
		}
		list, err := h.households.ListMembers(h.ctx, &pb.ListMembersRequest{Parent: hh.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		for _, lm := range list.GetMembers() {
			if lm.GetName() == m.GetName() && !slices.Equal(lm.GetWarnings(), want) {
				t.Errorf("listed warnings %v", lm.GetWarnings())
			}
		}
	})
}

func TestCertificateMaskedAndAudited(t *testing.T) {
	h := newHandlers(t)
	p := h.householdBody("500230101")
	p.PreferentialCertificateNumber = "CQ-YDZ-2024-0001234"
	got, err := h.create(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetPreferentialCertificateNumber() != idnumber.Mask("CQ-YDZ-2024-0001234") {
		t.Errorf("masked certificate %q", got.GetPreferentialCertificateNumber())
	}
	full, err := h.households.GetHousehold(h.ctx, &pb.GetHouseholdRequest{Name: got.GetName(), View: pb.View_VIEW_FULL})
	if err != nil || full.GetPreferentialCertificateNumber() != "CQ-YDZ-2024-0001234" {
		t.Fatalf("full view: %v", err)
	}
	store := h.households.store.(*repository.Store)
	f, err := filter.Parse(`action = "full-view"`, repository.AuditFilter)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := store.ListAuditLogs(h.ctx, f, repository.Page{})
	if err != nil || len(rows) != 1 || !strings.Contains(rows[0].Fields, "preferential_certificate_number") {
		t.Fatalf("full-view audit %+v, %v", rows, err)
	}
	// An update that sends the masked number back keeps it.
	got.Address = "新地址"
	if _, err := h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{Household: got,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"address", "preferential_certificate_number"}}}); err != nil {
		t.Fatal(err)
	}
	again, err := h.households.GetHousehold(h.ctx, &pb.GetHouseholdRequest{Name: got.GetName(), View: pb.View_VIEW_FULL})
	if err != nil || again.GetPreferentialCertificateNumber() != "CQ-YDZ-2024-0001234" {
		t.Errorf("after sending it back masked: %v", err)
	}
}

// TestStatusChangeReprioritisesOpenCases: a death makes a regular NCO's
// household a martyr's family; its open case goes to the first tier with a
// history entry saying why, its closed one keeps its record; the change is
// listed, and an update that changes the post records a correction.
func TestStatusChangeReprioritisesOpenCases(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	newCase := func() *pb.Case {
		c, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
			Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	withdrawn := newCase()
	// Withdrawn straight through storage: the case's own methods are not
	// what this test is about. Withdrawn first, as a member has one open
	// case of a kind (OPEN_CASE_PER_KIND).
	id, _ := caseID("name", withdrawn.GetName())
	if _, err := h.households.store.MutateCase(h.ctx, id, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
		c.Status = domain.StatusWithdrawn
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	withdrawn, _ = h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: withdrawn.GetName()})
	open := newCase()

	change := func(req *pb.ChangeServicememberStatusRequest) (*pb.Household, error) {
		req.Name = hh.GetName()
		return h.households.ChangeServicememberStatus(h.ctx, req)
	}
	_, err := change(&pb.ChangeServicememberStatusRequest{Kind: pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH,
		Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR, EffectiveDate: &date.Date{Year: 2026, Month: 3, Day: 3}})
	wantRefused(t, err, "effective_date", domain.RuleStatusChangeReprio)
	_, err = change(&pb.ChangeServicememberStatusRequest{Kind: pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH,
		Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR, EffectiveDate: &date.Date{Year: 2026, Month: 3, Day: 1}, Etag: "v9"})
	if !errors.Is(err, repository.ErrEtagMismatch) {
		t.Fatalf("a stale etag: %v", err)
	}
	got, err := change(&pb.ChangeServicememberStatusRequest{Kind: pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH, Etag: hh.GetEtag(),
		Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR, EffectiveDate: &date.Date{Year: 2026, Month: 3, Day: 1},
		Note: "烈士批准文件", DisabilityGrade: domain.KeepGrade})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR ||
		got.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY || got.GetEtag() == hh.GetEtag() {
		t.Errorf("household after the change: %v %v %s", got.GetServicemember().GetStatus(), got.GetCategory(), got.GetEtag())
	}
	c, err := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: open.GetName()})
	if err != nil || c.GetPriority() != pb.CasePriority_CASE_PRIORITY_FIRST ||
		!slices.Equal(c.GetPriorityReasons(), []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}) {
		t.Fatalf("open case after the change: %v %v (%v)", c.GetPriority(), c.GetPriorityReasons(), err)
	}
	if !slices.Contains(c.GetPolicyBasis(), string(domain.RuleStatusChangeReprio)) || !slices.Contains(c.GetPolicyBasis(), string(domain.RulePriorityMartyrDiedOnDuty)) {
		t.Errorf("policy basis after the change: %v", c.GetPolicyBasis())
	}
	hist, err := h.cases.ListCaseHistory(h.ctx, &pb.ListCaseHistoryRequest{Parent: open.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	last := hist.GetEntries()[len(hist.GetEntries())-1]
	if last.GetMethod() != "ChangeServicememberStatus" || !strings.Contains(last.GetReason(), string(domain.RuleStatusChangeReprio)) ||
		!strings.Contains(last.GetReason(), "NORMAL → FIRST") || last.GetActor() != "users/sup" {
		t.Errorf("history entry %v", last)
	}
	if w, _ := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: withdrawn.GetName()}); w.GetEtag() != withdrawn.GetEtag() {
		t.Error("a withdrawn case was re-evaluated")
	}

	// An update of the post is a change of status too: a correction,
	// effective today, that re-evaluates again (a martyr's post no longer
	// counts, so the case's priority stands).
	got.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE
	if _, err := h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{Household: got,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"servicemember.post_type"}}}); err != nil {
		t.Fatal(err)
	}
	if c2, _ := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: open.GetName()}); c2.GetEtag() != c.GetEtag() {
		t.Error("a change that leaves the priority as it is rewrote the case")
	}
	list, err := h.households.ListStatusChanges(h.ctx, &pb.ListStatusChangesRequest{Parent: hh.GetName(), PageSize: 1})
	if err != nil || len(list.GetStatusChanges()) != 1 || list.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", list, err)
	}
	first := list.GetStatusChanges()[0]
	if first.GetKind() != pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH || first.GetFromStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO ||
		first.GetToStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR || first.GetNote() != "烈士批准文件" ||
		first.GetRecorder() != "users/sup" || first.GetEffectiveDate().GetDay() != 1 {
		t.Errorf("first change %v", first)
	}
	list, err = h.households.ListStatusChanges(h.ctx, &pb.ListStatusChangesRequest{Parent: hh.GetName(), PageToken: list.GetNextPageToken()})
	if err != nil || len(list.GetStatusChanges()) != 1 {
		t.Fatalf("second page: %v, %v", list, err)
	}
	second := list.GetStatusChanges()[0]
	if second.GetKind() != pb.StatusChangeKind_STATUS_CHANGE_KIND_CORRECTION || second.GetToPostType() != pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE ||
		second.GetEffectiveDate().GetDay() != 2 || !strings.Contains(second.GetNote(), "post_type") {
		t.Errorf("second change %v", second)
	}
}

// TestLegacyCategoryUpdate: a client that knows no statuses changes the
// category; the status follows, and the open case is re-evaluated.
func TestLegacyCategoryUpdate(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	cs, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}})
	if err != nil {
		t.Fatal(err)
	}
	hh.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_VETERAN
	hh.Hardship = true
	got, err := h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{Household: hh,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"category", "hardship"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_VETERAN {
		t.Errorf("status %v after the category became VETERAN", got.GetServicemember().GetStatus())
	}
	c, _ := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: cs.GetName()})
	if c.GetPriority() != pb.CasePriority_CASE_PRIORITY_SECOND {
		t.Errorf("case priority %v after hardship", c.GetPriority())
	}
	got.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_OTHER_ENTITLED
	_, err = h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{Household: got,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"category"}}})
	wantRefused(t, err, "household.category", "")
}

// TestCarerAndDependentSibling: the relations 地位法 Art 68 adds are
// accepted and kept.
func TestCarerAndDependentSibling(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	for _, rel := range []pb.Relation{pb.Relation_RELATION_CARER, pb.Relation_RELATION_DEPENDENT_SIBLING} {
		m, _ := h.member(hh.GetName(), rel, time.Date(1970, 2, 3, 0, 0, 0, 0, time.UTC))
		got, err := h.households.GetMember(h.ctx, &pb.GetMemberRequest{Name: m.GetName()})
		if err != nil || got.GetRelation() != rel {
			t.Errorf("%v stored as %v (%v)", rel, got.GetRelation(), err)
		}
	}
}
