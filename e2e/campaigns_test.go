package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// --- CampaignService ---------------------------------------------------------

func (c *client) CreateCampaign(cp *pb.Campaign, requestID string) (*pb.Campaign, error) {
	out := &pb.Campaign{}
	r := post("campaigns", cp)
	if requestID != "" {
		r.query = url.Values{"requestId": {requestID}}
	}
	return out, c.call("CampaignService/CreateCampaign", r, &pb.CreateCampaignRequest{Campaign: cp, RequestId: requestID}, out)
}

func (c *client) GetCampaign(name string) (*pb.Campaign, error) {
	out := &pb.Campaign{}
	return out, c.call("CampaignService/GetCampaign", get(name, nil), &pb.GetCampaignRequest{Name: name}, out)
}

func (c *client) ListCampaigns(filter string) (*pb.ListCampaignsResponse, error) {
	out := &pb.ListCampaignsResponse{}
	return out, c.call("CampaignService/ListCampaigns", get("campaigns", url.Values{"filter": {filter}}),
		&pb.ListCampaignsRequest{Filter: filter}, out)
}

func (c *client) UpdateCampaign(cp *pb.Campaign, mask ...string) (*pb.Campaign, error) {
	out := &pb.Campaign{}
	m := &fieldmaskpb.FieldMask{Paths: mask}
	r := route{method: "PATCH", path: cp.GetName(), body: cp, query: maskQuery(m)}
	return out, c.call("CampaignService/UpdateCampaign", r, &pb.UpdateCampaignRequest{Campaign: cp, UpdateMask: m}, out)
}

func (c *client) OpenCampaign(req *pb.OpenCampaignRequest) (*pb.Campaign, error) {
	out := &pb.Campaign{}
	return out, c.call("CampaignService/OpenCampaign", post(req.GetName()+":open", req), req, out)
}

func (c *client) CloseCampaign(req *pb.CloseCampaignRequest) (*pb.Campaign, error) {
	out := &pb.Campaign{}
	return out, c.call("CampaignService/CloseCampaign", post(req.GetName()+":close", req), req, out)
}

func (c *client) AddCampaignTargets(req *pb.AddCampaignTargetsRequest) (*pb.AddCampaignTargetsResponse, error) {
	out := &pb.AddCampaignTargetsResponse{}
	return out, c.call("CampaignService/AddCampaignTargets", post(req.GetCampaign()+":addTargets", req), req, out)
}

func (c *client) ListCampaignTargets(parent, filter string, size int32, token string) (*pb.ListCampaignTargetsResponse, error) {
	out := &pb.ListCampaignTargetsResponse{}
	q := pageQuery(size, token)
	if filter != "" {
		q.Set("filter", filter)
	}
	return out, c.call("CampaignService/ListCampaignTargets", get(parent+"/targets", q),
		&pb.ListCampaignTargetsRequest{Parent: parent, Filter: filter, PageSize: size, PageToken: token}, out)
}

func (c *client) GetCampaignCoverage(campaign string) (*pb.CampaignCoverage, error) {
	out := &pb.CampaignCoverage{}
	name := campaign + "/coverage"
	return out, c.call("CampaignService/GetCampaignCoverage", get(name, nil), &pb.GetCampaignCoverageRequest{Name: name}, out)
}

func (c *client) CreateVisit(parent string, v *pb.Visit) (*pb.Visit, error) {
	out := &pb.Visit{}
	return out, c.call("CampaignService/CreateVisit", post(parent+"/visits", v), &pb.CreateVisitRequest{Parent: parent, Visit: v}, out)
}

func (c *client) ListVisits(parent, filter string) (*pb.ListVisitsResponse, error) {
	out := &pb.ListVisitsResponse{}
	return out, c.call("CampaignService/ListVisits", get(parent+"/visits", url.Values{"filter": {filter}}),
		&pb.ListVisitsRequest{Parent: parent, Filter: filter}, out)
}

func (c *client) ListEventsOf(after int64, resourceTypes ...string) (*pb.ListEventsResponse, error) {
	out := &pb.ListEventsResponse{}
	q := url.Values{"after": {fmt.Sprint(after)}, "pageSize": {"1000"}, "resourceTypes": resourceTypes}
	return out, c.call("EventService/ListEvents", get("events", q),
		&pb.ListEventsRequest{After: after, PageSize: 1000, ResourceTypes: resourceTypes}, out)
}

// as is c presenting token instead of the supervisor's, on c's transport.
func (e *env) as(t *testing.T, c *client, token string) *client {
	for _, o := range e.clientsAs(t, token) {
		if o.name == c.name {
			return o
		}
	}
	panic("no client for " + c.name)
}

