package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/repository"
)

// Fixtures are synthetic: names are "Test ..." labels and ID numbers come
// from idnumber.Make, never from real people.

const (
	townA = "500230101"
	townB = "500230102"
	// region is the region code of the synthetic ID numbers.
	region = "500230"
)

// idNumber returns a valid ID number no other fixture of the test has.
func (e *env) idNumber() string {
	e.seq++
	birth := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, e.seq*37)
	return idnumber.Make(region, birth, e.seq)
}

// newHousehold creates a live household in town A; mods adjust it first.
func (e *env) newHousehold(mods ...func(*repository.Household)) *repository.Household {
	e.t.Helper()
	h := &repository.Household{
		ID:                    uuid.NewString(),
		ServicememberIDNumber: e.idNumber(),
		ServiceBranch:         "ARMY",
		RankCategory:          "NCO",
		PostType:              domain.PostRegular,
		Unit:                  "Test unit",
		Category:              domain.CategoryActiveDutyFamily,
		TownCode:              townA,
		Address:               "Test address",
	}
	h.ServicememberName = fmt.Sprintf("Test servicemember %d", e.seq)
	for _, m := range mods {
		m(h)
	}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateHousehold(e.ctx, h), "CreateHousehold")
	return h
}

// newMember adds a live spouse to h; mods adjust it first.
func (e *env) newMember(h *repository.Household, mods ...func(*repository.Member)) *repository.Member {
	e.t.Helper()
	m := &repository.Member{
		ID:           uuid.NewString(),
		HouseholdID:  h.ID,
		Relation:     domain.RelationSpouse,
		IDNumber:     e.idNumber(),
		BirthDate:    time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC),
		Accompanying: true,
	}
	m.DisplayName = fmt.Sprintf("Test member %d", e.seq)
	for _, mod := range mods {
		mod(m)
	}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateMember(e.ctx, m), "CreateMember")
	return m
}

// family is a household with one member, the subject of its cases.
type family struct {
	h *repository.Household
	m *repository.Member
}

func (e *env) newFamily(mods ...func(*repository.Household)) family {
	e.t.Helper()
	h := e.newHousehold(mods...)
	return family{h: h, m: e.newMember(h)}
}

// newCase opens a draft legal-aid case for the family's member, with its
// creation history entry; mods adjust it first.
func (e *env) newCase(f family, mods ...func(*repository.Case)) *repository.Case {
	e.t.Helper()
	c := e.caseFor(f, mods...)
	e.ownSubject(f, c)
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateCase(e.ctx, c, creationEntry(c)), "CreateCase")
	return c
}

// ownSubject gives c a new member of the family when the family's member
// already has an open case of c's kind that newCase opened: the store
// keeps one open case of a kind per member (OPEN_CASE_PER_KIND).
func (e *env) ownSubject(f family, c *repository.Case) {
	if !c.Status.Open() || c.SubjectID != f.m.ID {
		return
	}
	key := [2]string{c.SubjectID, string(c.Kind)}
	if e.opened == nil {
		e.opened = map[[2]string]bool{}
	}
	if e.opened[key] {
		c.SubjectID = e.newMember(f.h).ID
		key[0] = c.SubjectID
	}
	e.opened[key] = true
}

// openCaseFor is caseFor for a case that will be stored beside the
// family's other open cases: it gets a member of its own when needed.
func (e *env) openCaseFor(f family, mods ...func(*repository.Case)) *repository.Case {
	e.t.Helper()
	c := e.caseFor(f, mods...)
	e.ownSubject(f, c)
	return c
}

