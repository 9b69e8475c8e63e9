package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// The Measures category: the preferential-measures ledger. Organisations
// are unique by credit code and keep the contact's phone sealed; a
// measure's reads reach every town but its writes need every town it
// serves; reads answer an ACTIVE measure under an expired agreement as
// SUSPENDED before the sweep stores it so, with history and an event; a
// review moves the measure's review date; an upheld complaint suspends the
// measure in its own transaction, or neither happens.

// creditCodes are valid unified social credit codes (GB 32100-2015).
var creditCodes = []string{"91350100M000100Y43", "91110000600037341L", "91500230709345037Q", "52500230MJP1234567"}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func (e *env) newOrganization(code string, expiry time.Time) *repository.Organization {
	e.t.Helper()
	o := &repository.Organization{ID: uuid.NewString(), DisplayName: "Test organization " + code, CreditCode: code,
		ContactName: "Test contact", ContactPhone: e.phone(), AgreementSignDate: day(2025, 1, 1), AgreementExpiryDate: expiry}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateOrganization(e.ctx, o), "CreateOrganization")
	return o
}

func (e *env) newMeasure(o *repository.Organization, mods ...func(*repository.Measure)) *repository.Measure {
	e.t.Helper()
	m := &repository.Measure{ID: uuid.NewString(), OrganizationID: o.ID, Title: "Test measure", Kind: domain.MeasureDiscount}
	for _, mod := range mods {
		mod(m)
	}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateMeasure(e.ctx, m, "users/test"), "CreateMeasure")
	return m
}

// moveMeasure applies a state change as the handlers do.
func (e *env) moveMeasure(ctx context.Context, m *repository.Measure, a domain.MeasureAction) (*repository.Measure, error) {
	e.clock.Advance(e.step)
	return e.s.MutateMeasure(ctx, m.OrganizationID, m.ID, "", func(_ context.Context, row *repository.Measure) (*repository.MeasureHistory, error) {
		to, err := domain.MeasureTransition(row.EffectiveState, a)
		if err != nil {
			return nil, err
		}
		from := row.State
		row.State = to
		return &repository.MeasureHistory{Actor: "users/test", Method: string(a), FromState: from, ToState: to}, nil
	})
}

