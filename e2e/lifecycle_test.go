package e2e

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

const (
	draft      = pb.CaseStatus_CASE_STATUS_DRAFT
	submitted  = pb.CaseStatus_CASE_STATUS_SUBMITTED
	accepted   = pb.CaseStatus_CASE_STATUS_ACCEPTED
	inProgress = pb.CaseStatus_CASE_STATUS_IN_PROGRESS
	resolved   = pb.CaseStatus_CASE_STATUS_RESOLVED
	closed     = pb.CaseStatus_CASE_STATUS_CLOSED
	rejected   = pb.CaseStatus_CASE_STATUS_REJECTED
	withdrawn  = pb.CaseStatus_CASE_STATUS_WITHDRAWN
	noStatus   = pb.CaseStatus_CASE_STATUS_UNSPECIFIED
)

var caseNumberRE = regexp.MustCompile(`^FD-2026-\d{6}$`)

// step is one expected history entry.
type step struct {
	method   string
	from, to pb.CaseStatus
}

// wantHistory checks that the case's history is exactly steps, in order.
func wantHistory(t *testing.T, c *client, name string, steps []step) {
	t.Helper()
	entries := must(c.History(name)).ok(t).GetEntries()
	var got []step
	for _, e := range entries {
		got = append(got, step{e.GetMethod(), e.GetFromStatus(), e.GetToStatus()})
		if e.GetTime() == nil || e.GetActor() == "" {
			t.Errorf("history entry %s has no time or actor", e.GetMethod())
		}
	}
	if !slices.Equal(got, steps) {
		t.Errorf("history of %s:\n got  %v\n want %v", name, got, steps)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].GetTime().AsTime().Before(entries[i-1].GetTime().AsTime()) {
			t.Errorf("history entry %d (%s) is older than the one before it", i, entries[i].GetMethod())
		}
	}
}

func wantStatusIs(t *testing.T, c *pb.Case, want pb.CaseStatus) {
	t.Helper()
	if c.GetStatus() != want {
		t.Fatalf("%s status = %v, want %v", c.GetName(), c.GetStatus(), want)
	}
}

// illegal checks that a transition is refused as FAILED_PRECONDITION naming
// the current status, and that it changed nothing.
func illegal(t *testing.T, c *client, cs *pb.Case, move func(name string) (*pb.Case, error)) {
	t.Helper()
	must(move(cs.GetName())).fails(t, codes.FailedPrecondition, cs.GetStatus().String())
	now := must(c.GetCase(cs.GetName())).ok(t)
	if now.GetEtag() != cs.GetEtag() || now.GetStatus() != cs.GetStatus() {
		t.Errorf("refused transition changed the case: etag %s -> %s, status %v -> %v",
			cs.GetEtag(), now.GetEtag(), cs.GetStatus(), now.GetStatus())
	}
}

// testLifecycle takes a household and a case of each kind through every
// transition, on each transport.
func testLifecycle(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		h := must(c.GetHousehold(f.household.GetName())).ok(t)
		if h.GetMemberCount() != 3 {
			t.Errorf("memberCount = %d, want 3", h.GetMemberCount())
		}
		members := must(c.ListMembers(h.GetName())).ok(t).GetMembers()
		if len(members) != 3 || members[0].GetRelation() != pb.Relation_RELATION_SPOUSE {
			t.Errorf("members = %v, want spouse, child, father", members)
		}

		t.Run("school_enrollment", func(t *testing.T) { schoolLife(t, c, f) })
		t.Run("employment_placement", func(t *testing.T) { employmentLife(t, c, f) })
		t.Run("elder_medical_help", func(t *testing.T) { elderLife(t, c, f) })
		t.Run("legal_aid", func(t *testing.T) { legalAidLife(t, c, f) })
	})
}

