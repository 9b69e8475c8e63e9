package apierr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/repository"
)

// info returns the ErrorInfo of st, failing if it has none of our domain:
// every status the server answers with carries one.
func info(t *testing.T, st *status.Status) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			if i.GetDomain() != Domain {
				t.Errorf("ErrorInfo domain %q, want %q", i.GetDomain(), Domain)
			}
			return i
		}
	}
	t.Fatalf("status %v %q carries no ErrorInfo", st.Code(), st.Message())
	return nil
}

// TestEveryRule walks the mapping table itself, so a row added without a
// code or reason, or shadowed by an earlier row, fails here.
func TestEveryRule(t *testing.T) {
	for _, r := range rules {
		err := fmt.Errorf("wrapped: %w", r.err)
		st := status.Convert(ToStatus(err))
		if st.Code() != r.code || info(t, st).GetReason() != r.reason.String() {
			t.Errorf("%v: %v %s, want %v %s", r.err, st.Code(), info(t, st).GetReason(), r.code, r.reason)
		}
		if r.reason == pb.ErrorReason_ERROR_REASON_UNSPECIFIED || st.Message() == "" {
			t.Errorf("%v: empty reason or message", r.err)
		}
	}
}

func TestToStatus(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	pvErr := v.Validate(&pb.ListCasesRequest{PageSize: 9999})
	tests := []struct {
		name    string
		err     error
		code    codes.Code
		reason  string
		message string // "" : not checked
	}{
		{"nil", nil, codes.OK, "", ""},
		{"domain validation", domain.Invalid("household.town_code", "must be 9 digits"), codes.InvalidArgument, "INVALID_ARGUMENT", "household.town_code: must be 9 digits"},
		{"protovalidate", pvErr, codes.InvalidArgument, "INVALID_ARGUMENT", ""},
		{"precondition", &domain.PreconditionError{Type: "ILLEGAL_TRANSITION", Subject: "cases/x", Description: "cannot"}, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "cannot"},
		{"batch", &domain.BatchError{Items: []domain.ItemError{{Index: 3, Err: repository.ErrNotFound}}}, codes.NotFound, "BATCH_ITEMS_REFUSED", ""},
		{"conflict", &repository.ConflictError{What: "a live household"}, codes.AlreadyExists, "ALREADY_EXISTS", "a live household already exists"},
		{"missing credentials", authn.ErrMissingCredentials, codes.Unauthenticated, "MISSING_CREDENTIALS", "missing credentials"},
		{"refused credential", authn.Refused("token expired"), codes.Unauthenticated, "UNAUTHENTICATED", "invalid credentials: token expired"},
		{"policy", fmt.Errorf("%w: none of the caller's roles may call X", policy.ErrDenied), codes.PermissionDenied, "PERMISSION_DENIED", ""},
		{"typed error", New(codes.ResourceExhausted, pb.ErrorReason_RATE_LIMITED, "slow down", &errdetails.RetryInfo{RetryDelay: durationpb.New(1)}), codes.ResourceExhausted, "RATE_LIMITED", "slow down"},
		{"grpc-go's own status gets an ErrorInfo", status.Error(codes.ResourceExhausted, "grpc: received message larger than max"), codes.ResourceExhausted, "RESOURCE_EXHAUSTED", ""},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED", "deadline exceeded"},
		{"unknown, quoting a value", errors.New(`duplicate key value (id_number)=(500230199001011237)`), codes.Internal, "INTERNAL", "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ToStatus(tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("ToStatus(nil) = %v", got)
				}
				return
			}
			st := status.Convert(got)
			if st.Code() != tc.code {
				t.Errorf("code %v, want %v (%q)", st.Code(), tc.code, st.Message())
			}
			if r := info(t, st).GetReason(); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			if tc.message != "" && st.Message() != tc.message {
				t.Errorf("message %q, want %q", st.Message(), tc.message)
			}
		})
	}
}

// TestRuleRefusals: a refusal by a rule of the table carries the rule's id
// in the ErrorInfo's metadata and in the message; eligibility's reason is
// NOT_ELIGIBLE, a procedure's its own type.
func TestRuleRefusals(t *testing.T) {
	for _, tc := range []struct {
		err    error
		reason string
		rule   domain.RuleID
	}{
		{&domain.NotEligibleError{Rule: domain.RulePlacementNoConscript, Description: "a conscript's family cannot accompany"},
			"NOT_ELIGIBLE", domain.RulePlacementNoConscript},
		{&domain.PreconditionError{Type: "REASON_CODE_REQUIRED", Rule: domain.RuleRejectAfterAccept,
			Description: "rejecting an accepted case needs a reason code (REJECT_AFTER_ACCEPT_REASON)"},
			"REASON_CODE_REQUIRED", domain.RuleRejectAfterAccept},
	} {
		st := status.Convert(ToStatus(tc.err))
		if st.Code() != codes.FailedPrecondition {
			t.Errorf("%v: code %v", tc.err, st.Code())
		}
		i := info(t, st)
		if i.GetReason() != tc.reason || i.GetMetadata()["rule"] != string(tc.rule) {
			t.Errorf("%v: ErrorInfo %v, want reason %s and rule %s", tc.err, i, tc.reason, tc.rule)
		}
		if !strings.Contains(st.Message(), string(tc.rule)) {
			t.Errorf("message %q does not name %s", st.Message(), tc.rule)
		}
	}
	// A precondition of no rule has no metadata.
	if m := info(t, status.Convert(ToStatus(&domain.PreconditionError{Type: "X", Description: "x"}))).GetMetadata(); len(m) != 0 {
		t.Errorf("metadata %v on a precondition of no rule", m)
	}
}

