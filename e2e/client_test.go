package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// client makes the API's calls over one transport: gRPC, or the JSON gateway
// with plain net/http (request bodies are the proto JSON mapping, with
// lowerCamelCase names and enum names). Scenarios that hold on both run once
// per client, so both transports are held to the same behaviour.
type client struct {
	name string
	t    *testing.T
	e    *env
	http bool
	// conn and hc, when set, replace the env's supervisor connections, so
	// the client acts as another credential; header is added to every HTTP
	// request, and lastHeader holds the last HTTP answer's headers.
	conn       *grpc.ClientConn
	hc         *http.Client
	header     http.Header
	lastHeader http.Header
	// base, when set, is the HTTP base URL of another server of the env.
	base string
}

// clientsAs returns a gRPC and an HTTP client that present token ("" for
// none) instead of the supervisor's.
func (e *env) clientsAs(t *testing.T, token string) []*client {
	g, h := e.grpcClient(t), e.httpClient(t)
	g.conn = e.dial(t, token)
	h.hc = e.httpAs(token)
	return []*client{g, h}
}

// clients returns a gRPC and an HTTP client for t.
func (e *env) clients(t *testing.T) []*client {
	return []*client{e.grpcClient(t), e.httpClient(t)}
}

// eachClient runs fn as a subtest per transport, "grpc" and "http".
func (e *env) eachClient(t *testing.T, fn func(t *testing.T, c *client)) {
	t.Helper()
	for _, mk := range []func(*testing.T) *client{e.grpcClient, e.httpClient} {
		c := mk(t)
		t.Run(c.name, func(t *testing.T) {
			c.t = t
			fn(t, c)
		})
	}
}

func (e *env) grpcClient(t *testing.T) *client { return &client{name: "grpc", t: t, e: e} }
func (e *env) httpClient(t *testing.T) *client { return &client{name: "http", t: t, e: e, http: true} }

// route is how an RPC maps onto the gateway.
type route struct {
	method string
	path   string        // after /v1/
	body   proto.Message // nil: no body
	query  url.Values
}

// httpError is a non-200 gateway answer. It carries the google.rpc.Status
// from the JSON body, so status.FromError reads it like a gRPC error.
type httpError struct {
	httpStatus int
	st         *status.Status
}

func (e *httpError) Error() string {
	return fmt.Sprintf("HTTP %d: %v: %s", e.httpStatus, e.st.Code(), e.st.Message())
}
func (e *httpError) GRPCStatus() *status.Status { return e.st }

// call performs one RPC: rpc is "Service/Method" for gRPC, r its HTTP route.
func (c *client) call(rpc string, r route, req, resp proto.Message) error {
	c.t.Helper()
	if !c.http {
		conn := c.e.conn
		if c.conn != nil {
			conn = c.conn
		}
		return conn.Invoke(ctxFor(c.t), "/casework.v1."+rpc, req, resp)
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = protojson.Marshal(r.body); err != nil {
			c.t.Fatalf("marshal %s body: %v", rpc, err)
		}
	}
	path := "/v1/" + r.path
	if len(r.query) > 0 {
		path += "?" + r.query.Encode()
	}
	var reqBody io.Reader
	if r.body != nil {
		reqBody = bytes.NewReader(body)
	}
	base := c.e.httpBase
	if c.base != "" {
		base = c.base
	}
	code, hdr, out, err := c.e.doHTTP(c.t, c.hc, base+path, r.method, reqBody, int64(len(body)), c.header)
	if err != nil {
		c.t.Fatalf("%s %s: %v", r.method, path, err)
	}
	c.lastHeader = hdr
	return decodeHTTP(c.t, code, out, resp)
}

// decodeHTTP reads a gateway answer: resp on 200, an *httpError otherwise.
// Unknown fields are errors, so the JSON must be exactly the contract's.
func decodeHTTP(t *testing.T, code int, body []byte, resp proto.Message) error {
	t.Helper()
	if code == http.StatusOK {
		if err := protojson.Unmarshal(body, resp); err != nil {
			t.Fatalf("decode 200 response %s: %v", body, err)
		}
		return nil
	}
	var sp spb.Status
	if err := protojson.Unmarshal(body, &sp); err != nil {
		t.Fatalf("HTTP %d: body is not a google.rpc.Status: %v: %s", code, err, body)
	}
	return &httpError{httpStatus: code, st: status.FromProto(&sp)}
}

func post(path string, body proto.Message) route {
	return route{method: http.MethodPost, path: path, body: body}
}
func get(path string, q url.Values) route { return route{method: http.MethodGet, path: path, query: q} }

