package e2e

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// The assignee directory, bulk assignment, workloads and the one open case
// of a kind per member (issue 14).

func (c *client) CreateAssignee(id string, a *pb.Assignee) (*pb.Assignee, error) {
	out := &pb.Assignee{}
	r := post("assignees", a)
	r.query = url.Values{"assigneeId": {id}}
	return out, c.call("AssigneeService/CreateAssignee", r, &pb.CreateAssigneeRequest{AssigneeId: id, Assignee: a}, out)
}

func (c *client) Workload(name string) (*pb.AssigneeWorkload, error) {
	out := &pb.AssigneeWorkload{}
	return out, c.call("AssigneeService/GetAssigneeWorkload", get(name+"/workload", nil),
		&pb.GetAssigneeWorkloadRequest{Name: name + "/workload"}, out)
}

func (c *client) BatchAssign(req *pb.BatchAssignCasesRequest) (*pb.BatchAssignCasesResponse, error) {
	out := &pb.BatchAssignCasesResponse{}
	return out, c.call("CaseService/BatchAssignCases", post("cases:batchAssign", req), req, out)
}

// submittedCases opens and submits n legal-aid cases in the family's
// household, each for a member of its own (one open case of a kind per
// member), with one batch of members and one of cases.
func (e *env) submittedCases(t *testing.T, f family, n int) []*pb.Case {
	t.Helper()
	g := e.grpcClient(t)
	members := &pb.BatchCreateMembersRequest{Parent: f.household.GetName()}
	for range n {
		members.Requests = append(members.Requests, &pb.CreateMemberRequest{Member: e.newMember(pb.Relation_RELATION_CHILD, "张小华", childBirth), ConfirmPossibleDuplicate: true})
	}
	made := must(pb.NewHouseholdServiceClient(e.conn).BatchCreateMembers(ctxFor(t), members)).ok(t)
	cases := &pb.BatchCreateCasesRequest{}
	for _, m := range made.GetMembers() {
		cases.Requests = append(cases.Requests, &pb.CreateCaseRequest{Case: legalAidCase(f, m)})
	}
	opened := must(pb.NewCaseServiceClient(e.conn).BatchCreateCases(ctxFor(t), cases)).ok(t)
	out := make([]*pb.Case, n)
	for i, cs := range opened.GetCases() {
		out[i] = must(g.Submit(cs.GetName(), "")).ok(t)
	}
	return out
}

func assignments(cases []*pb.Case) []*pb.CaseAssignment {
	out := make([]*pb.CaseAssignment, len(cases))
	for i, cs := range cases {
		out[i] = &pb.CaseAssignment{Name: cs.GetName(), Etag: cs.GetEtag()}
	}
	return out
}

// refusedAt checks that a refused batch names item i in its BadRequest.
func refusedAt(t *testing.T, err error, code codes.Code, i int) {
	t.Helper()
	st := wantStatus(t, err, code)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			if want := fmt.Sprintf("requests[%d]", i); br.GetFieldViolations()[0].GetField() != want {
				t.Errorf("refused item %q, want %s", br.GetFieldViolations()[0].GetField(), want)
			}
			return
		}
	}
	t.Errorf("no BadRequest naming the refused item: %v", st.Details())
}

// notAssigned checks that no case of the batch was assigned.
func notAssigned(t *testing.T, c *client, cases []*pb.Case) {
	t.Helper()
	for _, cs := range cases {
		got := must(c.GetCase(cs.GetName())).ok(t)
		if got.GetEtag() != cs.GetEtag() || got.GetAssignee() != "" {
			t.Fatalf("%s changed by a refused batch: %s %q", cs.GetName(), got.GetEtag(), got.GetAssignee())
		}
	}
}

