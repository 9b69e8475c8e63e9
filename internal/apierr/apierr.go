// Package apierr is the one place where errors become gRPC statuses. The
// domain, the repository and the access rules return sentinel or typed
// errors; ToStatus maps them, once, on the way out of every call on both
// transports (and the gateway maps its own through it too). Every status it
// makes carries an ErrorInfo of the casework domain, so a client can branch
// on the reason rather than on the text. Errors that belong to no package
// below the handlers (a refused credential, a rate limit, a server
// stopping) are *Error values that carry their status with them.
//
// Every reason is a value of the contract's ErrorReason enum
// (proto/casework/v1/errors.proto): New and Status take the enum, so no
// reason string is written anywhere else, and the domain's precondition
// types are looked up in it (a test holds every one to the enum).
package apierr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// Domain is the ErrorInfo domain of every error this server reports.
const Domain = "casework.fengdu.gov.cn"

// Status is a status with the ErrorInfo of reason first among its details.
func Status(c codes.Code, reason pb.ErrorReason, msg string, details ...protoadapt.MessageV1) *status.Status {
	return statusWith(c, reason, nil, msg, details...)
}

// statusWith is Status with the ErrorInfo's metadata; nil metadata is
// sent as none.
func statusWith(c codes.Code, reason pb.ErrorReason, md map[string]string, msg string, details ...protoadapt.MessageV1) *status.Status {
	st := status.New(c, msg)
	info := &errdetails.ErrorInfo{Reason: reason.String(), Domain: Domain, Metadata: md}
	if d, err := st.WithDetails(append([]protoadapt.MessageV1{info}, details...)...); err == nil {
		return d
	}
	return st
}

// Error is an error that knows the status it is answered with. Its message
// is shown to the client, so it must never hold a submitted value.
type Error struct {
	code    codes.Code
	reason  pb.ErrorReason
	msg     string
	details []protoadapt.MessageV1
}

// New returns an error answered with code, reason and msg.
func New(c codes.Code, reason pb.ErrorReason, msg string, details ...protoadapt.MessageV1) *Error {
	return &Error{code: c, reason: reason, msg: msg, details: details}
}

func (e *Error) Error() string { return e.msg }

// GRPCStatus makes an *Error a status error for grpc-go and ToStatus.
func (e *Error) GRPCStatus() *status.Status { return Status(e.code, e.reason, e.msg, e.details...) }

// Reason is the ErrorInfo reason e is answered with.
func (e *Error) Reason() pb.ErrorReason { return e.reason }

// annotated adds ErrorInfo metadata to the answer to an error, naming what
// the error is about (AIP-193) where the error itself does not carry it.
type annotated struct {
	err error
	md  map[string]string
}

func (a *annotated) Error() string { return a.err.Error() }
func (a *annotated) Unwrap() error { return a.err }

// About returns err whose answer's ErrorInfo names, under key, what it is
// about: "method" for a method refused, "resource" for a resource name.
// The value is shown to the client, so it is never a submitted value.
func About(err error, key, value string) error {
	if err == nil {
		return nil
	}
	return &annotated{err: err, md: map[string]string{key: value}}
}

// rule maps a sentinel error, matched with errors.Is, to its answer. A
// rule without a message shows the error's own text, which the packages
// that define these sentinels write for the client.
type rule struct {
	err    error
	code   codes.Code
	reason pb.ErrorReason
	msg    func(error) string
}

func fixed(msg string) func(error) string { return func(error) string { return msg } }
func own(err error) string                { return err.Error() }