// openCase creates a draft and checks what every new case carries.
func openCase(t *testing.T, c *client, f family, cs *pb.Case, kind pb.CaseType) *pb.Case {
	t.Helper()
	got := must(c.CreateCase(cs)).ok(t)
	wantStatusIs(t, got, draft)
	if got.GetCaseType() != kind {
		t.Errorf("caseType = %v, want %v", got.GetCaseType(), kind)
	}
	if !caseNumberRE.MatchString(got.GetCaseNumber()) {
		t.Errorf("caseNumber = %q, want FD-2026-NNNNNN", got.GetCaseNumber())
	}
	if got.GetHousehold() != f.household.GetName() || got.GetSubject() != cs.GetSubject() {
		t.Errorf("household/subject = %s %s, want %s %s", got.GetHousehold(), got.GetSubject(), f.household.GetName(), cs.GetSubject())
	}
	if got.GetTownCode() != f.household.GetTownCode() {
		t.Errorf("townCode = %q, want the household's %q", got.GetTownCode(), f.household.GetTownCode())
	}
	if got.GetEtag() == "" || got.GetCreateTime() == nil || got.GetDueTime() != nil || got.GetSubmitTime() != nil {
		t.Errorf("new case: etag %q createTime %v dueTime %v submitTime %v", got.GetEtag(), got.GetCreateTime(), got.GetDueTime(), got.GetSubmitTime())
	}
	if !proto.Equal(got, must(c.GetCase(got.GetName())).ok(t)) {
		t.Errorf("GetCase differs from what CreateCase returned")
	}
	return got
}

// schoolLife: the happy path through every status, with the refusals on the
// way, then close, reopen and withdraw.
func schoolLife(t *testing.T, c *client, f family) {
	cs := openCase(t, c, f, schoolCase(f), pb.CaseType_CASE_TYPE_SCHOOL_ENROLLMENT)
	n := cs.GetName()
	illegal(t, c, cs, c.Accept)
	illegal(t, c, cs, c.Start)

	cs = must(c.Submit(n, cs.GetEtag())).ok(t)
	wantStatusIs(t, cs, submitted)
	if cs.GetSubmitTime() == nil || cs.GetDueTime() == nil {
		t.Fatalf("submitted case lacks submitTime/dueTime: %v", cs)
	}
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Submit(n, "") })
	illegal(t, c, cs, c.Start)
	illegal(t, c, cs, c.Close)
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Resolve(n, achieved("done")) })

	cs = must(c.Accept(n)).ok(t)
	wantStatusIs(t, cs, accepted)
	illegal(t, c, cs, c.Accept)
	// Rejecting an accepted case needs a reason code.
	must(c.Reject(n, "too late")).fails(t, codes.FailedPrecondition, "REJECT_AFTER_ACCEPT_REASON")
	// Work cannot start on an unowned case.
	must(c.Start(n)).fails(t, codes.FailedPrecondition, "assigned")

	cs = must(c.Assign(n, "caseworker-li")).ok(t)
	wantStatusIs(t, cs, accepted)
	if cs.GetAssignee() != "caseworker-li" {
		t.Errorf("assignee = %q", cs.GetAssignee())
	}
	must(c.Assign(n, "")).fails(t, codes.InvalidArgument)

	cs = must(c.Start(n)).ok(t)
	wantStatusIs(t, cs, inProgress)

	// Resolving needs an outcome, and an achieved one needs the assigned school.
	must(c.Resolve(n, nil)).fails(t, codes.InvalidArgument)
	must(c.Resolve(n, &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED})).fails(t, codes.InvalidArgument)
	must(c.Resolve(n, achieved("placed"))).fails(t, codes.FailedPrecondition, "school_enrollment.assigned_school")
	cs = must(c.GetCase(n)).ok(t)
	wantStatusIs(t, cs, inProgress)

	patch := &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{AssignedSchool: "丰都县第一小学"}}}
	cs = must(c.UpdateCase(patch, "school_enrollment.assigned_school")).ok(t)
	se := cs.GetSchoolEnrollment()
	if se.GetAssignedSchool() != "丰都县第一小学" || se.GetRequestedSchool() != "丰都县实验小学" {
		t.Errorf("after PATCH: %v, want assigned school set and requested school kept", se)
	}

	cs = must(c.Resolve(n, achieved("placed at 丰都县第一小学"))).ok(t)
	wantStatusIs(t, cs, resolved)
	if cs.GetOutcome().GetResult() != pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED || cs.GetResolveTime() == nil {
		t.Errorf("resolved case: outcome %v resolveTime %v", cs.GetOutcome(), cs.GetResolveTime())
	}
	illegal(t, c, cs, c.Start)

	cs = must(c.Close(n)).ok(t)
	wantStatusIs(t, cs, closed)
	illegal(t, c, cs, c.Close)
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Withdraw(n, "") })
	// A closed case's record is what was decided on.
	patch = &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{AssignedSchool: "另一所学校"}}}
	must(c.UpdateCase(patch, "school_enrollment.assigned_school")).fails(t, codes.FailedPrecondition, "CASE_STATUS_CLOSED")
	if got := must(c.GetCase(n)).ok(t); got.GetEtag() != cs.GetEtag() || got.GetSchoolEnrollment().GetAssignedSchool() != "丰都县第一小学" {
		t.Errorf("refused edit of a closed case changed it: %v", got)
	}

	must(c.Reopen(n, "")).fails(t, codes.InvalidArgument)
	cs = must(c.Reopen(n, "家长申请复核")).ok(t)
	wantStatusIs(t, cs, inProgress)
	if cs.GetStatusReason() != "家长申请复核" || cs.GetOutcome() != nil || cs.GetResolveTime() != nil {
		t.Errorf("reopened case: reason %q outcome %v resolveTime %v", cs.GetStatusReason(), cs.GetOutcome(), cs.GetResolveTime())
	}

	cs = must(c.Withdraw(n, "family moved")).ok(t)
	wantStatusIs(t, cs, withdrawn)
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Reopen(n, "again") })
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Assign(n, "someone") })

	// Notes can be added and listed in order.
	n1 := must(c.CreateNote(n, "电话联系家长")).ok(t)
	n2 := must(c.CreateNote(n, "家长确认撤回")).ok(t)
	must(c.CreateNote(n, "")).fails(t, codes.InvalidArgument)
	notes := must(c.ListNotes(n)).ok(t).GetNotes()
	if len(notes) != 2 || notes[0].GetName() != n1.GetName() || notes[1].GetName() != n2.GetName() ||
		notes[0].GetBody() != "电话联系家长" || notes[1].GetAuthor() == "" || notes[1].GetCreateTime() == nil {
		t.Errorf("notes = %v, want the two notes in order", notes)
	}

	wantHistory(t, c, n, []step{
		{"CreateCase", noStatus, draft},
		{"SubmitCase", draft, submitted},
		{"AcceptCase", submitted, accepted},
		{"AssignCase", accepted, accepted},
		{"StartCase", accepted, inProgress},
		{"UpdateCase", inProgress, inProgress},
		{"ResolveCase", inProgress, resolved},
		{"CloseCase", resolved, closed},
		{"ReopenCase", closed, inProgress},
		{"WithdrawCase", inProgress, withdrawn},
		{"CreateNote", withdrawn, withdrawn},
		{"CreateNote", withdrawn, withdrawn},
	})
}

