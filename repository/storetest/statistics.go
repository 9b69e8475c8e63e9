package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// statisticsTests hold the case statistics to a count kept by the test as
// it moves cases: the facts written with each change must add up to what
// was done in the period, stay as they were when a case is reopened later,
// and keep to the caller's towns.
var statisticsTests = []test{
	{"CountsWhatEndedInThePeriod", func(t *testing.T, e *env) {
		q1, q2 := domain.QuarterPeriod(2026, 1), domain.QuarterPeriod(2026, 2)
		tally := e.statisticsFixture(q1)
		got := e.statistics(e.ctx, q1, "")
		if lines := outcomeLines(got.Outcomes); !slices.Equal(lines, tally.lines("")) {
			t.Errorf("outcomes\n%v\nwant\n%v", lines, tally.lines(""))
		}
		if !slices.Equal(got.ResolutionDays, tally.days("")) {
			t.Errorf("days %v, want %v", got.ResolutionDays, tally.days(""))
		}
		// A town's caller sees the town's figures, whatever it asks.
		town := repository.WithScope(e.ctx, principal.Scope{Towns: []string{statisticsTowns[1]}})
		mine := e.statistics(town, q1, "")
		if lines := outcomeLines(mine.Outcomes); !slices.Equal(lines, tally.lines(statisticsTowns[1])) {
			t.Errorf("town scope: %v, want %v", lines, tally.lines(statisticsTowns[1]))
		}
		if other := e.statistics(town, q1, statisticsTowns[0]); len(other.Outcomes) != 0 {
			t.Errorf("another town's figures through the town filter: %v", other.Outcomes)
		}
		if only := e.statistics(e.ctx, q1, statisticsTowns[2]); !slices.Equal(outcomeLines(only.Outcomes), tally.lines(statisticsTowns[2])) {
			t.Errorf("town filter: %v", outcomeLines(only.Outcomes))
		}

		// Every case resolved in Q1 is reopened and resolved again in Q2,
		// where the fixture's last cases ended already.
		endedInQ2 := func() int64 {
			var n int64
			for _, r := range e.statistics(e.ctx, q2, "").Outcomes {
				n += r.Count
			}
			return n
		}
		base := endedInQ2()
		e.clock.Set(q2.Start.Add(24 * time.Hour))
		reopened := 0
		for _, id := range tally.resolved {
			e.reopen(id)
			e.resolve(id, domain.ResultNotAchieved)
			reopened++
		}
		again := e.statistics(e.ctx, q1, "")
		if !slices.Equal(outcomeLines(again.Outcomes), outcomeLines(got.Outcomes)) || !slices.Equal(again.ResolutionDays, got.ResolutionDays) {
			t.Errorf("Q1 changed after reopenings in Q2:\n%v\nwas\n%v", outcomeLines(again.Outcomes), outcomeLines(got.Outcomes))
		}
		if got := endedInQ2(); got != base+int64(reopened) {
			t.Errorf("Q2 counts %d endings, want %d and the %d resolved again", got, base, reopened)
		}
	}},
	{"DecisionsAndPlacements", func(t *testing.T, e *env) {
		year := domain.YearPeriod(2026)
		e.clock.Set(year.Start.Add(40 * 24 * time.Hour))
		f := e.newFamily(inTown(statisticsTowns[0]))
		for i, met := range []bool{true, false, true} {
			c := e.newCase(f)
			e.mutate(c.ID, func(c *repository.Case) {
				stop := e.nowStored()
				state := domain.ClockMissed
				if met {
					state = domain.ClockMet
				}
				c.Clocks.V = domain.Clocks{{Kind: domain.ClockDecision, State: state, Start: stop.Add(-time.Duration(i) * time.Hour), Due: stop, Stop: &stop}}
			})
			// Later changes of the stopped clock's case add no decision.
			e.mutate(c.ID, func(c *repository.Case) { c.Assignee = "users/lawyer" })
		}
		var placements []string
		for range 4 {
			c := e.newCase(f, placedIn(ptr(2026)))
			e.decideEligible(c.ID)
			placements = append(placements, c.ID)
		}
		e.setStatus(&repository.Case{ID: placements[0]}, domain.StatusInProgress)
		e.resolve(placements[0], domain.ResultAchieved)
		e.setStatus(&repository.Case{ID: placements[1]}, domain.StatusInProgress)
		e.resolve(placements[1], domain.ResultNotAchieved)
		got := e.statistics(e.ctx, year, "")
		if got.Decisions != 3 || got.DecisionsMet != 2 {
			t.Errorf("decisions %d, met %d; want 3 and 2", got.Decisions, got.DecisionsMet)
		}
		if got.Eligible != 4 || got.Placed != 1 {
			t.Errorf("eligible %d, placed %d; want 4 and 1", got.Eligible, got.Placed)
		}
		// A placement reopened later still counts as placed in its year.
		e.clock.Set(year.End.Add(24 * time.Hour))
		e.reopen(placements[0])
		if again := e.statistics(e.ctx, year, ""); again.Placed != 1 {
			t.Errorf("placed %d after a reopening the next year, want 1", again.Placed)
		}
	}},
	{"MigrationBackfillsEndings", testFactsBackfill},
	{"CountsAreSumsOfFacts", testCountsAreSumsOfFacts},
	{"ReferralsByAgency", func(t *testing.T, e *env) {
		// Rows of the referrals table as the referrals feature writes them,
		// to the seeded agencies (人社局 rsj, 法律援助中心 sfj-flyz).
		f := e.newFamily(inTown(statisticsTowns[0]))
		other := e.newFamily(inTown(statisticsTowns[1]))
		c, d := e.newCase(f), e.newCase(other)
		rows := []struct{ id, caseID, agency, sent, reply, due string }{
			{"r1", c.ID, "rsj", "2026-01-05", "2026-01-08", "2026-01-20"},
			{"r2", c.ID, "rsj", "2026-01-10", "2026-01-20", "2026-01-25"},
			{"r3", c.ID, "rsj", "2026-02-01", "", "2026-02-10"},
			{"r4", c.ID, "sfj-flyz", "2026-03-01", "", "2026-12-31"},
			{"r5", d.ID, "rsj", "2026-01-05", "", "2026-01-06"},
			{"r6", c.ID, "rsj", "2025-12-31", "2026-01-01", "2026-01-10"},
		}
		for _, r := range rows {
			var reply any
			if r.reply != "" {
				reply = r.reply
			}
			now := e.nowStored()
			e.exec(`INSERT INTO referrals (id, case_id, agency_id, sent_date, request_sealed, reply_date, follow_up_due_date,
				creator, revision, create_time, update_time) VALUES (?, ?, ?, ?, '', ?, ?, 'users/test', 1, ?, ?)`,
				r.id, r.caseID, r.agency, r.sent, reply, r.due, now, now)
		}
		e.clock.Set(time.Date(2026, 3, 2, 10, 0, 0, 0, domain.ChinaTime))
		town := repository.WithScope(e.ctx, principal.Scope{Towns: []string{statisticsTowns[0]}})
		got := e.statistics(town, domain.QuarterPeriod(2026, 1), "").Referrals
		want := []repository.ReferralRow{
			{AgencyID: "rsj", Sent: 3, Replied: 2, Overdue: 1, ReplyDays: []domain.DaysCount{{Days: 3, Count: 1}, {Days: 10, Count: 1}}},
			{AgencyID: "sfj-flyz", Sent: 1},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("referrals %+v, want %+v", got, want)
		}
	}},
}

