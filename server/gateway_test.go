package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

const secret = "500230199001011237"

func TestDecoderNamesTheFieldNotTheValue(t *testing.T) {
	dec := quietJSON{&runtime.JSONPb{}}
	for _, tc := range []struct {
		name, body string
		into       func() any
		path, want string // want: a fragment of the problem
	}{
		{"string as number", `{"servicemember":{"idNumber":` + secret + `}}`, func() any { return new(*pb.Household) },
			"servicemember.idNumber", "must be a JSON string"},
		{"string as object", `{"phone":{"n":"` + secret + `"}}`, func() any { return new(*pb.Household) }, "phone", "must be a JSON string"},
		{"enum", `{"category":"` + secret + `"}`, func() any { return new(*pb.Household) }, "category", "must be one of HOUSEHOLD_CATEGORY_"},
		{"bool", `{"hardship":"` + secret + `"}`, func() any { return new(*pb.Household) }, "hardship", "true or false"},
		{"nested message", `{"birthDate":{"year":"` + secret + `"}}`, func() any { return new(*pb.Member) }, "birthDate.year", "32-bit whole number"},
		{"message as string", `{"servicemember":"` + secret + `"}`, func() any { return new(*pb.Household) }, "servicemember", "must be a JSON object"},
		{"list item", `{"requests":[{},{"household":{"servicemember":{"idNumber":` + secret + `}}}]}`,
			func() any { return &pb.BatchCreateHouseholdsRequest{} }, "requests[1].household.servicemember.idNumber", "must be a JSON string"},
		{"enum deep in a batch", `{"requests":[{},{"household":{"servicemember":{"serviceBranch":"SERVICE_BRANCH_MARINES"}}}]}`,
			func() any { return &pb.BatchCreateHouseholdsRequest{} }, "requests[1].household.servicemember.serviceBranch", "must be one of SERVICE_BRANCH_UNSPECIFIED, SERVICE_BRANCH_ARMY"},
		{"wrong type deep in a batch", `{"requests":[{},{},{"household":{"hardship":"yes"}}]}`,
			func() any { return &pb.BatchCreateHouseholdsRequest{} }, "requests[2].household.hardship", "true or false"},
		{"list as object", `{"requests":{"x":"` + secret + `"}}`, func() any { return &pb.BatchCreateHouseholdsRequest{} }, "requests", "must be a JSON array"},
		{"repeated string", `{"names":["a",` + secret + `]}`, func() any { return &pb.BatchGetHouseholdsRequest{} }, "names[1]", "must be a JSON string"},
		{"unknown key", `{"servicemember":{"` + secret + `":1}}`, func() any { return new(*pb.Household) }, "servicemember", "a field the API does not have"},
		{"twice by two names", `{"idNumber":"a","id_number":"` + secret + `"}`, func() any { return &pb.LookupHouseholdRequest{} }, "idNumber", "more than once"},
		{"timestamp", `{"webhook":{"createTime":"` + secret + `"}}`, func() any { return &pb.CreateWebhookRequest{} }, "webhook.createTime", "RFC 3339"},
		{"update mask", `{"updateMask":` + secret + `}`, func() any { return &pb.UpdateHouseholdRequest{} }, "updateMask", "field paths"},
		{"oneof twice", `{"legalAid":{},"schoolEnrollment":{"schoolYear":"` + secret + `"}}`, func() any { return new(*pb.Case) }, "schoolEnrollment", "only one"},
		{"not an object", `[` + secret + `]`, func() any { return new(*pb.Household) }, "", "must be a JSON object"},
		{"not JSON", `{"phone": ` + secret + `x}`, func() any { return new(*pb.Household) }, "", "not valid JSON"},
		{"cut short", `{"phone":"` + secret, func() any { return new(*pb.Household) }, "", "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dec.NewDecoder(strings.NewReader(tc.body)).Decode(tc.into())
			if err == nil {
				t.Fatal("decoded")
			}
			// As the generated handlers hand it on.
			msg := status.Errorf(codes.InvalidArgument, "%v", err).Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, secret[:8]) {
				t.Errorf("error repeats the value: %s", msg)
			}
			fe, ok := parseFieldError(status.Convert(status.Errorf(codes.InvalidArgument, "%v", err)).Message())
			if !ok || fe.where != "body" || fe.path != tc.path || !strings.Contains(fe.problem, tc.want) {
				t.Errorf("error %q, want body field %q: …%s…", err, tc.path, tc.want)
			}
		})
	}
	// A body that fits decodes as JSONPb decodes it; an empty one is EOF.
	var h *pb.Household
	if err := dec.NewDecoder(strings.NewReader(`{"servicemember":{"idNumber":"x"},"phone":"1"}`)).Decode(&h); err != nil || h.GetPhone() != "1" {
		t.Errorf("a good body: %v, %v", h, err)
	}
	if err := dec.NewDecoder(strings.NewReader(``)).Decode(&h); err == nil || err.Error() != "EOF" {
		t.Errorf("an empty body: %v, want io.EOF", err)
	}
}

