package storetest

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/repository"
)

var kinds = []domain.Kind{domain.KindEmploymentPlacement, domain.KindSchoolEnrollment, domain.KindElderMedicalHelp, domain.KindLegalAid}

// caseMix is a set of cases that every ListCases filter splits into a
// non-empty part that matches and a non-empty part that does not.
type caseMix struct {
	all []*repository.Case
	// query is the instant the overdue filter is evaluated at; due times
	// are placed around it.
	query  time.Time
	fA, fB family // towns A and B
	fC     family // a second household in town A
}

func (e *env) newCaseMix() caseMix {
	e.t.Helper()
	m := caseMix{query: e.nowStored().Add(24 * time.Hour)}
	m.fA = e.newFamily()
	m.fB = e.newFamily(func(h *repository.Household) { h.TownCode = townB })
	m.fC = e.newFamily()
	q := m.query
	dues := []*time.Time{nil, ptr(q.Add(-48 * time.Hour)), ptr(q.Add(-time.Hour)), ptr(q), ptr(q.Add(time.Hour)), ptr(q.Add(48 * time.Hour))}
	years := []*int{nil, ptr(2024), ptr(2025), ptr(2026)}
	r := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same mix on every backend and run
	add := func(f family, mods ...func(*repository.Case)) {
		m.all = append(m.all, e.newCase(f, mods...))
	}
	for range 40 {
		f := []family{m.fA, m.fB, m.fC}[r.IntN(3)]
		st, kind := domain.Statuses()[r.IntN(len(domain.Statuses()))], kinds[r.IntN(len(kinds))]
		assignee, prio := []string{"", "users/a", "users/b"}[r.IntN(3)], domain.Priority(1+r.IntN(3))
		year, due := years[r.IntN(len(years))], dues[r.IntN(len(dues))]
		add(f, withStatus(st), withDue(due), func(c *repository.Case) {
			c.Kind, c.Assignee, c.Priority = kind, assignee, prio
		}, placedIn(year))
	}
	// The edges of overdue: past due only while the county owes an answer,
	// and due exactly now is not yet overdue.
	for _, st := range domain.Statuses() {
		add(m.fA, withStatus(st), withDue(ptr(q.Add(-time.Microsecond))))
		add(m.fA, withStatus(st), withDue(&q))
		add(m.fB, withStatus(st), withDue(nil))
	}
	// One case matches the combined filter; each near miss fails one part.
	combined := func(c *repository.Case) {
		c.Status, c.Priority = domain.StatusSubmitted, domain.PriorityFirst
		placedIn(ptr(2025))(c)
	}
	add(m.fB, combined)
	add(m.fA, combined)
	add(m.fB, combined, withStatus(domain.StatusAccepted))
	add(m.fB, combined, func(c *repository.Case) { c.Priority = domain.PrioritySecond })
	add(m.fB, combined, placedIn(ptr(2024)))
	add(m.fB, combined, func(c *repository.Case) { c.Details = `{}` })
	return m
}

func overdueAt(now time.Time) func(*repository.Case) bool {
	return func(c *repository.Case) bool {
		return c.DueTime != nil && c.DueTime.Before(now)
	}
}

func yearIs(cmp func(int) bool) func(*repository.Case) bool {
	return func(c *repository.Case) bool { return c.PlacementYear != nil && cmp(*c.PlacementYear) }
}

