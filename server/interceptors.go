package server

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/metrics"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/service"
)

// step is one thing every call passes through. A step has a unary and a
// streaming form, and both chains are built from one list (steps), so a
// stream cannot silently miss what a unary call gets. A step that does not
// apply to streams says why in noStream.
type step struct {
	name     string
	unary    grpc.UnaryServerInterceptor
	stream   grpc.StreamServerInterceptor
	noStream string
}

// steps is the chain, outermost first. Order matters: the recoverer and
// access log see everything, errors are mapped before the log reads their
// code, nothing is validated for a caller not yet let in, and only a valid
// request by a known caller is recorded for retries.
func steps(log *slog.Logger, m *metrics.Metrics, v protovalidate.Validator, timeout time.Duration, auth *authenticator,
	lookups *lookupGuard, requests RequestStore, requestTTL time.Duration, trustForwarded bool) []step {
	if requestTTL <= 0 {
		requestTTL = 24 * time.Hour
	}
	// Only the gateway's in-process server trusts x-forwarded-for, so that
	// tells the transport a call came by.
	calls := callRecorder{log: log, metrics: m, transport: "grpc"}
	if trustForwarded {
		calls.transport = "http"
	}
	return []step{
		{name: "recover", unary: recoverUnary(log), stream: recoverStream(log)},
		{name: "access log", unary: calls.unary, stream: calls.stream},
		{name: "deadline", unary: deadline(timeout),
			noStream: "a stream follows the feed for hours; it ends with its credential (bindToCredential) or the server"},
		{name: "map errors", unary: mapErrorsUnary(log), stream: mapErrorsStream(log)},
		{name: "authenticate", unary: auth.unary(trustForwarded), stream: auth.stream(trustForwarded)},
		{name: "lookup budget", unary: lookups.unary(), noStream: "lookups are unary"},
		{name: "audit refusals", unary: auth.refusals(), stream: auth.streamRefusals()},
		{name: "validate", unary: validateUnary(v), stream: validateStream(v)},
		{name: "idempotency", unary: idempotency(requests, requestTTL),
			noStream: "streams change nothing, so there is nothing to replay"},
	}
}

// serverOptions chains the steps for both kinds of call.
func serverOptions(chain []step) []grpc.ServerOption {
	var unary []grpc.UnaryServerInterceptor
	var stream []grpc.StreamServerInterceptor
	for _, s := range chain {
		unary = append(unary, s.unary)
		if s.stream != nil {
			stream = append(stream, s.stream)
		}
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...),
		grpc.UnknownServiceHandler(unknownMethod)}
}

// errUnknownMethod answers a method the server does not have.
var errUnknownMethod = apierr.New(codes.Unimplemented, pb.ErrorReason_METHOD_NOT_ALLOWED,
	"this server has no such method; the client may be newer than the server")

// unknownMethod answers a method no service registers, through the stream
// interceptors like any call, so the answer carries an ErrorInfo as every
// answer does (grpc-go's own has none). The policy, which refuses any
// method it does not list, refuses it first unless the table lists it.
func unknownMethod(any, grpc.ServerStream) error { return errUnknownMethod }

// wrappedStream gives a handler a stream with another context, or with
// each received message checked.
type wrappedStream struct {
	grpc.ServerStream
	ctx  context.Context
	recv func(m any) error // nil: the stream's own
}

func (s *wrappedStream) Context() context.Context { return s.ctx }

func (s *wrappedStream) RecvMsg(m any) error {
	if s.recv != nil {
		return s.recv(m)
	}
	return s.ServerStream.RecvMsg(m)
}

func withContext(ss grpc.ServerStream, ctx context.Context) grpc.ServerStream {
	return &wrappedStream{ServerStream: ss, ctx: ctx}
}

// errPanic stands for a handler that panicked.
var errPanic = apierr.New(codes.Internal, pb.ErrorReason_INTERNAL, "internal error")

// recoverUnary turns a panic into INTERNAL instead of killing the server.
// The stack goes to the log; the panic value does not, as it may hold
// request data.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = errPanic
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = errPanic
			}
		}()
		return handler(srv, ss)
	}
}

