package service

// Handler tests on a real SQLite database: the parts of the handlers that
// the end-to-end suite reaches only over sockets (the state machine's one
// path, updates that keep masked values, batches that merge the items the
// handler refused with those storage refused), called directly.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// handlers is a household and a case service on a fresh SQLite database,
// and the context of a county-wide supervisor calling them.
type handlers struct {
	t          testing.TB
	households *Households
	cases      *Cases
	ctx        context.Context
	seq        int
	store      *repository.Store
}

var handlerNow = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

func newHandlers(t *testing.T) *handlers {
	t.Helper()
	return newHandlersAt(t, func() time.Time { return handlerNow })
}

// newHandlersAt is newHandlers on the clock now.
func newHandlersAt(t *testing.T, now func() time.Time) *handlers {
	t.Helper()
	return newHandlersOn(t, repository.SQLite, now)
}

// newHandlersOn is newHandlersAt on a fresh database of the dialect.
func newHandlersOn(t testing.TB, dialect repository.Dialect, now func() time.Time) *handlers {
	t.Helper()
	db := testdb.Open(t, dialect)
	store := db.Store(repository.WithClock(now))
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{PageTokenKey: []byte("0123456789abcdef0123456789abcdef"), Now: now,
		Actor: func(ctx context.Context) string { return principal.FromContext(ctx).ID }}
	p := &principal.Principal{ID: "users/sup", Kind: principal.User, Roles: []principal.Role{principal.Supervisor}}
	ctx := principal.WithScope(principal.NewContext(context.Background(), p), principal.Scope{All: true})
	ctx = audit.NewContext(ctx, &audit.Record{Principal: p.ID, Roles: "supervisor", Credential: "test", Method: "test"})
	return &handlers{t: t, households: NewHouseholds(store, nil, v, opts), cases: NewCases(store, nil, v, opts), ctx: ctx, store: store}
}

func (h *handlers) idNumber(birth time.Time) string {
	h.seq++
	return idnumber.Make("500230", birth, h.seq)
}

func (h *handlers) household(town string) *pb.Household {
	h.t.Helper()
	got, err := h.households.CreateHousehold(h.ctx, &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: h.householdBody(town)})
	if err != nil {
		h.t.Fatalf("CreateHousehold: %v", err)
	}
	return got
}

func (h *handlers) householdBody(town string) *pb.Household {
	return &pb.Household{
		Servicemember: &pb.Servicemember{Name: "张伟", IdNumber: h.idNumber(time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC)),
			PostType: pb.PostType_POST_TYPE_REGULAR, RankCategory: pb.RankCategory_RANK_CATEGORY_NCO},
		Category: pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY, TownCode: town,
	}
}

func (h *handlers) member(parent string, rel pb.Relation, birth time.Time) (*pb.Member, string) {
	h.t.Helper()
	n := h.idNumber(birth)
	got, err := h.households.CreateMember(h.ctx, &pb.CreateMemberRequest{ConfirmPossibleDuplicate: true, Parent: parent, Member: &pb.Member{
		Relation: rel, DisplayName: "家属", IdNumber: n, Phone: "13912345678", Accompanying: rel == pb.Relation_RELATION_SPOUSE,
		BirthDate: &date.Date{Year: int32(birth.Year()), Month: int32(birth.Month()), Day: int32(birth.Day())},
	}})
	if err != nil {
		h.t.Fatalf("CreateMember: %v", err)
	}
	return got, n
}

// TestMoveFollowsTheStateMachine drives a case through every status by its
// custom methods, and checks that an action the machine does not allow
// from the stored status is refused with the status named and nothing
// written.
func TestMoveFollowsTheStateMachine(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	spouse, _ := h.member(hh.GetName(), pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	c, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: hh.GetName(), Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}})
	if err != nil {
		t.Fatal(err)
	}
	name := c.GetName()
	steps := []struct {
		do   func() (*pb.Case, error)
		want pb.CaseStatus
	}{
		{func() (*pb.Case, error) { return h.cases.SubmitCase(h.ctx, &pb.SubmitCaseRequest{Name: name}) }, pb.CaseStatus_CASE_STATUS_SUBMITTED},
		{func() (*pb.Case, error) { return h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: name}) }, pb.CaseStatus_CASE_STATUS_ACCEPTED},
		{func() (*pb.Case, error) {
			return h.cases.AssignCase(h.ctx, &pb.AssignCaseRequest{Name: name, Assignee: "users/cw"})
		}, pb.CaseStatus_CASE_STATUS_ACCEPTED},
		{func() (*pb.Case, error) { return h.cases.StartCase(h.ctx, &pb.StartCaseRequest{Name: name}) }, pb.CaseStatus_CASE_STATUS_IN_PROGRESS},
	}
	for i, s := range steps {
		got, err := s.do()
		if err != nil || got.GetStatus() != s.want {
			t.Fatalf("step %d: %v, %v; want %v", i, got.GetStatus(), err, s.want)
		}
	}
	before, err := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	// Accepting an IN_PROGRESS case is not a transition.
	_, err = h.cases.AcceptCase(h.ctx, &pb.AcceptCaseRequest{Name: name})
	p, ok := domain.AsPrecondition(err)
	if !ok || p.Subject != name {
		t.Fatalf("accept in progress: %v, want a precondition error on %s", err, name)
	}
	// A stale etag is refused, the current one taken.
	_, err = h.cases.ResolveCase(h.ctx, &pb.ResolveCaseRequest{Name: name, Etag: "v1",
		Outcome: &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED, Summary: "未获援助"}})
	if !errors.Is(err, repository.ErrEtagMismatch) {
		t.Fatalf("resolve with a stale etag: %v", err)
	}
	after, err := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: name})
	if err != nil || after.GetEtag() != before.GetEtag() {
		t.Fatalf("refused moves changed the case: etag %s → %s (%v)", before.GetEtag(), after.GetEtag(), err)
	}
	resolved, err := h.cases.ResolveCase(h.ctx, &pb.ResolveCaseRequest{Name: name, Etag: after.GetEtag(),
		Outcome: &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED, Summary: "未获援助"}})
	if err != nil || resolved.GetStatus() != pb.CaseStatus_CASE_STATUS_RESOLVED || resolved.GetResolveTime() == nil {
		t.Fatalf("resolve: %v, %v", resolved, err)
	}
	hist, err := h.cases.ListCaseHistory(h.ctx, &pb.ListCaseHistoryRequest{Parent: name})
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, e := range hist.GetEntries() {
		methods = append(methods, e.GetMethod())
	}
	if want := []string{"CreateCase", "SubmitCase", "AcceptCase", "AssignCase", "StartCase", "ResolveCase"}; !slices.Equal(methods, want) {
		t.Errorf("history %v, want %v", methods, want)
	}
}