func achieved(summary string) *pb.CaseOutcome {
	return &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED, Summary: summary}
}

// toInProgress submits, accepts, assigns and starts a draft.
func toInProgress(t *testing.T, c *client, cs *pb.Case) *pb.Case {
	t.Helper()
	n := cs.GetName()
	must(c.Submit(n, cs.GetEtag())).ok(t)
	must(c.Accept(n)).ok(t)
	must(c.Assign(n, "caseworker-wang")).ok(t)
	cs = must(c.Start(n)).ok(t)
	wantStatusIs(t, cs, inProgress)
	return cs
}

// employmentLife: resolving as achieved names every missing outcome field.
func employmentLife(t *testing.T, c *client, f family) {
	cs := openCase(t, c, f, employmentCase(f), pb.CaseType_CASE_TYPE_EMPLOYMENT_PLACEMENT)
	n := cs.GetName()
	cs = toInProgress(t, c, cs)
	must(c.Resolve(n, achieved("placed"))).fails(t, codes.FailedPrecondition,
		"employment_placement.employer", "employment_placement.position", "employment_placement.placement_date")
	// A partial success needs them too.
	must(c.Resolve(n, &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_PARTIALLY_ACHIEVED, Summary: "part"})).
		fails(t, codes.FailedPrecondition, "employment_placement.employer")

	patch := &pb.Case{Name: n, Etag: cs.GetEtag(), Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
		Employer: "丰都县人民医院", Position: "行政文员", PlacementDate: &date.Date{Year: 2026, Month: 3, Day: 1}}}}
	cs = must(c.UpdateCase(patch, "employment_placement.employer", "employment_placement.position", "employment_placement.placement_date")).ok(t)
	if ep := cs.GetEmploymentPlacement(); ep.GetPlacementYear() != 2026 || ep.GetEmployer() != "丰都县人民医院" {
		t.Errorf("after PATCH: %v", ep)
	}
	// Achieved only once a supervisor decided the spouse eligible.
	st := must(c.Resolve(n, achieved("安置到县人民医院"))).fails(t, codes.FailedPrecondition, "PLACEMENT_ELIGIBILITY_DECIDED")
	wantRuleInfo(t, st, "PLACEMENT_ELIGIBILITY_DECIDED")
	must(c.DecideEligibility(n, true, "PLACEMENT_OFFICER_NCO_SPOUSE", "随军批准文号已核")).ok(t)
	cs = must(c.Resolve(n, achieved("安置到县人民医院"))).ok(t)
	wantStatusIs(t, cs, resolved)
	cs = must(c.Close(n)).ok(t)
	wantStatusIs(t, cs, closed)
	wantHistory(t, c, n, []step{
		{"CreateCase", noStatus, draft},
		{"SubmitCase", draft, submitted},
		{"AcceptCase", submitted, accepted},
		{"AssignCase", accepted, accepted},
		{"StartCase", accepted, inProgress},
		{"UpdateCase", inProgress, inProgress},
		{"DecideEligibility", inProgress, inProgress},
		{"ResolveCase", inProgress, resolved},
		{"CloseCase", resolved, closed},
	})
}

