package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"

	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// HouseholdStore is what the household service needs from storage.
type HouseholdStore interface {
	CreateHousehold(ctx context.Context, h *repository.Household) error
	GetHousehold(ctx context.Context, id string, showDeleted bool) (*repository.Household, error)
	ListHouseholds(ctx context.Context, q repository.HouseholdQuery) ([]repository.Household, *repository.Cursor, error)
	UpdateHousehold(ctx context.Context, id, etag string, fn func(ctx context.Context, h *repository.Household) error) (*repository.Household, error)
	DeleteHousehold(ctx context.Context, id, etag string) (*repository.Household, error)
	UndeleteHousehold(ctx context.Context, id, etag string) (*repository.Household, error)
	LookupHousehold(ctx context.Context, idNumber string) (*repository.Household, error)
	GetHouseholds(ctx context.Context, ids []string) ([]repository.Household, error)
	CreateHouseholds(ctx context.Context, hs []*repository.Household) error
	Auditor
	CreateMember(ctx context.Context, m *repository.Member) error
	GetMember(ctx context.Context, householdID, id string) (*repository.Member, error)
	ListMembers(ctx context.Context, householdID string, page repository.Page) ([]repository.Member, *repository.Cursor, error)
	UpdateMember(ctx context.Context, householdID, id, etag string, fn func(ctx context.Context, m *repository.Member) error) (*repository.Member, error)
	DeleteMember(ctx context.Context, householdID, id, etag string) error
}

// Households implements pb.HouseholdServiceServer.
type Households struct {
	pb.UnimplementedHouseholdServiceServer
	base
	store HouseholdStore
}

// NewHouseholds builds the household service.
func NewHouseholds(store HouseholdStore, v protovalidate.Validator, o Options) *Households {
	return &Households{base: newBase(v, o), store: store}
}

var householdUpdatable = updatable{
	"servicemember": true, "category": true, "town_code": true, "address": true,
	"phone": true, "hardship": true, "hardship_note": true,
}

var memberUpdatable = updatable{
	"relation": true, "display_name": true, "id_number": true, "birth_date": true,
	"phone": true, "accompanying": true,
}

// checkIDNumber validates and normalises an ID number field in place.
func (b base) checkIDNumber(field string, v *string, required bool) (idnumber.Info, error) {
	*v = idnumber.Normalize(*v)
	if *v == "" {
		if required {
			return idnumber.Info{}, domain.Invalid(field, "is required")
		}
		return idnumber.Info{}, nil
	}
	info, err := idnumber.Parse(*v, b.now().In(domain.ChinaTime))
	if err != nil {
		return idnumber.Info{}, domain.Invalid(field, "%s", err.Error())
	}
	return info, nil
}

func (s *Households) CreateHousehold(ctx context.Context, req *pb.CreateHouseholdRequest) (*pb.Household, error) {
	h, err := s.newHousehold(req)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateHousehold(ctx, h); err != nil {
		return nil, err
	}
	return maskHousehold(convert.HouseholdToProto(h)), nil
}

// newHousehold is the row a create request asks for, once the rules that
// need no storage pass: single and batch creates share it.
func (s *Households) newHousehold(req *pb.CreateHouseholdRequest) (*repository.Household, error) {
	p := req.GetHousehold()
	if _, err := s.checkIDNumber("household.servicemember.id_number", &p.Servicemember.IdNumber, true); err != nil {
		return nil, err
	}
	h := &repository.Household{ID: newID()}
	convert.HouseholdFromProto(p, h)
	return h, nil
}

func (s *Households) GetHousehold(ctx context.Context, req *pb.GetHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHousehold(ctx, id, false)
	if err != nil {
		return nil, err
	}
	return s.householdView(ctx, h, req.GetView())
}

// householdView renders h masked, or in full when asked for, allowed and
// audited.
func (s *Households) householdView(ctx context.Context, h *repository.Household, view pb.View) (*pb.Household, error) {
	full, err := fullView(ctx, s.store, view, names.Household{ID: h.ID}.String(), h.TownCode, "servicemember.id_number", "phone")
	if err != nil {
		return nil, err
	}
	out := convert.HouseholdToProto(h)
	if full {
		return out, nil
	}
	return maskHousehold(out), nil
}

