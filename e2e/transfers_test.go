package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// townC is a third town: its caseworkers see nothing of A's and B's.
const townC = "500230001"

// --- HouseholdService: transfers, merges, history -----------------------------

func (c *client) TransferHousehold(req *pb.TransferHouseholdRequest) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/TransferHousehold", post(req.GetName()+":transfer", req), req, out)
}

func (c *client) AcceptHouseholdTransfer(name string) (*pb.Household, error) {
	req := &pb.AcceptHouseholdTransferRequest{Name: name}
	out := &pb.Household{}
	return out, c.call("HouseholdService/AcceptHouseholdTransfer", post(name+":acceptTransfer", req), req, out)
}

func (c *client) DeclineHouseholdTransfer(name, reason string) (*pb.Household, error) {
	req := &pb.DeclineHouseholdTransferRequest{Name: name, Reason: reason}
	out := &pb.Household{}
	return out, c.call("HouseholdService/DeclineHouseholdTransfer", post(name+":declineTransfer", req), req, out)
}

func (c *client) MergeHouseholds(req *pb.MergeHouseholdsRequest) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/MergeHouseholds", post(req.GetName()+":merge", req), req, out)
}

func (c *client) ListHouseholdHistory(parent string) (*pb.ListHouseholdHistoryResponse, error) {
	out := &pb.ListHouseholdHistoryResponse{}
	return out, c.call("HouseholdService/ListHouseholdHistory", get(parent+"/history", nil),
		&pb.ListHouseholdHistoryRequest{Parent: parent}, out)
}

// refused checks a refusal's code and ErrorInfo reason.
func refused(t *testing.T, err error, code codes.Code, reason pb.ErrorReason) *status.Status {
	t.Helper()
	st := wantStatus(t, err, code)
	wantReason(t, st, reason)
	return st
}

// wantSecondTransfer checks a household's history: a transfer asked and
// ended by first, then another asked and accepted.
func wantSecondTransfer(t *testing.T, c *client, name string, first pb.HouseholdHistoryAction) {
	t.Helper()
	want := []pb.HouseholdHistoryAction{pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_TRANSFER_REQUESTED, first,
		pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_TRANSFER_REQUESTED,
		pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_TRANSFER_ACCEPTED}
	if got := historyActions(t, c, name); !slices.Equal(got, want) {
		t.Errorf("household history %v, want %v", got, want)
	}
}

// historyActions lists a household's history as actions.
func historyActions(t *testing.T, c *client, name string) []pb.HouseholdHistoryAction {
	t.Helper()
	var out []pb.HouseholdHistoryAction
	for _, e := range must(c.ListHouseholdHistory(name)).ok(t).GetEntries() {
		out = append(out, e.GetAction())
	}
	return out
}

