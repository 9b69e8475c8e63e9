package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// The Campaigns category: a festival-visit campaign's targets are the
// households its rule chooses when it opens (the SQL held to
// domain.TargetRule.Matches), frozen; visits count once per household;
// coverage is counted per town of the caller; closing needs a reason per
// gap.

const townC = "500230103"

// campaignFixture is a register of households in towns A, B and C and an
// OPEN campaign over A and B targeting border/coastal-defence and
// mission-unit households plus hardship ones.
type campaignFixture struct {
	c   *repository.Campaign
	all []*repository.Household
	// targets are the households the rule chose, by id.
	targets []string
}

func (e *env) newCampaign(towns ...string) *repository.Campaign {
	e.t.Helper()
	c := &repository.Campaign{ID: uuid.NewString(), DisplayName: "Test campaign", Festival: domain.FestivalArmyDay,
		StartDate: time.Date(2027, 7, 20, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2027, 8, 5, 0, 0, 0, 0, time.UTC),
		TownCodes: towns, Creator: "users/test-supervisor"}
	c.SetRule(domain.TargetRule{PostTypes: []domain.PostType{domain.PostBorderCoastalDefence, domain.PostMissionUnit}, Hardship: true})
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateCampaign(e.ctx, c), "CreateCampaign")
	return c
}

func (e *env) openCampaign() campaignFixture {
	e.t.Helper()
	var f campaignFixture
	add := func(town string, post domain.PostType, hardship bool) *repository.Household {
		h := e.newHousehold(func(h *repository.Household) { h.TownCode, h.PostType, h.Hardship = town, post, hardship })
		f.all = append(f.all, h)
		return h
	}
	add(townA, domain.PostBorderCoastalDefence, false)
	add(townA, domain.PostRegular, true)
	add(townA, domain.PostRegular, false)
	add(townB, domain.PostMissionUnit, false)
	add(townB, domain.PostRegular, false)
	add(townC, domain.PostBorderCoastalDefence, false) // outside the campaign's towns
	gone := add(townA, domain.PostBorderCoastalDefence, false)
	_, err := e.s.DeleteHousehold(e.ctx, gone.ID, "")
	must(e.t, err, "DeleteHousehold")
	f.c = e.newCampaign(townA, townB)
	for _, h := range f.all {
		if h != gone && slices.Contains(f.c.TownCodes, h.TownCode) && f.c.Rule().Matches(h.PostType, h.Category, h.Hardship) {
			f.targets = append(f.targets, h.ID)
		}
	}
	slices.Sort(f.targets)
	e.clock.Advance(e.step)
	c, err := e.s.OpenCampaign(e.ctx, f.c.ID, repository.Etag(f.c.Revision))
	must(e.t, err, "OpenCampaign")
	f.c = c
	return f
}

func (e *env) targetIDs(campaignID string, fs string, scope principal.Scope) []string {
	e.t.Helper()
	fl, err := filter.Parse(fs, repository.TargetFilter)
	must(e.t, err, "filter %q", fs)
	var ids []string
	var page repository.Page
	page.Size = 2 // several pages, to walk the cursor
	for {
		rows, next, err := e.s.ListCampaignTargets(repository.WithScope(e.ctx, scope), campaignID, fl, page)
		must(e.t, err, "ListCampaignTargets")
		for _, r := range rows {
			ids = append(ids, r.HouseholdID)
		}
		if next == nil {
			return ids
		}
		page.After = next
	}
}

func (e *env) visit(c *repository.Campaign, h string, followUp bool) (*repository.CampaignVisit, error) {
	e.clock.Advance(e.step)
	v := &repository.CampaignVisit{ID: uuid.NewString(), CampaignID: c.ID, HouseholdID: h,
		VisitDate: c.StartDate, Visitors: repository.JSON[[]string]{V: []string{"Test visitor, deputy head"}},
		Form: domain.VisitInPerson, Goods: "Test goods", MoneyFen: 50000, FollowUp: followUp, Recorder: "users/test"}
	return v, e.s.CreateVisit(e.ctx, v)
}

func coverageOf(t *testing.T, rows []repository.CoverageRow) map[string][3]int {
	t.Helper()
	out := map[string][3]int{}
	for _, r := range rows {
		out[r.TownCode] = [3]int{r.Targets, r.Visited, r.GapsExplained}
	}
	return out
}