// statisticsTowns are the fixture's towns.
var statisticsTowns = []string{"500230101", "500230102", "500230103"}

// statisticsTally is what the fixture did in the period, counted as it
// went.
type statisticsTally struct {
	outcomes map[string]int64 // "town kind status result" → cases
	daysOf   map[string]map[int]int64
	resolved []string // ids of the cases resolved in the period
}

func (s statisticsTally) lines(town string) []string {
	var out []string
	for k, n := range s.outcomes {
		if town == "" || strings.HasPrefix(k, town+" ") {
			out = append(out, fmt.Sprintf("%s %d", k, n))
		}
	}
	slices.Sort(out)
	return out
}

func (s statisticsTally) days(town string) []domain.DaysCount {
	merged := map[int]int64{}
	for t, byDays := range s.daysOf {
		if town != "" && t != town {
			continue
		}
		for d, n := range byDays {
			merged[d] += n
		}
	}
	var out []domain.DaysCount
	for d, n := range merged {
		out = append(out, domain.DaysCount{Days: d, Count: n})
	}
	slices.SortFunc(out, func(a, b domain.DaysCount) int { return a.Days - b.Days })
	return out
}

func outcomeLines(rows []repository.OutcomeRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s %s %d", r.TownCode, r.Kind, r.Status, r.Result, r.Count))
	}
	slices.Sort(out)
	return out
}

