package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// --- LedgerService -------------------------------------------------------------

func (c *client) CreateContact(parent string, ct *pb.Contact, requestID string) (*pb.Contact, error) {
	r := post(parent+"/contacts", ct)
	if requestID != "" {
		r.query = url.Values{"requestId": {requestID}}
	}
	out := &pb.Contact{}
	return out, c.call("LedgerService/CreateContact", r, &pb.CreateContactRequest{Parent: parent, Contact: ct, RequestId: requestID}, out)
}

func (c *client) GetContact(name string) (*pb.Contact, error) {
	out := &pb.Contact{}
	return out, c.call("LedgerService/GetContact", get(name, nil), &pb.GetContactRequest{Name: name}, out)
}

func (c *client) ListContacts(req *pb.ListContactsRequest) (*pb.ListContactsResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	out := &pb.ListContactsResponse{}
	return out, c.call("LedgerService/ListContacts", get(req.GetParent()+"/contacts", q), req, out)
}

func (c *client) UpdateContact(ct *pb.Contact, mask ...string) (*pb.Contact, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(ct).(*pb.Contact)
	body.Name = ""
	out := &pb.Contact{}
	return out, c.call("LedgerService/UpdateContact",
		route{method: http.MethodPatch, path: ct.GetName(), body: body, query: maskQuery(m)},
		&pb.UpdateContactRequest{Contact: ct, UpdateMask: m}, out)
}

func (c *client) CreateAssistance(parent string, a *pb.Assistance) (*pb.Assistance, error) {
	out := &pb.Assistance{}
	return out, c.call("LedgerService/CreateAssistance", post(parent+"/assistance", a),
		&pb.CreateAssistanceRequest{Parent: parent, Assistance: a}, out)
}

func (c *client) ListAssistance(parent, filter string) (*pb.ListAssistanceResponse, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	out := &pb.ListAssistanceResponse{}
	return out, c.call("LedgerService/ListAssistance", get(parent+"/assistance", q),
		&pb.ListAssistanceRequest{Parent: parent, Filter: filter}, out)
}

func (c *client) OpenContactCase(req *pb.OpenContactCaseRequest) (*pb.Contact, error) {
	out := &pb.Contact{}
	return out, c.call("LedgerService/OpenContactCase", post(req.GetName()+":openCase", req), req, out)
}

func (c *client) GetContactPolicy() (*pb.ContactPolicy, error) {
	out := &pb.ContactPolicy{}
	return out, c.call("LedgerService/GetContactPolicy", get("contactPolicy", nil), &pb.GetContactPolicyRequest{Name: "contactPolicy"}, out)
}

func (c *client) UpdateContactPolicy(p *pb.ContactPolicy, mask ...string) (*pb.ContactPolicy, error) {
	m := &fieldmaskpb.FieldMask{Paths: mask}
	body := proto.Clone(p).(*pb.ContactPolicy)
	body.Name = ""
	out := &pb.ContactPolicy{}
	return out, c.call("LedgerService/UpdateContactPolicy",
		route{method: http.MethodPatch, path: "contactPolicy", body: body, query: maskQuery(m)},
		&pb.UpdateContactPolicyRequest{ContactPolicy: p, UpdateMask: m}, out)
}

func (c *client) GetHouseholdLedger(household string) (*pb.HouseholdLedger, error) {
	out := &pb.HouseholdLedger{}
	return out, c.call("LedgerService/GetHouseholdLedger", get(household+"/ledger", nil),
		&pb.GetHouseholdLedgerRequest{Name: household + "/ledger"}, out)
}

func ymd(y, m, d int32) *date.Date { return &date.Date{Year: y, Month: m, Day: d} }

func sameDate(a, b *date.Date) bool { return proto.Equal(a, b) }

func borderPost(h *pb.Household) {
	h.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE
}