// rules is the mapping of every sentinel error, in the order they are
// tried (a more specific error before one it wraps).
var rules = []rule{
	{authn.ErrMissingCredentials, codes.Unauthenticated, pb.ErrorReason_MISSING_CREDENTIALS, own},
	{authn.ErrUnauthenticated, codes.Unauthenticated, pb.ErrorReason_UNAUTHENTICATED, func(err error) string {
		return "invalid credentials: " + strings.TrimPrefix(err.Error(), authn.ErrUnauthenticated.Error()+": ")
	}},
	{policy.ErrDenied, codes.PermissionDenied, pb.ErrorReason_PERMISSION_DENIED, own},
	{policy.ErrNeedsCountyWide, codes.PermissionDenied, pb.ErrorReason_FEED_NEEDS_COUNTY_WIDE, own},
	{policy.ErrCountyPolicy, codes.PermissionDenied, pb.ErrorReason_COUNTY_POLICY_NEEDS_COUNTY_WIDE, own},
	{policy.ErrNoFullView, codes.PermissionDenied, pb.ErrorReason_FULL_VIEW_DENIED, own},
	{policy.ErrRoleNotGrantable, codes.PermissionDenied, pb.ErrorReason_ROLE_NOT_GRANTABLE, own},
	{repository.ErrSelfApproval, codes.PermissionDenied, pb.ErrorReason_SELF_APPROVAL, own},
	{repository.ErrConflictOutOfScope, codes.PermissionDenied, pb.ErrorReason_CONFLICT_OUTSIDE_SCOPE, own},
	{repository.ErrOutOfScope, codes.PermissionDenied, pb.ErrorReason_OUT_OF_SCOPE, fixed("the resource would be outside your towns")},
	{repository.ErrEventsPruned, codes.FailedPrecondition, pb.ErrorReason_EVENTS_PRUNED,
		fixed("events after this position have been removed by retention; resynchronise: read the resources again, then follow the feed from its head position")},
	{repository.ErrOperationRunning, codes.FailedPrecondition, pb.ErrorReason_FAILED_PRECONDITION, own},
	{repository.ErrNotFound, codes.NotFound, pb.ErrorReason_NOT_FOUND, fixed("resource not found")},
	{repository.ErrEtagMismatch, codes.Aborted, pb.ErrorReason_ETAG_MISMATCH, fixed("the etag does not match the stored resource; read it again and retry")},
	{repository.ErrAlreadyExists, codes.AlreadyExists, pb.ErrorReason_ALREADY_EXISTS, own},
	{sheet.ErrUnreadable, codes.InvalidArgument, pb.ErrorReason_UNREADABLE_FILE, own},
	{domain.ErrAttachmentTooLarge, codes.ResourceExhausted, pb.ErrorReason_ATTACHMENT_TOO_LARGE, own},
	{domain.ErrAttachmentTypeMismatch, codes.InvalidArgument, pb.ErrorReason_ATTACHMENT_TYPE_MISMATCH, own},
	{domain.ErrAttachmentTypeNotAllowed, codes.InvalidArgument, pb.ErrorReason_ATTACHMENT_TYPE_NOT_ALLOWED, own},
	{context.DeadlineExceeded, codes.DeadlineExceeded, pb.ErrorReason_DEADLINE_EXCEEDED, fixed("deadline exceeded")},
	{context.Canceled, codes.Canceled, pb.ErrorReason_CANCELED, fixed("request canceled")},
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
	var a *annotated
	if errors.As(err, &a) {
		return withMetadata(toStatus(a.err), a.md)
	}
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
		return ruleStatus(preconditionReason(p.Type), p.Rule, p.Subject, p.Description,
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: p.Type, Subject: p.Subject, Description: p.Description,
			}}})
	}
	if n, ok := domain.AsNotEligible(err); ok {
		return ruleStatus(pb.ErrorReason_NOT_ELIGIBLE, n.Rule, "", n.Error(),
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: pb.ErrorReason_NOT_ELIGIBLE.String(), Subject: string(n.Rule), Description: n.Description,
			}}})
	}
	var gaps *domain.MissingGapReasons
	if errors.As(err, &gaps) {
		return gapsStatus(gaps)
	}
	var dup *domain.PossibleDuplicateError
	if errors.As(err, &dup) {
		return duplicateStatus(dup)
	}
	var batch *domain.BatchError
	if errors.As(err, &batch) {
		return batchStatus(batch)
	}
	var conflict *repository.ConflictError
	if errors.As(err, &conflict) && conflict.Resource != "" {
		// Only a record the caller may see is named (the repository leaves
		// the name out otherwise), and by its name, never its ID number.
		return statusWith(codes.AlreadyExists, pb.ErrorReason_ALREADY_EXISTS,
			map[string]string{"resource": conflict.Resource}, err.Error())
	}
	// Before the rules: a connection that timed out wraps
	// context.DeadlineExceeded, but it is the database that is missing.
	if repository.Unavailable(err) {
		return Status(codes.Unavailable, pb.ErrorReason_DATABASE_UNAVAILABLE,
			"the database cannot be reached; retry later with the same request_id")
	}
	for _, r := range rules {
		if errors.Is(err, r.err) {
			st := Status(r.code, r.reason, r.msg(err))
			// A refusal under a rule of the table names it, as ruleStatus does.
			if ruled, ok := r.err.(interface{ Rule() domain.RuleID }); ok {
				st = withMetadata(st, map[string]string{"rule": string(ruled.Rule())})
			}
			return st
		}
	}
	return Status(codes.Internal, pb.ErrorReason_INTERNAL, "internal error")
}

