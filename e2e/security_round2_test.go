package e2e

// The second round of security scenarios: each reproduces a way through
// that a black-box test of the running server found, and checks it is
// closed, over both transports where the attack is over the API.

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/server"
)

// --- calls these scenarios need beyond client_test.go ---------------------------

func (c *client) BatchGetHouseholds(names ...string) (*pb.BatchGetHouseholdsResponse, error) {
	out := &pb.BatchGetHouseholdsResponse{}
	return out, c.call("HouseholdService/BatchGetHouseholds", get("households:batchGet", url.Values{"names": names}),
		&pb.BatchGetHouseholdsRequest{Names: names}, out)
}

func (c *client) BatchCreateHouseholds(hs ...*pb.Household) (*pb.BatchCreateHouseholdsResponse, error) {
	req := &pb.BatchCreateHouseholdsRequest{}
	for _, h := range hs {
		req.Requests = append(req.Requests, &pb.CreateHouseholdRequest{Household: h})
	}
	out := &pb.BatchCreateHouseholdsResponse{}
	return out, c.call("HouseholdService/BatchCreateHouseholds", post("households:batchCreate", req), req, out)
}

func (c *client) CreateApiKey(k *pb.ApiKey) (*pb.CreateApiKeyResponse, error) {
	out := &pb.CreateApiKeyResponse{}
	return out, c.call("ApiKeyService/CreateApiKey", post("apiKeys", k), &pb.CreateApiKeyRequest{ApiKey: k}, out)
}

func (c *client) GetApiKey(name string) (*pb.ApiKey, error) {
	out := &pb.ApiKey{}
	return out, c.call("ApiKeyService/GetApiKey", get(name, nil), &pb.GetApiKeyRequest{Name: name}, out)
}

func (c *client) ApproveApiKey(name string) (*pb.ApiKey, error) {
	req := &pb.ApproveApiKeyRequest{Name: name}
	out := &pb.ApiKey{}
	return out, c.call("ApiKeyService/ApproveApiKey", post(name+":approve", &pb.ApproveApiKeyRequest{}), req, out)
}

func (c *client) RevokeApiKey(name string) (*pb.ApiKey, error) {
	req := &pb.RevokeApiKeyRequest{Name: name}
	out := &pb.ApiKey{}
	return out, c.call("ApiKeyService/RevokeApiKey", post(name+":revoke", &pb.RevokeApiKeyRequest{}), req, out)
}

// as returns a client of the same transport as c acting with token.
func (c *client) as(token string) *client {
	out := &client{name: c.name, t: c.t, e: c.e, http: c.http}
	if c.http {
		out.hc = c.e.httpAs(token)
	} else {
		out.conn = c.e.dial(c.t, token)
	}
	return out
}

// reasonOf is the ErrorInfo reason of an error's status.
func reasonOf(err error) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// newKey is an API key for account with roles, valid for a month.
func (e *env) newKey(account string, roles ...pb.Role) *pb.ApiKey {
	return &pb.ApiKey{Account: account, Roles: roles, ExpireTime: timestamppb.New(e.clock.Now().Add(30 * 24 * time.Hour))}
}

// --- 1. the masked view rebuilds nothing ------------------------------------------

// rebuilt is what an attacker holding a masked answer knows of an ID
// number: every character the mask shows, the region (generously: the
// town code gives the county's), and the birth date's digits where the
// answer shows a whole date. It reports whether that is the whole number.
func rebuilt(masked string, birth *date.Date, townCode string) (string, bool) {
	if len(masked) != 18 {
		return "", false
	}
	n := []byte(masked)
	for i := 0; i < 6 && len(townCode) >= 6; i++ {
		if n[i] == '*' {
			n[i] = townCode[i]
		}
	}
	if birth.GetMonth() != 0 && birth.GetDay() != 0 {
		ymd := []byte(time.Date(int(birth.GetYear()), time.Month(birth.GetMonth()), int(birth.GetDay()), 0, 0, 0, 0, time.UTC).Format("20060102"))
		for i := range ymd {
			if n[6+i] == '*' {
				n[6+i] = ymd[i]
			}
		}
	}
	return string(n), !slices.Contains(n, '*')
}

