package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// --- MeasureService -----------------------------------------------------------

func (c *client) CreateOrganization(o *pb.Organization, requestID string) (*pb.Organization, error) {
	out := &pb.Organization{}
	r := post("organizations", o)
	if requestID != "" {
		r.query = url.Values{"requestId": {requestID}}
	}
	return out, c.call("MeasureService/CreateOrganization", r, &pb.CreateOrganizationRequest{Organization: o, RequestId: requestID}, out)
}

func (c *client) GetOrganization(name string) (*pb.Organization, error) {
	out := &pb.Organization{}
	return out, c.call("MeasureService/GetOrganization", get(name, nil), &pb.GetOrganizationRequest{Name: name}, out)
}

func (c *client) UpdateOrganization(o *pb.Organization, mask ...string) (*pb.Organization, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(o).(*pb.Organization)
	body.Name = ""
	out := &pb.Organization{}
	return out, c.call("MeasureService/UpdateOrganization",
		route{method: http.MethodPatch, path: o.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateOrganizationRequest{Organization: o, UpdateMask: m}, out)
}

func (c *client) CreateMeasure(parent string, m *pb.Measure) (*pb.Measure, error) {
	out := &pb.Measure{}
	return out, c.call("MeasureService/CreateMeasure", post(parent+"/measures", m), &pb.CreateMeasureRequest{Parent: parent, Measure: m}, out)
}

func (c *client) GetMeasure(name string) (*pb.Measure, error) {
	out := &pb.Measure{}
	return out, c.call("MeasureService/GetMeasure", get(name, nil), &pb.GetMeasureRequest{Name: name}, out)
}

func (c *client) ListMeasures(parent, filter string, size int32, token string) (*pb.ListMeasuresResponse, error) {
	q := pageQuery(size, token)
	if filter != "" {
		q.Set("filter", filter)
	}
	out := &pb.ListMeasuresResponse{}
	return out, c.call("MeasureService/ListMeasures", get(parent+"/measures", q),
		&pb.ListMeasuresRequest{Parent: parent, Filter: filter, PageSize: size, PageToken: token}, out)
}

func (c *client) UpdateMeasure(m *pb.Measure, mask ...string) (*pb.Measure, error) {
	fm := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(m).(*pb.Measure)
	body.Name = ""
	out := &pb.Measure{}
	return out, c.call("MeasureService/UpdateMeasure",
		route{method: http.MethodPatch, path: m.GetName(), body: body, query: maskQuery(fm)},
		&pb.UpdateMeasureRequest{Measure: m, UpdateMask: fm}, out)
}

// moveMeasure calls ApproveMeasure, SuspendMeasure, ReinstateMeasure or
// ExitMeasure ("approve", …) with a reason where the method takes one.
func (c *client) moveMeasure(verb, name, reason string) (*pb.Measure, error) {
	var req proto.Message
	switch verb {
	case "approve":
		req = &pb.ApproveMeasureRequest{Name: name}
	case "suspend":
		req = &pb.SuspendMeasureRequest{Name: name, Reason: reason}
	case "reinstate":
		req = &pb.ReinstateMeasureRequest{Name: name}
	case "exit":
		req = &pb.ExitMeasureRequest{Name: name, Reason: reason}
	}
	out := &pb.Measure{}
	method := strings.ToUpper(verb[:1]) + verb[1:] + "Measure"
	return out, c.call("MeasureService/"+method, post(name+":"+verb, req), req, out)
}

func (c *client) ListMeasureHistory(parent string) (*pb.ListMeasureHistoryResponse, error) {
	out := &pb.ListMeasureHistoryResponse{}
	return out, c.call("MeasureService/ListMeasureHistory", get(parent+"/history", nil), &pb.ListMeasureHistoryRequest{Parent: parent}, out)
}

func (c *client) CreateMeasureReview(parent string, r *pb.MeasureReview) (*pb.MeasureReview, error) {
	out := &pb.MeasureReview{}
	return out, c.call("MeasureService/CreateMeasureReview", post(parent+"/reviews", r), &pb.CreateMeasureReviewRequest{Parent: parent, Review: r}, out)
}

func (c *client) ListMeasureReviews(parent string) (*pb.ListMeasureReviewsResponse, error) {
	out := &pb.ListMeasureReviewsResponse{}
	return out, c.call("MeasureService/ListMeasureReviews", get(parent+"/reviews", nil), &pb.ListMeasureReviewsRequest{Parent: parent}, out)
}

func (c *client) CreateComplaint(parent string, cp *pb.Complaint) (*pb.Complaint, error) {
	out := &pb.Complaint{}
	return out, c.call("MeasureService/CreateComplaint", post(parent+"/complaints", cp), &pb.CreateComplaintRequest{Parent: parent, Complaint: cp}, out)
}

func (c *client) ListComplaints(parent, filter string) (*pb.ListComplaintsResponse, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	out := &pb.ListComplaintsResponse{}
	return out, c.call("MeasureService/ListComplaints", get(parent+"/complaints", q), &pb.ListComplaintsRequest{Parent: parent, Filter: filter}, out)
}

func (c *client) GetComplaint(name string, view pb.View) (*pb.Complaint, error) {
	var q url.Values
	if view != pb.View_VIEW_UNSPECIFIED {
		q = url.Values{"view": {view.String()}}
	}
	out := &pb.Complaint{}
	return out, c.call("MeasureService/GetComplaint", get(name, q), &pb.GetComplaintRequest{Name: name, View: view}, out)
}

func (c *client) InvestigateComplaint(name string) (*pb.Complaint, error) {
	req := &pb.InvestigateComplaintRequest{Name: name}
	out := &pb.Complaint{}
	return out, c.call("MeasureService/InvestigateComplaint", post(name+":investigate", req), req, out)
}

func (c *client) UpholdComplaint(name, resolution string, suspend bool) (*pb.Complaint, error) {
	req := &pb.UpholdComplaintRequest{Name: name, Resolution: resolution, SuspendMeasure: suspend}
	out := &pb.Complaint{}
	return out, c.call("MeasureService/UpholdComplaint", post(name+":uphold", req), req, out)
}

func (c *client) DismissComplaint(name, resolution string) (*pb.Complaint, error) {
	req := &pb.DismissComplaintRequest{Name: name, Resolution: resolution}
	out := &pb.Complaint{}
	return out, c.call("MeasureService/DismissComplaint", post(name+":dismiss", req), req, out)
}

func (c *client) GetHouseholdMenu(household string) (*pb.HouseholdMenu, error) {
	return c.GetHouseholdMenuPage(household, 0, "")
}

func (c *client) GetHouseholdMenuPage(household string, size int32, token string) (*pb.HouseholdMenu, error) {
	name := household + "/menu"
	out := &pb.HouseholdMenu{}
	q := url.Values{}
	if size > 0 {
		q.Set("pageSize", strconv.Itoa(int(size)))
	}
	if token != "" {
		q.Set("pageToken", token)
	}
	return out, c.call("MeasureService/GetHouseholdMenu", get(name, q),
		&pb.GetHouseholdMenuRequest{Name: name, PageSize: size, PageToken: token}, out)
}

// Valid unified social credit codes (GB 32100-2015), one per organization
// the scenario records; each holds letters, so none has the shape of an ID
// or phone number.
var (
	grpcCodes = []string{"91350100M000100Y43", "91500230MA5U3XYL0D", "52500230MJP1234567"}
	httpCodes = []string{"91110000600037341L", "91500230MA60XKRL8B", "91500230709345037Q"}
)

func (e *env) organization(code string, expiry time.Time) *pb.Organization {
	return &pb.Organization{DisplayName: "丰都县某超市", CreditCode: code, ContactName: "王经理", ContactPhone: e.phone(),
		AgreementSignDate: dateOf(day(2025, 1, 1)), AgreementExpiryDate: dateOf(expiry)}
}

func measureNames(ms []*pb.Measure) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.GetName())
	}
	return out
}