// maskQuery puts an update mask in the query string, as a JSON client does.
func maskQuery(m *fieldmaskpb.FieldMask) url.Values {
	if len(m.GetPaths()) == 0 {
		return nil
	}
	return url.Values{"updateMask": {strings.Join(m.GetPaths(), ",")}}
}

func pageQuery(size int32, token string) url.Values {
	q := url.Values{}
	if size != 0 {
		q.Set("pageSize", strconv.Itoa(int(size)))
	}
	if token != "" {
		q.Set("pageToken", token)
	}
	return q
}

// --- HouseholdService ---------------------------------------------------------

// CreateHousehold registers h, confirming a possible duplicate: the
// fixture families are alike on purpose (the same names and birth dates),
// so only the scenario of the duplicate check itself
// (CreateHouseholdUnconfirmed) meets the warning.
func (c *client) CreateHousehold(h *pb.Household) (*pb.Household, error) {
	return c.createHousehold(&pb.CreateHouseholdRequest{Household: h, ConfirmPossibleDuplicate: true})
}

// CreateHouseholdUnconfirmed registers h without confirming a possible
// duplicate.
func (c *client) CreateHouseholdUnconfirmed(h *pb.Household) (*pb.Household, error) {
	return c.createHousehold(&pb.CreateHouseholdRequest{Household: h})
}

func (c *client) createHousehold(req *pb.CreateHouseholdRequest) (*pb.Household, error) {
	out := &pb.Household{}
	r := post("households", req.GetHousehold())
	r.query = confirmQuery(req.GetConfirmPossibleDuplicate())
	return out, c.call("HouseholdService/CreateHousehold", r, req, out)
}

// confirmQuery carries confirm_possible_duplicate beside a body that is
// the resource alone.
func confirmQuery(confirm bool) url.Values {
	if !confirm {
		return nil
	}
	return url.Values{"confirmPossibleDuplicate": {"true"}}
}

func (c *client) GetHousehold(name string) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/GetHousehold", get(name, nil), &pb.GetHouseholdRequest{Name: name}, out)
}

func (c *client) ListHouseholds(req *pb.ListHouseholdsRequest) (*pb.ListHouseholdsResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	if req.GetShowDeleted() {
		q.Set("showDeleted", "true")
	}
	out := &pb.ListHouseholdsResponse{}
	return out, c.call("HouseholdService/ListHouseholds", get("households", q), req, out)
}