// TestUpdateKeepsMaskedValues sends back a member as the masked view shows
// it (starred numbers, the birth year alone) with a change to its name, and
// checks that only the name changed.
func TestUpdateKeepsMaskedValues(t *testing.T) {
	h := newHandlers(t)
	hh := h.household("500230101")
	m, plain := h.member(hh.GetName(), pb.Relation_RELATION_CHILD, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC))
	masked, err := h.households.GetMember(h.ctx, &pb.GetMemberRequest{Name: m.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	masked.DisplayName = "张小明"
	updated, err := h.households.UpdateMember(h.ctx, &pb.UpdateMemberRequest{Member: masked,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "id_number", "phone", "birth_date"}}})
	if err != nil {
		t.Fatalf("update with masked values sent back: %v", err)
	}
	full, err := h.households.GetMember(h.ctx, &pb.GetMemberRequest{Name: m.GetName(), View: pb.View_VIEW_FULL})
	if err != nil {
		t.Fatal(err)
	}
	if full.GetIdNumber() != plain || full.GetPhone() != "13912345678" || full.GetBirthDate().GetDay() != 1 || full.GetDisplayName() != "张小明" {
		t.Errorf("after the update: %q %q %v %q", idnumber.Mask(full.GetIdNumber()), full.GetPhone(), full.GetBirthDate(), full.GetDisplayName())
	}
	// A full date is a new value, checked like any other.
	masked.Etag = updated.GetEtag()
	masked.BirthDate = &date.Date{Year: 2016, Month: 9, Day: 2}
	_, err = h.households.UpdateMember(h.ctx, &pb.UpdateMemberRequest{Member: masked,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"birth_date"}}})
	if v, ok := domain.AsValidation(err); !ok || v.Violations[0].Field != "member.birth_date" {
		t.Errorf("a birth date that disagrees with the ID number: %v, want a violation on member.birth_date", err)
	}
}

// TestBatchMergesRefusals refuses a batch whose items fail in the handler
// (a bad ID number) and in storage (a servicemember already registered),
// and checks the error names both, in order, and nothing was created.
func TestBatchMergesRefusals(t *testing.T) {
	h := newHandlers(t)
	existing := h.household("500230101")
	stored, err := h.households.LookupHousehold(h.ctx, &pb.LookupHouseholdRequest{IdNumber: idnumber.Make("500230",
		time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), 1)})
	if err != nil || stored.GetName() != existing.GetName() {
		t.Fatalf("lookup of the existing servicemember: %v", err)
	}
	bad := h.householdBody("500230101")
	bad.Servicemember.IdNumber = "500230199004120011"[:17] + "0"
	dup := h.householdBody("500230101")
	dup.Servicemember.IdNumber = idnumber.Make("500230", time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), 1)
	_, err = h.households.BatchCreateHouseholds(h.ctx, &pb.BatchCreateHouseholdsRequest{Requests: []*pb.CreateHouseholdRequest{
		// The first is the existing servicemember's namesake: confirmed.
		{Household: h.householdBody("500230101"), ConfirmPossibleDuplicate: true}, {Household: bad}, {Household: dup},
	}})
	var batch *domain.BatchError
	if !errors.As(err, &batch) {
		t.Fatalf("batch: %v, want a BatchError", err)
	}
	var idx []int
	for _, it := range batch.Items {
		idx = append(idx, it.Index)
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{1, 2}) {
		t.Errorf("refused items %v, want [1 2]", idx)
	}
	list, err := h.households.ListHouseholds(h.ctx, &pb.ListHouseholdsRequest{})
	if err != nil || len(list.GetHouseholds()) != 1 {
		t.Errorf("after a refused batch: %d households (%v), want the one there before", len(list.GetHouseholds()), err)
	}
}