func TestQueryParserNamesTheParameterNotTheValue(t *testing.T) {
	p := &quietQuery{}
	for _, tc := range []struct {
		query      string
		msg        proto.Message
		path, want string
	}{
		{"pageSize=" + secret, &pb.ListCasesRequest{}, "page_size", "32-bit whole number"},
		{"page_size=" + secret + "&filter=x", &pb.ListCasesRequest{}, "page_size", "32-bit whole number"},
		{"pageSize=1&pageSize=" + secret, &pb.ListCasesRequest{}, "page_size", "more than once"},
		{"pageSize=1&page_size=2", &pb.ListCasesRequest{}, "page_size", "more than once"},
		{"view=" + secret, &pb.GetHouseholdRequest{}, "view", "VIEW_MASKED"},
		{"showDeleted=" + secret, &pb.ListHouseholdsRequest{}, "show_deleted", "true or false"},
		{"after=" + secret + "00", &pb.ListEventsRequest{}, "after", "64-bit"},
		{"pageSize.x=" + secret, &pb.ListCasesRequest{}, "page_size", "does not name a field"},
	} {
		values, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Parse(tc.msg, values, &utilities.DoubleArray{})
		if err == nil {
			t.Errorf("%s: parsed", tc.path)
			continue
		}
		if strings.Contains(err.Error(), secret[:8]) {
			t.Errorf("%s: error repeats the value: %v", tc.path, err)
		}
		fe, ok := parseFieldError(err.Error())
		if !ok || fe.where != "query" || fe.path != tc.path || !strings.Contains(fe.problem, tc.want) {
			t.Errorf("error %q, want query field %q: …%s…", err, tc.path, tc.want)
		}
	}
	// Good parameters parse as the gateway's own parser parses them, and
	// unknown ones are still ignored.
	var req pb.ListHouseholdsRequest
	values := url.Values{"pageSize": {"7"}, "showDeleted": {"true"}, "colour": {secret}}
	if err := p.Parse(&req, values, &utilities.DoubleArray{}); err != nil || req.GetPageSize() != 7 || !req.GetShowDeleted() {
		t.Errorf("good query: %v, %v", &req, err)
	}
}

// answer runs the error handler as the gateway would and decodes the body.
func answer(t *testing.T, ctx context.Context, err error) (int, *status.Status, string) {
	t.Helper()
	mux := runtime.NewServeMux()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/households", nil)
	gatewayErrors(ctx, mux, &runtime.JSONPb{}, w, r, err)
	var sp spb.Status
	if err := protojson.Unmarshal(w.Body.Bytes(), &sp); err != nil {
		t.Fatalf("answer is not a google.rpc.Status: %v: %s", err, w.Body)
	}
	return w.Code, status.FromProto(&sp), w.Body.String()
}