func testMaskedViewRebuildsNothing(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	f := e.family(t, sup)
	cs := must(sup.CreateCase(schoolCase(f))).ok(t)
	members := []*pb.Member{f.spouse, f.child, f.father}
	plain := map[string]*pb.Member{}
	for _, m := range members {
		plain[m.GetName()] = m
	}

	// checkMember fails if a masked member shows more than the last four
	// of its number, more than the year of its birth, or enough to rebuild.
	checkMember := func(t *testing.T, path string, got *pb.Member) {
		t.Helper()
		want := plain[got.GetName()]
		if want == nil {
			t.Fatalf("%s: unknown member %s", path, got.GetName())
		}
		wantMasked(t, path+" idNumber", got.GetIdNumber(), want.GetIdNumber())
		if b := got.GetBirthDate(); b.GetYear() != want.GetBirthDate().GetYear() || b.GetMonth() != 0 || b.GetDay() != 0 {
			t.Errorf("%s birthDate = %v, want the year %d alone", path, b, want.GetBirthDate().GetYear())
		}
		if n, ok := rebuilt(got.GetIdNumber(), got.GetBirthDate(), f.household.GetTownCode()); ok || n == want.GetIdNumber() {
			t.Errorf("%s: the masked answer rebuilds the ID number", path)
		}
	}
	checkHousehold := func(t *testing.T, path string, got *pb.Household) {
		t.Helper()
		wantMasked(t, path+" servicemember.idNumber", got.GetServicemember().GetIdNumber(), f.household.GetServicemember().GetIdNumber())
		if _, ok := rebuilt(got.GetServicemember().GetIdNumber(), nil, got.GetTownCode()); ok {
			t.Errorf("%s: the masked answer rebuilds the servicemember's ID number", path)
		}
	}
	// noDates fails if an answer's text holds any of the family's birth
	// dates as the eight digits an ID number carries.
	noDates := func(t *testing.T, path string, m proto.Message) {
		t.Helper()
		text, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []time.Time{servicememberBirth, spouseBirth, childBirth, fatherBirth} {
			if strings.Contains(string(text), b.Format("20060102")) {
				t.Errorf("%s shows the birth date digits %s", path, b.Format("20060102"))
			}
		}
	}

	// Every role that reads, on both transports; supervisor and caseworker
	// get the masked view by default too.
	for _, r := range []principal.Role{principal.Auditor, principal.Integration, principal.Batch, principal.Supervisor, principal.Caseworker} {
		for _, c := range e.asRole(t, r) {
			t.Run(string(r)+"/"+c.name, func(t *testing.T) {
				c.t = t
				h := must(c.GetHousehold(f.household.GetName())).ok(t)
				checkHousehold(t, "GetHousehold", h)
				noDates(t, "GetHousehold", h)
				list := must(c.ListHouseholds(&pb.ListHouseholdsRequest{})).ok(t)
				for _, h := range list.GetHouseholds() {
					if h.GetName() == f.household.GetName() {
						checkHousehold(t, "ListHouseholds", h)
					}
				}
				bg := must(c.BatchGetHouseholds(f.household.GetName())).ok(t)
				checkHousehold(t, "BatchGetHouseholds", bg.GetHouseholds()[0])
				for _, m := range members {
					got := must(c.GetMember(m.GetName())).ok(t)
					checkMember(t, "GetMember", got)
					noDates(t, "GetMember", got)
				}
				ms := must(c.ListMembers(f.household.GetName())).ok(t)
				for _, m := range ms.GetMembers() {
					checkMember(t, "ListMembers", m)
				}
				noDates(t, "ListMembers", ms)
				if r != principal.Auditor { // auditors may not look up
					for _, m := range members {
						got := must(c.LookupHousehold(m.GetIdNumber())).ok(t)
						checkHousehold(t, "LookupHousehold", got)
						noDates(t, "LookupHousehold", got)
					}
				}
				hist := must(c.History(cs.GetName())).ok(t)
				noDates(t, "ListCaseHistory", hist)
			})
		}
	}
	// The change feed and webhook bodies (the same Event JSON) carry names
	// and field names only.
	for _, c := range e.asRole(t, principal.Auditor) {
		c.t = t
		evs := must(c.ListEvents(0)).ok(t)
		noDates(t, "ListEvents", evs)
		text, _ := protojson.Marshal(evs)
		for _, m := range members {
			if strings.Contains(string(text), m.GetIdNumber()[14:]) && strings.Contains(string(text), m.GetIdNumber()[:6]) {
				t.Errorf("ListEvents shows parts of an ID number")
			}
		}
	}

	// The full view, for those who may have it, shows the whole date.
	full := must(sup.GetMemberView(f.child.GetName(), pb.View_VIEW_FULL)).ok(t)
	if !proto.Equal(full.GetBirthDate(), f.child.GetBirthDate()) || full.GetIdNumber() != f.child.GetIdNumber() {
		t.Errorf("full view of the child: %v %q", full.GetBirthDate(), idMaskAny(full.GetIdNumber()))
	}
	// A client that read the masked member and sends it back whole changes
	// nothing: the year alone means "unchanged", as the starred number does.
	e.eachClient(t, func(t *testing.T, c *client) {
		masked := must(c.GetMember(f.father.GetName())).ok(t)
		masked.DisplayName = "张建国（" + c.name + "）"
		must(c.UpdateMember(masked, "display_name", "id_number", "birth_date")).ok(t)
		after := must(sup.GetMemberView(f.father.GetName(), pb.View_VIEW_FULL)).ok(t)
		if !proto.Equal(after.GetBirthDate(), f.father.GetBirthDate()) || after.GetIdNumber() != f.father.GetIdNumber() {
			t.Errorf("sending the masked member back changed its birth date or number: %v", after.GetBirthDate())
		}
	})
}

