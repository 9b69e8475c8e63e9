package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/fengdu-county/casework/service"
)

// recoverer turns a panic into INTERNAL instead of killing the server. The
// stack goes to the log; the panic value does not, as it may hold request data.
func recoverer(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

// streamRecoverer is recoverer for streaming calls.
func streamRecoverer(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

// callInfo is what the access log may say about a call beyond its method
// and code. accessLog runs before authentication, so it hands this down in
// the context for the authenticator to fill in.
type callInfo struct {
	principal string // the principal's ID: never a person's name or ID number
	requestID string
}

type callInfoKey struct{}

func callInfoFrom(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return ci
}

// accessLog records each call's method, code, duration, principal and
// request id: never request or response bodies, which carry personal data.
func accessLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ci := &callInfo{}
		resp, err := handler(context.WithValue(ctx, callInfoKey{}, ci), req)
		code := status.Code(err)
		level := slog.LevelInfo
		if code == codes.Internal || code == codes.Unknown {
			level = slog.LevelError
		}
		log.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start),
			"principal", ci.principal, "request_id", ci.requestID)
		return resp, err
	}
}

// deadline gives every call a deadline no later than max from now, whether
// or not the client set one, so no request can hold a connection forever.
func deadline(max time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > max {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, max)
			defer cancel()
		}
		return handler(ctx, req)
	}
}

// validate checks every request before a handler sees it: first that no
// string anywhere in it holds a control or bidi formatting character (a
// value that may not be stored at all, whatever else is wrong), then its
// protovalidate rules. Both errors are mapped to INVALID_ARGUMENT naming the
// fields by ToStatus.
func validate(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := service.CheckText(m); err != nil {
				return nil, err
			}
			if err := v.Validate(m); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// serverOptions returns the interceptor chains of a server. Order matters:
// the recoverer and access log see everything, errors are mapped before the
// log reads their code, and nothing is validated for a caller not yet let in.
func serverOptions(log *slog.Logger, v protovalidate.Validator, timeout time.Duration, auth *authenticator,
	lookups *lookupGuard, requests service.RequestStore, requestTTL time.Duration, trustForwarded bool) []grpc.ServerOption {
	if requestTTL <= 0 {
		requestTTL = 24 * time.Hour
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(
			recoverer(log),
			accessLog(log),
			deadline(timeout),
			service.ErrorInterceptor(log),
			auth.unary(trustForwarded),
			lookups.unary(),
			auth.refusals(),
			validate(v),
			// Last: only a valid request by a known caller is recorded.
			service.Idempotency(requests, requestTTL),
		),
		grpc.ChainStreamInterceptor(
			streamRecoverer(log),
			service.StreamErrorInterceptor(log),
			auth.stream(trustForwarded),
		),
	}
}
