package repository

import (
	"context"
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

// facts is the facts of kind f in q's period and towns.
func (s *Store) facts(ctx context.Context, q StatisticsQuery, f FactKind) *gorm.DB {
	db := s.conn(ctx).Model(&CaseFact{}).Where("fact = ? AND fact_time >= ? AND fact_time < ?", f, q.Period.Start, q.Period.End)
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

func (s *Store) outcomeCounts(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	return s.facts(ctx, q, FactEnded).Select("town_code, kind, status, result, COUNT(*) AS count").
		Group("town_code, kind, status, result").Order("town_code, kind, status, result").Scan(&out.Outcomes).Error
}

func (s *Store) resolutionDays(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	return s.facts(ctx, q, FactEnded).Where("status = ?", domain.StatusResolved).
		Select("days, COUNT(*) AS count").Group("days").Order("days").Scan(&out.ResolutionDays).Error
}

func (s *Store) schoolPlaces(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	return s.facts(ctx, q, FactEnded).
		Where("kind = ? AND status = ? AND result = ?", domain.KindSchoolEnrollment, domain.StatusResolved, domain.ResultAchieved).
		Select("school_stage, priority_basis, COUNT(*) AS count").Group("school_stage, priority_basis").
		Order("school_stage, priority_basis").Scan(&out.SchoolPlaces).Error
}

func (s *Store) decisions(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	var row struct{ Decisions, Met int64 }
	err := s.facts(ctx, q, FactDecided).Select("COUNT(*) AS decisions, COALESCE(SUM(CASE WHEN met THEN 1 ELSE 0 END), 0) AS met").
		Scan(&row).Error
	out.Decisions, out.DecisionsMet = row.Decisions, row.Met
	return err
}

// placement counts the placements decided eligible for the period's year
// by its end, and those of them resolved as achieved by then: a placement
// later reopened still counts as placed in the year it was placed. Both
// facts carry the year, so one pass over the year's index counts both.
func (s *Store) placement(ctx context.Context, q StatisticsQuery, out *Statistics) error {
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
