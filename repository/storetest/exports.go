package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/repository"
)

// The Exports category: the reads of the spreadsheet exports, which walk
// a ledger in keyset pages of its own order and fetch each page's related
// rows at once, within the caller's towns.

func named(name, town string) func(*repository.Household) {
	return func(h *repository.Household) { h.ServicememberName, h.TownCode = name, town }
}

// walk reads every page of the export's households, limit at a time.
func (e *env) walk(ctx context.Context, f filter.Filter, limit int) []string {
	e.t.Helper()
	var names []string
	var after *repository.HouseholdKey
	for {
		page, err := e.s.ExportHouseholds(ctx, f, after, limit)
		must(e.t, err, "ExportHouseholds")
		for _, h := range page {
			names = append(names, h.ServicememberName)
			if h.ServicememberIDNumber == "" {
				e.t.Errorf("%s: the ID number is not opened", h.ServicememberName)
			}
		}
		if len(page) < limit {
			return names
		}
		last := page[len(page)-1]
		after = &repository.HouseholdKey{Town: last.TownCode, Name: last.ServicememberName, ID: last.ID}
	}
}

var exportTests = []test{
	{"HouseholdsByTownThenNameInPages", func(t *testing.T, e *env) {
		e.newHousehold(named("Test C", townB))
		e.newHousehold(named("Test B", townA))
		e.newHousehold(named("Test A", townB))
		e.newHousehold(named("Test A", townA))
		gone := e.newHousehold(named("Test 0", townA))
		_, err := e.s.DeleteHousehold(e.ctx, gone.ID, repository.Etag(gone.Revision))
		must(t, err, "DeleteHousehold")
		want := []string{"Test A", "Test B", "Test A", "Test C"}
		for _, limit := range []int{1, 2, 3, 10} {
			if got := e.walk(e.ctx, filter.Filter{}, limit); !slices.Equal(got, want) {
				t.Errorf("pages of %d: %v, want %v (town A first, by name, deleted left out)", limit, got, want)
			}
		}
		f, err := filter.Parse(`town_code = "`+townB+`"`, repository.HouseholdFilter)
		must(t, err, "filter")
		if got := e.walk(e.ctx, f, 1); !slices.Equal(got, []string{"Test A", "Test C"}) {
			t.Errorf("filtered to town B: %v", got)
		}
		if n, err := e.s.CountExportHouseholds(e.ctx, f); err != nil || n != 2 {
			t.Errorf("count of town B = %d, %v", n, err)
		}
		townOnly := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
		if got := e.walk(townOnly, filter.Filter{}, 2); !slices.Equal(got, []string{"Test A", "Test B"}) {
			t.Errorf("town A's caller walks %v", got)
		}
		if n, err := e.s.CountExportHouseholds(townOnly, filter.Filter{}); err != nil || n != 2 {
			t.Errorf("town A's count = %d, %v", n, err)
		}
	}},
	{"RelatedRowsOfAPage", func(t *testing.T, e *env) {
		a := e.newFamily()
		b := e.newFamily(func(h *repository.Household) { h.TownCode = townB })
		e.newContact(a.h, "2026-02-01", domain.ContactPhone)
		e.newContact(a.h, "2026-01-01", domain.ContactHomeVisit)
		must(t, e.s.CreateAssistance(e.ctx, &repository.Assistance{ID: uuid.NewString(), HouseholdID: b.h.ID,
			Kind: domain.AssistanceLiving, AmountFen: 12345, AssistanceDate: "2026-01-10", RecordedBy: "users/test"}), "CreateAssistance")
		e.newCase(a)
		e.newCase(a, withStatus(domain.StatusClosed))
		e.newCase(b)
		page, err := e.s.ExportHouseholds(e.ctx, filter.Filter{}, nil, 10)
		must(t, err, "ExportHouseholds")
		rows, err := e.s.ExportHouseholdRows(e.ctx, page)
		must(t, err, "ExportHouseholdRows")
		if len(rows.Members) != 2 || rows.Members[0].IDNumber == "" {
			t.Errorf("members %+v (want both, ID numbers opened)", rows.Members)
		}
		if len(rows.Contacts) != 2 || rows.Contacts[0].ContactDate != "2026-01-01" {
			t.Errorf("contacts %+v, want both by date", rows.Contacts)
		}
		if len(rows.Assistance) != 1 || rows.Assistance[0].AmountFen != 12345 {
			t.Errorf("assistance %+v", rows.Assistance)
		}
		if rows.OpenCases[a.h.ID] != 1 || rows.OpenCases[b.h.ID] != 1 {
			t.Errorf("open cases %v, want one each (a closed case is not open)", rows.OpenCases)
		}
		// Town A's caller: B's cases are not theirs to count.
		townOnly := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
		rows, err = e.s.ExportHouseholdRows(townOnly, page)
		must(t, err, "ExportHouseholdRows in town A")
		if _, ok := rows.OpenCases[b.h.ID]; ok {
			t.Errorf("town A's caller counted town B's cases: %v", rows.OpenCases)
		}
		labels, err := e.s.HouseholdLabels(townOnly, []string{a.h.ID, b.h.ID})
		must(t, err, "HouseholdLabels")
		if len(labels) != 1 || labels[a.h.ID].ServicememberName != a.h.ServicememberName {
			t.Errorf("town A's labels %v", labels)
		}
	}},
}