// campaignTowns are the towns each transport's campaign covers (1 and 2)
// and does not (3), so that the two runs on one database count apart.
var campaignTowns = map[string][3]string{
	"grpc": {"500230101", "500230102", "500230103"}, // 虎威镇, 社坛镇, 三元镇
	"http": {"500230104", "500230105", "500230106"}, // 许明寺镇, 董家镇, 树人镇
}

var campaignTownNames = map[string]string{"500230101": "虎威镇", "500230104": "许明寺镇"}

func armyDay2026(campaignTown1, campaignTown2 string) *pb.Campaign {
	return &pb.Campaign{
		DisplayName: "2026年八一走访慰问", Festival: pb.Festival_FESTIVAL_ARMY_DAY,
		StartDate: dateOf(day(2026, 7, 20)), EndDate: dateOf(day(2026, 8, 5)),
		TownCodes: []string{campaignTown2, campaignTown1},
		TargetRule: &pb.TargetRule{
			PostTypes: []pb.PostType{pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, pb.PostType_POST_TYPE_MISSION_UNIT},
			Hardship:  true,
		},
	}
}

func visitOn(household string, d int, followUp bool) *pb.Visit {
	return &pb.Visit{Household: household, VisitDate: dateOf(day(2026, 7, d)), Visitors: []string{"王镇长", "武装部李部长"},
		Form: pb.VisitForm_VISIT_FORM_IN_PERSON, Goods: "米一袋、油一桶", MoneyFen: 50000, FollowUp: followUp}
}

func coverageRow(cov *pb.CampaignCoverage, town string) *pb.CoverageCount {
	for _, r := range cov.GetTowns() {
		if r.GetTownCode() == town {
			return r
		}
	}
	return nil
}

func wantCount(t *testing.T, what string, got *pb.CoverageCount, targets, visited, share, explained int32) {
	t.Helper()
	if got.GetTargets() != targets || got.GetVisited() != visited || got.GetNotVisited() != targets-visited ||
		got.GetShareBasisPoints() != share || got.GetGapsExplained() != explained {
		t.Fatalf("%s: %v; want targets %d, visited %d, share %d, explained %d", what, got, targets, visited, share, explained)
	}
}

// errorInfo is the status's ErrorInfo (nil without one).
func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

func wantReason(t *testing.T, st *status.Status, want pb.ErrorReason) {
	t.Helper()
	if got := errorInfo(st).GetReason(); got != want.String() {
		t.Fatalf("reason %q, want %s (%q)", got, want, st.Message())
	}
}