// statisticsFixture opens cases in three towns from the start of p and
// ends them one way or another on days of p, and a few after it; it
// returns the tally of what ended within p.
func (e *env) statisticsFixture(p domain.Period) statisticsTally {
	tally := statisticsTally{outcomes: map[string]int64{}, daysOf: map[string]map[int]int64{}}
	e.clock.Set(p.Start.Add(time.Hour))
	results := domain.Results()
	kinds := []domain.Kind{domain.KindLegalAid, domain.KindElderMedicalHelp}
	type pending struct {
		c    *repository.Case
		town string
	}
	var cases []pending
	for i := range 24 {
		town := statisticsTowns[i%len(statisticsTowns)]
		f := e.newFamily(inTown(town))
		c := e.newCase(f, func(c *repository.Case) {
			c.Kind = kinds[i%len(kinds)]
			c.Status = domain.StatusSubmitted
			submitted := e.clock.Now().UTC()
			c.SubmitTime = &submitted
		})
		cases = append(cases, pending{c, town})
	}
	for i, pc := range cases {
		// Days 3 to 95 from the start: the last few fall after a quarter.
		e.clock.Set(p.Start.Add(time.Duration(3+4*i) * 24 * time.Hour))
		inPeriod := e.clock.Now().Before(p.End)
		key := func(s domain.Status, r domain.Result) string {
			return fmt.Sprintf("%s %s %s %s", pc.town, pc.c.Kind, s, r)
		}
		switch i % 4 {
		case 0, 1, 2:
			e.setStatus(pc.c, domain.StatusInProgress)
			r := results[i%len(results)]
			e.resolve(pc.c.ID, r)
			if inPeriod {
				tally.outcomes[key(domain.StatusResolved, r)]++
				got, err := e.s.GetCase(e.ctx, pc.c.ID)
				must(e.t, err, "GetCase")
				d := domain.DaysToResolve(*got.SubmitTime, *got.ResolveTime)
				if tally.daysOf[pc.town] == nil {
					tally.daysOf[pc.town] = map[int]int64{}
				}
				tally.daysOf[pc.town][d]++
				tally.resolved = append(tally.resolved, pc.c.ID)
			}
		case 3:
			e.setStatus(pc.c, domain.StatusWithdrawn)
			if inPeriod {
				tally.outcomes[key(domain.StatusWithdrawn, "")]++
			}
		}
	}
	return tally
}

// resolve resolves a case in progress with result, now.
func (e *env) resolve(id string, r domain.Result) {
	e.t.Helper()
	e.mutate(id, func(c *repository.Case) {
		now := e.nowStored()
		c.Status, c.OutcomeResult, c.OutcomeSummary, c.ResolveTime = domain.StatusResolved, r, "办结", &now
	})
}

// reopen sets a resolved case's outcome aside, as ReopenCase does.
func (e *env) reopen(id string) {
	e.t.Helper()
	e.mutate(id, func(c *repository.Case) {
		c.OutcomeHistory.V, _ = domain.SetAside(c.OutcomeHistory.V, c.OutcomeResult, c.OutcomeSummary, c.ResolveTime, e.nowStored(), "复核")
		c.Status, c.OutcomeResult, c.OutcomeSummary, c.ResolveTime = domain.StatusInProgress, "", "", nil
	})
}