// --- 2. API keys carry only what their creator may grant ----------------------------

func testAPIKeyRoles(t *testing.T, e *env) {
	admin := e.roleToken(t, principal.Admin)
	e.eachClient(t, func(t *testing.T, c *client) {
		a := c.as(admin)
		for _, roles := range [][]pb.Role{
			{pb.Role_ROLE_SUPERVISOR}, {pb.Role_ROLE_CASEWORKER}, {pb.Role_ROLE_AUDITOR}, {pb.Role_ROLE_ADMIN},
			{pb.Role_ROLE_INTEGRATION, pb.Role_ROLE_CASEWORKER},
		} {
			_, err := a.CreateApiKey(e.newKey("people-"+c.name, roles...))
			must(0, err).fails(t, codes.PermissionDenied)
			if got := reasonOf(err); got != "ROLE_NOT_GRANTABLE" {
				t.Errorf("key with %v: reason %q, want ROLE_NOT_GRANTABLE", roles, got)
			}
		}
		k := must(a.CreateApiKey(e.newKey("systems-"+c.name, pb.Role_ROLE_INTEGRATION, pb.Role_ROLE_BATCH))).ok(t)
		if k.GetApiKey().GetState() != pb.ApiKeyState_API_KEY_STATE_ACTIVE {
			t.Errorf("integration+batch key state %v, want ACTIVE", k.GetApiKey().GetState())
		}
	})
	refusals := auditEntries(t, e, `principal = "`+roleUsers[principal.Admin]+`" AND outcome = "ROLE_NOT_GRANTABLE"`)
	if len(refusals) != 10 {
		t.Errorf("audit log holds %d refused key creations, want 10", len(refusals))
	}

	// A server that allows people's roles on keys makes each wait for a
	// second admin.
	base, conn := e.serveWith(t, e.db.Store(), func(cfg *server.Config) { cfg.APIKeyPeopleRoles = true })
	second := e.token(t, "e2e-admin-2", []principal.Role{principal.Admin})
	first := &client{name: "http", t: t, e: e, http: true, hc: e.httpAs(admin), base: base}
	created := must(first.CreateApiKey(e.newKey("county-supervisor-key", pb.Role_ROLE_SUPERVISOR))).ok(t)
	key := created.GetApiKey()
	if key.GetState() != pb.ApiKeyState_API_KEY_STATE_PENDING_APPROVAL {
		t.Fatalf("supervisor key state %v, want PENDING_APPROVAL", key.GetState())
	}
	// Unusable until approved, on every server.
	for _, c := range e.clientsAs(t, created.GetSecret()) {
		c.t = t
		must(c.ListHouseholds(&pb.ListHouseholdsRequest{})).fails(t, codes.Unauthenticated, "approval")
	}
	// Its creator may not approve it, on any server.
	for _, c := range []*client{first, {name: "grpc", t: t, e: e, conn: e.dialAddr(t, conn.Target(), admin)}} {
		_, err := c.ApproveApiKey(key.GetName())
		must(0, err).fails(t, codes.PermissionDenied)
		if reasonOf(err) != "SELF_APPROVAL" {
			t.Errorf("self-approval reason %q, want SELF_APPROVAL", reasonOf(err))
		}
	}
	// A second admin may, over gRPC on the first server too.
	approver := &client{name: "grpc", t: t, e: e, conn: e.dial(t, second)}
	approved := must(approver.ApproveApiKey(key.GetName())).ok(t)
	if approved.GetState() != pb.ApiKeyState_API_KEY_STATE_ACTIVE || approved.GetApprover() != "e2e-admin-2" || approved.GetApproveTime() == nil {
		t.Errorf("approved key: state %v approver %q time %v", approved.GetState(), approved.GetApprover(), approved.GetApproveTime())
	}
	must(approver.ApproveApiKey(key.GetName())).fails(t, codes.FailedPrecondition)
	// The default server refuses people's roles on keys, approval or not.
	must((&client{name: "grpc", t: t, e: e, conn: e.dial(t, second)}).CreateApiKey(e.newKey("second-try", pb.Role_ROLE_AUDITOR))).fails(t, codes.PermissionDenied)
	for _, c := range e.clientsAs(t, created.GetSecret()) {
		c.t = t
		must(c.ListHouseholds(&pb.ListHouseholdsRequest{})).ok(t)
	}
	// Creation and approval are both in the audit log.
	logs := auditEntries(t, e, `resource = "`+key.GetName()+`"`)
	var methods []string
	for _, l := range logs {
		methods = append(methods, l.GetMethod()[strings.LastIndex(l.GetMethod(), "/")+1:]+"/"+l.GetOutcome())
	}
	for _, want := range []string{"CreateApiKey/OK", "ApproveApiKey/PERMISSION_DENIED", "ApproveApiKey/OK"} {
		if !slices.Contains(methods, want) {
			t.Errorf("audit log of %s: %v, want %s", key.GetName(), methods, want)
		}
	}
}

