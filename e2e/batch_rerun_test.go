package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

const (
	created   = pb.BatchCreateHouseholdResult_OUTCOME_CREATED
	updated   = pb.BatchCreateHouseholdResult_OUTCOME_UPDATED
	unchanged = pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED
	skipped   = pb.BatchCreateHouseholdResult_OUTCOME_SKIPPED
	refusedIt = pb.BatchCreateHouseholdResult_OUTCOME_REFUSED

	modeSkip   = pb.BatchCreateHouseholdsRequest_EXISTING_MODE_SKIP
	modeUpdate = pb.BatchCreateHouseholdsRequest_EXISTING_MODE_UPDATE
)

// BatchCreate sends a whole BatchCreateHouseholdsRequest (modes, partial
// success); BatchCreateHouseholds sends households with the defaults.
func (c *client) BatchCreate(req *pb.BatchCreateHouseholdsRequest) (*pb.BatchCreateHouseholdsResponse, error) {
	out := &pb.BatchCreateHouseholdsResponse{}
	return out, c.call("HouseholdService/BatchCreateHouseholds", post("households:batchCreate", req), req, out)
}

func (c *client) BatchLookupHouseholds(numbers ...string) (*pb.BatchLookupHouseholdsResponse, error) {
	req := &pb.BatchLookupHouseholdsRequest{IdNumbers: numbers}
	out := &pb.BatchLookupHouseholdsResponse{}
	return out, c.call("HouseholdService/BatchLookupHouseholds", post("households:batchLookup", req), req, out)
}

// BatchCreateMembers adds ms, each confirming a possible duplicate (see
// CreateMember).
func (c *client) BatchCreateMembers(parent string, ms ...*pb.Member) (*pb.BatchCreateMembersResponse, error) {
	req := &pb.BatchCreateMembersRequest{Parent: parent}
	for _, m := range ms {
		req.Requests = append(req.Requests, &pb.CreateMemberRequest{Member: m, ConfirmPossibleDuplicate: true})
	}
	return c.batchCreateMembers(req)
}

func (c *client) batchCreateMembers(req *pb.BatchCreateMembersRequest) (*pb.BatchCreateMembersResponse, error) {
	parent := req.GetParent()
	out := &pb.BatchCreateMembersResponse{}
	return out, c.call("HouseholdService/BatchCreateMembers", post(parent+"/members:batchCreate", req), req, out)
}

// outcomes lists the outcomes of a batch's results.
func outcomes(resp *pb.BatchCreateHouseholdsResponse) []pb.BatchCreateHouseholdResult_Outcome {
	var out []pb.BatchCreateHouseholdResult_Outcome
	for _, r := range resp.GetResults() {
		out = append(out, r.GetOutcome())
	}
	return out
}

func wantOutcomes(t *testing.T, resp *pb.BatchCreateHouseholdsResponse, want ...pb.BatchCreateHouseholdResult_Outcome) {
	t.Helper()
	got := outcomes(resp)
	if len(got) != len(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
	}
}

func items(hs ...*pb.Household) []*pb.CreateHouseholdRequest {
	out := make([]*pb.CreateHouseholdRequest, len(hs))
	for i, h := range hs {
		out[i] = &pb.CreateHouseholdRequest{Household: proto.Clone(h).(*pb.Household)}
	}
	return out
}

