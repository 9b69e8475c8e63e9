package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// countHouseholds counts the live households the supervisor sees.
func (e *env) countHouseholds(t *testing.T) int {
	t.Helper()
	hs := pb.NewHouseholdServiceClient(e.conn)
	n, token := 0, ""
	for {
		page, err := hs.ListHouseholds(ctxFor(t), &pb.ListHouseholdsRequest{PageSize: 500, PageToken: token})
		if err != nil {
			t.Fatalf("ListHouseholds: %v", err)
		}
		n += len(page.GetHouseholds())
		if token = page.GetNextPageToken(); token == "" {
			return n
		}
	}
}

func testIdempotency(t *testing.T, e *env) {
	hs := pb.NewHouseholdServiceClient(e.conn)
	cases := pb.NewCaseServiceClient(e.conn)

	// gRPC: the same request twice does it once, and says the second
	// answer is a replay.
	id := uuid.NewString()
	req := &pb.CreateHouseholdRequest{Household: e.newHousehold(), RequestId: id}
	first, err := hs.CreateHousehold(ctxFor(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var hdr metadata.MD
	again, err := hs.CreateHousehold(ctxFor(t), req, grpc.Header(&hdr))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !proto.Equal(first, again) {
		t.Errorf("retry answered %v, want the first answer %v", again, first)
	}
	if got := hdr.Get("idempotent-replay"); len(got) != 1 || got[0] != "true" {
		t.Errorf("replay header = %v", got)
	}
	if n := e.countHouseholds(t); n != 1 {
		t.Fatalf("%d households after a retried create, want 1", n)
	}

	// The same id for a different request is a conflict, and changes nothing.
	other := &pb.CreateHouseholdRequest{Household: e.newHousehold(), RequestId: id}
	_, err = hs.CreateHousehold(ctxFor(t), other)
	st := wantStatus(t, err, codes.AlreadyExists, "different request")
	if reason := errorReason(st); reason != "REQUEST_ID_REUSED" {
		t.Errorf("reason %q, want REQUEST_ID_REUSED", reason)
	}
	if n := e.countHouseholds(t); n != 1 {
		t.Fatalf("%d households after a reused id, want 1", n)
	}

	// JSON: requestId in the query of a create whose body is the resource.
	body, _ := protojson.Marshal(e.newHousehold())
	jsonID := uuid.NewString()
	var names []string
	for i := range 2 {
		code, h, out, err := e.doHTTP(t, nil, e.httpBase+"/v1/households?requestId="+jsonID, "POST",
			strings.NewReader(string(body)), int64(len(body)), nil)
		if err != nil || code != 200 {
			t.Fatalf("POST %d: %d %s %v", i, code, out, err)
		}
		var got pb.Household
		if err := protojson.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		names = append(names, got.GetName())
		if replay := h.Get("Idempotent-Replay"); (i == 1) != (replay == "true") || replay != h.Get("Grpc-Metadata-Idempotent-Replay") {
			t.Errorf("POST %d: replay header %q", i, replay)
		}
	}
	if names[0] != names[1] || e.countHouseholds(t) != 2 {
		t.Errorf("JSON retry created %v, %d households; want one", names, e.countHouseholds(t))
	}

	// A custom method: the retried submit answers as the first did instead
	// of failing because the case is no longer a draft.
	g := e.grpcClient(t)
	f := e.family(t, g)
	cs := must(g.CreateCase(employmentCase(f))).ok(t)
	submit := &pb.SubmitCaseRequest{Name: cs.GetName(), Etag: cs.GetEtag(), RequestId: uuid.NewString()}
	s1, err := cases.SubmitCase(ctxFor(t), submit)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := cases.SubmitCase(ctxFor(t), submit)
	if err != nil || s2.GetEtag() != s1.GetEtag() || s2.GetStatus() != pb.CaseStatus_CASE_STATUS_SUBMITTED {
		t.Fatalf("retried submit = %v, %v", s2, err)
	}
	hist := must(g.History(cs.GetName())).ok(t)
	submits := 0
	for _, h := range hist.GetEntries() {
		if h.GetMethod() == "SubmitCase" {
			submits++
		}
	}
	if submits != 1 {
		t.Errorf("%d SubmitCase entries in the history, want 1", submits)
	}

	// Request ids are the caller's: another principal's same id is its own.
	integration := pb.NewCaseServiceClient(e.dial(t, e.roleToken(t, principal.Integration)))
	createReq := &pb.CreateCaseRequest{Case: legalAidCase(f, f.spouse), RequestId: "shared-id-1"}
	a := must(cases.CreateCase(ctxFor(t), createReq)).ok(t)
	// Another member's case: the first is open (OPEN_CASE_PER_KIND).
	b := must(integration.CreateCase(ctxFor(t), &pb.CreateCaseRequest{Case: legalAidCase(f, f.child), RequestId: "shared-id-1"})).ok(t)
	if a.GetName() == b.GetName() {
		t.Errorf("two principals' requests with one id made one case")
	}

	// Racing retries on two servers: one case, one answer for all.
	_, conn2 := e.secondServer(t)
	servers := []pb.CaseServiceClient{cases, pb.NewCaseServiceClient(conn2)}
	race := &pb.CreateCaseRequest{Case: elderCase(f), RequestId: uuid.NewString()}
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := servers[i%2].CreateCase(ctxFor(t), race)
			got[i], errs[i] = c.GetName(), err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Errorf("racing retry %d: %s, %v; want %s", i, got[i], errs[i], got[0])
		}
	}
	elder := must(g.ListCases(&pb.ListCasesRequest{Filter: fmt.Sprintf("case_type = ELDER_MEDICAL_HELP AND household = %q", f.household.GetName())})).ok(t)
	if len(elder.GetCases()) != 1 {
		t.Errorf("%d elder cases after %d racing retries, want 1", len(elder.GetCases()), n)
	}
	// And the other server, with its own pool, answers a later retry the same.
	if c, err := servers[1].CreateCase(ctxFor(t), race); err != nil || c.GetName() != got[0] {
		t.Errorf("retry on the second server = %v, %v", c.GetName(), err)
	}

	// An invalid request is refused and not recorded: fixed, the same id works.
	bad := &pb.CreateHouseholdRequest{Household: e.newHousehold(func(h *pb.Household) { h.TownCode = "1" }), RequestId: "fix-me"}
	_, err = hs.CreateHousehold(ctxFor(t), bad)
	wantStatus(t, err, codes.InvalidArgument)
	bad.Household.TownCode = "500230101"
	if _, err := hs.CreateHousehold(ctxFor(t), bad); err != nil {
		t.Errorf("the corrected request with the same id: %v", err)
	}
}

