package repository

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
)

// The monthly counts (migration 00027) are sums of case_facts kept current
// by addFacts, in the transaction that writes the facts: the statistics of
// a year, quarter or month read them instead of every fact of the period.

// monthOf is the China calendar month of t as year * 100 + month, the
// counts' month column.
func monthOf(t time.Time) int {
	c := t.In(domain.ChinaTime)
	return c.Year()*100 + int(c.Month())
}

// What the placement counts count: a case decided eligible, and a case
// resolved as achieved, in its placement year.
const (
	placementEligible = "ELIGIBLE"
	placementPlaced   = "PLACED"
)

// countyRow is the placement counts' town_code of the county's rows.
const countyRow = ""

type monthCountKey struct {
	month                                          int
	town, fact, kind, status, result, stage, basis string
	met                                            bool
}

type monthDaysKey struct {
	month int
	town  string
	days  int
}

type placementKey struct {
	year       int
	what, town string
	month      int
}

// countDeltas are what a transaction's facts add to the counts.
type countDeltas struct {
	counts     map[monthCountKey]int64
	days       map[monthDaysKey]int64
	placements map[placementKey]int64
}

// lockCounts takes the audit chain's head, which every change locks before
// it commits anyway, before the counts' rows: writers that add to the same
// month's rows then queue on that one lock, never on each other's rows in
// opposite orders, so the upserts cannot deadlock. On SQLite a transaction
// already excludes every other writer.
func lockCounts(tx *gorm.DB) error {
	if tx.Name() != "postgres" {
		return nil
	}
	return tx.Exec("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE").Error
}

