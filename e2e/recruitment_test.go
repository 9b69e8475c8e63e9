package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// --- RecruitmentService -------------------------------------------------------

func (c *client) CreateRecruitmentEvent(ev *pb.RecruitmentEvent, requestID string) (*pb.RecruitmentEvent, error) {
	out := &pb.RecruitmentEvent{}
	r := post("recruitmentEvents", ev)
	if requestID != "" {
		r.query = url.Values{"requestId": {requestID}}
	}
	return out, c.call("RecruitmentService/CreateRecruitmentEvent", r,
		&pb.CreateRecruitmentEventRequest{RecruitmentEvent: ev, RequestId: requestID}, out)
}

func (c *client) GetRecruitmentEvent(name string) (*pb.RecruitmentEvent, error) {
	out := &pb.RecruitmentEvent{}
	return out, c.call("RecruitmentService/GetRecruitmentEvent", get(name, nil), &pb.GetRecruitmentEventRequest{Name: name}, out)
}

func (c *client) ListRecruitmentEvents(filter string) (*pb.ListRecruitmentEventsResponse, error) {
	out := &pb.ListRecruitmentEventsResponse{}
	return out, c.call("RecruitmentService/ListRecruitmentEvents", get("recruitmentEvents", url.Values{"filter": {filter}}),
		&pb.ListRecruitmentEventsRequest{Filter: filter}, out)
}