// --- 3. lookups are no oracle ----------------------------------------------------------

func testLookupOracle(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	a := e.family(t, sup)
	b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })

	// Auditors have no working need to search by number.
	for _, c := range e.asRole(t, principal.Auditor) {
		c.t = t
		must(c.LookupHousehold(a.spouse.GetIdNumber())).fails(t, codes.PermissionDenied)
	}

	cwUser := "e2e-lookup-caseworker"
	cw := &client{name: "http", t: t, e: e, http: true, hc: e.httpAs(e.token(t, cwUser, []principal.Role{principal.Caseworker}, townA))}
	must(cw.LookupHousehold(a.child.GetIdNumber())).ok(t)
	unknown := e.idNumber(day(1988, 8, 8))
	must(cw.LookupHousehold(unknown)).fails(t, codes.NotFound)
	must(cw.LookupHousehold(b.spouse.GetIdNumber())).fails(t, codes.NotFound) // another town: as unknown
	logs := auditEntries(t, e, `principal = "`+cwUser+`" AND action = "lookup"`)
	var got []string
	for _, l := range logs {
		got = append(got, l.GetOutcome()+" "+l.GetResource())
	}
	want := []string{"OK " + a.household.GetName(), "NOT_FOUND ", "OUT_OF_SCOPE " + b.household.GetName()}
	if !slices.Equal(got, want) {
		t.Errorf("lookups audited as %q, want %q", got, want)
	}

	// Missing again and again slows the caller down and flags it.
	searcher := "e2e-lookup-searcher"
	for _, c := range e.clientsAs(t, e.token(t, searcher, []principal.Role{principal.Integration})) {
		c.t = t
		if c.name == "http" {
			break // one streak is enough; the gRPC client runs it
		}
		for i := 0; i < 5; i++ {
			must(c.LookupHousehold(e.idNumber(day(1970, 1, 1+i)))).fails(t, codes.NotFound)
		}
		for _, n := range []string{e.idNumber(day(1971, 2, 2)), a.spouse.GetIdNumber()} {
			st := must(c.LookupHousehold(n)).fails(t, codes.ResourceExhausted)
			var wait time.Duration
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					wait = ri.GetRetryDelay().AsDuration()
				}
			}
			if wait < 30*time.Second {
				t.Errorf("slowed lookup: RetryInfo %v, want about a minute", wait)
			}
		}
		// Other calls are not slowed.
		must(c.GetHousehold(a.household.GetName())).ok(t)
	}
	if flagged := auditEntries(t, e, `principal = "`+searcher+`" AND action = "flagged"`); len(flagged) != 1 || flagged[0].GetOutcome() != audit.OutcomeLookupMisses {
		t.Errorf("flagged entries of the searcher: %v, want one LOOKUP_MISSES", flagged)
	}

	// The budget: 30 a minute, then 429, whatever they find.
	busy := &client{name: "grpc", t: t, e: e, conn: e.dial(t, e.token(t, "e2e-lookup-busy", []principal.Role{principal.Supervisor}))}
	for i := 0; i < 30; i++ {
		must(busy.LookupHousehold(a.father.GetIdNumber())).ok(t)
	}
	must(busy.LookupHousehold(a.father.GetIdNumber())).fails(t, codes.ResourceExhausted)

	// No audit entry holds a number: resources are names, never numbers.
	for _, l := range auditEntries(t, e, `action = "lookup"`) {
		if strings.ContainsAny(strings.TrimPrefix(l.GetResource(), "households/"), "X") || len(l.GetFields()) != 0 {
			t.Errorf("lookup entry %s holds %q %v", l.GetName(), l.GetResource(), l.GetFields())
		}
	}
}

