package e2e

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// testErrorReasons: the errors no handler makes (refused credentials and
// roles, the gateway's own: an unknown path, a method a path does not
// take, a body that is not JSON) carry an ErrorInfo whose reason is a
// value of ErrorReason, and the metadata names what the error is about.
func testErrorReasons(t *testing.T, e *env) {
	httpErr := func(t *testing.T, hc *http.Client, method, path, body string) (int, *status.Status) {
		t.Helper()
		var rd *strings.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		var code int
		var out []byte
		var err error
		if rd != nil {
			code, _, out, err = e.doHTTP(t, hc, e.httpBase+path, method, rd, int64(len(body)), nil)
		} else {
			code, _, out, err = e.doHTTP(t, hc, e.httpBase+path, method, nil, 0, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		var sp spb.Status
		if err := protojson.Unmarshal(out, &sp); err != nil {
			t.Fatalf("%s %s: %d %s is not a google.rpc.Status: %v", method, path, code, out, err)
		}
		st := status.FromProto(&sp)
		wantReasons(t, st)
		return code, st
	}
	reason := func(st *status.Status) *errdetails.ErrorInfo {
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				return info
			}
		}
		return &errdetails.ErrorInfo{}
	}
	for _, tc := range []struct {
		name         string
		hc           *http.Client
		method, path string
		body         string
		http         int
		reason       pb.ErrorReason
	}{
		{"no_credentials", e.httpAs(""), "GET", "/v1/cases", "", http.StatusUnauthorized, pb.ErrorReason_MISSING_CREDENTIALS},
		{"bad_credentials", e.httpAs("not-a-token"), "GET", "/v1/cases", "", http.StatusUnauthorized, pb.ErrorReason_UNAUTHENTICATED},
		{"unknown_path", nil, "GET", "/v1/nowhere/at/all", "", http.StatusNotFound, pb.ErrorReason_ROUTE_NOT_FOUND},
		{"method_not_taken", nil, "PUT", "/v1/towns", "{}", 0, pb.ErrorReason_METHOD_NOT_ALLOWED},
		{"not_json", nil, "POST", "/v1/households", `{"townCode": `, http.StatusBadRequest, pb.ErrorReason_MALFORMED_REQUEST},
		{"event_type_typo", nil, "GET", "/v1/events?eventTypes=SubmitCsae", "", http.StatusBadRequest, pb.ErrorReason_INVALID_ARGUMENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st := httpErr(t, tc.hc, tc.method, tc.path, tc.body)
			if (tc.http != 0 && code != tc.http) || reason(st).GetReason() != tc.reason.String() {
				t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, code, reason(st).GetReason(), tc.http, tc.reason)
			}
		})
	}

	t.Run("role_refused_names_the_method", func(t *testing.T) {
		code, st := httpErr(t, e.httpAs(e.roleToken(t, principal.Auditor)), "POST", "/v1/households", `{}`)
		info := reason(st)
		if code != http.StatusForbidden || info.GetReason() != pb.ErrorReason_PERMISSION_DENIED.String() ||
			info.GetMetadata()["method"] != "/casework.v1.HouseholdService/CreateHousehold" {
			t.Errorf("%d %v", code, info)
		}
	})

	t.Run("duplicate_names_the_household_seen", func(t *testing.T) {
		hs := pb.NewHouseholdServiceClient(e.conn)
		h := e.newHousehold()
		created := must(hs.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: h})).ok(t)
		dup := e.newHousehold(func(d *pb.Household) { d.Servicemember.IdNumber = h.GetServicemember().GetIdNumber() })
		st := must(hs.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: dup})).fails(t, codes.AlreadyExists)
		if got := reason(st).GetMetadata()["resource"]; got != created.GetName() {
			t.Errorf("ALREADY_EXISTS names %q, want %s", got, created.GetName())
		}
		// A caseworker of another town learns nothing about it.
		other := pb.NewHouseholdServiceClient(e.dial(t, e.token(t, "e2e-caseworker-b", []principal.Role{principal.Caseworker}, townB)))
		dup.TownCode = townB
		st = must(other.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: dup})).fails(t, codes.PermissionDenied)
		if info := reason(st); info.GetReason() != pb.ErrorReason_CONFLICT_OUTSIDE_SCOPE.String() || len(info.GetMetadata()) != 0 {
			t.Errorf("a conflict outside the caller's towns answers %v", info)
		}
	})

	t.Run("miss_names_the_resource", func(t *testing.T) {
		name := "cases/01a2f0c4-6d1e-7b3a-9c55-3e8f1a2b4c6d"
		st := must(pb.NewCaseServiceClient(e.conn).GetCase(ctxFor(t), &pb.GetCaseRequest{Name: name})).fails(t, codes.NotFound)
		if got := reason(st).GetMetadata()["resource"]; got != name {
			t.Errorf("NOT_FOUND names %q, want %s", got, name)
		}
	})

	t.Run("grpc_unknown_method", func(t *testing.T) {
		err := e.conn.Invoke(ctxFor(t), "/casework.v1.CaseService/NoSuchMethod", &pb.GetCaseRequest{}, &pb.Case{})
		st := status.Convert(err)
		if st.Code() == codes.OK {
			t.Fatal("an unknown method succeeded")
		}
		wantReasons(t, st)
	})
}
