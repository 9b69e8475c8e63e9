package storetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// The StatusChanges category: a change of a household's servicemember
// status is recorded in the household's own transaction together with the
// re-evaluation of its open cases (the handler's work, made of these
// calls); either all of it commits or none.

// statusChange is a change of the family's household to status, effective
// the day before the clock's.
func (e *env) statusChange(h *repository.Household, to domain.ServiceStatus) *repository.StatusChange {
	return &repository.StatusChange{ID: uuid.NewString(), HouseholdID: h.ID, Kind: domain.ChangeDeath,
		EffectiveDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), FromStatus: h.ServicememberStatus, ToStatus: to,
		FromPostType: h.PostType, ToPostType: h.PostType, FromDisabilityGrade: 2, ToDisabilityGrade: 2,
		Note: "Test order 12", Recorder: "users/test-recorder"}
}

// changeStatus does what ChangeServicememberStatus does to storage, in the
// household's transaction: the household's new status, the change, and the
// open cases' new priority with a history entry each. fail, when set, is
// returned at the end, after everything was written.
func (e *env) changeStatus(h *repository.Household, c *repository.StatusChange, fail error) (*repository.Household, []string, error) {
	e.t.Helper()
	var reprioritised []string
	e.clock.Advance(e.step)
	got, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(ctx context.Context, row *repository.Household) error {
		row.ServicememberStatus = c.ToStatus
		if err := e.s.CreateStatusChange(ctx, c); err != nil {
			return err
		}
		open, err := e.s.OpenCases(ctx, h.ID)
		if err != nil {
			return err
		}
		for _, oc := range open {
			_, err := e.s.MutateCase(ctx, oc.ID, "", func(_ context.Context, cr *repository.Case) (*repository.HistoryEntry, error) {
				cr.Priority, cr.PriorityReasons = domain.PriorityFirst, repository.List[domain.Reason]{domain.ReasonMartyrFamily}
				return &repository.HistoryEntry{Actor: "users/test", Method: "ChangeServicememberStatus", FromStatus: cr.Status,
					ToStatus: cr.Status, ChangedFields: repository.List[string]{"priority", "priority_reasons"},
					Reason: "priority NORMAL → FIRST; rule " + string(domain.RuleStatusChangeReprio)}, nil
			})
			if err != nil {
				return err
			}
			reprioritised = append(reprioritised, oc.ID)
		}
		return fail
	})
	return got, reprioritised, err
}

