package service

import (
	"context"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// AuditStore is what the audit service needs from storage.
type AuditStore interface {
	ListAuditLogs(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.AuditRecord, *repository.Cursor, error)
	AuditHead(ctx context.Context) (audit.Head, error)
}

// AuditLogs implements pb.AuditServiceServer.
type AuditLogs struct {
	pb.UnimplementedAuditServiceServer
	base
	store AuditStore
}

// NewAuditLogs builds the audit-log service.
func NewAuditLogs(store AuditStore, v protovalidate.Validator, o Options) *AuditLogs {
	return &AuditLogs{base: newBase(v, o), store: store}
}

func (s *AuditLogs) ListAuditLogs(ctx context.Context, req *pb.ListAuditLogsRequest) (*pb.ListAuditLogsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.AuditFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("auditLogs", req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAuditLogs(ctx, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAuditLogsResponse{NextPageToken: s.pages.encode(next, query)}
	for _, r := range rows {
		resp.AuditLogs = append(resp.AuditLogs, &pb.AuditLog{
			Name: names.AuditLog{Seq: r.Seq}.String(), Sequence: r.Seq, Time: timestamp(r.Time),
			Principal: r.Principal, Roles: splitList(r.Roles), Credential: r.Credential, Method: r.Method,
			Resource: r.Resource, Action: r.Action, RequestId: r.RequestID, ClientAddress: r.ClientAddr,
			Outcome: r.Outcome, Fields: splitList(r.Fields), PreviousHash: r.PrevHash, Hash: r.Hash, KeyId: r.KeyID,
		})
	}
	return resp, nil
}

func (s *AuditLogs) GetAuditLogHead(ctx context.Context, _ *pb.GetAuditLogHeadRequest) (*pb.AuditLogHead, error) {
	h, err := s.store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.AuditLogHead{Sequence: h.Seq, Hash: h.Hash, KeyId: h.KeyID}
	if !h.Time.IsZero() {
		out.Time = timestamp(h.Time)
	}
	return out, nil
}
