package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// The Transfers category: a household's transfer between towns (who reads
// it meanwhile, what moves on acceptance), the fuzzy duplicate check's
// indexes and their backfill, and merges.

func scopeOf(e *env, towns ...string) context.Context {
	return repository.WithScope(e.ctx, principal.Scope{Towns: towns})
}

// ask asks for household id's transfer to town to, as the given scope.
func (e *env) ask(ctx context.Context, id, to string) (*repository.Household, error) {
	e.clock.Advance(e.step)
	return e.s.ChangeTransfer(ctx, id, "", func(h *repository.Household) (*repository.HouseholdHistory, error) {
		if err := domain.CheckTransfer("to_town_code", h.TransferState(), to); err != nil {
			return nil, err
		}
		now := e.clock.Now()
		h.TransferToTown, h.TransferReason, h.TransferRequester, h.TransferTime = to, "Test move", "users/test", &now
		return &repository.HouseholdHistory{Action: domain.TransferRequested, Method: "TransferHousehold",
			FromTownCode: h.TownCode, ToTownCode: to, Reason: "Test move"}, nil
	})
}

// decide accepts (or declines) household id's pending transfer.
func (e *env) decide(ctx context.Context, id string, accept bool) (*repository.Household, error) {
	e.clock.Advance(e.step)
	return e.s.ChangeTransfer(ctx, id, "", func(h *repository.Household) (*repository.HouseholdHistory, error) {
		if err := domain.CheckTransferDecision(h.TransferState()); err != nil {
			return nil, err
		}
		entry := &repository.HouseholdHistory{Action: domain.TransferDeclined, Method: "DeclineHouseholdTransfer",
			FromTownCode: h.TownCode, ToTownCode: h.TransferToTown, Reason: "Test no"}
		if accept {
			entry.Action, entry.Method, entry.Reason = domain.TransferAccepted, "AcceptHouseholdTransfer", ""
			h.TownCode = h.TransferToTown
		}
		h.TransferToTown, h.TransferReason, h.TransferRequester, h.TransferTime = "", "", "", nil
		return entry, nil
	})
}

func (e *env) householdHistory(id string) []repository.HouseholdHistory {
	e.t.Helper()
	rows, _, err := e.s.ListHouseholdHistory(e.ctx, id, repository.Page{Size: 500})
	must(e.t, err, "ListHouseholdHistory")
	return rows
}