func (c *client) UpdateRecruitmentEvent(ev *pb.RecruitmentEvent, mask ...string) (*pb.RecruitmentEvent, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(ev).(*pb.RecruitmentEvent)
	body.Name = ""
	out := &pb.RecruitmentEvent{}
	return out, c.call("RecruitmentService/UpdateRecruitmentEvent",
		route{method: http.MethodPatch, path: ev.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateRecruitmentEventRequest{RecruitmentEvent: ev, UpdateMask: m}, out)
}

func (c *client) Invite(name string) (*pb.InviteRecruitmentEventResponse, error) {
	req := &pb.InviteRecruitmentEventRequest{Name: name}
	out := &pb.InviteRecruitmentEventResponse{}
	return out, c.call("RecruitmentService/InviteRecruitmentEvent", post(name+":invite", req), req, out)
}

func (c *client) ListInvitations(parent string) (*pb.ListInvitationsResponse, error) {
	out := &pb.ListInvitationsResponse{}
	return out, c.call("RecruitmentService/ListInvitations", get(parent+"/invitations", nil), &pb.ListInvitationsRequest{Parent: parent}, out)
}

func (c *client) CreateApplication(parent string, a *pb.Application) (*pb.Application, error) {
	out := &pb.Application{}
	return out, c.call("RecruitmentService/CreateApplication", post(parent+"/applications", a),
		&pb.CreateApplicationRequest{Parent: parent, Application: a}, out)
}

func (c *client) ListApplications(parent string) (*pb.ListApplicationsResponse, error) {
	out := &pb.ListApplicationsResponse{}
	return out, c.call("RecruitmentService/ListApplications", get(parent+"/applications", nil), &pb.ListApplicationsRequest{Parent: parent}, out)
}

// applicationStep calls one of the application's custom methods, e.g.
// "Interview" on ":interview".
func (c *client) applicationStep(verb, path string, req proto.Message) (*pb.Application, error) {
	out := &pb.Application{}
	return out, c.call("RecruitmentService/"+verb+"Application", post(path, req), req, out)
}

func (c *client) Interview(name, etag string) (*pb.Application, error) {
	return c.applicationStep("Interview", name+":interview", &pb.InterviewApplicationRequest{Name: name, Etag: etag})
}

func (c *client) Offer(name, etag string) (*pb.Application, error) {
	return c.applicationStep("Offer", name+":offer", &pb.OfferApplicationRequest{Name: name, Etag: etag})
}

func (c *client) AcceptOffer(name string, d *date.Date) (*pb.Application, error) {
	return c.applicationStep("Accept", name+":accept", &pb.AcceptApplicationRequest{Name: name, PlacementDate: d})
}

func (c *client) Decline(name string) (*pb.Application, error) {
	return c.applicationStep("Decline", name+":decline", &pb.DeclineApplicationRequest{Name: name})
}

func (c *client) Figures(name string) (*pb.RecruitmentFigures, error) {
	out := &pb.RecruitmentFigures{}
	return out, c.call("RecruitmentService/GetRecruitmentFigures", get(name+":figures", nil), &pb.GetRecruitmentFiguresRequest{Name: name}, out)
}

// recruitmentTowns are each transport's two towns, so the two runs on one
// server do not invite each other's spouses.
var recruitmentTowns = map[string][2]string{"grpc": {"500230001", "500230002"}, "http": {"500230101", "500230102"}}

// testRecruitment runs a targeted recruitment event from creation to an
// accepted offer: invitations computed from open placement cases within the
// caller's towns (and again, adding only new ones), applications through
// their states, the placement recorded on the case in the same change, the
// figures, and the refusals on the way.
func testRecruitment(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		townA, townB := recruitmentTowns[c.name][0], recruitmentTowns[c.name][1]
		inTown := func(town string) func(*pb.Household) { return func(h *pb.Household) { h.TownCode = town } }
		submitted := func(town string) *pb.Case {
			f := e.family(t, c, inTown(town))
			cs := must(c.CreateCase(employmentCase(f))).ok(t)
			return must(c.Submit(cs.GetName(), cs.GetEtag())).ok(t)
		}
		caseA, caseB := submitted(townA), submitted(townB)
		must(c.CreateCase(employmentCase(e.family(t, c, inTown(townA))))).ok(t) // a draft: not invited

		ev := &pb.RecruitmentEvent{
			Title: "随军家属定向招聘会", EventDate: &date.Date{Year: 2026, Month: 5, Day: 20}, Place: "县人力资源市场",
			Organiser: "县退役军人事务局", TownCodes: []string{townA, townB},
			Employers: []*pb.RecruitmentEmployer{
				{Employer: "丰都县人民医院", Positions: []*pb.RecruitmentPosition{
					{Id: "clerk", Title: "行政文员", Places: 2, Requirements: "大专以上"},
					{Id: "nurse", Title: "护士", Places: 1}}},
			},
		}
		// A repeated position id is refused; a retry with the same request id
		// answers the first creation.
		dup := proto.Clone(ev).(*pb.RecruitmentEvent)
		dup.Employers[0].Positions[1].Id = "clerk"
		must(c.CreateRecruitmentEvent(dup, "")).fails(t, codes.InvalidArgument, "position id")
		created := must(c.CreateRecruitmentEvent(ev, "recruit-"+c.name)).ok(t)
		again := must(c.CreateRecruitmentEvent(ev, "recruit-"+c.name)).ok(t)
		if again.GetName() != created.GetName() {
			t.Errorf("a retried create made %s, want the first answer %s", again.GetName(), created.GetName())
		}
		name := created.GetName()

		// A caseworker of town A may not run an event that serves town B too,
		// and invites only town A's spouses.
		cwA := e.clientsAs(t, e.token(t, "caseworker-a-"+c.name, []principal.Role{principal.Caseworker}, townA))[map[string]int{"grpc": 0, "http": 1}[c.name]]
		cwA.t = t
		must(cwA.CreateRecruitmentEvent(ev, "")).fails(t, codes.PermissionDenied)
		invA := must(cwA.Invite(name)).ok(t).GetInvitations()
		if len(invA) != 1 || invA[0].GetCase() != caseA.GetName() {
			t.Fatalf("town A's caseworker invited %v, want only %s", invA, caseA.GetName())
		}
		invB := must(c.Invite(name)).ok(t).GetInvitations()
		if len(invB) != 1 || invB[0].GetCase() != caseB.GetName() {
			t.Fatalf("the supervisor's invite added %v, want only %s", invB, caseB.GetName())
		}
		if n := len(must(c.Invite(name)).ok(t).GetInvitations()); n != 0 {
			t.Errorf("inviting again added %d, want none", n)
		}
		if n := len(must(cwA.ListInvitations(name)).ok(t).GetInvitations()); n != 1 {
			t.Errorf("town A's caseworker lists %d invitations, want 1", n)
		}

		// Applications.
		appA := must(c.CreateApplication(name, &pb.Application{Invitation: invA[0].GetName(), PositionId: "clerk"})).ok(t)
		if appA.GetStatus() != pb.ApplicationStatus_APPLICATION_STATUS_REGISTERED || appA.GetCase() != caseA.GetName() {
			t.Errorf("new application: %v", appA)
		}
		must(c.CreateApplication(name, &pb.Application{Invitation: invA[0].GetName(), PositionId: "clerk"})).fails(t, codes.AlreadyExists)
		must(c.CreateApplication(name, &pb.Application{Invitation: invA[0].GetName(), PositionId: "pilot"})).fails(t, codes.InvalidArgument)
		appB := must(c.CreateApplication(name, &pb.Application{Invitation: invB[0].GetName(), PositionId: "nurse"})).ok(t)

		must(c.Offer(appA.GetName(), "")).fails(t, codes.FailedPrecondition, "APPLICATION_STATUS_REGISTERED")
		// Only an offer is accepted: its acceptance is the placement.
		wantRuleInfo(t, must(c.AcceptOffer(appA.GetName(), nil)).fails(t, codes.FailedPrecondition, "APPLICATION_STATUS_REGISTERED"),
			string(domain.RuleRecruitmentPlacement))
		appA = must(c.Interview(appA.GetName(), appA.GetEtag())).ok(t)
		must(c.Offer(appA.GetName(), "v1")).fails(t, codes.Aborted)
		must(c.Offer(appA.GetName(), appA.GetEtag())).ok(t)
		placed := &date.Date{Year: 2026, Month: 5, Day: 21}
		appA = must(c.AcceptOffer(appA.GetName(), placed)).ok(t)
		if appA.GetStatus() != pb.ApplicationStatus_APPLICATION_STATUS_ACCEPTED || !proto.Equal(appA.GetPlacementDate(), placed) {
			t.Errorf("accepted application: %v", appA)
		}
		must(c.Decline(appA.GetName())).fails(t, codes.FailedPrecondition)
		// A placement the case refuses refuses the acceptance with it: the
		// application stays OFFERED.
		must(c.Interview(appB.GetName(), "")).ok(t)
		must(c.Offer(appB.GetName(), "")).ok(t)
		must(c.Withdraw(caseB.GetName(), "已自主择业")).ok(t)
		must(c.AcceptOffer(appB.GetName(), nil)).fails(t, codes.FailedPrecondition, "CASE_STATUS_WITHDRAWN")
		for _, a := range must(c.ListApplications(name)).ok(t).GetApplications() {
			if a.GetName() == appB.GetName() && a.GetStatus() != pb.ApplicationStatus_APPLICATION_STATUS_OFFERED {
				t.Errorf("after a refused acceptance the application is %s, want OFFERED", a.GetStatus())
			}
		}
		if got := must(cwA.ListApplications(name)).ok(t); len(got.GetApplications()) != 1 {
			t.Errorf("town A's caseworker lists %d applications, want 1", len(got.GetApplications()))
		}
		must(c.Decline(appB.GetName())).ok(t)

		// The placement is on the case, with its history entry.
		ep := must(c.GetCase(caseA.GetName())).ok(t).GetEmploymentPlacement()
		if ep.GetEmployer() != "丰都县人民医院" || ep.GetPosition() != "行政文员" || !proto.Equal(ep.GetPlacementDate(), placed) ||
			ep.GetChannel() != pb.PlacementChannel_PLACEMENT_CHANNEL_TARGETED_RECRUITMENT ||
			ep.GetRoute() != pb.PlacementRoute_PLACEMENT_ROUTE_TARGETED_RECRUITMENT {
			t.Errorf("the case's placement after the accepted offer: %v", ep)
		}
		hist := must(c.History(caseA.GetName())).ok(t).GetEntries()
		if last := hist[len(hist)-1]; last.GetMethod() != "AcceptApplication" {
			t.Errorf("the case's last history entry is %s, want AcceptApplication", last.GetMethod())
		}

		f := must(c.Figures(name)).ok(t)
		if f.GetInvited() != 2 || f.GetRegistered() != 2 || f.GetInterviewed() != 2 || f.GetOffered() != 2 || f.GetPlaced() != 1 {
			t.Errorf("figures = %v, want invited 2, registered 2, interviewed 2, offered 2, placed 1", f)
		}
		if fa := must(cwA.Figures(name)).ok(t); fa.GetInvited() != 1 || fa.GetPlaced() != 1 {
			t.Errorf("town A's figures = %v, want invited 1, placed 1", fa)
		}

		// Updates: etag, and a position in use stays.
		cur := must(c.GetRecruitmentEvent(name)).ok(t)
		patch := &pb.RecruitmentEvent{Name: name, Etag: cur.GetEtag(), Place: "县会展中心"}
		upd := must(c.UpdateRecruitmentEvent(patch, "place")).ok(t)
		if upd.GetPlace() != "县会展中心" || upd.GetEtag() == cur.GetEtag() {
			t.Errorf("updated event: place %q etag %s (was %s)", upd.GetPlace(), upd.GetEtag(), cur.GetEtag())
		}
		must(c.UpdateRecruitmentEvent(patch, "place")).fails(t, codes.Aborted)
		drop := &pb.RecruitmentEvent{Name: name, Etag: upd.GetEtag(), Employers: []*pb.RecruitmentEmployer{
			{Employer: "丰都县人民医院", Positions: []*pb.RecruitmentPosition{{Id: "nurse", Title: "护士", Places: 1}}}}}
		_, err := c.UpdateRecruitmentEvent(drop, "employers")
		must(0, err).fails(t, codes.FailedPrecondition)
		if got := reasonOf(err); got != pb.ErrorReason_POSITION_IN_USE.String() {
			t.Errorf("removing a used position: reason %s, want POSITION_IN_USE", got)
		}

		// The year's events, by a filter.
		filter := `year = 2026 AND town_code = "` + townA + `"`
		if got := must(c.ListRecruitmentEvents(filter)).ok(t).GetRecruitmentEvents(); len(got) != 1 || got[0].GetName() != name {
			t.Errorf("events of 2026 in town A: %d, want this one", len(got))
		}
		if got := must(c.ListRecruitmentEvents("year = 2025")).ok(t).GetRecruitmentEvents(); len(got) != 0 {
			t.Errorf("events of 2025: %d, want none", len(got))
		}

		// Every change is on the feed.
		var types []string
		for _, ev := range must(c.ListEvents(0)).ok(t).GetEvents() {
			types = append(types, ev.GetType()+" "+ev.GetResourceType())
		}
		for _, want := range []string{"CreateRecruitmentEvent recruitmentEvents", "InviteRecruitmentEvent invitations",
			"CreateApplication applications", "AcceptApplication applications", "AcceptApplication cases",
			"UpdateRecruitmentEvent recruitmentEvents"} {
			if !slices.Contains(types, want) {
				t.Errorf("the feed has no %q event", want)
			}
		}
	})
}