var statusChangeTests = []test{
	{"RecordedWithTheHouseholdAndItsOpenCases", func(t *testing.T, e *env) {
		e.ctx = audit.NewContext(e.ctx, &audit.Record{Principal: "users/test-recorder", Method: "/casework.v1.HouseholdService/ChangeServicememberStatus"})
		f := e.newFamily(func(h *repository.Household) { h.ServicememberStatus = domain.ServiceActiveNCO })
		draft, submitted := e.newCase(f), e.newCase(f)
		submitted = e.setStatus(submitted, domain.StatusSubmitted)
		closed := e.setStatus(e.setStatus(e.newCase(f), domain.StatusResolved), domain.StatusClosed)
		other := e.newFamily() // its cases are not this household's
		otherCase := e.newCase(other)
		eventsBefore := len(e.allEvents(repository.EventQuery{}))

		c := e.statusChange(f.h, domain.ServiceMartyr)
		h, reprioritised, err := e.changeStatus(f.h, c, nil)
		must(t, err, "change of status")
		if h.ServicememberStatus != domain.ServiceMartyr || h.Revision != f.h.Revision+1 {
			t.Fatalf("household after the change: status %q revision %d", h.ServicememberStatus, h.Revision)
		}
		if want := []string{draft.ID, submitted.ID}; !slices.Equal(reprioritised, want) {
			t.Fatalf("OpenCases gave %v, want the draft and the submitted case %v (not the closed one)", reprioritised, want)
		}
		for _, id := range []string{draft.ID, submitted.ID} {
			got, err := e.s.GetCase(e.ctx, id)
			must(t, err, "GetCase")
			if got.Priority != domain.PriorityFirst || !slices.Equal(got.PriorityReasons, repository.List[domain.Reason]{domain.ReasonMartyrFamily}) {
				t.Errorf("case %s: priority %d %v after the change", id, got.Priority, got.PriorityReasons)
			}
			hist := e.history(id)
			last := hist[len(hist)-1]
			if last.Method != "ChangeServicememberStatus" || !slices.Equal(last.ChangedFields, repository.List[string]{"priority", "priority_reasons"}) ||
				last.Reason == "" {
				t.Errorf("case %s: last history entry %+v", id, last)
			}
		}
		for _, unchanged := range []*repository.Case{closed, otherCase} {
			got, err := e.s.GetCase(e.ctx, unchanged.ID)
			must(t, err, "GetCase")
			if got.Priority != unchanged.Priority || got.Revision != unchanged.Revision {
				t.Errorf("case %s changed: priority %d revision %d", unchanged.ID, got.Priority, got.Revision)
			}
		}
		changes, _, err := e.s.ListStatusChanges(e.ctx, f.h.ID, repository.Page{})
		must(t, err, "ListStatusChanges")
		want := *c
		want.RecordTime = e.nowStored()
		if len(changes) != 1 {
			t.Fatalf("%d status changes, want 1", len(changes))
		}
		sameRow(t, &changes[0], &want, "the status change")
		checkStamped(t, c.RecordTime, "record time")
		if !changes[0].EffectiveDate.Equal(c.EffectiveDate) {
			t.Errorf("effective date %v, want %v", changes[0].EffectiveDate, c.EffectiveDate)
		}
		// The change is audited; the feed carries the household's and the
		// cases' events, and none for the change, which is no resource
		// type of the feed.
		resource := names.StatusChange{HouseholdID: f.h.ID, ID: c.ID}.String()
		found := false
		for _, r := range e.auditLog() {
			found = found || r.Resource == resource
		}
		if !found {
			t.Errorf("no audit entry for %s", resource)
		}
		var got []string
		for _, ev := range e.allEvents(repository.EventQuery{})[eventsBefore:] {
			got = append(got, ev.Resource+" "+ev.Type)
		}
		slices.Sort(got)
		wantEvents := []string{"cases/" + draft.ID + " ChangeServicememberStatus", "cases/" + submitted.ID + " ChangeServicememberStatus",
			"households/" + f.h.ID + " ChangeServicememberStatus"}
		slices.Sort(wantEvents)
		if !slices.Equal(got, wantEvents) {
			t.Errorf("events %v, want %v", got, wantEvents)
		}
		e.verified()
	}},
	{"RolledBackAsAWhole", func(t *testing.T, e *env) {
		f := e.newFamily(func(h *repository.Household) { h.ServicememberStatus = domain.ServiceActiveNCO })
		cs := e.newCase(f)
		auditBefore, eventsBefore := len(e.auditLog()), len(e.allEvents(repository.EventQuery{}))
		refused := errors.New("refused at the end")
		_, reprioritised, err := e.changeStatus(f.h, e.statusChange(f.h, domain.ServiceMartyr), refused)
		if !errors.Is(err, refused) || len(reprioritised) != 1 {
			t.Fatalf("change = %v (%d cases), want the callback's error after one case", err, len(reprioritised))
		}
		h, err := e.s.GetHousehold(e.ctx, f.h.ID, false)
		must(t, err, "GetHousehold")
		if h.ServicememberStatus != domain.ServiceActiveNCO || h.Revision != f.h.Revision {
			t.Errorf("household kept a refused change: %q revision %d", h.ServicememberStatus, h.Revision)
		}
		got, err := e.s.GetCase(e.ctx, cs.ID)
		must(t, err, "GetCase")
		if got.Priority != cs.Priority || got.Revision != cs.Revision || len(e.history(cs.ID)) != 1 {
			t.Errorf("the case kept a refused change: priority %d revision %d, %d history entries", got.Priority, got.Revision, len(e.history(cs.ID)))
		}
		if changes, _, err := e.s.ListStatusChanges(e.ctx, f.h.ID, repository.Page{}); err != nil || len(changes) != 0 {
			t.Errorf("status changes after a refused change: %d, %v", len(changes), err)
		}
		if len(e.auditLog()) != auditBefore || len(e.allEvents(repository.EventQuery{})) != eventsBefore {
			t.Error("a refused change left audit entries or events")
		}
	}},
	{"ListedOldestFirstInPages", func(t *testing.T, e *env) {
		h := e.newHousehold()
		other := e.newHousehold()
		var want []string
		for i := range 5 {
			e.clock.Advance(time.Minute)
			c := e.statusChange(h, domain.ServiceVeteran)
			c.Note = "Test change " + string(rune('A'+i))
			must(t, e.s.CreateStatusChange(e.ctx, c), "CreateStatusChange")
			want = append(want, c.ID)
			must(t, e.s.CreateStatusChange(e.ctx, e.statusChange(other, domain.ServiceVeteran)), "CreateStatusChange")
		}
		rows, n := pages(t, 2, func(p repository.Page) ([]repository.StatusChange, *repository.Cursor, error) {
			return e.s.ListStatusChanges(e.ctx, h.ID, p)
		})
		var got []string
		for _, r := range rows {
			got = append(got, r.ID)
		}
		sameIDs(t, got, want, "status changes in pages of 2")
		if n != 3 {
			t.Errorf("%d pages, want 3", n)
		}
		// A household beyond the caller's towns, or deleted, has none to list.
		scoped := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townB}})
		if _, _, err := e.s.ListStatusChanges(scoped, h.ID, repository.Page{}); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("out of scope: %v, want ErrNotFound", err)
		}
		wantErr(t, e.s.CreateStatusChange(scoped, e.statusChange(h, domain.ServiceVeteran)), repository.ErrNotFound, "CreateStatusChange out of scope")
		if open, err := e.s.OpenCases(scoped, h.ID); err != nil || len(open) != 0 {
			t.Errorf("OpenCases out of scope: %d, %v", len(open), err)
		}
		_, err := e.s.DeleteHousehold(e.ctx, h.ID, "")
		must(t, err, "DeleteHousehold")
		if _, _, err := e.s.ListStatusChanges(e.ctx, h.ID, repository.Page{}); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("deleted household: %v, want ErrNotFound", err)
		}
	}},
	{"FilterByStatus", func(t *testing.T, e *env) {
		veteran := e.newHousehold(func(h *repository.Household) {
			h.ServicememberStatus, h.Category = domain.ServiceVeteran, domain.CategoryVeteran
		})
		martyr := e.newHousehold(func(h *repository.Household) {
			h.ServicememberStatus, h.Category = domain.ServiceMartyr, domain.CategoryMartyrFamily
		})
		e.newHousehold(func(h *repository.Household) { h.ServicememberStatus = domain.ServiceActiveNCO })
		for filter, want := range map[string][]string{
			"status = VETERAN":                      {veteran.ID},
			"status = SERVICEMEMBER_STATUS_MARTYR":  {martyr.ID},
			"status = DIED_ON_DUTY":                 nil,
			"status = VETERAN AND hardship = false": {veteran.ID},
		} {
			got := householdIDs(e.allHouseholds(repository.HouseholdQuery{Filter: parse(t, filter, repository.HouseholdFilter)}))
			sameIDs(t, got, want, filter)
		}
	}},
	{"MigrationMapsLegacyRows", testMigrationMapping},
}