func testBatchAssign(t *testing.T, e *env) {
	g := e.grpcClient(t)
	other := e.family(t, g, func(h *pb.Household) { h.TownCode = "500230102" })
	f := e.family(t, g)
	li := must(g.CreateAssignee("caseworker-li", &pb.Assignee{DisplayName: "李敏", TownCodes: []string{"500230101"}})).ok(t)
	cases := e.submittedCases(t, f, 500)

	// A stale etag among them: nothing changes, and the error names it.
	stale := assignments(cases)
	stale[137].Etag = "v1"
	_, err := g.BatchAssign(&pb.BatchAssignCasesRequest{Assignee: li.GetName(), Requests: stale})
	refusedAt(t, err, codes.Aborted, 137)
	notAssigned(t, g, cases)

	// A case in a town the assignee may not work in: nothing changes.
	far := e.submittedCases(t, other, 1)[0]
	mixed := assignments(append(cases[:10:10], far))
	_, err = e.httpClient(t).BatchAssign(&pb.BatchAssignCasesRequest{Assignee: li.GetName(), Requests: mixed})
	refusedAt(t, err, codes.FailedPrecondition, 10)
	notAssigned(t, g, cases[:10])

	// All 500 over HTTP: every etag changes, one history entry each.
	h := e.httpClient(t)
	resp := must(h.BatchAssign(&pb.BatchAssignCasesRequest{Assignee: li.GetName(), Requests: assignments(cases)})).ok(t)
	for i, cs := range resp.GetCases() {
		if cs.GetAssignee() != "caseworker-li" || cs.GetEtag() == cases[i].GetEtag() || cs.GetName() != cases[i].GetName() {
			t.Fatalf("case %d after the batch: %s %q", i, cs.GetEtag(), cs.GetAssignee())
		}
	}
	for _, i := range []int{0, 250, 499} {
		hist := must(g.History(cases[i].GetName())).ok(t)
		last := hist.GetEntries()[len(hist.GetEntries())-1]
		if last.GetMethod() != "BatchAssignCases" || len(hist.GetEntries()) != 3 {
			t.Errorf("history of case %d: %d entries, last %s", i, len(hist.GetEntries()), last.GetMethod())
		}
	}
	list := must(g.ListCases(&pb.ListCasesRequest{Filter: `assignee = "caseworker-li"`, PageSize: 10})).ok(t)
	if list.GetTotalSize() != 500 || len(list.GetCases()) != 10 {
		t.Errorf("list by assignee: total %d, page %d", list.GetTotalSize(), len(list.GetCases()))
	}

	// The single AssignCase applies the same rule to a directory name.
	e.eachClient(t, func(t *testing.T, c *client) {
		_, err := c.Assign(far.GetName(), li.GetName())
		st := wantStatus(t, err, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_ASSIGNEE_NOT_IN_TOWN)
		_, err = c.Assign(far.GetName(), "caseworker-li")
		wantStatus(t, err, codes.FailedPrecondition)
		// A law firm is free text, as before.
		must(c.Assign(far.GetName(), "重庆某律师事务所")).ok(t)
	})
}

func testWorkload(t *testing.T, e *env) {
	g := e.grpcClient(t)
	f := e.family(t, g)
	wang := must(g.CreateAssignee("caseworker-wang", &pb.Assignee{DisplayName: "王芳", TownCodes: []string{"500230101"}})).ok(t)
	cases := e.submittedCases(t, f, 6)
	for _, cs := range cases[:4] {
		must(g.Assign(cs.GetName(), wang.GetName())).ok(t)
	}
	must(g.Accept(cases[0].GetName())).ok(t)
	// Legal aid is decided within 7 days: 10 days on, the three still
	// submitted are overdue; the accepted one's lawyer clock has been met.
	e.clock.Advance(10 * 24 * time.Hour)
	e.eachClient(t, func(t *testing.T, c *client) {
		w := must(c.Workload(wang.GetName())).ok(t)
		// Counted by hand: 4 assigned, 1 ACCEPTED and 3 SUBMITTED, all legal aid.
		if w.GetOpenCount() != 4 || len(w.GetCounts()) != 2 || w.GetOverdueCount() != 3 {
			t.Fatalf("workload %v", w)
		}
		for _, n := range w.GetCounts() {
			want := map[pb.CaseStatus]int64{pb.CaseStatus_CASE_STATUS_ACCEPTED: 1, pb.CaseStatus_CASE_STATUS_SUBMITTED: 3}[n.GetStatus()]
			if n.GetCount() != want || n.GetCaseType() != pb.CaseType_CASE_TYPE_LEGAL_AID {
				t.Errorf("count %v, want %d", n, want)
			}
		}
	})
	// Another town's caseworker does not see the entry at all.
	far := e.clientsAs(t, e.token(t, "cw-far", []principal.Role{principal.Caseworker}, "500230102"))
	for _, c := range far {
		_, err := c.Workload(wang.GetName())
		wantStatus(t, err, codes.NotFound)
	}
}

func testOneOpenCasePerKind(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		first := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
		_, err := c.CreateCase(legalAidCase(f, f.spouse))
		st := wantStatus(t, err, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_OPEN_CASE_EXISTS)
		if got := errorInfo(st).GetMetadata()["resource"]; got != first.GetName() {
			t.Errorf("pointer %q, want %s", got, first.GetName())
		}
		// Another kind for the same member is fine; after a withdrawal the
		// same kind opens again.
		must(c.Withdraw(first.GetName(), "filed twice")).ok(t)
		must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	})
	// Concurrent opens for one member: exactly one succeeds.
	g := e.grpcClient(t)
	f := e.family(t, g)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = pb.NewCaseServiceClient(e.conn).CreateCase(ctxFor(t), &pb.CreateCaseRequest{Case: legalAidCase(f, f.father)})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent opens succeeded, want 1: %v", ok, n, errs)
	}
}