func actions(rows []repository.HouseholdHistory) []domain.HouseholdAction {
	var out []domain.HouseholdAction
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// mergeRules are the rules MergeHouseholds' handler applies.
func mergeRules(survivor, duplicate *repository.Household) error {
	return domain.CheckMerge(survivor.TransferState(), duplicate.TransferState())
}

var transferTests = []test{
	{"PendingTransferReadByBothTowns", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		a, b := scopeOf(e, townA), scopeOf(e, townB)
		_, err := e.ask(b, w.a.h.ID, townB)
		wantErr(t, err, repository.ErrNotFound, "the receiving town asking before any transfer")
		got, err := e.ask(a, w.a.h.ID, townB)
		must(t, err, "asking for a transfer")
		if got.TransferToTown != townB || got.TownCode != townA || got.Revision != 2 || got.TransferReason != "Test move" {
			t.Fatalf("after asking: town %s to %s revision %d reason %q", got.TownCode, got.TransferToTown, got.Revision, got.TransferReason)
		}
		_, err = e.ask(a, w.a.h.ID, townB)
		wantPrecondition(t, err, "TRANSFER_PENDING", "a second transfer")
		read, err := e.s.GetHousehold(b, w.a.h.ID, false)
		must(t, err, "the receiving town reading the household in transfer")
		if read.TransferReason != "Test move" {
			t.Errorf("the reason reads %q", read.TransferReason)
		}
		rows, _, err := e.s.ListHouseholds(b, repository.HouseholdQuery{Page: repository.Page{Size: 50}})
		must(t, err, "ListHouseholds")
		if !slices.ContainsFunc(rows, func(h repository.Household) bool { return h.ID == w.a.h.ID }) {
			t.Errorf("the receiving town's list leaves the household out")
		}
		for _, f := range []struct {
			filter string
			want   bool
		}{{"in_transfer = true", true}, {"in_transfer = false", false}} {
			rows, _, err := e.s.ListHouseholds(b, repository.HouseholdQuery{Filter: parse(t, f.filter, repository.HouseholdFilter),
				Page: repository.Page{Size: 50}})
			must(t, err, "ListHouseholds %s", f.filter)
			if got := slices.ContainsFunc(rows, func(h repository.Household) bool { return h.ID == w.a.h.ID }); got != f.want {
				t.Errorf("%s: the household in transfer listed %v, want %v", f.filter, got, f.want)
			}
		}
		_, _, err = e.s.ListMembers(b, w.a.h.ID, repository.Page{})
		wantErr(t, err, repository.ErrNotFound, "the receiving town listing members before accepting")
		_, err = e.s.GetCase(b, w.caseA.ID)
		wantErr(t, err, repository.ErrNotFound, "the receiving town reading a case before accepting")
		_, err = e.s.GetHousehold(scopeOf(e, "500230001"), w.a.h.ID, false)
		wantErr(t, err, repository.ErrNotFound, "a third town reading it")
		_, err = e.decide(a, w.a.h.ID, true)
		wantErr(t, err, repository.ErrOutOfScope, "the sending town accepting")
	}},
	{"AcceptMovesOpenCases", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		closed := e.setStatus(e.newCase(w.a), domain.StatusWithdrawn)
		assigned, err := e.s.MutateCase(e.ctx, w.caseA.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Assignee = "users/a"
			return &repository.HistoryEntry{Actor: "users/test", Method: "AssignCase", FromStatus: c.Status, ToStatus: c.Status}, nil
		})
		must(t, err, "assigning")
		a, b := scopeOf(e, townA), scopeOf(e, townB)
		members := e.liveMembers(w.a.h.ID)
		_, err = e.ask(a, w.a.h.ID, townB)
		must(t, err, "asking")
		got, err := e.decide(b, w.a.h.ID, true)
		must(t, err, "accepting")
		if got.TownCode != townB || got.TransferToTown != "" || int64(got.MemberCount) != members {
			t.Fatalf("accepted: town %s pending %q members %d, want %d", got.TownCode, got.TransferToTown, got.MemberCount, members)
		}
		moved, err := e.s.GetCase(b, w.caseA.ID)
		must(t, err, "the receiving town reading the moved case")
		if moved.Assignee != "" || moved.Revision != assigned.Revision+1 {
			t.Errorf("moved case: assignee %q revision %d", moved.Assignee, moved.Revision)
		}
		hist := e.history(w.caseA.ID)
		if last := hist[len(hist)-1]; last.Method != "AcceptHouseholdTransfer" ||
			!slices.Equal(last.ChangedFields, repository.List[string]{"town_code", "assignee"}) {
			t.Errorf("moved case's last history entry %+v", last)
		}
		if c, err := e.s.GetCase(e.ctx, closed.ID); err != nil || c.TownCode != townA || c.Revision != closed.Revision {
			t.Errorf("the closed case: %v, %v; it stays with town A unchanged", c, err)
		}
		if _, _, err := e.s.ListMembers(b, w.a.h.ID, repository.Page{}); err != nil {
			t.Errorf("the new town listing members: %v", err)
		}
		h := e.householdHistory(w.a.h.ID)
		if !slices.Equal(actions(h), []domain.HouseholdAction{domain.TransferRequested, domain.TransferAccepted}) ||
			!slices.Equal(h[1].Moved, repository.List[string]{"cases:1"}) || h[0].Reason != "Test move" {
			t.Errorf("household history %+v", h)
		}
	}},
	{"DeclineMovesNothing", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		a, b := scopeOf(e, townA), scopeOf(e, townB)
		_, err := e.ask(a, w.a.h.ID, townB)
		must(t, err, "asking")
		got, err := e.decide(b, w.a.h.ID, false)
		must(t, err, "declining")
		if got.TownCode != townA || got.TransferToTown != "" {
			t.Errorf("declined: town %s pending %q", got.TownCode, got.TransferToTown)
		}
		_, err = e.s.GetHousehold(b, w.a.h.ID, false)
		wantErr(t, err, repository.ErrNotFound, "the declining town reading it afterwards")
		if c, _ := e.s.GetCase(e.ctx, w.caseA.ID); c.TownCode != townA || c.Revision != w.caseA.Revision {
			t.Errorf("a declined transfer changed the case")
		}
		_, err = e.decide(a, w.a.h.ID, true)
		wantPrecondition(t, err, "NO_TRANSFER_PENDING", "accepting with none pending")
	}},
	{"PossibleDuplicatesThroughIndexes", func(t *testing.T, e *env) {
		phone := e.phone()
		h := e.newHousehold(func(h *repository.Household) { h.ServicememberName, h.Phone = "Test 张 伟", phone })
		m := e.newMember(h, func(m *repository.Member) { m.DisplayName = "Test Spouse" })
		birth := domain.BirthDateOfID(h.ServicememberIDNumber)
		found := func(ctx context.Context, k domain.MatchKeys) []string {
			cs, err := e.s.PossibleDuplicates(ctx, k, "", false)
			must(t, err, "PossibleDuplicates")
			var out []string
			for _, c := range cs {
				out = append(out, c.Resource)
			}
			return out
		}
		hName, mName := "households/"+h.ID, "households/"+h.ID+"/members/"+m.ID
		if got := found(e.ctx, domain.PersonKeys("Test张伟", birth, "")); !slices.Equal(got, []string{hName}) {
			t.Errorf("by name and birth: %v", got)
		}
		if got := found(e.ctx, domain.PersonKeys("Test 张伟", "1999-01-01", "+86 "+phone)); !slices.Equal(got, []string{hName}) {
			t.Errorf("by name and phone: %v", got)
		}
		if got := found(e.ctx, domain.PersonKeys("test spouse", m.BirthDate.Format(time.DateOnly), "")); !slices.Equal(got, []string{mName}) {
			t.Errorf("a member by name and birth: %v", got)
		}
		if got := found(scopeOf(e, townB), domain.PersonKeys("Test张伟", birth, "")); len(got) != 0 {
			t.Errorf("town B finds town A's household: %v", got)
		}
		if got := found(e.ctx, domain.PersonKeys("Test 张伟", "1999-01-01", "")); len(got) != 0 {
			t.Errorf("another birth date and no phone matched: %v", got)
		}
		// The same ID number is the same person: the ID-number rules' case.
		if cs, err := e.s.PossibleDuplicates(e.ctx, h.MatchKeys(), h.ServicememberIDNumber, true); err != nil || len(cs) != 0 {
			t.Errorf("the servicemember's own number: %v, %v; want no candidates", cs, err)
		}
		if cs, err := e.s.PossibleDuplicates(e.ctx, m.MatchKeys(), m.IDNumber, false); err != nil || len(cs) != 0 {
			t.Errorf("the member's own number: %v, %v; want no candidates", cs, err)
		}
		_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
		must(t, err, "DeleteHousehold")
		if got := found(e.ctx, domain.PersonKeys("Test张伟", birth, "")); len(got) != 0 {
			t.Errorf("a deleted household matched: %v", got)
		}
	}},
	{"PossibleDuplicatesOfManyAtOnce", func(t *testing.T, e *env) {
		a := e.newHousehold(func(h *repository.Household) { h.ServicememberName = "Bulk 甲" })
		b := e.newHousehold(func(h *repository.Household) { h.ServicememberName = "Bulk 乙" })
		keys := func(h *repository.Household, name string) domain.MatchKeys {
			return domain.PersonKeys(name, domain.BirthDateOfID(h.ServicememberIDNumber), "")
		}
		// More than a chunk of people, each answered in its place: b's
		// match, a stranger, a's match, and a's own servicemember (the
		// uniqueness rule's, no candidates).
		people := make([]repository.DuplicateQuery, 600)
		for i := range people {
			people[i] = repository.DuplicateQuery{Keys: domain.PersonKeys(fmt.Sprintf("Bulk stranger %d", i), "2001-02-03", "")}
		}
		people[3].Keys = keys(b, "bulk乙")
		people[550] = repository.DuplicateQuery{Keys: keys(a, "Bulk甲"), Servicemember: true, IDNumber: e.idNumber()}
		people[599] = repository.DuplicateQuery{Keys: a.MatchKeys(), IDNumber: a.ServicememberIDNumber, Servicemember: true}
		found, err := e.s.PossibleDuplicatesOf(e.ctx, people)
		must(t, err, "PossibleDuplicatesOf")
		if len(found) != len(people) {
			t.Fatalf("%d answers for %d people", len(found), len(people))
		}
		for i, cs := range found {
			want := ""
			switch i {
			case 3:
				want = "households/" + b.ID
			case 550:
				want = "households/" + a.ID
			}
			if got := ""; len(cs) > 0 {
				got = cs[0].Resource
				if len(cs) != 1 || got != want || !cs[0].Birth {
					t.Errorf("person %d: %+v, want %s by birth", i, cs, want)
				}
			} else if want != "" {
				t.Errorf("person %d: no candidates, want %s", i, want)
			}
		}
	}},
	{"ResealFillsDuplicateIndexes", func(t *testing.T, e *env) {
		h := e.newHousehold(e.withPhone)
		m := e.newMember(h, e.memberPhone)
		// As a row written before migration 00019 reads.
		for _, table := range []string{"households", "members"} {
			must(t, e.db.Exec("UPDATE "+table+" SET name_birth_index = '', name_phone_index = ''").Error, "blanking")
		}
		k := m.MatchKeys()
		if cs, _ := e.s.PossibleDuplicates(e.ctx, k, "", false); len(cs) != 0 {
			t.Fatalf("blank indexes matched: %v", cs)
		}
		n, err := e.s.Reseal(e.ctx, 1, nil)
		must(t, err, "Reseal")
		if n < 2 {
			t.Errorf("reseal touched %d rows, want both", n)
		}
		cs, err := e.s.PossibleDuplicates(e.ctx, k, "", false)
		must(t, err, "PossibleDuplicates")
		if len(cs) != 1 || !cs[0].Birth || !cs[0].Phone {
			t.Errorf("after reseal: %+v, want the member by birth and phone", cs)
		}
		if cs, _ := e.s.PossibleDuplicates(e.ctx, h.MatchKeys(), "", false); len(cs) != 1 {
			t.Errorf("after reseal the household matches %d times", len(cs))
		}
		if again, err := e.s.Reseal(e.ctx, 1, nil); err != nil || again != 0 {
			t.Errorf("a second reseal touched %d rows (%v): the backfill must end", again, err)
		}
	}},
	{"MergeKeepsEverything", func(t *testing.T, e *env) {
		sv, dp := e.newFamily(), e.newFamily()
		svCase, dpCase := e.newCase(sv), e.newCase(dp)
		closed := e.setStatus(e.newCase(dp), domain.StatusWithdrawn)
		// The same person in both: folded, never lost.
		twin := e.newMember(dp.h, func(m *repository.Member) { m.IDNumber = sv.m.IDNumber })
		twinCase := e.newCase(family{h: dp.h, m: twin})
		opener := e.newContact(dp.h, "2026-03-01", domain.ContactPhone)
		e.newContact(sv.h, "2026-02-01", domain.ContactPhone)
		followUp := e.newCase(dp, func(c *repository.Case) { c.SourceContact = "households/" + dp.h.ID + "/contacts/" + opener.ID })
		must(t, e.s.CreateNote(e.ctx, &repository.Note{ID: uuid.NewString(), CaseID: dpCase.ID, Body: "Test", Author: "users/t"}), "CreateNote")
		head := len(e.allEvents(repository.EventQuery{}))
		// Each further open case of a kind has a member of its own (the
		// fixture keeps OPEN_CASE_PER_KIND), so the counts are read, not
		// assumed.
		svMembers, dpMembers := e.liveMembers(sv.h.ID), e.liveMembers(dp.h.ID)

		_, err := e.s.MergeHouseholds(scopeOf(e, townB), sv.h.ID, "", dp.h.ID, "", mergeRules)
		wantErr(t, err, repository.ErrNotFound, "merging outside the caller's towns")
		_, err = e.s.MergeHouseholds(e.ctx, sv.h.ID, "", dp.h.ID, "v9", mergeRules)
		wantErr(t, err, repository.ErrEtagMismatch, "a stale etag of the duplicate")
		got, err := e.s.MergeHouseholds(e.ctx, sv.h.ID, repository.Etag(sv.h.Revision), dp.h.ID, "", mergeRules)
		must(t, err, "MergeHouseholds")
		if want := svMembers + dpMembers - 1; int64(got.MemberCount) != want || got.Revision != sv.h.Revision+1 {
			t.Errorf("survivor: %d live members revision %d, want %d (the twin folded) and %d", got.MemberCount, got.Revision, want, sv.h.Revision+1)
		}
		cases, _, err := e.s.ListCases(e.ctx, repository.CaseQuery{Filter: parse(t, `household = "households/`+sv.h.ID+`"`, repository.CaseFilter), Page: repository.Page{Size: 50}})
		must(t, err, "ListCases")
		if len(cases) != 5 {
			t.Errorf("the survivor has %d cases, want 5", len(cases))
		}
		for _, c := range []*repository.Case{dpCase, closed, twinCase} {
			after, err := e.s.GetCase(e.ctx, c.ID)
			must(t, err, "GetCase")
			if after.HouseholdID != sv.h.ID || after.CaseNumber != c.CaseNumber {
				t.Errorf("case %s: household %s number %s", c.ID, after.HouseholdID, after.CaseNumber)
			}
		}
		if after, _ := e.s.GetCase(e.ctx, followUp.ID); after.SourceContact != "households/"+sv.h.ID+"/contacts/"+opener.ID {
			t.Errorf("the follow-up case's contact reads %q after the merge", after.SourceContact)
		}
		if after, _ := e.s.GetCase(e.ctx, twinCase.ID); after.SubjectID != sv.m.ID {
			t.Errorf("the twin's case names %s, want the survivor's member %s", after.SubjectID, sv.m.ID)
		}
		if after, _ := e.s.GetCase(e.ctx, svCase.ID); after.Revision != svCase.Revision {
			t.Errorf("the survivor's own case changed")
		}
		contacts, _, err := e.s.ListContacts(e.ctx, repository.LedgerQuery{HouseholdID: sv.h.ID, Page: repository.Page{Size: 50}})
		must(t, err, "ListContacts")
		if len(contacts) != 2 {
			t.Errorf("the survivor has %d contacts, want 2", len(contacts))
		}
		var members int64
		must(t, e.db.Table("members").Where("household_id = ?", sv.h.ID).Count(&members).Error, "counting members")
		if want := svMembers + dpMembers; members != want {
			t.Errorf("%d member rows under the survivor, want %d (the folded twin kept, deleted)", members, want)
		}
		gone, err := e.s.GetHousehold(e.ctx, dp.h.ID, true)
		must(t, err, "reading the duplicate")
		if gone.MergedInto != sv.h.ID || gone.DeleteTime == nil {
			t.Errorf("the duplicate: merged_into %q delete_time %v", gone.MergedInto, gone.DeleteTime)
		}
		if h := e.householdHistory(dp.h.ID); !slices.Equal(actions(h), []domain.HouseholdAction{domain.MergedInto}) ||
			!slices.Contains(h[0].Moved, "cases:4") || !slices.Contains(h[0].Moved, fmt.Sprintf("members:%d", dpMembers)) ||
			!slices.Contains(h[0].Moved, "contacts:1") {
			t.Errorf("the duplicate's history %+v", h)
		}
		var resources []string
		for _, ev := range e.allEvents(repository.EventQuery{})[head:] {
			resources = append(resources, ev.Resource)
		}
		for _, want := range []string{"households/" + sv.h.ID, "households/" + dp.h.ID, "cases/" + dpCase.ID,
			"households/" + sv.h.ID + "/members/" + dp.m.ID} {
			if !slices.Contains(resources, want) {
				t.Errorf("events of the merge %v lack %s", resources, want)
			}
		}
		_, err = e.s.MergeHouseholds(e.ctx, sv.h.ID, "", dp.h.ID, "", mergeRules)
		wantPrecondition(t, err, "HOUSEHOLD_MERGED", "merging again")
		_, err = e.s.UndeleteHousehold(e.ctx, dp.h.ID, "")
		wantPrecondition(t, err, "HOUSEHOLD_MERGED", "undeleting a merged household")
		if e.verified() == 0 {
			t.Errorf("audit chain empty after the merge")
		}
	}},
	{"MergeKeepsOneFirstVisitPerCampaign", func(t *testing.T, e *env) {
		poor := func(h *repository.Household) { h.Hardship = true }
		sv, dp := e.newFamily(poor), e.newFamily(poor)
		c := e.newCampaign(townA)
		e.clock.Advance(e.step)
		c, err := e.s.OpenCampaign(e.ctx, c.ID, repository.Etag(c.Revision))
		must(t, err, "OpenCampaign")
		_, err = e.visit(c, sv.h.ID, false)
		must(t, err, "the survivor's visit")
		dpVisit, err := e.visit(c, dp.h.ID, false)
		must(t, err, "the duplicate's visit")
		_, err = e.s.MergeHouseholds(e.ctx, sv.h.ID, "", dp.h.ID, "", mergeRules)
		must(t, err, "MergeHouseholds")
		var targets, firsts int64
		must(t, e.db.Table("campaign_targets").Where("campaign_id = ? AND household_id = ?", c.ID, sv.h.ID).Count(&targets).Error, "targets")
		must(t, e.db.Table("campaign_visits").Where("campaign_id = ? AND household_id = ? AND follow_up = ?", c.ID, sv.h.ID, false).
			Count(&firsts).Error, "visits")
		if targets != 1 || firsts != 1 {
			t.Errorf("after the merge: %d targets and %d first visits of the survivor, want 1 and 1", targets, firsts)
		}
		var after repository.CampaignVisit
		must(t, e.db.Where("id = ?", dpVisit.ID).Take(&after).Error, "the duplicate's visit")
		if after.HouseholdID != sv.h.ID || !after.FollowUp {
			t.Errorf("the duplicate's visit: household %s follow-up %v", after.HouseholdID, after.FollowUp)
		}
	}},
}

// liveMembers counts a household's members that are not deleted.
func (e *env) liveMembers(householdID string) int64 {
	e.t.Helper()
	var n int64
	must(e.t, e.db.Table("members").Where("household_id = ? AND delete_time IS NULL", householdID).Count(&n).Error, "counting members")
	return n
}