// legacyVersion is the schema version before households had statuses.
const legacyVersion = 7

// testMigrationMapping takes the database back to the schema before
// statuses, writes households as that version stored them, migrates again
// and checks each row's status against domain.StatusFromCategory: the SQL
// of the migration and the rule in Go must agree, and nothing is lost.
func testMigrationMapping(t *testing.T, e *env) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	must(t, repository.MigrateTo(e.ctx, e.db, e.s.Dialect(), legacyVersion, log), "migrate down to %d", legacyVersion)
	type legacy struct {
		id       string
		category domain.Category
		rank     domain.Rank
	}
	var rows []legacy
	now := e.nowStored()
	for _, cr := range []struct {
		c domain.Category
		r domain.Rank
	}{
		{domain.CategoryActiveDutyFamily, domain.RankOfficer}, {domain.CategoryActiveDutyFamily, domain.RankNCO},
		{domain.CategoryActiveDutyFamily, domain.RankConscript}, {domain.CategoryActiveDutyFamily, domain.RankCivilian},
		{domain.CategoryActiveDutyFamily, ""}, {domain.CategoryMeritorious, domain.RankNCO}, {domain.CategoryMeritorious, ""},
		{domain.CategoryVeteran, ""}, {domain.CategoryVeteran, domain.RankOfficer}, {domain.CategoryMartyrFamily, domain.RankNCO},
		{domain.CategoryOtherEntitled, domain.RankOfficer}, {domain.CategoryOtherEntitled, ""},
	} {
		r := legacy{id: uuid.NewString(), category: cr.c, rank: cr.r}
		must(t, e.db.Exec(`INSERT INTO households (id, servicemember_name, servicemember_id_number, service_branch, rank_category,
			post_type, unit, category, town_code, address, phone, hardship, hardship_note, revision, create_time, update_time)
			VALUES (?, 'Test legacy', ?, 'ARMY', ?, 'BORDER_COASTAL_DEFENCE', 'Test unit', ?, ?, 'Test address', '', TRUE, 'Test note', 3, ?, ?)`,
			r.id, e.idNumber(), string(r.rank), string(r.category), townA, now, now).Error, "insert a legacy household")
		rows = append(rows, r)
	}
	member := uuid.NewString()
	must(t, e.db.Exec(`INSERT INTO members (id, household_id, relation, display_name, id_number, birth_date, phone, accompanying,
		revision, create_time, update_time) VALUES (?, ?, 'SPOUSE', 'Test legacy', '', ?, '', TRUE, 1, ?, ?)`,
		member, rows[0].id, time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), now, now).Error, "insert a legacy member")

	must(t, repository.Migrate(e.ctx, e.db, e.s.Dialect(), log), "migrate up again")
	var needCaseworker []string
	for _, r := range rows {
		h, err := e.s.GetHousehold(e.ctx, r.id, false)
		must(t, err, "GetHousehold")
		status, decorated, ok := domain.StatusFromCategory(r.category, r.rank)
		if !ok {
			needCaseworker = append(needCaseworker, string(r.category)+"/"+string(r.rank))
		}
		if h.ServicememberStatus != status || h.Decorated != (r.category == domain.CategoryMeritorious) || (ok && decorated != h.Decorated) {
			t.Errorf("%s/%s migrated to status %q decorated %v, want %q %v", r.category, r.rank, h.ServicememberStatus, h.Decorated,
				status, r.category == domain.CategoryMeritorious)
		}
		// Nothing is lost: the category and every other column stay.
		if h.Category != r.category || h.RankCategory != r.rank || h.PostType != domain.PostBorderCoastalDefence || !h.Hardship ||
			h.HardshipNote != "Test note" || h.Revision != 3 || h.DisabilityGrade != 0 || h.PreferentialCertificateNumber != "" {
			t.Errorf("%s/%s: columns changed in migration: %+v", r.category, r.rank, h)
		}
		// A mapped row's category is what its status derives.
		if ok && h.Facts().Category() != r.category {
			t.Errorf("%s/%s: status %q derives category %s", r.category, r.rank, h.ServicememberStatus, h.Facts().Category())
		}
	}
	want := []string{"ACTIVE_DUTY_FAMILY/CIVILIAN", "ACTIVE_DUTY_FAMILY/", "MERITORIOUS/", "OTHER_ENTITLED/OFFICER", "OTHER_ENTITLED/"}
	if !slices.Equal(needCaseworker, want) {
		t.Errorf("rows left without a status %v, want %v (docs/migrations.md lists them)", needCaseworker, want)
	}
	m, err := e.s.GetMember(e.ctx, rows[0].id, member)
	must(t, err, "GetMember")
	if m.CannotLiveIndependently || m.IDNumberConverted || !m.Accompanying {
		t.Errorf("legacy member after migration: %+v", m)
	}
	// The migrated rows take writes of the new columns.
	_, err = e.s.UpdateHousehold(e.ctx, rows[0].id, "", func(_ context.Context, h *repository.Household) error {
		h.DisabilityGrade, h.PreferentialCertificateNumber = 3, e.certificate()
		return nil
	})
	must(t, err, "UpdateHousehold of a migrated row")
}