// testHouseholdTransfers: a transfer declined, then another accepted, seen
// by both towns while pending, over both transports; the open case moves
// with the household, unassigned and with history, the closed one stays.
func testHouseholdTransfers(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.eachClient(t, func(t *testing.T, c *client) {
		cwA := c.as(e.token(t, "e2e-caseworker-a", []principal.Role{principal.Caseworker}, townA))
		cwB := c.as(e.token(t, "e2e-caseworker-b", []principal.Role{principal.Caseworker}, townB))
		cwC := c.as(e.token(t, "e2e-caseworker-c", []principal.Role{principal.Caseworker}, townC))
		for _, x := range []*client{cwA, cwB, cwC} {
			x.t = t
		}
		f := e.family(t, sup)
		name := f.household.GetName()
		open := must(sup.CreateCase(legalAidCase(f, f.spouse))).ok(t)
		must(sup.Submit(open.GetName(), "")).ok(t)
		must(sup.Accept(open.GetName())).ok(t)
		open = must(sup.Assign(open.GetName(), "e2e-caseworker-a")).ok(t)
		closed := must(sup.CreateCase(elderCase(f))).ok(t)
		must(sup.Withdraw(closed.GetName(), "家属撤回")).ok(t)
		must(cwB.GetHousehold(name)).fails(t, codes.NotFound)

		// The sending town asks; a receiving caseworker cannot ask for it.
		must(cwB.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "迁居"})).fails(t, codes.NotFound)
		must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: "500230999", Reason: "迁居"})).fails(t, codes.InvalidArgument)
		must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townA, Reason: "迁居"})).fails(t, codes.InvalidArgument)
		asked := must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "全家迁居社坛镇",
			Etag: f.household.GetEtag(), RequestId: "transfer-1-" + c.name})).ok(t)
		// AIP-155: the retry answers the first transfer, not TRANSFER_PENDING.
		retried := must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "全家迁居社坛镇",
			Etag: f.household.GetEtag(), RequestId: "transfer-1-" + c.name})).ok(t)
		if retried.GetEtag() != asked.GetEtag() {
			t.Errorf("a retried transfer answered etag %s, the first %s", retried.GetEtag(), asked.GetEtag())
		}
		tr := asked.GetTransfer()
		if tr.GetFromTownCode() != townA || tr.GetToTownCode() != townB || tr.GetToTownName() != "社坛镇" ||
			tr.GetRequester() != "e2e-caseworker-a" || tr.GetRequestTime() == nil || asked.GetTownCode() != townA {
			t.Fatalf("a transfer asked: %v in town %s", tr, asked.GetTownCode())
		}
		_, err := cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townC, Reason: "又迁"})
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_TRANSFER_PENDING)
		// A town change by update waits for the transfer too.
		moved := proto.Clone(asked).(*pb.Household)
		moved.TownCode = townC
		_, err = sup.UpdateHousehold(moved, "town_code")
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_TRANSFER_PENDING)

		// Both towns see it in transfer; a third sees nothing.
		for _, x := range []*client{cwA, cwB} {
			if got := must(x.GetHousehold(name)).ok(t); got.GetTransfer().GetToTownCode() != townB {
				t.Errorf("%s reads the household without its transfer: %v", x.name, got.GetTransfer())
			}
			if !slices.Contains(householdNames(must(x.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 500})).ok(t)), name) {
				t.Errorf("a caseworker's list leaves out the household in transfer")
			}
		}
		must(cwC.GetHousehold(name)).fails(t, codes.NotFound)
		incoming := householdNames(must(cwB.ListHouseholds(&pb.ListHouseholdsRequest{Filter: "in_transfer = true"})).ok(t))
		if !slices.Equal(incoming, []string{name}) {
			t.Errorf("town B's households in transfer: %v, want %s", incoming, name)
		}
		// The receiving town reads the household, not yet its family or cases.
		must(cwB.ListMembers(name)).fails(t, codes.NotFound)
		must(cwB.GetCase(open.GetName())).fails(t, codes.NotFound)
		// The sending town may not decide.
		_, err = cwA.AcceptHouseholdTransfer(name)
		refused(t, err, codes.PermissionDenied, pb.ErrorReason_OUT_OF_SCOPE)
		_, err = cwC.AcceptHouseholdTransfer(name)
		wantStatus(t, err, codes.NotFound)

		declined := must(cwB.DeclineHouseholdTransfer(name, "地址核实不符")).ok(t)
		if declined.GetTransfer() != nil || declined.GetTownCode() != townA {
			t.Errorf("declined: transfer %v, town %s", declined.GetTransfer(), declined.GetTownCode())
		}
		must(cwB.GetHousehold(name)).fails(t, codes.NotFound)
		if got := must(sup.GetCase(open.GetName())).ok(t); got.GetTownCode() != townA || got.GetEtag() != open.GetEtag() {
			t.Errorf("a declined transfer moved the case: town %s etag %s", got.GetTownCode(), got.GetEtag())
		}
		_, err = cwB.AcceptHouseholdTransfer(name)
		wantStatus(t, err, codes.NotFound)
		_, err = cwA.AcceptHouseholdTransfer(name)
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_NO_TRANSFER_PENDING)

		head := must(sup.ListEvents(0)).ok(t).GetHeadPosition()
		must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "再次申请迁居"})).ok(t)
		accepted := must(cwB.AcceptHouseholdTransfer(name)).ok(t)
		if accepted.GetTownCode() != townB || accepted.GetTransfer() != nil || accepted.GetMemberCount() != 3 {
			t.Fatalf("accepted: town %s transfer %v members %d", accepted.GetTownCode(), accepted.GetTransfer(), accepted.GetMemberCount())
		}
		must(cwA.GetHousehold(name)).fails(t, codes.NotFound)
		must(cwA.GetCase(open.GetName())).fails(t, codes.NotFound)
		if n := len(must(cwB.ListMembers(name)).ok(t).GetMembers()); n != 3 {
			t.Errorf("the receiving town sees %d members, want 3", n)
		}
		got := must(cwB.GetCase(open.GetName())).ok(t)
		if got.GetTownCode() != townB || got.GetAssignee() != "" {
			t.Errorf("the open case after acceptance: town %s assignee %q", got.GetTownCode(), got.GetAssignee())
		}
		hist := must(cwB.History(open.GetName())).ok(t).GetEntries()
		if last := hist[len(hist)-1]; last.GetMethod() != "AcceptHouseholdTransfer" || !slices.Contains(last.GetChangedFields(), "town_code") ||
			!slices.Contains(last.GetChangedFields(), "assignee") {
			t.Errorf("the moved case's last history entry: %v", last)
		}
		if got := must(sup.GetCase(closed.GetName())).ok(t); got.GetTownCode() != townA {
			t.Errorf("the closed case went to %s; it stays with the town that decided it", got.GetTownCode())
		}
		wantSecondTransfer(t, cwB, name, pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_TRANSFER_DECLINED)
		entries := must(cwB.ListHouseholdHistory(name)).ok(t).GetEntries()
		if d := entries[1]; d.GetReason() != "地址核实不符" || d.GetActor() != "e2e-caseworker-b" {
			t.Errorf("the decline's entry: %v", d)
		}
		if a := entries[3]; !slices.Contains(a.GetMoved(), "cases:1") || a.GetFromTownCode() != townA || a.GetToTownCode() != townB {
			t.Errorf("the acceptance's entry: %v", a)
		}
		var evs []string
		for _, ev := range must(sup.ListEvents(head)).ok(t).GetEvents() {
			if ev.GetType() == "AcceptHouseholdTransfer" {
				evs = append(evs, ev.GetResource())
			}
		}
		if !slices.Contains(evs, name) || !slices.Contains(evs, open.GetName()) || slices.Contains(evs, closed.GetName()) {
			t.Errorf("events of the acceptance %v: want the household and the open case only", evs)
		}
		if n := len(auditEntries(t, e, `resource = "`+name+`" AND method = "/casework.v1.HouseholdService/AcceptHouseholdTransfer" AND action = "change"`)); n != 1 {
			t.Errorf("%d audit entries of the acceptance, want 1", n)
		}
	})
}

