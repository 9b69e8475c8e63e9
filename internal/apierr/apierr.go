// Package apierr is the one place where errors become gRPC statuses. The
// domain, the repository and the access rules return sentinel or typed
// errors; ToStatus maps them, once, on the way out of every call on both
// transports (and the gateway maps its own through it too). Every status it
// makes carries an ErrorInfo of the casework domain, so a client can branch
// on the reason rather than on the text. Errors that belong to no package
// below the handlers (a refused credential, a rate limit, a server
// stopping) are *Error values that carry their status with them.
package apierr

import (
	"context"
	"errors"
	"fmt"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/repository"
)

// Domain is the ErrorInfo domain of every error this server reports.
const Domain = "casework.fengdu.gov.cn"

// Status is a status with the ErrorInfo of reason first among its details.
func Status(c codes.Code, reason, msg string, details ...protoadapt.MessageV1) *status.Status {
	st := status.New(c, msg)
	all := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: Domain}}, details...)
	if d, err := st.WithDetails(all...); err == nil {
		return d
	}
	return st
}

// Error is an error that knows the status it is answered with. Its message
// is shown to the client, so it must never hold a submitted value.
type Error struct {
	code    codes.Code
	reason  string
	msg     string
	details []protoadapt.MessageV1
}

// New returns an error answered with code, reason and msg.
func New(c codes.Code, reason, msg string, details ...protoadapt.MessageV1) *Error {
	return &Error{code: c, reason: reason, msg: msg, details: details}
}

func (e *Error) Error() string { return e.msg }

// GRPCStatus makes an *Error a status error for grpc-go and ToStatus.
func (e *Error) GRPCStatus() *status.Status { return Status(e.code, e.reason, e.msg, e.details...) }

// Reason is the ErrorInfo reason e is answered with.
func (e *Error) Reason() string { return e.reason }

// rule maps a sentinel error, matched with errors.Is, to its answer. A
// rule without a message shows the error's own text, which the packages
// that define these sentinels write for the client.
type rule struct {
	err    error
	code   codes.Code
	reason string
	msg    func(error) string
}

func fixed(msg string) func(error) string { return func(error) string { return msg } }
func own(err error) string                { return err.Error() }

// rules is the mapping of every sentinel error, in the order they are
// tried (a more specific error before one it wraps).
var rules = []rule{
	{authn.ErrMissingCredentials, codes.Unauthenticated, "MISSING_CREDENTIALS", own},
	{authn.ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED", func(err error) string {
		return "invalid credentials: " + strings.TrimPrefix(err.Error(), authn.ErrUnauthenticated.Error()+": ")
	}},
	{policy.ErrDenied, codes.PermissionDenied, "PERMISSION_DENIED", own},
	{policy.ErrNeedsCountyWide, codes.PermissionDenied, "FEED_NEEDS_COUNTY_WIDE", own},
	{policy.ErrNoFullView, codes.PermissionDenied, "FULL_VIEW_DENIED", own},
	{policy.ErrRoleNotGrantable, codes.PermissionDenied, "ROLE_NOT_GRANTABLE", own},
	{repository.ErrSelfApproval, codes.PermissionDenied, "SELF_APPROVAL", own},
	{repository.ErrConflictOutOfScope, codes.PermissionDenied, "CONFLICT_OUTSIDE_SCOPE", own},
	{repository.ErrOutOfScope, codes.PermissionDenied, "OUT_OF_SCOPE", fixed("the resource would be outside your towns")},
	{repository.ErrEventsPruned, codes.FailedPrecondition, "EVENTS_PRUNED",
		fixed("events after this position have been removed by retention; resynchronise: read the resources again, then follow the feed from its head position")},
	{repository.ErrNotFound, codes.NotFound, "NOT_FOUND", fixed("resource not found")},
	{repository.ErrEtagMismatch, codes.Aborted, "ETAG_MISMATCH", fixed("the etag does not match the stored resource; read it again and retry")},
	{repository.ErrAlreadyExists, codes.AlreadyExists, "ALREADY_EXISTS", own},
	{context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED", fixed("deadline exceeded")},
	{context.Canceled, codes.Canceled, "CANCELED", fixed("request canceled")},
}

// ToStatus maps err to the status the client gets. Handlers return their
// errors as they are; the server calls this on the way out, for both
// transports. Anything unrecognised is INTERNAL with a fixed message, so no
// internal detail (and no personal data inside one) reaches the client.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	return toStatus(err).Err()
}

func toStatus(err error) *status.Status {
	if st, ok := status.FromError(err); ok {
		return withInfo(st)
	}
	if v, ok := domain.AsValidation(err); ok {
		return badRequest(v.Violations)
	}
	var pv *protovalidate.ValidationError
	if errors.As(err, &pv) {
		return badRequest(Violations(pv, ""))
	}
	if p, ok := domain.AsPrecondition(err); ok {
		return ruleStatus(p.Type, p.Rule, p.Description,
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: p.Type, Subject: p.Subject, Description: p.Description,
			}}})
	}
	if n, ok := domain.AsNotEligible(err); ok {
		return ruleStatus(ReasonNotEligible, n.Rule, n.Error(),
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: ReasonNotEligible, Subject: string(n.Rule), Description: n.Description,
			}}})
	}
	var batch *domain.BatchError
	if errors.As(err, &batch) {
		return batchStatus(batch)
	}
	for _, r := range rules {
		if errors.Is(err, r.err) {
			return Status(r.code, r.reason, r.msg(err))
		}
	}
	return Status(codes.Internal, "INTERNAL", "internal error")
}

