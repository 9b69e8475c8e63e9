package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/repository"
)

// RequestStore keeps the first answers to idempotent requests.
type RequestStore interface {
	FindRequest(ctx context.Context, principal, requestID string) (*repository.RequestRecord, error)
	SaveRequest(ctx context.Context, r *repository.RequestRecord, ttl time.Duration) error
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// ReplayHeader marks an answer replayed from a request id's record rather
// than computed again; the gateway passes it on as
// Grpc-Metadata-Idempotent-Replay.
const ReplayHeader = "idempotent-replay"

// errRequestIDReused: the request id was used for a different request.
var errRequestIDReused = apierr.New(codes.AlreadyExists, pb.ErrorReason_REQUEST_ID_REUSED,
	"this request id was already used for a different request; use a new id for a new request")

// requestIDField is the AIP-155 field every create and custom method has.
const requestIDField = "request_id"

// idempotency makes every request that carries a request_id (AIP-155) safe
// to retry. The handler runs in one transaction together with the write of
// its answer, keyed by the caller and the request id, so the record exists
// exactly when the change does: on any server, after any restart, until it
// expires after ttl. A retry of the same request gets the recorded answer;
// the same id on a different request is ALREADY_EXISTS. Two attempts racing
// each other end the same way: the loser's transaction rolls back on the
// record's key and it answers from the winner's record.
func idempotency(store RequestStore, ttl time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, ok := req.(proto.Message)
		if !ok {
			return handler(ctx, req)
		}
		id := requestIDOf(msg)
		p := principal.FromContext(ctx)
		if id == "" || p == nil {
			return handler(ctx, req)
		}
		hash, err := requestHash(info.FullMethod, msg)
		if err != nil {
			return nil, err
		}
		if resp, found, err := replay(ctx, store, p.ID, id, info.FullMethod, hash); found {
			return resp, err
		}
		var resp any
		txErr := store.InTx(ctx, func(ctx context.Context) error {
			var err error
			if resp, err = handler(ctx, req); err != nil {
				return err
			}
			body, err := proto.Marshal(resp.(proto.Message))
			if err != nil {
				return err
			}
			return store.SaveRequest(ctx, &repository.RequestRecord{
				Principal: p.ID, RequestID: id, Method: info.FullMethod, RequestHash: hash, Response: body,
			}, ttl)
		})
		if txErr == nil {
			return resp, nil
		}
		// A concurrent attempt with the same id may have won, and this one
		// failed for that reason (the record's key, or a stale etag after
		// the winner's change): its answer is the answer.
		if resp, found, err := replay(ctx, store, p.ID, id, info.FullMethod, hash); found {
			return resp, err
		}
		return nil, txErr
	}
}

// replay answers from the record of the caller's request id, if there is one.
func replay(ctx context.Context, store RequestStore, principalID, id, method, hash string) (any, bool, error) {
	rec, err := store.FindRequest(ctx, principalID, id)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	if rec.Method != method || rec.RequestHash != hash {
		return nil, true, errRequestIDReused
	}
	resp, err := newResponse(method)
	if err != nil {
		return nil, true, err
	}
	if err := proto.Unmarshal(rec.Response, resp); err != nil {
		return nil, true, err
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(ReplayHeader, "true"))
	return resp, true, nil
}

// requestIDOf reads the request_id field of msg, if it has one.
func requestIDOf(msg proto.Message) string {
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName(requestIDField)
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(fd).String()
}

// requestHash identifies a request by its method and content, the request
// id left out. Deterministic marshalling makes equal messages hash equal.
func requestHash(method string, msg proto.Message) (string, error) {
	c := proto.Clone(msg)
	m := c.ProtoReflect()
	m.Clear(m.Descriptor().Fields().ByName(requestIDField))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newResponse makes an empty answer of the method's output type.
func newResponse(fullMethod string) (proto.Message, error) {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil, err
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, errors.New("not a method: " + string(name))
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}