// testPossibleDuplicates: a registration whose name and birth date, or
// name and phone, match a live record the caller may see is refused with
// the candidates until confirmed; one outside the caller's towns is
// neither named nor in the way.
func testPossibleDuplicates(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.eachClient(t, func(t *testing.T, c *client) {
		cwA := c.as(e.token(t, "e2e-caseworker-a", []principal.Role{principal.Caseworker}, townA))
		cwA.t = t
		given := "赵" + c.name // a name of this subtest's own
		first := must(sup.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = given }))).ok(t)
		before := len(householdNames(must(sup.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 500})).ok(t)))

		// Same name and birth date, another ID number and phone.
		again := e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = given + " "; h.Phone = e.phone() })
		_, err := cwA.CreateHouseholdUnconfirmed(again)
		st := refused(t, err, codes.FailedPrecondition, pb.ErrorReason_POSSIBLE_DUPLICATE)
		cands := candidates(t, st)
		if len(cands) != 1 || cands[0].GetSubject() != first.GetName() || !strings.Contains(cands[0].GetDescription(), "name and birth date") {
			t.Fatalf("candidates %v, want %s by name and birth date", cands, first.GetName())
		}
		if now := len(householdNames(must(sup.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 500})).ok(t))); now != before {
			t.Fatalf("a refused registration wrote a household: %d, then %d", before, now)
		}
		second := must(cwA.CreateHousehold(again)).ok(t)

		// Same name and phone, another birth date: the phone matches.
		byPhone := e.newHousehold(func(h *pb.Household) {
			h.Servicemember.Name, h.Servicemember.IdNumber, h.Phone = given, e.idNumber(fatherBirth), "13800000000"
		})
		_, err = cwA.CreateHouseholdUnconfirmed(byPhone)
		cands = candidates(t, refused(t, err, codes.FailedPrecondition, pb.ErrorReason_POSSIBLE_DUPLICATE))
		if len(cands) != 1 || cands[0].GetSubject() != first.GetName() || !strings.Contains(cands[0].GetDescription(), "name and phone") {
			t.Errorf("candidates by phone %v, want %s", cands, first.GetName())
		}

		// A member who is someone's servicemember or member already.
		spouse := e.newMember(pb.Relation_RELATION_SPOUSE, given, servicememberBirth)
		_, err = cwA.CreateMemberUnconfirmed(second.GetName(), spouse)
		cands = candidates(t, refused(t, err, codes.FailedPrecondition, pb.ErrorReason_POSSIBLE_DUPLICATE))
		if got := candidateNames(cands); !slices.Contains(got, first.GetName()) || !slices.Contains(got, second.GetName()) {
			t.Errorf("member candidates %v, want both households", got)
		}
		member := must(cwA.CreateMember(second.GetName(), spouse)).ok(t)
		_, err = cwA.CreateMemberUnconfirmed(first.GetName(), e.newMember(pb.Relation_RELATION_SPOUSE, given, servicememberBirth))
		if cands := candidates(t, refused(t, err, codes.FailedPrecondition, pb.ErrorReason_POSSIBLE_DUPLICATE)); !slices.Contains(candidateNames(cands), member.GetName()) {
			t.Errorf("candidates %v leave out the member %s", candidateNames(cands), member.GetName())
		}

		// Outside the caller's towns: not named, not in the way.
		hidden := "钱" + c.name
		elsewhere := must(sup.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = hidden; h.TownCode = townB }))).ok(t)
		mine := must(cwA.CreateHouseholdUnconfirmed(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = hidden }))).ok(t)
		if mine.GetName() == elsewhere.GetName() {
			t.Fatal("the create answered the other town's household")
		}
		// The supervisor, county-wide, is told of both.
		_, err = sup.CreateHouseholdUnconfirmed(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = hidden }))
		if got := candidateNames(candidates(t, refused(t, err, codes.FailedPrecondition, pb.ErrorReason_POSSIBLE_DUPLICATE))); !slices.Contains(got, elsewhere.GetName()) || !slices.Contains(got, mine.GetName()) {
			t.Errorf("a county-wide supervisor's candidates %v", got)
		}
	})
}

