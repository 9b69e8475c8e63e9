package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// --- ReferralService -----------------------------------------------------------

func (c *client) ListAgencies(filter string) (*pb.ListAgenciesResponse, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	out := &pb.ListAgenciesResponse{}
	return out, c.call("ReferralService/ListAgencies", get("agencies", q), &pb.ListAgenciesRequest{Filter: filter}, out)
}

func (c *client) GetAgency(name string) (*pb.Agency, error) {
	out := &pb.Agency{}
	return out, c.call("ReferralService/GetAgency", get(name, nil), &pb.GetAgencyRequest{Name: name}, out)
}

func (c *client) CreateAgency(id string, a *pb.Agency) (*pb.Agency, error) {
	r := post("agencies", a)
	r.query = url.Values{"agencyId": {id}}
	out := &pb.Agency{}
	return out, c.call("ReferralService/CreateAgency", r, &pb.CreateAgencyRequest{AgencyId: id, Agency: a}, out)
}

func (c *client) UpdateAgency(a *pb.Agency, mask ...string) (*pb.Agency, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(a).(*pb.Agency)
	body.Name = ""
	out := &pb.Agency{}
	return out, c.call("ReferralService/UpdateAgency",
		route{method: http.MethodPatch, path: a.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateAgencyRequest{Agency: a, UpdateMask: m}, out)
}

func (c *client) CreateReferral(parent string, r *pb.Referral, requestID string) (*pb.Referral, error) {
	rt := post(parent+"/referrals", r)
	if requestID != "" {
		rt.query = url.Values{"requestId": {requestID}}
	}
	out := &pb.Referral{}
	return out, c.call("ReferralService/CreateReferral", rt, &pb.CreateReferralRequest{Parent: parent, Referral: r, RequestId: requestID}, out)
}

func (c *client) GetReferral(name string, view pb.View) (*pb.Referral, error) {
	q := url.Values{}
	if view != pb.View_VIEW_UNSPECIFIED {
		q.Set("view", view.String())
	}
	out := &pb.Referral{}
	return out, c.call("ReferralService/GetReferral", get(name, q), &pb.GetReferralRequest{Name: name, View: view}, out)
}

func (c *client) ListReferrals(req *pb.ListReferralsRequest) (*pb.ListReferralsResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	if req.GetShowDeleted() {
		q.Set("showDeleted", "true")
	}
	if req.GetView() != pb.View_VIEW_UNSPECIFIED {
		q.Set("view", req.GetView().String())
	}
	out := &pb.ListReferralsResponse{}
	return out, c.call("ReferralService/ListReferrals", get(req.GetParent()+"/referrals", q), req, out)
}

func (c *client) UpdateReferral(r *pb.Referral, mask ...string) (*pb.Referral, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(r).(*pb.Referral)
	body.Name = ""
	out := &pb.Referral{}
	return out, c.call("ReferralService/UpdateReferral",
		route{method: http.MethodPatch, path: r.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateReferralRequest{Referral: r, UpdateMask: m}, out)
}

func (c *client) RecordReferralReply(req *pb.RecordReferralReplyRequest) (*pb.Referral, error) {
	out := &pb.Referral{}
	return out, c.call("ReferralService/RecordReferralReply", post(req.GetName()+":recordReply", req), req, out)
}

func (c *client) DeleteReferral(name, etag string) (*pb.Referral, error) {
	q := url.Values{}
	if etag != "" {
		q.Set("etag", etag)
	}
	out := &pb.Referral{}
	return out, c.call("ReferralService/DeleteReferral", route{method: http.MethodDelete, path: name, query: q},
		&pb.DeleteReferralRequest{Name: name, Etag: etag}, out)
}

// --- AlertService ----------------------------------------------------------------

func (c *client) ListAlerts(filter string) (*pb.ListAlertsResponse, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	out := &pb.ListAlertsResponse{}
	return out, c.call("AlertService/ListAlerts", get("alerts", q), &pb.ListAlertsRequest{Filter: filter}, out)
}

func (c *client) GetAlert(name string) (*pb.Alert, error) {
	out := &pb.Alert{}
	return out, c.call("AlertService/GetAlert", get(name, nil), &pb.GetAlertRequest{Name: name}, out)
}

func (c *client) AcknowledgeAlert(name, requestID string) (*pb.Alert, error) {
	req := &pb.AcknowledgeAlertRequest{Name: name, RequestId: requestID}
	out := &pb.Alert{}
	return out, c.call("AlertService/AcknowledgeAlert", post(name+":acknowledge", req), req, out)
}

// historyMethods lists the methods of a case's history, oldest first.
func historyMethods(t *testing.T, c *client, cs string) []string {
	t.Helper()
	var out []string
	for _, h := range must(c.History(cs)).ok(t).GetEntries() {
		out = append(out, h.GetMethod())
	}
	return out
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// testReferrals walks the partner agencies and a case's referrals over
// both transports: the seeded table, who may keep it, a referral recorded,
// read masked and in full, listed by agency and state, replied to,
// corrected under its etag, withdrawn, each step in the case's history,
// and hidden from another town.
func testReferrals(t *testing.T, e *env) {
	admin := e.clientsAs(t, e.roleToken(t, principal.Admin))
	townSupervisor := e.clientsAs(t, e.token(t, "e2e-supervisor-a", []principal.Role{principal.Supervisor}, townA))
	otherTown := e.clientsAs(t, e.token(t, "e2e-caseworker-b", []principal.Role{principal.Caseworker}, townB))
	auditor := e.asRole(t, principal.Auditor)
	for i, c := range e.clients(t) {
		c.t = t
		t.Run(c.name, func(t *testing.T) {
			c.t = t
			for _, x := range []*client{admin[i], townSupervisor[i], otherTown[i], auditor[i]} {
				x.t = t
			}
			testAgencies(t, c, admin[i], townSupervisor[i])
			testReferralLifecycle(t, e, c, otherTown[i], auditor[i])
		})
	}
}

func testAgencies(t *testing.T, c, admin, townSupervisor *client) {
	all := must(c.ListAgencies("")).ok(t).GetAgencies()
	var got []string
	for _, a := range all {
		got = append(got, a.GetName()+" "+a.GetDisplayName())
	}
	for _, want := range []string{"agencies/rsj 人社局", "agencies/xjw 县教委", "agencies/ybj 医保局", "agencies/wjw 卫健委",
		"agencies/sfj-flyz 司法局法律援助中心", "agencies/rwb 人武部"} {
		if !slices.Contains(got, want) {
			t.Errorf("the seeded agencies %v lack %s", got, want)
		}
	}
	rsj := must(c.GetAgency("agencies/rsj")).ok(t)
	if !rsj.GetActive() || !slices.Equal(rsj.GetCaseTypes(), []pb.CaseType{pb.CaseType_CASE_TYPE_EMPLOYMENT_PLACEMENT}) {
		t.Errorf("rsj = %v", rsj)
	}
	// An admin adds one; a second with the id conflicts; a supervisor of
	// one town may not change the county's table.
	id := "mzj-" + c.name
	mzj := must(admin.CreateAgency(id, &pb.Agency{DisplayName: "民政局", Active: true,
		CaseTypes: []pb.CaseType{pb.CaseType_CASE_TYPE_ELDER_MEDICAL_HELP}})).ok(t)
	if mzj.GetName() != "agencies/"+id || mzj.GetEtag() != "v1" {
		t.Errorf("CreateAgency = %v", mzj)
	}
	must(admin.CreateAgency(id, &pb.Agency{DisplayName: "again"})).fails(t, codes.AlreadyExists)
	must(admin.CreateAgency("X", &pb.Agency{DisplayName: "bad id"})).fails(t, codes.InvalidArgument)
	wantReason(t, must(townSupervisor.UpdateAgency(mzj, "active")).fails(t, codes.PermissionDenied), pb.ErrorReason_COUNTY_POLICY_NEEDS_COUNTY_WIDE)
	off := proto.Clone(mzj).(*pb.Agency)
	off.Active = false
	off = must(c.UpdateAgency(off, "active")).ok(t)
	if off.GetActive() || off.GetEtag() != "v2" || off.GetDisplayName() != "民政局" {
		t.Errorf("UpdateAgency(active=false) = %v", off)
	}
	if active := must(c.ListAgencies("active = true")).ok(t).GetAgencies(); slices.ContainsFunc(active, func(a *pb.Agency) bool { return a.GetName() == off.GetName() }) {
		t.Errorf("an inactive agency is listed as active")
	}
}

func testReferralLifecycle(t *testing.T, e *env, c, otherTown, auditor *client) {
	f := e.family(t, c)
	cs := must(c.CreateCase(employmentCase(f))).ok(t).GetName()
	today := e.clock.Now().In(domain.ChinaTime)
	day := func(d time.Time) *pb.Referral {
		return &pb.Referral{Agency: "agencies/rsj", SentDate: dateOf(today), Request: "请安排随军家属就业岗位",
			AgencyReference: "RSJ-2026-001", FollowUpDueDate: dateOf(d)}
	}
	ref := day(today.AddDate(0, 0, 14))
	id := "referral-" + c.name
	r := must(c.CreateReferral(cs, ref, id)).ok(t)
	if !strings.HasPrefix(r.GetName(), cs+"/referrals/") || r.GetState() != pb.ReferralState_REFERRAL_STATE_AWAITING_REPLY ||
		r.GetRequest() != ref.GetRequest() || r.GetEtag() != "v1" || r.GetCreator() != supervisorUser {
		t.Errorf("CreateReferral = %v", r)
	}
	if again := must(c.CreateReferral(cs, ref, id)).ok(t); again.GetName() != r.GetName() {
		t.Errorf("a retry with the same request id made another referral: %s", again.GetName())
	}
	// Bad input: follow-up before the referral, an inactive agency.
	early := day(today.AddDate(0, 0, -1))
	wantViolation(t, must(c.CreateReferral(cs, early, "")).fails(t, codes.InvalidArgument), "referral.follow_up_due_date")
	inactive := day(today)
	inactive.Agency = "agencies/mzj-" + c.name
	wantReason(t, must(c.CreateReferral(cs, inactive, "")).fails(t, codes.FailedPrecondition), pb.ErrorReason_AGENCY_INACTIVE)

	// Reads mask the texts unless the full view is asked for (audited).
	masked := must(c.GetReferral(r.GetName(), pb.View_VIEW_UNSPECIFIED)).ok(t)
	if masked.GetRequest() != "" || !masked.GetTextMasked() || masked.GetAgencyReference() != "RSJ-2026-001" {
		t.Errorf("the masked read = %v", masked)
	}
	if full := must(c.GetReferral(r.GetName(), pb.View_VIEW_FULL)).ok(t); full.GetRequest() != ref.GetRequest() || full.GetTextMasked() {
		t.Errorf("the full read = %v", full)
	}
	must(auditor.GetReferral(r.GetName(), pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
	must(auditor.GetReferral(r.GetName(), pb.View_VIEW_UNSPECIFIED)).ok(t)
	must(otherTown.GetReferral(r.GetName(), pb.View_VIEW_UNSPECIFIED)).fails(t, codes.NotFound)
	must(otherTown.ListReferrals(&pb.ListReferralsRequest{Parent: cs})).fails(t, codes.NotFound)
	must(otherTown.CreateReferral(cs, ref, "")).fails(t, codes.NotFound)
	must(otherTown.RecordReferralReply(&pb.RecordReferralReplyRequest{Name: r.GetName(), Reply: "x", ReplyDate: dateOf(today)})).fails(t, codes.NotFound)
	must(otherTown.DeleteReferral(r.GetName(), "")).fails(t, codes.NotFound)

	// A second referral, to the school board; lists by agency and state.
	second := day(today.AddDate(0, 0, 7))
	second.Agency = "agencies/xjw"
	r2 := must(c.CreateReferral(cs, second, "")).ok(t)
	list := func(filter string, deleted bool) []string {
		var out []string
		resp := must(c.ListReferrals(&pb.ListReferralsRequest{Parent: cs, Filter: filter, ShowDeleted: deleted, View: pb.View_VIEW_FULL})).ok(t)
		for _, x := range resp.GetReferrals() {
			out = append(out, x.GetName())
		}
		slices.Sort(out)
		return out
	}
	both := []string{r.GetName(), r2.GetName()}
	slices.Sort(both)
	if got := list("", false); !slices.Equal(got, both) {
		t.Errorf("ListReferrals = %v, want %v", got, both)
	}
	if got := list(`agency = "agencies/xjw"`, false); !slices.Equal(got, []string{r2.GetName()}) {
		t.Errorf("agency = xjw: %v", got)
	}
	must(c.ListReferrals(&pb.ListReferralsRequest{Parent: cs, Filter: "state = LOST"})).fails(t, codes.InvalidArgument)

	// The reply, once; a correction is an update under the etag.
	replied := must(c.RecordReferralReply(&pb.RecordReferralReplyRequest{Name: r.GetName(), Reply: "已安排至县供电公司",
		ReplyDate: dateOf(today), AgencyReference: "RSJ-2026-001-A", Etag: "v1", RequestId: "reply-" + c.name})).ok(t)
	if replied.GetState() != pb.ReferralState_REFERRAL_STATE_REPLIED || replied.GetEtag() != "v2" || replied.GetAgencyReference() != "RSJ-2026-001-A" {
		t.Errorf("RecordReferralReply = %v", replied)
	}
	wantReason(t, must(c.RecordReferralReply(&pb.RecordReferralReplyRequest{Name: r.GetName(), Reply: "again",
		ReplyDate: dateOf(today)})).fails(t, codes.FailedPrecondition), pb.ErrorReason_REFERRAL_REPLIED)
	if got := list("state = REPLIED", false); !slices.Equal(got, []string{r.GetName()}) {
		t.Errorf("state = REPLIED: %v", got)
	}
	stale := proto.Clone(replied).(*pb.Referral)
	stale.Etag, stale.Reply = "v1", "改"
	must(c.UpdateReferral(stale, "reply")).fails(t, codes.Aborted)
	fix := proto.Clone(replied).(*pb.Referral)
	fix.Reply = "已安排至县供电公司（正式录用）"
	fixed := must(c.UpdateReferral(fix, "reply")).ok(t)
	if fixed.GetEtag() != "v3" {
		t.Errorf("UpdateReferral = %v", fixed)
	}
	if full := must(c.GetReferral(r.GetName(), pb.View_VIEW_FULL)).ok(t); full.GetReply() != fix.GetReply() {
		t.Errorf("the corrected reply reads %q", full.GetReply())
	}

	// Withdrawn: kept, readable, out of the list, unchangeable.
	gone := must(c.DeleteReferral(r2.GetName(), "")).ok(t)
	if gone.GetState() != pb.ReferralState_REFERRAL_STATE_WITHDRAWN || gone.GetDeleteTime() == nil {
		t.Errorf("DeleteReferral = %v", gone)
	}
	if got := list("", false); !slices.Equal(got, []string{r.GetName()}) {
		t.Errorf("after withdrawing: %v", got)
	}
	if got := list("state = WITHDRAWN", true); !slices.Equal(got, []string{r2.GetName()}) {
		t.Errorf("state = WITHDRAWN: %v", got)
	}
	wantReason(t, must(c.UpdateReferral(gone, "agency_reference")).fails(t, codes.FailedPrecondition), pb.ErrorReason_REFERRAL_WITHDRAWN)

	methods := historyMethods(t, c, cs)
	for m, n := range map[string]int{"CreateReferral": 2, "RecordReferralReply": 1, "UpdateReferral": 1, "DeleteReferral": 1} {
		if got := count(methods, m); got != n {
			t.Errorf("the case's history holds %d %s, want %d: %v", got, m, n, methods)
		}
	}
	// The feed carried every change of the first referral, in order.
	if got := eventTypesOf(t, c, r.GetName(), "referrals"); !slices.Equal(got, []string{"CreateReferral", "RecordReferralReply", "UpdateReferral"}) {
		t.Errorf("the referral's events: %v", got)
	}
}

// eventTypesOf lists the types of the feed's events of resource.
func eventTypesOf(t *testing.T, c *client, resource, resourceType string) []string {
	t.Helper()
	var out []string
	for _, ev := range must(c.ListEventsOf(0, resourceType)).ok(t).GetEvents() {
		if ev.GetResource() == resource {
			out = append(out, ev.GetType())
		}
	}
	return out
}

// fastAlerts scans for alerts often, so a test sees them at once.
func fastAlerts(c *server.Config) {
	c.JobPoll = 50 * time.Millisecond
	c.AlertScanEvery = 100 * time.Millisecond
	c.AlertWindow = 72 * time.Hour
}

// waitAlerts polls c's alert list (filter) until it holds n alerts, and
// returns them sorted by kind and case.
func waitAlerts(t *testing.T, c *client, filter string, n int) []*pb.Alert {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := must(c.ListAlerts(filter)).ok(t).GetAlerts()
		if len(got) == n {
			slices.SortFunc(got, func(a, b *pb.Alert) int {
				return strings.Compare(a.GetKind().String()+a.GetCase(), b.GetKind().String()+b.GetCase())
			})
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d alerts (%v), want %d", c.name, len(got), got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testAlerts runs two servers on one database, both scanning for alerts
// every 100ms: a case due within the window, an overdue case and an
// unanswered referral each raise one alert, once, whatever the number of
// scans and servers; a caseworker sees the alerts of their own cases, a
// supervisor every one of the town; acknowledging drops it from the list
// and is recorded in the case's history; a passed deadline is a new alert.
func testAlerts(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastAlerts)
	secondBase, secondConn := e.serveWith(t, e.secondStore(t), fastAlerts)
	sup := e.grpcClient(t)
	// An elder's medical help is due a number of days after it is
	// submitted: two submitted ten days apart are due ten days apart.
	open := func() *pb.Case {
		cs := must(sup.CreateCase(elderCase(e.family(t, sup)))).ok(t)
		cs = must(sup.Submit(cs.GetName(), "")).ok(t)
		if cs.GetDueTime() == nil {
			t.Fatalf("a submitted case has no due time: %v", cs)
		}
		return cs
	}
	late := open()
	e.clock.Advance(10 * 24 * time.Hour)
	soon := open()
	const worker = "e2e-caseworker-a"
	soon = must(sup.Assign(soon.GetName(), worker)).ok(t)
	today := e.clock.Now().In(domain.ChinaTime)
	ref := must(sup.CreateReferral(soon.GetName(), &pb.Referral{Agency: "agencies/rsj", SentDate: dateOf(today),
		Request: "请安排就业", FollowUpDueDate: dateOf(today)}, "")).ok(t)
	due := soon.GetDueTime().AsTime()
	if due.Sub(e.clock.Now()) < 3*24*time.Hour {
		t.Fatalf("the case is due %s, too soon for the test's steps", due)
	}
	// A day before the soon case is due: the other is overdue and the
	// referral's follow-up date has passed.
	e.clock.Set(due.Add(-24 * time.Hour))

	supervisors := []*client{sup, e.httpClient(t)}
	second := e.grpcClient(t)
	second.conn = secondConn
	secondHTTP := e.httpClient(t)
	secondHTTP.base = secondBase
	supervisors = append(supervisors, second, secondHTTP)
	var alerts []*pb.Alert
	for _, c := range supervisors {
		alerts = waitAlerts(t, c, "", 3)
	}
	want := []string{"ALERT_KIND_CASE_DUE_SOON " + soon.GetName(), "ALERT_KIND_CASE_OVERDUE " + late.GetName(),
		"ALERT_KIND_REFERRAL_OVERDUE " + soon.GetName()}
	for i, a := range alerts {
		if got := a.GetKind().String() + " " + a.GetCase(); got != want[i] {
			t.Errorf("alert %d: %s, want %s", i, got, want[i])
		}
	}
	if a := alerts[2]; a.GetReferral() != ref.GetName() || a.GetAssignee() != worker || a.GetTownCode() != townA {
		t.Errorf("the referral's alert = %v", a)
	}
	// Many scans later, on both servers: still one alert each.
	time.Sleep(time.Second)
	var rows int64
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM alerts").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 3 {
		t.Errorf("%d alert rows after many scans on two servers, want 3", rows)
	}
	if n := count(historyMethods(t, sup, soon.GetName()), "RaiseAlert"); n != 2 {
		t.Errorf("the soon case's history records %d raised alerts, want 2", n)
	}

	// Who sees what: the assignee their case's two; another caseworker of
	// the town none; another town's supervisor none; an auditor may not ask.
	mine := e.clientsAs(t, e.token(t, worker, []principal.Role{principal.Caseworker}, townA))
	notMine := e.clientsAs(t, e.token(t, "e2e-caseworker-a2", []principal.Role{principal.Caseworker}, townA))
	townBSup := e.clientsAs(t, e.token(t, "e2e-supervisor-b", []principal.Role{principal.Supervisor}, townB))
	auditor := e.asRole(t, principal.Auditor)
	for i := range mine {
		if got := waitAlerts(t, mine[i], "", 2); got[0].GetCase() != soon.GetName() || got[1].GetCase() != soon.GetName() {
			t.Errorf("%s: the assignee sees %v", mine[i].name, got)
		}
		waitAlerts(t, notMine[i], "", 0)
		waitAlerts(t, townBSup[i], "", 0)
		must(notMine[i].GetAlert(alerts[0].GetName())).fails(t, codes.NotFound)
		must(townBSup[i].AcknowledgeAlert(alerts[0].GetName(), "")).fails(t, codes.NotFound)
		must(auditor[i].ListAlerts("")).fails(t, codes.PermissionDenied)
	}

	// The assignee acknowledges over gRPC, then over HTTP (a retry by
	// request id answers the same).
	for i, a := range []*pb.Alert{alerts[0], alerts[2]} {
		c := mine[i]
		acked := must(c.AcknowledgeAlert(a.GetName(), "ack-"+c.name)).ok(t)
		if acked.GetAcknowledgedBy() != worker || acked.GetAcknowledgeTime() == nil || acked.GetEtag() != "v2" {
			t.Errorf("%s: AcknowledgeAlert = %v", c.name, acked)
		}
		if again := must(c.AcknowledgeAlert(a.GetName(), "ack-"+c.name)).ok(t); !proto.Equal(again, acked) {
			t.Errorf("%s: a retry answered %v, want %v", c.name, again, acked)
		}
	}
	for _, c := range mine {
		waitAlerts(t, c, "", 0)
		waitAlerts(t, c, "acknowledged = true", 2)
	}
	waitAlerts(t, sup, "", 1)
	if n := count(historyMethods(t, sup, soon.GetName()), "AcknowledgeAlert"); n != 2 {
		t.Errorf("the case's history records %d acknowledgements, want 2", n)
	}
	// The server raised it (its own change), the assignee acknowledged it.
	if got := eventTypesOf(t, sup, alerts[0].GetName(), "alerts"); !slices.Equal(got, []string{repository.EventTypeServer, "AcknowledgeAlert"}) {
		t.Errorf("the alert's events: %v", got)
	}

	// Past the soon case's due time: a new alert, overdue, raised once.
	e.clock.Set(due.Add(time.Hour))
	got := waitAlerts(t, mine[0], "", 1)
	if got[0].GetKind() != pb.AlertKind_ALERT_KIND_CASE_OVERDUE || got[0].GetCase() != soon.GetName() {
		t.Errorf("after the due time: %v", got)
	}
	time.Sleep(500 * time.Millisecond)
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM alerts").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 4 {
		t.Errorf("%d alert rows, want 4", rows)
	}
}