// gapsStatus refuses closing a campaign with unvisited targets that lack
// a reason: one PreconditionFailure violation per household named.
func gapsStatus(g *domain.MissingGapReasons) *status.Status {
	pf := &errdetails.PreconditionFailure{}
	for _, h := range g.Households {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
			Type: pb.ErrorReason_GAP_REASONS_MISSING.String(), Subject: h,
			Description: "not visited, and no reason given in gap_reasons",
		})
	}
	return ruleStatus(pb.ErrorReason_GAP_REASONS_MISSING, g.Rule(), g.Campaign, g.Error(), pf)
}

// duplicateStatus refuses a create that may duplicate live records: one
// PreconditionFailure violation per candidate the caller may see, its
// subject the candidate's name, its description masked as a read is.
func duplicateStatus(d *domain.PossibleDuplicateError) *status.Status {
	pf := &errdetails.PreconditionFailure{}
	for _, c := range d.Candidates {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
			Type: pb.ErrorReason_POSSIBLE_DUPLICATE.String(), Subject: c.Resource, Description: c.Description(),
		})
	}
	return ruleStatus(pb.ErrorReason_POSSIBLE_DUPLICATE, d.Rule(), "", d.Error(), pf)
}

// preconditionReason is the reason of a domain precondition's type: the
// domain names its refusals in the words of the enum, without depending on
// the API. A type missing from the enum is answered with the generic
// FAILED_PRECONDITION (TestPreconditionTypesAreReasons fails first).
func preconditionReason(typ string) pb.ErrorReason {
	if v, ok := pb.ErrorReason_value[typ]; ok {
		return pb.ErrorReason(v)
	}
	return pb.ErrorReason_FAILED_PRECONDITION
}

// ruleStatus is a FAILED_PRECONDITION whose ErrorInfo names, under
// metadata "rule", the rule of the table that refuses (when one does), so a
// client can show the rule without parsing the message, and under
// "resource" the resource it is about, when the subject is one.
func ruleStatus(reason pb.ErrorReason, rule domain.RuleID, subject, msg string, details ...protoadapt.MessageV1) *status.Status {
	md := map[string]string{}
	if rule != "" {
		md["rule"] = string(rule)
	}
	if names.Issued(subject) {
		md["resource"] = subject
	}
	if len(md) == 0 {
		md = nil
	}
	return statusWith(codes.FailedPrecondition, reason, md, msg, details...)
}

// withInfo gives a status made elsewhere (by grpc-go itself, say) the
// ErrorInfo every answer carries, its reason the name of its code.
func withInfo(st *status.Status) *status.Status {
	if infoOf(st) != nil {
		return st
	}
	var details []protoadapt.MessageV1
	for _, d := range st.Details() {
		if m, ok := d.(protoadapt.MessageV1); ok {
			details = append(details, m)
		}
	}
	return Status(st.Code(), CodeReason(st.Code()), st.Message(), details...)
}

// CodeReason is the generic reason of a status code, for statuses that
// carry no more specific one: the code's name, which the enum lists.
func CodeReason(c codes.Code) pb.ErrorReason {
	if c == codes.Canceled {
		return pb.ErrorReason_CANCELED // google.rpc.Code spells it CANCELLED
	}
	if v, ok := pb.ErrorReason_value[code.Code(c).String()]; ok {
		return pb.ErrorReason(v)
	}
	return pb.ErrorReason_UNKNOWN
}

func infoOf(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// withMetadata adds md to st's ErrorInfo, keeping what it has.
func withMetadata(st *status.Status, md map[string]string) *status.Status {
	info := infoOf(st)
	if info == nil {
		return st
	}
	all := map[string]string{}
	for k, v := range md {
		all[k] = v
	}
	for k, v := range info.GetMetadata() {
		all[k] = v
	}
	// Every detail but the ErrorInfo, which is made anew with the merged
	// metadata: a status carries one (AIP-193). Details() decodes afresh
	// on each call, so it is told by its type, not its pointer.
	var details []protoadapt.MessageV1
	for _, d := range st.Details() {
		if _, isInfo := d.(*errdetails.ErrorInfo); isInfo {
			continue
		}
		if m, ok := d.(protoadapt.MessageV1); ok {
			details = append(details, m)
		}
	}
	reason := pb.ErrorReason(pb.ErrorReason_value[info.GetReason()])
	return statusWith(st.Code(), reason, all, st.Message(), details...)
}

// badRequest answers invalid fields. Each violation's reason is an
// ErrorReason: RULE_VIOLATED when the field breaks a rule of the table
// (its description ends "(rule ID)", and the ErrorInfo's metadata "rules"
// lists the rules, "rule" the first), INVALID_FIELD otherwise.
func badRequest(vs []domain.Violation) *status.Status {
	br := &errdetails.BadRequest{}
	msg := "invalid argument"
	var rules []string
	for i, v := range vs {
		reason := pb.ErrorReason_INVALID_FIELD
		if v.Rule != "" {
			reason = pb.ErrorReason_RULE_VIOLATED
			if !slices.Contains(rules, string(v.Rule)) {
				rules = append(rules, string(v.Rule))
			}
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field,
			Description: v.Description, Reason: reason.String()})
		if i == 0 {
			msg = v.Field + ": " + v.Description
		}
	}
	var md map[string]string
	if len(rules) > 0 {
		md = map[string]string{"rule": rules[0], "rules": strings.Join(rules, ",")}
	}
	return statusWith(codes.InvalidArgument, pb.ErrorReason_INVALID_ARGUMENT, md, msg, br)
}