func TestBadRequestNamesTheField(t *testing.T) {
	st := status.Convert(ToStatus(domain.Invalid("household.town_code", "must be 9 digits")))
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && br.GetFieldViolations()[0].GetField() == "household.town_code" {
			return
		}
	}
	t.Fatalf("no BadRequest detail naming the field: %v", st.Details())
}

// TestBadRequestNamesTheRule: every field violation's reason is an
// ErrorReason: RULE_VIOLATED for a rule of the table, whose id the
// description ends with and the ErrorInfo's metadata lists, in a batch too;
// INVALID_FIELD for one of no rule.
func TestBadRequestNamesTheRule(t *testing.T) {
	reasons := func(err error) []string {
		var out []string
		for _, d := range status.Convert(ToStatus(err)).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					out = append(out, v.GetReason())
				}
			}
		}
		return out
	}
	rule := pb.ErrorReason_RULE_VIOLATED.String()
	refused := domain.Refuse(domain.RuleTownCode, "household.town_code", "is not one of the county's towns")
	if got := reasons(refused); len(got) != 1 || got[0] != rule {
		t.Errorf("reasons %q, want [%s]", got, rule)
	}
	st := status.Convert(ToStatus(refused))
	if md := info(t, st).GetMetadata(); md["rule"] != string(domain.RuleTownCode) || md["rules"] != string(domain.RuleTownCode) {
		t.Errorf("metadata %v does not name rule %s", md, domain.RuleTownCode)
	}
	if !strings.Contains(st.Message(), "(rule "+string(domain.RuleTownCode)+")") {
		t.Errorf("message %q does not name the rule", st.Message())
	}
	if got := reasons(domain.Invalid("x", "bad")); len(got) != 1 || got[0] != pb.ErrorReason_INVALID_FIELD.String() {
		t.Errorf("a violation of no rule has reasons %q", got)
	}
	batch := &domain.BatchError{Items: []domain.ItemError{{Index: 2, Err: refused}, {Index: 3, Err: repository.ErrNotFound}}}
	if got := reasons(batch); len(got) != 2 || got[0] != rule || got[1] != "NOT_FOUND" {
		t.Errorf("batch reasons %q, want [%s NOT_FOUND]", got, rule)
	}
}

// TestProtovalidateViolations: a constraint's violation is INVALID_FIELD,
// its description ending with the constraint's id.
func TestProtovalidateViolations(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	st := status.Convert(ToStatus(v.Validate(&pb.ListCasesRequest{PageSize: 9999})))
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fv := br.GetFieldViolations()[0]
			if fv.GetReason() != pb.ErrorReason_INVALID_FIELD.String() || !strings.Contains(fv.GetDescription(), "(constraint int32.") {
				t.Errorf("violation %v", fv)
			}
			return
		}
	}
	t.Fatalf("no BadRequest in %v", st.Details())
}

// TestMetadataNamesTheResource: an existing household the caller may see
// is named in ALREADY_EXISTS, a case in a refused transition, a method in a
// refused call.
func TestMetadataNamesTheResource(t *testing.T) {
	for _, tc := range []struct {
		err       error
		key, want string
	}{
		{&repository.ConflictError{What: "a live household", Resource: "households/h1"}, "resource", "households/h1"},
		{&domain.PreconditionError{Type: "ILLEGAL_TRANSITION", Subject: "cases/01a2f0c4-6d1e-7b3a-9c55-3e8f1a2b4c6d", Description: "cannot"}, "resource", "cases/01a2f0c4-6d1e-7b3a-9c55-3e8f1a2b4c6d"},
		{About(fmt.Errorf("%w: no", policy.ErrDenied), "method", "/casework.v1.CaseService/AcceptCase"), "method", "/casework.v1.CaseService/AcceptCase"},
	} {
		if got := info(t, status.Convert(ToStatus(tc.err))).GetMetadata()[tc.key]; got != tc.want {
			t.Errorf("%v: metadata %s = %q, want %q", tc.err, tc.key, got, tc.want)
		}
	}
	// About adds to the ErrorInfo, never a second one beside it (AIP-193).
	st := status.Convert(ToStatus(About(repository.ErrNotFound, "resource", "households/h1")))
	infos := 0
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			infos++
		}
	}
	if infos != 1 || info(t, st).GetMetadata()["resource"] != "households/h1" {
		t.Errorf("a NOT_FOUND About a resource carries %d ErrorInfos (%v)", infos, st.Details())
	}
	// A conflict the caller may not see names nothing.
	if md := info(t, status.Convert(ToStatus(&repository.ConflictError{What: "x"}))).GetMetadata(); len(md) != 0 {
		t.Errorf("metadata %v on an unnamed conflict", md)
	}
}