func infoOf(err error) *errdetails.ErrorInfo {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// testMeasures: the preferential-measures ledger over both transports.
// Organisations are checked and unique; a measure enters as PROPOSED, is
// approved by a supervisor, suspended and reinstated, and exits; only
// supervisors approve and exit, and caseworkers write only within the
// measure's towns; an expired agreement suspends on read and then in
// storage with history and an event; reviews clear review_overdue; an
// upheld complaint suspends the measure; the menu offers what the
// household qualifies for, by kind; phones are masked in every answer.
func testMeasures(t *testing.T, e *env) {
	town, otherTown := "500230101", "500230102"
	e.eachClient(t, func(t *testing.T, c *client) {
		codes3 := grpcCodes
		if c.http {
			codes3 = httpCodes
		}
		far := day(2028, 12, 31)

		// Organisations: the code's check character, its uniqueness, the
		// masked phone, a retried create.
		bad := e.organization(codes3[0][:17]+"0", far)
		if codes3[0][17] == '0' {
			bad.CreditCode = codes3[0][:17] + "1"
		}
		st := must(c.CreateOrganization(bad, "")).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "organization.credit_code")
		if strings.Contains(st.Message(), bad.GetCreditCode()) {
			t.Errorf("the refusal repeats the code: %q", st.Message())
		}
		sent := e.organization(strings.ToLower(codes3[0]), far)
		org := must(c.CreateOrganization(sent, "org-"+c.name)).ok(t)
		if org.GetCreditCode() != codes3[0] || org.GetContactPhone() == sent.GetContactPhone() || !strings.Contains(org.GetContactPhone(), "****") {
			t.Fatalf("created %v", org)
		}
		again := must(c.CreateOrganization(sent, "org-"+c.name)).ok(t)
		if again.GetName() != org.GetName() {
			t.Fatalf("a retried create made %s, first %s", again.GetName(), org.GetName())
		}
		dup := must(c.CreateOrganization(e.organization(codes3[0], far), "")).fails(t, codes.AlreadyExists)
		if info := infoOf(dup.Err()); info.GetMetadata()["resource"] != org.GetName() {
			t.Errorf("duplicate names %v, want %s", info.GetMetadata(), org.GetName())
		}

		// A measure for one town and active-duty families.
		m := must(c.CreateMeasure(org.GetName(), &pb.Measure{
			Title: "军属购物九折", Description: "凭优待证享受九折", Kind: pb.MeasureKind_MEASURE_KIND_DISCOUNT,
			BeneficiaryCategories: []pb.HouseholdCategory{pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY},
			TownCodes:             []string{town},
		})).ok(t)
		if m.GetState() != pb.MeasureState_MEASURE_STATE_PROPOSED {
			t.Fatalf("created in %v", m.GetState())
		}
		county := must(c.CreateMeasure(org.GetName(), &pb.Measure{Title: "免费法律咨询", Kind: pb.MeasureKind_MEASURE_KIND_LEGAL})).ok(t)
		must(c.CreateMeasure(org.GetName(), &pb.Measure{Title: "x", Kind: pb.MeasureKind_MEASURE_KIND_OTHER, TownCodes: []string{"500230999"}})).
			fails(t, codes.InvalidArgument)

		// Who may move it.
		worker := e.token(t, "e2e-caseworker-"+c.name, []principal.Role{principal.Caseworker}, town)
		otherWorker := e.token(t, "e2e-caseworker-other-"+c.name, []principal.Role{principal.Caseworker}, otherTown)
		asWorker, asOther := e.clientsAs(t, worker), e.clientsAs(t, otherWorker)
		w, o := asWorker[0], asOther[0]
		if c.http {
			w, o = asWorker[1], asOther[1]
		}
		w.t, o.t = t, t
		must(w.moveMeasure("approve", m.GetName(), "")).fails(t, codes.PermissionDenied)
		m = must(c.moveMeasure("approve", m.GetName(), "")).ok(t)
		county = must(c.moveMeasure("approve", county.GetName(), "")).ok(t)
		if m.GetState() != pb.MeasureState_MEASURE_STATE_ACTIVE {
			t.Fatalf("approved: %v", m.GetState())
		}
		st = must(c.moveMeasure("approve", m.GetName(), "")).fails(t, codes.FailedPrecondition, "MEASURE_STATE_ACTIVE")
		if reasonOf(st.Err()) != "ILLEGAL_TRANSITION" {
			t.Errorf("reason %q", reasonOf(st.Err()))
		}
		if reasonOf(must(o.moveMeasure("suspend", m.GetName(), "核查中")).fails(t, codes.PermissionDenied).Err()) != "OUT_OF_SCOPE" {
			t.Error("a caseworker of another town suspended the measure")
		}
		must(w.moveMeasure("suspend", county.GetName(), "核查中")).fails(t, codes.PermissionDenied)
		m = must(w.moveMeasure("suspend", m.GetName(), "商家暂停营业")).ok(t)
		if m.GetState() != pb.MeasureState_MEASURE_STATE_SUSPENDED || m.GetStateReason() != "商家暂停营业" {
			t.Fatalf("suspended: %v %q", m.GetState(), m.GetStateReason())
		}
		m = must(w.moveMeasure("reinstate", m.GetName(), "")).ok(t)
		// Everyone who reads reads the ledger county-wide.
		must(o.GetMeasure(m.GetName())).ok(t)

		// The menu: the household in the measure's town gets both, by
		// kind; the one in another town only the county-wide one.
		f := e.family(t, c)
		menu := must(c.GetHouseholdMenu(f.household.GetName())).ok(t)
		if len(menu.GetGroups()) != 2 || menu.GetGroups()[0].GetKind() != pb.MeasureKind_MEASURE_KIND_DISCOUNT ||
			menu.GetGroups()[0].GetMeasures()[0].GetName() != m.GetName() || menu.GetGroups()[1].GetKind() != pb.MeasureKind_MEASURE_KIND_LEGAL {
			t.Fatalf("menu %v", menu)
		}
		// In pages of one, the same measures in the same order, each page
		// one group of its measure's kind, and the token bound to its menu.
		var paged []string
		var kinds []pb.MeasureKind
		token := ""
		for range 10 {
			p := must(c.GetHouseholdMenuPage(f.household.GetName(), 1, token)).ok(t)
			if len(p.GetGroups()) != 1 || len(p.GetGroups()[0].GetMeasures()) != 1 {
				t.Fatalf("a page of one: %v", p)
			}
			paged = append(paged, p.GetGroups()[0].GetMeasures()[0].GetName())
			kinds = append(kinds, p.GetGroups()[0].GetKind())
			if token = p.GetNextPageToken(); token == "" {
				break
			}
		}
		var whole []string
		for _, g := range menu.GetGroups() {
			whole = append(whole, measureNames(g.GetMeasures())...)
		}
		if !slices.Equal(paged, whole) || kinds[0] != pb.MeasureKind_MEASURE_KIND_DISCOUNT || kinds[len(kinds)-1] != pb.MeasureKind_MEASURE_KIND_LEGAL {
			t.Fatalf("the menu in pages of one: %v (%v), want %v", paged, kinds, whole)
		}
		first := must(c.GetHouseholdMenuPage(f.household.GetName(), 1, "")).ok(t)
		other := e.family(t, c)
		must(c.GetHouseholdMenuPage(other.household.GetName(), 1, first.GetNextPageToken())).fails(t, codes.InvalidArgument, "page_token")
		must(c.GetHouseholdMenuPage(f.household.GetName(), 501, "")).fails(t, codes.InvalidArgument)
		elsewhere := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.TownCode = otherTown }))).ok(t)
		menu = must(c.GetHouseholdMenu(elsewhere.GetName())).ok(t)
		if len(menu.GetGroups()) != 1 || !slices.Contains(measureNames(menu.GetGroups()[0].GetMeasures()), county.GetName()) {
			t.Fatalf("menu elsewhere %v", menu)
		}
		must(w.GetHouseholdMenu(elsewhere.GetName())).fails(t, codes.NotFound)

		// Lists: county-wide with filters, and a stale etag on update.
		got := must(c.ListMeasures("organizations/-", `state = ACTIVE AND kind = DISCOUNT AND town_code = "`+town+`"`, 0, "")).ok(t)
		if !slices.Contains(measureNames(got.GetMeasures()), m.GetName()) || slices.Contains(measureNames(got.GetMeasures()), county.GetName()) {
			t.Fatalf("filtered list %v", measureNames(got.GetMeasures()))
		}
		must(c.ListMeasures("organizations/-", "colour = RED", 0, "")).fails(t, codes.InvalidArgument)
		stale := proto.Clone(m).(*pb.Measure)
		m = must(c.UpdateMeasure(&pb.Measure{Name: m.GetName(), Etag: m.GetEtag(), Title: "军属购物八五折"}, "title")).ok(t)
		must(c.UpdateMeasure(&pb.Measure{Name: stale.GetName(), Etag: stale.GetEtag(), Title: "x"}, "title")).fails(t, codes.Aborted)

		// Review: dated today, it clears review_overdue, which a year
		// without one sets (checked below, once, with the clock moved).
		r := must(c.CreateMeasureReview(m.GetName(), &pb.MeasureReview{ReviewDate: dateOf(day(2026, 3, 2)), Honoured: true, Findings: "落实到位"})).ok(t)
		if r.GetReviewer() != supervisorUser {
			t.Errorf("reviewer %q", r.GetReviewer())
		}
		m = must(c.GetMeasure(m.GetName())).ok(t)
		if m.GetLastReviewDate().GetDay() != 2 || m.GetReviewOverdue() {
			t.Fatalf("after the review: %v overdue %v", m.GetLastReviewDate(), m.GetReviewOverdue())
		}
		must(c.CreateMeasureReview(m.GetName(), &pb.MeasureReview{ReviewDate: dateOf(day(2027, 1, 1))})).fails(t, codes.InvalidArgument)

		// Complaints: the phone masked; upheld with suspend_measure, the
		// measure is suspended with it, with history naming the method.
		phone := e.phone()
		cp := must(w.CreateComplaint(m.GetName(), &pb.Complaint{ComplainantName: "李娜", ComplainantPhone: phone, Description: "出示优待证后仍被拒绝折扣"})).ok(t)
		if cp.GetState() != pb.ComplaintState_COMPLAINT_STATE_OPEN || cp.GetComplainantPhone() == phone {
			t.Fatalf("complaint %v", cp)
		}
		// The full view: for caseworkers and supervisors whose towns
		// cover the measure's, audited; never for the auditor.
		for _, who := range []*client{c, w} {
			if got := must(who.GetComplaint(cp.GetName(), pb.View_VIEW_FULL)).ok(t); got.GetComplainantPhone() != phone {
				t.Fatalf("the full view shows %q", got.GetComplainantPhone())
			}
		}
		auditor := e.clientsAs(t, e.token(t, "e2e-auditor-"+c.name, []principal.Role{principal.Auditor}))[0]
		auditor.t = t
		for _, who := range []*client{o, auditor} {
			st := must(who.GetComplaint(cp.GetName(), pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
			if reasonOf(st.Err()) != "FULL_VIEW_DENIED" {
				t.Errorf("reason %q", reasonOf(st.Err()))
			}
		}
		if got := must(auditor.GetComplaint(cp.GetName(), pb.View_VIEW_UNSPECIFIED)).ok(t); got.GetComplainantPhone() == phone {
			t.Fatal("the masked view shows the phone")
		}
		logs := must(auditor.ListAuditLogs(&pb.ListAuditLogsRequest{
			Filter: `action = "full-view" AND resource = "` + cp.GetName() + `"`})).ok(t).GetAuditLogs()
		if len(logs) != 2 || !slices.Contains(logs[0].GetFields(), "complainant_phone") {
			t.Fatalf("full views audited: %v", logs)
		}
		must(c.InvestigateComplaint(cp.GetName())).ok(t)
		cp = must(w.UpholdComplaint(cp.GetName(), "情况属实", true)).ok(t)
		if cp.GetState() != pb.ComplaintState_COMPLAINT_STATE_UPHELD || !cp.GetMeasureSuspended() {
			t.Fatalf("upheld %v", cp)
		}
		must(c.DismissComplaint(cp.GetName(), "x")).fails(t, codes.FailedPrecondition)
		if got := must(c.GetMeasure(m.GetName())).ok(t); got.GetState() != pb.MeasureState_MEASURE_STATE_SUSPENDED {
			t.Fatalf("after the upheld complaint: %v", got.GetState())
		}
		// Upholding another with suspend_measure on a suspended measure is
		// refused whole: the complaint stays as it was.
		cp2 := must(c.CreateComplaint(m.GetName(), &pb.Complaint{ComplainantName: "张三", Description: "同上"})).ok(t)
		must(c.UpholdComplaint(cp2.GetName(), "属实", true)).fails(t, codes.FailedPrecondition)
		if l := must(c.ListComplaints(m.GetName(), "state = OPEN")).ok(t); len(l.GetComplaints()) != 1 || l.GetComplaints()[0].GetName() != cp2.GetName() {
			t.Fatalf("open complaints %v", l)
		}
		hist := must(c.ListMeasureHistory(m.GetName())).ok(t).GetEntries()
		var methods []string
		for _, h := range hist {
			methods = append(methods, h.GetMethod())
		}
		want := []string{"CreateMeasure", "ApproveMeasure", "SuspendMeasure", "ReinstateMeasure", "UpholdComplaint"}
		if !slices.Equal(methods, want) {
			t.Fatalf("history %v, want %v", methods, want)
		}

		// Exit, once, by a supervisor.
		must(w.moveMeasure("exit", m.GetName(), "协议终止")).fails(t, codes.PermissionDenied)
		m = must(c.moveMeasure("exit", m.GetName(), "协议终止")).ok(t)
		must(c.moveMeasure("exit", m.GetName(), "协议终止")).fails(t, codes.FailedPrecondition, "MEASURE_STATE_EXITED")
		must(c.UpdateMeasure(&pb.Measure{Name: m.GetName(), Etag: m.GetEtag(), Title: "x"}, "title")).fails(t, codes.FailedPrecondition)

		// An agreement that expired (the clock says 2 March 2026): no
		// approval until it is renewed; once renewed and approved, a new
		// expiry reads as SUSPENDED at once and the sweep stores it.
		expiring := must(c.CreateOrganization(e.organization(codes3[1], day(2026, 3, 1)), "")).ok(t)
		if !expiring.GetAgreementExpired() {
			t.Fatal("the agreement is not reported expired")
		}
		em := must(c.CreateMeasure(expiring.GetName(), &pb.Measure{Title: "就医绿色通道", Kind: pb.MeasureKind_MEASURE_KIND_MEDICAL})).ok(t)
		st = must(c.moveMeasure("approve", em.GetName(), "")).fails(t, codes.FailedPrecondition)
		if reasonOf(st.Err()) != "AGREEMENT_EXPIRED" {
			t.Errorf("reason %q, want AGREEMENT_EXPIRED", reasonOf(st.Err()))
		}
		expiring = must(c.UpdateOrganization(&pb.Organization{Name: expiring.GetName(), Etag: expiring.GetEtag(),
			AgreementExpiryDate: dateOf(far)}, "agreement_expiry_date")).ok(t)
		must(c.moveMeasure("approve", em.GetName(), "")).ok(t)
		must(c.UpdateOrganization(&pb.Organization{Name: expiring.GetName(), Etag: expiring.GetEtag(),
			AgreementExpiryDate: dateOf(day(2026, 3, 1))}, "agreement_expiry_date")).ok(t)
		if got := must(c.GetMeasure(em.GetName())).ok(t); got.GetState() != pb.MeasureState_MEASURE_STATE_SUSPENDED {
			t.Fatalf("read under an expired agreement: %v", got.GetState())
		}
		if n, err := e.db.Store().SuspendExpiredMeasures(context.Background(), e.clock.Now()); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		hist = must(c.ListMeasureHistory(em.GetName())).ok(t).GetEntries()
		if last := hist[len(hist)-1]; last.GetActor() != "system" || last.GetToState() != pb.MeasureState_MEASURE_STATE_SUSPENDED {
			t.Fatalf("the sweep's history %v", last)
		}
		must(c.moveMeasure("reinstate", em.GetName(), "")).fails(t, codes.FailedPrecondition)
	})

	// The feed carries the ledger's changes, and its event types filter.
	es := pb.NewEventServiceClient(e.conn)
	evs, err := es.ListEvents(ctxFor(t), &pb.ListEventsRequest{ResourceTypes: []string{"measures"}, EventTypes: []string{"ApproveMeasure"}, PageSize: 100})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(evs.GetEvents()) < 4 {
		t.Fatalf("%d ApproveMeasure events, want 4 or more", len(evs.GetEvents()))
	}
	evs, err = es.ListEvents(ctxFor(t), &pb.ListEventsRequest{ResourceTypes: []string{"complaints", "organizations", "reviews"}, PageSize: 500})
	if err != nil || len(evs.GetEvents()) < 8 {
		t.Fatalf("ledger events: %d, %v", len(evs.GetEvents()), err)
	}

	// Pages: a walk with page tokens lists what one page does, over both
	// transports; a token does not serve another filter.
	for _, c := range e.clients(t) {
		all := must(c.ListMeasures("organizations/-", "", 500, "")).ok(t).GetMeasures()
		var walked []string
		token := ""
		for {
			page := must(c.ListMeasures("organizations/-", "", 2, token)).ok(t)
			walked = append(walked, measureNames(page.GetMeasures())...)
			if token = page.GetNextPageToken(); token == "" {
				break
			}
			must(c.ListMeasures("organizations/-", "state = ACTIVE", 2, token)).fails(t, codes.InvalidArgument)
		}
		if len(all) < 6 || !slices.Equal(walked, measureNames(all)) {
			t.Fatalf("%s: walked %d measures, one page has %d", c.name, len(walked), len(all))
		}
	}

	// A year without a review: every live measure is overdue.
	e.clock.Advance(400 * 24 * time.Hour)
	c := e.grpcClient(t)
	over := must(c.ListMeasures("organizations/-", "review_overdue = true", 0, "")).ok(t)
	if len(over.GetMeasures()) == 0 {
		t.Fatal("no measure is review_overdue after a year")
	}
	for _, m := range over.GetMeasures() {
		if !m.GetReviewOverdue() || m.GetState() == pb.MeasureState_MEASURE_STATE_EXITED {
			t.Errorf("%s listed overdue: %v %v", m.GetName(), m.GetReviewOverdue(), m.GetState())
		}
	}
}