// callInfo is what the access log may say about a call beyond its method
// and code. The access log runs before authentication, so it hands this
// down in the context for the authenticator to fill in.
type callInfo struct {
	principal string // the principal's ID: never a person's name or ID number
	requestID string
}

type callInfoKey struct{}

func callInfoFrom(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return ci
}

// callRecorder logs each call and counts it in the metrics.
type callRecorder struct {
	log       *slog.Logger
	metrics   *metrics.Metrics // nil: none
	transport string           // the metrics' label: grpc or http
}

// record logs a call's method, code, duration, principal and request id
// (never request or response bodies, which carry personal data) and counts
// it by method and code.
func (c callRecorder) record(ctx context.Context, method string, start time.Time, ci *callInfo, err error) {
	code, took := status.Code(err), time.Since(start)
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown {
		level = slog.LevelError
	}
	c.log.Log(ctx, level, "rpc", "method", method, "code", code.String(), "duration", took,
		"principal", ci.principal, "request_id", ci.requestID)
	if c.metrics != nil {
		c.metrics.RPC(c.transport, method, code, took)
	}
}

func (c callRecorder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start, ci := time.Now(), &callInfo{}
	resp, err := handler(context.WithValue(ctx, callInfoKey{}, ci), req)
	c.record(ctx, info.FullMethod, start, ci, err)
	return resp, err
}

// stream records a stream when it ends, with how long it was open.
func (c callRecorder) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start, ci := time.Now(), &callInfo{}
	ctx := ss.Context()
	err := handler(srv, withContext(ss, context.WithValue(ctx, callInfoKey{}, ci)))
	c.record(ctx, info.FullMethod, start, ci, err)
	return err
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

// mapError maps a handler's error with apierr.ToStatus and logs the ones
// that are the server's fault. Only the method and the error's types are
// logged: error texts of unknown origin might carry personal data.
func mapError(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	mapped := apierr.ToStatus(err)
	if status.Code(mapped) == codes.Internal {
		log.ErrorContext(ctx, "internal error", "method", method, "error_type", apierr.ErrorType(err))
	}
	return mapped
}

// aboutResource names, in the ErrorInfo's metadata "resource" (AIP-193), the
// resource a miss or a stale etag is about, when the request names one
// resource: the name the caller sent, which the server issued, so it tells
// the caller nothing new (a name in another town is a miss like any other).
func aboutResource(err error, req any) error {
	if !errors.Is(err, repository.ErrNotFound) && !errors.Is(err, repository.ErrEtagMismatch) {
		return err
	}
	if names := requestNames(req); len(names) == 1 {
		return apierr.About(err, "resource", names[0])
	}
	return err
}

func mapErrorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, mapError(ctx, log, info.FullMethod, aboutResource(err, req))
		}
		return resp, nil
	}
}

func mapErrorsStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return mapError(ss.Context(), log, info.FullMethod, handler(srv, ss))
	}
}

// check runs the declarative checks every request passes before a handler
// sees it: no control or bidi characters in any string (service.CheckText),
// then the message's protovalidate rules; the errors are mapped to
// INVALID_ARGUMENT naming the field.
func check(v protovalidate.Validator, req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if err := service.CheckText(m); err != nil {
		return err
	}
	if p, ok := m.(partialBatch); ok && p.GetAllowPartialSuccess() {
		return v.Validate(m, protovalidate.WithFilter(ownFields(m)))
	}
	return v.Validate(m)
}

// partialBatch is an AIP-233 batch request whose caller allows partial
// success: its handler checks each item's rules itself, so that a refused
// item is reported in its result instead of refusing the whole batch.
type partialBatch interface{ GetAllowPartialSuccess() bool }

// ownFields checks the rules of m's own fields (how many items, the
// request id) and none of the messages inside them.
func ownFields(m proto.Message) protovalidate.Filter {
	top := m.ProtoReflect().Descriptor()
	return protovalidate.FilterFunc(func(msg protoreflect.Message, _ protoreflect.Descriptor) bool {
		return msg.Descriptor() == top
	})
}

func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := check(v, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// validateStream checks every message a stream receives, as validateUnary
// checks a unary request.
func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ss.Context(), recv: func(m any) error {
			if err := ss.RecvMsg(m); err != nil {
				return err
			}
			return check(v, m)
		}})
	}
}