// candidates are the PreconditionFailure violations of a POSSIBLE_DUPLICATE;
// none may carry a number but a birth year.
func candidates(t *testing.T, st *status.Status) []*errdetails.PreconditionFailure_Violation {
	t.Helper()
	var out []*errdetails.PreconditionFailure_Violation
	for _, d := range st.Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			out = append(out, pf.GetViolations()...)
		}
	}
	for _, v := range out {
		if v.GetType() != pb.ErrorReason_POSSIBLE_DUPLICATE.String() || longNumber.MatchString(v.GetDescription()) {
			t.Errorf("candidate %v: want type POSSIBLE_DUPLICATE and no number", v)
		}
	}
	return out
}

var longNumber = regexp.MustCompile(`[0-9]{5,}`)

func candidateNames(vs []*errdetails.PreconditionFailure_Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.GetSubject())
	}
	return out
}

func householdNames(r *pb.ListHouseholdsResponse) []string {
	var out []string
	for _, h := range r.GetHouseholds() {
		out = append(out, h.GetName())
	}
	return out
}

// householdCounts is what a merge must keep: every member, case, note,
// contact and status change of a household, counted through the API.
type householdCounts struct {
	members, cases, notes, contacts, statusChanges int
}

func countHousehold(t *testing.T, c *client, name string) householdCounts {
	t.Helper()
	var n householdCounts
	n.members = len(must(c.ListMembers(name)).ok(t).GetMembers())
	cases, _ := c.allCases(&pb.ListCasesRequest{Filter: `household = "` + name + `"`})
	n.cases = len(cases)
	for _, cs := range cases {
		n.notes += len(must(c.ListNotes(cs.GetName())).ok(t).GetNotes())
	}
	n.contacts = len(must(c.ListContacts(&pb.ListContactsRequest{Parent: name, PageSize: 500})).ok(t).GetContacts())
	n.statusChanges = len(must(c.ListStatusChanges(name, 500, "")).ok(t).GetStatusChanges())
	return n
}

func (a householdCounts) plus(b householdCounts) householdCounts {
	return householdCounts{a.members + b.members, a.cases + b.cases, a.notes + b.notes, a.contacts + b.contacts, a.statusChanges + b.statusChanges}
}