// testBatchRerun is a nightly job re-running a changed file, on both
// transports: the rows already registered are skipped or updated, unchanged
// rows write nothing, refused rows are reported item by item when partial
// success is allowed, and all or nothing otherwise.
func testBatchRerun(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		a, b, d := e.newHousehold(), e.newHousehold(), e.newHousehold()
		first := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(a, b)})).ok(t)
		wantOutcomes(t, first, created, created)
		if len(first.GetHouseholds()) != 2 || first.GetResults()[0].GetHousehold() != first.GetHouseholds()[0].GetName() {
			t.Fatalf("the first run answered %v", first)
		}

		// The file again, b's phone changed and a new row d: a is
		// unchanged and writes nothing, b is updated, d created.
		b.Phone = "13900000001"
		head := e.eventHead(t)
		rerun := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{
			Requests: items(a, b, d), ExistingMode: modeUpdate})).ok(t)
		wantOutcomes(t, rerun, unchanged, updated, created)
		r := rerun.GetResults()
		if r[0].GetHousehold() != first.GetResults()[0].GetHousehold() || r[0].GetEtag() != first.GetResults()[0].GetEtag() {
			t.Errorf("the unchanged row came back as %v, was %v", r[0], first.GetResults()[0])
		}
		if r[1].GetHousehold() != first.GetResults()[1].GetHousehold() || r[1].GetEtag() == first.GetResults()[1].GetEtag() {
			t.Errorf("the updated row came back as %v, was %v", r[1], first.GetResults()[1])
		}
		if got := e.eventHead(t) - head; got != 2 {
			t.Errorf("the re-run wrote %d events, want 2 (one update, one create)", got)
		}
		stored := must(c.GetHousehold(r[1].GetHousehold())).ok(t)
		if stored.GetEtag() != r[1].GetEtag() || !strings.HasSuffix(stored.GetPhone(), "0001") {
			t.Errorf("the updated household reads %s %s", stored.GetEtag(), stored.GetPhone())
		}

		// SKIP leaves the registered ones alone and names them.
		b.Phone = "13900000002"
		head = e.eventHead(t)
		skip := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{
			Requests: items(a, b), ExistingMode: modeSkip})).ok(t)
		wantOutcomes(t, skip, skipped, skipped)
		if skip.GetResults()[1].GetHousehold() != r[1].GetHousehold() || skip.GetResults()[1].GetEtag() != r[1].GetEtag() {
			t.Errorf("the skipped row came back as %v", skip.GetResults()[1])
		}
		if e.eventHead(t) != head {
			t.Errorf("a skipping run wrote events")
		}

		// FAIL (the default), all or nothing: the registered rows refuse
		// the batch and the new one is not created.
		n := e.newHousehold()
		before := e.countHouseholds(t)
		st := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(n, a)})).fails(t, codes.AlreadyExists)
		wantViolation(t, st, "requests[1]")
		if e.countHouseholds(t) != before {
			t.Errorf("a refused batch created households")
		}

		// Partial success: the refused rows are reported, the others
		// written.
		bad := e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = "500230199004120000" })
		partial := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{
			Requests: items(bad, a, n), AllowPartialSuccess: true})).ok(t)
		wantOutcomes(t, partial, refusedIt, refusedIt, created)
		if len(partial.GetHouseholds()) != 1 || partial.GetHouseholds()[0].GetName() != partial.GetResults()[2].GetHousehold() {
			t.Errorf("partial success answered households %v", partial.GetHouseholds())
		}
		invalid := status.FromProto(partial.GetResults()[0].GetError())
		if invalid.Code() != codes.InvalidArgument || reasonOf(invalid.Err()) == "" {
			t.Errorf("the invalid row's error: %v", invalid.Proto())
		}
		wantViolation(t, invalid, "requests[0].household.servicemember.id_number")
		if exists := status.FromProto(partial.GetResults()[1].GetError()); exists.Code() != codes.AlreadyExists || reasonOf(exists.Err()) != "ALREADY_EXISTS" {
			t.Errorf("the registered row's error: %v", exists.Proto())
		}
		if e.countHouseholds(t) != before+1 {
			t.Errorf("partial success created %d households, want 1", e.countHouseholds(t)-before)
		}
		// A row that breaks the contract's field rules is refused alone
		// too; the batch's own fields still refuse the batch.
		unnamed := e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = "" })
		fine := e.newHousehold()
		alone := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{
			Requests: items(fine, unnamed), AllowPartialSuccess: true})).ok(t)
		wantOutcomes(t, alone, created, refusedIt)
		wantViolation(t, status.FromProto(alone.GetResults()[1].GetError()), "requests[1].household.servicemember.name")
		must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(e.newHousehold()), AllowPartialSuccess: true,
			RequestId: "not a valid id"})).fails(t, codes.InvalidArgument)
		st = must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(e.newHousehold(), unnamed)})).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "requests[1].household.servicemember.name")

		// With UPDATE too, a refused row is refused alone when partial
		// success is allowed.
		d.Servicemember.IdNumber = "500230199004120000" // a wrong check digit
		b.Phone = "13900000003"
		mixed := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{
			Requests: items(d, b), ExistingMode: modeUpdate, AllowPartialSuccess: true})).ok(t)
		wantOutcomes(t, mixed, refusedIt, updated)
		if mixed.GetResults()[0].GetError().GetCode() != int32(codes.InvalidArgument) {
			t.Errorf("the row breaking a rule: %v", mixed.GetResults()[0].GetError())
		}
	})
	t.Run("no_op_updates", func(t *testing.T) { testNoOpUpdates(t, e) })
	t.Run("lookup", func(t *testing.T) { testBatchLookup(t, e) })
	t.Run("members", func(t *testing.T) { testBatchCreateMembers(t, e) })
	t.Run("batch_get_by_post", func(t *testing.T) { testBatchGetByPost(t, e) })
	t.Run("decode_error_names_item", func(t *testing.T) { testBatchDecodeError(t, e) })
}

