package e2e

import (
	"slices"
	"sort"
	"testing"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// wantSameCases checks that got lists exactly the cases of want, each once,
// in any order.
func wantSameCases(t *testing.T, what string, got []*pb.Case, want ...*pb.Case) {
	t.Helper()
	g, w := names(got), names(want)
	sort.Strings(g)
	sort.Strings(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s: got %d cases %v, want %d %v", what, len(g), g, len(w), w)
	}
}

// wantOrder checks that got lists exactly want, in order.
func wantOrder(t *testing.T, what string, got []*pb.Case, want ...*pb.Case) {
	t.Helper()
	if g, w := names(got), names(want); !slices.Equal(g, w) {
		t.Errorf("%s: order\n got  %v\n want %v", what, g, w)
	}
}

// testPagination pages 11 cases, 3 at a time, on both transports and in
// both orders, also while cases are being added.
func testPagination(t *testing.T, e *env) {
	g := e.grpcClient(t)
	f := e.family(t, g)
	var cases []*pb.Case
	for range 11 {
		cases = append(cases, must(g.CreateCase(legalAidCase(f, e.another(t, g, f)))).ok(t))
	}
	reversed := slices.Clone(cases)
	slices.Reverse(reversed)

	e.eachClient(t, func(t *testing.T, c *client) {
		got, pages := c.allCases(&pb.ListCasesRequest{PageSize: 3})
		if pages != 4 {
			t.Errorf("11 cases by 3: %d pages, want 4", pages)
		}
		wantOrder(t, "create_time", got, cases...)
		got, _ = c.allCases(&pb.ListCasesRequest{PageSize: 3, OrderBy: "create_time desc"})
		wantOrder(t, "create_time desc", got, reversed...)
		got, pages = c.allCases(&pb.ListCasesRequest{PageSize: 11})
		if pages != 1 || len(got) != 11 {
			t.Errorf("pageSize 11: %d pages of %d cases, want 1 of 11", pages, len(got))
		}
		got, _ = c.allCases(&pb.ListCasesRequest{}) // default page size
		wantOrder(t, "default page", got, cases...)
		got, _ = c.allCases(&pb.ListCasesRequest{PageSize: 3, Filter: `household = "` + f.household.GetName() + `"`})
		wantOrder(t, "filtered", got, cases...)
	})

	t.Run("due_time_with_nulls", func(t *testing.T) {
		// Submit every other case; drafts have no due time and come last.
		var dated, undated []*pb.Case
		for i, cs := range cases {
			if i%2 == 0 {
				dated = append(dated, must(g.Submit(cs.GetName(), "")).ok(t))
			} else {
				undated = append(undated, cs)
			}
		}
		e.eachClient(t, func(t *testing.T, c *client) {
			got, pages := c.allCases(&pb.ListCasesRequest{PageSize: 3, OrderBy: "due_time"})
			if pages != 4 {
				t.Errorf("%d pages, want 4", pages)
			}
			wantOrder(t, "due_time", got[:len(dated)], dated...)
			wantSameCases(t, "due_time, no due time", got[len(dated):], undated...)
			desc, _ := c.allCases(&pb.ListCasesRequest{PageSize: 3, OrderBy: "due_time desc"})
			rev := slices.Clone(dated)
			slices.Reverse(rev)
			wantOrder(t, "due_time desc", desc[:len(dated)], rev...)
			wantSameCases(t, "due_time desc, no due time", desc[len(dated):], undated...)
		})
	})

	t.Run("while_inserting", func(t *testing.T) {
		e.eachClient(t, func(t *testing.T, c *client) {
			all, _ := c.allCases(&pb.ListCasesRequest{PageSize: 500})
			// Ascending: a case added mid-way shows up at the end, once.
			req := &pb.ListCasesRequest{PageSize: 3}
			first := must(c.ListCases(req)).ok(t)
			added := must(c.CreateCase(legalAidCase(f, e.another(t, g, f)))).ok(t)
			req.PageToken = first.GetNextPageToken()
			rest, _ := c.allCases(req)
			wantOrder(t, "ascending while inserting", append(first.GetCases(), rest...), append(all, added)...)
			// Descending: a case added behind the cursor is not seen, and
			// nothing is repeated or skipped.
			all = append(all, added)
			slices.Reverse(all)
			req = &pb.ListCasesRequest{PageSize: 3, OrderBy: "create_time desc"}
			first = must(c.ListCases(req)).ok(t)
			must(c.CreateCase(legalAidCase(f, e.another(t, g, f)))).ok(t)
			req.PageToken = first.GetNextPageToken()
			rest, _ = c.allCases(req)
			wantOrder(t, "descending while inserting", append(first.GetCases(), rest...), all...)
		})
	})
}

// testFilters: each filter field alone, combined with AND, and overdue as
// the clock passes due times.
func testFilters(t *testing.T, e *env) {
	g := e.grpcClient(t)
	h1 := e.family(t, g, func(h *pb.Household) {
		h.TownCode = "500230101"
		h.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE
	})
	h2 := e.family(t, g, func(h *pb.Household) { h.TownCode = "500230102" })
	create := func(cs *pb.Case) *pb.Case { return must(g.CreateCase(cs)).ok(t) }
	legal1 := create(legalAidCase(h1, h1.spouse)) // submitted, due +7d, assigned wang
	school1 := create(schoolCase(h1))             // accepted, due +30d, assigned li
	elder1 := create(elderCase(h1))               // draft
	job2 := create(employmentCase(h2))            // submitted, due +90d
	school2 := create(schoolCase(h2))             // rejected
	elder2 := create(elderCase(h2))               // submitted, due +3d, assigned wang
	for _, cs := range []*pb.Case{legal1, school1, job2, school2, elder2} {
		must(g.Submit(cs.GetName(), "")).ok(t)
	}
	must(g.Assign(legal1.GetName(), "wang")).ok(t)
	must(g.Accept(school1.GetName())).ok(t)
	must(g.Assign(school1.GetName(), "li")).ok(t)
	must(g.Reject(school2.GetName(), "材料不全")).ok(t)
	must(g.Assign(elder2.GetName(), "wang")).ok(t)
	all := []*pb.Case{legal1, school1, elder1, job2, school2, elder2}

	check := func(t *testing.T, filter string, want ...*pb.Case) {
		t.Helper()
		for _, c := range e.clients(t) {
			got, _ := c.allCases(&pb.ListCasesRequest{Filter: filter, PageSize: 2})
			wantSameCases(t, c.name+": "+filter, got, want...)
		}
	}
	t.Run("fields", func(t *testing.T) {
		check(t, "status = SUBMITTED", legal1, job2, elder2)
		check(t, "status = CASE_STATUS_REJECTED", school2)
		check(t, "case_type = SCHOOL_ENROLLMENT", school1, school2)
		check(t, "case_type = CASE_TYPE_ELDER_MEDICAL_HELP", elder1, elder2)
		check(t, `town_code = "500230101"`, legal1, school1, elder1)
		check(t, `town_code = "500230199"`)
		check(t, `assignee = "wang"`, legal1, elder2)
		check(t, `assignee = "li"`, school1)
		check(t, "priority = FIRST", legal1, school1, elder1)
		check(t, "priority = CASE_PRIORITY_NORMAL", job2, school2, elder2)
		check(t, "priority = SECOND")
		check(t, `household = "`+h2.household.GetName()+`"`, job2, school2, elder2)
		check(t, "placement_year = 2026", job2)
		check(t, "overdue = true")
		check(t, "overdue = false", all...)
	})
	t.Run("and", func(t *testing.T) {
		check(t, `status = SUBMITTED AND assignee = "wang"`, legal1, elder2)
		check(t, `status = SUBMITTED AND assignee = "wang" AND town_code = "500230102"`, elder2)
		check(t, `priority = NORMAL AND case_type = ELDER_MEDICAL_HELP AND status = SUBMITTED`, elder2)
		check(t, `case_type = SCHOOL_ENROLLMENT AND household = "`+h1.household.GetName()+`"`, school1)
		check(t, `case_type = LEGAL_AID AND town_code = "500230102"`)
	})
	t.Run("overdue", func(t *testing.T) {
		e.clock.Advance(4 * day24) // past the elder case's 3 days
		check(t, "overdue = true", elder2)
		e.clock.Advance(4 * day24) // past legal aid's 7 days
		check(t, "overdue = true", legal1, elder2)
		check(t, `overdue = true AND town_code = "500230101"`, legal1)
		check(t, `overdue = true AND assignee = "wang" AND priority = NORMAL`, elder2)
		check(t, "overdue = false", school1, elder1, job2, school2)
		// An answered case is not overdue, whatever its due time.
		must(g.Withdraw(elder2.GetName(), "不再需要")).ok(t)
		check(t, "overdue = true", legal1)
		e.clock.Advance(30 * day24) // past the school case's 30 days
		check(t, "overdue = true", legal1, school1)
		check(t, "overdue = true AND status = ACCEPTED", school1)
	})
	t.Run("order", func(t *testing.T) {
		e.eachClient(t, func(t *testing.T, c *client) {
			got, _ := c.allCases(&pb.ListCasesRequest{OrderBy: "due_time", PageSize: 4})
			// legal1 (7 days), school1 (30 days), job2 (the end of the
			// year's placement plan), then the cases no clock runs for:
			// the draft, the rejection and the withdrawal, in id order.
			wantOrder(t, "due_time", got, legal1, school1, job2, elder1, school2, elder2)
			var last time.Time
			for _, cs := range got {
				if cs.GetDueTime() == nil {
					continue
				}
				if d := cs.GetDueTime().AsTime(); d.Before(last) {
					t.Errorf("due_time order: %v before %v", d, last)
				} else {
					last = d
				}
			}
			got, _ = c.allCases(&pb.ListCasesRequest{OrderBy: "create_time desc", PageSize: 4})
			rev := slices.Clone(all)
			slices.Reverse(rev)
			wantOrder(t, "create_time desc", got, rev...)
			got, _ = c.allCases(&pb.ListCasesRequest{OrderBy: "create_time", PageSize: 4, Filter: "status = SUBMITTED"})
			wantOrder(t, "submitted by create_time", got, legal1, job2)
		})
	})
}