// testMergeHouseholds: a supervisor merges a duplicate into a survivor and
// everything of both is the survivor's; the duplicate answers with
// merged_into (and Location over HTTP).
func testMergeHouseholds(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.eachClient(t, func(t *testing.T, c *client) {
		survivor, dup := e.family(t, sup), e.family(t, sup)
		caseOf := func(f family) *pb.Case {
			cs := must(sup.CreateCase(legalAidCase(f, f.spouse))).ok(t)
			must(sup.CreateNote(cs.GetName(), "案情记录")).ok(t)
			return cs
		}
		_ = caseOf(survivor)
		moved := caseOf(dup)
		closed := must(sup.CreateCase(elderCase(dup))).ok(t)
		must(sup.Withdraw(closed.GetName(), "家属撤回")).ok(t)
		contact := &pb.Contact{ContactDate: ymd(2026, 3, 1), Channel: pb.ContactChannel_CONTACT_CHANNEL_PHONE, Raised: "配偶就业"}
		must(sup.CreateContact(dup.household.GetName(), contact, "")).ok(t)
		must(sup.CreateContact(survivor.household.GetName(), contact, "")).ok(t)
		want := countHousehold(t, sup, survivor.household.GetName()).plus(countHousehold(t, sup, dup.household.GetName()))

		req := &pb.MergeHouseholdsRequest{Name: survivor.household.GetName(), MergedHousehold: dup.household.GetName(),
			MergedHouseholdEtag: "v99", RequestId: "merge-" + c.name}
		for _, cw := range e.clientsAs(t, e.roleToken(t, principal.Caseworker)) {
			cw.t = t
			if cw.http == c.http {
				must(cw.MergeHouseholds(req)).fails(t, codes.PermissionDenied)
			}
		}
		c.t = t
		must(c.MergeHouseholds(req)).fails(t, codes.Aborted)
		req.MergedHouseholdEtag = ""
		must(c.MergeHouseholds(&pb.MergeHouseholdsRequest{Name: req.Name, MergedHousehold: req.Name})).fails(t, codes.InvalidArgument)
		merged := must(c.MergeHouseholds(req)).ok(t)
		if merged.GetName() != survivor.household.GetName() || merged.GetMemberCount() != int32(want.members) {
			t.Errorf("merge answered %s with %d members, want %s with %d", merged.GetName(), merged.GetMemberCount(),
				survivor.household.GetName(), want.members)
		}
		if have := countHousehold(t, sup, survivor.household.GetName()); have != want {
			t.Errorf("after the merge the survivor has %+v, want %+v", have, want)
		}
		for _, cs := range []*pb.Case{moved, closed} {
			after := must(sup.GetCase(cs.GetName())).ok(t)
			if after.GetHousehold() != survivor.household.GetName() || after.GetCaseNumber() != cs.GetCaseNumber() {
				t.Errorf("%s after the merge: household %s number %s", cs.GetName(), after.GetHousehold(), after.GetCaseNumber())
			}
			hist := must(sup.History(cs.GetName())).ok(t).GetEntries()
			if last := hist[len(hist)-1]; last.GetMethod() != "MergeHouseholds" {
				t.Errorf("%s: last history entry %v", cs.GetName(), last)
			}
		}
		if m := must(sup.GetMember(dup.spouse.GetName())); m.err == nil {
			t.Errorf("the duplicate's member still answers under its old name")
		}

		gone := must(c.GetHousehold(dup.household.GetName())).ok(t)
		if gone.GetMergedInto() != survivor.household.GetName() || gone.GetDeleteTime() == nil {
			t.Errorf("the duplicate reads merged_into %q delete_time %v", gone.GetMergedInto(), gone.GetDeleteTime())
		}
		if c.http {
			if loc := c.lastHeader.Get("Location"); loc != "/v1/"+survivor.household.GetName() {
				t.Errorf("Location %q, want /v1/%s", loc, survivor.household.GetName())
			}
		}
		_, err := c.MergeHouseholds(&pb.MergeHouseholdsRequest{Name: survivor.household.GetName(), MergedHousehold: dup.household.GetName()})
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_HOUSEHOLD_MERGED)
		_, err = c.UndeleteHousehold(dup.household.GetName())
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_HOUSEHOLD_MERGED)
		if got := historyActions(t, sup, survivor.household.GetName()); !slices.Contains(got, pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_MERGED_FROM) {
			t.Errorf("the survivor's history %v says nothing of the merge", got)
		}
		entries := must(sup.ListHouseholdHistory(dup.household.GetName())).ok(t).GetEntries()
		if len(entries) != 1 || entries[0].GetAction() != pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_MERGED_INTO ||
			entries[0].GetOtherHousehold() != survivor.household.GetName() || !slices.Contains(entries[0].GetMoved(), "cases:2") {
			t.Errorf("the duplicate's history %v", entries)
		}

		// In transfer, or in another town: refused, nothing moves.
		other := e.family(t, sup)
		must(sup.TransferHousehold(&pb.TransferHouseholdRequest{Name: other.household.GetName(), ToTownCode: townB, Reason: "迁居"})).ok(t)
		_, err = c.MergeHouseholds(&pb.MergeHouseholdsRequest{Name: survivor.household.GetName(), MergedHousehold: other.household.GetName()})
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_TRANSFER_PENDING)
		far := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
		_, err = c.MergeHouseholds(&pb.MergeHouseholdsRequest{Name: survivor.household.GetName(), MergedHousehold: far.household.GetName()})
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_MERGE_ACROSS_TOWNS)
		if n := countHousehold(t, sup, far.household.GetName()).members; n != 3 {
			t.Errorf("a refused merge moved members: %d left", n)
		}
	})
}