// TestCodeReasons: a status made by grpc-go itself is given the reason
// named after its code, for every code.
func TestCodeReasons(t *testing.T) {
	for c := codes.Code(1); c <= codes.Unauthenticated; c++ {
		if r := CodeReason(c); r == pb.ErrorReason_ERROR_REASON_UNSPECIFIED || (r == pb.ErrorReason_UNKNOWN && c != codes.Unknown) {
			t.Errorf("code %v has no reason of its own", c)
		}
	}
}

func TestBatchNamesEachItem(t *testing.T) {
	err := &domain.BatchError{Items: []domain.ItemError{
		{Index: 1, Err: domain.Invalid("household.town_code", "bad")},
		{Index: 4, Err: &repository.ConflictError{What: "a live household"}},
	}}
	st := status.Convert(ToStatus(err))
	if st.Code() != codes.InvalidArgument {
		t.Errorf("mixed batch code %v, want InvalidArgument", st.Code())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 2 || fields[0] != "requests[1].household.town_code" || fields[1] != "requests[4]" {
		t.Errorf("batch violations %v", fields)
	}
}

func TestFault(t *testing.T) {
	for err, want := range map[error]bool{
		repository.ErrNotFound:                                     false,
		domain.Invalid("x", "bad"):                                 false,
		context.DeadlineExceeded:                                   true,
		errors.New("connection reset"):                             true,
		New(codes.Unavailable, pb.ErrorReason_SERVER_STOPPING, ""): true,
	} {
		if got := Fault(err); got != want {
			t.Errorf("Fault(%v) = %v, want %v", err, got, want)
		}
	}
}

// TestItemStatus: a refused item of a partial batch answers what a single
// call would, its fields named under requests[i], with its ErrorInfo.
func TestItemStatus(t *testing.T) {
	st := status.FromProto(ItemStatus(3, domain.Invalid("household.phone", "is too long")))
	if st.Code() != codes.InvalidArgument || info(t, st).GetReason() != "INVALID_ARGUMENT" {
		t.Errorf("item status %v", st.Proto())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 1 || fields[0] != "requests[3].household.phone" {
		t.Errorf("item violations %v, want requests[3].household.phone", fields)
	}
	exists := status.FromProto(ItemStatus(0, &repository.ConflictError{What: "a live household for this servicemember"}))
	if exists.Code() != codes.AlreadyExists || info(t, exists).GetReason() != "ALREADY_EXISTS" {
		t.Errorf("conflicting item status %v", exists.Proto())
	}
}

// TestImportRefused: a refused import answers INVALID_ARGUMENT with
// IMPORT_ROWS_REFUSED, a BadRequest of its first 100 bad cells and the
// whole response.
func TestImportRefused(t *testing.T) {
	resp := &pb.ImportHouseholdsResponse{RowsRefused: 150}
	for i := range 150 {
		resp.Errors = append(resp.Errors, &pb.ImportRowError{Sheet: "户", Row: int32(3 + i), Column: "乡镇（街道）",
			Field: "townCode", Reason: pb.ErrorReason_UNKNOWN_TOWN, Message: "不是本县的乡镇"})
	}
	st := status.Convert(ToStatus(fmt.Errorf("run: %w", ImportRefused(resp))))
	if st.Code() != codes.InvalidArgument || info(t, st).GetReason() != pb.ErrorReason_IMPORT_ROWS_REFUSED.String() {
		t.Fatalf("status %v", st)
	}
	var br *errdetails.BadRequest
	var carried *pb.ImportHouseholdsResponse
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			br = d
		case *pb.ImportHouseholdsResponse:
			carried = d
		}
	}
	if br == nil || len(br.GetFieldViolations()) != 100 || br.GetFieldViolations()[0].GetField() != "户[3].townCode" ||
		br.GetFieldViolations()[0].GetReason() != "UNKNOWN_TOWN" {
		t.Errorf("BadRequest %v", br)
	}
	if carried == nil || len(carried.GetErrors()) != 150 {
		t.Errorf("the response is not carried whole")
	}
}