func (s *Households) ListHouseholds(ctx context.Context, req *pb.ListHouseholdsRequest) (*pb.ListHouseholdsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.HouseholdFilter)
	if err != nil {
		return nil, filterError(err)
	}
	order, err := parseOrderBy(req.GetOrderBy(), "create_time")
	if err != nil {
		return nil, err
	}
	query := listQuery("households", req.GetFilter(), req.GetOrderBy(), req.GetShowDeleted())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListHouseholds(ctx, repository.HouseholdQuery{
		Filter: f, Order: order, ShowDeleted: req.GetShowDeleted(),
		Page: repository.Page{Size: int(req.GetPageSize()), After: after},
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListHouseholdsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Households = append(resp.Households, maskHousehold(convert.HouseholdToProto(&rows[i])))
	}
	return resp, nil
}

func (s *Households) UpdateHousehold(ctx context.Context, req *pb.UpdateHouseholdRequest) (*pb.Household, error) {
	patch := req.GetHousehold()
	if patch == nil {
		return nil, domain.Invalid("household", "is required")
	}
	id, err := householdID("household.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("household.etag", "is required: read the household and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, householdUpdatable)
	if err != nil {
		return nil, err
	}
	h, err := s.store.UpdateHousehold(ctx, id, patch.GetEtag(), func(_ context.Context, row *repository.Household) error {
		merged := convert.HouseholdToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if merged.Servicemember != nil {
			keepIfMasked(&merged.Servicemember.IdNumber, row.ServicememberIDNumber, idnumber.Mask)
		}
		keepIfMasked(&merged.Phone, row.Phone, idnumber.MaskPhone)
		if err := s.validate("household", merged); err != nil {
			return err
		}
		if _, err := s.checkIDNumber("household.servicemember.id_number", &merged.Servicemember.IdNumber, true); err != nil {
			return err
		}
		convert.HouseholdFromProto(merged, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return maskHousehold(convert.HouseholdToProto(h)), nil
}

func (s *Households) DeleteHousehold(ctx context.Context, req *pb.DeleteHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	h, err := s.store.DeleteHousehold(ctx, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return maskHousehold(convert.HouseholdToProto(h)), nil
}

func (s *Households) UndeleteHousehold(ctx context.Context, req *pb.UndeleteHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	h, err := s.store.UndeleteHousehold(ctx, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return maskHousehold(convert.HouseholdToProto(h)), nil
}

func (s *Households) LookupHousehold(ctx context.Context, req *pb.LookupHouseholdRequest) (*pb.Household, error) {
	n := req.GetIdNumber()
	if _, err := s.checkIDNumber("id_number", &n, true); err != nil {
		return nil, err
	}
	h, err := s.store.LookupHousehold(ctx, n)
	if err := s.auditLookup(ctx, n, h, err); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return s.householdView(ctx, h, req.GetView())
}

// auditLookup records a lookup, found or not, before it is answered: each
// one tells the caller whether a number is registered, so the audit log
// must be able to show who searched for how many. The number itself is
// never recorded. A number registered in a town beyond the caller's reach
// is answered as not found, and recorded as the scope refusal it is.
func (s *Households) auditLookup(ctx context.Context, idNumber string, found *repository.Household, lookupErr error) error {
	resource, outcome := "", audit.OutcomeOK
	switch {
	case lookupErr == nil:
		resource = names.Household{ID: found.ID}.String()
	case errors.Is(lookupErr, repository.ErrNotFound):
		outcome = audit.OutcomeNotFound
		// Deliberately county-wide, for the record only: the answer stays
		// "not found".
		if h, err := s.store.LookupHousehold(principal.WithScope(ctx, principal.Scope{All: true}), idNumber); err == nil {
			resource, outcome = names.Household{ID: h.ID}.String(), audit.OutcomeOutOfScope
		} else if !errors.Is(err, repository.ErrNotFound) {
			return err
		}
	default:
		return nil // the lookup failed; its error is the answer
	}
	return s.store.AppendAudit(ctx, audit.FromContext(ctx).Entry(audit.ActionLookup, resource, outcome, nil))
}

// checkMember applies the rules a member must satisfy beyond its
// protovalidate rules, and returns the birth date to store.
func (s *Households) checkMember(prefix string, m *pb.Member) (birth time.Time, err error) {
	info, err := s.checkIDNumber(prefix+".id_number", &m.IdNumber, false)
	if err != nil {
		return birth, err
	}
	b, err := convert.TimeOfDate(prefix+".birth_date", m.GetBirthDate())
	if err != nil {
		return birth, err
	}
	if b.After(s.now()) {
		return birth, domain.Invalid(prefix+".birth_date", "is in the future")
	}
	if m.GetIdNumber() != "" && !info.BirthDate.Equal(b) {
		return birth, domain.Invalid(prefix+".birth_date", "does not agree with the birth date in the ID number")
	}
	return b, nil
}

func (s *Households) CreateMember(ctx context.Context, req *pb.CreateMemberRequest) (*pb.Member, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	p := req.GetMember()
	birth, err := s.checkMember("member", p)
	if err != nil {
		return nil, err
	}
	m := &repository.Member{ID: newID(), HouseholdID: hid}
	convert.MemberFromProto(p, birth, m)
	if err := s.store.CreateMember(ctx, m); err != nil {
		return nil, err
	}
	return maskMember(convert.MemberToProto(m)), nil
}

func (s *Households) GetMember(ctx context.Context, req *pb.GetMemberRequest) (*pb.Member, error) {
	hid, mid, err := memberIDs("name", req.GetName())
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMember(ctx, hid, mid)
	if err != nil {
		return nil, err
	}
	if req.GetView() != pb.View_VIEW_FULL {
		return maskMember(convert.MemberToProto(m)), nil
	}
	// Whether the full view is allowed depends on the household's town.
	h, err := s.store.GetHousehold(ctx, hid, false)
	if err != nil {
		return nil, err
	}
	if _, err := fullView(ctx, s.store, req.GetView(), req.GetName(), h.TownCode, "id_number", "birth_date", "phone"); err != nil {
		return nil, err
	}
	return convert.MemberToProto(m), nil
}

func (s *Households) ListMembers(ctx context.Context, req *pb.ListMembersRequest) (*pb.ListMembersResponse, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("members", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListMembers(ctx, hid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListMembersResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Members = append(resp.Members, maskMember(convert.MemberToProto(&rows[i])))
	}
	return resp, nil
}

func (s *Households) UpdateMember(ctx context.Context, req *pb.UpdateMemberRequest) (*pb.Member, error) {
	patch := req.GetMember()
	if patch == nil {
		return nil, domain.Invalid("member", "is required")
	}
	hid, mid, err := memberIDs("member.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("member.etag", "is required: read the member and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, memberUpdatable)
	if err != nil {
		return nil, err
	}
	return withProto(s.store.UpdateMember(ctx, hid, mid, patch.GetEtag(), func(_ context.Context, row *repository.Member) error {
		merged := convert.MemberToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		keepIfMasked(&merged.IdNumber, row.IDNumber, idnumber.Mask)
		keepIfMasked(&merged.Phone, row.Phone, idnumber.MaskPhone)
		keepDateIfMasked(&merged.BirthDate, convert.DateOf(row.BirthDate))
		if err := s.validate("member", merged); err != nil {
			return err
		}
		birth, err := s.checkMember("member", merged)
		if err != nil {
			return err
		}
		convert.MemberFromProto(merged, birth, row)
		return nil
	}))
}

func withProto(m *repository.Member, err error) (*pb.Member, error) {
	if err != nil {
		return nil, err
	}
	return maskMember(convert.MemberToProto(m)), nil
}

func (s *Households) DeleteMember(ctx context.Context, req *pb.DeleteMemberRequest) (*emptypb.Empty, error) {
	hid, mid, err := memberIDs("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteMember(ctx, hid, mid, req.GetEtag()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// listQuery fingerprints a list request, so that a page token is only
// accepted back with the same filter, order and parent.
func listQuery(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strings.ReplaceAll(fmt.Sprint(p), "\x00", ""))
		b.WriteByte(0)
	}
	return b.String()
}
