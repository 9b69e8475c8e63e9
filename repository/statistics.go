package repository

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
)

// StatisticsQuery asks for the case statistics of a period over the
// caller's towns, or one of them.
type StatisticsQuery struct {
	Period domain.Period
	// Town limits the figures to one town; "" is the caller's scope.
	Town string
	// Now is when the current load (overdue, on hold) is counted.
	Now time.Time
}

// OutcomeRow is how many cases ended one way in a town.
type OutcomeRow struct {
	TownCode string
	Kind     domain.Kind
	Status   domain.Status
	Result   domain.Result
	Count    int64
}

// SchoolPlaceRow is how many school places were granted at a stage on a
// basis.
type SchoolPlaceRow struct {
	SchoolStage   string
	PriorityBasis string
	Count         int64
}

// ReferralRow is one agency's referrals sent in the period; ReplyDays
// counts the replied ones by days taken.
type ReferralRow struct {
	AgencyID  string
	Sent      int64
	Replied   int64
	Overdue   int64
	ReplyDays []domain.DaysCount
}

// Statistics are the raw figures of a report; the service renders them.
type Statistics struct {
	Outcomes       []OutcomeRow
	ResolutionDays []domain.DaysCount
	SchoolPlaces   []SchoolPlaceRow
	Decisions      int64
	DecisionsMet   int64
	Eligible       int64
	Placed         int64
	Overdue        int64
	OnHold         int64
	Referrals      []ReferralRow
}