// Violations names protovalidate's violations by their field paths, under
// prefix when the validated message sits inside a request. The constraint's
// id ends the description, as a rule's id does, so a client can tell a
// missing field from one too long without parsing the prose.
func Violations(pv *protovalidate.ValidationError, prefix string) []domain.Violation {
	out := make([]domain.Violation, 0, len(pv.Violations))
	for _, v := range pv.Violations {
		desc := v.Proto.GetMessage()
		if id := v.Proto.GetRuleId(); id != "" {
			desc += " (constraint " + id + ")"
		}
		out = append(out, domain.Violation{
			Field:       prefix + protovalidate.FieldPathString(v.Proto.GetField()),
			Description: desc,
		})
	}
	return out
}

// batchStatus describes a refused batch: every refused item appears in the
// BadRequest detail under `requests[i]`, with its own field path where it
// has one. The items' PreconditionFailure violations (a possible
// duplicate's candidates) follow in one PreconditionFailure, each
// description led by its item's `requests[i]`, so that the batch names
// what a single call would. The code is the items' common code, or
// INVALID_ARGUMENT when they differ.
func batchStatus(e *domain.BatchError) *status.Status {
	br := &errdetails.BadRequest{}
	pf := &errdetails.PreconditionFailure{}
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
			if p, ok := d.(*errdetails.PreconditionFailure); ok {
				for _, v := range p.GetViolations() {
					pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
						Type: v.GetType(), Subject: v.GetSubject(), Description: prefix + ": " + v.GetDescription()})
				}
			}
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
			reason := CodeReason(st.Code())
			if info := infoOf(st); info != nil {
				reason = pb.ErrorReason(pb.ErrorReason_value[info.GetReason()])
			}
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: prefix, Description: code.Code(st.Code()).String() + ": " + st.Message(), Reason: reason.String(),
			})
		}
	}
	first := br.FieldViolations[0]
	msg := fmt.Sprintf("%d of the batch's items were refused, nothing was created; first: %s: %s",
		len(e.Items), first.GetField(), first.GetDescription())
	details := []protoadapt.MessageV1{br}
	if len(pf.Violations) > 0 {
		details = append(details, pf)
	}
	return statusWith(common, pb.ErrorReason_BATCH_ITEMS_REFUSED,
		map[string]string{"refused": fmt.Sprint(len(e.Items))}, msg, details...)
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

// maxImportViolations caps the BadRequest of a refused import: the
// ImportHouseholdsResponse beside it lists the rest.
const maxImportViolations = 100

// ImportRefused is the error of an import that wrote nothing because rows
// were bad: INVALID_ARGUMENT with the reason IMPORT_ROWS_REFUSED, a
// BadRequest naming each bad cell as 户[5].servicemember.idNumber (the
// first 100), and the whole response.
func ImportRefused(resp *pb.ImportHouseholdsResponse) *Error {
	br := &errdetails.BadRequest{}
	for _, e := range resp.GetErrors() {
		if len(br.FieldViolations) == maxImportViolations {
			break
		}
		field := fmt.Sprintf("%s[%d]", e.GetSheet(), e.GetRow())
		if e.GetField() != "" {
			field += "." + e.GetField()
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: field, Description: e.GetMessage(), Reason: e.GetReason().String()})
	}
	msg := fmt.Sprintf("%d rows of the file were refused, nothing was imported", resp.GetRowsRefused())
	return New(codes.InvalidArgument, pb.ErrorReason_IMPORT_ROWS_REFUSED, msg, br, resp)
}

// Reason is the ErrorInfo reason err is answered with, for reports that
// list refusals without a status each (an import's rows).
func Reason(err error) pb.ErrorReason {
	st := toStatus(err)
	if info := infoOf(st); info != nil {
		return pb.ErrorReason(pb.ErrorReason_value[info.GetReason()])
	}
	return CodeReason(st.Code())
}