// decideEligible records a supervisor's decision that a placement is
// eligible for 2026, now.
func (e *env) decideEligible(id string) {
	e.t.Helper()
	e.mutate(id, func(c *repository.Case) {
		c.Eligibility.V = &domain.EligibilityDecision{Eligible: true, Rule: domain.RulePlacementOfficerNCOSpouse,
			Decider: "users/sup", DecideTime: e.nowStored(), PlacementYear: 2026}
	})
}

// mutate changes a case through MutateCase, the one way the service does.
func (e *env) mutate(id string, fn func(c *repository.Case)) {
	e.t.Helper()
	e.clock.Advance(e.step)
	_, err := e.s.MutateCase(e.ctx, id, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
		from := c.Status
		fn(c)
		return &repository.HistoryEntry{Actor: "users/test", Method: "Mutate", FromStatus: from, ToStatus: c.Status}, nil
	})
	must(e.t, err, "MutateCase")
}

func (e *env) statistics(ctx context.Context, p domain.Period, town string) *repository.Statistics {
	e.t.Helper()
	st, err := e.s.CaseStatistics(ctx, repository.StatisticsQuery{Period: p, Town: town, Now: e.clock.Now()})
	must(e.t, err, "CaseStatistics")
	return st
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	must(e.t, e.db.Exec(sql, args...).Error, "exec %s", sql)
}

// factsVersion is the schema version before case facts.
const factsVersion = 21

// testFactsBackfill ends cases through the store, takes the schema back
// to before the facts and up again: the migration's facts of the cases
// that ended before it must be the ones the writes made (but the
// decisions, which it does not recover, and times to the second, which
// SQLite's JSON times keep).
func testFactsBackfill(t *testing.T, e *env) {
	f := e.newFamily(inTown(statisticsTowns[0]))
	submit := func(c *repository.Case) {
		c.Status = domain.StatusSubmitted
		now := e.clock.Now().UTC()
		c.SubmitTime = &now
	}
	school := e.newCase(f, submit, func(c *repository.Case) {
		c.Kind, c.Details = domain.KindSchoolEnrollment, `{"school_stage":"SCHOOL_STAGE_PRIMARY","priority_basis":"ENROLLMENT_PRIORITY_BASIS_MARTYR_CHILD"}`
	})
	withdrawn := e.newCase(f, submit)
	placement := e.newCase(f, submit, placedIn(ptr(2026)))
	e.clock.Advance(50 * time.Hour)
	e.resolve(school.ID, domain.ResultAchieved)
	e.setStatus(withdrawn, domain.StatusWithdrawn)
	e.decideEligible(placement.ID)
	e.clock.Advance(24 * time.Hour)
	e.resolve(placement.ID, domain.ResultPartiallyAchieved)
	e.setStatus(placement, domain.StatusClosed)
	written := e.factRows()
	if len(written) != 4 {
		t.Fatalf("%d facts written, want 4: %v", len(written), written)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	must(t, repository.MigrateTo(e.ctx, e.db, e.s.Dialect(), factsVersion, log), "migrate down to %d", factsVersion)
	must(t, repository.Migrate(e.ctx, e.db, e.s.Dialect(), log), "migrate up")
	if got := e.factRows(); !slices.Equal(got, written) {
		t.Errorf("backfilled facts\n%v\nwritten\n%v", got, written)
	}
}

// factRows are the stored facts as comparable lines, times to the second.
func (e *env) factRows() []string {
	e.t.Helper()
	var facts []repository.CaseFact
	must(e.t, e.db.Order("case_id, fact").Find(&facts).Error, "read facts")
	var out []string
	for _, f := range facts {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s %s %d %d %s %s %v", f.CaseID, f.Fact, f.FactTime.UTC().Truncate(time.Second).Format(time.RFC3339),
			f.TownCode, f.Kind, f.Status, f.Result, f.Days, f.PlacementYear, f.SchoolStage, f.PriorityBasis, f.Met))
	}
	slices.Sort(out)
	return out
}