// elderLife: a NOT_ACHIEVED outcome needs no outcome fields; a resolved case
// can be reopened.
func elderLife(t *testing.T, c *client, f family) {
	cs := openCase(t, c, f, elderCase(f), pb.CaseType_CASE_TYPE_ELDER_MEDICAL_HELP)
	n := cs.GetName()
	toInProgress(t, c, cs)
	must(c.Resolve(n, achieved("seen"))).fails(t, codes.FailedPrecondition, "elder_medical_help.hospital", "elder_medical_help.help_given")
	cs = must(c.Resolve(n, &pb.CaseOutcome{Result: pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED, Summary: "家属放弃"})).ok(t)
	wantStatusIs(t, cs, resolved)
	cs = must(c.Reopen(n, "家属改变主意")).ok(t)
	wantStatusIs(t, cs, inProgress)
	wantHistory(t, c, n, []step{
		{"CreateCase", noStatus, draft},
		{"SubmitCase", draft, submitted},
		{"AcceptCase", submitted, accepted},
		{"AssignCase", accepted, accepted},
		{"StartCase", accepted, inProgress},
		{"ResolveCase", inProgress, resolved},
		{"ReopenCase", resolved, inProgress},
	})
}

// legalAidLife: reject (with a reason), reopen a rejection, withdraw.
func legalAidLife(t *testing.T, c *client, f family) {
	cs := openCase(t, c, f, legalAidCase(f, f.father), pb.CaseType_CASE_TYPE_LEGAL_AID)
	n := cs.GetName()
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Reject(n, "no") })
	cs = must(c.Submit(n, cs.GetEtag())).ok(t)
	firstDue := cs.GetDueTime().AsTime()
	wantViolation(t, must(c.Reject(n, "")).fails(t, codes.InvalidArgument), "reason")

	cs = must(c.Reject(n, "不属于法律援助范围")).ok(t)
	wantStatusIs(t, cs, rejected)
	if cs.GetStatusReason() != "不属于法律援助范围" {
		t.Errorf("statusReason = %q", cs.GetStatusReason())
	}
	illegal(t, c, cs, c.Accept)
	illegal(t, c, cs, func(n string) (*pb.Case, error) { return c.Withdraw(n, "") })

	c.e.clock.Advance(24 * time.Hour) // the resubmission gets a new clock, counted from its own day
	cs = must(c.Reopen(n, "补充了材料")).ok(t)
	wantStatusIs(t, cs, submitted)
	if !cs.GetDueTime().AsTime().After(firstDue) {
		t.Errorf("reopened rejection: dueTime %v not after the first %v", cs.GetDueTime().AsTime(), firstDue)
	}
	cs = must(c.Withdraw(n, "已自行和解")).ok(t)
	wantStatusIs(t, cs, withdrawn)
	wantHistory(t, c, n, []step{
		{"CreateCase", noStatus, draft},
		{"SubmitCase", draft, submitted},
		{"RejectCase", submitted, rejected},
		{"ReopenCase", rejected, submitted},
		{"WithdrawCase", submitted, withdrawn},
	})
	entries := must(c.History(n)).ok(t).GetEntries()
	if len(entries) < 4 {
		t.Fatalf("history has %d entries, want 5", len(entries))
	}
	if entries[2].GetReason() != "不属于法律援助范围" || entries[3].GetReason() != "补充了材料" {
		t.Errorf("history reasons = %q, %q", entries[2].GetReason(), entries[3].GetReason())
	}

	// A draft can be withdrawn too.
	d := openCase(t, c, f, legalAidCase(f, f.spouse), pb.CaseType_CASE_TYPE_LEGAL_AID)
	wantStatusIs(t, must(c.Withdraw(d.GetName(), "")).ok(t), withdrawn)
}
