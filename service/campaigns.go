package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// CampaignStore is what the campaign service needs of storage.
type CampaignStore interface {
	CreateCampaign(ctx context.Context, c *repository.Campaign) error
	GetCampaign(ctx context.Context, id string) (*repository.Campaign, error)
	ListCampaigns(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.Campaign, *repository.Cursor, error)
	UpdateCampaign(ctx context.Context, id, etag string, fn func(ctx context.Context, c *repository.Campaign) error) (*repository.Campaign, error)
	OpenCampaign(ctx context.Context, id, etag string) (*repository.Campaign, error)
	CloseCampaign(ctx context.Context, id, etag string, reasons []repository.GapReason) (*repository.Campaign, error)
	AddCampaignTargets(ctx context.Context, id string, householdIDs []string) ([]repository.AddOutcome, *repository.Campaign, error)
	ListCampaignTargets(ctx context.Context, campaignID string, f filter.Filter, page repository.Page) ([]repository.CampaignTarget, *repository.Cursor, error)
	CampaignCoverage(ctx context.Context, campaignID string) (*repository.Campaign, []repository.CoverageRow, error)
	CreateVisit(ctx context.Context, v *repository.CampaignVisit) error
	GetVisit(ctx context.Context, campaignID, id string) (*repository.CampaignVisit, error)
	ListVisits(ctx context.Context, campaignID string, f filter.Filter, page repository.Page) ([]repository.CampaignVisit, *repository.Cursor, error)
}

// Campaigns implements pb.CampaignServiceServer: festival-visit campaigns.
type Campaigns struct {
	pb.UnimplementedCampaignServiceServer
	base
	store CampaignStore
	towns *towns.Table
}

// NewCampaigns builds the campaign service.
func NewCampaigns(store CampaignStore, t *towns.Table, v protovalidate.Validator, o Options) *Campaigns {
	if t == nil {
		t = towns.Default()
	}
	return &Campaigns{base: newBase(v, o), store: store, towns: t}
}

var campaignUpdatable = updatable{
	"display_name": true, "festival": true, "start_date": true, "end_date": true,
	"town_codes": true, "target_rule": true,
}

func campaignID(field, name string) (string, error) {
	n, err := nameOf[names.Campaign](field, name)
	return n.ID, err
}

// plan checks a campaign's plan as it would be stored and fills in its
// towns: none named is the whole county; named ones must be the county's.
func (s *Campaigns) plan(c *repository.Campaign) error {
	if len(c.TownCodes) == 0 {
		for _, t := range s.towns.List() {
			c.TownCodes = append(c.TownCodes, t.Code)
		}
	}
	for i, code := range c.TownCodes {
		if err := domain.CheckTownCode(fmt.Sprintf("campaign.town_codes[%d]", i), code, s.towns); err != nil {
			return err
		}
	}
	slices.Sort(c.TownCodes)
	return domain.CheckCampaign("campaign", domain.CampaignPlan{Start: c.StartDate, End: c.EndDate, Rule: c.Rule()})
}

func (s *Campaigns) CreateCampaign(ctx context.Context, req *pb.CreateCampaignRequest) (*pb.Campaign, error) {
	c := &repository.Campaign{ID: newID(), Creator: s.actor(ctx)}
	if err := convert.CampaignFromProto("campaign", req.GetCampaign(), c); err != nil {
		return nil, err
	}
	if err := s.plan(c); err != nil {
		return nil, err
	}
	if err := s.store.CreateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return convert.CampaignToProto(c), nil
}

func (s *Campaigns) GetCampaign(ctx context.Context, req *pb.GetCampaignRequest) (*pb.Campaign, error) {
	id, err := campaignID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	return convert.CampaignToProto(c), nil
}