func TestGatewayErrorsRewritesOnlyItsOwn(t *testing.T) {
	ctx, err := runtime.AnnotateContext(context.Background(), runtime.NewServeMux(),
		httptest.NewRequest(http.MethodPost, "/v1/households", nil),
		"/casework.v1.HouseholdService/CreateHousehold", runtime.WithHTTPPathPattern("/v1/households"))
	if err != nil {
		t.Fatal(err)
	}
	// The services' statuses come back marked, and pass unchanged, with
	// or without details, whatever their text.
	for _, st := range []*status.Status{
		status.New(codes.Unauthenticated, "missing credentials"),
		status.New(codes.InvalidArgument, "household.town_code: must be a nine-digit town code"),
		status.New(codes.NotFound, "resource not found"),
	} {
		code, got, _ := answer(t, ctx, &serverStatus{st: st})
		if !proto.Equal(got.Proto(), st.Proto()) || code != runtime.HTTPStatusFromCode(st.Code()) {
			t.Errorf("server status %v answered as %d %v", st, code, got)
		}
	}
	rl, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{})
	w := httptest.NewRecorder()
	gatewayErrors(ctx, runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest(http.MethodGet, "/v1/cases", nil), &serverStatus{st: rl})
	if w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
	}

	// The gateway's own errors are rewritten, whatever they quote.
	for _, tc := range []struct {
		err         error
		code        int
		field, info string
	}{
		{status.Errorf(codes.InvalidArgument, "%v", &fieldError{where: "body", path: "servicemember.id_number", problem: "must be a JSON string"}),
			400, "household.servicemember.id_number", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "%v", &fieldError{where: "body", problem: "is not valid JSON"}), 400, "household", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "%v", &fieldError{where: "query", path: "page_size", problem: "must be a 32-bit whole number"}),
			400, "page_size", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "type mismatch, parameter: %s, error: %v", "name", "bad value "+secret), 400, "name", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "invalid URL escape %q", "%"+secret), 400, "query", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "invalid grpc-timeout: %s", secret), 400, "Grpc-Timeout", "MALFORMED_REQUEST"},
		{status.Errorf(codes.InvalidArgument, "proto: invalid value for string field idNumber: %s", secret), 400, "request", "MALFORMED_REQUEST"},
		{&runtime.HTTPStatusError{HTTPStatus: 400, Err: status.Error(codes.InvalidArgument, secret)}, 400, "path", "MALFORMED_REQUEST"},
		{status.Error(codes.NotFound, "Not Found"), 404, "", "ROUTE_NOT_FOUND"},
		{status.Error(codes.Internal, "failed to marshal "+secret), 500, "", "GATEWAY_ERROR"},
	} {
		code, st, body := answer(t, ctx, tc.err)
		if strings.Contains(body, secret[:8]) {
			t.Errorf("%v: the answer repeats the value: %s", tc.err, body)
		}
		if code != tc.code {
			t.Errorf("%v: HTTP %d, want %d", tc.err, code, tc.code)
		}
		var fields []string
		reason, domain := "", ""
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.BadRequest:
				for _, v := range d.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			case *errdetails.ErrorInfo:
				reason, domain = d.GetReason(), d.GetDomain()
			}
		}
		if tc.field != "" && (len(fields) != 1 || fields[0] != tc.field) {
			t.Errorf("%v: BadRequest names %q, want %q", tc.err, fields, tc.field)
		}
		if reason != tc.info || domain != "casework.fengdu.gov.cn" {
			t.Errorf("%v: ErrorInfo %s/%s, want %s/casework.fengdu.gov.cn", tc.err, reason, domain, tc.info)
		}
	}
}

// A body that fills the whole request names its fields from the root, and
// itself as "body".
func TestGatewayErrorsWholeRequestBody(t *testing.T) {
	ctx, err := runtime.AnnotateContext(context.Background(), runtime.NewServeMux(),
		httptest.NewRequest(http.MethodPost, "/v1/households:batchCreate", nil),
		"/casework.v1.HouseholdService/BatchCreateHouseholds", runtime.WithHTTPPathPattern("/v1/households:batchCreate"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"": "body", "requests[0].household.phone": "requests[0].household.phone"} {
		_, st, _ := answer(t, ctx, status.Errorf(codes.InvalidArgument, "%v", &fieldError{where: "body", path: path, problem: "x"}))
		var got []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					got = append(got, v.GetField())
				}
			}
		}
		if len(got) != 1 || got[0] != want || st.Message() != want+": x" {
			t.Errorf("body path %q: %q, message %q; want %q", path, got, st.Message(), want)
		}
	}
}

// Whatever comes back over the gateway's connection is marked as the
// services', and only that.
func TestTheConnectionMarksServerErrors(t *testing.T) {
	invoke := func(err error) error {
		return markServerErrors(context.Background(), "/m", nil, nil, nil,
			func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return err })
	}
	var marked *serverStatus
	if err := invoke(status.Error(codes.AlreadyExists, "household already exists")); !errors.As(err, &marked) ||
		marked.st.Code() != codes.AlreadyExists || status.Code(err) != codes.AlreadyExists {
		t.Errorf("an error from the invoker: %v, want it marked", err)
	}
	if err := invoke(nil); err != nil {
		t.Errorf("success: %v", err)
	}
}
