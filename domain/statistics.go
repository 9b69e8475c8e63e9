package domain

import (
	"fmt"
	"sort"
	"time"
)

// The statistics of the model-county evaluation (seed item 十一) count what
// happened to cases within a period: the rules of what a period is and of
// how its figures are computed live here, with no database.

// Period is a span of China calendar days, [Start, End) as instants.
type Period struct {
	Start, End time.Time
}

// YearPeriod is the calendar year y in China time.
func YearPeriod(y int) Period {
	start := time.Date(y, time.January, 1, 0, 0, 0, 0, ChinaTime)
	return Period{Start: start.UTC(), End: start.AddDate(1, 0, 0).UTC()}
}

// QuarterPeriod is quarter q (1 to 4) of year y.
func QuarterPeriod(y, q int) Period {
	start := time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, ChinaTime)
	return Period{Start: start.UTC(), End: start.AddDate(0, 3, 0).UTC()}
}

// MonthPeriod is month m (1 to 12) of year y.
func MonthPeriod(y, m int) Period {
	start := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, ChinaTime)
	return Period{Start: start.UTC(), End: start.AddDate(0, 1, 0).UTC()}
}

// MaxStatisticsDays bounds an explicit period: longer spans are years.
const MaxStatisticsDays = 366

// DatesPeriod is the China calendar days from first to last, both
// included, each the date it has in its own location (as a date parsed
// at midnight UTC is); it refuses a last day before the first, or a span
// longer than MaxStatisticsDays.
func DatesPeriod(first, last time.Time) (Period, error) {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ChinaTime) }
	start := day(first)
	end := day(last).AddDate(0, 0, 1)
	if !end.After(start) {
		return Period{}, Invalid("period.dates.end_date", "must not be before start_date")
	}
	if end.Sub(start) > MaxStatisticsDays*24*time.Hour {
		return Period{}, Invalid("period.dates.end_date", "a period spans at most %d days; ask for a year instead", MaxStatisticsDays)
	}
	return Period{Start: start.UTC(), End: end.UTC()}, nil
}

// Year is the year (China time) of the period's last day: the placement
// year whose rate the period's report gives.
func (p Period) Year() int { return p.End.Add(-time.Nanosecond).In(ChinaTime).Year() }

// String is the period as its first and last days.
func (p Period) String() string {
	return fmt.Sprintf("%s–%s", p.Start.In(ChinaTime).Format(time.DateOnly),
		p.End.Add(-time.Nanosecond).In(ChinaTime).Format(time.DateOnly))
}

// DaysToResolve is how many China calendar days lie between a case's
// submission and its resolution: 0 when resolved the day it was submitted.
// Calendar days, not 24-hour spans, so a figure reads as staff count it.
func DaysToResolve(submitted, resolved time.Time) int {
	a, b := midnightChina(submitted), midnightChina(resolved)
	return int(b.Sub(a) / (24 * time.Hour)) // China keeps no daylight saving time
}

// DaysCount is how many cases took a number of days.
type DaysCount struct {
	Days  int
	Count int64
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of the
// days counted in hist: the smallest number of days within which at least
// p percent of the cases were resolved. ok is false when hist is empty.
func Percentile(hist []DaysCount, p int) (days int, ok bool) {
	var total int64
	for _, h := range hist {
		total += h.Count
	}
	if total == 0 {
		return 0, false
	}
	sorted := append([]DaysCount(nil), hist...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Days < sorted[j].Days })
	// The rank is ceil(p/100 × total), in integers.
	rank := (int64(p)*total + 99) / 100
	var seen int64
	for _, h := range sorted {
		seen += h.Count
		if seen >= rank {
			return h.Days, true
		}
	}
	return sorted[len(sorted)-1].Days, true
}

// BasisPoints is part ÷ whole in hundredths of a percent, rounded down (so
// a share one short of all never shows 100%); 0 when whole is 0.
func BasisPoints(part, whole int64) int32 {
	if whole <= 0 {
		return 0
	}
	return int32(part * 10000 / whole)
}