// --- 4. each right reaches as far as the role that grants it -------------------------

func testMixedRoleScope(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	a := e.family(t, sup)
	b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	caseB := must(sup.CreateCase(legalAidCase(b, b.spouse))).ok(t)
	caseA := must(sup.CreateCase(legalAidCase(a, a.spouse))).ok(t)

	cwAuditor := e.token(t, "e2e-cw-auditor", []principal.Role{principal.Caseworker, principal.Auditor}, townA)
	cwIntegration := e.token(t, "e2e-cw-integration", []principal.Role{principal.Caseworker, principal.Integration}, townA)
	supA := e.token(t, "e2e-supervisor-a", []principal.Role{principal.Supervisor}, townA)

	for _, c := range e.clientsAs(t, cwAuditor) {
		c.t = t
		// The auditor's county-wide reads, masked.
		hb := must(c.GetHousehold(b.household.GetName())).ok(t)
		wantMasked(t, "town B household read by caseworker+auditor", hb.GetServicemember().GetIdNumber(), b.household.GetServicemember().GetIdNumber())
		must(c.GetCase(caseB.GetName())).ok(t)
		// But no full view and no write outside the caseworker's towns.
		_, err := c.GetHouseholdView(b.household.GetName(), pb.View_VIEW_FULL)
		must(0, err).fails(t, codes.PermissionDenied)
		hb.Address = "改写"
		must(c.UpdateHousehold(hb, "address")).fails(t, codes.NotFound)
		must(c.CreateNote(caseB.GetName(), "不该写入")).fails(t, codes.NotFound)
		must(c.LookupHousehold(b.spouse.GetIdNumber())).fails(t, codes.NotFound)
		// In its own town, everything a caseworker may.
		must(c.GetHouseholdView(a.household.GetName(), pb.View_VIEW_FULL)).ok(t)
		must(c.CreateNote(caseA.GetName(), "本镇记录")).ok(t)
	}
	for _, c := range e.clientsAs(t, cwIntegration) {
		c.t = t
		// The integration role of a credential naming towns reads there only.
		must(c.GetHousehold(b.household.GetName())).fails(t, codes.NotFound)
		must(c.CreateNote(caseB.GetName(), "不该写入")).fails(t, codes.NotFound)
		must(c.CreateCase(legalAidCase(b, b.father))).fails(t, codes.InvalidArgument, "no such household")
	}
	for _, c := range e.clientsAs(t, supA) {
		c.t = t
		must(c.GetHousehold(b.household.GetName())).fails(t, codes.NotFound)
		must(c.Accept(caseB.GetName())).fails(t, codes.NotFound)
		list := must(c.ListHouseholds(&pb.ListHouseholdsRequest{})).ok(t)
		for _, h := range list.GetHouseholds() {
			if h.GetTownCode() != townA {
				t.Errorf("a supervisor limited to town A lists %s of town %s", h.GetName(), h.GetTownCode())
			}
		}
		_, err := c.ListEvents(0)
		must(0, err).fails(t, codes.PermissionDenied)
		if reasonOf(err) != "FEED_NEEDS_COUNTY_WIDE" {
			t.Errorf("feed refusal reason %q", reasonOf(err))
		}
	}
	// Nothing of town B changed.
	if notes := must(sup.ListNotes(caseB.GetName())).ok(t).GetNotes(); len(notes) != 0 {
		t.Errorf("town B's case got %d notes from town A's callers", len(notes))
	}
	if h := must(sup.GetHousehold(b.household.GetName())).ok(t); h.GetAddress() == "改写" {
		t.Errorf("town B's household was changed by a town A caseworker")
	}
}

