package service

import (
	"context"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// ReferralStore is what partner agencies and referrals need from storage.
type ReferralStore interface {
	CreateAgency(ctx context.Context, a *repository.Agency) error
	GetAgency(ctx context.Context, id string) (*repository.Agency, error)
	ListAgencies(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.Agency, *repository.Cursor, error)
	UpdateAgency(ctx context.Context, id, etag string, fn func(ctx context.Context, a *repository.Agency) error) (*repository.Agency, error)
	CreateReferral(ctx context.Context, r *repository.Referral) error
	GetReferral(ctx context.Context, caseID, id string) (*repository.Referral, error)
	ListReferrals(ctx context.Context, q repository.ReferralQuery) ([]repository.Referral, *repository.Cursor, error)
	UpdateReferral(ctx context.Context, caseID, id, etag, actor, method string, fn func(ctx context.Context, r *repository.Referral) error) (*repository.Referral, error)
	GetCase(ctx context.Context, id string) (*repository.Case, error)
	Auditor
}

// Referrals implements pb.ReferralServiceServer: the county's partner
// agencies and the referrals of cases to them.
type Referrals struct {
	pb.UnimplementedReferralServiceServer
	base
	store ReferralStore
}

// NewReferrals builds the referral service.
func NewReferrals(store ReferralStore, v protovalidate.Validator, o Options) *Referrals {
	return &Referrals{base: newBase(v, o), store: store}
}

var (
	agencyUpdatable   = updatable{"display_name": true, "case_types": true, "active": true}
	referralUpdatable = updatable{"agency": true, "sent_date": true, "request": true, "agency_reference": true,
		"reply": true, "reply_date": true, "follow_up_due_date": true}
)

func (s *Referrals) CreateAgency(ctx context.Context, req *pb.CreateAgencyRequest) (*pb.Agency, error) {
	a := &repository.Agency{ID: req.GetAgencyId()}
	convert.AgencyFromProto(req.GetAgency(), a)
	if err := s.store.CreateAgency(ctx, a); err != nil {
		return nil, err
	}
	return convert.AgencyToProto(a), nil
}

func (s *Referrals) GetAgency(ctx context.Context, req *pb.GetAgencyRequest) (*pb.Agency, error) {
	n, err := nameOf[names.Agency]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAgency(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.AgencyToProto(a), nil
}

func (s *Referrals) ListAgencies(ctx context.Context, req *pb.ListAgenciesRequest) (*pb.ListAgenciesResponse, error) {
	f, query, after, err := s.listArgs("agencies", "", req.GetFilter(), req.GetPageToken(), repository.AgencyFilter)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAgencies(ctx, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAgenciesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Agencies = append(resp.Agencies, convert.AgencyToProto(&rows[i]))
	}
	return resp, nil
}

// listArgs reads a list's filter and page token; the token is bound to
// the list and filter it was issued for.
func (s *Referrals) listArgs(list, parent, f, token string, schema filter.Schema, extra ...any) (filter.Filter, string, *repository.Cursor, error) {
	parsed, err := filter.Parse(f, schema)
	if err != nil {
		return filter.Filter{}, "", nil, filterError(err)
	}
	query := listQuery(append([]any{list, parent, f}, extra...)...)
	after, err := s.pages.decode(token, query)
	return parsed, query, after, err
}

func (s *Referrals) UpdateAgency(ctx context.Context, req *pb.UpdateAgencyRequest) (*pb.Agency, error) {
	patch := req.GetAgency()
	n, paths, err := updateOf[names.Agency]("agency", patch, req.GetUpdateMask(), agencyUpdatable)
	if err != nil {
		return nil, err
	}
	a, err := s.store.UpdateAgency(ctx, n.ID, patch.GetEtag(), func(_ context.Context, row *repository.Agency) error {
		merged := convert.AgencyToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("agency", merged); err != nil {
			return err
		}
		convert.AgencyFromProto(merged, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return convert.AgencyToProto(a), nil
}

func (s *Referrals) CreateReferral(ctx context.Context, req *pb.CreateReferralRequest) (*pb.Referral, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	r := &repository.Referral{ID: newID(), CaseID: cid, Creator: s.actor(ctx)}
	if err := s.referralFrom(req.GetReferral(), r); err != nil {
		return nil, err
	}
	if err := s.store.CreateReferral(ctx, r); err != nil {
		return nil, err
	}
	// The caller wrote the texts it gets back.
	return convert.ReferralToProto(r, s.now()), nil
}

// referralFrom copies a referral's fields onto r under the referral's
// rules: real dates in order, and a reply only with its date.
func (s *Referrals) referralFrom(p *pb.Referral, r *repository.Referral) error {
	if err := convert.ReferralFromProto("referral", p, r); err != nil {
		return err
	}
	if (r.Reply == "") != (r.ReplyDate == nil) {
		return domain.Invalid("referral.reply_date", "is set together with reply, or neither is")
	}
	return r.Dates().Check("referral.", s.now())
}

func (s *Referrals) GetReferral(ctx context.Context, req *pb.GetReferralRequest) (*pb.Referral, error) {
	n, err := nameOf[names.Referral]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetReferral(ctx, n.CaseID, n.ID)
	if err != nil {
		return nil, err
	}
	full, err := s.fullText(ctx, req.GetView(), n.String(), n.CaseID)
	if err != nil {
		return nil, err
	}
	return s.render(r, full), nil
}

// fullText decides whether a read shows the request and reply texts: a
// full view, in the case's town, audited as one read of resource.
func (s *Referrals) fullText(ctx context.Context, view pb.View, resource, caseID string) (bool, error) {
	if view != pb.View_VIEW_FULL {
		return false, nil
	}
	c, err := s.store.GetCase(ctx, caseID)
	if err != nil {
		return false, err
	}
	return fullView(ctx, s.store, view, resource, c.TownCode, "request", "reply")
}

// render is a referral as a read answers it: its texts masked unless full.
func (s *Referrals) render(r *repository.Referral, full bool) *pb.Referral {
	out := convert.ReferralToProto(r, s.now())
	if !full {
		out.Request, out.Reply, out.TextMasked = "", "", true
	}
	return out
}

func (s *Referrals) ListReferrals(ctx context.Context, req *pb.ListReferralsRequest) (*pb.ListReferralsResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	f, query, after, err := s.listArgs("referrals", req.GetParent(), req.GetFilter(), req.GetPageToken(), repository.ReferralFilter, req.GetShowDeleted())
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListReferrals(ctx, repository.ReferralQuery{CaseID: cid, Filter: f, ShowDeleted: req.GetShowDeleted(),
		Page: repository.Page{Size: int(req.GetPageSize()), After: after}})
	if err != nil {
		return nil, err
	}
	full, err := s.fullText(ctx, req.GetView(), req.GetParent()+"/referrals", cid)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListReferralsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Referrals = append(resp.Referrals, s.render(&rows[i], full))
	}
	return resp, nil
}

func (s *Referrals) UpdateReferral(ctx context.Context, req *pb.UpdateReferralRequest) (*pb.Referral, error) {
	patch := req.GetReferral()
	n, paths, err := updateOf[names.Referral]("referral", patch, req.GetUpdateMask(), referralUpdatable)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, n, patch.GetEtag(), "UpdateReferral", func(row *repository.Referral) error {
		merged := convert.ReferralToProto(row, s.now())
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("referral", merged); err != nil {
			return err
		}
		return s.referralFrom(merged, row)
	})
}

func (s *Referrals) RecordReferralReply(ctx context.Context, req *pb.RecordReferralReplyRequest) (*pb.Referral, error) {
	n, err := nameOf[names.Referral]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	reply, err := convert.LedgerDate("reply_date", req.GetReplyDate())
	if err != nil {
		return nil, err
	}
	return s.change(ctx, n, req.GetEtag(), "RecordReferralReply", func(row *repository.Referral) error {
		if row.ReplyDate != nil {
			return &domain.PreconditionError{Type: "REFERRAL_REPLIED", Subject: n.String(),
				Description: "the referral's reply is recorded already; correct it with UpdateReferral"}
		}
		row.Reply, row.ReplyDate = req.GetReply(), &reply
		if ref := req.GetAgencyReference(); ref != "" {
			row.AgencyReference = ref
		}
		return row.Dates().Check("", s.now())
	})
}

func (s *Referrals) DeleteReferral(ctx context.Context, req *pb.DeleteReferralRequest) (*pb.Referral, error) {
	n, err := nameOf[names.Referral]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return s.change(ctx, n, req.GetEtag(), "DeleteReferral", func(row *repository.Referral) error {
		now := s.now()
		row.DeleteTime = &now
		return nil
	})
}

// change applies fn to a live referral under the etag check, recorded in
// the case's history as method. The answer shows the texts masked: the
// caller did not necessarily send them, and reads them with VIEW_FULL.
func (s *Referrals) change(ctx context.Context, n names.Referral, etag, method string, fn func(row *repository.Referral) error) (*pb.Referral, error) {
	r, err := s.store.UpdateReferral(ctx, n.CaseID, n.ID, etag, s.actor(ctx), method, func(_ context.Context, row *repository.Referral) error {
		if row.DeleteTime != nil {
			return &domain.PreconditionError{Type: "REFERRAL_WITHDRAWN", Subject: n.String(),
				Description: "the referral was withdrawn; it is kept for the record and cannot be changed"}
		}
		return fn(row)
	})
	if err != nil {
		return nil, err
	}
	return s.render(r, false), nil
}