// ReasonNotEligible is the ErrorInfo reason of a case the law does not give
// its subject; the metadata's "rule" names the rule that decides.
const ReasonNotEligible = "NOT_ELIGIBLE"

// ruleStatus is a FAILED_PRECONDITION whose ErrorInfo names, under
// metadata "rule", the rule of the table that refuses (when one does), so a
// client can show the rule without parsing the message.
func ruleStatus(reason string, rule domain.RuleID, msg string, details ...protoadapt.MessageV1) *status.Status {
	info := &errdetails.ErrorInfo{Reason: reason, Domain: Domain}
	if rule != "" {
		info.Metadata = map[string]string{"rule": string(rule)}
	}
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(append([]protoadapt.MessageV1{info}, details...)...); err == nil {
		return d
	}
	return st
}

// withInfo gives a status made elsewhere (by grpc-go itself, say) the
// ErrorInfo every answer carries.
func withInfo(st *status.Status) *status.Status {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return st
		}
	}
	var details []protoadapt.MessageV1
	for _, d := range st.Details() {
		if m, ok := d.(protoadapt.MessageV1); ok {
			details = append(details, m)
		}
	}
	return Status(st.Code(), st.Code().String(), st.Message(), details...)
}

func badRequest(vs []domain.Violation) *status.Status {
	br := &errdetails.BadRequest{}
	msg := "invalid argument"
	for i, v := range vs {
		// The reason is the rule of the table the field breaks, when one
		// does: a stable id a client can show or look up (GET /v1/policies).
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field,
			Description: v.Description, Reason: string(v.Rule)})
		if i == 0 {
			msg = v.Field + ": " + v.Description
		}
	}
	return Status(codes.InvalidArgument, "INVALID_ARGUMENT", msg, br)
}

// Violations names protovalidate's violations by their field paths, under
// prefix when the validated message sits inside a request.
func Violations(pv *protovalidate.ValidationError, prefix string) []domain.Violation {
	out := make([]domain.Violation, 0, len(pv.Violations))
	for _, v := range pv.Violations {
		out = append(out, domain.Violation{
			Field:       prefix + protovalidate.FieldPathString(v.Proto.GetField()),
			Description: v.Proto.GetMessage(),
		})
	}
	return out
}

// batchStatus describes a refused batch: every refused item appears in the
// BadRequest detail under `requests[i]`, with its own field path where it
// has one. The code is the items' common code, or INVALID_ARGUMENT when
// they differ.
func batchStatus(e *domain.BatchError) *status.Status {
	br := &errdetails.BadRequest{}
	common := codes.OK
	for _, it := range e.Items {
		st := toStatus(it.Err)
		switch common {
		case codes.OK:
			common = st.Code()
		case st.Code():
		default:
			common = codes.InvalidArgument
		}
		prefix := fmt.Sprintf("requests[%d]", it.Index)
		listed := false
		for _, d := range st.Details() {
			if b, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range b.GetFieldViolations() {
					br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
						Field: prefix + "." + v.GetField(), Description: v.GetDescription(), Reason: v.GetReason(),
					})
					listed = true
				}
			}
		}
		if !listed {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: prefix, Description: code.Code(st.Code()).String() + ": " + st.Message(),
			})
		}
	}
	first := br.FieldViolations[0]
	msg := fmt.Sprintf("%d of the batch's items were refused, nothing was created; first: %s: %s",
		len(e.Items), first.GetField(), first.GetDescription())
	st := status.New(common, msg)
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: "BATCH_ITEMS_REFUSED", Domain: Domain, Metadata: map[string]string{"refused": fmt.Sprint(len(e.Items))}},
		br); err == nil {
		st = d
	}
	return st
}

// ItemStatus is the status of one refused item of a batch that allows
// partial success (AIP-233): what a single call would have answered, with
// its field violations named under `requests[i]` as a refused batch names
// them.
func ItemStatus(i int, err error) *spb.Status {
	st := toStatus(err)
	prefix := fmt.Sprintf("requests[%d]", i)
	var details []protoadapt.MessageV1
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			named := &errdetails.BadRequest{}
			for _, v := range b.GetFieldViolations() {
				named.FieldViolations = append(named.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: prefix + "." + v.GetField(), Description: v.GetDescription(), Reason: v.GetReason()})
			}
			d = named
		}
		if m, ok := d.(protoadapt.MessageV1); ok {
			details = append(details, m)
		}
	}
	out := status.New(st.Code(), st.Message())
	if d, err := out.WithDetails(details...); err == nil {
		out = d
	}
	return out.Proto()
}

// Fault reports whether err is the server's (or the deadline's) rather than
// the request's: a batch item that fails this way fails the whole call.
func Fault(err error) bool {
	switch toStatus(err).Code() {
	case codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.Canceled, codes.Unavailable:
		return true
	}
	return false
}

// ErrorType describes an error by the types in its chain, for logs:
// database errors quote the offending values (an ID number in a unique
// violation), so their text is never logged.
func ErrorType(err error) string {
	var parts []string
	for e := err; e != nil && len(parts) < 5; e = errors.Unwrap(e) {
		parts = append(parts, fmt.Sprintf("%T", e))
	}
	return strings.Join(parts, " <- ")
}