// countsOf are the counts facts add. It reads the case's earlier
// placement facts, so it must run before facts are written.
func countsOf(tx *gorm.DB, facts []CaseFact) (*countDeltas, error) {
	d := &countDeltas{counts: map[monthCountKey]int64{}, days: map[monthDaysKey]int64{}, placements: map[placementKey]int64{}}
	for _, f := range facts {
		m := monthOf(f.FactTime)
		switch f.Fact {
		case FactEnded, FactDecided:
			d.counts[monthCountKey{m, f.TownCode, string(f.Fact), string(f.Kind), string(f.Status), string(f.Result),
				f.SchoolStage, f.PriorityBasis, f.Met}]++
		}
		if f.Fact == FactEnded && f.Status == domain.StatusResolved {
			d.days[monthDaysKey{m, f.TownCode, f.Days}]++
		}
		if what := placementOf(f); what != "" {
			if err := d.placement(tx, f, what); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// placementOf is what f counts as in the placement rate, or "".
func placementOf(f CaseFact) string {
	switch {
	case f.PlacementYear == 0:
		return ""
	case f.Fact == FactEligible:
		return placementEligible
	case f.Fact == FactEnded && f.Status == domain.StatusResolved && f.Result == domain.ResultAchieved:
		return placementPlaced
	}
	return ""
}

// placementFacts is the condition of placementOf's facts of one kind, on
// the columns of the table named alias ("" for none).
func placementFacts(what, alias string) string {
	if alias != "" {
		alias += "."
	}
	if what == placementEligible {
		return alias + "fact = 'ELIGIBLE'"
	}
	return alias + "fact = 'ENDED' AND " + alias + "status = 'RESOLVED' AND " + alias + "result = 'ACHIEVED'"
}

// placement counts f in the month of the case's first such fact of its
// placement year, in the county and in f's town: a fact after an earlier
// one adds nothing, one before it (a decision recorded late) moves the
// case to its own month.
func (d *countDeltas) placement(tx *gorm.DB, f CaseFact, what string) error {
	var earlier []struct {
		FactTime time.Time
		TownCode string
	}
	err := tx.Model(&CaseFact{}).Select("fact_time, town_code").
		Where("case_id = ? AND placement_year = ? AND "+placementFacts(what, ""), f.CaseID, f.PlacementYear).
		Scan(&earlier).Error
	if err != nil {
		return err
	}
	for _, town := range []string{countyRow, f.TownCode} {
		var first time.Time
		for _, e := range earlier {
			if (town == countyRow || e.TownCode == town) && (first.IsZero() || e.FactTime.Before(first)) {
				first = e.FactTime
			}
		}
		switch {
		case first.IsZero():
			d.placements[placementKey{f.PlacementYear, what, town, monthOf(f.FactTime)}]++
		case f.FactTime.Before(first) && monthOf(f.FactTime) != monthOf(first):
			d.placements[placementKey{f.PlacementYear, what, town, monthOf(first)}]--
			d.placements[placementKey{f.PlacementYear, what, town, monthOf(f.FactTime)}]++
		}
	}
	return nil
}

const (
	upsertMonthCount = `INSERT INTO case_month_counts (month, town_code, fact, kind, status, result, school_stage, priority_basis, met, n)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (month, town_code, fact, kind, status, result, school_stage, priority_basis, met)
		DO UPDATE SET n = case_month_counts.n + excluded.n`
	upsertMonthDays = `INSERT INTO case_month_days (month, town_code, days, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (month, town_code, days) DO UPDATE SET n = case_month_days.n + excluded.n`
	upsertPlacement = `INSERT INTO placement_month_counts (placement_year, fact, town_code, month, n) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (placement_year, fact, town_code, month) DO UPDATE SET n = placement_month_counts.n + excluded.n`
)

// apply adds d to the counts, row by row in key order.
func (d *countDeltas) apply(tx *gorm.DB) error {
	counts := sortedKeys(d.counts, func(a, b monthCountKey) int {
		return cmp.Or(cmp.Compare(a.month, b.month), strings.Compare(a.town, b.town), strings.Compare(a.fact, b.fact),
			strings.Compare(a.kind, b.kind), strings.Compare(a.status, b.status), strings.Compare(a.result, b.result),
			strings.Compare(a.stage, b.stage), strings.Compare(a.basis, b.basis), cmpBool(a.met, b.met))
	})
	for _, k := range counts {
		if err := tx.Exec(upsertMonthCount, k.month, k.town, k.fact, k.kind, k.status, k.result, k.stage, k.basis, k.met,
			d.counts[k]).Error; err != nil {
			return err
		}
	}
	days := sortedKeys(d.days, func(a, b monthDaysKey) int {
		return cmp.Or(cmp.Compare(a.month, b.month), strings.Compare(a.town, b.town), cmp.Compare(a.days, b.days))
	})
	for _, k := range days {
		if err := tx.Exec(upsertMonthDays, k.month, k.town, k.days, d.days[k]).Error; err != nil {
			return err
		}
	}
	placements := sortedKeys(d.placements, func(a, b placementKey) int {
		return cmp.Or(cmp.Compare(a.year, b.year), strings.Compare(a.what, b.what), strings.Compare(a.town, b.town),
			cmp.Compare(a.month, b.month))
	})
	for _, k := range placements {
		if err := tx.Exec(upsertPlacement, k.year, k.what, k.town, k.month, d.placements[k]).Error; err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys are m's keys with a delta, in order.
func sortedKeys[K comparable](m map[K]int64, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k, n := range m {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compare)
	return keys
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// countTables are the monthly counts' tables.
var countTables = []string{"case_month_counts", "case_month_days", "placement_month_counts"}

// RebuildCaseCounts sets the monthly counts to the sums of case_facts, with
// the statements of the migration that made them. For facts written
// outside the store (a bulk load), after replicas of a release before the
// counts wrote facts beside the migration, or to repair counts after
// restoring case_facts alone.
func (s *Store) RebuildCaseCounts(ctx context.Context) error {
	return RebuildCaseCounts(ctx, s.conn(ctx), s.dialect)
}

// RebuildCaseCounts is Store.RebuildCaseCounts on a database handle, for
// the migrate command.
func RebuildCaseCounts(ctx context.Context, db *gorm.DB, dialect Dialect) error {
	stmts, err := rebuildStatements(dialect)
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockCounts(tx); err != nil {
			return err
		}
		for _, t := range countTables {
			if err := tx.Exec("DELETE FROM " + t).Error; err != nil {
				return err
			}
		}
		for _, stmt := range stmts {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// rebuildStatements are the statements between the markers of migration
// 00027's backfill.
func rebuildStatements(d Dialect) ([]string, error) {
	text, err := fs.ReadFile(migrations, "migrations/"+string(d)+"/00027_case_counts.sql")
	if err != nil {
		return nil, err
	}
	_, rest, ok := strings.Cut(string(text), "-- rebuild:begin\n")
	body, _, ok2 := strings.Cut(rest, "-- rebuild:end")
	if !ok || !ok2 {
		return nil, fmt.Errorf("repository: migration 00027 of %s has no rebuild markers", d)
	}
	var out []string
	for _, stmt := range strings.Split(body, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out, nil
}
