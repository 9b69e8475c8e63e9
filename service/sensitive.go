package service

import (
	"context"
	"errors"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/audit"
	"github.com/fengdu-county/casework/idnumber"
	"github.com/fengdu-county/casework/policy"
	"github.com/fengdu-county/casework/principal"
)

// errNoFullView refuses VIEW_FULL to a role that may not see unmasked data.
var errNoFullView = errors.New("the full view of ID and phone numbers is for caseworkers and supervisors")

// Auditor writes audit entries that belong to no change.
type Auditor interface {
	AppendAudit(ctx context.Context, e *audit.Entry) error
}

// fullView decides whether a read may return sensitive fields unmasked, and
// if so records that it did before anything is returned: a full view the
// audit log cannot hold is not given.
func fullView(ctx context.Context, a Auditor, view pb.View, resource string, fields ...string) (bool, error) {
	if view != pb.View_VIEW_FULL {
		return false, nil
	}
	if !policy.MayViewFull(principal.FromContext(ctx)) {
		return false, errNoFullView
	}
	e := audit.FromContext(ctx).Entry(audit.ActionFullView, resource, audit.OutcomeOK, fields)
	return true, a.AppendAudit(ctx, e)
}

func maskHousehold(h *pb.Household) *pb.Household {
	if sm := h.GetServicemember(); sm != nil {
		sm.IdNumber = idnumber.Mask(sm.IdNumber)
	}
	h.Phone = idnumber.MaskPhone(h.Phone)
	return h
}

func maskMember(m *pb.Member) *pb.Member {
	m.IdNumber = idnumber.Mask(m.IdNumber)
	m.Phone = idnumber.MaskPhone(m.Phone)
	return m
}

// keepIfMasked restores a stored value that an update sent back in its
// masked form: a client that read the masked resource and sends it whole
// again means "unchanged", not "set it to the stars".
func keepIfMasked(sent *string, stored string, mask func(string) string) {
	if stored != "" && *sent == mask(stored) {
		*sent = stored
	}
}