// testNoOpUpdates sends every Update* method its resource as it is: the
// answer is the same etag, and nothing is written.
func testNoOpUpdates(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		cs := must(c.CreateCase(schoolCase(f))).ok(t)
		head := e.eventHead(t)
		h := proto.Clone(f.household).(*pb.Household)
		got := must(c.UpdateHousehold(h, "address", "phone", "servicemember")).ok(t)
		if got.GetEtag() != f.household.GetEtag() {
			t.Errorf("UpdateHousehold changing nothing: etag %s, was %s", got.GetEtag(), f.household.GetEtag())
		}
		m := must(c.UpdateMember(f.spouse, "display_name", "birth_date", "phone", "id_number")).ok(t)
		if m.GetEtag() != f.spouse.GetEtag() {
			t.Errorf("UpdateMember changing nothing: etag %s, was %s", m.GetEtag(), f.spouse.GetEtag())
		}
		// The masked values an answer carries, sent back, change nothing.
		masked := must(c.GetMember(f.child.GetName())).ok(t)
		if got := must(c.UpdateMember(masked, "*")).ok(t); got.GetEtag() != masked.GetEtag() {
			t.Errorf("UpdateMember with the masked answer: etag %s, was %s", got.GetEtag(), masked.GetEtag())
		}
		history := len(must(c.History(cs.GetName())).ok(t).GetEntries())
		if got := must(c.UpdateCase(cs, "school_enrollment")).ok(t); got.GetEtag() != cs.GetEtag() {
			t.Errorf("UpdateCase changing nothing: etag %s, was %s", got.GetEtag(), cs.GetEtag())
		}
		if n := len(must(c.History(cs.GetName())).ok(t).GetEntries()); n != history {
			t.Errorf("UpdateCase changing nothing added %d history entries", n-history)
		}
		if got := e.eventHead(t); got != head {
			t.Errorf("updates changing nothing wrote %d events", got-head)
		}
		// A stale etag is still refused.
		h.Etag = "v99"
		must(c.UpdateHousehold(h, "address")).fails(t, codes.Aborted)
	})
}

func testBatchLookup(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		unknown := e.idNumber(servicememberBirth)
		resp := must(c.BatchLookupHouseholds(f.household.GetServicemember().GetIdNumber(), unknown, f.child.GetIdNumber())).ok(t)
		res := resp.GetResults()
		if len(res) != 3 || res[0].GetHousehold().GetName() != f.household.GetName() || res[1].GetHousehold() != nil ||
			res[2].GetHousehold().GetName() != f.household.GetName() {
			t.Fatalf("batch lookup answered %v", resp)
		}
		if !strings.Contains(res[0].GetHousehold().GetServicemember().GetIdNumber(), "*") {
			t.Errorf("batch lookup answered an unmasked household")
		}
		// A malformed number is named by its index, never repeated.
		st := must(c.BatchLookupHouseholds(unknown, "12345")).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "id_numbers[1]")
		// Each number counts against the lookup budget (30 a minute here):
		// a batch larger than it could never pass.
		many := make([]string, 31)
		for i := range many {
			many[i] = e.idNumber(servicememberBirth)
		}
		if err := must(c.BatchLookupHouseholds(many...)).err; reasonOf(err) != "LOOKUP_BATCH_TOO_LARGE" {
			t.Errorf("a batch past the lookup budget: %v", err)
		}
	})

	// A caseworker of town A: a number registered in town B is answered as
	// unknown, and the batch is one audit record that counts, never names.
	sup := e.grpcClient(t)
	a, b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townA }), e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	const user = "batch-lookup-caseworker"
	cw := &client{name: "grpc", t: t, e: e, conn: e.dial(t, e.token(t, user, []principal.Role{principal.Caseworker}, townA))}
	resp := must(cw.BatchLookupHouseholds(a.spouse.GetIdNumber(), b.spouse.GetIdNumber(), e.idNumber(servicememberBirth))).ok(t)
	if res := resp.GetResults(); res[0].GetHousehold().GetName() != a.household.GetName() || res[1].GetHousehold() != nil || res[2].GetHousehold() != nil {
		t.Errorf("a caseworker of town A looked up %v", resp)
	}
	logs := auditEntries(t, e, `principal = "`+user+`" AND action = "lookup"`)
	if len(logs) != 1 || logs[0].GetOutcome() != "OUT_OF_SCOPE" || logs[0].GetResource() != "" ||
		!slices.Equal(logs[0].GetFields(), []string{"id_numbers=3", "found=1", "out_of_scope=1"}) {
		t.Errorf("the batch lookup was audited as %v", logs)
	}
}

