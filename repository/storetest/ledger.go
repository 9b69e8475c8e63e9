package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/repository"
)

// The Ledger category: a household's contacts and hardship assistance, the
// contact policy, and next_contact_due, which the store keeps current on
// every write that moves it and ListHouseholds filters on.

func (e *env) newContact(h *repository.Household, date string, ch domain.ContactChannel) *repository.Contact {
	e.t.Helper()
	c := &repository.Contact{ID: uuid.NewString(), HouseholdID: h.ID, ContactDate: date, Channel: ch,
		RecordedBy: "users/test-caseworker", Raised: "Test matter",
		FollowUps: repository.JSON[[]domain.FollowUp]{V: []domain.FollowUp{{Text: "Test follow-up", Due: "2026-04-01"}}}}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateContact(e.ctx, c), "CreateContact")
	return c
}

// due reads a household's next_contact_due as stored ("" for none).
func (e *env) due(id string) string {
	e.t.Helper()
	h, err := e.s.GetHousehold(e.ctx, id, false)
	must(e.t, err, "GetHousehold")
	if h.NextContactDue == nil {
		return ""
	}
	return *h.NextContactDue
}

func border(h *repository.Household) { h.PostType = domain.PostBorderCoastalDefence }

func (e *env) households(f string) []string {
	e.t.Helper()
	parsed, err := filter.Parse(f, repository.HouseholdFilter)
	must(e.t, err, "filter %q", f)
	var ids []string
	for _, h := range e.allHouseholds(repository.HouseholdQuery{Filter: parsed, Page: repository.Page{Size: 2}}) {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

var ledgerTests = []test{
	{"NewHouseholdIsDueByItsClass", func(t *testing.T, e *env) {
		// Registered 2026-03-02 (China time).
		b := e.newHousehold(border)
		hard := e.newHousehold(func(h *repository.Household) { h.Hardship = true })
		both := e.newHousehold(border, func(h *repository.Household) { h.Hardship = true })
		regular := e.newHousehold()
		for _, c := range []struct {
			h    *repository.Household
			want string
		}{{b, "2026-05-31"}, {hard, "2026-04-01"}, {both, "2026-04-01"}, {regular, ""}} {
			if got := e.due(c.h.ID); got != c.want {
				t.Errorf("household %s: next_contact_due = %q, want %q", c.h.PostType, got, c.want)
			}
			if got := c.h.NextContactDue; (got == nil) != (c.want == "") || (got != nil && *got != c.want) {
				t.Errorf("CreateHousehold left next_contact_due %v on the row, want %q", got, c.want)
			}
		}
	}},
	{"BatchCreatedHouseholdsAreDue", func(t *testing.T, e *env) {
		hs := e.batchOf(3)
		hs[0].PostType, hs[1].Hardship = domain.PostMissionUnit, true
		must(t, e.s.CreateHouseholds(e.ctx, hs), "CreateHouseholds")
		for i, want := range []string{"2026-05-31", "2026-04-01", ""} {
			if got := e.due(hs[i].ID); got != want {
				t.Errorf("batch item %d: next_contact_due = %q, want %q", i, got, want)
			}
			if got := hs[i].NextContactDue; (got == nil) != (want == "") {
				t.Errorf("batch item %d: the row carries %v, want %q", i, got, want)
			}
		}
	}},
	{"ContactMovesDueAndListsNewestFirst", func(t *testing.T, e *env) {
		h := e.newHousehold(border)
		c1 := e.newContact(h, "2026-03-01", domain.ContactPhone)
		c2 := e.newContact(h, "2026-03-05", domain.ContactHomeVisit)
		c3 := e.newContact(h, "2026-03-03", domain.ContactVideo)
		other := e.newContact(e.newHousehold(border), "2026-03-04", domain.ContactPhone)
		if got := e.due(h.ID); got != "2026-06-03" { // the latest, 03-05, plus 90 days
			t.Errorf("next_contact_due = %q, want 2026-06-03", got)
		}
		got, _ := pages(t, 2, func(p repository.Page) ([]repository.Contact, *repository.Cursor, error) {
			return e.s.ListContacts(e.ctx, repository.LedgerQuery{HouseholdID: h.ID, Page: p})
		})
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if want := []string{c2.ID, c3.ID, c1.ID}; !slices.Equal(ids, want) {
			t.Errorf("ListContacts = %v, want %v (newest date first, not another household's %s)", ids, want, other.ID)
		}
		read, err := e.s.GetContact(e.ctx, h.ID, c2.ID)
		must(t, err, "GetContact")
		if read.Channel != domain.ContactHomeVisit || len(read.FollowUps.V) != 1 || read.FollowUps.V[0].Due != "2026-04-01" {
			t.Errorf("GetContact = %+v", read)
		}
		if _, err := e.s.GetContact(e.ctx, other.HouseholdID, c2.ID); err == nil {
			t.Error("a contact was found under another household")
		}
		f, err := filter.Parse(`contact_date <= "2026-03-03"`, repository.ContactFilter)
		must(t, err, "parse")
		rows, _, err := e.s.ListContacts(e.ctx, repository.LedgerQuery{HouseholdID: h.ID, Filter: f})
		must(t, err, "ListContacts filtered")
		if len(rows) != 2 || rows[0].ID != c3.ID || rows[1].ID != c1.ID {
			t.Errorf("contact_date <= 2026-03-03: %d rows", len(rows))
		}
	}},
	{"UpdateContactUnderEtagMovesDue", func(t *testing.T, e *env) {
		h := e.newHousehold(border)
		c := e.newContact(h, "2026-03-01", domain.ContactPhone)
		_, err := e.s.UpdateContact(e.ctx, h.ID, c.ID, "v9", func(context.Context, *repository.Contact) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "stale etag")
		got, err := e.s.UpdateContact(e.ctx, h.ID, c.ID, "v1", func(_ context.Context, row *repository.Contact) error {
			row.ContactDate = "2026-02-01"
			return nil
		})
		must(t, err, "UpdateContact")
		if got.Revision != 2 || got.ContactDate != "2026-02-01" {
			t.Errorf("updated contact = revision %d, date %s", got.Revision, got.ContactDate)
		}
		if d := e.due(h.ID); d != "2026-05-02" {
			t.Errorf("next_contact_due after the date moved back = %q, want 2026-05-02", d)
		}
	}},
	{"ClassAndPolicyChangesMoveDue", func(t *testing.T, e *env) {
		h := e.newHousehold()
		b := e.newHousehold(border)
		if d := e.due(h.ID); d != "" {
			t.Fatalf("a regular household is due %q", d)
		}
		got, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, row *repository.Household) error {
			row.Hardship = true
			return nil
		})
		must(t, err, "UpdateHousehold")
		if got.NextContactDue == nil || *got.NextContactDue != "2026-04-01" || e.due(h.ID) != "2026-04-01" {
			t.Errorf("a household that became a hardship one is due %v / %q, want 2026-04-01", got.NextContactDue, e.due(h.ID))
		}
		p, err := e.s.GetContactPolicy(e.ctx)
		must(t, err, "GetContactPolicy")
		if p.Rules() != domain.DefaultContactPolicy {
			t.Errorf("the migrated policy is %+v, want the default", p.Rules())
		}
		_, err = e.s.UpdateContactPolicy(e.ctx, "v7", func(context.Context, *repository.ContactPolicy) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "stale policy etag")
		p, err = e.s.UpdateContactPolicy(e.ctx, repository.Etag(p.Revision), func(_ context.Context, row *repository.ContactPolicy) error {
			row.HardshipIntervalDays, row.BorderMissionIntervalDays = 7, 0
			return nil
		})
		must(t, err, "UpdateContactPolicy")
		if p.Revision != 2 {
			t.Errorf("policy revision = %d, want 2", p.Revision)
		}
		if d := e.due(h.ID); d != "2026-03-09" {
			t.Errorf("hardship household after the policy change is due %q, want 2026-03-09", d)
		}
		if d := e.due(b.ID); d != "" {
			t.Errorf("border household with the border class off is due %q, want none", d)
		}
	}},
	{"OverdueFilter", func(t *testing.T, e *env) {
		regular := e.newHousehold()                                                 // never due
		b := e.newHousehold(border)                                                 // due 2026-05-31
		hard := e.newHousehold(func(h *repository.Household) { h.Hardship = true }) // due 2026-04-01
		for _, desc := range []bool{false, true} {
			var order []string
			for _, h := range e.allHouseholds(repository.HouseholdQuery{Order: repository.Order{Column: "next_contact_due", Desc: desc},
				Page: repository.Page{Size: 1}}) {
				order = append(order, h.ID)
			}
			want := []string{hard.ID, b.ID, regular.ID}
			if desc {
				want = []string{b.ID, hard.ID, regular.ID}
			}
			if !slices.Equal(order, want) {
				t.Errorf("ordered by next_contact_due (desc %v), a page of one at a time: %v, want %v (none due last)", desc, order, want)
			}
		}
		if got := e.households(`next_contact_due < "2026-05-01"`); !slices.Equal(got, sorted(hard.ID)) {
			t.Errorf("next_contact_due < 2026-05-01 = %v, want only the hardship household", got)
		}
		if got := e.households(`next_contact_due <= "2026-05-31"`); !slices.Equal(got, sorted(hard.ID, b.ID)) {
			t.Errorf("next_contact_due <= 2026-05-31 = %v", got)
		}
		if got := e.households(`contact_overdue = true`); len(got) != 0 {
			t.Errorf("overdue on registration day: %v", got)
		}
		e.clock.Advance(24 * 31 * 3600e9) // 2026-04-02
		if got := e.households(`contact_overdue = true`); !slices.Equal(got, sorted(hard.ID)) {
			t.Errorf("overdue a month on = %v, want the hardship household", got)
		}
		if got := e.households(`contact_overdue = false`); len(got) != 2 || slices.Contains(got, hard.ID) {
			t.Errorf("not overdue = %v", got)
		}
		e.newContact(hard, "2026-04-02", domain.ContactHomeVisit)
		if got := e.households(`contact_overdue = true`); len(got) != 0 {
			t.Errorf("still overdue after a contact: %v", got)
		}
	}},
	{"AssistanceAndSummary", func(t *testing.T, e *env) {
		f := e.newFamily(border)
		for i, fen := range []int64{50000, 120000} {
			a := &repository.Assistance{ID: uuid.NewString(), HouseholdID: f.h.ID, Kind: domain.AssistanceMedical, AmountFen: fen,
				AssistanceDate: []string{"2026-02-01", "2026-03-01"}[i], SourceOfFunds: "Test fund", Approver: "Test approver", RecordedBy: "users/test"}
			e.clock.Advance(e.step)
			must(t, e.s.CreateAssistance(e.ctx, a), "CreateAssistance")
			got, err := e.s.GetAssistance(e.ctx, f.h.ID, a.ID)
			must(t, err, "GetAssistance")
			if got.AmountFen != fen || got.Kind != domain.AssistanceMedical {
				t.Errorf("GetAssistance = %+v", got)
			}
		}
		rows, _, err := e.s.ListAssistance(e.ctx, repository.LedgerQuery{HouseholdID: f.h.ID})
		must(t, err, "ListAssistance")
		if len(rows) != 2 || rows[0].AssistanceDate != "2026-03-01" {
			t.Errorf("ListAssistance = %+v", rows)
		}
		e.newContact(f.h, "2026-03-01", domain.ContactPhone)
		open := e.newCase(f)
		closed := e.setStatus(e.setStatus(e.newCase(f), domain.StatusSubmitted), domain.StatusRejected)
		sum, err := e.s.HouseholdLedger(e.ctx, f.h.ID, 10)
		must(t, err, "HouseholdLedger")
		if sum.Contacts != 1 || sum.Assistance != 2 || sum.TotalFen != 170000 || sum.OpenCases != 1 || sum.ClosedCases != 1 {
			t.Errorf("summary = %+v", sum)
		}
		if len(sum.Cases) != 2 || sum.Cases[0].ID != open.ID || sum.Cases[1].ID != closed.ID {
			t.Errorf("ledger cases are not open first")
		}
	}},
	{"TownScopeAndEvents", func(t *testing.T, e *env) {
		h := e.newHousehold(border) // town A
		c := e.newContact(h, "2026-03-01", domain.ContactPhone)
		townB := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townB}})
		_, err := e.s.GetContact(townB, h.ID, c.ID)
		wantErr(t, err, repository.ErrNotFound, "GetContact from another town")
		err = e.s.CreateContact(townB, &repository.Contact{ID: uuid.NewString(), HouseholdID: h.ID, ContactDate: "2026-03-01",
			Channel: domain.ContactPhone, RecordedBy: "users/x"})
		wantErr(t, err, repository.ErrNotFound, "CreateContact in another town")
		err = e.s.CreateAssistance(townB, &repository.Assistance{ID: uuid.NewString(), HouseholdID: h.ID, Kind: domain.AssistanceOther,
			AmountFen: 1, AssistanceDate: "2026-03-01", SourceOfFunds: "x", Approver: "x", RecordedBy: "users/x"})
		wantErr(t, err, repository.ErrNotFound, "CreateAssistance in another town")
		_, _, err = e.s.ListContacts(townB, repository.LedgerQuery{HouseholdID: h.ID})
		wantErr(t, err, repository.ErrNotFound, "ListContacts in another town")
		_, err = e.s.HouseholdLedger(townB, h.ID, 10)
		wantErr(t, err, repository.ErrNotFound, "HouseholdLedger in another town")
		events := e.allEvents(repository.EventQuery{ResourceTypes: []string{"contacts"}})
		if len(events) != 1 || events[0].Resource != "households/"+h.ID+"/contacts/"+c.ID {
			t.Errorf("contact events = %+v", events)
		}
		p, err := e.s.GetContactPolicy(e.ctx)
		must(t, err, "GetContactPolicy")
		_, err = e.s.UpdateContactPolicy(e.ctx, repository.Etag(p.Revision), func(_ context.Context, row *repository.ContactPolicy) error {
			row.HardshipIntervalDays = 14
			return nil
		})
		must(t, err, "UpdateContactPolicy")
		events = e.allEvents(repository.EventQuery{ResourceTypes: []string{"contactPolicy"}})
		if len(events) != 1 || !slices.Equal([]string(events[0].ChangedFields), []string{"hardship_interval_days"}) {
			t.Errorf("policy events = %+v", events)
		}
	}},
	{"PolicyChangeRecomputesEveryClass", func(t *testing.T, e *env) {
		// Every class, with and without contacts, one of them deleted, and
		// one registered near midnight China time, so that the day of
		// registration is China's, not UTC's.
		var hs []*repository.Household
		for _, post := range []domain.PostType{domain.PostBorderCoastalDefence, domain.PostMissionUnit, domain.PostHardshipArea, domain.PostRegular} {
			for _, hardship := range []bool{false, true} {
				for _, contacted := range []bool{false, true} {
					h := e.newHousehold(func(h *repository.Household) { h.PostType, h.Hardship = post, hardship })
					if contacted {
						e.newContact(h, "2026-02-11", domain.ContactPhone)
						e.newContact(h, "2026-01-05", domain.ContactHomeVisit)
					}
					hs = append(hs, h)
				}
			}
		}
		e.clock.Advance(15*time.Hour + 30*time.Minute) // 01:30 the next day in China, 17:30 UTC
		late := e.newHousehold(border)
		hs = append(hs, late)
		gone := e.newHousehold(func(h *repository.Household) { h.Hardship = true })
		_, err := e.s.DeleteHousehold(e.ctx, gone.ID, "")
		must(t, err, "DeleteHousehold")

		check := func(rules domain.ContactPolicy) {
			t.Helper()
			for _, h := range append(hs, gone) {
				var row struct {
					PostType       domain.PostType
					Hardship       bool
					CreateTime     time.Time
					NextContactDue *string
				}
				must(t, e.db.Raw("SELECT post_type, hardship, create_time, next_contact_due FROM households WHERE id = ?", h.ID).Scan(&row).Error, "raw")
				var lastContact string
				must(t, e.db.Raw("SELECT COALESCE(MAX(contact_date), '') FROM contacts WHERE household_id = ?", h.ID).Scan(&lastContact).Error, "raw")
				want := rules.NextContactDue(row.PostType, row.Hardship, lastContact, row.CreateTime)
				got := ""
				if row.NextContactDue != nil {
					got = *row.NextContactDue
				}
				if got != want {
					t.Errorf("policy %+v: household %s/%v (last contact %q, registered %v) is due %q, want %q",
						rules, row.PostType, row.Hardship, lastContact, row.CreateTime, got, want)
				}
			}
		}
		check(domain.DefaultContactPolicy)
		for _, rules := range []domain.ContactPolicy{{BorderMissionDays: 60, HardshipDays: 14}, {BorderMissionDays: 0, HardshipDays: 45},
			{BorderMissionDays: 20, HardshipDays: 0}, {BorderMissionDays: 0, HardshipDays: 0}, domain.DefaultContactPolicy} {
			p, err := e.s.GetContactPolicy(e.ctx)
			must(t, err, "GetContactPolicy")
			_, err = e.s.UpdateContactPolicy(e.ctx, repository.Etag(p.Revision), func(_ context.Context, row *repository.ContactPolicy) error {
				row.BorderMissionIntervalDays, row.HardshipIntervalDays = rules.BorderMissionDays, rules.HardshipDays
				return nil
			})
			must(t, err, "UpdateContactPolicy %+v", rules)
			check(rules)
		}
		if d := e.due(late.ID); d != "2026-06-01" {
			t.Errorf("a border household registered at 01:30 on 3 March in China is due %q, want 2026-06-01", d)
		}
		// A filter that requires a due date pages by (due, id) alone: one at
		// a time, the order is the due dates', then the ids'.
		f, err := filter.Parse(`next_contact_due < "2027-01-01"`, repository.HouseholdFilter)
		must(t, err, "filter")
		var got, want []string
		type due struct{ date, id string }
		var dues []due
		for _, h := range hs {
			if d := e.due(h.ID); d != "" {
				dues = append(dues, due{d, h.ID})
			}
		}
		slices.SortFunc(dues, func(a, b due) int { return strings.Compare(a.date+a.id, b.date+b.id) })
		for _, d := range dues {
			want = append(want, d.id)
		}
		for _, h := range e.allHouseholds(repository.HouseholdQuery{Filter: f, Order: repository.Order{Column: "next_contact_due"},
			Page: repository.Page{Size: 1}}) {
			got = append(got, h.ID)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("households with a due date, by due date, one a page: %v, want %v", got, want)
		}
	}},
}