var campaignTests = []test{
	{"open freezes the targets the rule chooses among live households of the campaign's towns", func(t *testing.T, e *env) {
		f := e.openCampaign()
		if f.c.State != domain.CampaignOpen || f.c.OpenTime == nil || f.c.TargetCount != len(f.targets) || len(f.targets) != 3 {
			t.Fatalf("opened: state %s, open time %v, %d targets; want OPEN, set, 3", f.c.State, f.c.OpenTime, f.c.TargetCount)
		}
		if got := e.targetIDs(f.c.ID, "", principal.Scope{All: true}); !slices.Equal(got, f.targets) {
			t.Fatalf("targets %v, want the rule's %v", got, f.targets)
		}
		// A household registered afterwards is no target until added.
		later := e.newHousehold(func(h *repository.Household) { h.PostType = domain.PostBorderCoastalDefence })
		if got := e.targetIDs(f.c.ID, "", principal.Scope{All: true}); slices.Contains(got, later.ID) {
			t.Fatal("a household registered after opening became a target silently")
		}
		outside := f.all[5]
		scoped := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA, townC}})
		already := f.all[0].ID // town A's border household, a target
		out, c, err := e.s.AddCampaignTargets(scoped, f.c.ID, []string{later.ID, already, uuid.NewString(), outside.ID, f.all[4].ID})
		must(t, err, "AddCampaignTargets")
		want := []repository.AddOutcome{repository.TargetAddedNow, repository.TargetAlready, repository.TargetNotFound,
			repository.TargetOutsideTowns, repository.TargetNotFound} // the last is town B's, outside the caller's towns
		if !slices.Equal(out, want) {
			t.Fatalf("outcomes %v, want %v", out, want)
		}
		if c.TargetCount != 4 || c.Revision != f.c.Revision+1 {
			t.Fatalf("after adding one: %d targets, revision %d; want 4, %d", c.TargetCount, c.Revision, f.c.Revision+1)
		}
		if got := e.targetIDs(f.c.ID, "source = ADDED", principal.Scope{All: true}); !slices.Equal(got, []string{later.ID}) {
			t.Fatalf("added targets %v", got)
		}
		// Nothing added: no new revision.
		_, c2, err := e.s.AddCampaignTargets(e.ctx, f.c.ID, []string{later.ID})
		must(t, err, "AddCampaignTargets again")
		if c2.Revision != c.Revision {
			t.Fatal("adding nothing changed the campaign's etag")
		}
	}},
	{"a plan changes only in DRAFT and only by a caller reaching all its towns", func(t *testing.T, e *env) {
		c := e.newCampaign(townA, townB)
		a := repository.WithScope(e.ctx, principal.Scope{Towns: []string{townA}})
		if _, err := e.s.GetCampaign(a, c.ID); err != nil {
			t.Fatalf("a town-A caller cannot read a campaign covering A: %v", err)
		}
		if _, err := e.s.GetCampaign(repository.WithScope(e.ctx, principal.Scope{Towns: []string{townC}}), c.ID); !errors.Is(err, repository.ErrNotFound) {
			t.Fatalf("a town-C caller reads a campaign of A and B: %v", err)
		}
		if ok, err := e.s.ResourceExists(e.ctx, names.Campaign{ID: c.ID}.String()); err != nil || !ok {
			t.Fatalf("ResourceExists of a campaign: %v, %v", ok, err)
		}
		_, err := e.s.OpenCampaign(a, c.ID, "")
		wantErr(t, err, repository.ErrOutOfScope, "a town-A caller opening a campaign of A and B")
		wantErr(t, e.s.CreateCampaign(a, &repository.Campaign{ID: uuid.NewString(), TownCodes: []string{townA, townB}}),
			repository.ErrOutOfScope, "a town-A caller creating a campaign of A and B")
		_, err = e.s.UpdateCampaign(e.ctx, c.ID, "v9", func(_ context.Context, row *repository.Campaign) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "a stale etag")
		u, err := e.s.UpdateCampaign(e.ctx, c.ID, repository.Etag(c.Revision), func(_ context.Context, row *repository.Campaign) error {
			row.TownCodes = []string{townA}
			return nil
		})
		must(t, err, "UpdateCampaign")
		if !slices.Equal([]string(u.TownCodes), []string{townA}) || u.Revision != 2 {
			t.Fatalf("updated: towns %v revision %d", u.TownCodes, u.Revision)
		}
		if _, err := e.s.GetCampaign(repository.WithScope(e.ctx, principal.Scope{Towns: []string{townB}}), c.ID); !errors.Is(err, repository.ErrNotFound) {
			t.Fatalf("a town-B caller still reads a campaign no longer covering B: %v", err)
		}
		_, err = e.s.OpenCampaign(a, c.ID, "")
		must(t, err, "a town-A caller opens a campaign of A")
		_, err = e.s.UpdateCampaign(e.ctx, c.ID, "", func(_ context.Context, row *repository.Campaign) error {
			row.DisplayName = "changed"
			return nil
		})
		wantPrecondition(t, err, "CAMPAIGN_NOT_DRAFT", "updating an open campaign")
		_, err = e.s.OpenCampaign(e.ctx, c.ID, "")
		wantPrecondition(t, err, "ILLEGAL_TRANSITION", "opening twice")
	}},
	{"visits count once per household, coverage per town of the caller", func(t *testing.T, e *env) {
		f := e.openCampaign()
		var inA []string
		for _, h := range f.all {
			if h.TownCode == townA && slices.Contains(f.targets, h.ID) {
				inA = append(inA, h.ID)
			}
		}
		first, err := e.visit(f.c, inA[0], false)
		must(t, err, "CreateVisit")
		if first.TownCode != townA {
			t.Fatalf("visit town %q", first.TownCode)
		}
		_, err = e.visit(f.c, inA[0], false)
		var conflict *repository.ConflictError
		if !errors.As(err, &conflict) || conflict.Resource != (names.Visit{CampaignID: f.c.ID, ID: first.ID}).String() {
			t.Fatalf("a second first visit: %v, want a conflict naming the first", err)
		}
		_, err = e.visit(f.c, inA[0], true)
		must(t, err, "a follow-up")
		_, err = e.visit(f.c, f.all[2].ID, false) // town A, regular, no hardship: no target
		wantPrecondition(t, err, "NOT_A_TARGET", "visiting a household that is no target")
		_, rows, err := e.s.CampaignCoverage(e.ctx, f.c.ID)
		must(t, err, "CampaignCoverage")
		if got := coverageOf(t, rows); got[townA] != [3]int{2, 1, 0} || got[townB] != [3]int{1, 0, 0} || len(got) != 2 {
			t.Fatalf("coverage %v", got)
		}
		_, rows, err = e.s.CampaignCoverage(repository.WithScope(e.ctx, principal.Scope{Towns: []string{townB}}), f.c.ID)
		must(t, err, "CampaignCoverage of town B")
		if got := coverageOf(t, rows); len(got) != 1 || got[townB] != [3]int{1, 0, 0} {
			t.Fatalf("town B's coverage %v", got)
		}
		if got := e.targetIDs(f.c.ID, "visited = false", principal.Scope{Towns: []string{townA}}); !slices.Equal(got, inA[1:]) {
			t.Fatalf("town A's unvisited %v, want %v", got, inA[1:])
		}
		fl, _ := filter.Parse("follow_up = true", repository.VisitFilter)
		vs, _, err := e.s.ListVisits(e.ctx, f.c.ID, fl, repository.Page{})
		must(t, err, "ListVisits")
		if len(vs) != 1 || !vs[0].FollowUp || vs[0].Visitors.V[0] != "Test visitor, deputy head" {
			t.Fatalf("follow-ups %+v", vs)
		}
		if _, err := e.s.GetVisit(repository.WithScope(e.ctx, principal.Scope{Towns: []string{townB}}), f.c.ID, first.ID); !errors.Is(err, repository.ErrNotFound) {
			t.Fatalf("a town-B caller reads town A's visit: %v", err)
		}
	}},
	{"closing needs a reason for every gap, stored and counted", func(t *testing.T, e *env) {
		f := e.openCampaign()
		_, err := e.visit(f.c, f.targets[0], false)
		must(t, err, "CreateVisit")
		_, err = e.s.CloseCampaign(e.ctx, f.c.ID, "", []repository.GapReason{{HouseholdID: f.targets[1], Reason: "away"}})
		var missing *domain.MissingGapReasons
		if !errors.As(err, &missing) || missing.Total != 1 || !slices.Equal(missing.Households, []string{names.Household{ID: f.targets[2]}.String()}) {
			t.Fatalf("closing with a gap unexplained: %v", err)
		}
		_, err = e.s.CloseCampaign(e.ctx, f.c.ID, "", []repository.GapReason{{HouseholdID: f.targets[0], Reason: "visited"}})
		if v, ok := domain.AsValidation(err); !ok || v.Violations[0].Field != "gap_reasons[0].household" {
			t.Fatalf("a reason for a visited household: %v", err)
		}
		c, err := e.s.CloseCampaign(e.ctx, f.c.ID, "", []repository.GapReason{
			{HouseholdID: f.targets[1], Reason: "away at work"}, {HouseholdID: f.targets[2], Reason: "in hospital"}})
		must(t, err, "CloseCampaign")
		if c.State != domain.CampaignClosed || c.CloseTime == nil {
			t.Fatalf("closed: %s", c.State)
		}
		_, rows, err := e.s.CampaignCoverage(e.ctx, f.c.ID)
		must(t, err, "CampaignCoverage")
		explained := 0
		for _, r := range rows {
			explained += r.GapsExplained
		}
		if explained != 2 {
			t.Fatalf("gaps explained %d, want 2", explained)
		}
		_, err = e.visit(f.c, f.targets[1], false)
		wantPrecondition(t, err, "CAMPAIGN_NOT_OPEN", "a visit after closing")
	}},
	{"every change is on the feed", func(t *testing.T, e *env) {
		f := e.openCampaign()
		v, err := e.visit(f.c, f.targets[0], false)
		must(t, err, "CreateVisit")
		evs, _, err := e.s.ListEvents(e.ctx, repository.EventQuery{Limit: 1000, ResourceTypes: []string{"campaigns", "visits"}})
		must(t, err, "ListEvents")
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Resource+" "+ev.Etag)
		}
		want := []string{"campaigns/" + f.c.ID + " v1", "campaigns/" + f.c.ID + " v2", "campaigns/" + f.c.ID + "/visits/" + v.ID + " "}
		if !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	}},
}