// testLedger walks the household ledger over both transports: contacts
// and their effect on next_contact_due, the overdue filter, assistance,
// the whole ledger in one call with its sensitive fields masked, town
// scope, request ids, and the feed.
func testLedger(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c, borderPost)
		h := f.household.GetName()
		// Registered 2026-03-02 (China): a border family is due within 90 days.
		got := must(c.GetHousehold(h)).ok(t)
		if !sameDate(got.GetNextContactDue(), ymd(2026, 5, 31)) {
			t.Errorf("a new border household is due %v, want 2026-05-31", got.GetNextContactDue())
		}
		if !slices.Equal(got.GetContactBasis(), []string{string(domain.RuleContactBorderMission)}) {
			t.Errorf("a border household's contact basis = %v", got.GetContactBasis())
		}
		// A regular household in hardship: monthly, by the other rule.
		poor := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) {
			h.Servicemember.PostType, h.Hardship, h.HardshipNote = pb.PostType_POST_TYPE_REGULAR, true, "因病致困"
		}))).ok(t)
		if !sameDate(poor.GetNextContactDue(), ymd(2026, 4, 1)) ||
			!slices.Equal(poor.GetContactBasis(), []string{string(domain.RuleContactHardship)}) {
			t.Errorf("a hardship household is due %v by %v, want 2026-04-01 by %s", poor.GetNextContactDue(),
				poor.GetContactBasis(), domain.RuleContactHardship)
		}

		contact := &pb.Contact{ContactDate: ymd(2026, 3, 1), Channel: pb.ContactChannel_CONTACT_CHANNEL_PHONE,
			Raised: "配偶就业", FollowUps: []*pb.FollowUp{{Text: "联系人社局", DueDate: ymd(2026, 3, 20)}}}
		id := "ledger-" + c.name + "-1"
		first := must(c.CreateContact(h, contact, id)).ok(t)
		if !strings.HasPrefix(first.GetName(), h+"/contacts/") || first.GetRecordedBy() == "" || first.GetEtag() != "v1" ||
			len(first.GetFollowUps()) != 1 || !sameDate(first.GetFollowUps()[0].GetDueDate(), ymd(2026, 3, 20)) {
			t.Errorf("CreateContact = %v", first)
		}
		if again := must(c.CreateContact(h, contact, id)).ok(t); again.GetName() != first.GetName() {
			t.Errorf("a retry with the same request id made another contact: %s", again.GetName())
		}
		got = must(c.GetHousehold(h)).ok(t)
		if !sameDate(got.GetNextContactDue(), ymd(2026, 5, 30)) {
			t.Errorf("after a contact on 2026-03-01 the household is due %v, want 2026-05-30", got.GetNextContactDue())
		}

		// Bad input: a date in the future, no channel, a partial date.
		future := proto.Clone(contact).(*pb.Contact)
		future.ContactDate = ymd(2026, 3, 3)
		wantViolation(t, must(c.CreateContact(h, future, "")).fails(t, codes.InvalidArgument), "contact.contact_date")
		noChannel := proto.Clone(contact).(*pb.Contact)
		noChannel.Channel = pb.ContactChannel_CONTACT_CHANNEL_UNSPECIFIED
		must(c.CreateContact(h, noChannel, "")).fails(t, codes.InvalidArgument)

		// A second contact, then the list newest first, a page at a time.
		second := must(c.CreateContact(h, &pb.Contact{ContactDate: ymd(2026, 3, 2),
			Channel: pb.ContactChannel_CONTACT_CHANNEL_HOME_VISIT, Raised: "老人就医"}, "")).ok(t)
		page := must(c.ListContacts(&pb.ListContactsRequest{Parent: h, PageSize: 1})).ok(t)
		if len(page.GetContacts()) != 1 || page.GetContacts()[0].GetName() != second.GetName() || page.GetNextPageToken() == "" {
			t.Fatalf("first page = %v", page)
		}
		page = must(c.ListContacts(&pb.ListContactsRequest{Parent: h, PageSize: 1, PageToken: page.GetNextPageToken()})).ok(t)
		if len(page.GetContacts()) != 1 || page.GetContacts()[0].GetName() != first.GetName() || page.GetNextPageToken() != "" {
			t.Errorf("second page = %v", page)
		}
		phone := must(c.ListContacts(&pb.ListContactsRequest{Parent: h, Filter: "channel = PHONE"})).ok(t)
		if len(phone.GetContacts()) != 1 || phone.GetContacts()[0].GetName() != first.GetName() {
			t.Errorf("channel = PHONE: %v", phone.GetContacts())
		}
		must(c.ListContacts(&pb.ListContactsRequest{Parent: h, Filter: `contact_date < "yesterday"`})).fails(t, codes.InvalidArgument)

		// An update needs the current etag.
		stale := proto.Clone(first).(*pb.Contact)
		stale.Etag, stale.Raised = "v7", "改"
		must(c.UpdateContact(stale, "raised")).fails(t, codes.Aborted)
		edit := proto.Clone(first).(*pb.Contact)
		edit.Raised = "配偶就业；子女入学"
		updated := must(c.UpdateContact(edit, "raised")).ok(t)
		if updated.GetRaised() != edit.GetRaised() || updated.GetEtag() != "v2" || !sameDate(updated.GetContactDate(), ymd(2026, 3, 1)) {
			t.Errorf("UpdateContact = %v", updated)
		}
		if read := must(c.GetContact(first.GetName())).ok(t); read.GetRaised() != edit.GetRaised() {
			t.Errorf("GetContact after the update = %v", read)
		}

		// Hardship help, in fen.
		help := &pb.Assistance{Kind: pb.AssistanceKind_ASSISTANCE_KIND_MEDICAL, AmountFen: 50000,
			AssistanceDate: ymd(2026, 2, 20), SourceOfFunds: "县双拥基金", Approver: "县退役军人事务局"}
		a := must(c.CreateAssistance(h, help)).ok(t)
		if a.GetAmountFen() != 50000 || !strings.HasPrefix(a.GetName(), h+"/assistance/") {
			t.Errorf("CreateAssistance = %v", a)
		}
		zero := proto.Clone(help).(*pb.Assistance)
		zero.AmountFen = 0
		wantViolation(t, must(c.CreateAssistance(h, zero)).fails(t, codes.InvalidArgument), "assistance.amount_fen")
		if l := must(c.ListAssistance(h, "kind = MEDICAL")).ok(t); len(l.GetAssistance()) != 1 {
			t.Errorf("ListAssistance kind = MEDICAL: %v", l)
		}

		// The overdue list.
		inList := func(filter string) bool {
			resp := must(c.ListHouseholds(&pb.ListHouseholdsRequest{Filter: filter, PageSize: 500})).ok(t)
			for _, x := range resp.GetHouseholds() {
				if x.GetName() == h {
					return true
				}
			}
			return false
		}
		if !inList(`next_contact_due < "2026-06-01"`) || inList(`next_contact_due < "2026-05-30"`) {
			t.Error(`next_contact_due filter does not find the household due 2026-05-30`)
		}
		if inList("contact_overdue = true") || !inList("contact_overdue = false") {
			t.Error("a household due in May is overdue in March")
		}
		// The due list in due order, none due last.
		byDue := &pb.ListHouseholdsRequest{OrderBy: "next_contact_due", PageSize: 500}
		listed := &pb.ListHouseholdsResponse{}
		if err := c.call("HouseholdService/ListHouseholds", get("households", url.Values{"orderBy": {byDue.GetOrderBy()}, "pageSize": {"500"}}),
			byDue, listed); err != nil {
			t.Fatalf("ListHouseholds by next_contact_due: %v", err)
		}
		last, seenNone := "", false
		for _, x := range listed.GetHouseholds() {
			d := x.GetNextContactDue()
			if d == nil {
				seenNone = true
				continue
			}
			key := fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
			if seenNone || key < last {
				t.Errorf("households by next_contact_due are out of order at %s (after %s, none due seen %v)", key, last, seenNone)
			}
			last = key
		}

		// One case, then the whole ledger in one call, masked.
		cs := must(c.CreateCase(elderCase(f))).ok(t)
		ledger := must(c.GetHouseholdLedger(h)).ok(t)
		if ledger.GetName() != h+"/ledger" || ledger.GetContactCount() != 2 || len(ledger.GetContacts()) != 2 ||
			ledger.GetAssistanceCount() != 1 || ledger.GetAssistanceTotalFen() != 50000 ||
			ledger.GetOpenCaseCount() != 1 || ledger.GetClosedCaseCount() != 0 || len(ledger.GetMembers()) != 3 {
			t.Errorf("ledger counts: %d contacts, %d assistance (%d fen), %d open, %d closed cases, %d members",
				ledger.GetContactCount(), ledger.GetAssistanceCount(), ledger.GetAssistanceTotalFen(),
				ledger.GetOpenCaseCount(), ledger.GetClosedCaseCount(), len(ledger.GetMembers()))
		}
		if len(ledger.GetCases()) != 1 || ledger.GetCases()[0].GetName() != cs.GetName() ||
			ledger.GetCases()[0].GetStatus() != pb.CaseStatus_CASE_STATUS_DRAFT ||
			ledger.GetCases()[0].GetCaseType() != pb.CaseType_CASE_TYPE_ELDER_MEDICAL_HELP {
			t.Errorf("ledger cases = %v", ledger.GetCases())
		}
		if id := ledger.GetHousehold().GetServicemember().GetIdNumber(); id == f.household.GetServicemember().GetIdNumber() || !strings.Contains(id, "*") {
			t.Error("the ledger shows the servicemember's ID number unmasked")
		}
		for _, m := range ledger.GetMembers() {
			if m.GetIdNumber() != "" && !strings.Contains(m.GetIdNumber(), "*") {
				t.Error("the ledger shows a member's ID number unmasked")
			}
		}

		// A follow-up opens a case in the contact's transaction, under
		// CreateCase's rules: a refused case records nothing.
		school := schoolCase(f)
		school.Household = ""
		bad := proto.Clone(school).(*pb.Case)
		bad.Subject = f.household.GetName() + "/members/01890000-0000-7000-8000-000000000000"
		st := must(c.CreateContact(h, &pb.Contact{ContactDate: ymd(2026, 3, 2), Channel: pb.ContactChannel_CONTACT_CHANNEL_VIDEO,
			FollowUps: []*pb.FollowUp{{Text: "入学申请", OpenCase: bad}}}, "")).fails(t, codes.InvalidArgument)
		wantViolation(t, st, "contact.follow_ups[0].open_case.subject")
		if n := must(c.GetHouseholdLedger(h)).ok(t).GetContactCount(); n != 2 {
			t.Errorf("a refused follow-up case left a contact: %d contacts", n)
		}
		opener := must(c.CreateContact(h, &pb.Contact{ContactDate: ymd(2026, 3, 2), Channel: pb.ContactChannel_CONTACT_CHANNEL_VIDEO,
			FollowUps: []*pb.FollowUp{{Text: "入学申请", OpenCase: school}, {Text: "回访"}}}, "")).ok(t)
		opened := opener.GetFollowUps()[0].GetOpenedCase()
		if !strings.HasPrefix(opened, "cases/") || opener.GetFollowUps()[1].GetOpenedCase() != "" {
			t.Fatalf("follow-ups after opening a case: %v", opener.GetFollowUps())
		}
		oc := must(c.GetCase(opened)).ok(t)
		if oc.GetSourceContact() != opener.GetName() || oc.GetSubject() != f.child.GetName() || oc.GetStatus() != pb.CaseStatus_CASE_STATUS_DRAFT ||
			oc.GetHousehold() != h || oc.GetPriority() == pb.CasePriority_CASE_PRIORITY_UNSPECIFIED {
			t.Errorf("the opened case = %v", oc)
		}
		if n := must(c.GetHouseholdLedger(h)).ok(t).GetOpenCaseCount(); n != 2 {
			t.Errorf("the ledger shows %d open cases, want 2", n)
		}
		// Its follow-ups stand: the case it opened stays named.
		change := proto.Clone(opener).(*pb.Contact)
		change.FollowUps = nil
		must(c.UpdateContact(change, "follow_ups")).fails(t, codes.InvalidArgument)
		change = proto.Clone(opener).(*pb.Contact)
		change.Raised = "已受理"
		if got := must(c.UpdateContact(change, "raised")).ok(t); got.GetFollowUps()[0].GetOpenedCase() != opened {
			t.Errorf("an update of another field lost the opened case: %v", got.GetFollowUps())
		}

		// Town scope: a caseworker of another town sees none of it.
		other := c.as(e.token(t, "ledger-caseworker-b", []principal.Role{principal.Caseworker}, townB))
		must(other.GetContact(first.GetName())).fails(t, codes.NotFound)
		must(other.GetHouseholdLedger(h)).fails(t, codes.NotFound)
		must(other.CreateContact(h, contact, "")).fails(t, codes.NotFound)
		must(other.CreateAssistance(h, help)).fails(t, codes.NotFound)
		// A need found after the contact: its follow-up opens a case later,
		// under CreateCase's rules, linked both ways, once.
		later := must(c.CreateContact(f.household.GetName(), &pb.Contact{ContactDate: ymd(2026, 3, 2),
			Channel: pb.ContactChannel_CONTACT_CHANNEL_PHONE, Raised: "配偶求职",
			FollowUps: []*pb.FollowUp{{Text: "了解岗位"}, {Text: "申请就业安置"}}}, "")).ok(t)
		open := &pb.OpenContactCaseRequest{Name: later.GetName(), FollowUp: 1, Case: employmentCase(f),
			RequestId: "open-case-" + c.name}
		wantViolation(t, must(c.OpenContactCase(&pb.OpenContactCaseRequest{Name: later.GetName(), FollowUp: 5,
			Case: employmentCase(f)})).fails(t, codes.InvalidArgument), "follow_up")
		must(c.OpenContactCase(&pb.OpenContactCaseRequest{Name: later.GetName(), FollowUp: 1, Case: &pb.Case{}})).fails(t, codes.InvalidArgument)
		linked := must(c.OpenContactCase(open)).ok(t)
		caseName := linked.GetFollowUps()[1].GetOpenedCase()
		if !strings.HasPrefix(caseName, "cases/") || linked.GetFollowUps()[0].GetOpenedCase() != "" || linked.GetEtag() != "v2" {
			t.Fatalf("OpenContactCase = %v", linked)
		}
		if again := must(c.OpenContactCase(open)).ok(t); again.GetFollowUps()[1].GetOpenedCase() != caseName {
			t.Errorf("a retry with the same request id opened %s, want the first answer %s", again.GetFollowUps()[1].GetOpenedCase(), caseName)
		}
		if cs := must(c.GetCase(caseName)).ok(t); cs.GetSourceContact() != later.GetName() || cs.GetHousehold() != f.household.GetName() {
			t.Errorf("the opened case: source %q, household %q", cs.GetSourceContact(), cs.GetHousehold())
		}
		open.RequestId = ""
		wantViolation(t, must(c.OpenContactCase(open)).fails(t, codes.InvalidArgument), "follow_up")
		open.FollowUp, open.Etag = 0, "v1"
		must(c.OpenContactCase(open)).fails(t, codes.Aborted)
		stranger := c.as(e.token(t, "ledger-other-town-"+c.name, []principal.Role{principal.Caseworker}, "500230105"))
		open.Etag = ""
		must(stranger.OpenContactCase(open)).fails(t, codes.NotFound)

		// An auditor reads but does not write.
		auditor := c.as(e.roleToken(t, principal.Auditor))
		must(auditor.GetHouseholdLedger(h)).ok(t)
		must(auditor.CreateContact(h, contact, "")).fails(t, codes.PermissionDenied)
		must(auditor.OpenContactCase(open)).fails(t, codes.PermissionDenied)
	})

	// The contact policy: a county-wide supervisor changes it and every
	// household's due date moves; a caseworker may not, nor may a
	// supervisor of some towns.
	c := e.grpcClient(t)
	hc := e.httpClient(t)
	b := must(c.CreateHousehold(e.newHousehold(borderPost))).ok(t)
	p := must(hc.GetContactPolicy()).ok(t)
	if p.GetName() != "contactPolicy" || p.GetBorderMissionIntervalDays() != 90 || p.GetHardshipIntervalDays() != 30 {
		t.Errorf("the default policy = %v", p)
	}
	change := proto.Clone(p).(*pb.ContactPolicy)
	change.BorderMissionIntervalDays = 60
	must(c.as(e.roleToken(t, principal.Caseworker)).UpdateContactPolicy(change, "border_mission_interval_days")).fails(t, codes.PermissionDenied)
	_, err := hc.as(e.token(t, "ledger-supervisor-a", []principal.Role{principal.Supervisor}, townA)).
		UpdateContactPolicy(change, "border_mission_interval_days")
	wantStatus(t, err, codes.PermissionDenied)
	if reason := reasonOf(err); reason != pb.ErrorReason_COUNTY_POLICY_NEEDS_COUNTY_WIDE.String() {
		t.Errorf("a town supervisor's policy change: reason %q", reason)
	}
	p = must(hc.UpdateContactPolicy(change, "borderMissionIntervalDays")).ok(t)
	if p.GetBorderMissionIntervalDays() != 60 || p.GetHardshipIntervalDays() != 30 || p.GetEtag() != "v2" {
		t.Errorf("updated policy = %v", p)
	}
	must(hc.UpdateContactPolicy(change, "border_mission_interval_days")).fails(t, codes.Aborted)
	if got := must(c.GetHousehold(b.GetName())).ok(t); !sameDate(got.GetNextContactDue(), ymd(2026, 5, 1)) {
		t.Errorf("after the policy change a border household is due %v, want 2026-05-01", got.GetNextContactDue())
	}

	// The feed carries the ledger's changes, and takes their types.
	events := must(c.ListEvents(0)).ok(t)
	types := map[string]int{}
	for _, ev := range events.GetEvents() {
		types[ev.GetResourceType()+"/"+ev.GetType()]++
	}
	for _, want := range []string{"contacts/CreateContact", "contacts/UpdateContact", "assistance/CreateAssistance", "contactPolicy/UpdateContactPolicy", "cases/CreateContact", "contacts/OpenContactCase", "cases/OpenContactCase"} {
		if types[want] == 0 {
			t.Errorf("the feed has no %s event: %v", want, types)
		}
	}
	out := &pb.ListEventsResponse{}
	req := &pb.ListEventsRequest{ResourceTypes: []string{"contacts"}, EventTypes: []string{"CreateContact", "UpdateContact"}}
	if err := c.call("EventService/ListEvents", route{}, req, out); err != nil || len(out.GetEvents()) != 12 {
		t.Errorf("ListEvents of contacts: %d events, %v (want 12: four contacts and two updates per transport)", len(out.GetEvents()), err)
	}
}