func testBatchCreateMembers(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		h := must(c.CreateHousehold(e.newHousehold())).ok(t)
		spouse := e.newMember(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth)
		child := e.newMember(pb.Relation_RELATION_CHILD, "张小明", childBirth)
		twin := proto.Clone(child).(*pb.Member)
		head := e.eventHead(t)
		st := must(c.BatchCreateMembers(h.GetName(), spouse, child, twin)).fails(t, codes.AlreadyExists)
		wantViolation(t, st, "requests[2]")
		if e.eventHead(t) != head || len(must(c.ListMembers(h.GetName())).ok(t).GetMembers()) != 0 {
			t.Fatalf("a refused batch of members wrote something")
		}
		resp := must(c.BatchCreateMembers(h.GetName(), spouse, child)).ok(t)
		if len(resp.GetMembers()) != 2 || !strings.HasPrefix(resp.GetMembers()[1].GetName(), h.GetName()+"/members/") ||
			!strings.Contains(resp.GetMembers()[1].GetIdNumber(), "*") {
			t.Fatalf("batch of members answered %v", resp)
		}
		if n := len(must(c.ListMembers(h.GetName())).ok(t).GetMembers()); n != 2 {
			t.Errorf("%d members after the batch, want 2", n)
		}
	})
}

// testBatchGetByPost reads a thousand names' worth of batch in a body, the
// way a URL could not carry them.
func testBatchGetByPost(t *testing.T, e *env) {
	c := e.grpcClient(t)
	f := e.family(t, c)
	cs := must(c.CreateCase(schoolCase(f))).ok(t)
	for _, tc := range []struct {
		path, name string
		resp       proto.Message
	}{
		{"/v1/households:batchGet", f.household.GetName(), &pb.BatchGetHouseholdsResponse{}},
		{"/v1/cases:batchGet", cs.GetName(), &pb.BatchGetCasesResponse{}},
	} {
		code, out := e.jsonHTTP(t, "POST", tc.path, `{"names":["`+tc.name+`","`+tc.name+`"]}`)
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", tc.path, code, out)
		}
		if err := protojson.Unmarshal(out, tc.resp); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), tc.name) {
			t.Errorf("POST %s answered %s", tc.path, out)
		}
	}
}

// testBatchDecodeError sends a batch whose 3rd item has an enum value the
// API does not have: the answer names the item and the field as the JSON
// wrote it.
func testBatchDecodeError(t *testing.T, e *env) {
	var rows []string
	for i := range 3 {
		h := e.newHousehold()
		b, _ := protojson.Marshal(&pb.CreateHouseholdRequest{Household: h})
		row := string(b)
		if i == 2 {
			row = strings.Replace(row, `"SERVICE_BRANCH_ARMY"`, `"SERVICE_BRANCH_MARINES"`, 1)
		}
		rows = append(rows, row)
	}
	code, out := e.jsonHTTP(t, "POST", "/v1/households:batchCreate", `{"requests":[`+strings.Join(rows, ",")+`]}`)
	if code != http.StatusBadRequest {
		t.Fatalf("batch with an unknown enum value: %d %s", code, out)
	}
	st, _ := status.FromError(decodeHTTP(t, code, out, &pb.BatchCreateHouseholdsResponse{}))
	wantViolation(t, st, "requests[2].household.servicemember.serviceBranch")
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && strings.Contains(br.GetFieldViolations()[0].GetDescription(), "offset") {
			t.Errorf("the violation speaks of offsets: %v", br)
		}
	}
}
