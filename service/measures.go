package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/internal/uscc"
	"github.com/fengdu-county/casework/repository"
)

// MeasureStore is what the measures ledger needs from storage.
type MeasureStore interface {
	CreateOrganization(ctx context.Context, o *repository.Organization) error
	GetOrganization(ctx context.Context, id string) (*repository.Organization, error)
	ListOrganizations(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.Organization, *repository.Cursor, error)
	UpdateOrganization(ctx context.Context, id, etag string, fn func(ctx context.Context, o *repository.Organization) error) (*repository.Organization, error)
	CreateMeasure(ctx context.Context, m *repository.Measure, actor string) error
	GetMeasure(ctx context.Context, organizationID, id string) (*repository.Measure, error)
	ListMeasures(ctx context.Context, q repository.MeasureQuery) ([]repository.Measure, *repository.Cursor, error)
	MutateMeasure(ctx context.Context, organizationID, id, etag string, fn func(ctx context.Context, m *repository.Measure) (*repository.MeasureHistory, error)) (*repository.Measure, error)
	ListMeasureHistory(ctx context.Context, organizationID, measureID string, page repository.Page) ([]repository.MeasureHistory, *repository.Cursor, error)
	CreateMeasureReview(ctx context.Context, r *repository.MeasureReview) error
	ListMeasureReviews(ctx context.Context, organizationID, measureID string, page repository.Page) ([]repository.MeasureReview, *repository.Cursor, error)
	CreateComplaint(ctx context.Context, c *repository.Complaint) error
	GetComplaint(ctx context.Context, n names.Complaint) (*repository.Complaint, error)
	ListComplaints(ctx context.Context, organizationID, measureID string, f filter.Filter, page repository.Page) ([]repository.Complaint, *repository.Cursor, error)
	MutateComplaint(ctx context.Context, n names.Complaint, etag string, fn func(ctx context.Context, c *repository.Complaint) error) (*repository.Complaint, error)
	OfferedMeasures(ctx context.Context, town string, after *repository.MenuCursor, n int) ([]repository.Measure, error)
	GetHousehold(ctx context.Context, id string, showDeleted bool) (*repository.Household, error)
	Auditor
}

// Measures implements pb.MeasureServiceServer: the preferential-measures
// ledger (惠军措施台账).
type Measures struct {
	pb.UnimplementedMeasureServiceServer
	base
	store        MeasureStore
	towns        *towns.Table
	reviewPeriod time.Duration
}

// NewMeasures builds the ledger's service over the county's towns (nil: the
// table shipped with the program).
func NewMeasures(store MeasureStore, t *towns.Table, v protovalidate.Validator, o Options) *Measures {
	if t == nil {
		t = towns.Default()
	}
	period := o.MeasureReviewPeriod
	if period <= 0 {
		period = domain.DefaultReviewPeriod
	}
	return &Measures{base: newBase(v, o), store: store, towns: t, reviewPeriod: period}
}

var organizationUpdatable = updatable{
	"display_name": true, "credit_code": true, "contact_name": true, "contact_phone": true,
	"agreement_sign_date": true, "agreement_expiry_date": true,
}

var measureUpdatable = updatable{
	"title": true, "description": true, "kind": true, "beneficiary_categories": true, "town_codes": true,
	"valid_from": true, "valid_until": true,
}

// allOrganizations is the parent that lists every organization's measures
// (AIP-159).
const allOrganizations = "organizations/-"

func (s *Measures) organization(o *repository.Organization) *pb.Organization {
	out := convert.OrganizationToProto(o, s.now())
	out.ContactPhone = idnumber.MaskPhone(out.ContactPhone)
	return out
}

func (s *Measures) measure(m *repository.Measure) *pb.Measure {
	return convert.MeasureToProto(m, s.reviewPeriod, s.now())
}

func complaint(c *repository.Complaint) *pb.Complaint {
	out := convert.ComplaintToProto(c)
	out.ComplainantPhone = idnumber.MaskPhone(out.ComplainantPhone)
	return out
}

// checkOrganization applies the rules on an organization's fields and
// copies them onto the row: the credit code's form and check character
// (normalised in place), whole dates, an expiry not before the signing.
func checkOrganization(p *pb.Organization, o *repository.Organization) error {
	p.CreditCode = uscc.Normalize(p.GetCreditCode())
	if err := uscc.Check(p.GetCreditCode()); err != nil {
		return domain.Invalid("organization.credit_code", "is not a unified social credit code: %v", err)
	}
	if err := convert.OrganizationFromProto(p, o); err != nil {
		return err
	}
	return domain.CheckAgreementDates("organization", o.AgreementSignDate, o.AgreementExpiryDate)
}