// caseFor builds, without storing, a case for the family's member.
func (e *env) caseFor(f family, mods ...func(*repository.Case)) *repository.Case {
	c := &repository.Case{
		ID:          uuid.NewString(),
		HouseholdID: f.h.ID,
		SubjectID:   f.m.ID,
		Kind:        domain.KindLegalAid,
		Details:     `{"matter":"test"}`,
		Status:      domain.StatusDraft,
		TownCode:    f.h.TownCode,
		Priority:    domain.PriorityNormal,
		Creator:     "users/test-creator",
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

func creationEntry(c *repository.Case) *repository.HistoryEntry {
	return &repository.HistoryEntry{Actor: c.Creator, Method: "CreateCase", ToStatus: c.Status}
}

// withStatus, withDue … are case mods.
func withStatus(s domain.Status) func(*repository.Case) {
	return func(c *repository.Case) { c.Status = s }
}

func withDue(t *time.Time) func(*repository.Case) {
	return func(c *repository.Case) {
		if t == nil {
			c.DueTime = nil
			return
		}
		d := *t
		c.DueTime = &d
	}
}

func ptr[T any](v T) *T { return &v }

// deref prints an optional value in a failure message.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// placedIn makes a case an employment placement for the year in its details
// (the store derives the placement_year column from them), or, for nil,
// leaves it as it is.
func placedIn(year *int) func(*repository.Case) {
	return func(c *repository.Case) {
		if year != nil {
			c.Kind, c.Details = domain.KindEmploymentPlacement, fmt.Sprintf(`{"placement_year":%d}`, *year)
		}
	}
}

// setStatus moves a case to status s through MutateCase.
func (e *env) setStatus(c *repository.Case, s domain.Status) *repository.Case {
	e.t.Helper()
	e.clock.Advance(e.step)
	got, err := e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
		from := c.Status
		c.Status = s
		return &repository.HistoryEntry{Actor: "users/test", Method: "SetStatus", FromStatus: from, ToStatus: c.Status}, nil
	})
	must(e.t, err, "MutateCase to %s", s)
	return got
}

// history returns every history entry of a case, oldest first.
func (e *env) history(caseID string) []repository.HistoryEntry {
	e.t.Helper()
	var out []repository.HistoryEntry
	page := repository.Page{}
	for range 1000 {
		rows, next, err := e.s.ListHistory(e.ctx, caseID, page)
		must(e.t, err, "ListHistory")
		out = append(out, rows...)
		if next == nil {
			return out
		}
		page.After = next
	}
	e.t.Fatal("ListHistory never ends")
	return nil
}

// parse parses a filter against a schema, failing the test on error.
func parse(t *testing.T, s string, schema filter.Schema) filter.Filter {
	t.Helper()
	f, err := filter.Parse(s, schema)
	must(t, err, "filter.Parse(%q)", s)
	return f
}

// pages reads every page of a list, calling list with each cursor in turn,
// and reports how many pages there were.
func pages[T any](t *testing.T, size int, list func(repository.Page) ([]T, *repository.Cursor, error)) ([]T, int) {
	t.Helper()
	var out []T
	page := repository.Page{Size: size}
	for n := 1; n <= 10000; n++ {
		rows, next, err := list(page)
		must(t, err, "list page %d", n)
		if size > 0 && len(rows) > size {
			t.Fatalf("page %d has %d rows, more than the page size %d", n, len(rows), size)
		}
		out = append(out, rows...)
		if next == nil {
			return out, n
		}
		if len(rows) == 0 {
			t.Fatalf("page %d is empty but has a next cursor", n)
		}
		page.After = next
	}
	t.Fatal("list never ends")
	return nil, 0
}

// allCases reads every page of ListCases for q.
func (e *env) allCases(q repository.CaseQuery) []repository.Case {
	e.t.Helper()
	rows, _ := pages(e.t, q.Page.Size, func(p repository.Page) ([]repository.Case, *repository.Cursor, error) {
		q.Page = p
		return e.s.ListCases(e.ctx, q)
	})
	return rows
}

// allHouseholds reads every page of ListHouseholds for q.
func (e *env) allHouseholds(q repository.HouseholdQuery) []repository.Household {
	e.t.Helper()
	rows, _ := pages(e.t, q.Page.Size, func(p repository.Page) ([]repository.Household, *repository.Cursor, error) {
		q.Page = p
		return e.s.ListHouseholds(e.ctx, q)
	})
	return rows
}