func (s *Campaigns) ListCampaigns(ctx context.Context, req *pb.ListCampaignsRequest) (*pb.ListCampaignsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.CampaignFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("campaigns", req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListCampaigns(ctx, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListCampaignsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Campaigns = append(resp.Campaigns, convert.CampaignToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Campaigns) UpdateCampaign(ctx context.Context, req *pb.UpdateCampaignRequest) (*pb.Campaign, error) {
	patch := req.GetCampaign()
	if patch == nil {
		return nil, domain.Invalid("campaign", "is required")
	}
	id, err := campaignID("campaign.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("campaign.etag", "is required: read the campaign and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, campaignUpdatable)
	if err != nil {
		return nil, err
	}
	c, err := s.store.UpdateCampaign(ctx, id, patch.GetEtag(), func(_ context.Context, row *repository.Campaign) error {
		merged := convert.CampaignToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("campaign", merged); err != nil {
			return err
		}
		if err := convert.CampaignFromProto("campaign", merged, row); err != nil {
			return err
		}
		return s.plan(row)
	})
	if err != nil {
		return nil, err
	}
	return convert.CampaignToProto(c), nil
}

func (s *Campaigns) OpenCampaign(ctx context.Context, req *pb.OpenCampaignRequest) (*pb.Campaign, error) {
	id, err := campaignID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.OpenCampaign(ctx, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return convert.CampaignToProto(c), nil
}

func (s *Campaigns) CloseCampaign(ctx context.Context, req *pb.CloseCampaignRequest) (*pb.Campaign, error) {
	id, err := campaignID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	reasons := make([]repository.GapReason, len(req.GetGapReasons()))
	seen := make(map[string]bool, len(reasons))
	for i, g := range req.GetGapReasons() {
		field := fmt.Sprintf("gap_reasons[%d].household", i)
		hid, err := householdID(field, g.GetHousehold())
		if err != nil {
			return nil, err
		}
		if seen[hid] {
			return nil, domain.Invalid(field, "names a household given a reason already")
		}
		seen[hid] = true
		reasons[i] = repository.GapReason{HouseholdID: hid, Reason: g.GetReason()}
	}
	c, err := s.store.CloseCampaign(ctx, id, req.GetEtag(), reasons)
	if err != nil {
		return nil, err
	}
	return convert.CampaignToProto(c), nil
}

func (s *Campaigns) AddCampaignTargets(ctx context.Context, req *pb.AddCampaignTargetsRequest) (*pb.AddCampaignTargetsResponse, error) {
	id, err := campaignID("campaign", req.GetCampaign())
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(req.GetHouseholds()))
	for i, h := range req.GetHouseholds() {
		if ids[i], err = householdID(fmt.Sprintf("households[%d]", i), h); err != nil {
			return nil, err
		}
	}
	outcomes, c, err := s.store.AddCampaignTargets(ctx, id, ids)
	if err != nil {
		return nil, err
	}
	resp := &pb.AddCampaignTargetsResponse{Campaign: convert.CampaignToProto(c)}
	for i, o := range outcomes {
		resp.Results = append(resp.Results, &pb.AddCampaignTargetsResponse_Result{
			Household: names.Household{ID: ids[i]}.String(), Outcome: convert.AddOutcomeToProto(o)})
	}
	return resp, nil
}

func (s *Campaigns) ListCampaignTargets(ctx context.Context, req *pb.ListCampaignTargetsRequest) (*pb.ListCampaignTargetsResponse, error) {
	id, err := campaignID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	f, err := filter.Parse(req.GetFilter(), repository.TargetFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("targets", req.GetParent(), req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListCampaignTargets(ctx, id, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListCampaignTargetsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Targets = append(resp.Targets, convert.CampaignTargetToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Campaigns) GetCampaignCoverage(ctx context.Context, req *pb.GetCampaignCoverageRequest) (*pb.CampaignCoverage, error) {
	parent, ok := strings.CutSuffix(req.GetName(), "/coverage")
	id, err := campaignID("name", parent)
	if !ok || err != nil {
		return nil, domain.Invalid("name", "must be a resource name of the form %s", names.CampaignCoverage{}.Collection())
	}
	c, rows, err := s.store.CampaignCoverage(ctx, id)
	if err != nil {
		return nil, err
	}
	return convert.CoverageToProto(c, shownTowns(ctx, c), rows, s.towns), nil
}

// shownTowns are the campaign's towns the caller reaches, each shown in
// its coverage even with no targets in it.
func shownTowns(ctx context.Context, c *repository.Campaign) []string {
	scope := principal.ScopeFrom(ctx)
	var shown []string
	for _, t := range c.TownCodes {
		if scope.Allows(t) {
			shown = append(shown, t)
		}
	}
	return shown
}

func (s *Campaigns) CreateVisit(ctx context.Context, req *pb.CreateVisitRequest) (*pb.Visit, error) {
	cid, err := campaignID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	p := req.GetVisit()
	hid, err := householdID("visit.household", p.GetHousehold())
	if err != nil {
		return nil, err
	}
	day, err := convert.TimeOfDate("visit.visit_date", p.GetVisitDate())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCampaign(ctx, cid)
	if err != nil {
		return nil, err
	}
	if err := domain.CheckVisitDate("visit.visit_date", day, c.StartDate, c.EndDate); err != nil {
		return nil, err
	}
	v := &repository.CampaignVisit{ID: newID(), CampaignID: cid, HouseholdID: hid, Recorder: s.actor(ctx)}
	convert.VisitFromProto(p, day, v)
	if err := s.store.CreateVisit(ctx, v); err != nil {
		return nil, err
	}
	return convert.VisitToProto(v), nil
}

func (s *Campaigns) GetVisit(ctx context.Context, req *pb.GetVisitRequest) (*pb.Visit, error) {
	n, err := nameOf[names.Visit]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.store.GetVisit(ctx, n.CampaignID, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.VisitToProto(v), nil
}

func (s *Campaigns) ListVisits(ctx context.Context, req *pb.ListVisitsRequest) (*pb.ListVisitsResponse, error) {
	id, err := campaignID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	f, err := filter.Parse(req.GetFilter(), repository.VisitFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("visits", req.GetParent(), req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListVisits(ctx, id, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListVisitsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Visits = append(resp.Visits, convert.VisitToProto(&rows[i]))
	}
	return resp, nil
}