func (c *client) CancelHouseholdTransfer(req *pb.CancelHouseholdTransferRequest) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/CancelHouseholdTransfer", post(req.GetName()+":cancelTransfer", req), req, out)
}

// testCancelTransfer: the sending town withdraws a transfer it asked by
// mistake (the receiving town may not), both towns read the household as
// before, and a transfer asked again is accepted as usual.
func testCancelTransfer(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.eachClient(t, func(t *testing.T, c *client) {
		cwA := c.as(e.token(t, "e2e-caseworker-a", []principal.Role{principal.Caseworker}, townA))
		cwB := c.as(e.token(t, "e2e-caseworker-b", []principal.Role{principal.Caseworker}, townB))
		cwA.t, cwB.t = t, t
		f := e.family(t, sup)
		name := f.household.GetName()

		_, err := cwA.CancelHouseholdTransfer(&pb.CancelHouseholdTransferRequest{Name: name, Reason: "误操作"})
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_NO_TRANSFER_PENDING)
		asked := must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "迁居"})).ok(t)

		// The receiving town sees the transfer but may not withdraw it.
		_, err = cwB.CancelHouseholdTransfer(&pb.CancelHouseholdTransferRequest{Name: name, Reason: "不是我们的"})
		refused(t, err, codes.PermissionDenied, pb.ErrorReason_OUT_OF_SCOPE)
		_, err = cwA.CancelHouseholdTransfer(&pb.CancelHouseholdTransferRequest{Name: name, Reason: "误操作", Etag: f.household.GetEtag()})
		wantStatus(t, err, codes.Aborted)

		head := must(sup.ListEvents(0)).ok(t).GetHeadPosition()
		req := &pb.CancelHouseholdTransferRequest{Name: name, Reason: "选错了乡镇", Etag: asked.GetEtag(), RequestId: "cancel-1-" + c.name}
		cancelled := must(cwA.CancelHouseholdTransfer(req)).ok(t)
		if cancelled.GetTransfer() != nil || cancelled.GetTownCode() != townA || cancelled.GetEtag() == asked.GetEtag() {
			t.Fatalf("cancelled: transfer %v, town %s, etag %s", cancelled.GetTransfer(), cancelled.GetTownCode(), cancelled.GetEtag())
		}
		// AIP-155: the retry answers the cancellation, not NO_TRANSFER_PENDING.
		if again := must(cwA.CancelHouseholdTransfer(req)).ok(t); again.GetEtag() != cancelled.GetEtag() {
			t.Errorf("a retried cancellation answered etag %s, the first %s", again.GetEtag(), cancelled.GetEtag())
		}
		must(cwB.GetHousehold(name)).fails(t, codes.NotFound)
		if incoming := householdNames(must(cwB.ListHouseholds(&pb.ListHouseholdsRequest{Filter: "in_transfer = true"})).ok(t)); slices.Contains(incoming, name) {
			t.Errorf("town B still lists the cancelled transfer: %v", incoming)
		}
		if got := must(cwA.GetHousehold(name)).ok(t); got.GetTransfer() != nil {
			t.Errorf("town A reads the household with its transfer %v", got.GetTransfer())
		}
		var evs []string
		for _, ev := range must(sup.ListEvents(head)).ok(t).GetEvents() {
			if ev.GetType() == "CancelHouseholdTransfer" {
				evs = append(evs, ev.GetResource())
			}
		}
		if !slices.Equal(evs, []string{name}) {
			t.Errorf("events of the cancellation %v, want the household once", evs)
		}
		if n := len(auditEntries(t, e, `resource = "`+name+`" AND method = "/casework.v1.HouseholdService/CancelHouseholdTransfer" AND action = "change"`)); n != 1 {
			t.Errorf("%d audit entries of the cancellation, want 1", n)
		}

		// Asked again, it is accepted as any transfer is.
		must(cwA.TransferHousehold(&pb.TransferHouseholdRequest{Name: name, ToTownCode: townB, Reason: "迁居社坛镇"})).ok(t)
		if accepted := must(cwB.AcceptHouseholdTransfer(name)).ok(t); accepted.GetTownCode() != townB || accepted.GetTransfer() != nil {
			t.Fatalf("accepted after a cancellation: town %s transfer %v", accepted.GetTownCode(), accepted.GetTransfer())
		}
		wantSecondTransfer(t, cwB, name, pb.HouseholdHistoryAction_HOUSEHOLD_HISTORY_ACTION_TRANSFER_CANCELLED)
		entry := must(cwB.ListHouseholdHistory(name)).ok(t).GetEntries()[1]
		if entry.GetReason() != "选错了乡镇" || entry.GetActor() != "e2e-caseworker-a" || entry.GetMethod() != "CancelHouseholdTransfer" ||
			entry.GetFromTownCode() != townA || entry.GetToTownCode() != townB {
			t.Errorf("the cancellation's entry: %v", entry)
		}
	})
}