// errorReason reads the ErrorInfo reason of a status.
func errorReason(st interface{ Details() []any }) string {
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return info.GetReason()
		}
	}
	return ""
}

func testBatch(t *testing.T, e *env) {
	hs := pb.NewHouseholdServiceClient(e.conn)

	// All or nothing: two bad items refuse the batch, both are named, and
	// nothing is created.
	good := e.newHousehold()
	reqs := []*pb.CreateHouseholdRequest{
		{Household: good},
		{Household: e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = "500230199004120000" })},
		{Household: e.newHousehold()},
		{Household: e.newHousehold(func(h *pb.Household) {
			h.Servicemember.IdNumber = good.GetServicemember().GetIdNumber()
		})},
	}
	_, err := hs.BatchCreateHouseholds(ctxFor(t), &pb.BatchCreateHouseholdsRequest{Requests: reqs})
	st := wantStatus(t, err, codes.InvalidArgument, "nothing was created")
	v := fieldViolations(st)
	if len(v) != 2 || !strings.HasPrefix(v[0], "requests[1].household.servicemember.id_number") || !strings.HasPrefix(v[1], "requests[3]") {
		t.Errorf("violations = %v, want requests[1].household.servicemember.id_number and requests[3]", v)
	}
	if n := e.countHouseholds(t); n != 0 {
		t.Fatalf("%d households after a refused batch, want 0", n)
	}
	head := must(pb.NewEventServiceClient(e.conn).ListEvents(ctxFor(t), &pb.ListEventsRequest{})).ok(t)
	if head.GetHeadPosition() != 0 {
		t.Errorf("a refused batch left %d events", head.GetHeadPosition())
	}

	// A good batch of 200 over JSON, with a request id: retried, it
	// creates nothing twice.
	var items []string
	for range 200 {
		b, _ := protojson.Marshal(&pb.CreateHouseholdRequest{Household: e.newHousehold()})
		items = append(items, string(b))
	}
	body := `{"requestId":"nightly-2026-03-02","requests":[` + strings.Join(items, ",") + `]}`
	var created *pb.BatchCreateHouseholdsResponse
	for i := range 2 {
		code, out := e.jsonHTTP(t, "POST", "/v1/households:batchCreate", body)
		if code != http.StatusOK {
			t.Fatalf("batchCreate %d: %d %.300s", i, code, out)
		}
		resp := &pb.BatchCreateHouseholdsResponse{}
		if err := protojson.Unmarshal(out, resp); err != nil {
			t.Fatal(err)
		}
		if created == nil {
			created = resp
		} else if !proto.Equal(created, resp) {
			t.Errorf("the retried batch answered differently")
		}
	}
	if len(created.GetHouseholds()) != 200 || e.countHouseholds(t) != 200 {
		t.Fatalf("batch made %d, %d listed; want 200", len(created.GetHouseholds()), e.countHouseholds(t))
	}
	if created.GetHouseholds()[0].GetServicemember().GetIdNumber() == "" ||
		!strings.Contains(created.GetHouseholds()[0].GetServicemember().GetIdNumber(), "*") {
		t.Errorf("batch answers must be masked: %v", created.GetHouseholds()[0].GetServicemember())
	}

	// Batch get: in the order asked; one unknown name fails it all.
	var names []string
	for i := len(created.GetHouseholds()) - 1; i >= 0; i -= 7 {
		names = append(names, created.GetHouseholds()[i].GetName())
	}
	got := must(hs.BatchGetHouseholds(ctxFor(t), &pb.BatchGetHouseholdsRequest{Names: names})).ok(t)
	for i, h := range got.GetHouseholds() {
		if h.GetName() != names[i] {
			t.Fatalf("batchGet[%d] = %s, want %s", i, h.GetName(), names[i])
		}
	}
	q := "names=" + strings.Join(names[:3], "&names=")
	if code, out := e.jsonHTTP(t, "GET", "/v1/households:batchGet?"+q, ""); code != 200 || strings.Count(string(out), `"name"`) < 3 {
		t.Errorf("GET batchGet: %d %.200s", code, out)
	}
	_, err = hs.BatchGetHouseholds(ctxFor(t), &pb.BatchGetHouseholdsRequest{Names: append(names[:2:2], "households/"+uuid.NewString())})
	wantStatus(t, err, codes.NotFound)

	// Limits: at most 1000 items.
	many := make([]*pb.CreateHouseholdRequest, 1001)
	for i := range many {
		many[i] = &pb.CreateHouseholdRequest{Household: good}
	}
	_, err = hs.BatchCreateHouseholds(ctxFor(t), &pb.BatchCreateHouseholdsRequest{Requests: many})
	wantStatus(t, err, codes.InvalidArgument, "requests")
	manyNames := make([]string, 1001)
	for i := range manyNames {
		manyNames[i] = names[0]
	}
	_, err = hs.BatchGetHouseholds(ctxFor(t), &pb.BatchGetHouseholdsRequest{Names: manyNames})
	wantStatus(t, err, codes.InvalidArgument, "names")

	// Cases: the same rules through the same path as CreateCase, and an
	// item may not carry its own request id.
	g := e.grpcClient(t)
	f := e.family(t, g)
	cases := pb.NewCaseServiceClient(e.conn)
	_, err = cases.BatchCreateCases(ctxFor(t), &pb.BatchCreateCasesRequest{Requests: []*pb.CreateCaseRequest{
		{Case: employmentCase(f)},
		{Case: &pb.Case{Household: f.household.GetName(), Subject: f.father.GetName(), Details: schoolCase(f).GetDetails()}},
		{Case: elderCase(f), RequestId: "inner"},
	}})
	st = wantStatus(t, err, codes.InvalidArgument, "SCHOOL_CHILD")
	v = fieldViolations(st)
	if len(v) != 2 || v[0] != "requests[1]" || !strings.HasPrefix(v[1], "requests[2].request_id") {
		t.Errorf("case batch violations = %v", v)
	}
	ok := must(cases.BatchCreateCases(ctxFor(t), &pb.BatchCreateCasesRequest{Requests: []*pb.CreateCaseRequest{
		{Case: employmentCase(f)}, {Case: schoolCase(f)}, {Case: elderCase(f)},
	}})).ok(t)
	if len(ok.GetCases()) != 3 || ok.GetCases()[1].GetSchoolEnrollment() == nil || ok.GetCases()[0].GetCaseNumber() == ok.GetCases()[2].GetCaseNumber() {
		t.Fatalf("case batch = %v", ok.GetCases())
	}
	back := must(cases.BatchGetCases(ctxFor(t), &pb.BatchGetCasesRequest{Names: []string{ok.GetCases()[2].GetName(), ok.GetCases()[0].GetName()}})).ok(t)
	if len(back.GetCases()) != 2 || back.GetCases()[0].GetName() != ok.GetCases()[2].GetName() {
		t.Errorf("BatchGetCases = %v", names)
	}
	// Out of the caller's towns is the same as missing.
	other := pb.NewCaseServiceClient(e.dial(t, e.token(t, "town-b-worker", []principal.Role{principal.Caseworker}, "500230102")))
	_, err = other.BatchGetCases(ctxFor(t), &pb.BatchGetCasesRequest{Names: []string{ok.GetCases()[0].GetName()}})
	wantStatus(t, err, codes.NotFound)
}