// CaseStatistics counts a period's figures. Everything of the period is
// read from case_facts, which only grow, so a closed period's answer does
// not change; the current load is read from the cases as they are now.
func (s *Store) CaseStatistics(ctx context.Context, q StatisticsQuery) (*Statistics, error) {
	out := &Statistics{}
	steps := []func(context.Context, StatisticsQuery, *Statistics) error{
		s.outcomeCounts, s.resolutionDays, s.schoolPlaces, s.decisions, s.placement, s.currentLoad, s.referralStats,
	}
	// The statements are independent reads, each filling its own fields:
	// on PostgreSQL they run side by side on connections of their own, so
	// the answer takes as long as the slowest, not the sum. SQLite has one
	// connection, and a transaction in ctx must not be shared.
	_, inTx := ctx.Value(txKey{}).(*gorm.DB)
	if s.dialect == SQLite || inTx {
		for _, step := range steps {
			if err := step(ctx, q, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, step := range steps {
		g.Go(func() error { return step(gctx, q, out) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// facts is the facts of kind f in period p and q's towns.
func (s *Store) facts(ctx context.Context, q StatisticsQuery, f FactKind, p domain.Period) *gorm.DB {
	db := s.conn(ctx).Model(&CaseFact{}).Where("fact = ? AND fact_time >= ? AND fact_time < ?", f, p.Start, p.End)
	return inTown(ctx, db, "town_code", q.Town)
}

// monthly is the rows of a table of monthly counts in q's towns and months.
func (s *Store) monthly(ctx context.Context, q StatisticsQuery, table string, m monthSpan) *gorm.DB {
	db := s.conn(ctx).Table(table).Where("month >= ? AND month <= ?", m.first, m.last)
	return inTown(ctx, db, "town_code", q.Town)
}

// inTown limits db to the caller's towns and, when town is set, to it.
func inTown(ctx context.Context, db *gorm.DB, column, town string) *gorm.DB {
	db = inScope(ctx, db, column)
	if town != "" {
		db = db.Where(column+" = ?", town)
	}
	return db
}

// monthSpan is the China calendar months first to last (year * 100 +
// month), both included.
type monthSpan struct{ first, last int }

// split is the whole China months within p, read from the monthly counts,
// and the spans before and after them, counted from the facts: none for a
// year, quarter or month.
func split(p domain.Period) (months *monthSpan, ends []domain.Period) {
	monthStart := func(t time.Time) time.Time {
		c := t.In(domain.ChinaTime)
		return time.Date(c.Year(), c.Month(), 1, 0, 0, 0, 0, domain.ChinaTime)
	}
	first := monthStart(p.Start)
	if first.Before(p.Start) {
		first = first.AddDate(0, 1, 0)
	}
	end := monthStart(p.End)
	if !first.Before(end) {
		return nil, []domain.Period{p}
	}
	months = &monthSpan{monthOf(first), monthOf(end.AddDate(0, -1, 0))}
	if p.Start.Before(first) {
		ends = append(ends, domain.Period{Start: p.Start, End: first.UTC()})
	}
	if end.Before(p.End) {
		ends = append(ends, domain.Period{Start: end.UTC(), End: p.End})
	}
	return months, ends
}

// sum runs read over the period's whole months and its ends: the monthly
// counts' statement for the one, the facts' for the others.
func (s *Store) sum(ctx context.Context, q StatisticsQuery, fromMonths func(monthSpan) error, fromFacts func(domain.Period) error) error {
	months, ends := split(q.Period)
	if months != nil {
		if err := fromMonths(*months); err != nil {
			return err
		}
	}
	for _, p := range ends {
		if err := fromFacts(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) outcomeCounts(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	counts := map[OutcomeRow]int64{}
	add := func(db *gorm.DB) error {
		var rows []OutcomeRow
		if err := db.Group("town_code, kind, status, result").Scan(&rows).Error; err != nil {
			return err
		}
		tally(counts, rows, func(r *OutcomeRow) *int64 { return &r.Count })
		return nil
	}
	err := s.sum(ctx, q, func(m monthSpan) error {
		return add(s.monthly(ctx, q, "case_month_counts", m).Where("fact = ?", FactEnded).
			Select("town_code, kind, status, result, CAST(SUM(n) AS BIGINT) AS count"))
	}, func(p domain.Period) error {
		return add(s.facts(ctx, q, FactEnded, p).Select("town_code, kind, status, result, COUNT(*) AS count"))
	})
	out.Outcomes = untally(counts, func(r *OutcomeRow) *int64 { return &r.Count })
	slices.SortFunc(out.Outcomes, func(a, b OutcomeRow) int {
		return cmp.Or(strings.Compare(a.TownCode, b.TownCode), strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(string(a.Status), string(b.Status)), strings.Compare(string(a.Result), string(b.Result)))
	})
	return err
}

func (s *Store) resolutionDays(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	counts := map[int]int64{}
	add := func(db *gorm.DB) error {
		var rows []domain.DaysCount
		if err := db.Group("days").Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			counts[r.Days] += r.Count
		}
		return nil
	}
	err := s.sum(ctx, q, func(m monthSpan) error {
		return add(s.monthly(ctx, q, "case_month_days", m).Select("days, CAST(SUM(n) AS BIGINT) AS count"))
	}, func(p domain.Period) error {
		return add(s.facts(ctx, q, FactEnded, p).Where("status = ?", domain.StatusResolved).Select("days, COUNT(*) AS count"))
	})
	for d, n := range counts {
		if n != 0 {
			out.ResolutionDays = append(out.ResolutionDays, domain.DaysCount{Days: d, Count: n})
		}
	}
	slices.SortFunc(out.ResolutionDays, func(a, b domain.DaysCount) int { return cmp.Compare(a.Days, b.Days) })
	return err
}

func (s *Store) schoolPlaces(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	counts := map[SchoolPlaceRow]int64{}
	add := func(db *gorm.DB) error {
		var rows []SchoolPlaceRow
		err := db.Where("kind = ? AND status = ? AND result = ?", domain.KindSchoolEnrollment, domain.StatusResolved, domain.ResultAchieved).
			Group("school_stage, priority_basis").Scan(&rows).Error
		if err != nil {
			return err
		}
		tally(counts, rows, func(r *SchoolPlaceRow) *int64 { return &r.Count })
		return nil
	}
	err := s.sum(ctx, q, func(m monthSpan) error {
		return add(s.monthly(ctx, q, "case_month_counts", m).Where("fact = ?", FactEnded).
			Select("school_stage, priority_basis, CAST(SUM(n) AS BIGINT) AS count"))
	}, func(p domain.Period) error {
		return add(s.facts(ctx, q, FactEnded, p).Select("school_stage, priority_basis, COUNT(*) AS count"))
	})
	out.SchoolPlaces = untally(counts, func(r *SchoolPlaceRow) *int64 { return &r.Count })
	slices.SortFunc(out.SchoolPlaces, func(a, b SchoolPlaceRow) int {
		return cmp.Or(strings.Compare(a.SchoolStage, b.SchoolStage), strings.Compare(a.PriorityBasis, b.PriorityBasis))
	})
	return err
}

func (s *Store) decisions(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	add := func(db *gorm.DB) error {
		var row struct{ Decisions, Met int64 }
		if err := db.Scan(&row).Error; err != nil {
			return err
		}
		out.Decisions += row.Decisions
		out.DecisionsMet += row.Met
		return nil
	}
	return s.sum(ctx, q, func(m monthSpan) error {
		return add(s.monthly(ctx, q, "case_month_counts", m).Where("fact = ?", FactDecided).
			Select("CAST(COALESCE(SUM(n), 0) AS BIGINT) AS decisions, CAST(COALESCE(SUM(CASE WHEN met THEN n ELSE 0 END), 0) AS BIGINT) AS met"))
	}, func(p domain.Period) error {
		return add(s.facts(ctx, q, FactDecided, p).
			Select("COUNT(*) AS decisions, COALESCE(SUM(CASE WHEN met THEN 1 ELSE 0 END), 0) AS met"))
	})
}

// placement counts the placements decided eligible for the period's year
// by its end, and those of them resolved as achieved by then: a placement
// later reopened still counts as placed in the year it was placed. Each
// case counts once, in the month of its first such fact; the counts keep
// the county's and each town's, so a caller of several towns but not the
// whole county, whose cases may have moved between them, is counted from
// the facts.
func (s *Store) placement(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	scope := scopeOf(ctx)
	end := q.Period.End.In(domain.ChinaTime)
	monthStart := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, domain.ChinaTime)
	var counts *gorm.DB
	switch {
	case q.Town == "" && scope.All:
		counts = s.conn(ctx).Table("placement_month_counts").Where("town_code = ?", countyRow)
	case q.Town != "" || len(scope.Towns) <= 1:
		counts = inTown(ctx, s.conn(ctx).Table("placement_month_counts"), "town_code", q.Town)
	default:
		return s.placementFromFacts(ctx, q, out)
	}
	var row struct{ Eligible, Placed int64 }
	err := counts.Where("placement_year = ? AND month < ?", q.Period.Year(), monthOf(monthStart)).
		Select(`CAST(COALESCE(SUM(CASE WHEN fact = ? THEN n ELSE 0 END), 0) AS BIGINT) AS eligible,
			CAST(COALESCE(SUM(CASE WHEN fact = ? THEN n ELSE 0 END), 0) AS BIGINT) AS placed`, placementEligible, placementPlaced).
		Scan(&row).Error
	if err != nil {
		return err
	}
	out.Eligible, out.Placed = row.Eligible, row.Placed
	if !monthStart.Before(q.Period.End) {
		return nil
	}
	// The days of the last month up to the period's end: the cases whose
	// first fact of the year falls in them.
	town := "AND g.town_code = f.town_code"
	if q.Town == "" && scope.All {
		town = ""
	}
	first := func(what string) string {
		return "CASE WHEN " + placementFacts(what, "f") + ` AND NOT EXISTS (
			SELECT 1 FROM case_facts g WHERE g.case_id = f.case_id AND g.placement_year = f.placement_year
			AND g.fact_time < ? ` + town + " AND " + placementFacts(what, "g") + ") THEN f.case_id END"
	}
	err = inTown(ctx, s.conn(ctx).Table("case_facts AS f"), "f.town_code", q.Town).
		Where("f.placement_year = ? AND f.fact_time >= ? AND f.fact_time < ?", q.Period.Year(), monthStart.UTC(), q.Period.End).
		Select("COUNT(DISTINCT "+first(placementEligible)+") AS eligible, COUNT(DISTINCT "+first(placementPlaced)+") AS placed",
			monthStart.UTC(), monthStart.UTC()).
		Scan(&row).Error
	out.Eligible += row.Eligible
	out.Placed += row.Placed
	return err
}

// placementFromFacts is placement counted from the facts alone.
func (s *Store) placementFromFacts(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	var row struct{ Eligible, Placed int64 }
	err := inTown(ctx, s.conn(ctx).Model(&CaseFact{}), "town_code", q.Town).
		Where("placement_year = ? AND fact_time < ?", q.Period.Year(), q.Period.End).
		Select(`COUNT(DISTINCT CASE WHEN fact = ? THEN case_id END) AS eligible,
			COUNT(DISTINCT CASE WHEN fact = ? AND status = ? AND result = ? THEN case_id END) AS placed`,
			FactEligible, FactEnded, domain.StatusResolved, domain.ResultAchieved).
		Scan(&row).Error
	out.Eligible, out.Placed = row.Eligible, row.Placed
	return err
}

// currentLoad counts the caller's overdue and held cases now.
func (s *Store) currentLoad(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	overdue := inTown(ctx, s.conn(ctx).Model(&Case{}), "town_code", q.Town).
		Where("status IN ? AND due_time < ?", openStatuses(), q.Now.UTC())
	if err := overdue.Count(&out.Overdue).Error; err != nil {
		return err
	}
	return s.onHold(ctx, q).Count(&out.OnHold).Error
}

// onHold is the caller's cases on hold (holds set both times while held).
func (s *Store) onHold(ctx context.Context, q StatisticsQuery) *gorm.DB {
	return inTown(ctx, s.conn(ctx).Model(&Case{}), "town_code", q.Town).Where("hold_end_time IS NOT NULL")
}

// tally adds rows, counted in the field count points to, into counts,
// keyed by the row without its count: the same group read from the
// monthly counts and from the facts at a period's ends adds up.
func tally[R comparable](counts map[R]int64, rows []R, count func(*R) *int64) {
	for _, r := range rows {
		n := *count(&r)
		*count(&r) = 0
		counts[r] += n
	}
}

// untally is the rows of counts, each with its count, leaving out groups
// that add up to nothing.
func untally[R comparable](counts map[R]int64, count func(*R) *int64) []R {
	var out []R
	for r, n := range counts {
		if n != 0 {
			*count(&r) = n
			out = append(out, r)
		}
	}
	return out
}