func (e *env) measureIDs(q repository.MeasureQuery, text string) []string {
	e.t.Helper()
	f, err := filter.Parse(text, repository.MeasureFilter)
	must(e.t, err, "filter %q", text)
	q.Filter = f
	rows, _, err := e.s.ListMeasures(e.ctx, q)
	must(e.t, err, "ListMeasures %q", text)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

var measureTests = []test{
	{"organizations are unique by credit code and keep the phone sealed", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2027, 12, 31))
		got, err := e.s.GetOrganization(e.ctx, o.ID)
		must(t, err, "GetOrganization")
		if got.ContactPhone != o.ContactPhone || got.CreditCode != creditCodes[0] || !got.AgreementExpiryDate.Equal(day(2027, 12, 31)) {
			t.Fatalf("read back %+v", got)
		}
		var raw string
		must(t, e.db.Raw("SELECT contact_phone FROM organizations WHERE id = ?", o.ID).Scan(&raw).Error, "raw")
		if raw == o.ContactPhone || strings.Contains(raw, o.ContactPhone) {
			t.Fatal("the contact phone is stored in plaintext")
		}
		dup := &repository.Organization{ID: uuid.NewString(), DisplayName: "Test twin", CreditCode: creditCodes[0],
			AgreementSignDate: day(2025, 1, 1), AgreementExpiryDate: day(2027, 1, 1)}
		err = e.s.CreateOrganization(e.ctx, dup)
		var c *repository.ConflictError
		if !errors.As(err, &c) || c.Resource != (names.Organization{ID: o.ID}).String() {
			t.Fatalf("duplicate credit code: %v, want a conflict naming %s", err, o.ID)
		}
		other := e.newOrganization(creditCodes[1], day(2027, 1, 1))
		_, err = e.s.UpdateOrganization(e.ctx, other.ID, "", func(_ context.Context, row *repository.Organization) error {
			row.CreditCode = creditCodes[0]
			return nil
		})
		if !errors.As(err, &c) || c.Resource != (names.Organization{ID: o.ID}).String() {
			t.Fatalf("update to a taken credit code: %v", err)
		}
		f, _ := filter.Parse("agreement_expired = false", repository.OrganizationFilter)
		rows, _, err := e.s.ListOrganizations(e.ctx, f, repository.Page{})
		must(t, err, "ListOrganizations")
		if len(rows) != 2 || rows[0].ContactPhone != o.ContactPhone {
			t.Fatalf("listed %d organizations", len(rows))
		}
	}},
	{"measures move with history, and lists filter on state, kind, town and organization", func(t *testing.T, e *env) {
		o1 := e.newOrganization(creditCodes[0], day(2027, 12, 31))
		o2 := e.newOrganization(creditCodes[1], day(2027, 12, 31))
		county := e.newMeasure(o1)
		inA := e.newMeasure(o1, func(m *repository.Measure) {
			m.TownCodes, m.Kind = repository.List[string]{townA}, domain.MeasureMedical
		})
		inB := e.newMeasure(o2, func(m *repository.Measure) { m.TownCodes = repository.List[string]{townB} })
		if county.State != domain.MeasureProposed {
			t.Fatalf("created in %s", county.State)
		}
		got, err := e.moveMeasure(e.ctx, inA, domain.MeasureApprove)
		must(t, err, "approve")
		if got.State != domain.MeasureActive || got.EffectiveState != domain.MeasureActive || got.Revision != 2 {
			t.Fatalf("approved: %s/%s rev %d", got.State, got.EffectiveState, got.Revision)
		}
		_, err = e.moveMeasure(e.ctx, inA, domain.MeasureApprove)
		wantPrecondition(t, err, "ILLEGAL_TRANSITION", "approve twice")
		hist, _, err := e.s.ListMeasureHistory(e.ctx, o1.ID, inA.ID, repository.Page{})
		must(t, err, "history")
		if len(hist) != 2 || hist[0].ToState != domain.MeasureProposed || hist[1].FromState != domain.MeasureProposed || hist[1].ToState != domain.MeasureActive {
			t.Fatalf("history %+v", hist)
		}
		all := repository.MeasureQuery{}
		sameIDs(t, e.measureIDs(all, ""), []string{county.ID, inA.ID, inB.ID}, "organizations/-")
		sameIDs(t, e.measureIDs(repository.MeasureQuery{OrganizationID: o1.ID}, ""), []string{county.ID, inA.ID}, "one organization")
		sameIDs(t, e.measureIDs(all, "state = ACTIVE"), []string{inA.ID}, "state")
		sameIDs(t, e.measureIDs(all, "kind = MEDICAL"), []string{inA.ID}, "kind")
		sameIDs(t, e.measureIDs(all, `town_code = "`+townB+`"`), []string{county.ID, inB.ID}, "town (county-wide included)")
		_, err = e.s.GetMeasure(e.ctx, o2.ID, inA.ID)
		wantErr(t, err, repository.ErrNotFound, "a measure under another organization")
	}},
	{"writes need every town the measure serves; reads reach the county", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2027, 12, 31))
		inB := e.newMeasure(o, func(m *repository.Measure) { m.TownCodes = repository.List[string]{townB} })
		aCtx := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
		for name, towns := range map[string][]string{"county-wide": nil, "another town": {townB}, "two towns": {townA, townB}} {
			m := &repository.Measure{ID: uuid.NewString(), OrganizationID: o.ID, Title: "Test", Kind: domain.MeasureOther, TownCodes: towns}
			wantErr(t, e.s.CreateMeasure(aCtx, m, "users/a"), repository.ErrOutOfScope, "create %s", name)
		}
		mine := &repository.Measure{ID: uuid.NewString(), OrganizationID: o.ID, Title: "Test", Kind: domain.MeasureOther, TownCodes: repository.List[string]{townA}}
		must(t, e.s.CreateMeasure(aCtx, mine, "users/a"), "create in own town")
		_, err := e.moveMeasure(aCtx, inB, domain.MeasureApprove)
		wantErr(t, err, repository.ErrOutOfScope, "move another town's measure")
		_, err = e.s.MutateMeasure(aCtx, o.ID, mine.ID, "", func(_ context.Context, m *repository.Measure) (*repository.MeasureHistory, error) {
			m.TownCodes = nil
			return nil, nil
		})
		wantErr(t, err, repository.ErrOutOfScope, "widen own measure to the county")
		if _, err := e.s.GetMeasure(aCtx, o.ID, inB.ID); err != nil {
			t.Fatalf("read another town's measure: %v", err)
		}
		c := &repository.Complaint{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: inB.ID, ComplainantName: "Test", Description: "Test"}
		wantErr(t, e.s.CreateComplaint(aCtx, c), repository.ErrOutOfScope, "complain about another town's measure")
	}},
	{"an expired agreement suspends its active measures on read, then in storage once", func(t *testing.T, e *env) {
		// The clock is 2 March 2026 in China: an agreement whose last
		// day was 1 March has expired; one ending today has not.
		expired := e.newOrganization(creditCodes[0], day(2026, 3, 1))
		current := e.newOrganization(creditCodes[1], day(2026, 3, 2))
		lapsed := e.newMeasure(expired)
		kept := e.newMeasure(current)
		proposed := e.newMeasure(expired)
		// Approved before the expiry mattered: written straight through.
		for _, m := range []*repository.Measure{lapsed, kept} {
			must(t, e.db.Exec("UPDATE measures SET state = 'ACTIVE' WHERE id = ?", m.ID).Error, "activate")
		}
		got, err := e.s.GetMeasure(e.ctx, expired.ID, lapsed.ID)
		must(t, err, "GetMeasure")
		if got.State != domain.MeasureActive || got.EffectiveState != domain.MeasureSuspended {
			t.Fatalf("read as %s/%s, want stored ACTIVE, effective SUSPENDED", got.State, got.EffectiveState)
		}
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "state = SUSPENDED"), []string{lapsed.ID}, "suspended by read")
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "state = ACTIVE"), []string{kept.ID}, "still active")
		offered, err := e.s.OfferedMeasures(e.ctx, townA, nil, 10)
		must(t, err, "OfferedMeasures")
		if len(offered) != 1 || offered[0].ID != kept.ID {
			t.Fatalf("offered %d measures", len(offered))
		}
		before := len(e.allEvents(repository.EventQuery{}))
		n, err := e.s.SuspendExpiredMeasures(context.Background(), e.clock.Now())
		must(t, err, "sweep")
		if n != 1 {
			t.Fatalf("swept %d, want 1", n)
		}
		if n, _ := e.s.SuspendExpiredMeasures(context.Background(), e.clock.Now()); n != 0 {
			t.Fatalf("second sweep suspended %d", n)
		}
		got, _ = e.s.GetMeasure(e.ctx, expired.ID, lapsed.ID)
		if got.State != domain.MeasureSuspended || got.StateReason == "" {
			t.Fatalf("stored %s %q", got.State, got.StateReason)
		}
		if p, _ := e.s.GetMeasure(e.ctx, expired.ID, proposed.ID); p.State != domain.MeasureProposed {
			t.Fatalf("a proposed measure moved to %s", p.State)
		}
		hist, _, _ := e.s.ListMeasureHistory(e.ctx, expired.ID, lapsed.ID, repository.Page{})
		last := hist[len(hist)-1]
		if last.Actor != "system" || last.ToState != domain.MeasureSuspended {
			t.Fatalf("history %+v", last)
		}
		evs := e.allEvents(repository.EventQuery{})
		if len(evs) != before+1 || evs[len(evs)-1].Type != repository.EventTypeServer || evs[len(evs)-1].ResourceType != "measures" {
			t.Fatalf("events after the sweep: %d (was %d) %+v", len(evs), before, evs[len(evs)-1])
		}
	}},
	{"a review moves the review date and clears review_overdue", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2028, 1, 1))
		m := e.newMeasure(o)
		other := e.newMeasure(o)
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "review_overdue = true"), nil, "fresh")
		e.clock.Advance(400 * 24 * time.Hour)
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "review_overdue = true"), []string{m.ID, other.ID}, "a year on")
		sameIDs(t, e.measureIDs(repository.MeasureQuery{ReviewPeriod: 500 * 24 * time.Hour}, "review_overdue = true"), nil, "a longer period")
		r := &repository.MeasureReview{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: m.ID,
			ReviewDate: domain.Today(e.clock.Now()), Reviewer: "users/test", Honoured: true, Findings: "Test findings"}
		must(t, e.s.CreateMeasureReview(e.ctx, r), "CreateMeasureReview")
		got, _ := e.s.GetMeasure(e.ctx, o.ID, m.ID)
		if got.LastReviewDate == nil || !got.LastReviewDate.Equal(r.ReviewDate) {
			t.Fatalf("last review %v", got.LastReviewDate)
		}
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "review_overdue = true"), []string{other.ID}, "after the review")
		sameIDs(t, e.measureIDs(repository.MeasureQuery{}, "review_overdue = false"), []string{m.ID}, "reviewed")
		older := &repository.MeasureReview{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: m.ID,
			ReviewDate: r.ReviewDate.AddDate(0, -1, 0), Reviewer: "users/test"}
		must(t, e.s.CreateMeasureReview(e.ctx, older), "an older review")
		reviews, _, err := e.s.ListMeasureReviews(e.ctx, o.ID, m.ID, repository.Page{})
		must(t, err, "ListMeasureReviews")
		if len(reviews) != 2 {
			t.Fatalf("%d reviews, want 2 (an older one is kept too)", len(reviews))
		}
		if got, _ := e.s.GetMeasure(e.ctx, o.ID, m.ID); !got.LastReviewDate.Equal(r.ReviewDate) {
			t.Fatal("an older review moved the date back")
		}
	}},
	{"an upheld complaint suspends the measure in its transaction, or nothing changes", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2028, 1, 1))
		m := e.newMeasure(o)
		_, err := e.moveMeasure(e.ctx, m, domain.MeasureApprove)
		must(t, err, "approve")
		c := &repository.Complaint{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: m.ID,
			ComplainantName: "Test complainant", ComplainantPhone: e.phone(), Description: "Test: refused the discount"}
		must(t, e.s.CreateComplaint(e.ctx, c), "CreateComplaint")
		var raw string
		must(t, e.db.Raw("SELECT complainant_phone FROM complaints WHERE id = ?", c.ID).Scan(&raw).Error, "raw")
		if strings.Contains(raw, c.ComplainantPhone) {
			t.Fatal("the complainant's phone is stored in plaintext")
		}
		n := names.Complaint{OrganizationID: o.ID, MeasureID: m.ID, ID: c.ID}
		uphold := func(fail error) error {
			_, err := e.s.MutateComplaint(e.ctx, n, "", func(ctx context.Context, row *repository.Complaint) error {
				row.State, row.Resolution, row.MeasureSuspended = domain.ComplaintUpheld, "Test resolution", true
				if _, err := e.moveMeasure(ctx, m, domain.MeasureSuspend); err != nil {
					return err
				}
				return fail
			})
			return err
		}
		boom := errors.New("boom")
		wantErr(t, uphold(boom), boom, "a failing uphold")
		if got, _ := e.s.GetMeasure(e.ctx, o.ID, m.ID); got.State != domain.MeasureActive {
			t.Fatalf("the failed uphold left the measure %s", got.State)
		}
		must(t, uphold(nil), "uphold")
		got, _ := e.s.GetComplaint(e.ctx, n)
		if got.State != domain.ComplaintUpheld || !got.MeasureSuspended || got.ComplainantPhone != c.ComplainantPhone {
			t.Fatalf("complaint %+v", got)
		}
		if mm, _ := e.s.GetMeasure(e.ctx, o.ID, m.ID); mm.State != domain.MeasureSuspended {
			t.Fatalf("measure %s", mm.State)
		}
		f, _ := filter.Parse("state = UPHELD", repository.ComplaintFilter)
		rows, _, err := e.s.ListComplaints(e.ctx, o.ID, m.ID, f, repository.Page{})
		must(t, err, "ListComplaints")
		if len(rows) != 1 {
			t.Fatalf("%d upheld complaints", len(rows))
		}
	}},
	{"the menu's measures come by kind, then by creation, a page after the cursor", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2028, 1, 1))
		kinds := domain.MeasureKinds()
		var want []string
		byKind := map[domain.MeasureKind][]string{}
		// Created in the reverse of the kinds' order, so that creation
		// alone would list them the other way.
		for i := len(kinds) - 1; i >= 0; i-- {
			for range 2 {
				m := e.newMeasure(o, func(m *repository.Measure) { m.Kind = kinds[i] })
				_, err := e.moveMeasure(e.ctx, m, domain.MeasureApprove)
				must(t, err, "approve")
				byKind[kinds[i]] = append(byKind[kinds[i]], m.ID)
			}
		}
		for _, k := range kinds {
			want = append(want, byKind[k]...)
		}
		var got []string
		var after *repository.MenuCursor
		for {
			page, err := e.s.OfferedMeasures(e.ctx, townA, after, 3)
			must(t, err, "OfferedMeasures")
			for _, m := range page {
				got = append(got, m.ID)
			}
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1]
			after = &repository.MenuCursor{Kind: last.Kind, Time: last.CreateTime, ID: last.ID}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("menu order %v, want %v", got, want)
		}
	}},
}