func (s *Measures) CreateOrganization(ctx context.Context, req *pb.CreateOrganizationRequest) (*pb.Organization, error) {
	o := &repository.Organization{ID: newID()}
	if err := checkOrganization(req.GetOrganization(), o); err != nil {
		return nil, err
	}
	if err := s.store.CreateOrganization(ctx, o); err != nil {
		return nil, err
	}
	return s.organization(o), nil
}

func (s *Measures) GetOrganization(ctx context.Context, req *pb.GetOrganizationRequest) (*pb.Organization, error) {
	n, err := nameOf[names.Organization]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	o, err := s.store.GetOrganization(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	full, err := fullViewIf(ctx, s.store, req.GetView(), n.String(),
		policy.MayViewFullIn(principal.FromContext(ctx), nil, true), "contact_phone")
	if err != nil || !full {
		return s.organization(o), err
	}
	return convert.OrganizationToProto(o, s.now()), nil
}

func (s *Measures) ListOrganizations(ctx context.Context, req *pb.ListOrganizationsRequest) (*pb.ListOrganizationsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.OrganizationFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("organizations", req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListOrganizations(ctx, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListOrganizationsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Organizations = append(resp.Organizations, s.organization(&rows[i]))
	}
	return resp, nil
}

func (s *Measures) UpdateOrganization(ctx context.Context, req *pb.UpdateOrganizationRequest) (*pb.Organization, error) {
	patch := req.GetOrganization()
	if patch == nil {
		return nil, domain.Invalid("organization", "is required")
	}
	n, err := nameOf[names.Organization]("organization.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("organization.etag", "is required: read the organization and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, organizationUpdatable)
	if err != nil {
		return nil, err
	}
	o, err := s.store.UpdateOrganization(ctx, n.ID, patch.GetEtag(), func(_ context.Context, row *repository.Organization) error {
		merged := convert.OrganizationToProto(row, s.now())
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		keepIfMasked(&merged.ContactPhone, row.ContactPhone, idnumber.MaskPhone)
		if err := s.validate("organization", merged); err != nil {
			return err
		}
		return checkOrganization(merged, row)
	})
	if err != nil {
		return nil, err
	}
	return s.organization(o), nil
}

// checkMeasure applies the rules on a measure's fields and copies them
// onto the row: towns of the county, whole dates in order.
func (s *Measures) checkMeasure(p *pb.Measure, m *repository.Measure) error {
	for i, code := range p.GetTownCodes() {
		if err := domain.CheckTownCode(fmt.Sprintf("measure.town_codes[%d]", i), code, s.towns); err != nil {
			return err
		}
	}
	if err := convert.MeasureFromProto(p, m); err != nil {
		return err
	}
	return domain.CheckValidity("measure", m.ValidFrom, m.ValidUntil)
}

func (s *Measures) CreateMeasure(ctx context.Context, req *pb.CreateMeasureRequest) (*pb.Measure, error) {
	parent, err := nameOf[names.Organization]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	m := &repository.Measure{ID: newID(), OrganizationID: parent.ID}
	if err := s.checkMeasure(req.GetMeasure(), m); err != nil {
		return nil, err
	}
	if err := s.store.CreateMeasure(ctx, m, s.actor(ctx)); err != nil {
		return nil, err
	}
	return s.measure(m), nil
}

func (s *Measures) GetMeasure(ctx context.Context, req *pb.GetMeasureRequest) (*pb.Measure, error) {
	n, err := nameOf[names.Measure]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMeasure(ctx, n.OrganizationID, n.ID)
	if err != nil {
		return nil, err
	}
	return s.measure(m), nil
}

func (s *Measures) ListMeasures(ctx context.Context, req *pb.ListMeasuresRequest) (*pb.ListMeasuresResponse, error) {
	q := repository.MeasureQuery{ReviewPeriod: s.reviewPeriod}
	if req.GetParent() != allOrganizations {
		parent, err := nameOf[names.Organization]("parent", req.GetParent())
		if err != nil {
			return nil, err
		}
		q.OrganizationID = parent.ID
	}
	f, err := filter.Parse(req.GetFilter(), repository.MeasureFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("measures", req.GetParent(), req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	q.Filter, q.Page = f, repository.Page{Size: int(req.GetPageSize()), After: after}
	rows, next, err := s.store.ListMeasures(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListMeasuresResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Measures = append(resp.Measures, s.measure(&rows[i]))
	}
	return resp, nil
}

func (s *Measures) UpdateMeasure(ctx context.Context, req *pb.UpdateMeasureRequest) (*pb.Measure, error) {
	patch := req.GetMeasure()
	if patch == nil {
		return nil, domain.Invalid("measure", "is required")
	}
	n, err := nameOf[names.Measure]("measure.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("measure.etag", "is required: read the measure and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, measureUpdatable)
	if err != nil {
		return nil, err
	}
	m, err := s.store.MutateMeasure(ctx, n.OrganizationID, n.ID, patch.GetEtag(), func(_ context.Context, row *repository.Measure) (*repository.MeasureHistory, error) {
		if row.State == domain.MeasureExited {
			return nil, &domain.PreconditionError{Type: "ILLEGAL_TRANSITION", Subject: n.String(),
				Description: "an exited measure cannot be changed (MEASURE_STATE_EXITED)"}
		}
		merged := s.measure(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return nil, err
		}
		if err := s.validate("measure", merged); err != nil {
			return nil, err
		}
		return nil, s.checkMeasure(merged, row)
	})
	if err != nil {
		return nil, err
	}
	return s.measure(m), nil
}

// moveMeasure is the one path for a measure's change of state: the
// domain's state machine decides from the state reads show (an ACTIVE
// measure under an expired agreement is SUSPENDED), a measure made ACTIVE
// needs its agreement in force, and the history entry is written with the
// change.
func (s *Measures) moveMeasure(ctx context.Context, name, etag string, action domain.MeasureAction, method, reason string) (*pb.Measure, error) {
	n, err := nameOf[names.Measure]("name", name)
	if err != nil {
		return nil, err
	}
	m, err := s.store.MutateMeasure(ctx, n.OrganizationID, n.ID, etag, s.transition(n, action, s.actor(ctx), method, reason))
	if err != nil {
		return nil, err
	}
	return s.measure(m), nil
}

// transition is the change moveMeasure makes, for a MutateMeasure: an
// upheld complaint suspends its measure with it too.
func (s *Measures) transition(n names.Measure, action domain.MeasureAction, actor, method, reason string) func(ctx context.Context, m *repository.Measure) (*repository.MeasureHistory, error) {
	return s.moveBy(n, func(from domain.MeasureState) (domain.MeasureState, error) {
		return domain.MeasureTransition(from, action)
	}, actor, method, reason)
}

// moveBy is transition with the state machine's move given: an upheld
// complaint's suspension refuses under its own rule.
func (s *Measures) moveBy(n names.Measure, move func(domain.MeasureState) (domain.MeasureState, error), actor, method, reason string) func(ctx context.Context, m *repository.Measure) (*repository.MeasureHistory, error) {
	return func(ctx context.Context, m *repository.Measure) (*repository.MeasureHistory, error) {
		from := m.EffectiveState
		to, err := move(from)
		if err != nil {
			if p, ok := domain.AsPrecondition(err); ok {
				p.Subject = n.String()
			}
			return nil, err
		}
		if to == domain.MeasureActive {
			o, err := s.store.GetOrganization(ctx, n.OrganizationID)
			if err != nil {
				return nil, err
			}
			if err := domain.CheckAgreementInForce(o.AgreementExpiryDate, s.now()); err != nil {
				if p, ok := domain.AsPrecondition(err); ok {
					p.Subject = n.Organization().String()
				}
				return nil, err
			}
		}
		m.State, m.StateReason = to, reason
		return &repository.MeasureHistory{Actor: actor, Method: method, FromState: from, ToState: to, Reason: reason}, nil
	}
}

func (s *Measures) ApproveMeasure(ctx context.Context, req *pb.ApproveMeasureRequest) (*pb.Measure, error) {
	return s.moveMeasure(ctx, req.GetName(), req.GetEtag(), domain.MeasureApprove, "ApproveMeasure", "")
}

func (s *Measures) SuspendMeasure(ctx context.Context, req *pb.SuspendMeasureRequest) (*pb.Measure, error) {
	return s.moveMeasure(ctx, req.GetName(), req.GetEtag(), domain.MeasureSuspend, "SuspendMeasure", req.GetReason())
}

func (s *Measures) ReinstateMeasure(ctx context.Context, req *pb.ReinstateMeasureRequest) (*pb.Measure, error) {
	return s.moveMeasure(ctx, req.GetName(), req.GetEtag(), domain.MeasureReinstate, "ReinstateMeasure", "")
}

func (s *Measures) ExitMeasure(ctx context.Context, req *pb.ExitMeasureRequest) (*pb.Measure, error) {
	return s.moveMeasure(ctx, req.GetName(), req.GetEtag(), domain.MeasureExit, "ExitMeasure", req.GetReason())
}

func (s *Measures) ListMeasureHistory(ctx context.Context, req *pb.ListMeasureHistoryRequest) (*pb.ListMeasureHistoryResponse, error) {
	n, err := nameOf[names.Measure]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("measureHistory", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListMeasureHistory(ctx, n.OrganizationID, n.ID, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListMeasureHistoryResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Entries = append(resp.Entries, convert.MeasureHistoryToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Measures) CreateMeasureReview(ctx context.Context, req *pb.CreateMeasureReviewRequest) (*pb.MeasureReview, error) {
	n, err := nameOf[names.Measure]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	p := req.GetReview()
	d, err := convert.TimeOfDate("review.review_date", p.GetReviewDate())
	if err != nil {
		return nil, err
	}
	if err := domain.CheckReviewDate("review.review_date", d, s.now()); err != nil {
		return nil, err
	}
	r := &repository.MeasureReview{ID: newID(), OrganizationID: n.OrganizationID, MeasureID: n.ID, ReviewDate: d,
		Reviewer: s.actor(ctx), Honoured: p.GetHonoured(), Findings: p.GetFindings()}
	if err := s.store.CreateMeasureReview(ctx, r); err != nil {
		return nil, err
	}
	return convert.MeasureReviewToProto(r), nil
}

func (s *Measures) ListMeasureReviews(ctx context.Context, req *pb.ListMeasureReviewsRequest) (*pb.ListMeasureReviewsResponse, error) {
	n, err := nameOf[names.Measure]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("measureReviews", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListMeasureReviews(ctx, n.OrganizationID, n.ID, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListMeasureReviewsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Reviews = append(resp.Reviews, convert.MeasureReviewToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Measures) CreateComplaint(ctx context.Context, req *pb.CreateComplaintRequest) (*pb.Complaint, error) {
	n, err := nameOf[names.Measure]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	c := &repository.Complaint{ID: newID(), OrganizationID: n.OrganizationID, MeasureID: n.ID}
	convert.ComplaintFromProto(req.GetComplaint(), c)
	if err := s.store.CreateComplaint(ctx, c); err != nil {
		return nil, err
	}
	return complaint(c), nil
}

func (s *Measures) GetComplaint(ctx context.Context, req *pb.GetComplaintRequest) (*pb.Complaint, error) {
	n, err := nameOf[names.Complaint]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetComplaint(ctx, n)
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMeasure(ctx, n.OrganizationID, n.MeasureID)
	if err != nil {
		return nil, err
	}
	full, err := fullViewIf(ctx, s.store, req.GetView(), n.String(),
		policy.MayViewFullIn(principal.FromContext(ctx), m.TownCodes, false), "complainant_phone")
	if err != nil || !full {
		return complaint(c), err
	}
	return convert.ComplaintToProto(c), nil
}

func (s *Measures) ListComplaints(ctx context.Context, req *pb.ListComplaintsRequest) (*pb.ListComplaintsResponse, error) {
	n, err := nameOf[names.Measure]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	f, err := filter.Parse(req.GetFilter(), repository.ComplaintFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("complaints", req.GetParent(), req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListComplaints(ctx, n.OrganizationID, n.ID, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListComplaintsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Complaints = append(resp.Complaints, complaint(&rows[i]))
	}
	return resp, nil
}

// moveComplaint moves a complaint by the domain's rules; then, when given,
// and in the same transaction.
func (s *Measures) moveComplaint(ctx context.Context, name, etag string, action domain.ComplaintAction, resolution string,
	then func(ctx context.Context, n names.Complaint, c *repository.Complaint) error) (*pb.Complaint, error) {
	n, err := nameOf[names.Complaint]("name", name)
	if err != nil {
		return nil, err
	}
	c, err := s.store.MutateComplaint(ctx, n, etag, func(ctx context.Context, row *repository.Complaint) error {
		to, err := domain.ComplaintTransition(row.State, action)
		if err != nil {
			if p, ok := domain.AsPrecondition(err); ok {
				p.Subject = n.String()
			}
			return err
		}
		row.State = to
		if resolution != "" {
			row.Resolution = resolution
		}
		if then != nil {
			return then(ctx, n, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return complaint(c), nil
}

func (s *Measures) InvestigateComplaint(ctx context.Context, req *pb.InvestigateComplaintRequest) (*pb.Complaint, error) {
	return s.moveComplaint(ctx, req.GetName(), req.GetEtag(), domain.ComplaintInvestigate, "", nil)
}

// UpholdComplaint upholds a complaint and, when asked, suspends its
// measure in the same transaction: the measure must be ACTIVE, or nothing
// changes.
func (s *Measures) UpholdComplaint(ctx context.Context, req *pb.UpholdComplaintRequest) (*pb.Complaint, error) {
	var then func(ctx context.Context, n names.Complaint, c *repository.Complaint) error
	if req.GetSuspendMeasure() {
		actor := s.actor(ctx)
		then = func(ctx context.Context, n names.Complaint, c *repository.Complaint) error {
			c.MeasureSuspended = true
			m := n.Measure()
			_, err := s.store.MutateMeasure(ctx, m.OrganizationID, m.ID, "",
				s.moveBy(m, domain.ComplaintSuspension, actor, "UpholdComplaint", "complaint upheld: "+n.String()))
			return err
		}
	}
	return s.moveComplaint(ctx, req.GetName(), req.GetEtag(), domain.ComplaintUphold, req.GetResolution(), then)
}

func (s *Measures) DismissComplaint(ctx context.Context, req *pb.DismissComplaintRequest) (*pb.Complaint, error) {
	return s.moveComplaint(ctx, req.GetName(), req.GetEtag(), domain.ComplaintDismiss, req.GetResolution(), nil)
}

// GetHouseholdMenu is the menu of measures a household qualifies for
// (菜单式服务), for a caller who may read the household.
func (s *Measures) GetHouseholdMenu(ctx context.Context, req *pb.GetHouseholdMenuRequest) (*pb.HouseholdMenu, error) {
	hn, ok := strings.CutSuffix(req.GetName(), "/menu")
	if !ok {
		return nil, domain.Invalid("name", "must be a resource name of the form households/{household}/menu")
	}
	id, err := householdID("name", hn)
	if err != nil {
		return nil, domain.Invalid("name", "must be a resource name of the form households/{household}/menu")
	}
	h, err := s.store.GetHousehold(ctx, id, false)
	if err != nil {
		return nil, err
	}
	query := listQuery("menu", req.GetName())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	var from *repository.MenuCursor
	if after != nil {
		kind, id, ok := strings.Cut(after.ID, "/")
		if !ok || after.Time == nil {
			return nil, domain.Invalid("page_token", "is malformed")
		}
		from = &repository.MenuCursor{Kind: domain.MeasureKind(kind), Time: *after.Time, ID: id}
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = repository.DefaultPageSize
	}
	// The household's category and the validity dates are the domain's
	// to check, so batches are read until the page is full or the
	// measures run out.
	var picked []*repository.Measure
	now := s.now()
	for len(picked) <= size {
		batch, err := s.store.OfferedMeasures(ctx, h.TownCode, from, size+1)
		if err != nil {
			return nil, err
		}
		for i := range batch {
			if batch[i].Offer().Offered(h.Category, h.TownCode, now) && len(picked) <= size {
				picked = append(picked, &batch[i])
			}
		}
		if len(batch) < size+1 {
			break
		}
		last := batch[len(batch)-1]
		from = &repository.MenuCursor{Kind: last.Kind, Time: last.CreateTime, ID: last.ID}
	}
	full := convert.HouseholdToProto(h, s.towns)
	menu := &pb.HouseholdMenu{Name: names.Household{ID: h.ID}.String() + "/menu", Category: full.GetCategory(), TownCode: h.TownCode}
	if len(picked) > size {
		picked = picked[:size]
		last := picked[size-1]
		t := last.CreateTime
		menu.NextPageToken = s.pages.encode(&repository.Cursor{Time: &t, ID: string(last.Kind) + "/" + last.ID}, query)
	}
	// In the menu's order, so each kind is one run: a group per run.
	for _, m := range picked {
		kind := convert.MeasureKindToProto(m.Kind)
		if n := len(menu.Groups); n == 0 || menu.Groups[n-1].GetKind() != kind {
			menu.Groups = append(menu.Groups, &pb.MenuGroup{Kind: kind})
		}
		g := menu.Groups[len(menu.Groups)-1]
		g.Measures = append(g.Measures, s.measure(m))
	}
	return menu, nil
}
