package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
)

// refusals writes an audit entry for every call refused for reaching
// beyond the caller's rights once it was let in: a write outside its towns
// (403), a full view it may not have (403), and a resource that exists in
// another town (answered 404, exactly as one that does not exist, but
// recorded as the scope refusal it is). The policy table's own refusals
// are recorded by admit. It sits inside the error mapping, so it sees the
// handlers' errors as they are.
func (a *authenticator) refusals() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			a.recordRefusal(ctx, req, err)
		}
		return resp, err
	}
}

// streamRefusals is refusals for streams. A stream's request is read by the
// handler, so a refusal is recorded without a resource.
func (a *authenticator) streamRefusals() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if err != nil {
			a.recordRefusal(ss.Context(), nil, err)
		}
		return err
	}
}

func (a *authenticator) recordRefusal(ctx context.Context, req any, err error) {
	switch {
	case errors.Is(err, repository.ErrOutOfScope), errors.Is(err, repository.ErrConflictOutOfScope):
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeOutOfScope)
	case errors.Is(err, policy.ErrNoFullView):
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeFullViewDenied)
	case errors.Is(err, policy.ErrRoleNotGrantable):
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeRoleNotGrantable)
	case errors.Is(err, repository.ErrSelfApproval):
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeDenied)
	case errors.Is(err, repository.ErrNotFound):
		for _, name := range requestNames(req) {
			exists, lookErr := a.store.ResourceExists(ctx, name)
			if lookErr != nil {
				a.log.ErrorContext(ctx, "checking a refused resource failed", "error_type", fmt.Sprintf("%T", lookErr))
				return
			}
			if exists {
				a.auditRefusal(ctx, name, audit.OutcomeOutOfScope)
				return
			}
		}
	}
}

// requestNames lists the resource names a request refers to: its name,
// parent or names, and the name of the resource an update carries. Only
// names made of server-issued ids are kept (see issuedName): the request
// is the client's, and nothing it typed goes into the audit log unchecked.
func requestNames(req any) []string {
	msg, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	var out []string
	keep := func(v string) {
		if issuedName(v) {
			out = append(out, v)
		}
	}
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && (fd.Name() == "name" || fd.Name() == "parent"):
			keep(m.Get(fd).String())
		case fd.Kind() == protoreflect.StringKind && fd.IsList() && fd.Name() == "names":
			list := m.Get(fd).List()
			for j := 0; j < list.Len(); j++ {
				keep(list.Get(j).String())
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && m.Has(fd):
			sub := m.Get(fd).Message()
			if nf := sub.Descriptor().Fields().ByName("name"); nf != nil && nf.Kind() == protoreflect.StringKind && !nf.IsList() {
				keep(sub.Get(nf).String())
			}
		}
	}
	return out
}
