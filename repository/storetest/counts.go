package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// testCountsAreSumsOfFacts moves cases every way that writes facts
// (endings, reopenings and endings again, legal-aid decisions, eligibility
// decided again and recorded late, cases moved between towns by a case
// change, a household's transfer and a merge) over several months, then
// holds the monthly counts to the facts: each table equals a grouping of
// case_facts done here, the migration's rebuild writes the same rows, and
// the report of any span of dates equals the one counted from the facts
// alone.
func testCountsAreSumsOfFacts(t *testing.T, e *env) {
	r := rand.New(rand.NewPCG(14, 27)) // fixed: the same moves on every backend and run
	e.clock.Set(time.Date(2026, 1, 20, 9, 0, 0, 0, domain.ChinaTime))
	type tracked struct {
		id   string
		f    family
		kind domain.Kind
	}
	var open, ended []tracked
	var families []family
	kinds := []domain.Kind{domain.KindLegalAid, domain.KindElderMedicalHelp, domain.KindSchoolEnrollment, domain.KindEmploymentPlacement}
	stages := []string{"SCHOOL_STAGE_PRIMARY", "SCHOOL_STAGE_JUNIOR_HIGH"}
	bases := []string{"ENROLLMENT_PRIORITY_BASIS_MARTYR_CHILD", "ENROLLMENT_PRIORITY_BASIS_BORDER_HARDSHIP_POST"}
	pick := func(list []tracked) (tracked, []tracked) {
		i := r.IntN(len(list))
		c := list[i]
		return c, slices.Delete(slices.Clone(list), i, i+1)
	}
	create := func() {
		f := e.newFamily(inTown(statisticsTowns[r.IntN(len(statisticsTowns))]))
		families = append(families, f)
		kind := kinds[r.IntN(len(kinds))]
		c := e.newCase(f, func(c *repository.Case) {
			c.Kind = kind
			switch kind {
			case domain.KindSchoolEnrollment:
				c.Details = fmt.Sprintf(`{"school_stage":%q,"priority_basis":%q}`, stages[r.IntN(2)], bases[r.IntN(2)])
			case domain.KindEmploymentPlacement:
				placedIn(ptr(2026))(c)
			}
			c.Status = domain.StatusSubmitted
			now := e.nowStored()
			c.SubmitTime = &now
		})
		open = append(open, tracked{c.ID, f, kind})
	}
	for range 12 {
		create()
	}
	for step := range 110 {
		e.clock.Advance(time.Duration(1+r.IntN(120)) * time.Hour)
		switch a := r.IntN(10); {
		case a < 2 || len(open) == 0:
			create()
		case a < 4: // resolved, one way or another
			var c tracked
			c, open = pick(open)
			e.resolve(c.id, domain.Results()[r.IntN(3)])
			ended = append(ended, c)
		case a == 4: // withdrawn
			var c tracked
			c, open = pick(open)
			e.setStatus(&repository.Case{ID: c.id}, domain.StatusWithdrawn)
		case a == 5 && len(ended) > 0: // reopened, to be resolved again
			var c tracked
			c, ended = pick(ended)
			e.reopen(c.id)
			open = append(open, c)
		case a == 6: // a legal-aid decision, met or missed
			for _, c := range open {
				if c.kind == domain.KindLegalAid {
					e.decideLegalAid(c.id, r.IntN(3) > 0)
					break
				}
			}
		case a == 7: // eligibility decided, again, or recorded late
			for _, c := range open {
				if c.kind == domain.KindEmploymentPlacement {
					at := e.nowStored().Add(-time.Duration(r.IntN(60*24)) * time.Hour)
					e.decideEligibleAt(c.id, at)
					break
				}
			}
		case a == 8: // the case moves to another town
			c := open[r.IntN(len(open))]
			e.mutate(c.id, func(c *repository.Case) {
				c.TownCode = statisticsTowns[(slices.Index(statisticsTowns, c.TownCode)+1)%len(statisticsTowns)]
			})
		default: // the household moves, with its cases
			f := families[r.IntN(len(families))]
			h, err := e.s.GetHousehold(e.ctx, f.h.ID, false)
			if err != nil { // merged away
				continue
			}
			to := statisticsTowns[(slices.Index(statisticsTowns, h.TownCode)+1)%len(statisticsTowns)]
			_, err = e.ask(e.ctx, h.ID, to)
			must(t, err, "transfer of step %d", step)
			_, err = e.decide(e.ctx, h.ID, true)
			must(t, err, "accepting the transfer of step %d", step)
		}
		if step == 70 {
			// Two households become one: the duplicate's cases move to
			// the survivor's town.
			sv, err := e.s.GetHousehold(e.ctx, families[0].h.ID, false)
			must(t, err, "GetHousehold")
			dp, err := e.s.GetHousehold(e.ctx, families[1].h.ID, false)
			must(t, err, "GetHousehold")
			if dp.TownCode != sv.TownCode {
				_, err = e.ask(e.ctx, dp.ID, sv.TownCode)
				must(t, err, "transfer before the merge")
				_, err = e.decide(e.ctx, dp.ID, true)
				must(t, err, "accepting the transfer before the merge")
			}
			_, err = e.s.MergeHouseholds(e.ctx, sv.ID, "", dp.ID, "", mergeRules)
			must(t, err, "MergeHouseholds")
		}
	}
	// A placement decided eligible, moved to another town, and then found
	// decided two months earlier: the county counts it in the earlier
	// month, not twice; each town counts it once.
	late := e.newCase(e.newFamily(inTown(statisticsTowns[0])), placedIn(ptr(2026)))
	e.decideEligibleAt(late.ID, e.nowStored())
	e.mutate(late.ID, func(c *repository.Case) { c.TownCode = statisticsTowns[2] })
	e.decideEligibleAt(late.ID, e.nowStored().Add(-60*24*time.Hour))
	open = append(open, tracked{id: late.ID, kind: domain.KindEmploymentPlacement})
	for _, c := range open { // the rest end, some as placements achieved
		e.clock.Advance(time.Duration(1+r.IntN(48)) * time.Hour)
		e.resolve(c.id, domain.ResultAchieved)
	}

	facts := e.allFacts()
	kept := e.monthCountRows()
	if want := countsOfFacts(facts); !slices.Equal(kept, want) {
		t.Errorf("monthly counts kept by the writes but not the facts grouped\n%v\nand the other way\n%v", missing(kept, want), missing(want, kept))
	}
	must(t, e.s.RebuildCaseCounts(e.ctx), "RebuildCaseCounts")
	if rebuilt := e.monthCountRows(); !slices.Equal(rebuilt, kept) {
		t.Errorf("monthly counts rebuilt by the migration's statements but not kept by the writes\n%v\nand the other way\n%v",
			missing(rebuilt, kept), missing(kept, rebuilt))
	}

	date := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	periods := []domain.Period{domain.YearPeriod(2026), domain.QuarterPeriod(2026, 1), domain.QuarterPeriod(2026, 2),
		domain.MonthPeriod(2026, 3), domain.MonthPeriod(2026, 2)}
	for _, span := range [][2]time.Time{
		{date(1, 1), date(12, 31)}, {date(1, 25), date(4, 10)}, {date(2, 1), date(3, 31)}, {date(2, 3), date(2, 20)},
		{date(3, 15), date(5, 31)}, {date(3, 1), date(6, 17)}, {date(2, 28), date(3, 1)}, {date(1, 1), date(9, 30)},
	} {
		p, err := domain.DatesPeriod(span[0], span[1])
		must(t, err, "DatesPeriod")
		periods = append(periods, p)
	}
	scopes := map[string]context.Context{
		"county":    e.ctx,
		"one town":  repository.WithScope(e.ctx, principal.Scope{Towns: statisticsTowns[1:2]}),
		"two towns": repository.WithScope(e.ctx, principal.Scope{Towns: statisticsTowns[:2]}),
	}
	for name, ctx := range scopes {
		for _, p := range periods {
			for _, town := range []string{"", statisticsTowns[0], statisticsTowns[1]} {
				got := e.statistics(ctx, p, town)
				towns := scopeTowns(ctx, town)
				want := statisticsOfFacts(facts, p, towns)
				if g, w := figures(got), figures(want); g != w {
					t.Errorf("%s, %s, town %q:\nfrom the counts %s\nfrom the facts  %s", name, p, town, g, w)
				}
			}
		}
	}
}