// testRecruitmentPlaces: a position takes as many spouses as it has
// places. Two acceptances of the last place at once, one over gRPC and one
// over HTTP, place one spouse; the other is refused with POSITION_FULL and
// its application stays OFFERED, its case unplaced. Several rounds, so
// that a race would show.
func testRecruitmentPlaces(t *testing.T, e *env) {
	c, hc := e.grpcClient(t), e.httpClient(t)
	offered := func(event string, inv *pb.Invitation) *pb.Application {
		a := must(c.CreateApplication(event, &pb.Application{Invitation: inv.GetName(), PositionId: "last"})).ok(t)
		must(c.Interview(a.GetName(), "")).ok(t)
		return must(c.Offer(a.GetName(), "")).ok(t)
	}
	for round, town := range []string{"500230103", "500230104", "500230105"} {
		for range 2 {
			f := e.family(t, c, func(h *pb.Household) { h.TownCode = town })
			cs := must(c.CreateCase(employmentCase(f))).ok(t)
			must(c.Submit(cs.GetName(), cs.GetEtag())).ok(t)
		}
		ev := must(c.CreateRecruitmentEvent(&pb.RecruitmentEvent{
			Title: "定向招聘", EventDate: &date.Date{Year: 2026, Month: 5, Day: int32(20 + round)}, TownCodes: []string{town},
			Employers: []*pb.RecruitmentEmployer{{Employer: "丰都县供电公司", Positions: []*pb.RecruitmentPosition{
				{Id: "last", Title: "营业员", Places: 1}}}},
		}, "")).ok(t)
		invs := must(c.Invite(ev.GetName())).ok(t).GetInvitations()
		if len(invs) != 2 {
			t.Fatalf("round %d: %d invitations, want 2", round, len(invs))
		}
		apps := []*pb.Application{offered(ev.GetName(), invs[0]), offered(ev.GetName(), invs[1])}

		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, cl := range []*client{c, hc} {
			wg.Go(func() { _, errs[i] = cl.AcceptOffer(apps[i].GetName(), nil) })
		}
		wg.Wait()
		won, lost := 0, 1
		if errs[0] != nil {
			won, lost = 1, 0
		}
		if errs[won] != nil || errs[lost] == nil {
			t.Fatalf("round %d: two acceptances of one place answered %v and %v; want one placed, one refused", round, errs[0], errs[1])
		}
		wantStatus(t, errs[lost], codes.FailedPrecondition)
		if reasonOf(errs[lost]) != pb.ErrorReason_POSITION_FULL.String() {
			t.Fatalf("round %d: the second acceptance: reason %q, want POSITION_FULL", round, reasonOf(errs[lost]))
		}
		// The refusal left nothing behind; asking again is refused again.
		for _, a := range must(c.ListApplications(ev.GetName())).ok(t).GetApplications() {
			want := pb.ApplicationStatus_APPLICATION_STATUS_ACCEPTED
			if a.GetName() == apps[lost].GetName() {
				want = pb.ApplicationStatus_APPLICATION_STATUS_OFFERED
			}
			if a.GetStatus() != want {
				t.Errorf("round %d: %s is %s, want %s", round, a.GetName(), a.GetStatus(), want)
			}
		}
		if got := must(c.GetCase(apps[lost].GetCase())).ok(t); got.GetEmploymentPlacement().GetEmployer() != "" {
			t.Errorf("round %d: the refused acceptance placed its spouse: %v", round, got.GetEmploymentPlacement())
		}
		if got := must(c.GetCase(apps[won].GetCase())).ok(t); got.GetEmploymentPlacement().GetEmployer() != "丰都县供电公司" {
			t.Errorf("round %d: the accepted offer did not place its spouse: %v", round, got.GetEmploymentPlacement())
		}
		must(hc.AcceptOffer(apps[lost].GetName(), nil)).fails(t, codes.FailedPrecondition, "taken")
	}
}