// --- 5. open streams end with their credential -------------------------------------

func testStreamsEndWithCredential(t *testing.T, e *env) {
	// A token's stream ends when the token expires.
	short, err := e.signer.Mint("e2e-short-lived", []principal.Role{principal.Supervisor}, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := pb.NewEventServiceClient(e.dial(t, short)).WatchEvents(ctx, &pb.WatchEventsRequest{FromNow: true})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	start := time.Now()
	if err := drainUntilError(stream); status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream of an expired token ended with %v, want Unauthenticated", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stream of a 2-second token lasted %v", d)
	}

	// An API key's stream ends soon after the key is revoked, on every
	// server: revoke it through a second server.
	admin := &client{name: "grpc", t: t, e: e, conn: e.dial(t, e.roleToken(t, principal.Admin))}
	k := must(admin.CreateApiKey(e.newKey("veterans-affairs", pb.Role_ROLE_INTEGRATION))).ok(t)
	keyConn := e.dial(t, k.GetSecret())
	streams := make([]pb.EventService_WatchEventsClient, 0, 8)
	for i := 0; i < 8; i++ {
		s, err := pb.NewEventServiceClient(keyConn).WatchEvents(ctx, &pb.WatchEventsRequest{FromNow: true})
		if err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
		if _, err := s.Header(); err != nil {
			t.Fatalf("watch %d header: %v", i, err)
		}
		streams = append(streams, s)
	}
	// A ninth is refused: each caller holds at most eight open.
	ninth, err := pb.NewEventServiceClient(keyConn).WatchEvents(ctx, &pb.WatchEventsRequest{FromNow: true})
	if err == nil {
		_, err = ninth.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("ninth stream of one caller: %v, want ResourceExhausted", err)
	}
	_, secondConn := e.secondServer(t)
	revoker := &client{name: "grpc", t: t, e: e, conn: e.dialAddr(t, secondConn.Target(), e.roleToken(t, principal.Admin))}
	revoked := time.Now()
	must(revoker.RevokeApiKey(k.GetApiKey().GetName())).ok(t)
	for i, s := range streams {
		if err := drainUntilError(s); status.Code(err) != codes.Unauthenticated {
			t.Errorf("stream %d of a revoked key ended with %v, want Unauthenticated", i, err)
		}
	}
	if d := time.Since(revoked); d > 15*time.Second {
		t.Errorf("streams of a revoked key lasted %v after revocation", d)
	}
}