var caseFilterTests = []test{
	{"EachField", func(t *testing.T, e *env) {
		m := e.newCaseMix()
		type filterCase struct {
			filter string
			want   func(c *repository.Case) bool
		}
		cases := []filterCase{
			{"status = SUBMITTED", func(c *repository.Case) bool { return c.Status == "SUBMITTED" }},
			{"status = CASE_STATUS_IN_PROGRESS", func(c *repository.Case) bool { return c.Status == "IN_PROGRESS" }},
			{"case_type = LEGAL_AID", func(c *repository.Case) bool { return c.Kind == "LEGAL_AID" }},
			{"case_type = CASE_TYPE_SCHOOL_ENROLLMENT", func(c *repository.Case) bool { return c.Kind == "SCHOOL_ENROLLMENT" }},
			{`town_code = "` + townB + `"`, func(c *repository.Case) bool { return c.TownCode == townB }},
			{`assignee = "users/a"`, func(c *repository.Case) bool { return c.Assignee == "users/a" }},
			{`assignee = ""`, func(c *repository.Case) bool { return c.Assignee == "" }},
			{"priority = FIRST", func(c *repository.Case) bool { return c.Priority == 1 }},
			{"priority = CASE_PRIORITY_SECOND", func(c *repository.Case) bool { return c.Priority == 2 }},
			{"priority = NORMAL", func(c *repository.Case) bool { return c.Priority == 3 }},
			{"household = households/" + m.fC.h.ID, func(c *repository.Case) bool { return c.HouseholdID == m.fC.h.ID }},
			{"overdue = true", overdueAt(m.query)},
			{"overdue = false", func(c *repository.Case) bool { return !overdueAt(m.query)(c) }},
			{"placement_year = 2025", yearIs(func(y int) bool { return y == 2025 })},
			{"placement_year != 2025", yearIs(func(y int) bool { return y != 2025 })},
			{"placement_year < 2025", yearIs(func(y int) bool { return y < 2025 })},
			{"placement_year <= 2025", yearIs(func(y int) bool { return y <= 2025 })},
			{"placement_year > 2025", yearIs(func(y int) bool { return y > 2025 })},
			{"placement_year >= 2025", yearIs(func(y int) bool { return y >= 2025 })},
			{"placement_year >= 2025 AND placement_year < 2026", yearIs(func(y int) bool { return y == 2025 })},
			{`status = SUBMITTED AND town_code = "` + townB + `" AND priority = FIRST AND placement_year >= 2025`, func(c *repository.Case) bool {
				return c.Status == "SUBMITTED" && c.TownCode == townB && c.Priority == 1 && c.PlacementYear != nil && *c.PlacementYear >= 2025
			}},
			{"overdue = true AND case_type = LEGAL_AID", func(c *repository.Case) bool { return overdueAt(m.query)(c) && c.Kind == "LEGAL_AID" }},
		}
		e.clock.Set(m.query)
		check := func(tc filterCase) {
			t.Helper()
			var want []repository.Case
			for _, c := range m.all {
				if tc.want(c) {
					want = append(want, *c)
				}
			}
			if len(want) == 0 || len(want) == len(m.all) {
				t.Fatalf("fixture bug: filter %q selects %d of %d cases", tc.filter, len(want), len(m.all))
			}
			q := repository.CaseQuery{Filter: parse(t, tc.filter, repository.CaseFilter), Page: repository.Page{Size: 7}}
			got := e.allCases(q)
			sameIDs(t, caseIDs(got), caseIDs(sortedCases(want, repository.Order{})), "ListCases "+tc.filter)
		}
		for _, tc := range cases {
			check(tc)
		}
		// Overdue is judged by the store's clock at query time: an hour on,
		// the cases due at the old query time are overdue too.
		later := m.query.Add(time.Hour + time.Second)
		e.clock.Set(later)
		check(filterCase{"overdue = true", overdueAt(later)})
		check(filterCase{"overdue = false", func(c *repository.Case) bool { return !overdueAt(later)(c) }})
	}},
}

var orderingTests = []test{
	{"CreateTime", func(t *testing.T, e *env) {
		f := e.newFamily()
		var all []repository.Case
		for i := range 12 {
			// Groups of three share a creation time, so id breaks the tie.
			if i%3 == 0 {
				e.clock.Advance(time.Second)
			}
			e.step = 0
			all = append(all, *e.newCase(f))
		}
		for _, o := range []repository.Order{{}, {Column: "create_time"}, {Column: "create_time", Desc: true}} {
			want := caseIDs(sortedCases(all, o))
			for _, size := range []int{100, 2, 1} {
				got := e.allCases(repository.CaseQuery{Order: o, Page: repository.Page{Size: size}})
				sameIDs(t, caseIDs(got), want, orderName(o, size))
			}
		}
	}},
	{"DueTimeNullsLast", func(t *testing.T, e *env) {
		all := values(e.newDueMix())
		for _, desc := range []bool{false, true} {
			o := repository.Order{Column: "due_time", Desc: desc}
			want := sortedCases(all, o)
			if want[len(want)-1].DueTime != nil || want[0].DueTime == nil {
				t.Fatalf("fixture bug: expected order does not end with NULL due times")
			}
			for _, size := range []int{100, 3, 1} {
				got := e.allCases(repository.CaseQuery{Order: o, Page: repository.Page{Size: size}})
				sameIDs(t, caseIDs(got), caseIDs(want), orderName(o, size))
			}
		}
	}},
	{"CallerTimesInAnyZone", func(t *testing.T, e *env) {
		// Due times the caller supplies are instants: the zone they come in
		// must not change how they sort or compare with the clock, and they
		// are kept, like the store's own times, in UTC to the microsecond.
		f := e.newFamily()
		base := e.nowStored().Add(24 * time.Hour)
		var all []repository.Case
		for i, off := range []time.Duration{3, -2, 1, 0, -1, 2} {
			due := base.Add(off*time.Hour + 789*time.Nanosecond)
			if i%2 == 0 {
				due = due.In(domain.ChinaTime)
			}
			all = append(all, *e.newCase(f, withStatus(domain.StatusSubmitted), withDue(&due)))
		}
		for _, desc := range []bool{false, true} {
			o := repository.Order{Column: "due_time", Desc: desc}
			got := e.allCases(repository.CaseQuery{Order: o, Page: repository.Page{Size: 2}})
			sameIDs(t, caseIDs(got), caseIDs(sortedCases(all, o)), orderName(o, 2))
		}
		e.clock.Set(base.Add(30 * time.Minute))
		var want []repository.Case
		for _, c := range all {
			if overdueAt(e.clock.Now())(&c) {
				want = append(want, c)
			}
		}
		got := e.allCases(repository.CaseQuery{Filter: parse(t, "overdue = true", repository.CaseFilter)})
		sameIDs(t, caseIDs(got), caseIDs(sortedCases(want, repository.Order{})), "overdue = true")
		for _, c := range all {
			read, err := e.s.GetCase(e.ctx, c.ID)
			must(t, err, "GetCase")
			if !c.DueTime.Equal(stored(*c.DueTime)) || !read.DueTime.Equal(*c.DueTime) {
				t.Fatalf("due time stored as %v, read back as %v; want both %v", c.DueTime, read.DueTime, stored(*c.DueTime))
			}
			checkStamped(t, *c.DueTime, "DueTime")
		}
		resolved := time.Date(2026, 3, 5, 8, 0, 0, 999, domain.ChinaTime)
		got2, err := e.s.MutateCase(e.ctx, all[0].ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.ResolveTime = &resolved
			return nil, nil
		})
		must(t, err, "MutateCase")
		read, err := e.s.GetCase(e.ctx, all[0].ID)
		must(t, err, "GetCase")
		if !got2.ResolveTime.Equal(stored(resolved)) || !read.ResolveTime.Equal(stored(resolved)) {
			t.Fatalf("resolve time stored as %v, read back as %v; want %v", got2.ResolveTime, read.ResolveTime, stored(resolved))
		}
		checkStamped(t, *got2.ResolveTime, "ResolveTime")
	}},
}

