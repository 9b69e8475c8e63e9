package convert

import (
	"slices"
	"strings"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// APIKeyToProto renders a key; its state depends on the time, now.
func APIKeyToProto(k *repository.APIKey, now time.Time) *pb.ApiKey {
	out := &pb.ApiKey{
		Name: names.APIKey{ID: k.ID}.String(), Account: k.Account, Towns: slices.Clone(k.Towns),
		ExpireTime: timestamp(k.ExpireTime), RevokeTime: optTimestamp(k.RevokeTime),
		CreateTime: timestamp(k.CreateTime), Creator: k.Creator,
		Approver: k.Approver, ApproveTime: optTimestamp(k.ApproveTime),
	}
	switch {
	case k.RevokeTime != nil:
		out.State = pb.ApiKeyState_API_KEY_STATE_REVOKED
	case !now.Before(k.ExpireTime):
		out.State = pb.ApiKeyState_API_KEY_STATE_EXPIRED
	case k.NeedsApproval && k.ApproveTime == nil:
		out.State = pb.ApiKeyState_API_KEY_STATE_PENDING_APPROVAL
	default:
		out.State = pb.ApiKeyState_API_KEY_STATE_ACTIVE
	}
	for _, r := range k.Roles {
		out.Roles = append(out.Roles, roles.toProto(r))
	}
	return out
}

// APIKeyFromProto copies the writable fields of p onto k. The id, the
// secret's hash and whether the key awaits approval are the caller's.
func APIKeyFromProto(p *pb.ApiKey, k *repository.APIKey) {
	k.Account = p.GetAccount()
	k.Roles = make(repository.List[principal.Role], len(p.GetRoles()))
	for i, r := range p.GetRoles() {
		k.Roles[i] = roles.fromProto(r)
	}
	k.Towns = slices.Clone(p.GetTowns())
	k.ExpireTime = p.GetExpireTime().AsTime()
}

// AuditLogToProto renders an entry of the audit log. Its roles and fields
// are comma-joined in the entry itself (the hash covers them so), and are
// split only here, for the answer.
func AuditLogToProto(r *repository.AuditRecord) *pb.AuditLog {
	return &pb.AuditLog{
		Name: names.AuditLog{Seq: r.Seq}.String(), Sequence: r.Seq, Time: timestamp(r.Time),
		Principal: r.Principal, Roles: splitList(r.Roles), Credential: r.Credential, Method: r.Method,
		Resource: r.Resource, Action: r.Action, RequestId: r.RequestID, ClientAddress: r.ClientAddr,
		Outcome: r.Outcome, Fields: splitList(r.Fields), PreviousHash: r.PrevHash, Hash: r.Hash, KeyId: r.KeyID,
	}
}

// AuditHeadToProto renders the chain's last link; an empty chain has no time.
func AuditHeadToProto(h audit.Head) *pb.AuditLogHead {
	out := &pb.AuditLogHead{Sequence: h.Seq, Hash: h.Hash, KeyId: h.KeyID}
	if !h.Time.IsZero() {
		out.Time = timestamp(h.Time)
	}
	return out
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