// drainUntilError receives until the stream ends and returns why.
func drainUntilError(s pb.EventService_WatchEventsClient) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
	}
}

// --- 7. a batch create is no county-wide existence oracle ------------------------------

func testBatchCreateOracle(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	a := e.family(t, sup)
	cwToken := e.roleToken(t, principal.Caseworker) // town A
	e.eachClient(t, func(t *testing.T, c *client) {
		cw := c.as(cwToken)
		before := e.countHouseholds(t)
		fresh := e.newHousehold()
		elsewhere := e.newHousehold(func(h *pb.Household) {
			h.Servicemember.IdNumber = b.household.GetServicemember().GetIdNumber()
		})
		_, err := cw.BatchCreateHouseholds(fresh, elsewhere)
		st := must(0, err).fails(t, codes.PermissionDenied)
		if reasonOf(err) != "CONFLICT_OUTSIDE_SCOPE" || len(fieldViolations(st)) != 0 || strings.Contains(st.Message(), "requests[") {
			t.Errorf("batch with a duplicate of another town: %v %q %v: it must not name the item", reasonOf(err), st.Message(), fieldViolations(st))
		}
		// The same answer for a single create.
		_, err = cw.CreateHousehold(e.newHousehold(func(h *pb.Household) {
			h.Servicemember.IdNumber = b.household.GetServicemember().GetIdNumber()
		}))
		must(0, err).fails(t, codes.PermissionDenied)
		if reasonOf(err) != "CONFLICT_OUTSIDE_SCOPE" {
			t.Errorf("single create duplicating another town: reason %q", reasonOf(err))
		}
		// A duplicate in the caller's own town is named: it can see it anyway.
		mine := e.newHousehold(func(h *pb.Household) {
			h.Servicemember.IdNumber = a.household.GetServicemember().GetIdNumber()
		})
		_, err = cw.BatchCreateHouseholds(e.newHousehold(), mine)
		st = must(0, err).fails(t, codes.AlreadyExists)
		wantViolation(t, st, "requests[1]")
		// A county-wide role is told which item collides elsewhere.
		_, err = c.BatchCreateHouseholds(e.newHousehold(), e.newHousehold(func(h *pb.Household) {
			h.TownCode = townA
			h.Servicemember.IdNumber = b.household.GetServicemember().GetIdNumber()
		}))
		st = must(0, err).fails(t, codes.AlreadyExists)
		wantViolation(t, st, "requests[1]")
		if after := e.countHouseholds(t); after != before {
			t.Errorf("refused batches created %d households", after-before)
		}
	})
	refused := auditEntries(t, e, `principal = "`+roleUsers[principal.Caseworker]+`" AND outcome = "OUT_OF_SCOPE"`)
	if len(refused) != 4 {
		t.Errorf("audit log holds %d out-of-scope refusals of the caseworker, want 4", len(refused))
	}
}

// --- 8. a household's cases move with it ------------------------------------------------