// scopeTowns are the towns a caller of ctx asking for town is answered
// for; nil is the county.
func scopeTowns(ctx context.Context, town string) []string {
	s := principal.ScopeFrom(ctx)
	if s.All {
		if town == "" {
			return nil
		}
		return []string{town}
	}
	if town == "" {
		return s.Towns
	}
	if slices.Contains(s.Towns, town) {
		return []string{town}
	}
	return []string{}
}

// decideLegalAid stops a legal-aid case's DECISION clock now.
func (e *env) decideLegalAid(id string, met bool) {
	e.t.Helper()
	e.mutate(id, func(c *repository.Case) {
		if clock, ok := c.Clocks.V.Get(domain.ClockDecision); ok && clock.Stop != nil {
			return
		}
		stop := e.nowStored()
		state := domain.ClockMissed
		if met {
			state = domain.ClockMet
		}
		c.Clocks.V = domain.Clocks{{Kind: domain.ClockDecision, State: state, Start: stop.Add(-time.Hour), Due: stop, Stop: &stop}}
	})
}

// decideEligibleAt records a decision that a placement is eligible for
// 2026, taken at at.
func (e *env) decideEligibleAt(id string, at time.Time) {
	e.t.Helper()
	e.mutate(id, func(c *repository.Case) {
		c.Eligibility.V = &domain.EligibilityDecision{Eligible: true, Rule: domain.RulePlacementOfficerNCOSpouse,
			Decider: "users/sup", DecideTime: stored(at), PlacementYear: 2026}
	})
}