// testBatchDuplicates: a batch item whose servicemember may duplicate a
// live household, or an earlier item of the batch, is refused as
// CreateHousehold refuses it, at requests[i], until the item confirms;
// all or nothing, and alone with partial success.
func testBatchDuplicates(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.eachClient(t, func(t *testing.T, c *client) {
		given := "孙" + c.name
		first := must(sup.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = given }))).ok(t)
		fresh := e.newHousehold()
		dup := e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = given + " " })

		before := e.countHouseholds(t)
		_, err := c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(fresh, dup)})
		st := refused(t, err, codes.FailedPrecondition, pb.ErrorReason_BATCH_ITEMS_REFUSED)
		wantViolation(t, st, "requests[1]")
		wantItemReason(t, st, "requests[1]", pb.ErrorReason_POSSIBLE_DUPLICATE)
		if cands := candidates(t, st); len(cands) != 1 || cands[0].GetSubject() != first.GetName() ||
			!strings.HasPrefix(cands[0].GetDescription(), "requests[1]: ") || !strings.Contains(cands[0].GetDescription(), "name and birth date") {
			t.Errorf("the batch's candidates %v, want %s for requests[1]", cands, first.GetName())
		}
		if e.countHouseholds(t) != before {
			t.Fatalf("a refused batch created households")
		}

		// Partial success: the item is refused alone, with the candidates a
		// single create gives.
		partial := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(fresh, dup), AllowPartialSuccess: true})).ok(t)
		wantOutcomes(t, partial, created, refusedIt)
		item := status.FromProto(partial.GetResults()[1].GetError())
		if item.Code() != codes.FailedPrecondition || reasonOf(item.Err()) != pb.ErrorReason_POSSIBLE_DUPLICATE.String() {
			t.Fatalf("the duplicate item's error: %v", item.Proto())
		}
		if got := candidateNames(candidates(t, item)); !slices.Equal(got, []string{first.GetName()}) {
			t.Errorf("the item's candidates %v, want %s", got, first.GetName())
		}

		// Confirmed, the item is registered.
		confirmed := items(dup)
		confirmed[0].ConfirmPossibleDuplicate = true
		if resp := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: confirmed})).ok(t); len(resp.GetHouseholds()) != 1 {
			t.Fatalf("a confirmed item: %v", resp.GetHouseholds())
		}
		if e.countHouseholds(t) != before+2 {
			t.Errorf("%d households written, want 2", e.countHouseholds(t)-before)
		}

		// Two items of one batch that match each other: the later one is
		// refused, naming the earlier, until it confirms.
		twin := "李" + c.name
		a := e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = twin })
		b := e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = twin })
		_, err = c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: items(a, b)})
		st = refused(t, err, codes.FailedPrecondition, pb.ErrorReason_BATCH_ITEMS_REFUSED)
		wantItemReason(t, st, "requests[1]", pb.ErrorReason_POSSIBLE_DUPLICATE)
		if got := candidateNames(candidates(t, st)); !slices.Equal(got, []string{"requests[0]"}) {
			t.Errorf("the twins' candidates %v, want requests[0]", got)
		}
		if n := len(fieldViolations(st)); n != 1 {
			t.Errorf("%d items refused, want the later twin only", n)
		}
		twins := items(a, b)
		twins[1].ConfirmPossibleDuplicate = true
		if resp := must(c.BatchCreate(&pb.BatchCreateHouseholdsRequest{Requests: twins})).ok(t); len(resp.GetHouseholds()) != 2 {
			t.Fatalf("confirmed twins: %v", resp.GetHouseholds())
		}
	})
}