func testHouseholdMoveMovesCases(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	f := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	open := must(sup.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	closed := must(sup.CreateCase(elderCase(f))).ok(t)
	must(sup.Withdraw(closed.GetName(), "家属撤回")).ok(t)
	head := must(sup.ListEvents(0)).ok(t).GetHeadPosition()

	cwA := e.clientsAs(t, e.roleToken(t, principal.Caseworker))
	cwB := e.clientsAs(t, e.token(t, "e2e-caseworker-b", []principal.Role{principal.Caseworker}, townB))
	for _, c := range cwA {
		c.t = t
		must(c.GetCase(open.GetName())).fails(t, codes.NotFound)
	}
	h := must(sup.GetHousehold(f.household.GetName())).ok(t)
	h.TownCode = townA
	must(sup.UpdateHousehold(h, "town_code")).ok(t)

	for _, cs := range []*pb.Case{open, closed} {
		got := must(sup.GetCase(cs.GetName())).ok(t)
		if got.GetTownCode() != townA {
			t.Errorf("%s stayed in town %s after its household moved to %s", cs.GetName(), got.GetTownCode(), townA)
		}
		if got.GetEtag() == cs.GetEtag() {
			t.Errorf("%s kept its etag through the move", cs.GetName())
		}
		hist := must(sup.History(cs.GetName())).ok(t).GetEntries()
		last := hist[len(hist)-1]
		if last.GetMethod() != "UpdateHousehold" || !slices.Contains(last.GetChangedFields(), "town_code") || !strings.Contains(last.GetReason(), townA) {
			t.Errorf("%s: last history entry %v, want the move", cs.GetName(), last)
		}
	}
	for _, c := range cwB {
		c.t = t
		must(c.GetCase(open.GetName())).fails(t, codes.NotFound)
		must(c.CreateNote(open.GetName(), "旧镇记录")).fails(t, codes.NotFound)
	}
	for _, c := range cwA {
		c.t = t
		must(c.GetCase(open.GetName())).ok(t)
		must(c.CreateNote(open.GetName(), "新镇接手 "+c.name)).ok(t)
	}
	// Each moved case has its event after the household's.
	evs := must(sup.ListEvents(head)).ok(t).GetEvents()
	var moved []string
	for _, ev := range evs {
		if ev.GetType() == "UpdateHousehold" {
			moved = append(moved, ev.GetResource())
		}
	}
	for _, want := range []string{f.household.GetName(), open.GetName(), closed.GetName()} {
		if !slices.Contains(moved, want) {
			t.Errorf("events of the move %v do not name %s", moved, want)
		}
	}
}

// --- 9. refusals are audited --------------------------------------------------------------

func testRefusalsAudited(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	cwUser := roleUsers[principal.Caseworker]
	for _, c := range e.asRole(t, principal.Caseworker) {
		c.t = t
		must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.TownCode = townB }))).fails(t, codes.PermissionDenied)
		must(c.GetHousehold(b.household.GetName())).fails(t, codes.NotFound)
		must(c.GetMember(b.child.GetName())).fails(t, codes.NotFound)
		must(c.GetHousehold("households/0190a1b2-c3d4-7e5f-8a9b-123456789012")).fails(t, codes.NotFound)
	}
	for _, c := range e.asRole(t, principal.Auditor) {
		c.t = t
		must(c.GetHouseholdView(b.household.GetName(), pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
	}
	var got []string
	for _, l := range auditEntries(t, e, `principal = "`+cwUser+`" AND action = "denied"`) {
		got = append(got, l.GetOutcome()+" "+l.GetResource())
	}
	want := []string{
		"OUT_OF_SCOPE ", "OUT_OF_SCOPE " + b.household.GetName(), "OUT_OF_SCOPE " + b.child.GetName(),
		"OUT_OF_SCOPE ", "OUT_OF_SCOPE " + b.household.GetName(), "OUT_OF_SCOPE " + b.child.GetName(),
	}
	if !slices.Equal(got, want) {
		t.Errorf("the caseworker's refusals audited as %q, want %q (a 404 for what does not exist is no refusal)", got, want)
	}
	full := auditEntries(t, e, `principal = "`+roleUsers[principal.Auditor]+`" AND outcome = "FULL_VIEW_DENIED"`)
	if len(full) != 2 || full[0].GetResource() != b.household.GetName() {
		t.Errorf("full-view refusals of the auditor: %v, want 2 naming %s", full, b.household.GetName())
	}
}
