package service

import (
	"context"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// Auditor writes audit entries that belong to no change.
type Auditor interface {
	AppendAudit(ctx context.Context, e *audit.Entry) error
}

// fullView decides whether a read of a resource of town may return
// sensitive fields unmasked, and if so records that it did before anything
// is returned: a full view the audit log cannot hold is not given.
func fullView(ctx context.Context, a Auditor, view pb.View, resource, town string, fields ...string) (bool, error) {
	if view != pb.View_VIEW_FULL {
		return false, nil
	}
	if !policy.MayViewFull(principal.FromContext(ctx), town) {
		return false, policy.ErrNoFullView
	}
	e := audit.FromContext(ctx).Entry(audit.ActionFullView, resource, audit.OutcomeOK, fields)
	return true, a.AppendAudit(ctx, e)
}

// fullViewIf is fullView for a record whose rule is not one town's: allowed
// says whether the caller may see it unmasked (policy.MayViewFullIn).
func fullViewIf(ctx context.Context, a Auditor, view pb.View, resource string, allowed bool, fields ...string) (bool, error) {
	if view != pb.View_VIEW_FULL {
		return false, nil
	}
	if !allowed {
		return false, policy.ErrNoFullView
	}
	e := audit.FromContext(ctx).Entry(audit.ActionFullView, resource, audit.OutcomeOK, fields)
	return true, a.AppendAudit(ctx, e)
}

// The masked view must not let anyone rebuild a number from the fields it
// does show. An ID number is region, birth date, sequence and check
// character, so the mask keeps only its last four characters, and a birth
// date shows only its year: together they leave hundreds of candidates per
// region, where the region and the full birth date beside the last four
// would leave exactly one.

func maskHousehold(h *pb.Household) *pb.Household {
	if sm := h.GetServicemember(); sm != nil {
		sm.IdNumber = idnumber.Mask(sm.IdNumber)
	}
	h.Phone = idnumber.MaskPhone(h.Phone)
	h.PreferentialCertificateNumber = idnumber.Mask(h.PreferentialCertificateNumber)
	return h
}

func maskMember(m *pb.Member) *pb.Member {
	m.IdNumber = idnumber.Mask(m.IdNumber)
	m.Phone = idnumber.MaskPhone(m.Phone)
	m.BirthDate = maskDate(m.GetBirthDate())
	return m
}

// maskDate keeps a date's year: ages and school years need no more.
func maskDate(d *date.Date) *date.Date {
	if d == nil {
		return nil
	}
	return &date.Date{Year: d.GetYear()}
}

// keepIfMasked restores a stored value that an update sent back in its
// masked form: a client that read the masked resource and sends it whole
// again means "unchanged", not "set it to the stars".
func keepIfMasked(sent *string, stored string, mask func(string) string) {
	if stored != "" && *sent == mask(stored) {
		*sent = stored
	}
}

// keepDateIfMasked is keepIfMasked for a birth date sent back as its year.
func keepDateIfMasked(sent **date.Date, stored *date.Date) {
	if stored != nil && *sent != nil && proto.Equal(*sent, maskDate(stored)) {
		*sent = stored
	}
}