// UpdateHousehold sends h (with its name and etag) under mask.
func (c *client) UpdateHousehold(h *pb.Household, mask ...string) (*pb.Household, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(h).(*pb.Household)
	body.Name = "" // it travels in the URL
	out := &pb.Household{}
	return out, c.call("HouseholdService/UpdateHousehold",
		route{method: http.MethodPatch, path: h.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateHouseholdRequest{Household: h, UpdateMask: m}, out)
}

func (c *client) DeleteHousehold(name, etag string) (*pb.Household, error) {
	var q url.Values
	if etag != "" {
		q = url.Values{"etag": {etag}}
	}
	out := &pb.Household{}
	return out, c.call("HouseholdService/DeleteHousehold", route{method: http.MethodDelete, path: name, query: q},
		&pb.DeleteHouseholdRequest{Name: name, Etag: etag}, out)
}

func (c *client) UndeleteHousehold(name string) (*pb.Household, error) {
	req := &pb.UndeleteHouseholdRequest{Name: name}
	out := &pb.Household{}
	return out, c.call("HouseholdService/UndeleteHousehold", post(name+":undelete", &emptypb.Empty{}), req, out)
}

func (c *client) LookupHousehold(idNumber string) (*pb.Household, error) {
	req := &pb.LookupHouseholdRequest{IdNumber: idNumber}
	out := &pb.Household{}
	return out, c.call("HouseholdService/LookupHousehold", post("households:lookup", req), req, out)
}

// CreateMember adds m, confirming a possible duplicate (see
// CreateHousehold).
func (c *client) CreateMember(parent string, m *pb.Member) (*pb.Member, error) {
	return c.createMember(&pb.CreateMemberRequest{Parent: parent, Member: m, ConfirmPossibleDuplicate: true})
}

// CreateMemberUnconfirmed adds m without confirming a possible duplicate.
func (c *client) CreateMemberUnconfirmed(parent string, m *pb.Member) (*pb.Member, error) {
	return c.createMember(&pb.CreateMemberRequest{Parent: parent, Member: m})
}

func (c *client) createMember(req *pb.CreateMemberRequest) (*pb.Member, error) {
	out := &pb.Member{}
	r := post(req.GetParent()+"/members", req.GetMember())
	r.query = confirmQuery(req.GetConfirmPossibleDuplicate())
	return out, c.call("HouseholdService/CreateMember", r, req, out)
}

func (c *client) ListMembers(parent string) (*pb.ListMembersResponse, error) {
	out := &pb.ListMembersResponse{}
	return out, c.call("HouseholdService/ListMembers", get(parent+"/members", nil), &pb.ListMembersRequest{Parent: parent}, out)
}

func (c *client) GetMember(name string) (*pb.Member, error) {
	out := &pb.Member{}
	return out, c.call("HouseholdService/GetMember", get(name, nil), &pb.GetMemberRequest{Name: name}, out)
}

func (c *client) DeleteMember(name string) (*emptypb.Empty, error) {
	out := &emptypb.Empty{}
	return out, c.call("HouseholdService/DeleteMember", route{method: http.MethodDelete, path: name},
		&pb.DeleteMemberRequest{Name: name}, out)
}

func (c *client) UpdateMember(m *pb.Member, mask ...string) (*pb.Member, error) {
	fm := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(m).(*pb.Member)
	body.Name = ""
	out := &pb.Member{}
	return out, c.call("HouseholdService/UpdateMember",
		route{method: http.MethodPatch, path: m.GetName(), body: body, query: maskQuery(fm)},
		&pb.UpdateMemberRequest{Member: m, UpdateMask: fm}, out)
}

// --- CaseService --------------------------------------------------------------

func (c *client) CreateCase(cs *pb.Case) (*pb.Case, error) {
	out := &pb.Case{}
	return out, c.call("CaseService/CreateCase", post("cases", cs), &pb.CreateCaseRequest{Case: cs}, out)
}

func (c *client) GetCase(name string) (*pb.Case, error) {
	out := &pb.Case{}
	return out, c.call("CaseService/GetCase", get(name, nil), &pb.GetCaseRequest{Name: name}, out)
}

func (c *client) ListCases(req *pb.ListCasesRequest) (*pb.ListCasesResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	if req.GetOrderBy() != "" {
		q.Set("orderBy", req.GetOrderBy())
	}
	out := &pb.ListCasesResponse{}
	return out, c.call("CaseService/ListCases", get("cases", q), req, out)
}

// UpdateCase sends cs (with its name and etag) under mask.
func (c *client) UpdateCase(cs *pb.Case, mask ...string) (*pb.Case, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(cs).(*pb.Case)
	body.Name = ""
	out := &pb.Case{}
	return out, c.call("CaseService/UpdateCase",
		route{method: http.MethodPatch, path: cs.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateCaseRequest{Case: cs, UpdateMask: m}, out)
}

// transition calls one of the custom methods, e.g. "Submit" on ":submit".
func (c *client) transition(method string, req interface {
	proto.Message
	GetName() string
}) (*pb.Case, error) {
	out := &pb.Case{}
	return out, c.call("CaseService/"+method+"Case", post(req.GetName()+":"+strings.ToLower(method), req), req, out)
}

func (c *client) Submit(name, etag string) (*pb.Case, error) {
	return c.transition("Submit", &pb.SubmitCaseRequest{Name: name, Etag: etag})
}

func (c *client) Accept(name string) (*pb.Case, error) {
	return c.transition("Accept", &pb.AcceptCaseRequest{Name: name})
}

func (c *client) Reject(name, reason string) (*pb.Case, error) {
	return c.transition("Reject", &pb.RejectCaseRequest{Name: name, Reason: reason})
}

func (c *client) Assign(name, assignee string) (*pb.Case, error) {
	return c.transition("Assign", &pb.AssignCaseRequest{Name: name, Assignee: assignee})
}

func (c *client) Start(name string) (*pb.Case, error) {
	return c.transition("Start", &pb.StartCaseRequest{Name: name})
}

// Resolve sends outcome as given: nil sends none.
func (c *client) Resolve(name string, outcome *pb.CaseOutcome) (*pb.Case, error) {
	return c.transition("Resolve", &pb.ResolveCaseRequest{Name: name, Outcome: outcome})
}

func (c *client) Close(name string) (*pb.Case, error) {
	return c.transition("Close", &pb.CloseCaseRequest{Name: name})
}

func (c *client) Reopen(name, reason string) (*pb.Case, error) {
	return c.transition("Reopen", &pb.ReopenCaseRequest{Name: name, Reason: reason})
}

// Withdraw withdraws at the applicant's request (WITHDRAWAL_REASON).
func (c *client) Withdraw(name, reason string) (*pb.Case, error) {
	return c.WithdrawFor(name, pb.WithdrawalReason_WITHDRAWAL_REASON_APPLICANT_REQUEST, reason)
}

func (c *client) WithdrawFor(name string, code pb.WithdrawalReason, reason string) (*pb.Case, error) {
	return c.transition("Withdraw", &pb.WithdrawCaseRequest{Name: name, Reason: reason, ReasonCode: code})
}

// RejectFor rejects with a reason code, as rejecting an accepted case needs.
func (c *client) RejectFor(name string, code pb.RejectionReason, reason string) (*pb.Case, error) {
	return c.transition("Reject", &pb.RejectCaseRequest{Name: name, Reason: reason, ReasonCode: code})
}

// custom calls a custom method whose RPC is method and whose HTTP verb is
// verb (":requestMaterials").
func (c *client) custom(method, verb string, req interface {
	proto.Message
	GetName() string
}) (*pb.Case, error) {
	out := &pb.Case{}
	return out, c.call("CaseService/"+method, post(req.GetName()+":"+verb, req), req, out)
}

func (c *client) RequestMaterials(name string, materials []string, due *date.Date) (*pb.Case, error) {
	return c.custom("RequestMaterials", "requestMaterials", &pb.RequestMaterialsRequest{Name: name, MissingMaterials: materials, DueDate: due})
}

func (c *client) SupplyMaterials(name string) (*pb.Case, error) {
	return c.custom("SupplyMaterials", "supplyMaterials", &pb.SupplyMaterialsRequest{Name: name})
}

func (c *client) DecideEligibility(name string, eligible bool, policy, note string) (*pb.Case, error) {
	return c.custom("DecideEligibility", "decideEligibility",
		&pb.DecideEligibilityRequest{Name: name, Eligible: eligible, Policy: policy, Note: note})
}

func (c *client) Terminate(name string, ground pb.TerminationGround, reason string) (*pb.Case, error) {
	return c.custom("TerminateCase", "terminate", &pb.TerminateCaseRequest{Name: name, Ground: ground, Reason: reason})
}

func (c *client) FileObjection(name, note string) (*pb.Case, error) {
	return c.custom("FileObjection", "fileObjection", &pb.FileObjectionRequest{Name: name, Note: note})
}

func (c *client) DecideObjection(name string, result pb.ObjectionResult, note string) (*pb.Case, error) {
	return c.custom("DecideObjection", "decideObjection", &pb.DecideObjectionRequest{Name: name, Result: result, Note: note})
}

func (c *client) CreateNote(parent, body string) (*pb.Note, error) {
	n := &pb.Note{Body: body}
	out := &pb.Note{}
	return out, c.call("CaseService/CreateNote", post(parent+"/notes", n), &pb.CreateNoteRequest{Parent: parent, Note: n}, out)
}

func (c *client) ListNotes(parent string) (*pb.ListNotesResponse, error) {
	out := &pb.ListNotesResponse{}
	return out, c.call("CaseService/ListNotes", get(parent+"/notes", nil), &pb.ListNotesRequest{Parent: parent}, out)
}

func (c *client) History(parent string) (*pb.ListCaseHistoryResponse, error) {
	out := &pb.ListCaseHistoryResponse{}
	return out, c.call("CaseService/ListCaseHistory", get(parent+"/history", nil), &pb.ListCaseHistoryRequest{Parent: parent}, out)
}

// allCases pages through a list with pageSize, checking that no page is
// larger, and returns every case in order and the number of pages.
func (c *client) allCases(req *pb.ListCasesRequest) ([]*pb.Case, int) {
	c.t.Helper()
	req = proto.Clone(req).(*pb.ListCasesRequest)
	var all []*pb.Case
	for pages := 1; ; pages++ {
		resp := must(c.ListCases(req)).ok(c.t)
		if req.GetPageSize() > 0 && len(resp.GetCases()) > int(req.GetPageSize()) {
			c.t.Fatalf("page %d has %d cases, more than pageSize %d", pages, len(resp.GetCases()), req.GetPageSize())
		}
		all = append(all, resp.GetCases()...)
		if resp.GetNextPageToken() == "" {
			return all, pages
		}
		if pages > 100 {
			c.t.Fatalf("list does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
}