// newDueMix creates cases whose due times include NULLs, ties and distinct
// values, in an order unrelated to their creation.
func (e *env) newDueMix() []*repository.Case {
	e.t.Helper()
	f := e.newFamily()
	base := e.nowStored().Add(30 * 24 * time.Hour)
	offsets := []int{5, -1, 3, -1, 5, 0, -1, 2, 5, 1, -1, 4, 0}
	var out []*repository.Case
	for _, off := range offsets {
		var due *time.Time
		if off >= 0 {
			due = ptr(base.Add(time.Duration(off) * time.Hour))
		}
		out = append(out, e.newCase(f, withDue(due), withStatus(domain.StatusSubmitted)))
	}
	return out
}

func orderName(o repository.Order, size int) string {
	col := o.Column
	if col == "" {
		col = "default(create_time)"
	}
	dir := "asc"
	if o.Desc {
		dir = "desc"
	}
	return col + " " + dir + " in pages of " + strconv.Itoa(size)
}

var allOrders = []repository.Order{
	{Column: "create_time"}, {Column: "create_time", Desc: true},
	{Column: "due_time"}, {Column: "due_time", Desc: true},
}

var paginationTests = []test{
	// A list reads its rows column by column, not as GetCase does: a
	// column the list forgets would read as zero only in lists.
	{"RowsReadAsGetCaseReads", func(t *testing.T, e *env) {
		f := e.newFamily()
		c := e.newCase(f, withStatus(domain.StatusResolved), placedIn(ptr(2025)))
		at := e.nowStored()
		later := at.Add(time.Hour)
		c.CaseNumber, c.Assignee, c.Priority = "FD-2026-000777", "users/a", domain.PriorityFirst
		c.PriorityReasons = repository.List[domain.Reason]{domain.ReasonBorderCoastalDefence, domain.ReasonHardshipHousehold}
		c.DueTime, c.SubmitTime, c.ResolveTime = ptr(at.Add(72*time.Hour)), ptr(at), ptr(later)
		c.OutcomeResult, c.OutcomeSummary, c.StatusReason = domain.ResultAchieved, "办结", "reason"
		c.PolicyBasis = repository.List[domain.RuleID]{domain.RuleSchoolChild, domain.RuleSchoolTarget}
		c.Clocks.V = domain.Clocks{{Kind: domain.ClockDecision, State: domain.ClockMet, Start: at, Due: later, Stop: &later,
			Rule: domain.RuleSchoolTarget, Days: 5}}
		c.OutcomeHistory.V = []domain.OutcomeRecord{{Result: domain.ResultAchieved, Summary: "s", ResolveTime: at,
			ReopenTime: later, ReopenReason: "r"}}
		c.Eligibility.V = &domain.EligibilityDecision{Eligible: true, Rule: domain.RuleSchoolChild, Decider: "users/d",
			DecideTime: at, PlacementYear: 2025}
		c.WithdrawalReason, c.RejectionReason, c.TerminationGround = "W", "R", "T"
		c.Objection.V = &domain.Objection{FileTime: at, Note: "n"}
		c.SourceContact, c.Revision, c.UpdateTime = "contact-1", 7, later
		c.HoldStartTime, c.HoldEndTime, c.HoldReason, c.HoldHolder = ptr(at), ptr(later), "hold", "users/h"
		c.HeldSeconds, c.HoldCount = 3600, 2
		must(t, e.db.Save(c).Error, "save every column")
		want, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		v := reflect.ValueOf(*want)
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("fixture leaves %s zero, so the test cannot tell whether a list reads it", v.Type().Field(i).Name)
			}
		}
		got, _, err := e.s.ListCases(e.ctx, repository.CaseQuery{})
		must(t, err, "ListCases")
		if len(got) != 1 {
			t.Fatalf("ListCases: %d rows, want 1", len(got))
		}
		if !reflect.DeepEqual(got[0], *want) {
			t.Fatalf("ListCases read\n%+v\nGetCase read\n%+v", got[0], *want)
		}
	}},
	{"EveryRowOnceInOrder", func(t *testing.T, e *env) {
		e.step = 0 // creation-time ties too
		all := values(e.newDueMix())
		for _, o := range allOrders {
			got, n := pages(t, 3, func(p repository.Page) ([]repository.Case, *repository.Cursor, error) {
				return e.s.ListCases(e.ctx, repository.CaseQuery{Order: o, Page: p})
			})
			sameIDs(t, caseIDs(got), caseIDs(sortedCases(all, o)), orderName(o, 3))
			if want := (len(all) + 2) / 3; n != want {
				t.Errorf("%s: %d pages, want %d", orderName(o, 3), n, want)
			}
		}
	}},
	{"StableUnderInserts", func(t *testing.T, e *env) {
		mix := e.newDueMix()
		f := family{h: &repository.Household{ID: mix[0].HouseholdID, TownCode: mix[0].TownCode}, m: &repository.Member{ID: mix[0].SubjectID}}
		r := rand.New(rand.NewPCG(3, 4))
		for _, o := range allOrders {
			start := e.allCases(repository.CaseQuery{})
			want := caseIDs(sortedCases(start, o))
			existed := map[string]bool{}
			for _, id := range want {
				existed[id] = true
			}
			seen := map[string]bool{}
			var got []string
			page := repository.Page{Size: 3}
			for n := 0; ; n++ {
				if n > 100 {
					t.Fatalf("%s: pagination does not end", orderName(o, 3))
				}
				rows, next, err := e.s.ListCases(e.ctx, repository.CaseQuery{Order: o, Page: page})
				must(t, err, "ListCases")
				for _, c := range rows {
					if seen[c.ID] {
						t.Fatalf("%s: case %s returned twice", orderName(o, 3), c.ID)
					}
					seen[c.ID] = true
					if existed[c.ID] {
						got = append(got, c.ID)
					}
				}
				if next == nil {
					break
				}
				page.After = next
				// Between pages, other clients add cases: some created at
				// the same instant as an existing case, some due at the
				// same time as one, some with no due time.
				for range 2 {
					tie := start[r.IntN(len(start))]
					e.clock.Set(tie.CreateTime)
					e.step = 0
					var due *time.Time
					switch r.IntN(3) {
					case 0:
						due = tie.DueTime
					case 1:
						due = ptr(tie.CreateTime.Add(time.Duration(r.IntN(100)) * time.Hour))
					}
					e.newCase(f, withDue(due))
				}
			}
			sameIDs(t, got, want, orderName(o, 3)+" while inserting")
		}
	}},
	{"DefaultPageSize", func(t *testing.T, e *env) {
		f := e.newFamily()
		e.step = 0
		for range repository.DefaultPageSize + 1 {
			e.newCase(f)
		}
		rows, next, err := e.s.ListCases(e.ctx, repository.CaseQuery{})
		must(t, err, "ListCases")
		if len(rows) != repository.DefaultPageSize || next == nil {
			t.Fatalf("page size 0: %d rows (next %v), want %d and a next cursor", len(rows), next != nil, repository.DefaultPageSize)
		}
		rows, next, err = e.s.ListCases(e.ctx, repository.CaseQuery{Page: repository.Page{After: next}})
		must(t, err, "ListCases page 2")
		if len(rows) != 1 || next != nil {
			t.Fatalf("page 2: %d rows (next %v), want 1 and no cursor", len(rows), next != nil)
		}
	}},
}