// testMemberBatchDuplicates: a batch of members is checked as CreateMember
// checks one, against the stored people and the batch's earlier items.
func testMemberBatchDuplicates(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		given := "周" + c.name
		stored := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = given }))).ok(t)
		h := must(c.CreateHousehold(e.newHousehold())).ok(t)
		fresh := e.newMember(pb.Relation_RELATION_CHILD, "吴"+c.name, childBirth)
		namesake := e.newMember(pb.Relation_RELATION_FATHER, given, servicememberBirth)
		unconfirmed := func(ms ...*pb.Member) *pb.BatchCreateMembersRequest {
			req := &pb.BatchCreateMembersRequest{Parent: h.GetName()}
			for _, m := range ms {
				req.Requests = append(req.Requests, &pb.CreateMemberRequest{Member: m})
			}
			return req
		}

		head := e.eventHead(t)
		_, err := c.batchCreateMembers(unconfirmed(fresh, namesake))
		st := refused(t, err, codes.FailedPrecondition, pb.ErrorReason_BATCH_ITEMS_REFUSED)
		wantItemReason(t, st, "requests[1]", pb.ErrorReason_POSSIBLE_DUPLICATE)
		if got := candidateNames(candidates(t, st)); !slices.Equal(got, []string{stored.GetName()}) {
			t.Errorf("the members' candidates %v, want %s", got, stored.GetName())
		}
		if n := len(fieldViolations(st)); n != 1 {
			t.Errorf("%d items refused, want the namesake only", n)
		}
		if e.eventHead(t) != head || len(must(c.ListMembers(h.GetName())).ok(t).GetMembers()) != 0 {
			t.Fatal("a refused batch of members wrote something")
		}

		// Twins of one batch: the later is refused, naming the earlier.
		twin := e.newMember(pb.Relation_RELATION_CHILD, "吴"+c.name, childBirth)
		_, err = c.batchCreateMembers(unconfirmed(fresh, twin))
		st = refused(t, err, codes.FailedPrecondition, pb.ErrorReason_BATCH_ITEMS_REFUSED)
		if got := candidateNames(candidates(t, st)); !slices.Equal(got, []string{"requests[0]"}) {
			t.Errorf("the twins' candidates %v, want requests[0]", got)
		}

		// Confirmed, every item is registered.
		req := unconfirmed(fresh, namesake, twin)
		req.Requests[1].ConfirmPossibleDuplicate, req.Requests[2].ConfirmPossibleDuplicate = true, true
		if resp := must(c.batchCreateMembers(req)).ok(t); len(resp.GetMembers()) != 3 {
			t.Fatalf("a confirmed batch of members: %v", resp.GetMembers())
		}
	})
}

// wantItemReason checks that a refused batch names field with reason.
func wantItemReason(t *testing.T, st *status.Status, field string, reason pb.ErrorReason) {
	t.Helper()
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field && v.GetReason() == reason.String() {
					return
				}
			}
		}
	}
	t.Errorf("no %s violation at %s: %v", reason, field, st.Details())
}