func (e *env) allFacts() []repository.CaseFact {
	e.t.Helper()
	var facts []repository.CaseFact
	must(e.t, e.db.Order("id").Find(&facts).Error, "read facts")
	return facts
}

// monthCountRows are the three tables' rows with a count, as sorted lines.
func (e *env) monthCountRows() []string {
	e.t.Helper()
	var out []string
	var counts []struct {
		Month                                                            int
		TownCode, Fact, Kind, Status, Result, SchoolStage, PriorityBasis string
		Met                                                              bool
		N                                                                int64
	}
	must(e.t, e.db.Raw("SELECT * FROM case_month_counts WHERE n <> 0").Scan(&counts).Error, "read case_month_counts")
	for _, c := range counts {
		out = append(out, fmt.Sprintf("count %d %s %s %s %s %s %s %s %v %d", c.Month, c.TownCode, c.Fact, c.Kind, c.Status, c.Result,
			c.SchoolStage, c.PriorityBasis, c.Met, c.N))
	}
	var days []struct {
		Month, Days int
		TownCode    string
		N           int64
	}
	must(e.t, e.db.Raw("SELECT * FROM case_month_days WHERE n <> 0").Scan(&days).Error, "read case_month_days")
	for _, d := range days {
		out = append(out, fmt.Sprintf("days %d %s %d %d", d.Month, d.TownCode, d.Days, d.N))
	}
	var placements []struct {
		PlacementYear, Month int
		Fact, TownCode       string
		N                    int64
	}
	must(e.t, e.db.Raw("SELECT * FROM placement_month_counts WHERE n <> 0").Scan(&placements).Error, "read placement_month_counts")
	for _, p := range placements {
		out = append(out, fmt.Sprintf("placement %d %s %q %d %d", p.PlacementYear, p.Fact, p.TownCode, p.Month, p.N))
	}
	slices.Sort(out)
	return out
}

func chinaMonth(t time.Time) int {
	c := t.In(domain.ChinaTime)
	return c.Year()*100 + int(c.Month())
}

// placementKind is what a fact counts as in the placement rate, or "".
func placementKind(f repository.CaseFact) string {
	switch {
	case f.PlacementYear == 0:
		return ""
	case f.Fact == repository.FactEligible:
		return "ELIGIBLE"
	case f.Fact == repository.FactEnded && f.Status == domain.StatusResolved && f.Result == domain.ResultAchieved:
		return "PLACED"
	}
	return ""
}