// caseLess is the order ListCases promises: the sort column (NULL due
// times last in both directions), then id, both in the order's direction.
func caseLess(o repository.Order) func(a, b repository.Case) bool {
	return func(a, b repository.Case) bool {
		var at, bt *time.Time
		if o.Column == "due_time" {
			at, bt = a.DueTime, b.DueTime
		} else {
			at, bt = &a.CreateTime, &b.CreateTime
		}
		switch {
		case at == nil && bt != nil:
			return false
		case at != nil && bt == nil:
			return true
		case at != nil && !at.Equal(*bt):
			return at.Before(*bt) != o.Desc
		}
		return (a.ID < b.ID) != o.Desc
	}
}

// sortedCases returns the cases in the order o.
func sortedCases(cs []repository.Case, o repository.Order) []repository.Case {
	out := append([]repository.Case(nil), cs...)
	less := caseLess(o)
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

func values[T any](ps []*T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func caseIDs(cs []repository.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func householdIDs(hs []repository.Household) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// sameIDs fails unless got lists exactly the ids of want, in order.
func sameIDs(t *testing.T, got, want []string, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d rows, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: row %d is %s, want %s\ngot  %v\nwant %v", what, i, got[i], want[i], got, want)
		}
	}
}

// inTown is a household mod that puts it in town.
func inTown(town string) func(*repository.Household) {
	return func(h *repository.Household) { h.TownCode = town }
}

// phone returns a synthetic mobile number no other fixture of the test has.
func (e *env) phone() string {
	e.seq++
	return fmt.Sprintf("1390000%04d", e.seq)
}

// withPhone gives a household a phone number; memberPhone does so for a
// member.
func (e *env) withPhone(h *repository.Household) { h.Phone = e.phone() }

// inTransfer gives a household a pending transfer to town B, its reason a
// text no other fixture has.
func (e *env) inTransfer(h *repository.Household) {
	e.seq++
	h.TransferToTown, h.TransferReason, h.TransferRequester = townB, fmt.Sprintf("Test move %d", e.seq), "users/test"
}

func (e *env) memberPhone(m *repository.Member) { m.Phone = e.phone() }

// certificate returns a synthetic 优待证 number no other fixture of the test
// has; withCertificate gives a household one.
func (e *env) certificate() string {
	e.seq++
	return fmt.Sprintf("CQ-YDZ-%06d", e.seq)
}

func (e *env) withCertificate(h *repository.Household) {
	h.PreferentialCertificateNumber = e.certificate()
}

// auditLog reads the whole audit log through ListAuditLogs, oldest first.
func (e *env) auditLog() []repository.AuditRecord {
	e.t.Helper()
	rows, _ := pages(e.t, 0, func(p repository.Page) ([]repository.AuditRecord, *repository.Cursor, error) {
		return e.s.ListAuditLogs(e.ctx, filter.Filter{}, p)
	})
	return rows
}

// verified checks the audit chain and returns its length.
func (e *env) verified() int64 {
	e.t.Helper()
	n, err := e.s.VerifyAudit(e.ctx)
	must(e.t, err, "VerifyAudit")
	return n
}

// rawRows reads rows straight from the database, bypassing the store, each
// column rendered as text (NULL as "").
func (e *env) rawRows(query string, args ...any) []map[string]string {
	e.t.Helper()
	var rows []map[string]any
	must(e.t, e.db.Raw(query, args...).Scan(&rows).Error, "raw query %q", query)
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		out[i] = map[string]string{}
		for k, v := range r {
			switch v := v.(type) {
			case nil:
				out[i][k] = ""
			case []byte:
				out[i][k] = string(v)
			default:
				out[i][k] = fmt.Sprint(v)
			}
		}
	}
	return out
}

// eventHead is the sequence number of the feed's last event.
func (e *env) eventHead() int64 {
	e.t.Helper()
	head, err := e.s.EventHead(e.ctx)
	if err != nil {
		e.t.Fatalf("EventHead: %v", err)
	}
	return head
}
