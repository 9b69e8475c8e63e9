package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/repository"
)

// ErrorDomain is the ErrorInfo domain of the errors this server reports,
// those of the services and those the gateway raises before a call.
const ErrorDomain = "casework.fengdu.gov.cn"

const errorDomain = ErrorDomain

// ToStatus is the one place where errors from the domain, the validator and
// the repository become gRPC statuses. Handlers return their errors as they
// are; the ErrorInterceptor calls this on the way out, for both transports.
// Anything unrecognised is INTERNAL with a fixed message, so no internal
// detail (and no personal data inside one) reaches the client.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if v, ok := domain.AsValidation(err); ok {
		return badRequest(v.Violations)
	}
	var pv *protovalidate.ValidationError
	if errors.As(err, &pv) {
		return badRequest(violations(pv, ""))
	}
	if p, ok := domain.AsPrecondition(err); ok {
		st := status.New(codes.FailedPrecondition, p.Description)
		return withDetails(st,
			&errdetails.ErrorInfo{Reason: p.Type, Domain: errorDomain},
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: p.Type, Subject: p.Subject, Description: p.Description,
			}}})
	}
	var batch *domain.BatchError
	if errors.As(err, &batch) {
		return batchStatus(batch)
	}
	var ahead *positionAheadError
	if errors.As(err, &ahead) {
		return withDetails(status.New(codes.OutOfRange, err.Error()),
			&errdetails.ErrorInfo{Reason: "POSITION_AHEAD", Domain: errorDomain})
	}
	switch {
	case errors.Is(err, repository.ErrEventsPruned):
		return withDetails(status.New(codes.FailedPrecondition,
			"events after this position have been removed by retention; resynchronise: read the resources again, then follow the feed from its head position"),
			&errdetails.ErrorInfo{Reason: "EVENTS_PRUNED", Domain: errorDomain})
	case errors.Is(err, policy.ErrNeedsCountyWide):
		return withDetails(status.New(codes.PermissionDenied, err.Error()),
			&errdetails.ErrorInfo{Reason: "FEED_NEEDS_COUNTY_WIDE", Domain: errorDomain})
	case errors.Is(err, repository.ErrSelfApproval):
		return withDetails(status.New(codes.PermissionDenied, err.Error()),
			&errdetails.ErrorInfo{Reason: "SELF_APPROVAL", Domain: errorDomain})
	case errors.Is(err, policy.ErrRoleNotGrantable):
		return withDetails(status.New(codes.PermissionDenied, err.Error()),
			&errdetails.ErrorInfo{Reason: "ROLE_NOT_GRANTABLE", Domain: errorDomain})
	case errors.Is(err, errWatchStopping):
		return withDetails(status.New(codes.Unavailable, err.Error()),
			&errdetails.ErrorInfo{Reason: "SERVER_STOPPING", Domain: errorDomain})
	case errors.Is(err, repository.ErrConflictOutOfScope):
		return withDetails(status.New(codes.PermissionDenied, err.Error()),
			&errdetails.ErrorInfo{Reason: "CONFLICT_OUTSIDE_SCOPE", Domain: errorDomain})
	case errors.Is(err, repository.ErrOutOfScope):
		return withDetails(status.New(codes.PermissionDenied, "the resource would be outside your towns"),
			&errdetails.ErrorInfo{Reason: "OUT_OF_SCOPE", Domain: errorDomain})
	case errors.Is(err, policy.ErrNoFullView):
		return withDetails(status.New(codes.PermissionDenied, err.Error()),
			&errdetails.ErrorInfo{Reason: "FULL_VIEW_DENIED", Domain: errorDomain})
	case errors.Is(err, repository.ErrNotFound):
		return withDetails(status.New(codes.NotFound, "resource not found"),
			&errdetails.ErrorInfo{Reason: "NOT_FOUND", Domain: errorDomain})
	case errors.Is(err, repository.ErrEtagMismatch):
		return withDetails(status.New(codes.Aborted, "the etag does not match the stored resource; read it again and retry"),
			&errdetails.ErrorInfo{Reason: "ETAG_MISMATCH", Domain: errorDomain})
	case errors.Is(err, errRequestIDReused):
		return withDetails(status.New(codes.AlreadyExists, err.Error()),
			&errdetails.ErrorInfo{Reason: "REQUEST_ID_REUSED", Domain: errorDomain})
	case errors.Is(err, repository.ErrAlreadyExists):
		return withDetails(status.New(codes.AlreadyExists, err.Error()),
			&errdetails.ErrorInfo{Reason: "ALREADY_EXISTS", Domain: errorDomain})
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	return status.Error(codes.Internal, "internal error")
}

func badRequest(vs []domain.Violation) error {
	br := &errdetails.BadRequest{}
	msg := "invalid argument"
	for i, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		if i == 0 {
			msg = v.Field + ": " + v.Description
		}
	}
	return withDetails(status.New(codes.InvalidArgument, msg), br)
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st.Err()
}

// errorType describes an error by the types in its chain. Database errors
// quote the offending values (an ID number in a unique violation), so their
// text is never logged.
func errorType(err error) string {
	var parts []string
	for e := err; e != nil && len(parts) < 5; e = errors.Unwrap(e) {
		parts = append(parts, fmt.Sprintf("%T", e))
	}
	return strings.Join(parts, " <- ")
}

// ErrorInterceptor maps handler errors with ToStatus, and logs the ones that
// are the server's fault. Only the method and code are logged: error texts of
// unknown origin might carry personal data.
func ErrorInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err == nil {
			return resp, nil
		}
		mapped := ToStatus(err)
		if status.Code(mapped) == codes.Internal {
			log.ErrorContext(ctx, "internal error", "method", info.FullMethod, "error_type", errorType(err))
		}
		return nil, mapped
	}
}

// StreamErrorInterceptor is ErrorInterceptor for streaming calls.
func StreamErrorInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if err == nil {
			return nil
		}
		mapped := ToStatus(err)
		if status.Code(mapped) == codes.Internal {
			log.ErrorContext(ss.Context(), "internal error", "method", info.FullMethod, "error_type", errorType(err))
		}
		return mapped
	}
}