// countsOfFacts are the monthly counts' rows grouped from facts, as
// countRows prints them.
func countsOfFacts(facts []repository.CaseFact) []string {
	lines := map[string]int64{}
	type firstKey struct {
		caseID, what, town string
		year               int
	}
	firsts := map[firstKey]time.Time{}
	for _, f := range facts {
		m := chinaMonth(f.FactTime)
		if f.Fact == repository.FactEnded || f.Fact == repository.FactDecided {
			lines[fmt.Sprintf("count %d %s %s %s %s %s %s %s %v", m, f.TownCode, f.Fact, f.Kind, f.Status, f.Result,
				f.SchoolStage, f.PriorityBasis, f.Met)]++
		}
		if f.Fact == repository.FactEnded && f.Status == domain.StatusResolved {
			lines[fmt.Sprintf("days %d %s %d", m, f.TownCode, f.Days)]++
		}
		if what := placementKind(f); what != "" {
			for _, town := range []string{"", f.TownCode} {
				k := firstKey{f.CaseID, what, town, f.PlacementYear}
				if was, ok := firsts[k]; !ok || f.FactTime.Before(was) {
					firsts[k] = f.FactTime
				}
			}
		}
	}
	for k, t := range firsts {
		lines[fmt.Sprintf("placement %d %s %q %d", k.year, k.what, k.town, chinaMonth(t))]++
	}
	var out []string
	for l, n := range lines {
		out = append(out, fmt.Sprintf("%s %d", l, n))
	}
	slices.Sort(out)
	return out
}

// statisticsOfFacts is the period's figures counted from facts alone, in
// towns (nil: the county).
func statisticsOfFacts(facts []repository.CaseFact, p domain.Period, towns []string) *repository.Statistics {
	out := &repository.Statistics{}
	outcomes := map[repository.OutcomeRow]int64{}
	days := map[int]int64{}
	places := map[repository.SchoolPlaceRow]int64{}
	eligible, placed := map[string]bool{}, map[string]bool{}
	for _, f := range facts {
		if towns != nil && !slices.Contains(towns, f.TownCode) {
			continue
		}
		if what := placementKind(f); what != "" && f.PlacementYear == p.Year() && f.FactTime.Before(p.End) {
			if what == "ELIGIBLE" {
				eligible[f.CaseID] = true
			} else {
				placed[f.CaseID] = true
			}
		}
		if f.FactTime.Before(p.Start) || !f.FactTime.Before(p.End) {
			continue
		}
		switch f.Fact {
		case repository.FactEnded:
			outcomes[repository.OutcomeRow{TownCode: f.TownCode, Kind: f.Kind, Status: f.Status, Result: f.Result}]++
			if f.Status == domain.StatusResolved {
				days[f.Days]++
				if f.Kind == domain.KindSchoolEnrollment && f.Result == domain.ResultAchieved {
					places[repository.SchoolPlaceRow{SchoolStage: f.SchoolStage, PriorityBasis: f.PriorityBasis}]++
				}
			}
		case repository.FactDecided:
			out.Decisions++
			if f.Met {
				out.DecisionsMet++
			}
		}
	}
	for r, n := range outcomes {
		r.Count = n
		out.Outcomes = append(out.Outcomes, r)
	}
	for d, n := range days {
		out.ResolutionDays = append(out.ResolutionDays, domain.DaysCount{Days: d, Count: n})
	}
	for r, n := range places {
		r.Count = n
		out.SchoolPlaces = append(out.SchoolPlaces, r)
	}
	out.Eligible, out.Placed = int64(len(eligible)), int64(len(placed))
	return out
}

// figures prints a report's period figures in an order of their own.
func figures(s *repository.Statistics) string {
	outcomes := outcomeLines(s.Outcomes)
	days := slices.Clone(s.ResolutionDays)
	slices.SortFunc(days, func(a, b domain.DaysCount) int { return a.Days - b.Days })
	var places []string
	for _, p := range s.SchoolPlaces {
		places = append(places, fmt.Sprintf("%s %s %d", p.SchoolStage, p.PriorityBasis, p.Count))
	}
	slices.Sort(places)
	return fmt.Sprintf("outcomes %v days %v places %v decisions %d met %d eligible %d placed %d",
		outcomes, days, places, s.Decisions, s.DecisionsMet, s.Eligible, s.Placed)
}

// missing are the lines of a that b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}