// testCampaigns is one Army Day campaign from planning to closing, on a
// hand-counted register, over each transport: the frozen target list,
// explicit additions, visits (once each, follow-ups aside), coverage per
// town for the county and for a town's caseworker, the unvisited list,
// closing with a reason per gap, and the feed.
func testCampaigns(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		towns := campaignTowns[c.name]
		campaignTown1, campaignTown2, campaignTown3 := towns[0], towns[1], towns[2]
		armyDay2026 := func() *pb.Campaign { return armyDay2026(campaignTown1, campaignTown2) }
		caseworker1 := e.token(t, "e2e-caseworker-"+c.name, []principal.Role{principal.Caseworker}, campaignTown1)
		townSupervisor := e.token(t, "e2e-town-supervisor-"+c.name, []principal.Role{principal.Supervisor}, campaignTown1)
		household := func(town string, post pb.PostType, hardship bool) string {
			return must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) {
				h.TownCode, h.Servicemember.PostType, h.Hardship = town, post, hardship
			}))).ok(t).GetName()
		}
		// The register, counted by hand. Town 1: border, mission, a regular
		// household in hardship (targets), a regular one (not). Town 2: a
		// border household (target). Town 3 is not covered.
		border1 := household(campaignTown1, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, false)
		mission1 := household(campaignTown1, pb.PostType_POST_TYPE_MISSION_UNIT, false)
		hardship1 := household(campaignTown1, pb.PostType_POST_TYPE_REGULAR, true)
		regular1 := household(campaignTown1, pb.PostType_POST_TYPE_REGULAR, false)
		border2 := household(campaignTown2, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, false)
		border3 := household(campaignTown3, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, false)

		// Planning: only supervisors; a town's supervisor only in their towns.
		must(e.as(t, c, caseworker1).CreateCampaign(armyDay2026(), "")).fails(t, codes.PermissionDenied)
		st := must(e.as(t, c, townSupervisor).CreateCampaign(armyDay2026(), "")).fails(t, codes.PermissionDenied)
		wantReason(t, st, pb.ErrorReason_OUT_OF_SCOPE)
		own := armyDay2026()
		own.TownCodes = []string{campaignTown1}
		must(e.as(t, c, townSupervisor).CreateCampaign(own, "")).ok(t)
		bad := armyDay2026()
		bad.EndDate = dateOf(day(2026, 7, 1))
		bad.TownCodes = []string{campaignTown1, "500230999"}
		bad.TargetRule = &pb.TargetRule{}
		st = must(c.CreateCampaign(bad, "")).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "campaign.town_codes[1]")
		bad.TownCodes = nil
		st = must(c.CreateCampaign(bad, "")).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "campaign.end_date")
		wantViolation(t, st, "campaign.target_rule")

		rid := "army-day-" + c.name
		cp := must(c.CreateCampaign(armyDay2026(), rid)).ok(t)
		if again := must(c.CreateCampaign(armyDay2026(), rid)).ok(t); again.GetName() != cp.GetName() {
			t.Fatalf("a retry with the same request id made another campaign: %s, %s", again.GetName(), cp.GetName())
		}
		if cp.GetState() != pb.CampaignState_CAMPAIGN_STATE_DRAFT || !slices.Equal(cp.GetTownCodes(), []string{campaignTown1, campaignTown2}) {
			t.Fatalf("created: %v", cp)
		}
		stale := cp.GetEtag()
		cp.DisplayName = "2026年八一建军节走访慰问"
		cp = must(c.UpdateCampaign(cp, "display_name")).ok(t)
		cp.Etag = stale
		must(c.UpdateCampaign(cp, "display_name")).fails(t, codes.Aborted)

		// Opening freezes the targets: 3 in town 1, 1 in town 2.
		cp = must(c.OpenCampaign(&pb.OpenCampaignRequest{Name: cp.GetName(), RequestId: "open-" + c.name})).ok(t)
		if cp.GetState() != pb.CampaignState_CAMPAIGN_STATE_OPEN || cp.GetTargetCount() != 4 {
			t.Fatalf("opened: %v", cp)
		}
		must(c.OpenCampaign(&pb.OpenCampaignRequest{Name: cp.GetName(), RequestId: "open-" + c.name})).ok(t) // replayed
		st = must(c.OpenCampaign(&pb.OpenCampaignRequest{Name: cp.GetName()})).fails(t, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_ILLEGAL_TRANSITION)
		cp.DisplayName = "changed"
		st = must(c.UpdateCampaign(cp, "display_name")).fails(t, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_CAMPAIGN_NOT_DRAFT)
		wantRuleInfo(t, st, string(domain.RuleCampaignTargetsFrozen))

		// Registered later: a target only when added, and reported per name.
		late2 := household(campaignTown2, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE, false)
		added := must(c.AddCampaignTargets(&pb.AddCampaignTargetsRequest{Campaign: cp.GetName(),
			Households: []string{late2, border1, border3}})).ok(t)
		var outcomes []pb.AddTargetOutcome
		for _, r := range added.GetResults() {
			outcomes = append(outcomes, r.GetOutcome())
		}
		if !slices.Equal(outcomes, []pb.AddTargetOutcome{pb.AddTargetOutcome_ADD_TARGET_OUTCOME_ADDED,
			pb.AddTargetOutcome_ADD_TARGET_OUTCOME_ALREADY_TARGET, pb.AddTargetOutcome_ADD_TARGET_OUTCOME_OUTSIDE_CAMPAIGN}) ||
			added.GetCampaign().GetTargetCount() != 5 {
			t.Fatalf("added: %v", added)
		}

		// Visits: a town-1 caseworker visits in town 1 only.
		cw := e.as(t, c, caseworker1)
		first := must(cw.CreateVisit(cp.GetName(), visitOn(border1, 28, false))).ok(t)
		st = must(cw.CreateVisit(cp.GetName(), visitOn(border1, 29, false))).fails(t, codes.AlreadyExists)
		if md := errorInfo(st).GetMetadata(); md["resource"] != first.GetName() {
			t.Fatalf("a second visit names %v, want the first %s", md, first.GetName())
		}
		must(cw.CreateVisit(cp.GetName(), visitOn(border1, 30, true))).ok(t) // a follow-up
		wantReason(t, must(cw.CreateVisit(cp.GetName(), visitOn(regular1, 28, false))).fails(t, codes.FailedPrecondition), pb.ErrorReason_NOT_A_TARGET)
		wantReason(t, must(cw.CreateVisit(cp.GetName(), visitOn(border2, 28, false))).fails(t, codes.FailedPrecondition), pb.ErrorReason_NOT_A_TARGET)
		wantViolation(t, must(cw.CreateVisit(cp.GetName(), visitOn(mission1, 10, false))).fails(t, codes.InvalidArgument), "visit.visit_date")
		phone := visitOn(border2, 31, false)
		phone.Form = pb.VisitForm_VISIT_FORM_PHONE
		must(c.CreateVisit(cp.GetName(), phone)).ok(t)

		// Coverage: town 1 has 3 targets, 1 visited; town 2 has 2, 1 visited.
		cov := must(c.GetCampaignCoverage(cp.GetName())).ok(t)
		wantCount(t, "town 1", coverageRow(cov, campaignTown1), 3, 1, 3333, 0)
		wantCount(t, "town 2", coverageRow(cov, campaignTown2), 2, 1, 5000, 0)
		wantCount(t, "total", cov.GetTotal(), 5, 2, 4000, 0)
		if coverageRow(cov, campaignTown1).GetTownName() != campaignTownNames[campaignTown1] {
			t.Fatalf("town name %q", coverageRow(cov, campaignTown1).GetTownName())
		}
		cov = must(cw.GetCampaignCoverage(cp.GetName())).ok(t)
		if len(cov.GetTowns()) != 1 {
			t.Fatalf("a town-1 caseworker sees coverage of %d towns", len(cov.GetTowns()))
		}
		wantCount(t, "total for town 1's caseworker", cov.GetTotal(), 3, 1, 3333, 0)

		// The unvisited households of town 1, page by page.
		var unvisited []string
		token := ""
		for {
			page := must(cw.ListCampaignTargets(cp.GetName(), "visited = false", 1, token)).ok(t)
			for _, tg := range page.GetTargets() {
				unvisited = append(unvisited, tg.GetHousehold())
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		slices.Sort(unvisited)
		want := []string{mission1, hardship1}
		slices.Sort(want)
		if !slices.Equal(unvisited, want) {
			t.Fatalf("town 1's unvisited %v, want %v", unvisited, want)
		}
		if vs := must(c.ListVisits(cp.GetName(), "follow_up = true")).ok(t); len(vs.GetVisits()) != 1 {
			t.Fatalf("follow-ups: %v", vs)
		}

		// Closing: every gap needs its reason.
		st = must(c.CloseCampaign(&pb.CloseCampaignRequest{Name: cp.GetName(), GapReasons: []*pb.GapReason{
			{Household: mission1, Reason: "家属外出务工，电话未接通"}}})).fails(t, codes.FailedPrecondition)
		wantReason(t, st, pb.ErrorReason_GAP_REASONS_MISSING)
		wantRuleInfo(t, st, string(domain.RuleCampaignGapReasons))
		var lacking []string
		for _, d := range st.Details() {
			if pf, ok := d.(*errdetails.PreconditionFailure); ok {
				for _, v := range pf.GetViolations() {
					lacking = append(lacking, v.GetSubject())
				}
			}
		}
		slices.Sort(lacking)
		want = []string{hardship1, late2}
		slices.Sort(want)
		if !slices.Equal(lacking, want) {
			t.Fatalf("households lacking reasons %v, want %v", lacking, want)
		}
		cp = must(c.CloseCampaign(&pb.CloseCampaignRequest{Name: cp.GetName(), RequestId: "close-" + c.name, GapReasons: []*pb.GapReason{
			{Household: mission1, Reason: "家属外出务工，电话未接通"}, {Household: hardship1, Reason: "住院"},
			{Household: late2, Reason: "已搬离本县"}}})).ok(t)
		if cp.GetState() != pb.CampaignState_CAMPAIGN_STATE_CLOSED {
			t.Fatalf("closed: %v", cp)
		}
		cov = must(c.GetCampaignCoverage(cp.GetName())).ok(t)
		wantCount(t, "total after closing", cov.GetTotal(), 5, 2, 4000, 3)
		gaps := must(c.ListCampaignTargets(cp.GetName(), `visited = false AND town_code = "`+campaignTown2+`"`, 0, "")).ok(t)
		if len(gaps.GetTargets()) != 1 || gaps.GetTargets()[0].GetGapReason() != "已搬离本县" {
			t.Fatalf("town 2's gap: %v", gaps)
		}
		wantReason(t, must(c.CreateVisit(cp.GetName(), visitOn(mission1, 30, false))).fails(t, codes.FailedPrecondition), pb.ErrorReason_CAMPAIGN_NOT_OPEN)
		if l := must(c.ListCampaigns("state = CLOSED")).ok(t); !slices.ContainsFunc(l.GetCampaigns(), func(x *pb.Campaign) bool { return x.GetName() == cp.GetName() }) {
			t.Fatalf("the closed campaign is not listed as closed")
		}

		// The feed carried every change.
		evs := must(c.ListEventsOf(0, "campaigns", "visits")).ok(t)
		var types []string
		for _, ev := range evs.GetEvents() {
			if len(ev.GetResource()) >= len(cp.GetName()) && ev.GetResource()[:len(cp.GetName())] == cp.GetName() {
				types = append(types, ev.GetType())
			}
		}
		if !slices.Equal(types, []string{"CreateCampaign", "UpdateCampaign", "OpenCampaign", "AddCampaignTargets",
			"CreateVisit", "CreateVisit", "CreateVisit", "CloseCampaign"}) {
			t.Fatalf("events of the campaign %v", types)
		}
	})
}
